"""Personal data replaced by tokens before a request, and restored after."""

from __future__ import annotations

import json

import pytest

from bot.review.redact import Redactor


@pytest.mark.parametrize(("text", "value", "kind"), [
    ("Écrivez à jean.dupont@exemple.fr svp", "jean.dupont@exemple.fr", "EMAIL"),
    ("Appelez le 06 12 34 56 78.", "06 12 34 56 78", "PHONE"),
    ("Call +44 7700 900123 today", "+44 7700 900123", "PHONE"),
    ("or (555) 123-4567", "(555) 123-4567", "PHONE"),
    ("ma carte 4111 1111 1111 1111 a été débitée", "4111 1111 1111 1111", "CARD"),
    ("commande n° 4521873 jamais reçue", "4521873", "ORDER"),
    ("booking ref ABC123 please", "ABC123", "ORDER"),
    ("order #99812 is late", "99812", "ORDER"),
    ("tracking 1Z999AA10123456784", "1Z999AA10123456784", "ORDER"),
])
def test_each_kind_is_replaced_and_restored(text: str, value: str, kind: str) -> None:
    r = Redactor()
    sent = r.redact(text)
    assert sent is not None and value not in sent and f"⟦{kind}_1⟧" in sent
    assert r.restore(sent) == text


def test_what_is_not_personal_data_is_left_alone() -> None:
    text = "Vol 2021, 179 €, le 12/03/2021, 3 heures de retard, bac +7, 1 000 clients."
    r = Redactor()
    assert r.redact(text) == text and r.count == 0
    # A long number that fails the card checksum is not a card.
    assert "CARD" not in (r.redact("ref 4111 1111 1111 1112") or "")


def test_one_value_one_token_across_texts_and_escaped_tokens_restored() -> None:
    r = Redactor()
    a = r.redact("Mail: a.b@c.fr")
    b = r.redact("Encore a.b@c.fr, et x@y.com")
    assert a == "Mail: ⟦EMAIL_1⟧" and b == "Encore ⟦EMAIL_1⟧, et ⟦EMAIL_2⟧"
    assert r.count == 2
    # A server that escapes non-ASCII characters in its JSON.
    assert json.loads(r.restore(json.dumps({"t": "⟦EMAIL_2⟧"})) or "")["t"] == "x@y.com"


def test_disabled_it_changes_nothing() -> None:
    r = Redactor(enabled=False)
    assert r.redact("a.b@c.fr") == "a.b@c.fr" and r.count == 0
    assert r.redact(None) is None
