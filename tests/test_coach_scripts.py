"""The conversations of issue 11, replayed as a new user had them, each with the expected result.

Offline (no model): the coach in a DM, as Slack, Discord and `cm-coach chat` drive it.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot.coach import Coach, CoachReply, ConversationKey, followups
from bot.coach.intents import parse
from bot.review.language import detect_language
from bot.review.models import ReviewRequest
from bot.review.offline import review_checked
from bot.review.reviewer import Reviewer
from bot.review.text import fold
from bot.store import Store

ME = ConversationKey("console", "local", "cm")


@pytest.fixture
def coach(tmp_path: Any) -> Any:
    store = Store(tmp_path / "coach.sqlite3")
    yield Coach(Reviewer(engine="offline"), store)
    store.close()


def version_in(reply: CoachReply) -> str:
    return reply.text.split("\n\n", 1)[1].strip()


def posts(text: str, context: str | None = None, lang: str | None = None) -> bool:
    return review_checked(ReviewRequest(text, context, lang=lang), rewrite=False).verdict == "post"


async def test_personal_data_asked_in_public_is_never_pasted_into_the_rewrite(coach: Coach) -> None:
    for draft, context, pasted in (
            ("Could you reply with your order number here?", "My parcel never arrived.", "reply with"),
            ("Merci de nous indiquer votre adresse e-mail en commentaire.", "Mon colis n'est jamais arrivé.",
             "indiquer")):
        await coach.handle(ME, f"the customer wrote: {context}")
        reply = await coach.handle(ME, draft)
        assert reply.review is not None and reply.review.rewrites
        for rewrite in reply.review.rewrites:
            assert pasted not in rewrite.text and "commentaire" not in rewrite.text, rewrite.text


async def test_in_english_has_no_french_left_and_another_keeps_tu(coach: Coach) -> None:
    await coach.handle(ME, "Merci de nous indiquer votre adresse e-mail en commentaire.")
    english = await coach.handle(ME, "en anglais")
    text = version_in(english)
    assert english.kind == "rewrite" and detect_language(text) == "en"
    assert not re.search(r"adresse|commentaire|votre|message privé", text), text
    assert "your email address by private message" in text
    # The next style stays in English.
    other = await coach.handle(ME, "une autre")
    assert other.kind == "rewrite" and detect_language(version_in(other)) == "en"

    await coach.handle(ME, "Retire ta story stp, écris-nous en MP.")
    await coach.handle(ME, "le client avait écrit : Ton vendeur m'a mal parlé.")
    tu = await coach.handle(ME, "tutoie")
    assert followups.address_of(version_in(tu)) in ("tu", None)
    for _ in range(3):  # « une autre », and again: « tu » every time
        other = await coach.handle(ME, "une autre")
        assert other.kind == "rewrite", other.text
        assert followups.address_of(version_in(other)) == "tu", version_in(other)
    await coach.handle(ME, "vouvoie")
    other = await coach.handle(ME, "une autre")
    assert followups.address_of(version_in(other)) == "vous", version_in(other)


async def test_a_storm_promotion_gets_brand_post_rewrites(coach: Coach) -> None:
    reply = await coach.handle(ME, "Tempête Ciara : profitez de -99% sur tous nos parapluies !")
    assert reply.review is not None and reply.review.verdict == "block" and reply.review.rewrites
    for rewrite in reply.review.rewrites:
        assert "agacement" not in rewrite.text and "excuses" not in rewrite.text
        assert "99" not in rewrite.text and "(" not in rewrite.text


async def test_shorter_keeps_the_invitation_to_dm_the_action_and_the_apology(coach: Coach) -> None:
    draft = "Hey, sorry about that! We're checking the seat on flight 2021 today. Please delete the photo and DM us."
    first = await coach.handle(ME, draft)
    assert first.review is not None
    assert all("sorry about that" in r.text.lower() for r in first.review.rewrites)  # its own apology
    for _ in range(3):
        short = await coach.handle(ME, "shorter")
        text = version_in(short)
        assert "DM" in text and "checking the seat on flight 2021" in text and "sorry" in text.lower(), text
        assert posts(text)


async def test_a_reply_that_answers_another_complaint_is_not_ready_to_post(coach: Coach) -> None:
    await coach.handle(ME, "the customer wrote: The seat on my flight was broken, no backrest! How is that allowed?")
    reply = await coach.handle(ME, "We're sorry for the wait: your parcel was shipped yesterday with tracking "
                                   "number AB123456.")
    review = reply.review
    assert review is not None and review.verdict != "post"
    produce = next(s for s in review.golden_rules if s.rule == "produce")
    assert produce.score < 4 and any("your parcel" in n and "your flight" in n for n in produce.notes)
    assert review.rewrites
    for rewrite in review.rewrites:
        text = fold(rewrite.text).text
        assert "parcel" not in text and "ab123456" not in text  # it answers the seat, or leaves [what]
        assert "seat" in text or rewrite.placeholders


async def test_instructions_are_never_reviewed_as_drafts(coach: Coach) -> None:
    first = await coach.handle(ME, "Please delete the photo and DM us.")
    assert first.review is not None
    combined = await coach.handle(ME, "make it shorter and warmer")
    assert combined.kind == "rewrite" and combined.review is None
    assert combined.text.startswith("*Shorter + Warmer* — reviewed again: ready to post")
    assert "We're here for you." in version_in(combined)  # warmer, after shorter
    assert posts(version_in(combined))
    french = await coach.handle(ME, "Merci de supprimer la photo et de nous écrire en MP, nous enquêtons.")
    assert french.kind == "review"
    both = await coach.handle(ME, "plus court et tutoie")
    assert both.kind == "rewrite" and both.review is None
    assert followups.address_of(version_in(both)) in ("tu", None)
    own = await coach.handle(ME, "reformule ça de façon plus humaine")
    assert own.kind == "rewrite" and own.review is None and "Hors ligne" in own.text
    added = await coach.handle(ME, "ajoute que le remboursement prend 5 jours")
    assert added.kind == "rewrite" and "Le remboursement prend 5 jours." in version_in(added)
    assert posts(version_in(added))  # « 5 jours » is the user's fact: the guard takes it as a source
    assert parse("Retire ta story stp").name == "draft" and parse("Remove the photo please").name == "draft"


async def test_the_customers_message_attaches_to_the_current_draft(coach: Coach) -> None:
    await coach.handle(ME, "Please delete the photo and DM us.")
    await coach.handle(ME, "shorter")
    reply = await coach.handle(ME, "the customer wrote: How is a seat with no backrest allowed?")
    assert reply.review is not None and reply.review.draft == "Please delete the photo and DM us."
    assert reply.review.context == "How is a seat with no backrest allowed?"
    # Pasted together, the customer's message and the reply: that reply is reviewed with it.
    both = await coach.handle(ME, "the customer wrote: My parcel never arrived. My reply: DM us.")
    assert both.review is not None and both.review.draft == "DM us."
    assert both.review.context == "My parcel never arrived."


async def test_why_prints_each_sentence_once_with_one_full_stop(coach: Coach) -> None:
    await coach.handle(ME, "We're sorry for the delay, your refund was sent on 3 May.")
    why = await coach.handle(ME, "why?")
    assert why.kind == "explanation"
    assert ".." not in why.text and "A plain apology" in why.text
