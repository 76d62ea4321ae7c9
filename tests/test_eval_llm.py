"""`cm-coach eval --engine llm`: a model measured on the whole corpus, against the local server.

The server answers every review `post`, with no finding: the floor must keep
every case the offline engine flags at least as severe, and the report must
carry the totals a team needs to choose a model.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from llm_server import LLMServer, Reply, chat_completion, llm_server, only_key, valid_review

from bot.cli import main
from bot.config import LLMSection, Settings
from bot.review.evaluation import default_files, evaluate_files, progress_bar, read_corpora
from bot.review.models import VERDICT_ORDER

__all__ = ["llm_server"]  # the fixture, imported for pytest

KEY = "sk-test-eval-2222"
POST = chat_completion(json.dumps(valid_review(verdict="post", risk=0)), prompt_tokens=1500,
                       completion_tokens=200, cached_tokens=1024)


@pytest.fixture(autouse=True)
def _llm_env(monkeypatch: pytest.MonkeyPatch) -> None:
    only_key(monkeypatch, "CM_COACH_LLM_API_KEY", KEY)


def config(tmp_path: Path, server: LLMServer, **extra: Any) -> Path:
    path = tmp_path / "cm-coach.toml"
    lines = ["[llm]", f'base_url = "{server.base_url}"', 'model = "test-model"', "timeout = 5.0",
             "deadline = 10.0", "max_concurrency = 8",
             'prices = { "test-model" = { prompt = 0.15, cached = 0.075, completion = 0.60 } }']
    lines += [f"{k} = {json.dumps(v)}" for k, v in extra.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_eval_llm_on_the_whole_corpus_prints_the_totals(llm_server: LLMServer, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    llm_server.fallback = Reply(200, POST)
    cases = read_corpora(default_files())
    code = main(["eval", "--engine", "llm", "--config", str(config(tmp_path, llm_server)),
                 "--format", "json", "--concurrency", "8"])
    out, err = capsys.readouterr()
    assert code == 0, err
    report = json.loads(out)
    llm = report["llm"]
    n = len(cases)
    assert report["cases"] == n and report["engines"] == {"llm": n}  # every answer used
    assert len(llm_server.chat_requests) == n
    assert llm["reviews"] == n and llm["fallbacks"] == 0 and llm["concurrency"] == 8
    assert llm["tokens"] == {"prompt_tokens": 1500 * n, "cached_tokens": 1024 * n,
                             "completion_tokens": 200 * n, "total_tokens": 1700 * n}
    expected = ((1500 - 1024) * 0.15 + 1024 * 0.075 + 200 * 0.60) * n / 1e6
    assert llm["cost_usd"] == pytest.approx(expected, abs=1e-6)
    assert 0 < llm["latency_p50"] <= llm["latency_p95"]
    assert f"{n}/{n} reviews" in err  # the progress bar
    # The floor: a model that says `post` to everything judges no case milder than offline.
    # Every case whose verdict differs from offline's is listed among the disagreements.
    assert llm["disagreement_count"] == len(llm["disagreements"])
    for d in llm["disagreements"]:
        assert VERDICT_ORDER[d["llm"]] >= VERDICT_ORDER[d["offline"]], d
        assert d["only_offline"] == [], d  # no medium or high offline finding lost


def test_eval_llm_text_report_repeat_and_disagreements(llm_server: LLMServer, tmp_path: Path) -> None:
    # Two rounds over a small corpus; the model flags a condescension the offline rules miss.
    corpus = tmp_path / "cases.jsonl"
    rows = [
        {"id": "calm", "lang": "fr", "draft": "Merci pour votre message, nous regardons.", "verdict": "post"},
        {"id": "smug", "lang": "en", "draft": "Yes! Took you a while to ask 😄",
         "context": "Do you ship to Belgium?", "verdict": "revise", "accept": ["revise", "block"]},
    ]
    corpus.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    flagged = chat_completion(json.dumps(valid_review(verdict="revise", risk=50, findings=[
        {"quote": "Took you a while to ask", "category": "condescension", "severity": "medium",
         "why": "patronising", "case": None}])))
    llm_server.fallback = Reply(200, POST)
    settings = Settings(llm=LLMSection(base_url=llm_server.base_url, model="test-model",
                                       timeout=5.0, deadline=10.0))
    seen: list[tuple[int, int]] = []
    for _ in range(2):
        llm_server.push(200, chat_completion(json.dumps(valid_review())))
        llm_server.push(200, flagged)
    report = evaluate_files([corpus], settings, engine="llm", concurrency=1, repeat=2,
                            progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (4, 4) and len(llm_server.chat_requests) == 4  # no cache between rounds
    llm = report["llm"]
    assert llm["repeat"]["rounds"] == 2 and llm["repeat"]["unstable"] == []
    assert llm["cost_usd"] is None  # no price for this model
    [d] = llm["disagreements"]
    assert d["id"] == "smug" and "condescension" in d["only_llm"]

    from bot.review.evaluation import format_report

    text = format_report(report)
    assert "LLM test-model: 4 reviews, 1 at a time; fallbacks to offline: 0" in text
    assert "cost n/a (no price for test-model in [llm] prices)" in text
    assert "latency per review: p50" in text and "repeat 2:" in text
    assert "  smug (cases.jsonl): offline" in text and "only llm condescension" in text


def test_the_progress_bar_prints_a_line_a_tenth_off_a_terminal() -> None:
    out = io.StringIO()
    show = progress_bar(out, width=10)
    for done in range(1, 101):
        show(done, 100)
    lines = out.getvalue().splitlines()
    assert len(lines) == 11 and lines[-1] == "[##########] 100/100 reviews"
