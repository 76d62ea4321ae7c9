"""Property tests: whatever text comes in, a review comes out, and it is consistent.

Modest example counts keep the suite fast; PROPERTY_EXAMPLES=2000 hunts harder.
"""

from __future__ import annotations

import os
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import Settings
from bot.render.markdown import render_markdown
from bot.render.terminal import render_terminal
from bot.review.models import (
    CATEGORIES,
    GOLDEN_RULES,
    PLATFORMS,
    SEVERITIES,
    VOICES,
    BrandProfile,
    Review,
    ReviewRequest,
)
from bot.review.offline import review_offline
from bot.review.reviewer import Reviewer
from bot.review.validation import DEFAULT_MAX_CHARS, DraftError

EXAMPLES = int(os.environ.get("PROPERTY_EXAMPLES", "40"))
FAST = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Every plane of Unicode but surrogates, so control characters, emoji, RTL scripts
# and combining marks all come up.
ANY_CHAR = st.characters(blacklist_categories=("Cs",))
WORDS = st.sampled_from([
    "supprimez", "SUPPRIMEZ", "suprimez", "la photo", "en MP", "désolé", "Désolée", "merci",
    "vous", "tu", "t'es", "pas", "ne", "jamais", "delete", "DM us", "sorry", "lawyers",
    "bac +7", "#JeSuisCharlie", "😡", "🙏", "👩🏽‍💻", "«", "»", "\"", "[", "]", "[quand]",
    "مرحبا", "שלום", "e\u0301", "\u202e", "\u200b", "\x00", "\x1b[31m", "\r\n", "\t", "!!!",
    "http://example.com/x", "@someone", "0612345678", "ABC123", "flight 2021", "vol 2021",
])
MIXED_TEXT = st.lists(st.one_of(WORDS, st.text(ANY_CHAR, max_size=12)), max_size=30).map(" ".join)
DRAFT = st.one_of(st.text(ANY_CHAR, max_size=400), MIXED_TEXT)
# Up to the limit: a random piece repeated, so that hypothesis need not draw 10,000 characters.
HUGE = st.tuples(st.one_of(MIXED_TEXT, st.text(ANY_CHAR, min_size=1, max_size=60)),
                 st.integers(1000, DEFAULT_MAX_CHARS)).map(
    lambda t: (t[0] * (t[1] // max(1, len(t[0])) + 1))[: t[1]] if t[0] else "x")
CONTEXT = st.one_of(st.none(), st.text(ANY_CHAR, max_size=200), MIXED_TEXT)
PROFILE = st.builds(
    BrandProfile,
    voice=st.sampled_from(VOICES),
    address=st.sampled_from(("tu", "vous", "auto")),
    banned_terms=st.lists(st.one_of(WORDS, st.text(ANY_CHAR, max_size=8)), max_size=3).map(tuple),
)
REQUEST = st.builds(
    ReviewRequest,
    draft=DRAFT,
    context=CONTEXT,
    platform=st.sampled_from(PLATFORMS),
    lang=st.sampled_from((None, None, "fr", "en", "de")),
    profile=PROFILE,
)


def check_review(review: Review, request: ReviewRequest) -> None:
    draft = request.draft
    assert review.draft == draft
    assert type(review.risk) is int and 0 <= review.risk <= 100
    assert [s.rule for s in review.golden_rules] == list(GOLDEN_RULES)
    for s in review.golden_rules:
        assert type(s.score) is int and 0 <= s.score <= 10
    for f in review.findings:
        assert f.category in CATEGORIES
        assert f.severity in SEVERITIES
        assert f.rule in GOLDEN_RULES
        assert f.message
    for item in [*review.findings, *review.strengths]:
        if item.span is not None:
            assert 0 <= item.span.start < item.span.end <= len(draft), item
            assert draft[item.span.start:item.span.end] == item.span.text
    severities = {f.severity for f in review.findings}
    assert ("high" in severities) == (review.verdict == "block")
    if "medium" in severities and "high" not in severities:
        assert review.verdict == "revise"
    if review.verdict == "post":
        assert severities <= {"low"}
        assert not review.rewrites
    for rw in review.rewrites:
        assert rw.verdict == "post" and rw.text.strip()
    # Both text renderers accept any review without failing.
    assert render_terminal(review, color=True)
    assert render_markdown(review)


@FAST
@given(REQUEST)
def test_review_offline_never_crashes(request: ReviewRequest) -> None:
    if not request.draft.strip():
        return  # the Reviewer refuses it before the engine sees it (tested below)
    check_review(review_offline(request), request)


@FAST
@given(REQUEST)
def test_reviewer_reviews_or_refuses_with_a_draft_error(request: ReviewRequest) -> None:
    reviewer = Reviewer(Settings(), engine="offline")
    try:
        review = reviewer.review_sync(request)
    except DraftError as exc:
        assert exc.code in ("empty", "too_long", "binary")
        assert str(exc) and "\n" not in str(exc)
        return
    check_review(review, request)


@settings(max_examples=max(12, EXAMPLES // 4), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(HUGE, CONTEXT, st.sampled_from(PLATFORMS))
def test_huge_drafts_up_to_the_limit(draft: str, context: str | None, platform: str) -> None:
    request = ReviewRequest(draft, context, platform)
    try:
        review = Reviewer(Settings(), engine="offline").review_sync(request)
    except DraftError as exc:
        assert exc.code in ("empty", "binary")
        return
    check_review(review, request)


@FAST
@given(REQUEST)
def test_rewrites_pass_their_own_review(request: ReviewRequest) -> None:
    if not request.draft.strip():
        return
    review = review_offline(request)
    for rw in review.rewrites:
        again = review_offline(replace(request, draft=rw.text, lang=review.language), rewrite=False)
        assert again.verdict == "post", (rw.text, [f.category for f in again.findings])


def test_a_draft_over_the_limit_is_refused_not_truncated() -> None:
    reviewer = Reviewer(Settings(), engine="offline")
    draft = "a" * (DEFAULT_MAX_CHARS + 1)
    try:
        reviewer.review_sync(reviewer.request(draft))
    except DraftError as exc:
        assert exc.code == "too_long"
    else:
        raise AssertionError("a draft over the limit was reviewed")
