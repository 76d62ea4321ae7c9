"""Lessons, practice cases and stats: what the coach teaches, as data.

Lessons and cases live in data/lessons.yml and data/drills.yml, grounded in
the 2019 article on brands' community managers (shared/seed). This module
loads them, scores drill answers and words a user's figures (stats.py); it
does no I/O beyond reading those files once.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from statistics import mean
from typing import Any

from bot.coach.texts import category_name, rule_name, say
from bot.datafiles import load_yaml
from bot.render.stats import TREND_MIN, Trend, UserStats
from bot.review.models import GOLDEN_RULES, Review
from bot.review.text import fold

DATA = Path(__file__).parent / "data"
VERDICT_CAP = {"post": 100, "revise": 70, "block": 40}


@dataclass(frozen=True)
class Case:
    id: str
    brand: str
    platform: str
    focus: tuple[str, ...]
    raw: dict[str, Any]

    def text(self, field: str, lang: str) -> Any:
        value = self.raw[field]
        return value.get(lang) or value.get("en")


@lru_cache(maxsize=1)
def cases() -> tuple[Case, ...]:
    raw = load_yaml(DATA / "drills.yml")
    return tuple(
        Case(str(c["id"]), str(c["brand"]), str(c.get("platform", "generic")),
             tuple(c.get("focus", ())), c)
        for c in raw["cases"]
    )


def case(case_id: str) -> Case | None:
    return next((c for c in cases() if c.id == case_id), None)


def find_case(name: str) -> Case | None:
    wanted = fold(name).text.strip()
    return next((c for c in cases() if wanted in (c.id, fold(c.brand).text)), None)


def next_case(progress: dict[str, dict[str, Any]]) -> Case:
    """The first case never practised, else the one with the lowest best score."""
    for c in cases():
        if c.id not in progress:
            return c
    return min(cases(), key=lambda c: (progress[c.id]["best_score"], progress[c.id]["updated_at"]))


@lru_cache(maxsize=1)
def _lessons() -> dict[str, Any]:
    return load_yaml(DATA / "lessons.yml")


def story(case_id: str, lang: str) -> str | None:
    stories = _lessons()["stories"].get(case_id)
    return None if stories is None else stories.get(lang) or stories.get("en")


def story_for(case_label: str | None, lang: str) -> str | None:
    """The told story of a finding's case ("easyJet 2019" -> the easyJet story)."""
    if not case_label:
        return None
    folded = fold(case_label).text
    for case_id in _lessons()["stories"]:
        if case_id in folded:
            return story(case_id, lang)
    return None


def lesson(rule: str, lang: str) -> tuple[str, str | None]:
    """The lesson text and the id of its exercise case."""
    data = _lessons()["lessons"][rule]
    item = data.get(lang) or data["en"]
    lines = [f"*{item['title']}*", item["quote"], ""]
    lines += [f"• {p}" for p in item["points"]]
    lines += ["", say("lesson_cases", lang)]
    for case_id in item["cases"]:
        told = story(case_id, lang)
        if told:
            lines.append(f"• {told}")
    exercise = case(item.get("exercise", ""))
    if exercise is not None:
        lines += ["", say("lesson_exercise", lang, situation=exercise.text("situation", lang),
                          customer=exercise.text("customer", lang))]
    return "\n".join(lines), exercise.id if exercise else None


def drill_score(review: Review) -> int:
    """0–100: the golden-rule scores, capped by the verdict (a blocked reply
    cannot score well however polite the rest is)."""
    base = round(mean(review.score_of(r) for r in GOLDEN_RULES) * 10)
    return min(base, VERDICT_CAP.get(review.verdict, 100))


def scores_line(scores: dict[str, float], lang: str) -> str:
    return ", ".join(f"{rule_name(r, lang)} {_num(scores[r], lang)}" for r in GOLDEN_RULES if r in scores)


def _num(value: float, lang: str) -> str:
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return text.replace(".", ",") if lang == "fr" else text


def stats_text(figures: UserStats, lang: str) -> str:
    """The DM `stats` reply: counts, frequent risks, averages, trend, drills."""
    if not figures.reviews and not figures.drills:
        return say("stats_empty", lang)
    lines = [say("stats_head", lang, count=figures.reviews, post=figures.verdict_count("post"),
                 revise=figures.verdict_count("revise"), block=figures.verdict_count("block"))]
    if figures.top_risks:
        top = ", ".join(f"{category_name(c, lang)} ({n})" for c, n in figures.top_risks)
        lines.append(say("stats_risks", lang, risks=top))
    elif figures.reviews:
        lines.append(say("stats_no_risks", lang))
    if figures.reviews:
        lines.append(say("stats_scores", lang, scores=scores_line(figures.rule_averages, lang)))
        lines.append(_trend_text(figures.trend, lang))
    if figures.drills:
        done = ", ".join(f"{(case(cid).brand if case(cid) else cid)} {best}/100" for cid, best in figures.drill_best)
        lines.append(say("stats_drills", lang, done=figures.drills, total=len(cases()), scores=done))
    return "\n".join(lines)


def _trend_text(trend: Trend | None, lang: str) -> str:
    if trend is None:
        return say("stats_trend_few", lang, needed=TREND_MIN)
    values = {"before": _num(trend.before, lang), "after": _num(trend.after, lang)}
    return say(f"stats_trend_{trend.direction}", lang, **values)
