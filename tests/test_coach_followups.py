"""What the coach understands, and the offline transformations of a reply."""

from __future__ import annotations

import re

import pytest

from bot.coach.followups import (
    add_sentence,
    address,
    address_of,
    formal,
    longer,
    remove_about,
    sentences,
    shorter,
    to_tu,
    to_vous,
    warmer,
)
from bot.coach.intents import confirmation, parse, rule_named
from bot.review.models import ReviewRequest
from bot.review.offline import review_offline

APOLOGY_FR = ("Merci de nous l'avoir signalé : ce siège n'aurait jamais dû être proposé et nous vous "
              "présentons nos excuses. Nous enquêtons dès maintenant sur le vol 2021. Pouvez-vous nous "
              "écrire en MP avec votre référence de réservation ?")
APOLOGY_EN = ("Thanks for showing us this — a seat like that should never be on one of our aircraft, "
              "and we're sorry. We're investigating flight 2021 now. Could you DM us your booking "
              "reference so we can look after you?")


@pytest.mark.parametrize(("text", "intent", "lang"), [
    ("plus court", "shorter", "fr"),
    ("Un peu plus court stp !", "shorter", "fr"),
    ("Can you make it shorter please?", "shorter", "en"),
    ("plus long", "longer", "fr"),
    ("more formal", "formal", "en"),
    ("plus chaleureux", "warmer", "fr"),
    ("tutoie", "tu", "fr"),
    ("Vouvoie-le", "vous", "fr"),
    ("in English", "english", "en"),
    ("en français", "french", "fr"),
    ("une autre", "another", "fr"),
    ("another version", "another", "en"),
    ("Pourquoi ?", "why", "fr"),
    ("why?", "why", "en"),
    ("aide", "help", "fr"),
    ("oublie-moi", "forget", "fr"),
    ("stats", "stats", None),  # the same word in both languages tells nothing
])
def test_follow_ups_and_commands_in_both_languages(text, intent, lang):
    parsed = parse(text)
    assert (parsed.name, parsed.language) == (intent, lang)


@pytest.mark.parametrize("draft", [
    "Pourquoi ne pas nous écrire en MP ?",
    "Why not DM us your order number?",
    "Plus court que prévu, votre colis arrive demain.",
    "Thanks! Another order is on its way to you today.",
    "Merci de supprimer la photo",
])
def test_drafts_are_not_mistaken_for_commands(draft):
    assert parse(draft).name == "draft"


def test_commands_with_an_argument_and_context():
    assert parse("leçon réagir").name == "lesson" and rule_named(parse("leçon réagir").argument) == "react"
    assert rule_named(parse("lesson federate").argument) == "federate"
    assert parse("practice sncf").argument == "sncf"
    ctx = parse("Le client avait écrit : « Mon siège est cassé. »")
    assert (ctx.name, ctx.language, ctx.argument) == ("context", "fr", "Mon siège est cassé.")
    assert parse("The customer wrote: it broke").argument == "it broke"
    assert parse("Note: we are closed on Monday.").name == "draft"


def test_confirmations():
    assert confirmation("oui") == ("yes", "fr")
    assert confirmation("Yes please") == ("yes", "en")
    assert confirmation("non") == ("no", "fr")
    assert confirmation("maybe later") is None


def passes(text: str) -> bool:
    return review_offline(ReviewRequest(text), rewrite=False).verdict == "post"


def test_shorter_keeps_facts_and_placeholders():
    text = ("Merci de nous avoir signalé [ce qui s'est passé] : nous vous présentons nos excuses. "
            "[Ce que nous faisons, et quand.] Pouvez-vous nous écrire en MP avec [votre référence] "
            "pour que nous puissions vous aider ?")
    for candidate in shorter(text, "fr"):
        assert len(candidate) < len(text)
        assert re.findall(r"\[[^\]]+\]", candidate) == re.findall(r"\[[^\]]+\]", text)
    for candidate in shorter(APOLOGY_EN, "en"):
        assert "2021" in candidate


def test_shorter_drops_filler_first():
    text = "We're sorry for the delay. Your parcel leaves today. Have a nice day!"
    assert shorter(text, "en")[0] == "We're sorry for the delay. Your parcel leaves today."


def test_tu_and_vous_round_trip():
    tu = to_tu(APOLOGY_FR)
    assert "Peux-tu" in tu and "ta référence" in tu and "nous te présentons" in tu
    assert address_of(tu) == "tu" and address_of(APOLOGY_FR) == "vous"
    assert to_vous(tu) == APOLOGY_FR
    assert to_tu("Nous allons vous aider : écrivez-nous pour votre commande.") == \
        "Nous allons t'aider : écris-nous pour ta commande."
    assert address(tu, "tu") == []  # nothing to change


def test_formal_and_warmer_change_the_register_and_still_pass():
    f = formal(APOLOGY_EN, "en")[0]
    assert "we are sorry" in f and "DM" not in f and "send us a direct message" in f and passes(f)
    w = warmer(APOLOGY_EN, "en")[0]
    assert w.endswith("We're here for you.") and passes(w)
    fr = formal("Salut ! On regarde ça tout de suite, écris-nous en MP.", "fr")[0]
    assert fr.startswith("Bonjour.") and "écrivez-nous" in fr and "message privé" in fr


def test_longer_adds_no_invented_fact():
    out = longer(APOLOGY_EN, "en")
    assert out and all(o.startswith(APOLOGY_EN) and len(sentences(o)) > len(sentences(APOLOGY_EN)) for o in out)
    assert "[" in out[0]  # a detail to fill, not a made-up one


# -- several follow-ups at once, and the user's own instructions (issue 11) -----------------


@pytest.mark.parametrize(("text", "steps"), [
    ("make it shorter and warmer", ("shorter", "warmer")),
    ("shorter, more formal please", ("shorter", "formal")),
    ("plus court et tutoie", ("shorter", "tu")),
    ("un peu plus court et plus chaleureux stp", ("shorter", "warmer")),
    ("plus formel puis en anglais", ("formal", "english")),
])
def test_combined_follow_ups_are_read_in_order(text: str, steps: tuple[str, ...]) -> None:
    intent = parse(text)
    assert intent.name == "combo" and intent.steps == steps


@pytest.mark.parametrize(("text", "kind", "argument"), [
    ("add that the refund takes 5 days", "add", "the refund takes 5 days"),
    ("Ajoute que le remboursement prend 5 jours.", "add", "le remboursement prend 5 jours."),
    ("please mention that we'll call back tomorrow", "add", "we'll call back tomorrow"),
    ("remove the sentence about the refund", "remove", "the refund"),
    ("enlève la phrase sur le remboursement", "remove", "le remboursement"),
    ("reformule ça de façon plus humaine", "other", "ça de façon plus humaine"),
])
def test_instructions_in_the_users_own_words(text: str, kind: str, argument: str) -> None:
    intent = parse(text)
    assert (intent.name, intent.kind, intent.argument) == ("instruction", kind, argument)


@pytest.mark.parametrize("draft", [
    "Retire ta story stp", "Remove the photo please", "Add your order number in a DM.",
    "Make it right for our customers and stop the delays now, please, we need this fixed today",
])
def test_drafts_that_look_like_instructions_stay_drafts(draft: str) -> None:
    assert parse(draft).name == "draft"
    assert parse("Make it right for our customers").weak  # an instruction only once there is a version


def test_the_customers_message_and_the_reply_in_one_message() -> None:
    intent = parse("le client avait écrit : « Mon colis est écrasé » ma réponse : Merci de retirer la photo.")
    assert (intent.name, intent.argument, intent.draft) == ("context", "Mon colis est écrasé",
                                                           "Merci de retirer la photo.")
    plain = parse("the customer wrote: see https://example.com/a: it broke")
    assert plain.argument == "see https://example.com/a: it broke" and plain.draft == ""


def test_add_and_remove_a_sentence_offline() -> None:
    text = "Sorry about the wait. We're checking it now. Could you DM us [your reference]?"
    assert add_sentence(text, "that the refund takes 5 days", "en") == [
        "Sorry about the wait. We're checking it now. The refund takes 5 days. Could you DM us [your reference]?",
        "Sorry about the wait. We're checking it now. Could you DM us [your reference]? The refund takes 5 days."]
    tu = "Désolés pour l'attente. Tu peux nous écrire en MP ?"
    assert add_sentence(tu, "que votre remboursement part demain", "fr", "tu")[0] == \
        "Désolés pour l'attente. Ton remboursement part demain. Tu peux nous écrire en MP ?"
    assert remove_about("Sorry. Your refund left on Monday. DM us?", "the refund", "en") == ["Sorry. DM us?"]
    assert remove_about("Sorry. DM us?", "the refund", "en") == []


def test_shorter_never_drops_the_apology_the_action_or_the_invitation_to_dm() -> None:
    text = "Hey, sorry about that! We're checking the seat now. DM us if it happens again."
    assert shorter(text, "en") == []  # nothing left to cut without losing a move
    text = "Merci pour votre message. Vous pouvez nous écrire en MP ? [Un détail concret : ce que nous faisons.]"
    for candidate in shorter(text, "fr"):  # a placeholder's colon is not a clause to cut at
        assert "[Un détail concret : ce que nous faisons.]" in candidate, candidate
