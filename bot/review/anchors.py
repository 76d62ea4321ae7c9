"""One pass over a folded text that says where each rule may match.

Each rule pattern of a pack starts at a word start (`(?<![\\w])`) with one of a known
set of strings, up to eight characters long (`prefilter.prefixes`: « supprim », « je
vous d », "delete "…). All those strings of a pack go into one Aho–Corasick automaton
(the `pyahocorasick` package, in C): a single linear pass over the draft finds every
place where one of them begins a word, hence the only places where each pattern may
match. Python's `re` then tries each pattern there alone (`pattern.match(text, pos)`),
instead of scanning the whole draft with each of fifty large alternations.

Matches are the same as `pattern.finditer(text)`'s: a match can only start at one of
those places, and trying them in order, each after the end of the previous match,
is what `finditer` does. Patterns whose start cannot be told (`\\w+…`) are scanned
as before.

Without pyahocorasick, or with `CM_COACH_SCANNER=python`, there is no automaton and
the engine runs each pattern over the whole text (with `prefilter.py`'s cheaper
filter): the same reviews, more slowly.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
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


class Found:
    """What one scan found: `places`, for each anchored unit (by its `anchor`), the places
    where it may start (ascending); `live`, the slots of the patterns with such a unit."""

    __slots__ = ("live", "places", "text")

    def __init__(self, text: str, places: dict[int, list[int]], live: set[int]) -> None:
        self.text = text
        self.places = places
        self.live = live

    def may_match(self, pattern: Any) -> bool:
        """Whether the pattern may match the text: an anchored unit of it was found, or a
        unit without anchors may be anywhere (`loose` holds, for each such unit, the
        characters one of which it needs, or None when nothing is known)."""
        if pattern.slot in self.live:
            return True
        text = self.text
        return any(needs is None or any(c in text for c in needs) for needs in pattern.loose)


class AnchorScan:
    """The automaton of one pack's anchors. `anchors` gives, for each unit's index, its
    anchors and whether they stand at word starts only (`(?<![\\w])`), or anywhere;
    `owners`, for each unit's index, the slot of the pattern it belongs to."""

    def __init__(self, anchors: Mapping[int, tuple[frozenset[str], bool]], owners: list[int]) -> None:
        library = _library()
        if library is None:
            raise RuntimeError("pyahocorasick is not available")
        self._owners = owners
        by_key: dict[str, tuple[list[int], list[int]]] = {}
        for index, (keys, word_start) in anchors.items():
            for key in keys:
                by_key.setdefault(key, ([], []))[0 if word_start else 1].append(index)
        self._automaton: Any = None
        if by_key:
            automaton = library.Automaton()
            for key, (at_word_start, anywhere) in by_key.items():
                automaton.add_word(key, (len(key) - 1, tuple(at_word_start), tuple(anywhere)))
            automaton.make_automaton()
            self._automaton = automaton

    def positions(self, text: str) -> Found:
        found: dict[int, list[int]] = {}
        if self._automaton is None or not text:
            return Found(text, found, set())
        unsorted = False
        for end, (back, at_word_start, anywhere) in self._automaton.iter(text):
            start = end - back
            if at_word_start and start:
                before = text[start - 1]
                if before.isalnum() or before == "_":  # `re`'s \w: not a word start
                    at_word_start = ()
            for indices in (at_word_start, anywhere):
                for index in indices:
                    places = found.get(index)
                    if places is None:
                        found[index] = [start]
                    elif places[-1] != start:
                        unsorted = unsorted or start < places[-1]
                        places.append(start)
        if unsorted:
            for index, places in found.items():
                if len(places) > 1:
                    found[index] = sorted(set(places))
        owners = self._owners
        return Found(text, found, {owners[index] for index in found})


def match_at(pattern: Any, text: str, places: list[int]) -> Iterator[Any]:
    """`pattern.finditer(text)`, given every place where a match may start (ascending):
    each place after the end of the previous match is tried alone. The patterns given
    here never match an empty string (each starts with a non-empty anchor)."""
    end = 0
    match = pattern.match
    for place in places:
        if place < end:
            continue
        found = match(text, place)
        if found is not None:
            yield found
            end = found.end()
