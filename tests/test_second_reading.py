"""The learned layer's say in a review (bot/review/second_reading.py), with the shipped model."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

import bot.review.learned as learned
from bot.config import ReviewSection, Settings
from bot.review.models import ReviewRequest
from bot.review.offline import review_offline
from bot.review.reviewer import Reviewer

pytestmark = pytest.mark.skipif(not (learned.MODEL_DIR / learned.MODEL_FILE).is_file(),
                                reason="no trained model in bot/review/model (run `make model`)")

# Talks down to people by their size; no rule of the packs names it.
SLIGHT = "Tu trouves pas ta taille ? Normal, on ne fait pas dans le grand 😏"


def _learned(review) -> list:
    return [f for f in review.findings if f.rule_id and f.rule_id.startswith("learned.")]


def test_a_draft_the_rules_let_through_is_read_again() -> None:
    rules_only = review_offline(ReviewRequest(SLIGHT, None, "x", second_reading=False))
    assert rules_only.verdict == "post" and not _learned(rules_only)
    review = review_offline(ReviewRequest(SLIGHT, None, "x"))
    found = _learned(review)
    assert review.verdict == "revise" and len(found) == 1
    assert found[0].severity == "medium" and found[0].span is None
    assert "modèle" in found[0].message  # it says it is a model, not a rule


def test_a_good_reply_is_left_alone() -> None:
    for draft, context in (
        ("Nous sommes désolés, nous corrigeons cela aujourd'hui.", "Votre appli plante encore !"),
        ("Thanks so much, Léa! We're thrilled you love it 💛", "Best coffee in town, I'm hooked"),
        ("We're so sorry, Sam: your refund went out today and we've fixed the bug.", "Charged twice!!"),
    ):
        review = review_offline(ReviewRequest(draft, context, "x"))
        assert review.verdict == "post" and not _learned(review), draft


def test_the_setting_turns_it_off() -> None:
    off = Reviewer(Settings(review=ReviewSection(second_reading=False)), engine="offline")
    assert off.review_sync(off.request(SLIGHT, platform="x")).verdict == "post"
    on = Reviewer(Settings(), engine="offline")
    assert on.review_sync(on.request(SLIGHT, platform="x")).verdict == "revise"


def test_it_never_reads_what_rules_already_weighed_or_blocks() -> None:
    # The rules find a demand to delete (high): the model has nothing to add.
    review = review_offline(ReviewRequest("Please delete the photo and DM us.", "Look at this broken seat", "x"))
    assert review.verdict == "block" and not _learned(review)
    assert all(f.severity == "medium" for f in _learned(review_offline(ReviewRequest(SLIGHT, None, "x"))))


def test_quotes_are_not_read_as_the_brand_speaking() -> None:
    review = review_offline(ReviewRequest('You said "delete this app" and we hear you.', None, "x"))
    assert review.verdict == "post"


def test_too_short_or_missing_model_means_the_rules_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert not _learned(review_offline(ReviewRequest("<", None, "x")))
    monkeypatch.setattr(learned, "MODEL_DIR", tmp_path)  # an install without the model
    review = review_offline(replace(ReviewRequest(SLIGHT, None, "x")))
    assert review.verdict == "post" and not _learned(review)
