"""A team's figures over a period, from the store's rows: what `cm-coach report` draws,
and the team's week in brief (`team_brief`) for the Slack Home tab.

Pure: review rows (the store's `reviews_since`, which never carries a draft) and
audit rows (`audit_since`) in, figures out. Weeks start on Monday, in UTC, so that
a report reads the same wherever it is made.

Two kinds of audit rows are read:

- approvals: `approval.request`, then `approval.approve` or `approval.changes`,
  matched by the request id their detail holds (`request_id`); the delay is from
  the request to its first decision;
- opt-in: a person's own trend is shown only when they have a `report.opt_in` row
  and no later `report.opt_out`; everyone else is only part of the team's totals.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from statistics import mean, median
from typing import Any

from bot.review.taxonomy import CATEGORIES, GOLDEN_RULES, VERDICTS

APPROVAL_REQUEST = "approval.request"
APPROVAL_APPROVE = "approval.approve"
APPROVAL_CHANGES = "approval.changes"
APPROVAL_ACTIONS: tuple[str, ...] = (APPROVAL_REQUEST, APPROVAL_APPROVE, APPROVAL_CHANGES)
OPT_IN = "report.opt_in"
OPT_OUT = "report.opt_out"
OPT_ACTIONS: tuple[str, ...] = (OPT_IN, OPT_OUT)

Person = tuple[str, str, str]  # (platform, workspace, user)

# The detail of an approval row starts with the request's id: "a1b2…: block risk 80".
_FIRST_WORD = re.compile(r"[^\s:]+")


def request_id(detail: str) -> str | None:
    """The approval request an audit detail is about: its first word, up to a colon."""
    found = _FIRST_WORD.match((detail or "").strip())
    return found.group(0) if found else None


def week_of(timestamp: float) -> date:
    """The Monday (UTC) of the week `timestamp` falls in."""
    day = datetime.fromtimestamp(timestamp, UTC).date()
    return day - timedelta(days=day.weekday())


def week_start(timestamp: float) -> float:
    """The timestamp of that Monday's midnight, UTC."""
    monday = week_of(timestamp)
    return datetime(monday.year, monday.month, monday.day, tzinfo=UTC).timestamp()


def _weeks(since: float, until: float) -> list[date]:
    first, last = week_of(since), week_of(max(since, until))
    return [first + timedelta(weeks=i) for i in range((last - first).days // 7 + 1)]


def _score(scores: Mapping[str, Any], rule: str) -> float:
    """A rule's score; anything but a number counts 0, as in the user's own figures."""
    value = scores.get(rule, 0)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def overall(record: Mapping[str, Any]) -> float:
    """One review's mean golden-rule score."""
    scores = record.get("scores") or {}
    return mean(_score(scores, rule) for rule in GOLDEN_RULES)


def _categories(record: Mapping[str, Any]) -> set[str]:
    """Each category once per review: a review with two insults is one insulting review."""
    return {str(c) for c in record.get("categories") or ()}


def person_of(row: Mapping[str, Any]) -> Person:
    return (str(row.get("platform", "")), str(row.get("workspace", "")), str(row.get("user", "")))


@dataclass(frozen=True)
class Week:
    start: date
    reviews: int
    verdicts: dict[str, int]  # every verdict, zeros included
    categories: dict[str, int]  # reviews with the category
    rule_means: dict[str, float | None]  # None: no review that week


@dataclass(frozen=True)
class ApprovalWeek:
    start: date
    requests: int
    approved: int
    changes: int
    pending: int
    median_delay: float | None  # seconds, over the week's decided requests


@dataclass(frozen=True)
class Approvals:
    requests: int = 0
    approved: int = 0
    changes: int = 0
    pending: int = 0
    delays: tuple[float, ...] = ()  # seconds from a request to its first decision
    weeks: tuple[ApprovalWeek, ...] = ()

    @property
    def median_delay(self) -> float | None:
        return median(self.delays) if self.delays else None

    @property
    def longest_delay(self) -> float | None:
        return max(self.delays) if self.delays else None


@dataclass(frozen=True)
class PersonTrend:
    person: Person
    reviews: int
    blocked: int
    weekly_reviews: tuple[int, ...]  # aligned with TeamFigures.weeks
    weekly_means: tuple[float | None, ...]  # mean golden-rule score 0-10; None: no review
    mean: float


@dataclass(frozen=True)
class TeamFigures:
    since: float
    until: float
    platform: str | None
    weeks: tuple[Week, ...]
    categories: tuple[str, ...]  # the columns: the taxonomy's, then any other seen
    approvals: Approvals
    people: tuple[PersonTrend, ...]  # opted-in people only

    @property
    def reviews(self) -> int:
        return sum(w.reviews for w in self.weeks)

    def verdict_total(self, verdict: str) -> int:
        return sum(w.verdicts.get(verdict, 0) for w in self.weeks)

    @property
    def share_blocked(self) -> float:
        return self.verdict_total("block") / self.reviews if self.reviews else 0.0

    @property
    def recurring(self) -> tuple[tuple[str, int], ...]:
        """(category, reviews) seen in the period, most frequent first; ties by name."""
        totals = Counter({c: sum(w.categories.get(c, 0) for w in self.weeks) for c in self.categories})
        return tuple(sorted(((c, n) for c, n in totals.items() if n), key=lambda cn: (-cn[1], cn[0])))

    @property
    def top_category(self) -> str | None:
        return self.recurring[0][0] if self.recurring else None


def opted_in(audit: Iterable[Mapping[str, Any]]) -> set[Person]:
    """People whose last opt-in or opt-out row (oldest first, as the store gives them)
    is an opt-in."""
    last: dict[Person, str] = {}
    for row in sorted(audit, key=lambda r: float(r.get("created_at", 0))):  # stable: ties keep store order
        if row.get("action") in OPT_ACTIONS:
            last[person_of(row)] = str(row["action"])
    return {who for who, action in last.items() if action == OPT_IN}


def approvals(audit: Iterable[Mapping[str, Any]], since: float, until: float, weeks: list[date]) -> Approvals:
    """Requests made in [since, until] and their first decision."""
    requested: dict[str, float] = {}
    decided: dict[str, tuple[str, float]] = {}
    for row in sorted(audit, key=lambda r: float(r.get("created_at", 0))):
        action, at = row.get("action"), float(row.get("created_at", 0))
        rid = request_id(str(row.get("detail", "")))
        if rid is None:
            continue
        if action == APPROVAL_REQUEST and since <= at <= until:
            requested.setdefault(rid, at)
        elif action in (APPROVAL_APPROVE, APPROVAL_CHANGES) and rid in requested and rid not in decided:
            decided[rid] = (str(action), at)
    by_week: dict[date, list[str]] = defaultdict(list)
    for rid, at in requested.items():
        by_week[week_of(at)].append(rid)

    def delay(rid: str) -> float:
        return max(0.0, decided[rid][1] - requested[rid])  # a clock running behind is no negative wait

    rows = []
    for start in weeks:
        ids = by_week.get(start, [])
        waits = [delay(r) for r in ids if r in decided]
        rows.append(ApprovalWeek(
            start=start, requests=len(ids),
            approved=sum(1 for r in ids if decided.get(r, ("",))[0] == APPROVAL_APPROVE),
            changes=sum(1 for r in ids if decided.get(r, ("",))[0] == APPROVAL_CHANGES),
            pending=sum(1 for r in ids if r not in decided),
            median_delay=median(waits) if waits else None,
        ))
    return Approvals(
        requests=len(requested),
        approved=sum(1 for a, _ in decided.values() if a == APPROVAL_APPROVE),
        changes=sum(1 for a, _ in decided.values() if a == APPROVAL_CHANGES),
        pending=len(requested) - len(decided),
        delays=tuple(delay(r) for r in requested if r in decided),
        weeks=tuple(rows),
    )


def team_figures(reviews: Iterable[Mapping[str, Any]], audit: Iterable[Mapping[str, Any]],
                 since: float, until: float, platform: str | None = None) -> TeamFigures:
    """The figures of the reviews made in [since, until]; `audit` holds the approval
    rows of the period and every opt-in or opt-out row, whenever it was written."""
    weeks = _weeks(since, until)
    rows = [r for r in reviews if since <= float(r.get("created_at", 0)) <= until
            and (platform is None or r.get("platform") == platform)]
    audit_rows = [a for a in audit if platform is None or a.get("platform") == platform]
    by_week: dict[date, list[Mapping[str, Any]]] = defaultdict(list)
    for r in rows:
        by_week[week_of(float(r["created_at"]))].append(r)
    seen = {c for r in rows for c in _categories(r)}
    categories = (*CATEGORIES, *sorted(seen - set(CATEGORIES)))
    table = []
    for start in weeks:
        week = by_week.get(start, [])
        verdicts = Counter(str(r.get("verdict", "")) for r in week)
        counted = Counter(c for r in week for c in _categories(r))
        table.append(Week(
            start=start, reviews=len(week),
            verdicts={v: verdicts[v] for v in VERDICTS},
            categories={c: counted[c] for c in categories},
            rule_means={rule: mean(_score(r.get("scores") or {}, rule) for r in week) if week else None
                        for rule in GOLDEN_RULES},
        ))
    chosen = opted_in(audit_rows)
    mine: dict[Person, list[Mapping[str, Any]]] = defaultdict(list)
    for r in rows:
        if person_of(r) in chosen:
            mine[person_of(r)].append(r)
    people = []
    for who in sorted(mine):
        own = mine[who]
        weekly = [[r for r in own if week_of(float(r["created_at"])) == start] for start in weeks]
        people.append(PersonTrend(
            person=who, reviews=len(own), blocked=sum(1 for r in own if r.get("verdict") == "block"),
            weekly_reviews=tuple(len(w) for w in weekly),
            weekly_means=tuple(mean(overall(r) for r in w) if w else None for w in weekly),
            mean=mean(overall(r) for r in own),
        ))
    return TeamFigures(since=since, until=until, platform=platform, weeks=tuple(table),
                       categories=categories, approvals=approvals(audit_rows, since, until, weeks),
                       people=tuple(people))


@dataclass(frozen=True)
class TeamBrief:
    """The team's week in brief, for the Slack Home tab."""

    week: date
    reviews: int = 0
    verdicts: tuple[tuple[str, int], ...] = ()  # (verdict, count), non-zero only, post -> block
    top_category: str | None = None
    top_count: int = 0


def team_brief(reviews: Iterable[Mapping[str, Any]], now: float, workspace: str | None = None) -> TeamBrief:
    """This week's reviews (Monday, UTC, to `now`) by verdict and the most frequent
    risk; only one workspace's with `workspace`."""
    start = week_start(now)
    rows = [r for r in reviews if start <= float(r.get("created_at", 0)) <= now
            and (workspace is None or r.get("workspace") == workspace)]
    verdicts = Counter(str(r.get("verdict", "")) for r in rows)
    risks = Counter(c for r in rows for c in _categories(r))
    top = min(risks.items(), key=lambda cn: (-cn[1], cn[0])) if risks else None
    return TeamBrief(week=week_of(now), reviews=len(rows),
                     verdicts=tuple((v, verdicts[v]) for v in VERDICTS if verdicts[v]),
                     top_category=top[0] if top else None, top_count=top[1] if top else 0)
