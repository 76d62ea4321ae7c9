"""The prefilter only saves time: with or without it, every review is the same."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bot.review.engine as engine
from bot.review.models import ReviewRequest
from bot.review.packs import pack
from bot.review.prefilter import prefixes, starts

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "dev.jsonl"


def _examples() -> list[tuple[str, str | None]]:
    found: list[tuple[str, str | None]] = []
    for lang in ("fr", "en"):
        p = pack(lang)
        assert p is not None
        for rule in (*p.rules, *p.strengths):
            for ex in (*rule.must_match, *rule.must_not_match):
                found.append((ex.draft, ex.context))
    if CORPUS.is_file():
        for line in CORPUS.read_text(encoding="utf-8").splitlines():
            case = json.loads(line)
            found.append((case["draft"], case["context"]))
    return found


def _everything() -> frozenset[str]:
    """A word-start index that lets every rule through: no rule is skipped."""
    out: set[str] = set()
    for lang in ("fr", "en"):
        p = pack(lang)
        assert p is not None
        for rule in (*p.rules, *p.strengths):
            out |= (rule.starts.compute() if rule.starts else None) or set()
    return frozenset(out)


@pytest.fixture(autouse=True)
def _warm() -> None:
    """Every rule's prefixes worked out now, so that the prefilter really filters."""
    _everything()


def _same_with_and_without(monkeypatch: pytest.MonkeyPatch, draft: str, context: str | None) -> None:
    request = ReviewRequest(draft, context, "x")
    filtered = engine.rules_review(request).to_dict()
    with monkeypatch.context() as m:
        m.setattr(engine, "starts", lambda text: _everything())
        unfiltered = engine.rules_review(request).to_dict()
    assert filtered == unfiltered


def test_every_example_reviews_the_same_without_the_prefilter(monkeypatch: pytest.MonkeyPatch) -> None:
    for draft, context in _examples():
        _same_with_and_without(monkeypatch, draft, context)


WORDS = st.sampled_from([
    "supprimez", "la", "photo", "merci", "de", "retirer", "votre", "vidéo", "please", "delete",
    "the", "post", "we", "reserve", "right", "to", "remove", "comments", "bac", "+7", "avocat",
    "clown", "DM", "us", "MP", "sorry", "désolés", "!!!", "PAS", "ENCORE", "#tempête", "promo",
    "-20%", "nous", "ne", "jamais", "never", "you", "people", "like", "from", "that", "part",
])


@settings(max_examples=150, deadline=None)
@given(st.lists(WORDS, min_size=1, max_size=25).map(" ".join))
def test_random_drafts_review_the_same_without_the_prefilter(draft: str) -> None:
    _everything()
    with pytest.MonkeyPatch.context() as monkeypatch:
        _same_with_and_without(monkeypatch, draft, None)


def test_the_prefixes_of_a_pattern_cover_its_matches() -> None:
    import re

    pattern = re.compile(r"(?<![\w])(?:(?:merci de|veuillez) (?:\w+ ){0,2}?(?:sup+rim|retir)\w*|\d+ ?%)(?![\w])")
    found = prefixes(pattern)
    assert found is not None
    for text in ("merci de bien vouloir supprimer", "veuillez retirer", "-20 % sur tout", "50% off"):
        match = pattern.search(text)
        assert match is not None
        assert any(text[match.start():].startswith(p) for p in found)
        assert not found.isdisjoint(starts(text))


@pytest.mark.parametrize(("source", "expected"), [
    # `?`: the item once, then what follows, and what follows alone
    (r"(?:les |des )?clients?", {"les clie", "des clie", "client", "clients"}),
    (r"(?:vous )?(?:devez|pouvez) lire", {"vous dev", "vous pou", "devez li", "pouvez l"}),
    # `*` and `+` may come back: what follows is not followed
    (r"(?:tres )*bien", {"tres ", "bien"}),
    # an item that cannot be told stops where it starts; skipped, what follows is followed
    (r"nous (?:\w+ )?supprim", {"nous ", "nous sup"}),
])
def test_an_optional_item_is_followed_by_what_comes_after_it(source: str, expected: set[str]) -> None:
    import re

    pattern = re.compile(source)
    found = prefixes(pattern)
    assert found == expected
    for text in ("les clients", "client", "vous devez lire", "pouvez lire", "tres tres bien", "bien",
                 "nous allons supprimer", "nous supprimons"):
        for match in pattern.finditer(text):
            assert any(text[match.start():].startswith(p) for p in found), (source, text)


def test_prefixes_are_worked_out_only_once_a_rule_is_warm() -> None:
    import re

    from bot.review.prefilter import WARM_UP, LazyStarts

    lazy = LazyStarts((re.compile(r"(?<![\w])(?:supprim\w*)(?![\w])"),))
    assert all(lazy.get() is None for _ in range(WARM_UP - 1))
    assert lazy.get() == frozenset({"supprim"})
