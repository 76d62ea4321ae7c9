"""A user's figures from their stored reviews, computed once for every front end.

The DM `stats` reply (coach.teaching.stats_text) and the Slack Home tab
(render.slack.home_view) both show a UserStats; neither computes figures of its
own. It lives with the renderers, below the coach, so that both can read it.
Pure: records in, figures out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from statistics import mean
from typing import Any, Literal

from bot.review.models import Review
from bot.review.taxonomy import GOLDEN_RULES, VERDICTS


def history_record(review: Review, kind: str) -> dict[str, Any]:
    """What a person's history keeps of a review (the store's `add_review`), the same
    from every surface: the figures are computed from these records."""
    return {
        "kind": kind, "draft": review.draft, "context": review.context, "language": review.language,
        "verdict": review.verdict, "risk": review.risk,
        "categories": [f.category for f in review.findings],
        "scores": {s.rule: s.score for s in review.golden_rules},
    }


# Reviews needed before a trend means anything (two halves of two).
TREND_MIN = 4
TREND_DELTA = 0.5
TOP_RISKS = 3


@dataclass(frozen=True)
class Trend:
    """Average golden-rule score of the older half of the reviews against the newer half."""

    before: float
    after: float

    @property
    def direction(self) -> Literal["up", "down", "flat"]:
        if self.after - self.before >= TREND_DELTA:
            return "up"
        if self.before - self.after >= TREND_DELTA:
            return "down"
        return "flat"


@dataclass(frozen=True)
class UserStats:
    reviews: int = 0
    verdicts: tuple[tuple[str, int], ...] = ()  # (verdict, count), non-zero only, post -> block
    # The most frequent risk categories, each counted once per review; ties by name.
    top_risks: tuple[tuple[str, int], ...] = ()
    average_risk: int | None = None
    rule_averages: dict[str, float] = field(default_factory=dict)  # golden rule -> mean score 0-10
    trend: Trend | None = None  # None until TREND_MIN reviews
    drills: int = 0  # drill cases practised
    drill_best: tuple[tuple[str, int], ...] = ()  # (case id, best score 0-100)

    def verdict_count(self, verdict: str) -> int:
        return dict(self.verdicts).get(verdict, 0)

    @property
    def top_categories(self) -> tuple[str, ...]:
        return tuple(category for category, _ in self.top_risks)


def overall(record: Mapping[str, Any]) -> float:
    """One review's mean golden-rule score (a missing rule counts 0)."""
    scores = record.get("scores") or {}
    return mean(scores.get(rule, 0) for rule in GOLDEN_RULES)


def user_stats(records: Iterable[Mapping[str, Any]],
               progress: Mapping[str, Mapping[str, Any]] | None = None) -> UserStats:
    """Figures from the store's review records (oldest first) and drill progress."""
    rows = list(records)
    progress = progress or {}
    drill_best = tuple((case_id, int(p["best_score"])) for case_id, p in progress.items())
    if not rows:
        return UserStats(drills=len(drill_best), drill_best=drill_best)
    counts = Counter(str(r.get("verdict", "")) for r in rows)
    risks = Counter(str(c) for r in rows for c in set(r.get("categories") or ()))
    risk_values = [r["risk"] for r in rows if isinstance(r.get("risk"), int | float)]
    return UserStats(
        reviews=len(rows),
        verdicts=tuple((v, counts[v]) for v in VERDICTS if counts[v]),
        top_risks=tuple(sorted(risks.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_RISKS]),
        average_risk=round(sum(risk_values) / len(risk_values)) if risk_values else None,
        rule_averages={rule: mean((r.get("scores") or {}).get(rule, 0) for r in rows) for rule in GOLDEN_RULES},
        trend=_trend(rows),
        drills=len(drill_best),
        drill_best=drill_best,
    )


def _trend(rows: list[Mapping[str, Any]]) -> Trend | None:
    if len(rows) < TREND_MIN:
        return None
    half = len(rows) // 2
    return Trend(before=mean(overall(r) for r in rows[:half]), after=mean(overall(r) for r in rows[-half:]))
