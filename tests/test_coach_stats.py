"""Coach.stats: one set of figures from the store, shown by the DM reply and the Slack Home tab."""

from __future__ import annotations

import pytest

from bot.coach import Coach, ConversationKey, UserStats, teaching
from bot.config import Settings
from bot.render import slack as slack_render
from bot.review.models import BrandProfile
from bot.review.reviewer import Reviewer
from bot.store import Store

ANN = ConversationKey("slack", "T1", "U-ann")
BOB = ConversationKey("slack", "T1", "U-bob")


@pytest.fixture
def coach(tmp_path):
    c = Coach(Reviewer(Settings(), engine="offline"), Store(tmp_path / "stats.sqlite3"))
    yield c
    c.store.close()


def add(coach: Coach, key: ConversationKey, kind: str, verdict: str, risk: int, categories: list[str],
        score: float) -> None:
    coach.store.add_review(key, {
        "kind": kind, "draft": f"draft {kind} {risk}", "verdict": verdict, "risk": risk,
        "categories": categories,
        "scores": {"reputation": score, "produce": score, "react": score, "federate": score - 2},
    })


def test_stats_of_a_new_user_are_empty(coach: Coach) -> None:
    stats = coach.stats(ANN)
    assert stats == UserStats()
    assert stats.reviews == 0 and stats.trend is None and stats.average_risk is None
    assert "No reviews yet" in teaching.stats_text(stats, "en")


def test_stats_count_the_users_own_reviews_only(coach: Coach) -> None:
    add(coach, ANN, "draft", "block", 90, ["deletion_demand", "deletion_demand", "private_redirect"], 2)
    add(coach, ANN, "draft", "revise", 50, ["private_redirect", "deletion_demand"], 4)
    add(coach, ANN, "recheck", "post", 0, [], 9)  # the same draft again with context: not counted
    add(coach, ANN, "peer", "block", 100, ["legal_threat"], 0)  # a teammate's message: not counted
    add(coach, ANN, "drill", "post", 10, ["blame_shift"], 8)
    add(coach, ANN, "draft", "post", 30, [], 9)
    add(coach, BOB, "draft", "block", 95, ["legal_threat"], 1)  # someone else
    case_id = teaching.cases()[0].id
    coach.store.record_drill(ANN, case_id, 40)
    coach.store.record_drill(ANN, case_id, 75)

    stats = coach.stats(ANN)
    assert stats.reviews == 4
    assert stats.verdicts == (("post", 2), ("revise", 1), ("block", 1))
    assert stats.verdict_count("block") == 1 and stats.verdict_count("unknown") == 0
    # Counted once per review, most frequent first, ties by name.
    assert stats.top_risks == (("deletion_demand", 2), ("private_redirect", 2), ("blame_shift", 1))
    assert stats.top_categories == ("deletion_demand", "private_redirect", "blame_shift")
    assert stats.average_risk == round((90 + 50 + 10 + 30) / 4)
    assert stats.rule_averages["reputation"] == pytest.approx((2 + 4 + 8 + 9) / 4)
    assert stats.rule_averages["federate"] == pytest.approx((0 + 2 + 6 + 7) / 4)
    assert stats.trend is not None and stats.trend.direction == "up"
    assert stats.trend.before == pytest.approx((1.5 + 3.5) / 2) and stats.trend.after == pytest.approx((7.5 + 8.5) / 2)
    assert stats.drills == 1 and stats.drill_best == ((case_id, 75),)


def test_a_slipping_and_a_steady_trend(coach: Coach) -> None:
    for score in (9, 9, 5, 5):
        add(coach, ANN, "draft", "post", 10, [], score)
    assert coach.stats(ANN).trend.direction == "down"  # type: ignore[union-attr]
    for score in (6, 6, 6, 6):
        add(coach, BOB, "draft", "post", 10, [], score)
    assert coach.stats(BOB).trend.direction == "flat"  # type: ignore[union-attr]
    add(coach, ConversationKey("slack", "T1", "U-cy"), "draft", "post", 10, [], 6)
    assert coach.stats(ConversationKey("slack", "T1", "U-cy")).trend is None  # too few to tell


async def test_the_dm_reply_and_the_home_tab_show_the_same_figures(coach: Coach) -> None:
    add(coach, ANN, "draft", "block", 80, ["deletion_demand"], 3)
    add(coach, ANN, "peer", "block", 100, ["legal_threat"], 0)
    dm = (await coach.handle(ANN, "stats")).text
    assert "1 review(s)" in dm and "1 blocked" in dm and "Deletion demand (1)" in dm
    view = slack_render.home_view("en", BrandProfile(), coach.stats(ANN))
    home = "\n".join(str(b.get("text", {}).get("text", "")) for b in view["blocks"])
    assert "1 review(s)" in home and "Do not post: 1" in home and "Deletion demand" in home
    assert "Legal threat" not in home and "Legal threat" not in dm
