"""What the text renderers share: the draft cut into marked and unmarked runs,
placeholders found in rewrites, and user text made safe to print.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import pairwise

from bot.review.models import SEVERITY_ORDER, Finding
from bot.review.regex_code import kept

_PLACEHOLDER = kept(r"\[[^\[\]\n]{1,80}\]")
# C0/C1 controls (but tab and newline) could move the cursor or recolour the
# terminal; bidi overrides could reorder what is shown. Both are printed as escapes.
_UNSAFE = kept(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """The text with the characters that could hijack a terminal shown as escapes."""
    text = text.replace("\r\n", "\n")
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}" if ord(m.group(0)) > 0xFF
                       else f"\\x{ord(m.group(0)):02x}", text)


def draft_runs(draft: str, findings: Iterable[Finding]) -> list[tuple[str, str | None]]:
    """The draft as consecutive (text, severity) runs; severity is None where no
    finding points, else the most severe finding covering those characters."""
    marks: list[tuple[int, int, str]] = []
    for f in findings:
        s = f.span
        if s is None or s.end <= s.start:
            continue
        start, end = max(0, s.start), min(len(draft), s.end)
        if start < end:
            marks.append((start, end, f.severity))
    if not marks:
        return [(draft, None)] if draft else []
    # Cut points: every span boundary; each piece takes the worst severity covering it.
    cuts = sorted({0, len(draft), *(a for a, _, _ in marks), *(b for _, b, _ in marks)})
    runs: list[tuple[str, str | None]] = []
    for a, b in pairwise(cuts):
        worst: str | None = None
        for start, end, severity in marks:
            if start <= a and b <= end and (
                worst is None or SEVERITY_ORDER[severity] > SEVERITY_ORDER[worst]
            ):
                worst = severity
        if runs and runs[-1][1] == worst:
            runs[-1] = (runs[-1][0] + draft[a:b], worst)
        else:
            runs.append((draft[a:b], worst))
    return runs


def placeholder_runs(text: str) -> list[tuple[str, bool]]:
    """A rewrite as (text, is_placeholder) runs: `[…]` parts must be filled in."""
    runs: list[tuple[str, bool]] = []
    last = 0
    for m in _PLACEHOLDER.finditer(text):
        if m.start() > last:
            runs.append((text[last:m.start()], False))
        runs.append((m.group(0), True))
        last = m.end()
    if last < len(text):
        runs.append((text[last:], False))
    return runs
