"""cm-coach: reviews a community manager's draft against the four golden rules."""

__version__ = "0.1.0"
