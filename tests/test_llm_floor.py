"""The LLM path keeps the offline floor, with a voice; its schema and its prompt teach.

The real openai client against the scripted local server (tests/llm_server.py):
what the user receives, and what went over the wire.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from llm_server import LLMServer, Reply, chat_completion, llm_server, only_key, valid_review

from bot.config import BrandSection, LLMSection, Settings
from bot.review.llm.schema import response_schema
from bot.review.models import CATEGORIES, VERDICT_ORDER, BrandProfile, Review, ReviewRequest
from bot.review.offline import review_offline
from bot.review.reviewer import Reviewer

__all__ = ["llm_server"]  # the fixture, imported for pytest

KEY = "sk-test-floor-0000"
ROOT = Path(__file__).resolve().parents[1]
# The drafts of the issue that a model answering `post` turned into "ready to post".
FLAGGED = [
    ("C'est pourtant compréhensible même pour les gens qui n'ont pas bac +7.",
     "Comment les pauvres pourront prendre le TGV si un aller coûte 179 € ?"),
    ("You are an idiot.", "My order never arrived"),
    ("WE ALREADY ANSWERED YOU.", "Where is my order??"),
    ("The delay was caused by the airport, not us.", "Three hours late, no info"),
    ("Merci de supprimer votre photo et de nous écrire en MP.", "Regardez ce siège cassé !"),
]
NETFLIX = ("T'es pas nécessaire dans nos abonnés.", "Les gays ne sont pas nécessaires dans vos séries.")
SHOUT = FLAGGED[2]
DELETION = FLAGGED[4]


@pytest.fixture(autouse=True)
def _llm_env(monkeypatch: pytest.MonkeyPatch) -> None:
    only_key(monkeypatch, "CM_COACH_LLM_API_KEY", KEY)


def reviewer(server: LLMServer, brand: BrandSection | None = None, **llm: Any) -> Reviewer:
    cfg: dict[str, Any] = {"base_url": server.base_url, "model": "test-model", "timeout": 1.0,
                           "deadline": 2.0, "backoff_initial": 0.02, "max_retries": 2}
    cfg.update(llm)
    return Reviewer(Settings(llm=LLMSection(**cfg), brand=brand or BrandSection()), engine="llm")


async def review(r: Reviewer, draft: str, context: str | None) -> Review:
    return await r.review(r.request(draft, context=context, platform="x"))


def answer(**fields: Any) -> dict[str, Any]:
    return chat_completion(json.dumps(valid_review(**fields), ensure_ascii=False))


def offline(draft: str, context: str | None) -> Review:
    return review_offline(ReviewRequest(draft, context=context, platform="x"), rewrite=False)


def hints_sent(server: LLMServer, call: int = 0) -> list[dict[str, Any]]:
    user = server.chat_requests[call].json["messages"][1]["content"]
    found = re.search(r"<offline_hints>(.*?)</offline_hints>", user, re.S)
    assert found is not None
    return json.loads(found.group(1))


# -- 1. the floor, with a voice ------------------------------------------------------


async def test_a_model_answering_post_never_makes_a_flagged_draft_milder(llm_server: LLMServer) -> None:
    llm_server.fallback = Reply(200, answer(verdict="post", risk=0))
    r = reviewer(llm_server)
    for draft, context in FLAGGED:
        floor = offline(draft, context)
        assert floor.verdict != "post", draft  # the fixture drafts stay meaningful
        got = await review(r, draft, context)
        assert got.engine == "llm", got.notes  # the answer was parsed and used
        assert VERDICT_ORDER[got.verdict] >= VERDICT_ORDER[floor.verdict], (draft, got.verdict)
        assert got.risk >= 30
        counted = {f.category for f in floor.findings if f.severity != "low"}
        assert counted <= {f.category for f in got.findings}, draft
        assert any("Kept from the offline rules" in n for n in got.notes)
        assert got.dismissed == []


async def test_a_dismissal_with_a_reason_is_shown_and_may_lower_the_verdict(llm_server: LLMServer) -> None:
    draft, context = NETFLIX
    floor = offline(draft, context)
    assert [(f.category, f.severity) for f in floor.findings] == [("insult", "medium")]
    why = "une voix impertinente répond à une attaque homophobe, pas à un client"
    llm_server.push(200, answer(
        verdict="post", risk=20,
        dismissals=[{"hint": "h1", "reason": "other", "why": why}],
        findings=[{"quote": "T'es pas nécessaire", "category": "insult", "severity": "low",
                   "why": "réplique cinglante", "case": "Netflix"}]))
    got = await review(reviewer(llm_server), draft, context)

    assert got.engine == "llm" and got.verdict == "post" and got.risk == 20, got.notes
    [d] = got.dismissed
    assert (d.category, d.reason, d.why) == ("insult", "other", why)
    assert d.span is not None and draft[d.span.start:d.span.end] == d.span.text
    [note] = [n for n in got.notes if n.startswith("The offline rules flagged")]
    quoted = floor.findings[0].span.text  # type: ignore[union-attr]
    assert "insult" in note and f"« {quoted} »" in note and why in note
    assert got.to_dict()["dismissed"][0]["reason"] == "other"
    assert Review.from_dict(got.to_dict()).dismissed == got.dismissed
    # The hint the model was asked about carried the id it answered with.
    assert hints_sent(llm_server) == [{"id": "h1", "category": "insult", "severity": "medium",
                                       "quote": floor.findings[0].span.text,  # type: ignore[union-attr]
                                       "dismissible": True}]


async def test_milder_only_for_the_findings_dismissed(llm_server: LLMServer) -> None:
    draft, context = SHOUT
    floor = offline(draft, context)
    assert floor.verdict == "block"
    ids = {h["category"]: h["id"] for h in [
        {"id": f"h{i + 1}", "category": f.category} for i, f in enumerate(floor.findings)]}
    llm_server.push(200, answer(verdict="post", risk=0, dismissals=[
        {"hint": ids["aggressive_tone"], "reason": "fan_banter", "why": "a running joke with a fan"}]))
    got = await review(reviewer(llm_server), draft, context)

    # The capitals were dismissed with a reason; the missing acknowledgement still stands.
    assert got.verdict == "revise"
    assert {f.category for f in got.findings} >= {"no_acknowledgement"}
    assert "aggressive_tone" not in {f.category for f in got.findings}
    assert [d.reason for d in got.dismissed] == ["fan_banter"]
    assert any("banter with a fan who is joking because a running joke with a fan" in n for n in got.notes)


@pytest.mark.parametrize("dismissal", [
    {"hint": "h1", "reason": "other", "why": "  "},  # "other" needs its reason
    {"hint": "h9", "reason": "negation", "why": "no such hint"},
])
async def test_a_dismissal_that_does_not_hold_changes_nothing(llm_server: LLMServer,
                                                              dismissal: dict[str, str]) -> None:
    draft, context = NETFLIX
    llm_server.push(200, answer(verdict="post", risk=0, dismissals=[dismissal]))
    got = await review(reviewer(llm_server), draft, context)
    assert got.verdict == "revise" and got.dismissed == []
    assert "insult" in {f.category for f in got.findings}


async def test_the_findings_trusted_most_cannot_be_dismissed(llm_server: LLMServer) -> None:
    draft, context = DELETION
    llm_server.push(200, answer(verdict="post", risk=0, dismissals=[
        {"hint": h["id"], "reason": "negation", "why": "the draft says the opposite"}
        for h in [{"id": f"h{i + 1}"} for i in range(len(offline(draft, context).findings))]]))
    got = await review(reviewer(llm_server), draft, context)

    assert got.verdict == "block"
    assert "deletion_demand" in {f.category for f in got.findings}
    assert all(d.category != "deletion_demand" for d in got.dismissed)
    assert any("deletion_demand" in n and "trusted" in n for n in got.notes)
    deletion = next(h for h in hints_sent(llm_server) if h["category"] == "deletion_demand")
    assert deletion["dismissible"] is False


# -- the fact guard on the model's rewrites ---------------------------------------------


async def test_a_rewrite_that_invents_facts_is_never_offered(llm_server: LLMServer) -> None:
    draft, context = DELETION
    invented = ("Toutes nos excuses pour ce siège : nous vous remboursons le billet et vous offrons "
                "un bon d'achat de 50 €.")
    honest = "Merci de nous l'avoir signalé, et toutes nos excuses pour ce siège. [ce que nous faisons]"
    llm_server.push(200, answer(verdict="block", risk=90, rewrites=[
        {"style": "apology", "text": invented}, {"style": "calm", "text": honest}]))
    got = await review(reviewer(llm_server), draft, context)

    assert [r.text for r in got.rewrites] == [honest]
    [note] = [n for n in got.notes if n.startswith("Rewrite 'apology'")]
    assert "neither in the draft nor in the customer's message" in note
    assert "remboursons" in note and "50" in note


async def test_when_every_rewrite_invents_the_offline_rewrites_are_offered(llm_server: LLMServer) -> None:
    draft, context = DELETION
    llm_server.push(200, answer(verdict="block", risk=90, rewrites=[
        {"style": "apology", "text": "Désolés ! Un vol gratuit vous attend, Sophie vous appelle demain."}]))
    got = await review(reviewer(llm_server), draft, context)
    assert got.rewrites and all("gratuit" not in r.text for r in got.rewrites)
    assert got.rewrites == review_offline(ReviewRequest(draft, context=context, platform="x")).rewrites


# -- 2. a schema that makes the model think first ------------------------------------


def _properties(schema: dict[str, Any], name: str) -> dict[str, Any]:
    return schema["$defs"][name]["properties"]


async def test_the_schema_asks_findings_first_with_quotes_and_descriptions(llm_server: LLMServer) -> None:
    llm_server.push(200, answer())
    await review(reviewer(llm_server), "Merci pour votre message, nous regardons.", None)
    [call] = llm_server.chat_requests
    schema = call.json["response_format"]["json_schema"]["schema"]
    assert list(schema["properties"]) == ["findings", "dismissals", "golden_rules", "verdict",
                                          "risk", "rewrites", "notes"]
    assert schema["required"] == list(schema["properties"])
    assert list(_properties(schema, "LLMFinding")) == ["quote", "category", "severity", "why", "case"]
    assert set(_properties(schema, "LLMDismissal")["reason"]["enum"]) == {
        "quoted_speech", "negation", "brand_content", "protective_request", "fan_banter", "other"}
    for where in (schema["properties"], *(d["properties"] for d in schema["$defs"].values())):
        for name, prop in where.items():
            assert prop.get("description"), name
    text = json.dumps(schema)
    assert '"start"' not in text and '"end"' not in text  # quotes, not offsets
    # The shape travels in the prompt too, even with a json_schema response format.
    system = call.json["messages"][0]["content"]
    assert '"findings": [{"quote"' in system and "never give character offsets" in system
    assert system.index('"findings"') < system.index('"verdict"')


async def test_answers_out_of_shape_step_the_json_mode_down(llm_server: LLMServer) -> None:
    # A server that ignores response_format: each first answer is out of shape.
    r = reviewer(llm_server, base_url=llm_server.base_url + "/", model="ignores-format")
    for i in range(2):
        llm_server.push(200, chat_completion(json.dumps({"verdict": "post", "risk": 0})))
        llm_server.push(200, answer())
        assert (await review(r, f"Merci, nous regardons votre dossier. {i}", None)).engine == "llm"
    llm_server.push(200, answer())
    assert (await review(r, "Merci, nous regardons.", None)).engine == "llm"
    sent = [c.json.get("response_format", {}).get("type") for c in llm_server.chat_requests]
    assert sent == ["json_schema"] * 4 + ["json_object"]


def test_older_answers_with_spans_and_messages_are_still_read() -> None:
    from bot.review.llm.schema import parse_review

    old = {"verdict": "block", "risk": 80, "golden_rules": [], "rewrites": [], "notes": [],
           "findings": [{"category": "insult", "severity": "high", "message": "rude",
                         "span": {"start": 0, "end": 3, "text": "You"}, "case": None}]}
    [f] = parse_review(json.dumps(old)).findings
    assert (f.quote, f.why) == ("You", "rude")
    assert response_schema()["properties"]["findings"]["description"]


# -- 3. a prompt that teaches ----------------------------------------------------------


def estimated_tokens(text: str) -> int:
    """As docs/llm.md estimates them: the larger of characters / 4 and GPT-style pieces."""
    pieces = re.findall(r"'s|'t|'re|'ve|'m|'ll|'d| ?\w+| ?[^\s\w]+|\s+", text)
    return max(len(text) // 4, len(pieces))


async def test_the_system_prompt_teaches_and_its_static_part_comes_first(llm_server: LLMServer) -> None:
    llm_server.fallback = Reply(200, answer())
    r = reviewer(llm_server)
    await review(r, "Merci, nous regardons.", None)
    await r.review(r.request("Merci, nous regardons.", platform="x",
                             profile=BrandProfile(name="Acmé", voice="impertinent")))
    first, second = (c.json["messages"][0]["content"] for c in llm_server.chat_requests)
    shared = len(next((i for i, (a, b) in enumerate(zip(first, second, strict=False)) if a != b),
                      min(len(first), len(second))) * "x")
    assert estimated_tokens(first[:shared]) >= 1024 and shared >= 4096
    assert "Acmé" in second[shared:] and "impertinent" in second[shared:]
    static = first[:shared]
    for category in CATEGORIES:
        assert re.search(rf"- {category} \((?:never|high|medium|low)", static), category
    for example in ("easyJet — block", "SNCF — block", "Netflix — it depends on the voice",
                    "Decathlon — post", "We would never ask you to delete your photo"):
        assert example in static
    for reason in ("quoted_speech", "negation", "brand_content", "protective_request",
                   "fan_banter", "other"):
        assert f"- {reason}:" in static


def test_the_prompt_version_was_bumped() -> None:
    version = (ROOT / "prompts" / "VERSION").read_text(encoding="utf-8").strip()
    assert version == "review-2.0"
