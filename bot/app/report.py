"""`cm-coach report`: the team's figures read from the store the settings name, drawn
as one HTML page (bot/render/report.py), and the team's week in brief for the Slack
Home tab (`brief`).

The store is opened without applying the retention: a report reads, it never
erases. Only the figures are read (`reviews_since` carries no draft).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.render.team_stats import (
    APPROVAL_ACTIONS,
    OPT_ACTIONS,
    TeamBrief,
    TeamFigures,
    team_brief,
    team_figures,
    week_start,
)

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.store import Storage

_RELATIVE = re.compile(r"(\d+)\s*([dw])", re.IGNORECASE)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SINCE_HELP = "give a number of days (30d), of weeks (12w) or a date (2026-01-01)"
# The report's "now": a test sets it to a fixed time.
clock: Callable[[], float] = time.time


class SinceError(ValueError):
    """--since names no period; the message says what it takes."""


def parse_since(text: str, now: float) -> float:
    """The start of the period, as a timestamp: `30d` and `12w` count back from `now`,
    `2026-01-01` is that day's midnight, UTC."""
    value = (text or "").strip()
    relative = _RELATIVE.fullmatch(value)
    if relative:
        count = int(relative.group(1))
        if count < 1:
            raise SinceError(f"--since {value!r}: the period must be at least one day; {_SINCE_HELP}")
        return now - count * (7 if relative.group(2).lower() == "w" else 1) * 86_400
    if _DATE.fullmatch(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise SinceError(f"--since {value!r} is not a date of the calendar; {_SINCE_HELP}") from None
        start = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
        if start > now:
            raise SinceError(f"--since {value!r} is in the future; {_SINCE_HELP}")
        return start
    raise SinceError(f"--since {value!r} is not understood; {_SINCE_HELP}")


def gather(store: Storage, since: float, until: float, platform: str | None = None) -> TeamFigures:
    """The team's figures for [since, until] on one platform (None: all of them)."""
    reviews = store.reviews_since(platform, since)
    # An opt-in counts whenever it was given: its rows are read from the beginning.
    audit = [*store.audit_since(since, APPROVAL_ACTIONS), *store.audit_since(0.0, OPT_ACTIONS)]
    return team_figures(reviews, audit, since, until, platform)


def brief(store: Storage, now: float | None = None, platform: str | None = "slack",
          workspace: str | None = None) -> TeamBrief:
    """This week's figures in brief (reviews by verdict, the most frequent risk) for one
    workspace, as the Slack Home tab shows them."""
    at = clock() if now is None else now
    return team_brief(store.reviews_since(platform, week_start(at)), at, workspace)


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", newline="")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Write the page (and the CSV with --csv): 0 when written, 2 when --since is not
    understood, the store cannot be opened or a file cannot be written."""
    from bot.app.services import StoreUnavailable, open_store
    from bot.render.report import day, render_csv, render_html

    now = clock()
    try:
        since = parse_since(args.since, now)
    except SinceError as exc:
        print(f"cm-coach: {exc}", file=sys.stderr)
        return 2
    platform = None if args.platform == "all" else args.platform
    try:
        store = open_store(settings)  # opened directly: Services.open would purge
    except StoreUnavailable as exc:
        print(f"cm-coach: {exc}", file=sys.stderr)
        return 2
    try:
        figures = gather(store, since, now, platform)
    finally:
        store.close()
    out = Path(args.out).expanduser()
    written = [(out, render_html(figures, args.lang, team=settings.profile.name, generated=now))]
    if args.csv:
        written.append((Path(args.csv).expanduser(), render_csv(figures)))
    for path, text in written:
        try:
            _write(path, text)
        except OSError as exc:
            print(f"cm-coach: cannot write {path} ({exc.strerror or exc}); choose another path", file=sys.stderr)
            return 2
    print(f"{figures.reviews} review(s) from {day(since)} to {day(now)}: " + ", ".join(str(p) for p, _ in written))
    return 0
