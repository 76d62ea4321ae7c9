"""Scores the reviewer on a labelled corpus (JSON Lines, docs/review-contract.md).

A case is matched on categories as a set, counting only findings of severity
medium or high (a low finding is a hint). The worst error, a risky case
(revise or block) judged post, is listed on its own.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.review.models import CATEGORIES, PLATFORMS, VERDICTS, Review, ReviewRequest
from bot.review.validation import DraftError

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.review.reviewer import Reviewer

COUNTED_SEVERITIES = ("medium", "high")
RISKY = ("revise", "block")


class CorpusError(Exception):
    """A corpus that cannot be read; the one-line message names the file and line."""


@dataclass(frozen=True)
class Case:
    id: str
    line: int
    draft: str
    verdict: str
    categories: frozenset[str]
    lang: str | None
    platform: str
    context: str | None


def _field(raw: dict[str, Any], key: str, where: str, kind: type | tuple[type, ...],
           required: bool = False) -> Any:
    value = raw.get(key)
    if value is None:
        if required:
            raise CorpusError(f"{where}: missing \"{key}\"")
        return None
    if not isinstance(value, kind):
        raise CorpusError(f"{where}: \"{key}\" has the wrong type ({type(value).__name__})")
    return value


def _case(raw: Any, line: int, path: Path) -> Case:
    where = f"{path}, line {line}"
    if not isinstance(raw, dict):
        raise CorpusError(f"{where}: a case must be a JSON object")
    case_id = _field(raw, "id", where, (str, int))
    draft = _field(raw, "draft", where, str, required=True)
    verdict = _field(raw, "verdict", where, str, required=True)
    if verdict not in VERDICTS:
        raise CorpusError(f"{where}: verdict {verdict!r} is not one of {', '.join(VERDICTS)}")
    categories = _field(raw, "categories", where, list) or []
    for cat in categories:
        if cat not in CATEGORIES:
            raise CorpusError(f"{where}: category {cat!r} is not in the taxonomy")
    platform = _field(raw, "platform", where, str) or "generic"
    if platform not in PLATFORMS:
        raise CorpusError(f"{where}: platform {platform!r} is not one of {', '.join(PLATFORMS)}")
    return Case(
        id=str(case_id) if case_id is not None else f"line-{line}",
        line=line,
        draft=draft,
        verdict=verdict,
        categories=frozenset(categories),
        lang=_field(raw, "lang", where, str),
        platform=platform,
        context=_field(raw, "context", where, str),
    )


def read_corpus(path: str | Path) -> list[Case]:
    """The cases of a JSONL corpus; CorpusError says which line is wrong and why."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise CorpusError(f"corpus {path} not found; check the path") from exc
    except UnicodeDecodeError as exc:
        raise CorpusError(f"corpus {path} is not UTF-8 text (byte {exc.start})") from exc
    except OSError as exc:
        raise CorpusError(f"corpus {path} cannot be read ({exc.strerror or exc})") from exc
    cases: list[Case] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CorpusError(f"{path}, line {number}: not valid JSON ({exc.msg}, column {exc.colno})") from exc
        case = _case(raw, number, path)
        if case.id in seen:
            raise CorpusError(f"{path}, line {number}: id {case.id!r} already used on line {seen[case.id]}")
        seen[case.id] = number
        cases.append(case)
    if not cases:
        raise CorpusError(f"corpus {path} has no cases; one JSON object per line is expected")
    return cases


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def _scores(tp: int, fp: int, fn: int) -> dict[str, Any]:
    return {
        "tp": tp, "fp": fp, "fn": fn, "support": tp + fn,
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
    }


def raised_categories(review: Review) -> frozenset[str]:
    """The categories a review counts for: findings of severity medium or high."""
    return frozenset(f.category for f in review.findings if f.severity in COUNTED_SEVERITIES)


def _request(reviewer: Reviewer, case: Case) -> ReviewRequest:
    return reviewer.request(case.draft, context=case.context, platform=case.platform, lang=case.lang)


def _review_all(reviewer: Reviewer, cases: list[Case], engine: str) -> list[Review]:
    def refuse(case: Case, exc: DraftError) -> CorpusError:
        return CorpusError(f"line {case.line} (id {case.id}): the draft cannot be reviewed: {exc}")

    if engine == "offline" or not reviewer.use_llm():
        reviews = []
        for case in cases:
            try:
                reviews.append(reviewer.review_sync(_request(reviewer, case)))
            except DraftError as exc:
                raise refuse(case, exc) from exc
        return reviews

    async def run() -> list[Review]:
        # One event loop for the whole corpus, so that the LLM client's connections are reused.
        out = []
        for case in cases:
            try:
                out.append(await reviewer.review(_request(reviewer, case)))
            except DraftError as exc:
                raise refuse(case, exc) from exc
        return out

    return asyncio.run(run())


def evaluate(cases: list[Case], reviews: list[Review]) -> dict[str, Any]:
    """The figures of a corpus run: per-category and micro scores, verdicts, errors."""
    counts = {c: Counter() for c in CATEGORIES}
    confusion = {e: dict.fromkeys(VERDICTS, 0) for e in VERDICTS}
    details = []
    for case, review in zip(cases, reviews, strict=True):
        raised = raised_categories(review)
        for cat in CATEGORIES:
            if cat in raised and cat in case.categories:
                counts[cat]["tp"] += 1
            elif cat in raised:
                counts[cat]["fp"] += 1
            elif cat in case.categories:
                counts[cat]["fn"] += 1
        confusion[case.verdict][review.verdict] += 1
        details.append({
            "id": case.id, "line": case.line, "lang": case.lang, "language": review.language,
            "expected_verdict": case.verdict, "verdict": review.verdict, "risk": review.risk,
            "engine": review.engine,
            "expected_categories": sorted(case.categories), "categories": sorted(raised),
            "missed": sorted(case.categories - raised), "false_alarms": sorted(raised - case.categories),
        })
    per_category = {
        cat: _scores(c["tp"], c["fp"], c["fn"]) for cat, c in counts.items()
    }
    total = Counter()
    for c in counts.values():
        total.update(c)
    right = sum(confusion[v][v] for v in VERDICTS)
    risky_post = [d["id"] for d in details if d["expected_verdict"] in RISKY and d["verdict"] == "post"]
    return {
        "cases": len(cases),
        "categories": per_category,
        "micro": _scores(total["tp"], total["fp"], total["fn"]),
        "verdict_accuracy": _ratio(right, len(cases)),
        "verdict_correct": right,
        "confusion": confusion,
        "risky_judged_post": risky_post,
        "engines": dict(Counter(r.engine for r in reviews)),
        "mismatches": [d for d in details if d["missed"] or d["false_alarms"]
                       or d["verdict"] != d["expected_verdict"]],
        "details": details,
    }


def evaluate_file(path: str | Path, settings: Settings, engine: str = "offline") -> dict[str, Any]:
    """Review every case of a corpus file and score the results."""
    from bot.review.reviewer import Reviewer

    cases = read_corpus(path)
    reviewer = Reviewer(settings, engine=engine)
    started = time.perf_counter()
    reviews = _review_all(reviewer, cases, engine)
    report = evaluate(cases, reviews)
    report["file"] = str(path)
    report["engine"] = engine
    report["seconds"] = round(time.perf_counter() - started, 3)
    return report


def _fmt(value: float | None) -> str:
    return "   n/a" if value is None else f"{value:6.2f}"


def format_report(report: dict[str, Any]) -> str:
    """The report as a table for a terminal."""
    lines = [f"{report.get('file', 'corpus')}: {report['cases']} cases, engine {report.get('engine', '?')}"
             f" ({report.get('seconds', 0):.2f} s)", ""]
    width = max(len(c) for c in report["categories"]) + 2
    head = f"{'category':<{width}}{'tp':>4}{'fp':>4}{'fn':>4}  {'precision':>9}  {'recall':>6}  {'f1':>6}"
    lines += [head, "-" * len(head)]
    for cat, s in report["categories"].items():
        if not (s["tp"] or s["fp"] or s["fn"]):
            continue  # neither labelled nor raised: nothing to say
        lines.append(f"{cat:<{width}}{s['tp']:>4}{s['fp']:>4}{s['fn']:>4}  {_fmt(s['precision']):>9}"
                     f"  {_fmt(s['recall'])}  {_fmt(s['f1'])}")
    m = report["micro"]
    lines += ["-" * len(head),
              f"{'micro':<{width}}{m['tp']:>4}{m['fp']:>4}{m['fn']:>4}  {_fmt(m['precision']):>9}"
              f"  {_fmt(m['recall'])}  {_fmt(m['f1'])}", ""]
    acc = report["verdict_accuracy"]
    lines.append(f"verdict accuracy: {_fmt(acc).strip()} ({report['verdict_correct']}/{report['cases']})")
    lines.append("verdict confusion (rows: expected, columns: judged):")
    lines.append(f"  {'':<8}" + "".join(f"{v:>8}" for v in VERDICTS))
    for expected, row in report["confusion"].items():
        lines.append(f"  {expected:<8}" + "".join(f"{row[v]:>8}" for v in VERDICTS))
    lines.append("")
    risky = report["risky_judged_post"]
    lines.append(f"risky cases judged post: {', '.join(risky) if risky else 'none'}")
    if report["mismatches"]:
        lines += ["", "mismatches:"]
        for d in report["mismatches"]:
            parts = []
            if d["verdict"] != d["expected_verdict"]:
                parts.append(f"expected {d['expected_verdict']}, judged {d['verdict']}")
            if d["missed"]:
                parts.append(f"missed {', '.join(d['missed'])}")
            if d["false_alarms"]:
                parts.append(f"false alarm {', '.join(d['false_alarms'])}")
            lines.append(f"  {d['id']} (line {d['line']}): {'; '.join(parts)}")
    return "\n".join(lines)
