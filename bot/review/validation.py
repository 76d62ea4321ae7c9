"""What a draft must be before it is reviewed; every refusal says what to do."""

from __future__ import annotations

from bot.review.regex_code import kept

DEFAULT_MAX_CHARS = 10_000
# Control characters (but tab and line breaks), lone surrogates, private use.
_CONTROL = kept("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ue000-\uf8ff]")
# Code points no encoder accepts alone (half of a UTF-16 pair).
_SURROGATE = kept("[\ud800-\udfff]")


def valid_text(text: str) -> str:
    """Text every encoder accepts: a lone surrogate (from a client or a bad paste) becomes U+FFFD,
    one code point for one, so that offsets into the text stay right."""
    return _SURROGATE.sub("\ufffd", text)


class DraftError(ValueError):
    """A draft that cannot be reviewed; str(error) is the one-line message for the user."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def check_draft(draft: str | None, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """Return the draft as it will be reviewed, or raise DraftError."""
    if draft is None or not draft.strip():
        raise DraftError("The draft is empty: paste the reply you want reviewed.", "empty")
    if len(draft) > max_chars:
        raise DraftError(
            f"The draft is {len(draft):,} characters long; the limit is {max_chars:,}. "
            "Review it in parts, or raise review.max_draft_chars in the config.",
            "too_long",
        )
    controls = len(_CONTROL.findall(draft))
    if "\x00" in draft or controls > max(3, len(draft) // 10):
        raise DraftError(
            "The draft looks like binary data, not text: paste the reply as plain text.", "binary"
        )
    return valid_text(draft)
