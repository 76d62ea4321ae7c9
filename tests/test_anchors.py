"""The anchor scan (pyahocorasick) only saves time: with it or without it (the pure-Python
path, CM_COACH_SCANNER=python), every match, span and review is the same."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.review import anchors, engine
from bot.review.engine import _units_at, rules_review
from bot.review.evaluation import default_files, read_corpora
from bot.review.models import BrandProfile, ReviewRequest
from bot.review.packs import pack, packs
from bot.review.text import fold

needs_library = pytest.mark.skipif(anchors._library() is None, reason="pyahocorasick is not installed")

ADVERSARIAL = [
    "a" * 3000, "1" * 3000, "a@" * 1500, ". " * 1500, "« a " * 700, "!?" * 1500, "l'a " * 700,
    "deals " * 500, "Supprimez la photo du vol" + " " * 2000, "+33 6" * 600, "a.b@c" * 600,
    "٣٤٥ supprimez la photo, 06 12 34 56 78 !!!", "ＳＵＰＰＲＩＭＥＺ la photo", "ԁеlеtе the photo",
]


def _corpus() -> list[tuple[str, str | None, str]]:
    return [(c.draft, c.context, c.platform) for c in read_corpora(default_files())]


def _examples() -> Iterator[tuple[str, str | None, str | None]]:
    for p in packs().values():
        for rule in (*p.rules, *p.strengths):
            for example in (*rule.must_match, *rule.must_not_match):
                yield example.draft, example.context, example.voice


def _both(request: ReviewRequest, monkeypatch: pytest.MonkeyPatch) -> tuple[dict, dict]:
    with monkeypatch.context() as m:
        m.setattr(anchors, "ENABLED", False)
        pure = rules_review(request).to_dict()
    return rules_review(request).to_dict(), pure


@needs_library
def test_the_packs_are_scanned() -> None:
    for p in packs().values():
        assert p.scan("je vous demande de supprimer la photo") is not None


@needs_library
def test_every_pattern_matches_where_the_scan_lets_it_as_finditer_does() -> None:
    """Each pattern of each pack, tried only at its anchors, finds what `finditer` finds
    over the whole text: on every draft and customer message of the corpus and on
    adversarial texts."""
    texts = [fold(t).text for d, c, _ in _corpus() for t in (d, c) if t]
    texts += [fold(t).text for t in ADVERSARIAL]
    for p in packs().values():
        patterns = p.patterns()
        for text in texts:
            scan = p.scan(text)
            assert scan is not None
            for pattern in patterns:
                expected = [m.span() for m in pattern.finditer(text)]
                found = _units_at(pattern, scan)
                got = expected if found is None else [m.span() for m in found]
                assert got == expected, (pattern.pattern[:80], text[:80])


@needs_library
def test_the_corpus_is_reviewed_the_same_with_and_without_the_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    different = []
    for draft, context, platform in _corpus():
        for profile in (BrandProfile(), BrandProfile(voice="impertinent", address="tu")):
            scanned, pure = _both(ReviewRequest(draft, context, platform, None, profile), monkeypatch)
            if scanned != pure:
                different.append(draft[:60])
    assert not different, different[:5]


@needs_library
def test_examples_and_adversarial_drafts_are_reviewed_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    for draft, context, voice in _examples():
        profile = BrandProfile(voice=voice or "neutral")  # type: ignore[arg-type]
        for lang in ("fr", "en", None):
            scanned, pure = _both(ReviewRequest(draft, context, "x", lang, profile), monkeypatch)
            assert scanned == pure, draft
    for draft in ADVERSARIAL:
        scanned, pure = _both(ReviewRequest(draft, "Toujours pas reçu ma commande", "x"), monkeypatch)
        assert scanned == pure, draft[:40]


def _pieces() -> list[str]:
    words: set[str] = set()
    for draft, context, _ in _examples():
        for text in (draft, context or ""):
            words.update(re.findall(r"\S+", text))
    return sorted(words)


PIECES = _pieces()


@needs_library
@settings(max_examples=150, deadline=None)
@given(words=st.lists(st.one_of(st.sampled_from(PIECES), st.sampled_from(["«", "»", '"', "!!!", "?", "٣", "@", "DM", "MP", "\n"])),
                      min_size=1, max_size=30),
       glue=st.sampled_from([" ", "", ", ", "-"]))
def test_drafts_made_of_the_packs_words_are_reviewed_the_same(words: list[str], glue: str) -> None:
    request = ReviewRequest(glue.join(words), "Toujours pas reçu ma commande", "x")
    anchors.ENABLED, saved = False, anchors.ENABLED
    try:
        pure = rules_review(request).to_dict()
    finally:
        anchors.ENABLED = saved
    assert rules_review(request).to_dict() == pure


def test_a_rule_with_several_patterns_matches_as_their_alternation() -> None:
    """A pattern split in units matches, at each place, as its first unit that matches
    there: the alternation's own rule."""
    p = pack("en")
    assert p is not None
    split = [m for m in p.patterns() if m.parts]
    assert split, "the packs' rules with several patterns are split in units"
    pattern = split[0]
    whole = re.compile(pattern.pattern)
    for text in ("we reserve the right to remove comments", "please delete the photo now"):
        assert [m.span() for m in pattern.finditer(text)] == [m.span() for m in whole.finditer(text)]


def test_without_the_library_nothing_is_scanned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(anchors, "_library", lambda: None)
    with pytest.raises(RuntimeError):
        anchors.AnchorScan(anchors.AnchorScan.keys_of([(0, 0, frozenset({"ab"}), True)]))


def test_match_at_tries_each_place_after_the_previous_match_with_the_units_in_order() -> None:
    units = [re.compile(r"ab"), re.compile(r"ab+")]
    text = "abbb ab xab"
    hits = [(0, 0), (0, 1), (1, 1), (5, 1), (9, 0), (9, 1)]
    # At 0 the first unit wins (as in the alternation ab|ab+), 1 is inside that match.
    assert [m.span() for m in anchors.match_at(units, text, hits)] == [(0, 2), (5, 7), (9, 11)]
    whole = re.compile(r"(?:ab)|(?:ab+)")
    assert [m.span() for m in whole.finditer(text)] == [(0, 2), (5, 7), (9, 11)]


@needs_library
def test_anchors_stand_at_word_starts_unless_the_pattern_reads_anywhere() -> None:
    scan = anchors.AnchorScan(anchors.AnchorScan.keys_of([
        (0, 0, frozenset({"ab"}), True), (1, 0, frozenset({"ab"}), False), (1, 1, frozenset({"x"}), False)]))
    found = scan.positions("ab xab ab")
    assert found.hits == {0: [(0, 0), (7, 0)], 1: [(0, 0), (3, 1), (4, 0), (7, 0)]}


def test_a_digit_beyond_ascii_turns_the_filters_off() -> None:
    """`\\d` meets « ٣ », which the anchors (ASCII digits) do not list: such a text is read
    by every pattern over its whole length."""
    assert engine.unfiltered("bac +٧")
    assert not engine.unfiltered("bac +7 é")


def test_the_pure_python_path_can_be_forced_from_the_environment() -> None:
    import os
    import subprocess
    import sys

    code = ("from bot.review import anchors\n"
            "from bot.review.packs import pack\n"
            "assert not anchors.ENABLED\n"
            "assert pack('fr').scan('supprimez la photo') is None\n")
    env = {**os.environ, anchors.ENV: "python"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_a_key_another_begins_is_left_out() -> None:
    assert anchors.shortest(frozenset({"deal", "deals", "deals ", "dm", "ab", "abc"})) == ["ab", "deal", "dm"]


def test_a_brands_own_rules_are_run_over_the_whole_draft(monkeypatch: pytest.MonkeyPatch) -> None:
    """The brand's rules are not in the pack's automaton: they run as before, on both paths."""
    rule = {"id": "brand.no_cheap", "category": "address_form", "rule": "federate", "severity": "medium",
            "message": "Not our words.", "patterns": ["pas cher", "bon plan"]}
    profile = BrandProfile(extra_rules=(rule,))
    request = ReviewRequest("Un bon plan, et pas cher du tout !", None, "x", "fr", profile)
    scanned, pure = _both(request, monkeypatch)
    assert scanned == pure
    assert [f["rule_id"] for f in scanned["findings"]].count("brand.no_cheap") == 2


@settings(max_examples=300, deadline=None)
@given(pattern=st.sampled_from([r"[a-z0-9._%+-]++@[a-z0-9-]++\.[a-z]+", r"(?:\+33 ?|0)[1-9](?:[ .-]?\d{2}){4}",
                                r"x@|y@", r"(?:ab)?c", r"[!?]{3,}|!+\?+", r"a(?i:b)", r"(?:\w+ ){0,2}z+"]),
       text=st.text(alphabet="abcxyz@+0369 .!?-B", max_size=40))
def test_a_text_without_the_characters_a_pattern_needs_is_not_matched(pattern: str, text: str) -> None:
    from bot.review.prefilter import needed

    compiled = re.compile(pattern)
    needs = needed(compiled)
    if needs is not None and not any(c in text for c in needs):
        assert compiled.search(text) is None
