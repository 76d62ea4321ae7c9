"""One pass over a folded text that says where each rule may match.

A pack's patterns are large alternations of words, and most start at a word start
(`(?<![\\w])`) with one of a known set of strings up to eight characters long
(`prefilter.prefixes`: « supprim », « je vous d », "delete "…). All those strings of
a pack go into one Aho–Corasick automaton (the `pyahocorasick` package, in C): a
single linear pass over the draft finds every place where one of them begins a word
(or anywhere, for the few patterns that do not start at a word start), hence the only
places where each pattern may match. Python's `re` then tries the pattern at those
places alone (`pattern.match(text, place)`), instead of scanning the whole draft
with each of fifty alternations. A rule's several patterns (its alternation) are
anchored and compiled each on its own, so that a review compiles only those it may
need.

Matches are the same as `pattern.finditer(text)`'s: a match can only start at one of
those places, and trying them in order, each after the end of the previous match,
is what `finditer` does. A pattern whose first characters cannot be told
(`[a-z0-9._%+-]++@…`) is run over the whole text, unless the text lacks every
character one of which its matches hold (`prefilter.needed`: « @ »).

Without pyahocorasick, or with `CM_COACH_SCANNER=python`, there is no automaton and
the engine runs each pattern over the whole text (with `prefilter.py`'s cheaper
filter): the same reviews, more slowly.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from typing import Any

ENV = "CM_COACH_SCANNER"


def _library() -> Any:
    """The pyahocorasick module, or None when it is missing or turned off."""
    if os.environ.get(ENV, "").strip().lower() == "python":
        return None
    try:
        import ahocorasick
    except ImportError:
        return None
    return ahocorasick


# Whether reviews use the automaton (tests turn it off to compare both paths).
ENABLED: bool = _library() is not None


# Of each key: its length less one, the (slot, order) of every unit it anchors, and of those
# that do not need it at a word start (None when none does: nothing to check).
Units = tuple[tuple[int, int], ...]
Keys = dict[str, tuple[int, Units, Units | None]]


class Found:
    """What one scan of `text` found: for each pattern's slot, the places where one of its
    units may start, as (place, the unit's order in the pattern), ascending."""

    __slots__ = ("hits", "text")

    def __init__(self, text: str, hits: dict[int, list[tuple[int, int]]]) -> None:
        self.text = text
        self.hits = hits

    def loose(self, pattern: Any) -> bool:
        """Whether a unit of the pattern that has no anchors may match the text: its
        `loose` holds, for each such unit, characters one of which its matches hold,
        or None when nothing is known."""
        text = self.text
        return any(needs is None or any(c in text for c in needs) for needs in pattern.loose)


def shortest(keys: frozenset[str]) -> list[str]:
    """The keys none of the others begins: where « deals » begins a word, so does « deal »,
    and one of them is enough to tell the place."""
    kept: list[str] = []
    for key in sorted(keys):  # a key comes right before the keys it begins
        if not kept or not key.startswith(kept[-1]):
            kept.append(key)
    return kept


class AnchorScan:
    """The automaton of one pack's anchors. `anchors` gives, for each anchored unit, the
    slot of its pattern, its order among the pattern's units, its anchors, and whether
    they stand at word starts only (`(?<![\\w])`) or anywhere."""

    def __init__(self, keys: Keys) -> None:
        library = _library()
        if library is None:
            raise RuntimeError("pyahocorasick is not available")
        self._automaton: Any = None
        if keys:
            automaton = library.Automaton()
            for key, value in keys.items():
                automaton.add_word(key, value)
            automaton.make_automaton()
            self._automaton = automaton

    @staticmethod
    def keys_of(anchors: list[tuple[int, int, frozenset[str], bool]]) -> Keys:
        """What the automaton looks for, from each anchored unit (its slot, its order, its
        anchors, whether they stand at word starts): each key with its length less one,
        the (slot, order) of every unit it anchors, and of those it anchors anywhere
        (None when it anchors none at a word start: a place needs no check)."""
        by_key: dict[str, tuple[list[tuple[int, int]], list[tuple[int, int]]]] = {}
        for slot, order, keys, word_start in anchors:
            for key in shortest(keys):
                by_key.setdefault(key, ([], []))[0 if word_start else 1].append((slot, order))
        return {key: (len(key) - 1, tuple(at_word_start + anywhere), tuple(anywhere) if at_word_start else None)
                for key, (at_word_start, anywhere) in by_key.items()}

    def positions(self, text: str) -> Found:
        hits: dict[int, list[tuple[int, int]]] = {}
        if self._automaton is None or not text:
            return Found(text, hits)
        for end, (back, units, anywhere) in self._automaton.iter(text):
            start = end - back
            if start and anywhere is not None:
                before = text[start - 1]
                if before.isalnum() or before == "_":  # `re`'s \w: not a word start
                    units = anywhere
            for slot, order in units:
                found = hits.get(slot)
                if found is None:
                    hits[slot] = [(start, order)]
                else:
                    found.append((start, order))
        for slot, found in hits.items():
            if len(found) > 1:  # by place, then the units' order: the alternation's
                hits[slot] = sorted(set(found))
        return Found(text, hits)


def match_at(units: Sequence[Any], text: str, hits: list[tuple[int, int]]) -> Iterator[re.Match[str]]:
    """`finditer` of the alternation of `units`, given every (place, unit's order) where a
    unit's match may start, sorted: each place after the end of the previous match is
    tried with its units in their order, and the first that matches there wins, as in
    the alternation. Units never match an empty string (each starts with an anchor)."""
    end = 0
    for place, order in hits:
        if place < end:
            continue
        found = units[order].match(text, place)
        if found is not None:
            yield found
            end = found.end()
