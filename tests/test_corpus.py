"""The floors on the shared labelled corpus (../shared/corpus/dev.jsonl, when present)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.review.evaluation import evaluate_file, format_report

CORPUS = Path(__file__).parents[1].parent / "shared/corpus/dev.jsonl"

pytestmark = pytest.mark.skipif(
    not CORPUS.is_file(), reason=f"no labelled corpus at {CORPUS} (the shared folder is not beside the repo)"
)


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return evaluate_file(CORPUS, Settings(), engine="offline")


def test_no_risky_case_is_judged_post(report: dict[str, Any]) -> None:
    assert report["risky_judged_post"] == [], format_report(report)


def test_verdict_accuracy_floor(report: dict[str, Any]) -> None:
    assert report["verdict_accuracy"] >= 0.90, format_report(report)


def test_category_micro_f1_floor(report: dict[str, Any]) -> None:
    assert report["micro"]["f1"] >= 0.85, format_report(report)


def test_every_case_was_reviewed_offline(report: dict[str, Any]) -> None:
    lines = sum(1 for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip())
    assert report["cases"] == lines
    assert report["engines"] == {"offline": lines}
