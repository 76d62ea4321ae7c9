"""Personal data stays home: e-mails, phone numbers, card and order numbers become tokens.

Before a request leaves for an LLM endpoint, each value is replaced by a token
such as ⟦EMAIL_1⟧ (the same value, the same token, in every text of the
request); the model's answer is restored before it is read, so findings and
rewrites quote the real words. The tokens use ⟦⟧, never [ ]: square brackets
are the rewrites' placeholders. Pure: no I/O.
"""

from __future__ import annotations

import json
import re

# Order matters: a card number is also a long run of digits, an e-mail may hold one.
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("EMAIL", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    ("CARD", re.compile(r"(?<![\w+])\d(?:[ -]?\d){12,18}(?!\w)")),
    ("PHONE", re.compile(
        r"(?<![\w+])(?:"
        r"(?:\+|00)\d{1,3}[\s.-]?(?:\(0\)[\s.-]?)?\d(?:[\s.-]?\d){6,12}"  # international
        r"|0[1-9](?:[\s.-]?\d{2}){4}"  # French
        r"|0\d{2,4}[\s.-]?\d{3}[\s.-]?\d{3,4}"  # British and others with a trunk 0
        r"|\(?\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}"  # North American
        r")(?!\w)")),
    # A reference after the word that names it: « commande n° 4521873 », "booking ref ABC123".
    ("ORDER", re.compile(
        r"(?i:\b(?:orders?|commandes?|bookings?|r[ée]servations?|dossiers?|tickets?|billets?|"
        r"ref(?:erence)?|r[ée]f[ée]rence|tracking|suivi|colis|parcels?|confirmation|case|"
        r"claim|account|compte|client|customer|pnr)\b[\s:#°.-]*(?:(?:(?:number|num[ée]ro|num|no|nr)\b|n°)[\s:#°.-]*)?(?:(?:is|est)\s+)?)"
        r"(?=[A-Za-z0-9-]*\d)([A-Za-z0-9][A-Za-z0-9-]{3,})")),
    ("ORDER", re.compile(r"#(?=[A-Za-z0-9-]*\d)([A-Za-z0-9-]{4,})")),
    ("ORDER", re.compile(r"(?<![\w.,])\d{8,}(?![\w.,])")),
)


def _luhn(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


class Redactor:
    """Replaces personal data by tokens in what is sent, and puts it back in what comes back.

    One per request: the tokens are numbered per kind, in order of appearance.
    Disabled, it changes nothing.
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._tokens: dict[str, str] = {}  # value -> token
        self._values: dict[str, str] = {}  # token -> value
        self._counts: dict[str, int] = {}

    @property
    def count(self) -> int:
        """How many distinct values were replaced."""
        return len(self._values)

    def _token(self, kind: str, value: str) -> str:
        token = self._tokens.get(value)
        if token is None:
            self._counts[kind] = self._counts.get(kind, 0) + 1
            token = f"⟦{kind}_{self._counts[kind]}⟧"
            self._tokens[value] = token
            self._values[token] = value
        return token

    def redact(self, text: str | None) -> str | None:
        """The text with every e-mail, phone, card and order number replaced by its token."""
        if not self.enabled or not text:
            return text
        for kind, pattern in _PATTERNS:
            text = pattern.sub(lambda m, kind=kind: self._replace(kind, m), text)
        return text

    def _replace(self, kind: str, m: re.Match[str]) -> str:
        group = 1 if m.re.groups else 0
        value = m.group(group)
        if kind == "CARD" and not _luhn(re.sub(r"\D", "", value)):
            return m.group(0)  # a long number, not a card: the next patterns may take it
        start, end = m.span(group)
        whole = m.group(0)
        return whole[:start - m.start()] + self._token(kind, value) + whole[end - m.start():]

    def restore(self, text: str | None) -> str | None:
        """The tokens of `text` replaced by the values they stand for.

        Also in their JSON-escaped form (\\u27e6…), which some servers send.
        """
        if not text or not self._values:
            return text
        for token, value in self._values.items():
            text = text.replace(token, value)
            escaped = json.dumps(token)[1:-1]
            if escaped != token:
                text = text.replace(escaped, json.dumps(value, ensure_ascii=False)[1:-1])
        return text
