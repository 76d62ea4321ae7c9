"""Scores the reviewer on labelled corpora (JSON Lines, docs/review-contract.md).

A case is matched on categories as a set, counting only findings of severity
medium or high (a low finding is a hint). `accept` lists every verdict an
expert would accept and `allowed` the categories that are neither required nor
false alarms. The two errors that matter most are reported on their own: a
risky case (one whose `accept` lacks `post`) judged post, and a safe case
(verdict `post`) judged block.

The project's corpus (`corpus/` at the root of a checkout) holds back a fixed
third of the cases written apart from the rule packs, chosen by a hash of their
id (`held_back`): `eval --held-back` scores only those, `eval --tuning` the rest.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bot.review.models import PLATFORMS, Review, ReviewRequest
from bot.review.taxonomy import CATEGORIES, VERDICTS
from bot.review.validation import DraftError

if TYPE_CHECKING:
    from bot.review.options import ReviewSettings
    from bot.review.reviewer import Reviewer

COUNTED_SEVERITIES = ("medium", "high")
# The project's own copy of the labelled corpus, beside the package in a checkout.
CORPUS_DIR = Path(__file__).resolve().parents[2] / "corpus"
# The files written apart from the rule packs; a third of their cases is held back.
UNSEEN_FILES = ("service.jsonl", "brand.jsonl", "pairs.jsonl")
# Drafts the team wrote per behaviour (what a draft does, in both languages) to train the
# learned layer; a third of them is held back the same way, so the layer is checked on
# drafts it never trained on.
WRITTEN_DIR = CORPUS_DIR / "written"
SPLITS = ("all", "tuning", "held-back")


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
    accept: frozenset[str]
    allowed: frozenset[str] = frozenset()
    source: str = ""

    @property
    def risky(self) -> bool:
        """An expert would not post it as it is."""
        return "post" not in self.accept

    @property
    def safe(self) -> bool:
        return self.verdict == "post"


def held_back(case_id: str) -> bool:
    """Whether a case of the unseen files belongs to the held-back third: a hash of its
    id, so that the split never changes and nobody picks it."""
    return int(hashlib.sha256(case_id.encode("utf-8")).hexdigest(), 16) % 3 == 0


def written_files() -> list[Path]:
    """The team's drafts written per behaviour (not in the default files: the corpus's
    figures stay comparable)."""
    return sorted(WRITTEN_DIR.glob("*.jsonl"))


def default_files() -> list[Path]:
    """Every file of the project's corpus, development cases first."""
    return [CORPUS_DIR / "dev.jsonl", *(CORPUS_DIR / name for name in UNSEEN_FILES)]


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


def _names(raw: dict[str, Any], key: str, where: str, known: tuple[str, ...], what: str) -> list[str]:
    names = _field(raw, key, where, list) or []
    for name in names:
        if name not in known:
            raise CorpusError(f"{where}: {key} {name!r} is not {what}")
    return names


def _case(raw: Any, line: int, path: Path) -> Case:
    where = f"{path}, line {line}"
    if not isinstance(raw, dict):
        raise CorpusError(f"{where}: a case must be a JSON object")
    case_id = _field(raw, "id", where, (str, int))
    draft = _field(raw, "draft", where, str, required=True)
    verdict = _field(raw, "verdict", where, str, required=True)
    if verdict not in VERDICTS:
        raise CorpusError(f"{where}: verdict {verdict!r} is not one of {', '.join(VERDICTS)}")
    categories = _names(raw, "categories", where, CATEGORIES, "in the taxonomy")
    allowed = _names(raw, "allowed", where, CATEGORIES, "in the taxonomy")
    accept = _names(raw, "accept", where, VERDICTS, f"one of {', '.join(VERDICTS)}") or [verdict]
    if verdict not in accept:
        raise CorpusError(f"{where}: accept {accept} lacks the case's own verdict {verdict!r}")
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
        accept=frozenset(accept),
        allowed=frozenset(allowed),
        source=path.name,
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


def read_corpora(paths: list[str | Path], split: str = "all") -> list[Case]:
    """The cases of several files, each id once; `split` keeps the held-back third of
    the unseen files, or everything but it."""
    if split not in SPLITS:
        raise CorpusError(f"split {split!r} is not one of {', '.join(SPLITS)}")
    cases: list[Case] = []
    seen: dict[str, str] = {}
    for path in paths:
        written = Path(path).parent.name == WRITTEN_DIR.name
        for case in read_corpus(path):
            if case.id in seen:
                raise CorpusError(f"{path}, line {case.line}: id {case.id!r} is also in {seen[case.id]}")
            seen[case.id] = str(path)
            unseen = written or case.source in UNSEEN_FILES
            if split == "held-back" and not (unseen and held_back(case.id)):
                continue
            if split == "tuning" and unseen and held_back(case.id):
                continue
            cases.append(case)
    if not cases:
        raise CorpusError(f"no case of the {split} split in {', '.join(map(str, paths))}")
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
    # No language given: detecting it is part of what is judged, as on the command line.
    return reviewer.request(case.draft, context=case.context, platform=case.platform)


@dataclass(frozen=True)
class Judged:
    """What the figures read of a review: all a worker process sends back."""

    verdict: str
    risk: int
    language: str
    engine: str
    categories: frozenset[str]

    @classmethod
    def of(cls, review: Review | Judged) -> Judged:
        if isinstance(review, Judged):
            return review
        return cls(review.verdict, review.risk, review.language, review.engine, raised_categories(review))


def _refused(case: Case, reason: str) -> CorpusError:
    return CorpusError(f"{case.source} line {case.line} (id {case.id}): the draft cannot be reviewed: {reason}")


def _judge_offline(reviewer: Reviewer, cases: list[Case]) -> list[Judged | str]:
    """Each case judged, or why its draft cannot be (a DraftError's message)."""
    out: list[Judged | str] = []
    for case in cases:
        try:
            # Scored on verdicts and categories only: building rewrites would be wasted time.
            out.append(Judged.of(reviewer.review_sync(_request(reviewer, case), rewrite=False)))
        except DraftError as exc:
            out.append(str(exc))
    return out


# A worker process's reviewer, set once by the pool's initializer.
_worker: Reviewer | None = None


def _start_worker(settings: ReviewSettings | None, reviewer: Reviewer | None = None) -> None:
    global _worker
    from bot.review.reviewer import Reviewer

    _worker = reviewer or Reviewer(settings, engine="offline")  # type: ignore[arg-type]


def _judge_chunk(start: int, cases: list[Case]) -> tuple[int, list[Judged | str]]:
    assert _worker is not None, "the pool's initializer sets the reviewer"
    return start, _judge_offline(_worker, cases)


def _judge_on_workers(reviewer: Reviewer, cases: list[Case], workers: int) -> list[Judged | str]:
    """The cases split over `workers` processes, in order; each sends back `Judged` only.

    Where the system can fork a process that runs no other thread, the workers start as
    copies of this one, its packs compiled and its model read: a fresh interpreter would
    spend a third of a second on that before its first review."""
    from concurrent.futures import ProcessPoolExecutor

    from bot.review.workers import CHUNKS_PER_WORKER, pool_context

    size = -(-len(cases) // (workers * CHUNKS_PER_WORKER))
    out: list[Judged | str] = []
    context, forked = pool_context(lambda: _judge_offline(reviewer, cases[:1]))
    initargs = (None, reviewer) if forked else (reviewer.settings, None)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context,
                             initializer=_start_worker, initargs=initargs) as pool:
        futures = [pool.submit(_judge_chunk, i, cases[i:i + size]) for i in range(0, len(cases), size)]
        for future in futures:
            out += future.result()[1]
    return out


def _review_all(reviewer: Reviewer, cases: list[Case], engine: str,
                jobs: int | None = None) -> list[Review] | list[Judged]:
    if engine == "offline" or not reviewer.use_llm():
        from bot.review.workers import worker_count

        workers = worker_count(len(cases), jobs)
        judged = (_judge_on_workers(reviewer, cases, workers) if workers > 1
                  else _judge_offline(reviewer, cases))
        for case, one in zip(cases, judged, strict=True):
            if isinstance(one, str):
                raise _refused(case, one)
        return judged  # type: ignore[return-value]
    import asyncio  # the LLM path only: the offline one never starts an event loop

    async def run() -> list[Review]:
        # One event loop for the whole corpus, so that the LLM client's connections are reused.
        out = []
        for case in cases:
            try:
                out.append(await reviewer.review(_request(reviewer, case)))
            except DraftError as exc:
                raise _refused(case, str(exc)) from exc
        return out

    return asyncio.run(run())


def _summary(details: list[dict[str, Any]]) -> dict[str, Any]:
    risky = [d for d in details if d["risky"]]
    safe = [d for d in details if d["expected_verdict"] == "post"]
    tp = sum(len(d["found"]) for d in details)
    fp = sum(len(d["false_alarms"]) for d in details)
    fn = sum(len(d["missed"]) for d in details)
    return {
        "cases": len(details),
        "risky": len(risky),
        "risky_caught": _ratio(sum(d["verdict"] != "post" for d in risky), len(risky)),
        "safe": len(safe),
        "safe_blocked": _ratio(sum(d["verdict"] == "block" for d in safe), len(safe)),
        "safe_posted": _ratio(sum(d["verdict"] == "post" for d in safe), len(safe)),
        "verdict_acceptable": _ratio(sum(d["acceptable"] for d in details), len(details)),
        "category_f1": _ratio(2 * tp, 2 * tp + fp + fn),
    }


def evaluate(cases: list[Case], reviews: Sequence[Review | Judged]) -> dict[str, Any]:
    """The figures of a corpus run: the two worst errors, per-category and micro
    scores, verdicts, and the same summary per file."""
    counts = {c: Counter() for c in CATEGORIES}
    confusion = {e: dict.fromkeys(VERDICTS, 0) for e in VERDICTS}
    details = []
    reviews = [Judged.of(r) for r in reviews]
    for case, review in zip(cases, reviews, strict=True):
        raised = review.categories
        found = raised & case.categories
        false_alarms = raised - case.categories - case.allowed
        missed = case.categories - raised
        for cat in found:
            counts[cat]["tp"] += 1
        for cat in false_alarms:
            counts[cat]["fp"] += 1
        for cat in missed:
            counts[cat]["fn"] += 1
        confusion[case.verdict][review.verdict] += 1
        details.append({
            "id": case.id, "file": case.source, "line": case.line, "lang": case.lang,
            "language": review.language, "expected_verdict": case.verdict,
            "accept": sorted(case.accept, key=VERDICTS.index), "verdict": review.verdict,
            "acceptable": review.verdict in case.accept, "risky": case.risky,
            "risk": review.risk, "engine": review.engine,
            "expected_categories": sorted(case.categories), "categories": sorted(raised),
            "found": sorted(found), "missed": sorted(missed), "false_alarms": sorted(false_alarms),
        })
    per_category = {cat: _scores(c["tp"], c["fp"], c["fn"]) for cat, c in counts.items()}
    total = Counter()
    for c in counts.values():
        total.update(c)
    right = sum(confusion[v][v] for v in VERDICTS)
    files = sorted({d["file"] for d in details}, key=[d["file"] for d in details].index)
    return {
        **_summary(details),
        "risky_judged_post": [d["id"] for d in details if d["risky"] and d["verdict"] == "post"],
        "safe_judged_block": [d["id"] for d in details
                              if d["expected_verdict"] == "post" and d["verdict"] == "block"],
        "categories": per_category,
        "micro": _scores(total["tp"], total["fp"], total["fn"]),
        "verdict_accuracy": _ratio(right, len(cases)),
        "verdict_correct": right,
        "confusion": confusion,
        "per_file": {f: _summary([d for d in details if d["file"] == f]) for f in files},
        "engines": dict(Counter(r.engine for r in reviews)),
        "mismatches": [d for d in details if d["missed"] or d["false_alarms"] or not d["acceptable"]],
        "details": details,
    }


def evaluate_cases(cases: list[Case], settings: ReviewSettings, engine: str = "offline", *,
                   concurrency: int | None = None, repeat: int = 1,
                   progress: Callable[[int, int], None] | None = None,
                   jobs: int | None = None) -> dict[str, Any]:
    """Review every case and score the results.

    Offline, a big corpus is split over every CPU (`jobs`: how many processes; 1: this
    one), as `check` splits a library.

    With the LLM engine, cases are reviewed `concurrency` at a time (default:
    `[llm] max_concurrency`), `repeat` times over (without the cache), and the
    report gains `llm`: tokens, cost, latency, fallbacks, disagreements with the
    offline engine and, over several rounds, the cases whose verdict changed.
    The scores are those of the first round.
    """
    from bot.review.reviewer import Reviewer

    if repeat > 1:  # every round must ask the model again
        settings = replace(settings, llm=replace(settings.llm, cache_size=0))  # type: ignore[type-var]
    reviewer = Reviewer(settings, engine=engine)
    started = time.perf_counter()
    run: LLMRun | None = None
    if engine != "offline" and reviewer.use_llm():
        run = _review_llm(reviewer, cases, concurrency or settings.llm.max_concurrency,
                          max(1, repeat), progress)
        reviews = run.rounds[0]
    else:
        reviews = _review_all(reviewer, cases, engine, jobs)
    report = evaluate(cases, reviews)
    report["engine"] = engine
    report["seconds"] = round(time.perf_counter() - started, 3)
    if run is not None:
        report["llm"] = llm_figures(cases, run, settings)
    return report


def evaluate_files(paths: list[str | Path], settings: ReviewSettings, engine: str = "offline",
                   split: str = "all", **llm: Any) -> dict[str, Any]:
    """Review every case of several corpus files (one split of them) and score the results.

    `llm`: concurrency, repeat and progress, as `evaluate_cases` takes them.
    """
    report = evaluate_cases(read_corpora(paths, split), settings, engine, **llm)
    report["files"] = [str(p) for p in paths]
    report["split"] = split
    return report


def evaluate_file(path: str | Path, settings: ReviewSettings, engine: str = "offline") -> dict[str, Any]:
    """Review every case of one corpus file and score the results."""
    report = evaluate_files([path], settings, engine)
    report["file"] = str(path)
    return report


# -- measuring a model: `eval --engine llm` ------------------------------------------------


@dataclass
class LLMRun:
    """Every round of LLM reviews of a corpus, with each review's time."""

    rounds: list[list[Review]] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)  # seconds, every review of every round
    concurrency: int = 1


def progress_bar(stream: TextIO | None = None, width: int = 30) -> Callable[[int, int], None]:
    """A progress bar on `stream` (standard error): redrawn in place on a terminal, else
    a line every tenth of the way, so that logs stay short."""
    out = stream or sys.stderr
    live = out.isatty()
    shown = [-1]

    def show(done: int, total: int) -> None:
        tenth = done * 10 // max(total, 1)
        if not live and tenth == shown[0] and done != total:
            return
        shown[0] = tenth
        filled = width * done // max(total, 1)
        bar = f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} reviews"
        out.write(f"\r{bar}" if live else f"{bar}\n")
        if live and done == total:
            out.write("\n")
        out.flush()

    return show


def _review_llm(reviewer: Reviewer, cases: list[Case], concurrency: int, repeat: int,
                progress: Callable[[int, int], None] | None) -> LLMRun:
    import asyncio

    run = LLMRun(concurrency=max(1, concurrency))
    total = len(cases) * repeat

    async def go() -> None:
        # One event loop for the whole corpus, so that the LLM client's connections are reused.
        slots = asyncio.Semaphore(run.concurrency)
        done = 0

        async def one(case: Case) -> Review:
            nonlocal done
            async with slots:
                started = time.perf_counter()
                try:
                    review = await reviewer.review(_request(reviewer, case))
                except DraftError as exc:
                    raise CorpusError(f"{case.source} line {case.line} (id {case.id}): the draft "
                                      f"cannot be reviewed: {exc}") from exc
                run.latencies.append(time.perf_counter() - started)
            done += 1
            if progress is not None:
                progress(done, total)
            return review

        for _ in range(repeat):
            run.rounds.append(list(await asyncio.gather(*(one(c) for c in cases))))

    asyncio.run(go())
    return run


def _percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 3)


def _cost(usage: dict[str, int], prices: dict[str, float] | None) -> float | None:
    """USD from prices per million tokens; cached prompt tokens at their own price if given."""
    if not prices:
        return None
    prompt, cached = usage["prompt_tokens"], usage["cached_tokens"]
    per_prompt = prices.get("prompt", 0.0)
    cost = ((prompt - cached) * per_prompt + cached * prices.get("cached", per_prompt)
            + usage["completion_tokens"] * prices.get("completion", 0.0)) / 1_000_000
    return round(cost, 6)


def llm_figures(cases: list[Case], run: LLMRun, settings: ReviewSettings) -> dict[str, Any]:
    """Tokens, cost, latency, fallbacks, disagreements with the offline engine, variance."""
    from bot.review.offline import review_offline

    every = [r for reviews in run.rounds for r in reviews]
    usage = dict.fromkeys(("prompt_tokens", "cached_tokens", "completion_tokens", "total_tokens"), 0)
    for r in every:
        for key in usage:
            usage[key] += (r.usage or {}).get(key, 0)
    fallbacks = [r for r in every if r.engine != "llm"]
    why = Counter(next((n.split(". The offline")[0] for n in r.notes
                        if n.startswith("LLM review unavailable")), "unknown") for r in fallbacks)
    model = settings.llm.model
    disagreements = []
    for case, review in zip(cases, run.rounds[0], strict=True):
        if review.engine != "llm":
            continue
        offline = review_offline(ReviewRequest(case.draft, context=case.context, platform=case.platform,
                                               profile=settings.profile), rewrite=False)
        ours, theirs = raised_categories(offline), raised_categories(review)
        if offline.verdict != review.verdict or ours != theirs:
            disagreements.append({
                "id": case.id, "file": case.source, "accept": sorted(case.accept, key=VERDICTS.index),
                "offline": offline.verdict, "llm": review.verdict,
                "only_offline": sorted(ours - theirs), "only_llm": sorted(theirs - ours),
                "dismissed": [d.category for d in review.dismissed],
            })
    figures: dict[str, Any] = {
        "model": model,
        "reviews": len(every),
        "concurrency": run.concurrency,
        "tokens": usage,
        "cost_usd": _cost(usage, settings.llm.prices.get(model)),
        "latency_p50": _percentile(run.latencies, 0.50),
        "latency_p95": _percentile(run.latencies, 0.95),
        "fallbacks": len(fallbacks),
        "fallback_reasons": dict(why.most_common()),
        "disagreement_count": len(disagreements),
        "disagreements": disagreements,
    }
    if len(run.rounds) > 1:
        verdicts = [[r.verdict for r in reviews] for reviews in run.rounds]
        unstable = [c.id for i, c in enumerate(cases) if len({v[i] for v in verdicts}) > 1]
        figures["repeat"] = {
            "rounds": len(run.rounds),
            "verdict_acceptable": [_ratio(sum(v in c.accept for v, c in zip(vs, cases, strict=True)),
                                          len(cases)) for vs in verdicts],
            "risky_judged_post": [sum(v == "post" and c.risky for v, c in zip(vs, cases, strict=True))
                                  for vs in verdicts],
            "unstable_count": len(unstable),
            "unstable": unstable,
            "unstable_share": _ratio(len(unstable), len(cases)),
        }
    return figures


def format_llm(figures: dict[str, Any], cases: bool = True) -> list[str]:
    """The LLM figures as lines for a terminal; the disagreements only when cases are shown."""
    t = figures["tokens"]
    cost = figures["cost_usd"]
    lines = [
        f"LLM {figures['model']}: {figures['reviews']} reviews, {figures['concurrency']} at a time; "
        f"fallbacks to offline: {figures['fallbacks']}",
        f"tokens: prompt {t['prompt_tokens']:,} (cached {t['cached_tokens']:,}) · completion "
        f"{t['completion_tokens']:,} · total {t['total_tokens']:,} · cost "
        + (f"${cost:.4f}" if cost is not None else f"n/a (no price for {figures['model']} in [llm] prices)"),
        f"latency per review: p50 {_secs(figures['latency_p50'])} · p95 {_secs(figures['latency_p95'])}",
    ]
    for reason, count in figures["fallback_reasons"].items():
        lines.append(f"  fallback ×{count}: {reason}")
    if "repeat" in figures:
        rep = figures["repeat"]
        shares = " / ".join(_fmt(a).strip() for a in rep["verdict_acceptable"])
        lines.append(f"repeat {rep['rounds']}: verdict acceptable per round {shares}; risky judged "
                     f"post per round {' / '.join(map(str, rep['risky_judged_post']))}; "
                     f"{rep['unstable_count']} case(s) changed verdict ({_fmt(rep['unstable_share']).strip()})")
        if cases and rep.get("unstable"):
            lines.append(f"  changed verdict: {', '.join(rep['unstable'])}")
    lines.append(f"disagreements with the offline engine: {figures['disagreement_count']} case(s)")
    if cases:
        for d in figures.get("disagreements", []):
            parts = [f"offline {d['offline']}, llm {d['llm']} (accept {'/'.join(d['accept'])})"]
            if d["only_offline"]:
                parts.append(f"only offline {', '.join(d['only_offline'])}")
            if d["only_llm"]:
                parts.append(f"only llm {', '.join(d['only_llm'])}")
            if d["dismissed"]:
                parts.append(f"dismissed {', '.join(d['dismissed'])}")
            lines.append(f"  {d['id']} ({d['file']}): {'; '.join(parts)}")
    return lines


def _secs(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} s"


def _fmt(value: float | None) -> str:
    return "   n/a" if value is None else f"{value:6.2f}"


def _headline(summary: dict[str, Any]) -> str:
    return (f"risky caught {_fmt(summary['risky_caught']).strip()} ({summary['risky']} risky) · "
            f"safe blocked {_fmt(summary['safe_blocked']).strip()} ({summary['safe']} safe) · "
            f"category F1 {_fmt(summary['category_f1']).strip()} · "
            f"verdict acceptable {_fmt(summary['verdict_acceptable']).strip()}")


def format_report(report: dict[str, Any], cases: bool = True) -> str:
    """The report as a table for a terminal."""
    files = ", ".join(Path(f).name for f in report.get("files", [report.get("file", "corpus")]))
    split = report.get("split", "all")
    lines = [f"{files}{'' if split == 'all' else f' ({split})'}: {report['cases']} cases, "
             f"engine {report.get('engine', '?')} ({report.get('seconds', 0):.2f} s)",
             _headline(report), ""]
    if len(report.get("per_file", {})) > 1:
        for name, summary in report["per_file"].items():
            lines.append(f"  {name:<14} {summary['cases']:>4} cases  {_headline(summary)}")
        lines.append("")
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
    lines.append(f"verdict accuracy: {_fmt(acc).strip()} ({report['verdict_correct']}/{report['cases']}"
                 f" exactly the label; acceptable: {_fmt(report['verdict_acceptable']).strip()})")
    lines.append("verdict confusion (rows: expected, columns: judged):")
    lines.append(f"  {'':<8}" + "".join(f"{v:>8}" for v in VERDICTS))
    for expected, row in report["confusion"].items():
        lines.append(f"  {expected:<8}" + "".join(f"{row[v]:>8}" for v in VERDICTS))
    if "llm" in report:
        lines += ["", *format_llm(report["llm"], cases)]
    if not cases:
        return "\n".join(lines)
    lines.append("")
    risky = report["risky_judged_post"]
    lines.append(f"risky cases judged post: {', '.join(risky) if risky else 'none'}")
    blocked = report["safe_judged_block"]
    lines.append(f"safe cases judged block: {', '.join(blocked) if blocked else 'none'}")
    if report["mismatches"]:
        lines += ["", "mismatches:"]
        for d in report["mismatches"]:
            parts = []
            if not d["acceptable"]:
                parts.append(f"expected {'/'.join(d['accept'])}, judged {d['verdict']}")
            if d["missed"]:
                parts.append(f"missed {', '.join(d['missed'])}")
            if d["false_alarms"]:
                parts.append(f"false alarm {', '.join(d['false_alarms'])}")
            lines.append(f"  {d['id']} ({d['file']} line {d['line']}): {'; '.join(parts)}")
    return "\n".join(lines)
