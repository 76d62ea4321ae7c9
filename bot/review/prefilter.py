"""A cheap test that tells when a pattern cannot match, before running it.

Most rule patterns start with one of a few words (« supprim », « retir »,
"delete"…). From each pattern we derive the set of its possible first three
characters; a draft that offers none of them at a word start is skipped
without running the regular expression. Where a pattern may start with almost
anything (`\\w+`, `.`), it has no prefilter and always runs.
"""

from __future__ import annotations

import re
from itertools import chain
from typing import Any, Protocol

from bot.review.regex_code import kept

try:  # the parser of the standard `re` module (Python 3.11+)
    from re import _constants as _c  # type: ignore[attr-defined]
    from re import _parser as _sre  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - another Python: no prefilter, same results
    _sre = None
    _c = None

DEPTH = 8
MAX_PREFIXES = 4000


class Source(Protocol):
    """A compiled pattern, or anything else that knows its source and flags."""

    pattern: str
    flags: int


class _Open(Exception):
    """The pattern may start with too many things to be worth filtering."""


def _expand(items: list, prefix: str, out: set[str]) -> None:
    if len(prefix) >= DEPTH or not items:
        if not prefix:
            raise _Open
        out.add(prefix[:DEPTH])
        return
    if len(out) > MAX_PREFIXES:
        raise _Open
    op, av = items[0]
    rest = items[1:]
    if op is _c.LITERAL:
        _expand(rest, prefix + chr(av).lower(), out)
    elif op is _c.IN:
        chars: list[str] = []
        for kind, value in av:
            if kind is _c.LITERAL:
                chars.append(chr(value))
            elif kind is _c.RANGE and value[1] - value[0] < 12:
                chars.extend(chr(x) for x in range(value[0], value[1] + 1))
            elif kind is _c.CATEGORY and value is _c.CATEGORY_DIGIT:
                # `\d` is any Unicode digit: a text with one beyond ASCII is not filtered
                # (`unfiltered`), so ASCII digits are the digits to look for.
                chars.extend("0123456789")
            elif kind is _c.NEGATE:
                chars = []
                break
            else:
                chars = []
                break
        if not chars:
            _stop(prefix, out)
            return
        for ch in chars:
            _expand(rest, prefix + ch.lower(), out)
    elif op is _c.SUBPATTERN:
        _expand(list(av[-1]) + rest, prefix, out)
    elif op is _c.BRANCH:
        for alternative in av[1]:
            _expand(list(alternative) + rest, prefix, out)
    elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT, getattr(_c, "POSSESSIVE_REPEAT", None)):
        low, high, item = av
        if low == 0:
            _expand(rest, prefix, out)
        if high == 1:  # `?`: the item once, then what follows it (« les » then the noun)
            _expand_once_then(list(item), rest, prefix, out)
        else:
            _expand_stop_after(list(item), prefix, out)
    elif op in (_c.AT, _c.ASSERT, _c.ASSERT_NOT):
        _expand(rest, prefix, out)
    else:
        _stop(prefix, out)


def _expand_once_then(items: list, rest: list, prefix: str, out: set[str]) -> None:
    """Prefixes of `items` followed by `rest`; those of `items` alone when that is too many."""
    inner: set[str] = set()
    try:
        _expand(items + rest, prefix, inner)
    except _Open:
        _expand_stop_after(items, prefix, out)
        return
    out.update(inner)


def _expand_stop_after(items: list, prefix: str, out: set[str]) -> None:
    """Prefixes of `items` alone: what follows a repeat is not followed further."""
    inner: set[str] = set()
    try:
        _expand(items, prefix, inner)
    except _Open:
        _stop(prefix, out)
        return
    out.update(inner)


def _stop(prefix: str, out: set[str]) -> None:
    if not prefix:
        raise _Open
    out.add(prefix)


def prefixes(pattern: Source) -> frozenset[str] | None:
    """The possible first characters (up to DEPTH) of a match, or None if open.

    Use it only for patterns that start at a word start (the packs' default),
    since `starts()` only looks there.
    """
    if _sre is None:
        return None
    out: set[str] = set()
    try:
        _expand(list(_sre.parse(pattern.pattern, pattern.flags)), "", out)
    except Exception:  # _Open, or a construct the walk does not know
        return None
    return frozenset(out)


# A match that needs one of more characters than this tells little: not worth checking.
MAX_NEEDED = 12


def _needed(items: list[tuple[Any, Any]]) -> frozenset[str] | None:
    """Characters of which every match of the sequence holds at least one; None when
    there is no such short list. Of the sequence's items, the fewest characters win."""
    best: frozenset[str] | None = None
    for op, av in items:
        found: frozenset[str] | None = None
        if op is _c.LITERAL:
            found = frozenset(chr(av))
        elif op is _c.IN and av and av[0][0] is not _c.NEGATE:
            chars: set[str] = set()
            for kind, value in av:
                if kind is _c.LITERAL:
                    chars.add(chr(value))
                elif kind is _c.RANGE and value[1] - value[0] < MAX_NEEDED:
                    chars.update(map(chr, range(value[0], value[1] + 1)))
                elif kind is _c.CATEGORY and value is _c.CATEGORY_DIGIT:
                    chars.update("0123456789")  # beyond ASCII: `unfiltered`
                else:  # another category, a long range: too many
                    chars.clear()
                    break
            found = frozenset(chars) or None
        elif op is _c.SUBPATTERN:
            # A case-insensitive group may match other characters than it spells.
            found = None if av[1] & _c.SRE_FLAG_IGNORECASE else _needed(list(av[-1]))
        elif op is _c.BRANCH:
            union: set[str] = set()
            for alternative in av[1]:
                each = _needed(list(alternative))
                if each is None:
                    union.clear()
                    break
                union |= each
            found = frozenset(union) if union and len(union) <= MAX_NEEDED else None
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT, getattr(_c, "POSSESSIVE_REPEAT", None)) and av[0] > 0:
            found = _needed(list(av[2]))
        if found is not None and (best is None or len(found) < len(best)):
            best = found
    return best


def needed(pattern: Source) -> frozenset[str] | None:
    """Characters of which any match holds at least one (« @ » for an e-mail address),
    or None: a text with none of them cannot match. For patterns whose first characters
    cannot be told."""
    if _sre is None:
        return None
    try:
        parsed = _sre.parse(pattern.pattern, pattern.flags)
        if parsed.state.flags & _c.SRE_FLAG_IGNORECASE:
            return None
        return _needed(list(parsed))
    except Exception:  # a construct the walk does not know
        return None


WARM_UP = 16


_UNKNOWN: Any = object()


class LazyStarts:
    """What a rule's matches may start with, worked out once the rule has been used
    WARM_UP times: a one-off review from the command line does not pay for the
    analysis, a bot serving many reviews pays for it once. `known`: the answer, when a
    cache entry already holds it (None: open)."""

    __slots__ = ("_patterns", "_ready", "_uses", "_value")

    def __init__(self, patterns: tuple[Source, ...], known: frozenset[str] | None = _UNKNOWN) -> None:
        self._patterns = patterns
        self._uses = 0
        self._value: frozenset[str] | None = None if known is _UNKNOWN else known
        self._ready = not patterns or known is not _UNKNOWN

    def get(self) -> frozenset[str] | None:
        """The prefixes once warm, None before (or when the patterns are open-ended)."""
        if self._ready:
            return self._value
        self._uses += 1
        return self.compute() if self._uses >= WARM_UP else None

    def compute(self) -> frozenset[str] | None:
        if not self._ready:
            self._value = union_of_prefixes(self._patterns)
            self._ready = True
        return self._value


# At each word start, its first 1, 2, … DEPTH characters, each in a group of its own.
_START = kept(r"(?<!\w)(?=" + "(" * DEPTH + ".)" + ".?)" * (DEPTH - 1) + ")", re.DOTALL)


_OTHER_DIGIT = kept(r"(?![0-9])\d")


def unfiltered(text: str) -> bool:
    """Whether a text holds a digit beyond ASCII (« ٣ »): prefixes list only ASCII
    digits for `\\d`, so such a text must meet every pattern."""
    return not text.isascii() and _OTHER_DIGIT.search(text) is not None


def starts(text: str) -> frozenset[str]:
    """The strings of one to DEPTH characters found where a word may start."""
    return frozenset(chain.from_iterable(_START.findall(text)))


def union_of_prefixes(patterns: tuple[Source, ...]) -> frozenset[str] | None:
    """What any of these patterns may start with; None if one of them is open."""
    out: set[str] = set()
    for pattern in patterns:
        found = prefixes(pattern)
        if found is None:
            return None
        out |= found
    return frozenset(out)
