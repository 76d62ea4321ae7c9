"""Bounds, personal data and provider settings of the LLM path, seen on the wire.

The real openai client against the scripted local server (tests/llm_server.py).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from llm_server import LLMServer, chat_completion, llm_server, only_key, valid_review

from bot.config import LLMSection, Settings
from bot.review.llm.prompts import clip
from bot.review.models import Review
from bot.review.reviewer import Reviewer

__all__ = ["llm_server"]  # the fixture, imported for pytest

KEY = "sk-test-bounds-1111"
DRAFT = "Merci pour votre message, nous regardons votre dossier."


@pytest.fixture(autouse=True)
def _llm_env(monkeypatch: pytest.MonkeyPatch) -> None:
    only_key(monkeypatch, "CM_COACH_LLM_API_KEY", KEY)


def reviewer(server: LLMServer, **llm: Any) -> Reviewer:
    cfg: dict[str, Any] = {"base_url": server.base_url, "model": "test-model", "timeout": 1.0,
                           "deadline": 2.0, "backoff_initial": 0.02, "max_retries": 2}
    cfg.update(llm)
    return Reviewer(Settings(llm=LLMSection(**cfg)), engine="llm")


async def review(r: Reviewer, draft: str = DRAFT, context: str | None = None) -> Review:
    return await r.review(r.request(draft, context=context, platform="generic"))


def answer(**fields: Any) -> dict[str, Any]:
    return chat_completion(json.dumps(valid_review(**fields), ensure_ascii=False))


def tagged(server: LLMServer, tag: str, call: int = 0) -> Any:
    user = server.chat_requests[call].json["messages"][1]["content"]
    found = re.search(rf"<{tag}>(.*?)</{tag}>", user, re.S)
    assert found is not None
    return json.loads(found.group(1))


# -- 4. bounds ------------------------------------------------------------------------


def test_clip_keeps_both_ends() -> None:
    text = "START " + "milieu " * 1000 + " END?"
    cut = clip(text, 300)
    assert cut is not None and len(cut) <= 300
    assert cut.startswith("START") and cut.endswith("END?") and " […] " in cut
    assert clip("short", 300) == "short" and clip(text, 0) == text and clip(None, 5) is None


async def test_a_huge_customer_message_and_a_long_draft_are_capped(llm_server: LLMServer) -> None:
    context = "Début de la plainte. " + "bla " * 45_000 + "Je veux une réponse aujourd'hui."
    assert len(context) > 180_000
    draft = "Bonjour, merci de votre patience. " + "Nous regardons. " * 500 + "Bonne journée."
    llm_server.push(200, answer())
    got = await review(reviewer(llm_server, context_chars=1500, draft_chars=2000), draft, context)

    assert got.engine == "llm"
    [call] = llm_server.chat_requests
    sent_context, sent_draft = tagged(llm_server, "customer_message"), tagged(llm_server, "draft")
    assert len(sent_context) <= 1500 and len(sent_draft) <= 2000
    assert sent_context.startswith("Début de la plainte.") and sent_context.endswith("aujourd'hui.")
    assert sent_draft.startswith("Bonjour") and sent_draft.endswith("Bonne journée.")
    assert len(json.dumps(call.json)) < 40_000  # not 186 KB


async def test_an_answer_cut_off_at_the_token_limit_is_asked_again_shorter(llm_server: LLMServer) -> None:
    whole = json.dumps(valid_review(verdict="revise", risk=40))
    llm_server.push(200, chat_completion(whole[:120], finish_reason="length"))
    llm_server.push(200, answer(verdict="revise", risk=40))
    got = await review(reviewer(llm_server))

    assert got.engine == "llm" and got.verdict == "revise"
    repair = llm_server.chat_requests[1].json["messages"][-1]["content"]
    assert "cut off at the token limit" in repair and "shorter" in repair


async def test_an_answer_cut_off_twice_names_the_setting(llm_server: LLMServer) -> None:
    cut = chat_completion('{"findings": [', finish_reason="length")
    llm_server.push(200, cut)
    llm_server.push(200, cut)
    got = await review(reviewer(llm_server))
    assert got.engine == "offline" and len(llm_server.chat_requests) == 2
    assert any("cut off at the token limit twice" in n and "max_tokens" in n for n in got.notes)


@pytest.mark.parametrize("stream", [True, False])
async def test_cached_tokens_are_recorded(llm_server: LLMServer, stream: bool) -> None:
    llm_server.push(200, chat_completion(json.dumps(valid_review()), cached_tokens=768))
    got = await review(reviewer(llm_server, stream=stream))
    assert got.usage == {"prompt_tokens": 900, "completion_tokens": 300, "total_tokens": 1200,
                         "cached_tokens": 768}
    [call] = llm_server.chat_requests
    assert call.json.get("stream", False) is stream
    if stream:
        assert call.json["stream_options"] == {"include_usage": True}


# -- 5. personal data stays home ---------------------------------------------------------

CONTEXT_PII = ("Ma commande n° 4521873 n'est jamais arrivée ! Écrivez-moi à jeanne.martin@exemple.fr "
               "ou au 06 12 34 56 78. Ma carte 4111 1111 1111 1111 a été débitée.")
DRAFT_PII = "Nous regardons la commande n° 4521873. Merci de confirmer votre e-mail jeanne.martin@exemple.fr ici."
SECRETS = ("4521873", "jeanne.martin@exemple.fr", "06 12 34 56 78", "4111 1111 1111 1111")


async def test_personal_data_is_redacted_before_the_request_and_restored_after(llm_server: LLMServer) -> None:
    llm_server.push(200, answer(
        findings=[{"quote": "confirmer votre e-mail ⟦EMAIL_1⟧", "category": "personal_data",
                   "severity": "medium", "why": "Demande l'e-mail en public.", "case": None}],
        verdict="revise", risk=45,
        rewrites=[{"style": "calm", "text": "Toutes nos excuses pour la commande n° ⟦ORDER_1⟧ : "
                                            "[ce que nous faisons]. Écrivez-nous en MP."}]))
    got = await review(reviewer(llm_server), DRAFT_PII, CONTEXT_PII)

    body = json.dumps(llm_server.chat_requests[0].json, ensure_ascii=False)
    for secret in SECRETS:
        assert secret not in body
    assert "⟦ORDER_1⟧" in tagged(llm_server, "customer_message") and "⟦EMAIL_1⟧" in tagged(llm_server, "draft")
    hints = tagged(llm_server, "offline_hints")
    assert all("jeanne.martin" not in (h["quote"] or "") for h in hints)
    # Restored in the answer: the finding points at the real words, the rewrite names the order.
    [f] = [f for f in got.findings if f.category == "personal_data" and f.rule_id == "llm"]
    assert f.span is not None and f.span.text == "confirmer votre e-mail jeanne.martin@exemple.fr"
    assert DRAFT_PII[f.span.start:f.span.end] == f.span.text
    assert [r.text for r in got.rewrites] == [
        "Toutes nos excuses pour la commande n° 4521873 : [ce que nous faisons]. Écrivez-nous en MP."]
    assert any("personal data were replaced by tokens" in n for n in got.notes)


async def test_redaction_can_be_turned_off(llm_server: LLMServer) -> None:
    llm_server.push(200, answer())
    await review(reviewer(llm_server, redact=False), DRAFT_PII, CONTEXT_PII)
    assert "jeanne.martin@exemple.fr" in tagged(llm_server, "draft")


# -- 6. providers as teams run them ------------------------------------------------------


async def test_each_provider_setting_reaches_the_request(llm_server: LLMServer) -> None:
    llm_server.push(200, answer())
    r = reviewer(llm_server, extra_headers={"X-Team": "cm-paris"},
                 extra_query={"tenant": "acme"}, extra_body={"top_k": 20, "seed": 7},
                 max_completion_tokens=6000, temperature=1.0)
    assert (await review(r)).engine == "llm"
    [call] = llm_server.chat_requests
    assert call.headers["x-team"] == "cm-paris"
    assert call.query == {"tenant": "acme"}
    assert call.json["top_k"] == 20 and call.json["seed"] == 7
    assert call.json["response_format"]["type"] == "json_schema"  # the team's body is added to
    assert call.json["max_completion_tokens"] == 6000 and "max_tokens" not in call.json
    assert call.json["temperature"] == 1.0


async def test_an_azure_deployment_url_with_api_version(llm_server: LLMServer) -> None:
    llm_server.push(200, answer())
    root = llm_server.base_url.removesuffix("/v1")
    r = reviewer(llm_server, base_url=root, model="my-gpt-deployment", api_version="2024-10-21")
    assert (await review(r)).engine == "llm"
    [call] = llm_server.chat_requests
    assert call.path == "/openai/deployments/my-gpt-deployment/chat/completions"
    assert call.query == {"api-version": "2024-10-21"}
    assert call.headers["api-key"] == KEY


async def test_a_full_deployment_url_is_used_as_it_is(llm_server: LLMServer) -> None:
    llm_server.push(200, answer())
    url = llm_server.base_url.removesuffix("/v1") + "/openai/deployments/prod-4o"
    r = reviewer(llm_server, base_url=url, model="prod-4o", api_version="2024-10-21")
    assert (await review(r)).engine == "llm"
    [call] = llm_server.chat_requests
    assert call.path == "/openai/deployments/prod-4o/chat/completions"
    assert call.query == {"api-version": "2024-10-21"}


async def test_credentials_in_the_url_never_reach_a_note(llm_server: LLMServer) -> None:
    url = llm_server.base_url
    llm_server.stop()  # nothing listens: the note names the host
    netloc = url.split("//")[1].split("/")[0]
    secret_url = url.replace(netloc, f"bob:hunter2-secret@{netloc}")
    r = Reviewer(Settings(llm=LLMSection(base_url=secret_url, timeout=0.3, deadline=0.5,
                                          backoff_initial=0.02)), engine="llm")
    got = await review(r)
    text = json.dumps(got.to_dict())
    assert got.engine == "offline" and f"cannot reach {netloc}" in text
    assert "hunter2" not in text and "bob:" not in text
