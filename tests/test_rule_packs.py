"""Every rule's own examples: those that must match do, those that must not don't."""

from __future__ import annotations

import pytest

from bot.review.models import CATEGORIES, BrandProfile, ReviewRequest
from bot.review.offline import review_offline
from bot.review.packs import Example, PackError, StrengthRule, build_rule, packs
from bot.review.text import fold

LANGS = ("fr", "en")


def _review(example: Example, lang: str):
    profile = BrandProfile(voice=example.voice or "neutral")  # type: ignore[arg-type]
    request = ReviewRequest(example.draft, example.context, example.platform or "generic", lang, profile)
    return review_offline(request, rewrite=False)


def _cases(kind: str):
    for lang, pack in sorted(packs().items()):
        for rule in pack.rules:
            examples = rule.must_match if kind == "match" else rule.must_not_match
            for i, ex in enumerate(examples):
                yield pytest.param(lang, rule.id, ex, id=f"{rule.id}-{kind}-{i}")


def _strength_cases(kind: str):
    for lang, pack in sorted(packs().items()):
        for s in pack.strengths:
            examples = s.must_match if kind == "match" else s.must_not_match
            for i, ex in enumerate(examples):
                yield pytest.param(lang, s, ex, id=f"{s.id}-{kind}-{i}")


def _signalled(strength: StrengthRule, example: Example, lang: str) -> bool:
    """Scored strengths show in the review; unscored cues (a private channel…) are only
    read by rules, so their own matcher is asked."""
    if strength.scored:
        return strength.kind in {s.kind for s in _review(example, lang).strengths}
    return strength.matcher is not None and strength.matcher.search(fold(example.draft).text) is not None


def test_both_languages_are_complete() -> None:
    for lang in LANGS:
        pack = packs()[lang]
        covered = {r.category for r in pack.rules}
        # platform_fit is checked by the engine for every language (platform lengths).
        missing = set(CATEGORIES) - covered - {"platform_fit"}
        assert not missing, f"{lang} pack lacks categories {missing}"
        kinds = {s.kind for s in pack.strengths}
        assert {"apology", "empathy", "next_step", "thanks", "facts", "federating",
                "calm_argument"} <= kinds
        for rule in pack.rules:
            assert rule.must_match, f"{rule.id} has no example that must match"
            assert rule.must_not_match, f"{rule.id} has no example that must not match"


@pytest.mark.parametrize(("lang", "rule_id", "example"), list(_cases("match")))
def test_rule_matches_its_examples(lang: str, rule_id: str, example: Example) -> None:
    review = _review(example, lang)
    fired = {f.rule_id for f in review.findings}
    assert rule_id in fired, f"{rule_id} did not fire on {example.draft!r}; got {sorted(fired)}"


@pytest.mark.parametrize(("lang", "rule_id", "example"), list(_cases("no_match")))
def test_rule_ignores_its_counter_examples(lang: str, rule_id: str, example: Example) -> None:
    review = _review(example, lang)
    fired = {f.rule_id: f.span.text if f.span else None for f in review.findings}
    assert rule_id not in fired, f"{rule_id} fired on {example.draft!r} at {fired.get(rule_id)!r}"


@pytest.mark.parametrize(("lang", "strength", "example"), list(_strength_cases("match")))
def test_strength_matches_its_examples(lang: str, strength: StrengthRule, example: Example) -> None:
    assert _signalled(strength, example, lang), f"{strength.id} missed {example.draft!r}"


@pytest.mark.parametrize(("lang", "strength", "example"), list(_strength_cases("no_match")))
def test_strength_ignores_its_counter_examples(lang: str, strength: StrengthRule, example: Example) -> None:
    assert not _signalled(strength, example, lang), f"{strength.id} fired on {example.draft!r}"


def test_spans_point_at_the_draft_as_given() -> None:
    draft = "Bonjour !  Je vous demande de  SUPPRIMER la photographie 📸 svp."
    review = review_offline(ReviewRequest(draft, lang="fr"), rewrite=False)
    deletion = [f for f in review.findings if f.category == "deletion_demand"]
    assert deletion
    for f in review.findings:
        if f.span:
            assert draft[f.span.start:f.span.end] == f.span.text


def test_a_broken_rule_is_refused_with_its_id() -> None:
    with pytest.raises(PackError, match=r"my\.rule"):
        build_rule({"id": "my.rule", "category": "not_a_category", "rule": "react",
                    "message": "x", "patterns": ["a"]}, {}, {}, "test")
    with pytest.raises(PackError, match="not a valid regular expression"):
        build_rule({"id": "my.rule", "category": "insult", "rule": "react",
                    "message": "x", "patterns": ["(unclosed"]}, {}, {}, "test")
