"""The review takes a brand profile and options, not the application's settings."""

from __future__ import annotations

from bot.config import Settings
from bot.review.models import BrandProfile
from bot.review.options import ReviewOptions, ReviewSetup
from bot.review.reviewer import Reviewer

DRAFT = "Merci de supprimer la photo et de nous écrire en MP."


def test_a_brand_profile_and_options_are_enough() -> None:
    profile = BrandProfile(name="Aerolux", voice="warm", platform="x")
    reviewer = Reviewer(ReviewSetup(profile=profile, review=ReviewOptions(language="fr")))
    assert not reviewer.use_llm()  # no endpoint given: offline
    request = reviewer.prepare(reviewer.request(DRAFT))
    assert request.profile == profile and request.platform == "x" and request.lang == "fr"
    assert reviewer.review_sync(request).verdict == "block"


def test_the_settings_give_the_same_review() -> None:
    from_settings = Reviewer(Settings(), engine="offline")
    from_setup = Reviewer(ReviewSetup(profile=Settings().profile), engine="offline")
    one = from_settings.review_sync(from_settings.request(DRAFT))
    two = from_setup.review_sync(from_setup.request(DRAFT))
    assert one.to_dict() == two.to_dict()


def test_an_endpoint_makes_the_llm_path_available() -> None:
    assert ReviewSetup(llm_api_key="sk-test").llm_configured
    assert "sk-test" not in repr(ReviewSetup(llm_api_key="sk-test"))
