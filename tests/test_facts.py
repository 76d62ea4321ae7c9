"""The fact guard: a rewrite states only the facts the draft or the customer's message gave."""

from __future__ import annotations

import pytest

from bot.review.facts import describe, facts, guard, unsupported

FR_CONTEXT = "Trois heures de retard sur le vol 2021 et aucune information, c'est inadmissible."
FR_DRAFT = "Le retard vient de l'aéroport de Lyon, pas de nous. Écrivez-nous en MP."
EN_CONTEXT = "My order AB1234 arrived crushed on Monday. I want a refund."
EN_DRAFT = "Please delete the photo and DM us."


def invented(rewrite: str, *sources: str | None, allowed: tuple[str, ...] = ()) -> list[str]:
    return [f.text for f in unsupported(rewrite, sources, allowed)]


@pytest.mark.parametrize("rewrite", [
    # the draft's and the customer's facts, in other words or other forms
    "Nous sommes désolés pour ces 3 heures d'attente sur le vol 2021. [ce que nous faisons]",
    "Toutes nos excuses pour ces trois heures sans information. Nous enquêtons à Lyon.",
    "Désolés pour ce retard : [ce que nous faisons]. Pouvez-vous nous écrire en MP ?",
    # a placeholder is never a fact, whatever it holds
    "Nous vous proposons [un geste commercial de 50 €, à confirmer] le [date].",
])
def test_french_rewrites_with_known_facts_pass(rewrite: str) -> None:
    assert invented(rewrite, FR_DRAFT, FR_CONTEXT) == []


@pytest.mark.parametrize(("rewrite", "facts_"), [
    ("Nous vous remboursons le billet, désolés.", ["remboursons"]),
    ("En guise d'excuse, un geste commercial vous attend.", ["geste commercial"]),
    ("Un bon d'achat de 50 € vous attend jusqu'au 12 mars.", ["bon d'achat", "50", "12", "mars"]),
    ("Votre prochain vol sera gratuit, promis.", ["gratuit"]),
    ("Nous vous rappelons demain avec Sophie, du service client de Marseille.",
     ["demain", "Sophie", "Marseille"]),
    ("Votre dossier XK2291 est transmis.", ["XK2291"]),
    ("Un nouveau billet vous sera envoyé sous deux jours.", ["deux"]),
])
def test_french_invented_facts_are_named(rewrite: str, facts_: list[str]) -> None:
    assert sorted(invented(rewrite, FR_DRAFT, FR_CONTEXT)) == sorted(facts_)


@pytest.mark.parametrize("rewrite", [
    "We're sorry your order AB1234 arrived crushed on Monday. [what we are doing]",
    "Sorry about the crushed parcel: we'll look into a refund for order AB1234.",  # asked for
    "Thanks for showing us this. Could you DM us your order number so we can help?",
])
def test_english_rewrites_with_known_facts_pass(rewrite: str) -> None:
    assert invented(rewrite, EN_DRAFT, EN_CONTEXT) == []


@pytest.mark.parametrize(("rewrite", "facts_"), [
    ("We're sorry! Enjoy a free flight on us and a $100 voucher.", ["free flight", "100", "voucher"]),
    ("We'll send you a replacement by Friday, from our London store.",
     ["replacement", "Friday", "London"]),
    ("We guarantee it will arrive tomorrow.", ["guarantee", "tomorrow"]),
    ("You'll get 20% off your next order, code SAVE20X.", ["20", "20%", "SAVE20X"]),
])
def test_english_invented_facts_are_named(rewrite: str, facts_: list[str]) -> None:
    found = invented(rewrite, EN_DRAFT, EN_CONTEXT)
    assert all(any(f.strip().lower().startswith(x.strip().lower()) for f in found) for x in facts_), found


def test_a_refund_only_the_customer_asked_for_may_be_named_not_a_new_one() -> None:
    # The customer mentions a refund: a rewrite may speak of it; a voucher is new.
    assert invented("We're looking into your refund.", EN_DRAFT, EN_CONTEXT) == []
    assert invented("We're looking into your refund.", EN_DRAFT, None) == ["refund"]


def test_a_translation_keeps_its_facts() -> None:
    # « remboursement » and "refund" are one commitment; « trois » is 3.
    context = "Trois heures de retard, je veux un remboursement."
    assert invented("We're sorry for the 3-hour delay; we'll look at your refund.", context) == []


def test_the_brand_may_always_name_itself() -> None:
    rewrite = "Merci de nous écrire : l'équipe Acmé Voyages vous répond."
    assert invented(rewrite, FR_DRAFT) == ["Acmé", "Voyages"]
    assert invented(rewrite, FR_DRAFT, allowed=("Acmé Voyages",)) == []


def test_sentence_starts_and_greetings_are_not_names() -> None:
    assert invented("Bonjour ! Merci pour votre message. Nous regardons.", FR_DRAFT) == []
    assert invented("Hello there. Thanks for flagging it; Sorry again.", EN_DRAFT) == []


def test_numbers_are_compared_by_value() -> None:
    assert invented("Le billet de 1 000 € est à 12,50 € de plus.", "Un billet à 1000 € et 12.50 € de frais") == []


def test_facts_come_in_the_order_of_the_text_and_describe_says_why() -> None:
    found = unsupported("Un avoir de 30 € demain, et un remboursement.", ["Désolés."])
    assert [f.kind for f in found] == ["number", "date", "commitment"]
    note = describe(found)
    assert "« 30 »" in note and "« demain »" in note and "placeholder" in note
    assert [f.kind for f in facts("[50 €] rien d'autre")] == []


# -- the guard every rewrite passes ---------------------------------------------------------

LABELS = {"amount": "[amount]", "number": "[number]", "date": "[when]", "reference": "[reference]",
          "name": "[to confirm]", "commitment": "[What we can offer, if anything.]"}
SEAT_DRAFT, SEAT_CONTEXT = "Please delete the photo and DM us.", "How is a seat with no backrest allowed?"


def test_an_invented_commitment_becomes_one_placeholder_with_its_sentence() -> None:
    # The model rewrite: none of this is in the draft or the customer's message.
    text = ("We're sorry about the seat. We refund you 200 € and seat 14C was fixed this morning in Geneva. "
            "Could you DM us your booking reference?")
    guarded = guard(text, (SEAT_DRAFT, SEAT_CONTEXT), (), LABELS)
    assert guarded.text == ("We're sorry about the seat. [What we can offer, if anything.] "
                            "Could you DM us your booking reference?")
    assert {f.text for f in guarded.invented} >= {"refund", "200", "was fixed", "this morning", "Geneva"}
    assert guarded.changed and unsupported(guarded.text, (SEAT_DRAFT, SEAT_CONTEXT)) == []


def test_invented_numbers_dates_references_and_names_become_their_placeholders() -> None:
    text = "We're sorry about the seat on flight EZY2054: our agent Sophie checks it on Friday, gate 14C, for £50."
    guarded = guard(text, (SEAT_DRAFT, SEAT_CONTEXT), (), LABELS)
    assert guarded.text == ("We're sorry about the seat on flight [reference]: our agent [to confirm] checks it on "
                            "[when], gate [reference], for [amount].")


def test_a_rewrite_left_with_too_little_of_its_own_is_dropped() -> None:
    guarded = guard("Sorry! A free flight is on us.", (SEAT_DRAFT, SEAT_CONTEXT), (), LABELS)
    assert guarded.text is None and [f.key for f in guarded.invented] == ["free"]
    # Without labels (a follow-up of the model), any invented fact drops it.
    assert guard("We checked it this morning.", (SEAT_DRAFT,), ()).text is None
    assert guard("We're checking it now.", (SEAT_DRAFT,), ()).text == "We're checking it now."


def test_facts_of_a_source_stay_and_the_place_of_each_fact_is_its_place_in_the_text() -> None:
    draft = "Your refund of 45 € was sent yesterday, order AB1234."
    assert guard("Sorry: your refund of 45 € left yesterday (order AB1234).", (draft,), (), LABELS).changed is False
    found = facts("[a placeholder] then Sophie")
    assert [(f.text, f.at) for f in found] == [("Sophie", len("[a placeholder] then "))]


def test_the_scans_skipped_by_their_first_characters_would_have_found_nothing() -> None:
    """Once warm, a date or commitment pattern is not run over a text that holds none of
    its first characters: every match it finds starts with one of them."""
    from bot.review.evaluation import default_files, read_corpora
    from bot.review.facts import _SCANS
    from bot.review.facts import fold as fold_fact

    texts = [fold_fact(t) for case in read_corpora(default_files()) for t in (case.draft, case.context) if t]
    texts += [fold_fact(t) for t in ("Remboursement sous 3 jours, 20 % de réduction.", "a 15% off code today",
                                     "free of charge, repaired this morning", "d'ici la fin de la semaine")]
    matched = 0
    for _kind, key, compiled, starts in _SCANS:
        first = starts.compute()
        assert first, key  # each pattern has first characters: the scan can be skipped
        for text in texts:
            for m in compiled.finditer(text):
                matched += 1
                assert any(m.group(0).startswith(p) for p in first), (key, m.group(0))
    assert matched > 100


@pytest.mark.parametrize("text", ["Déjà remboursé", "ÇA ŒUVRE", "l’équipe ‘ok’", "Ｒｅｍｂｏｕｒｓé ①",
                                  "e\u0301te\u0301", "İstanbul", "straße", "plain ascii", ""])
def test_facts_are_compared_without_accents_or_case(text: str) -> None:
    import unicodedata

    from bot.review.facts import fold as fold_fact

    decomposed = unicodedata.normalize("NFKD", text)
    expected = "".join(c for c in decomposed if not unicodedata.combining(c))
    expected = expected.replace("’", "'").replace("‘", "'").casefold()
    assert fold_fact(text) == expected
    assert fold_fact(text) == expected  # the second time from the table of characters seen
