"""Offline rewrites: the moves of docs/rewrites.md, never an invented fact."""

from __future__ import annotations

import pytest

from bot.review.models import BrandProfile, ReviewRequest
from bot.review.offline import review_offline
from bot.review.platforms import weighted_length
from bot.review.text import fold

EASYJET_CONTEXT = "Un siège sans dossier dans un avion, comment cela peut-il être autorisé ?"


def _rewrites(draft: str, context: str | None = None, platform: str = "x", **kw):
    review = review_offline(ReviewRequest(draft, context, platform, **kw))
    assert review.verdict != "post"
    return review


def test_canonical_deletion_demand_becomes_an_apology_with_an_action() -> None:
    review = _rewrites("Supprimez la photo et écrivez-nous en MP.", EASYJET_CONTEXT)
    assert len(review.rewrites) >= 2
    assert len({r.style for r in review.rewrites}) == len(review.rewrites)
    apology = next(r for r in review.rewrites if r.style == "apology")
    text = fold(apology.text).text
    # acknowledge, apologise, what is done, then the invitation to DM — in that order
    ack = text.index("signale")
    sorry = text.index("excuses")
    dm = text.index("mp")
    assert ack < sorry < dm
    assert "supprim" not in text and "retir" not in text
    assert apology.verdict == "post"


def test_every_rewrite_is_reviewed_again_and_posts() -> None:
    drafts = [
        ("Please take down this video and send us a DM so we can look into it.",
         "Your driver threw my parcel over the fence, here's the video."),
        ("Nous supprimerons tous les commentaires de ce type.", "Encore un produit qui casse."),
        ("Nobody asked for your opinion, clown.", "Your new logo is ugly."),
        ("Si le TGV est trop cher pour vous, il reste le bus.", "Le TGV à 140 euros, c'est du vol."),
    ]
    for draft, context in drafts:
        review = _rewrites(draft, context)
        assert len(review.rewrites) >= 2, draft
        for rewrite in review.rewrites:
            again = review_offline(ReviewRequest(rewrite.text, context, "x", review.language), rewrite=False)
            assert again.verdict == "post", (rewrite.text, again.findings)
            assert rewrite.verdict == "post"


def test_rewrites_keep_the_draft_facts_and_language() -> None:
    review = _rewrites(
        "Please delete the photo of flight EZY2054 and DM us, we're checking it today.",
        "How is a seat with no backrest allowed?",
    )
    assert review.language == "en"
    for rewrite in review.rewrites:
        assert "EZY2054" in rewrite.text
        again = review_offline(ReviewRequest(rewrite.text, lang=None), rewrite=False)
        assert again.language == "en"


def test_rewrites_keep_the_form_of_address() -> None:
    review = _rewrites("Retire ta story stp, écris-nous en MP.", "Ton vendeur m'a mal parlé.")
    assert review.rewrites
    for rewrite in review.rewrites:
        words = set(fold(rewrite.text).text.replace("[", " ").replace("]", " ").split())
        assert not words & {"vous", "votre", "vos"}, rewrite.text


def test_brand_profile_form_of_address_wins() -> None:
    profile = BrandProfile(address="tu")
    review = _rewrites("Merci de retirer votre vidéo.", "Votre vendeur m'a mal parlé.", profile=profile)
    assert review.rewrites
    assert all("vous" not in fold(r.text).text for r in review.rewrites)


def test_placeholders_are_left_instead_of_invented_facts() -> None:
    review = _rewrites("DM us.", "My order never arrived and your chat bot is useless.")
    for rewrite in review.rewrites:
        assert rewrite.placeholders, rewrite.text
        lowered = rewrite.text.lower()
        for invented in ("refund", "discount", "voucher", "compensation"):
            assert invented not in lowered


@pytest.mark.parametrize("platform", ["x", "tiktok"])
def test_rewrites_fit_the_platform(platform: str) -> None:
    review = _rewrites("Merci de retirer votre vidéo, nous allons traiter votre demande en interne.",
                       "Votre vendeur m'a parlé comme à un chien, j'ai tout filmé.", platform=platform)
    limit = {"x": 280, "tiktok": 150}[platform]
    for rewrite in review.rewrites:
        assert weighted_length(rewrite.text, platform) <= limit


def test_links_count_23_on_x() -> None:
    link = "https://example.com/" + "a" * 200
    assert weighted_length(f"See {link} now", "x") == len("See  now") + 23
    assert weighted_length(f"See {link} now", "generic") > 200


def test_a_safe_draft_gets_no_rewrite() -> None:
    review = review_offline(ReviewRequest(
        "Nous sommes désolés de voir votre colis dans cet état. Pouvez-vous nous envoyer votre "
        "numéro de suivi en message privé ? Nous lançons la réclamation aujourd'hui.",
        "Mon colis est arrivé écrasé, bravo...", "x"))
    assert review.verdict == "post"
    assert review.rewrites == []
