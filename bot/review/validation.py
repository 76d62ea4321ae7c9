"""What a draft must be before it is reviewed; every refusal says what to do."""

from __future__ import annotations

import unicodedata

DEFAULT_MAX_CHARS = 10_000


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
    controls = sum(
        1 for ch in draft if unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn") and ch not in "\n\r\t"
    )
    if "\x00" in draft or controls > max(3, len(draft) // 10):
        raise DraftError(
            "The draft looks like binary data, not text: paste the reply as plain text.", "binary"
        )
    return draft
