"""The floors on the project's labelled corpus (corpus/*.jsonl, a copy of the shared one).

Figures on the whole corpus guard against regressions; the held-back third is
scored here too, but its cases are never listed, so that nobody tunes on them.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from bot.config import Settings
from bot.review.evaluation import (
    CORPUS_DIR,
    UNSEEN_FILES,
    default_files,
    evaluate_files,
    format_report,
    held_back,
    read_corpora,
    written_files,
)


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return evaluate_files(default_files(), Settings(), engine="offline")


@pytest.fixture(scope="module")
def dev() -> dict[str, Any]:
    return evaluate_files([CORPUS_DIR / "dev.jsonl"], Settings(), engine="offline")


def test_every_case_was_reviewed_offline(report: dict[str, Any]) -> None:
    lines = sum(1 for path in default_files()
                for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    assert report["cases"] == lines == 351
    assert report["engines"] == {"offline": lines}


def test_no_seed_case_is_wrong(report: dict[str, Any]) -> None:
    seeds = [d for d in report["details"] if d["id"].startswith("seed")]
    assert len(seeds) >= 4
    wrong = [d["id"] for d in seeds if not d["acceptable"] or d["missed"] or d["false_alarms"]]
    assert wrong == [], format_report(report)


def test_no_dev_case_judged_post_when_risky(dev: dict[str, Any]) -> None:
    assert dev["risky_judged_post"] == [], format_report(dev)
    assert dev["verdict_accuracy"] >= 0.90, format_report(dev)


def test_held_back_third_is_fixed_by_a_hash_of_the_id() -> None:
    held = read_corpora(default_files(), split="held-back")
    tuning = read_corpora(default_files(), split="tuning")
    assert len(held) + len(tuning) == 351
    assert all(c.source in UNSEEN_FILES for c in held)
    assert {c.source for c in tuning} >= {"dev.jsonl", *UNSEEN_FILES}
    unseen = sum(1 for name in UNSEEN_FILES for line in (CORPUS_DIR / name).open(encoding="utf-8") if line.strip())
    assert 0.28 < len(held) / unseen < 0.38  # about a third
    for case in held:
        digest = int(hashlib.sha256(case.id.encode()).hexdigest(), 16)
        assert digest % 3 == 0 and held_back(case.id)


def test_corpus_copy_is_in_step_with_the_shared_one() -> None:
    shared = CORPUS_DIR.parents[1] / "shared" / "corpus"
    if not shared.is_dir():
        pytest.skip("no shared folder beside the checkout")
    for path in default_files():
        ours = [json.loads(line)["id"] for line in path.open(encoding="utf-8") if line.strip()]
        theirs = [json.loads(line)["id"] for line in (shared / path.name).open(encoding="utf-8") if line.strip()]
        assert ours == theirs, path.name


# Floors on all 351 cases: the aims, risky caught >= 0.90, safe blocked <= 0.05 and
# category F1 >= 0.80.
def test_risky_drafts_are_caught(report: dict[str, Any]) -> None:
    assert report["risky_caught"] >= 0.90, format_report(report, cases=False)


def test_safe_drafts_are_seldom_blocked(report: dict[str, Any]) -> None:
    assert report["safe_blocked"] <= 0.05, format_report(report, cases=False)


def test_category_f1_floor(report: dict[str, Any]) -> None:
    assert report["category_f1"] >= 0.80, format_report(report, cases=False)


def test_held_back_third_is_scored_without_listing_cases() -> None:
    held = evaluate_files(default_files(), Settings(), engine="offline", split="held-back")
    shown = format_report(held, cases=False)
    assert "risky caught" in shown and "mismatches" not in shown
    assert not any(d["id"] in shown for d in held["details"])
    # The aims, on cases never read one by one (the figures are in the README).
    assert held["risky_caught"] >= 0.90 and held["safe_blocked"] <= 0.05 and held["category_f1"] >= 0.75, shown


def test_written_drafts_hold_back_a_third_the_same_way() -> None:
    files = written_files()
    assert len(files) >= 4
    held = read_corpora(files, split="held-back")
    tuning = read_corpora(files, split="tuning")
    assert len(held) + len(tuning) == len(read_corpora(files))
    assert 0.28 < len(held) / (len(held) + len(tuning)) < 0.40
    assert all(held_back(c.id) for c in held) and not any(held_back(c.id) for c in tuning)
    # Both languages, about as many drafts in each, and safe replies beside the risky
    # ones in every file.
    every = read_corpora(files)
    french = sum(c.lang == "fr" for c in every) / len(every)
    assert 0.40 < french < 0.65
    for path in files:
        cases = read_corpora([path])
        assert 0.25 < sum(c.safe for c in cases) / len(cases) < 0.80, path.name


def test_written_drafts_held_back_floors() -> None:
    held = evaluate_files(written_files(), Settings(), engine="offline", split="held-back")
    shown = format_report(held, cases=False)
    assert not any(d["id"] in shown for d in held["details"])
    # Regression floors on drafts neither the rules nor the model were tuned on.
    assert held["risky_caught"] >= 0.89 and held["safe_blocked"] <= 0.05, shown
    assert held["category_f1"] >= 0.70, shown
