"""A bank of drafts, French and English, one or more per risk category and brand posts:
every rewrite offered for them, whatever wrote it (templates, the model, a follow-up),
is one a community manager can post as it is (issue 11, "What it must show").

Each offered rewrite
- passes a new review at `post` (relevance included: it answers the customer);
- says again none of the words a medium or high finding flagged in the draft (but the
  words of `rewrites.MAY_REPEAT`, whose risk was where they stood: « DM us » before any
  acknowledgement, a pronoun mixing tu and vous);
- holds no number, name or reference that neither the draft nor the customer's message gives;
- keeps the draft's references and names: the names of its safe sentences and the name it
  greets (the names inside a risky sentence go with it: whom a draft blamed is its risk);
- is in the draft's language and, in French, its form of address.

The model's rewrites and follow-ups meet the same checks, with the local test server
(tests/llm_server.py) answering invented facts.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from llm_server import LLMServer, chat_completion, llm_server, only_key, valid_review

from bot.coach import Coach, ConversationKey, followups
from bot.config import LLMSection, Settings
from bot.review.facts import facts, unsupported
from bot.review.language import detect_language
from bot.review.models import Review, ReviewRequest
from bot.review.offline import review_checked
from bot.review.reviewer import Reviewer
from bot.review.rewrites import _REFERENCE, MAY_REPEAT
from bot.review.text import fold
from bot.store import Store

__all__ = ["llm_server"]  # the fixture, imported for pytest

KEY = "sk-test-bank-0000"

# (language, category, draft, customer's message or None for a brand post, platform)
BANK: list[tuple[str, str, str, str | None, str]] = [
    ("en", "deletion_demand", "Hi Julie, please delete the photo of flight EZY2054 and DM us, we're checking "
     "the seat today.", "How is a seat with no backrest allowed?", "x"),
    ("fr", "deletion_demand", "Merci de supprimer la photo et de nous écrire en MP, nous enquêtons sur le vol 2021.",
     "Un siège sans dossier dans un avion, comment cela peut-il être autorisé ?", "x"),
    ("en", "censorship", "We will delete every comment like this one.",
     "Another product that broke after two days.", "facebook"),
    ("fr", "censorship", "Nous supprimerons tous les commentaires de ce type.", "Encore un produit qui casse.",
     "facebook"),
    ("en", "condescension", "It's on our website, it's not that hard to read.",
     "Where do I find your opening hours??", "x"),
    ("fr", "condescension", "C'est pourtant compréhensible même pour les gens qui n'ont pas bac +7.",
     "Comment les pauvres pourront prendre le TGV si un aller coûte 179 € ?", "x"),
    ("en", "insult", "Nobody asked for your opinion, clown.", "Your new logo is ugly.", "x"),
    ("fr", "insult", "Mdr t'as cru que c'était gratuit ?", "Pourquoi je dois payer la livraison ?", "x"),
    ("en", "blame_shift", "The delay was caused by the airport, not us.",
     "Three hours stuck at the gate with no information.", "x"),
    ("fr", "blame_shift", "Le retard vient de la SNCF Réseau, pas de nous.",
     "Encore 40 minutes de retard sur le TER ce matin.", "x"),
    ("en", "no_acknowledgement", "Your parcel will arrive on Monday, order AB1234.",
     "My parcel AB1234 arrived crushed, this is the second time!", "x"),
    ("fr", "no_acknowledgement", "Votre colis sera livré lundi.",
     "Mon colis est arrivé écrasé, c'est la deuxième fois !", "x"),
    ("en", "private_redirect", "DM us.", "My order never arrived and your chat bot is useless.", "x"),
    ("fr", "private_redirect", "Écrivez-nous en MP.",
     "Ma commande n'est jamais arrivée, votre service client ne répond pas.", "x"),
    ("en", "legal_threat", "Our lawyers have been informed of your defamatory comments.",
     "You are scammers, you never refunded me.", "x"),
    ("fr", "legal_threat", "Notre service juridique a été informé de vos propos.",
     "Vous êtes des escrocs, jamais remboursé.", "x"),
    ("en", "discrimination", "Maybe people from your neighbourhood should shop elsewhere.",
     "Your security guard followed me around the whole store.", "x"),
    ("fr", "discrimination", "Les gens de votre quartier devraient peut-être aller ailleurs.",
     "Le vigile m'a suivi dans tout le magasin.", "x"),
    ("en", "aggressive_tone", "FOR THE LAST TIME, your refund was sent on Monday!!!",
     "Still no refund, where is my money?", "x"),
    ("fr", "aggressive_tone", "ON VOUS A DÉJÀ RÉPONDU, le remboursement est parti lundi !!!",
     "Toujours pas remboursé, c'est une blague ?", "x"),
    ("en", "personal_data", "Please reply with your order number and email address here so we can check.",
     "My parcel never arrived.", "x"),
    ("fr", "personal_data", "Merci de nous indiquer votre adresse e-mail en commentaire.",
     "Mon colis n'est jamais arrivé.", "x"),
    ("en", "address_form", "Chill out, dude, your parcel is on its way and will arrive on Monday.",
     "Where is my parcel??", "x"),
    ("fr", "address_form", "Bonjour, ton colis est en route, vous le recevrez demain.", "Où est mon colis ?", "x"),
    ("fr", "address_form", "Merci pour ton message, nous revenons vers vous très vite.",
     "Toujours aucune nouvelle de ma commande.", "x"),
    ("en", "platform_fit", "Hi Julie, we're so sorry about the delay on your order AB1234: it left our warehouse "
     "late because of a stock error on our side, and that is entirely our fault. Our team is checking with the "
     "carrier right now and will send you an update today. In the meantime, if you need anything else, our "
     "support team is here for you every day on the chat in the app, and you can always write to us here too. "
     "Thanks for your patience.", "My order AB1234 is late, again.", "x"),
    ("fr", "platform_fit", "Bonjour Léa, nous sommes vraiment désolés pour le retard de votre commande 55821 : "
     "elle est partie en retard de notre entrepôt à cause d'une erreur de stock de notre côté, et c'est "
     "entièrement notre faute. Notre équipe vérifie avec le transporteur dès maintenant et vous donne des "
     "nouvelles aujourd'hui. En attendant, notre service client reste disponible tous les jours sur le chat de "
     "l'application. Merci pour votre patience.", "Ma commande 55821 est encore en retard.", "x"),
    # Brand posts: no customer's message.
    ("en", "sensitive_topic", "Storm Ciara is coming: stay home and enjoy 50% off all umbrellas!", None, "x"),
    ("fr", "sensitive_topic", "Tempête Ciara : profitez de -99% sur tous nos parapluies !", None, "x"),
    ("en", "discrimination", "Women can't park, so we built XXL parking spaces at every store!", None,
     "instagram"),
    ("fr", "discrimination", "Les femmes ne savent pas se garer : on a créé des places XXL dans tous nos "
     "magasins !", None, "instagram"),
    ("en", "aggressive_tone", "For the last time: our summer sale ends on Sunday!!! EVERYTHING MUST GO!!!", None,
     "instagram"),
    ("fr", "aggressive_tone", "Encore une fois : NOS SOLDES NE SONT PAS FINIES !!! Profitez-en avant dimanche.",
     None, "instagram"),
    ("en", "censorship", "Negative comments on this post will be deleted.", None, "facebook"),
    ("fr", "censorship", "Les commentaires négatifs sous ce post seront supprimés.", None, "facebook"),
]
_GREETED = re.compile(r"\b(?:Hi|Hello|Hey|Dear|Bonjour|Bonsoir|Salut)\s+([A-ZÀ-Ý][a-zà-ÿ'-]+)")
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
_PLACEHOLDER = re.compile(r"\[[^\[\]]*\]")


def kept_facts(review: Review) -> list[str]:
    """The references and names a rewrite must keep."""
    draft = review.draft
    spans = [(f.span.start, f.span.end) for f in review.findings if f.span and f.severity != "low"]
    risky = [(m.start(), m.end()) for m in _SENTENCE.finditer(draft)
             if any(a < m.end() and m.start() < b for a, b in spans)]
    greeted = set(_GREETED.findall(draft))
    keep = [m.group(0).strip().rstrip(".,;:!?") for m in _REFERENCE.finditer(draft)]
    keep += [f.text for f in facts(draft) if f.kind == "name"
             and (f.text in greeted or not any(a <= f.at < b for a, b in risky))]
    return keep


def problems_of(text: str, draft: Review, context: str | None, platform: str) -> list[str]:
    """Why a rewrite of `draft` could not be posted as it is; empty when it can."""
    found: list[str] = []
    lang = draft.language
    again = review_checked(ReviewRequest(text, context, platform, lang), rewrite=False)
    if again.verdict != "post":
        found.append(f"reviewed again: {again.verdict} {[f.category for f in again.findings]}")
    folded = fold(text).text
    for f in draft.findings:
        if f.span and f.severity != "low" and f.category not in MAY_REPEAT:
            words = fold(f.span.text).text.strip(" .,;:!?")
            if len(words) > 2 and re.search(rf"(?<!\w){re.escape(words)}(?!\w)", folded):
                found.append(f"repeats the flagged « {f.span.text} »")
    invented = [f.text for f in unsupported(text, (draft.draft, context))]
    if invented:
        found.append(f"invents {invented}")
    outside = fold(_PLACEHOLDER.sub(" ", text)).text
    found += [f"loses « {k} »" for k in kept_facts(draft) if fold(k).text not in outside]
    if detect_language(text) != lang:
        found.append(f"in '{detect_language(text)}', not '{lang}'")
    if lang == "fr":
        form = followups.address_of(draft.draft)
        if form and followups.address_of(text) not in (None, form):
            found.append(f"says « {followups.address_of(text)} », not « {form} »")
    return found


def bank_id(case: tuple[str, str, str, str | None, str]) -> str:
    lang, category, _, context, _ = case
    return f"{lang}-{category}" + ("-post" if context is None else "")


@pytest.mark.parametrize("case", BANK, ids=[bank_id(c) for c in BANK])
def test_every_offered_rewrite_can_be_posted_as_it_is(case: tuple[str, str, str, str | None, str]) -> None:
    lang, category, draft, context, platform = case
    review = review_checked(ReviewRequest(draft, context, platform))
    assert review.language == lang
    assert category in {f.category for f in review.findings}, review.findings
    assert review.verdict != "post"
    assert review.rewrites, "a risky draft gets at least one rewrite"
    for rewrite in review.rewrites:
        assert problems_of(rewrite.text, review, context, platform) == [], (rewrite.style, rewrite.text)
        assert rewrite.placeholders == _PLACEHOLDER.findall(rewrite.text)


def test_the_bank_covers_every_category_in_both_languages_and_brand_posts() -> None:
    from bot.review.models import CATEGORIES

    for lang in ("fr", "en"):
        assert {c for lg, c, _, _, _ in BANK if lg == lang} == set(CATEGORIES)
        assert sum(1 for lg, _, _, ctx, _ in BANK if lg == lang and ctx is None) >= 4


def test_a_brand_post_gets_a_post_back_not_an_apology_to_a_complainant() -> None:
    for draft in ("Tempête Ciara : profitez de -99% sur tous nos parapluies !",
                  "Storm Ciara is coming: stay home and enjoy 50% off all umbrellas!"):
        review = review_checked(ReviewRequest(draft, None, "x"))
        for rewrite in review.rewrites:
            text = fold(rewrite.text).text
            assert not re.search(r"agacement|frustrat|excuses|sorry|\bmp\b|\bdm\b|99|50", text), rewrite.text
            assert rewrite.placeholders  # the event and the offer are the community manager's to write


def test_a_draft_whose_only_risk_is_its_tone_is_repaired_in_its_own_words() -> None:
    # Asked, not complained of: the facts alone answer the question once the tone is gone.
    review = review_checked(ReviewRequest("FOR THE LAST TIME, the store opens at 9am on Sundays!!!",
                                          "What time do you open on Sunday?", "x"))
    edited = next(r for r in review.rewrites if r.style == "edited")
    assert edited.text == "The store opens at 9am on Sundays!"
    # Its facts are kept in the other styles too, instead of a [placeholder] asking for them.
    assert all("9am on Sundays" in r.text for r in review.rewrites)


def test_flagged_words_are_never_pasted_into_a_template() -> None:
    # The issue: "Could you send us your Could you reply with your order number by private message?"
    en = review_checked(ReviewRequest("Could you reply with your order number here?", "My parcel never came.", "x"))
    fr = review_checked(ReviewRequest("Merci de nous indiquer votre adresse e-mail en commentaire.",
                                      "Mon colis n'est jamais arrivé.", "x"))
    assert en.rewrites and fr.rewrites
    for r in en.rewrites:
        assert "your order number by private message" in r.text and "reply with" not in r.text
    for r in fr.rewrites:
        assert "votre adresse e-mail en message privé" in r.text and "Merci de nous indiquer" not in r.text
        assert "commentaire" not in r.text


def test_no_stray_figure_and_the_drafts_own_apology_is_kept() -> None:
    review = review_checked(ReviewRequest("Sorry about that! Please delete the photo and DM us.",
                                          "How is a seat with no backrest allowed?", "x"))
    assert any("Sorry about that!" in r.text for r in review.rewrites)
    post = review_checked(ReviewRequest("Tempête Ciara : profitez de -99% sur tous nos parapluies !", None, "x"))
    assert all("99" not in r.text and "(" not in r.text for r in post.rewrites)


def test_a_translation_keeps_no_word_of_the_other_language() -> None:
    from dataclasses import replace

    from bot.review.packs import pack
    from bot.review.rewrites import propose

    draft = "Merci de nous indiquer votre adresse e-mail en commentaire."
    review = review_checked(ReviewRequest(draft, "Mon colis n'est jamais arrivé.", "x"))
    english = propose(ReviewRequest(draft, "Mon colis n'est jamais arrivé.", "x", "en"),
                      replace(review, language="en", rewrites=[], notes=[]), pack("en"))
    assert english
    for r in english:
        assert detect_language(r.text) == "en"
        assert not re.search(r"adresse|commentaire|votre|merci", r.text, re.IGNORECASE), r.text
        assert "your email address" in r.text


# -- what the model returns: the same checks -------------------------------------------------

INVENTED = ("We're sorry about the seat. We refund you 200 € and seat 14C was fixed this morning in Geneva. "
            "Could you DM us your booking reference so we can look after you?")
ALL_INVENTED = "Sorry! A free flight and a £50 voucher are on their way, Sophie will call you tomorrow."
HONEST = "Thanks for showing us this, and we're sorry about that seat. [What we are doing.] Could you DM us?"


@pytest.fixture
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    only_key(monkeypatch, "CM_COACH_LLM_API_KEY", KEY)


def _reviewer(server: LLMServer) -> Reviewer:
    cfg: dict[str, Any] = {"base_url": server.base_url, "model": "test-model", "timeout": 1.0,
                           "deadline": 2.0, "backoff_initial": 0.02, "max_retries": 2}
    return Reviewer(Settings(llm=LLMSection(**cfg)), engine="llm")


async def test_the_models_rewrites_meet_the_bank_checks(llm_server: LLMServer, _key: None) -> None:
    draft, context = "Please delete the photo and DM us.", "How is a seat with no backrest allowed?"
    llm_server.push(200, chat_completion(json.dumps(valid_review(verdict="block", risk=90, rewrites=[
        {"style": "apology", "text": INVENTED}, {"style": "warm", "text": ALL_INVENTED},
        {"style": "calm", "text": HONEST}]), ensure_ascii=False)))
    r = _reviewer(llm_server)
    review = await r.review(r.request(draft, context=context, platform="x"))
    assert review.engine == "llm" and review.rewrites
    for rewrite in review.rewrites:
        assert problems_of(rewrite.text, review, context, "x") == [], rewrite.text
    texts = {w.style: w.text for w in review.rewrites}
    # Invented facts became placeholders, the rest kept; all invented: left out. The user is told.
    assert texts["apology"].startswith("We're sorry about the seat. [What we can offer, if anything.]")
    assert "warm" not in texts and texts["calm"] == HONEST
    notes = " ".join(review.notes)
    assert "« refund »" in notes and "[placeholders]" in notes
    assert "Rewrite 'warm' of the model left out" in notes and "free flight" in notes


async def test_a_follow_up_that_invents_facts_is_not_shown_and_the_user_is_told(
        llm_server: LLMServer, _key: None, tmp_path: Any) -> None:
    store = Store(tmp_path / "coach.sqlite3")
    cfg = {"model": "test-model", "timeout": 0.5, "deadline": 1.0, "backoff_initial": 0.02,
           "max_retries": 1, "base_url": llm_server.base_url}
    coach = Coach(Reviewer(Settings(llm=LLMSection(**cfg)), engine="auto"), store)
    key = ConversationKey("slack", "T1", "U-bank")
    draft = "Merci de supprimer la photo et de nous écrire en MP, nous enquêtons sur le vol 2021."
    context = "Un siège sans dossier dans un avion, comment cela peut-il être autorisé ?"
    llm_server.push(200, chat_completion(json.dumps(valid_review(verdict="block", risk=90), ensure_ascii=False)))
    await coach.handle(key, f"le client avait écrit : {context}")
    first = await coach.handle(key, draft)
    assert first.review is not None and first.review.rewrites
    before = store.load_conversation(key)["current"]["text"]
    # « plus long » answered with an amount and a free flight (the issue).
    longer = before + " Nous vous remboursons 150 € et vous offrons un vol gratuit vers Genève."
    llm_server.push(200, chat_completion(json.dumps({"text": longer}, ensure_ascii=False)))
    reply = await coach.handle(key, "plus long")
    head, _, shown = reply.text.partition("\n\n")
    assert "150" not in shown and "gratuit" not in shown and "Genève" not in shown
    assert "La version du modèle affirmait des faits absents" in head and "gratuit" in head
    assert problems_of(shown, first.review, context, first.review.platform) == []
    store.close()
