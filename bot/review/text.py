"""Text normalisation with a map back to the draft's own offsets.

Rules match on a folded copy of the draft (lower case, accents removed,
typographic apostrophes and quotes unified, runs of white space collapsed),
so that « SUPPRIMEZ », « supprimez » and « suprimez » meet the same pattern;
every folded character remembers where it came from, so findings point at
the exact words of the draft as given.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

_APOSTROPHES = "’‘ʼ`´′"
_QUOTE_PAIRS = {"«": "»", "“": "”", '"': '"', "„": "“"}
_PLACEHOLDER = re.compile(r"\[[^\[\]\n]{1,80}\]")


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    if ch in _APOSTROPHES:
        return "'"
    if ch.isspace():
        return " "
    if ch.isascii():
        return ch.lower()
    decomposed = unicodedata.normalize("NFKD", ch)
    base = "".join(c for c in decomposed if not unicodedata.combining(c))
    if ch in "œŒ":
        return "oe"
    if ch in "æÆ":
        return "ae"
    return base.casefold() if base else ""


@dataclass(frozen=True)
class Folded:
    """A folded draft and the original index of each folded character."""

    original: str
    text: str
    origin: Sequence[int]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original [start, end) of the folded [start, end)."""
        if end <= start:
            pos = self.origin[start] if start < len(self.origin) else len(self.original)
            return pos, pos
        return self.origin[start], self.origin[end - 1] + 1


def _one_to_one_table() -> dict[int, str]:
    """Characters that fold to exactly one character (most accented Latin letters)."""
    table: dict[int, str] = {}
    for code in (*range(0xA0, 0x250), *range(0x2000, 0x2070)):
        ch = chr(code)
        folded = _fold_char(ch)
        if len(folded) == 1 and folded != ch:
            table[code] = folded
    for ch in _APOSTROPHES:
        table[ord(ch)] = "'"
    return table


_TABLE = _one_to_one_table()
# What the fast path cannot fold one character to one: runs of white space,
# ligatures that expand, combining marks, characters that vanish.
_SLOW = re.compile(
    r"\s\s|[\t\n\r\f\v\u2028\u2029]|^\s|[œŒæÆßﬀ-ﬆ\u00ad\u200b-\u200f\ufe00-\ufe0f]"
    r"|[\u0250-\u1fff\u2070-\u2fff\uff00-\uffef]"  # other scripts' marks, letterlike and fullwidth forms
)


def fold(text: str) -> Folded:
    if not _SLOW.search(text):
        folded = text.translate(_TABLE).lower()
        if len(folded) == len(text):
            return Folded(text, folded, range(len(text)))
    return _fold_slow(text)


def _fold_slow(text: str) -> Folded:
    out: list[str] = []
    origin: list[int] = []
    previous_space = True
    for i, ch in enumerate(text):
        folded = _fold_char(ch)
        if folded == " ":
            if previous_space:
                continue
            previous_space = True
        elif folded:
            previous_space = False
        for c in folded:
            out.append(c)
            origin.append(i)
    return Folded(text, "".join(out), tuple(origin))


_QUOTED = re.compile(r'«[^»]+»|“[^”]+”|„[^“]+“|"[^"]+"')


def quoted_regions(text: str) -> list[tuple[int, int]]:
    """Original-offset regions inside quotation marks (reported speech)."""
    if not any(q in text for q in _QUOTE_PAIRS):
        return []
    return [(m.start(), m.end()) for m in _QUOTED.finditer(text)]


def placeholder_regions(text: str) -> list[tuple[int, int]]:
    """`[…]` placeholders left in rewrites for the community manager to fill."""
    return [(m.start(), m.end()) for m in _PLACEHOLDER.finditer(text)]


def placeholders(text: str) -> list[str]:
    return [m.group(0) for m in _PLACEHOLDER.finditer(text)]


def inside(start: int, end: int, regions: list[tuple[int, int]]) -> bool:
    return any(a <= start and end <= b for a, b in regions)


_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)


def strip_for_detection(text: str) -> str:
    """Drop what tells nothing of the language: links, @mentions, #tags' marks, emoji."""
    text = _URL.sub(" ", text)
    text = _MENTION.sub(" ", text)
    text = _NOT_LANGUAGE.sub(" ", text)
    return " ".join(text.split())


_MENTION = re.compile(r"@\w+")
# Keep letters and the punctuation that belongs to sentences; drop digits, emoji, symbols, '#'.
_NOT_LANGUAGE = re.compile(r"[^\w\s'’\-.,?!]|[\d_]")
