"""`cm-coach doctor` against a real OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from llm_server import LLMServer, chat_completion, error_body, llm_server, only_key, valid_review

from bot.config import LLMSection, ReviewSection, Settings
from bot.doctor import run

__all__ = ["llm_server"]  # the fixture, imported for pytest

KEY = "sk-doctor-test-key-5678"


@pytest.fixture(autouse=True)
def _llm_env(monkeypatch: pytest.MonkeyPatch) -> None:
    only_key(monkeypatch, "OPENAI_API_KEY", KEY)


SHORTER = "Ce siège n'aurait jamais dû être proposé : pardon. [ce que nous faisons]. En MP ?"


def review_and_follow_up(server: LLMServer, follow_up: str = SHORTER) -> None:
    """What a working model answers to doctor's review and follow-up."""
    server.push(200, chat_completion(json.dumps(valid_review(
        verdict="block", risk=90,
        findings=[{"quote": "supprimer la photographie", "category": "deletion_demand",
                   "severity": "high", "why": "Streisand", "case": "easyJet"}]))))
    server.push(200, chat_completion(json.dumps({"text": follow_up}, ensure_ascii=False)))


def doctor(base_url: str, model: str = "test-model", engine: str = "auto") -> tuple[int, str]:
    settings = Settings(review=ReviewSection(engine=engine),
                        llm=LLMSection(base_url=base_url, model=model, timeout=0.5, deadline=1.5,
                                       backoff_initial=0.02))
    out = io.StringIO()
    code = run(argparse.Namespace(config=None), settings, out=out)
    text = out.getvalue()
    assert KEY not in text
    return code, text


def test_a_working_endpoint_lists_its_models(llm_server: LLMServer) -> None:
    llm_server.models = ["test-model", "other-model"]
    review_and_follow_up(llm_server)
    code, text = doctor(llm_server.base_url)
    assert code == 0, text
    assert "2 model(s): other-model, test-model" in text
    assert "model 'test-model' is served" in text
    assert "API key: set in OPENAI_API_KEY (not shown)" in text
    assert "prompts: version" in text and "FAIL" not in text
    call, review, follow_up = llm_server.requests
    assert call.path == "/v1/models" and call.headers["authorization"] == f"Bearer {KEY}"
    # Then a real review in JSON and a real follow-up, as the bot makes them.
    assert review.json["response_format"]["json_schema"]["name"] == "review"
    assert follow_up.json["response_format"]["json_schema"]["name"] == "followup"
    assert "[ok  ] a review in JSON (json_schema mode): verdict block, 1200 tokens (0 cached)" in text
    assert "[ok  ] a coaching follow-up ('shorter'): " in text


def test_a_review_the_model_cannot_give_is_a_failure(llm_server: LLMServer) -> None:
    llm_server.push(200, chat_completion("Sure! The draft looks fine."))
    llm_server.push(200, chat_completion("Still fine."))
    llm_server.push(200, chat_completion(json.dumps({"text": "Un vol gratuit pour vous ! [x]"})))
    code, text = doctor(llm_server.base_url)
    assert code == 1
    assert "[FAIL] a review in JSON: the model's answer was not a valid review" in text
    assert len(llm_server.chat_requests) == 2  # no follow-up after a failed review


def test_a_follow_up_the_model_gets_wrong_is_a_failure(llm_server: LLMServer) -> None:
    review_and_follow_up(llm_server, follow_up="Un vol gratuit ! [ce que nous faisons]")
    code, text = doctor(llm_server.base_url)
    assert code == 1
    assert "[FAIL] a coaching follow-up: LLM follow-up 'shorter' not used" in text and "gratuit" in text


def test_credentials_in_the_url_are_never_printed(llm_server: LLMServer) -> None:
    review_and_follow_up(llm_server)
    netloc = llm_server.base_url.split("//")[1].split("/")[0]
    code, text = doctor(llm_server.base_url.replace(netloc, f"ann:s3cret-pass@{netloc}"))
    assert "s3cret-pass" not in text and "ann:" not in text
    assert f"endpoint: http://***@{netloc}/v1" in text
    assert code == 0, text


def test_a_wrong_key_says_401(llm_server: LLMServer) -> None:
    llm_server.require_key = "sk-another-key"
    code, text = doctor(llm_server.base_url)
    assert code == 1
    assert "[FAIL]" in text and "refused the API key (401" in text and "OPENAI_API_KEY" in text


def test_an_unknown_model_is_named_with_what_the_endpoint_serves(llm_server: LLMServer) -> None:
    llm_server.models = ["llama3.1:8b"]
    llm_server.push(404, error_body("The model `gpt-5-nano` does not exist", code="model_not_found"))
    code, text = doctor(llm_server.base_url, model="gpt-5-nano")
    assert code == 1
    assert "unknown model 'gpt-5-nano'; this endpoint serves: llama3.1:8b" in text
    assert llm_server.chat_requests[0].json["model"] == "gpt-5-nano"


def test_an_unlisted_model_that_answers_passes(llm_server: LLMServer) -> None:
    # Azure deployments have names of their own, absent from /models.
    llm_server.push(200, chat_completion("p"))
    review_and_follow_up(llm_server)
    code, text = doctor(llm_server.base_url, model="my-deployment")
    assert code == 0, text
    assert "model 'my-deployment' answers" in text


def test_an_unreachable_host_is_named() -> None:
    with LLMServer() as server:
        url = server.base_url
    host = url.split("//")[1].split("/")[0]
    code, text = doctor(url)
    assert code == 1
    assert f"cannot reach {host}" in text and "base_url" in text


def test_no_endpoint_is_fine_for_auto_and_a_failure_for_llm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    code, text = doctor("")
    assert code == 0 and "offline engine" in text
    code, text = doctor("", engine="llm")
    assert code == 1 and "no endpoint is configured" in text


def test_cm_coach_doctor_command(llm_server: LLMServer, tmp_path: Path) -> None:
    config = tmp_path / "cm-coach.toml"
    config.write_text('[llm]\nmodel = "test-model"\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CM_COACH_"))}
    env.update({"CM_COACH_LLM_BASE_URL": llm_server.base_url, "CM_COACH_LLM_API_KEY": KEY})
    review_and_follow_up(llm_server)
    done = subprocess.run([sys.executable, "-m", "bot.cli", "doctor", "--config", str(config)],
                          capture_output=True, text=True, timeout=30, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "model 'test-model' is served" in done.stdout
    assert KEY not in done.stdout + done.stderr
