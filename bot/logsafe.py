"""Secrets kept out of the logs, whichever library writes them.

Slack's response_url is a bearer credential for 30 minutes (anyone holding it
can post in the channel), and slack_bolt and slack_sdk log whole request
bodies at debug level; tokens and URLs with user:password@ turn up in error
messages. `redact` masks them in any text; `RedactingFilter`, put on the root
logger's handlers by `install_log_redaction`, masks them in every record that
reaches those handlers, from any logger, after its arguments are merged.
"""

from __future__ import annotations

import logging
import re

MASK = "***"

# A path separator as it appears in logs: plain, JSON-escaped or URL-encoded.
_SEP = r"(?:/|\\/|%2F)"
# (pattern, replacement), applied in order; later patterns see earlier masks.
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # response_url=… in a form body (URL-encoded), "response_url": "…" in JSON, response_url: … in text.
    (re.compile(r"""(response_url["']?\s*[:=]\s*["']?)[^\s"'&,;}\]]+""", re.IGNORECASE), rf"\g<1>{MASK}"),
    # Slack webhooks and response URLs.
    (re.compile(rf"(hooks\.slack\.com{_SEP})[^\s\"'&,;}}\]<>]+", re.IGNORECASE), rf"\g<1>{MASK}"),
    # Their paths alone: /commands/T…/…/…, /actions/T…/…/….
    (re.compile(rf"({_SEP}(?:commands|actions|services|workflows|triggers){_SEP})T[A-Z0-9]+"
                rf"(?:{_SEP}[A-Za-z0-9_-]+)+"), rf"\g<1>{MASK}"),
    # user:password@ (or token@) in any URL.
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^/?#\s@\"'<>]+@", re.IGNORECASE), rf"\g<1>{MASK}@"),
    # Secrets in a query string or a form body.
    (re.compile(r"((?:^|[?&\s])(?:api[-_]?key|key|token|access[-_]?token|secret|client[-_]?secret|password|"
                r"sig|signature)=)[^&\s#\"'<>;,)]+", re.IGNORECASE), rf"\g<1>{MASK}"),
    # Authorization headers, whatever the scheme.
    (re.compile(r"""(authorization["']?\s*[:=]\s*["']?(?:(?:Bearer|Basic|Token)\s+)?)[^\s"',;}]+""",
                re.IGNORECASE), rf"\g<1>{MASK}"),
    (re.compile(r"\bBearer\s+[A-Za-z0-9._~+/=-]{8,}"), f"Bearer {MASK}"),
    # Slack tokens (bot, user, app, config, refresh) and OpenAI-style keys.
    (re.compile(r"\bx(?:ox[abposer]|app)-[A-Za-z0-9-]+"), MASK),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{6,}"), MASK),
)


def redact(text: str) -> str:
    """The text with response URLs, webhook paths, URL credentials and tokens masked."""
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Masks secrets in a record's final message (and its traceback); never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not fit its format: leave it to the handler
            return True
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install_log_redaction(logger: logging.Logger | None = None) -> None:
    """Put the filter on every handler of `logger` (the root logger by default), once.

    On handlers, not loggers: a logger's filters do not see records that propagate
    from its children (slack_bolt, slack_sdk, aiohttp…), its handlers do.
    """
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
