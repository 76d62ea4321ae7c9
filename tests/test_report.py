"""`cm-coach report`: the team's figures from the store, one self-contained HTML page,
its CSV, and the week in brief for the Slack Home tab."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import pytest

from bot.app import report as app_report
from bot.app.report import SinceError, brief, gather, parse_since
from bot.cli import main
from bot.render.report import render_csv, render_html
from bot.render.team_stats import request_id, team_figures, week_of
from bot.store import Store


class Key(NamedTuple):
    platform: str
    workspace: str
    user: str


ANN = Key("slack", "T1", "U-ann")  # opted in
BOB = Key("slack", "T1", "U-bob")  # opted in, then out
CAT = Key("discord", "G1", "D-cat")  # never opted in
ODD = Key("slack", "T1", "<b>odd</b>&co")  # opted in, with markup in their id
ELSEWHERE = Key("slack", "T2", "U-eve")  # another workspace

DAY = 86_400.0
HOUR = 3_600.0
# A Wednesday noon: the weeks of the period start on Mondays 2026-02-09, -16, -23 and 03-02.
NOW = datetime(2026, 3, 4, 12, tzinfo=UTC).timestamp()
SINCE = NOW - 21 * DAY
WEEK_16 = datetime(2026, 2, 16, 10, tzinfo=UTC).timestamp()
WEEK_23 = datetime(2026, 2, 23, 10, tzinfo=UTC).timestamp()
WEEK_02 = datetime(2026, 3, 2, 10, tzinfo=UTC).timestamp()
SECRET = "SECRET-DRAFT"
CUSTOMER = "CUSTOMER-MESSAGE"


def scores(value: int) -> dict[str, int]:
    return {"reputation": value, "produce": value, "react": value, "federate": value}


def review(verdict: str, categories: tuple[str, ...] = (), score: int = 7, n: int = 0) -> dict[str, Any]:
    return {"kind": "draft", "draft": f"{SECRET}-{n} please delete the photo", "context": f"{CUSTOMER}-{n}",
            "language": "en", "verdict": verdict, "risk": 50, "categories": list(categories),
            "scores": scores(score)}


def fill(store: Store) -> None:
    """Four people on two platforms over three weeks, approvals and opt-ins."""
    rows = [
        (ANN, WEEK_16, review("block", ("deletion_demand", "insult"), 4, 1)),
        (ANN, WEEK_16 + HOUR, review("post", (), 8, 2)),
        (BOB, WEEK_16 + 2 * HOUR, review("block", ("deletion_demand",), 3, 3)),
        (CAT, WEEK_16 + 3 * HOUR, review("revise", ("private_redirect",), 6, 4)),
        (ANN, WEEK_23, review("revise", ("private_redirect",), 6, 5)),
        (CAT, WEEK_23 + HOUR, review("block", ("legal_threat",), 2, 6)),
        (ODD, WEEK_23 + 2 * HOUR, review("post", (), 9, 7)),
        (BOB, WEEK_02, review("post", (), 9, 8)),
        (CAT, WEEK_02 + HOUR, review("post", (), 9, 9)),
        # Before the period: never counted.
        (ANN, NOW - 60 * DAY, review("block", ("censorship",), 1, 10)),
    ]
    for key, at, record in rows:
        store.add_review(key, record, now=at)
    store.audit(ANN, "report.opt_in", "", now=NOW - 100 * DAY)  # long before the period: still counts
    store.audit(BOB, "report.opt_in", "", now=NOW - 50 * DAY)
    store.audit(BOB, "report.opt_out", "", now=NOW - 40 * DAY)
    store.audit(ODD, "report.opt_in", "", now=NOW - 30 * DAY)
    # Approvals as the desk writes them: the request id first.
    store.audit(ANN, "approval.request", "a01: block risk 80", now=WEEK_16)
    store.audit(BOB, "approval.approve", "a01: for U-ann", now=WEEK_16 + 2 * HOUR)
    store.audit(ANN, "approval.request", "a02: revise risk 40", now=WEEK_23)
    store.audit(BOB, "approval.changes", "a02: for U-ann", now=WEEK_23 + 24 * HOUR)
    store.audit(BOB, "approval.approve", "a02: for U-ann", now=WEEK_23 + 30 * HOUR)  # only the first counts
    store.audit(ANN, "approval.request", "a03: block risk 90", now=WEEK_02)  # still waiting
    store.audit(ANN, "approval.approve", "zz9: for nobody", now=WEEK_02)  # no such request: ignored


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def store(data_dir: Path) -> Iterator[Store]:
    s = Store.in_data_dir(data_dir)
    fill(s)
    yield s
    s.close()


@pytest.fixture
def page(store: Store) -> str:
    return render_html(gather(store, SINCE, NOW), "en", team="Acme", generated=NOW)


class Page(HTMLParser):
    """The page's element nesting (checked as it is read) and its tables' cells."""

    VOID: ClassVar[frozenset[str]] = frozenset({"meta", "br", "img", "hr", "input", "link", "col", "source", "wbr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.section: str | None = None
        self.tables: dict[str, list[list[str]]] = {}
        self.cell: list[str] | None = None
        self.text: list[str] = []
        self.attributes: list[tuple[str, str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.attributes += [(tag, name, value) for name, value in attrs]
        if tag not in self.VOID:
            self.stack.append(tag)
        if tag == "section":
            self.section = dict(attrs).get("id")
        elif tag == "tr" and self.section is not None:
            self.tables.setdefault(self.section, []).append([])
        elif tag in ("td", "th"):
            self.cell = []

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.attributes += [(tag, name, value) for name, value in attrs]  # SVG's <path … />

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()
        if tag in ("td", "th") and self.cell is not None and self.section is not None:
            self.tables[self.section][-1].append("".join(self.cell).strip())
            self.cell = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self.cell is not None:
            self.cell.append(data)

    def row(self, section: str, first: str) -> list[str]:
        return next(r for r in self.tables[section] if r and r[0] == first)


def parsed(html: str) -> Page:
    p = Page()
    p.feed(html)
    p.close()
    assert not p.errors and not p.stack, (p.errors, p.stack)
    return p


# -- --since -------------------------------------------------------------------


def test_since_takes_days_weeks_or_a_date() -> None:
    assert parse_since("30d", NOW) == NOW - 30 * DAY
    assert parse_since("12w", NOW) == NOW - 84 * DAY
    assert parse_since(" 7D ", NOW) == NOW - 7 * DAY
    assert parse_since("2026-01-01", NOW) == datetime(2026, 1, 1, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(("text", "why"), [
    ("30", "not understood"), ("3m", "not understood"), ("yesterday", "not understood"), ("", "not understood"),
    ("0d", "at least one day"), ("2026-02-30", "not a date"), ("2027-01-01", "in the future"),
])
def test_since_refuses_what_is_no_period_and_says_what_it_takes(text: str, why: str) -> None:
    with pytest.raises(SinceError) as caught:
        parse_since(text, NOW)
    assert why in str(caught.value)
    assert "30d" in str(caught.value) and "12w" in str(caught.value) and "2026-01-01" in str(caught.value)


def test_a_bad_since_exits_2_with_the_message_and_writes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CM_COACH_STORE_DATA_DIR", str(tmp_path / "data"))
    out = tmp_path / "report.html"
    assert main(["report", "--since", "last month", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cm-coach: --since 'last month' is not understood")
    assert "30d" in err and "12w" in err and "2026-01-01" in err
    assert not out.exists()


def test_an_unknown_platform_or_language_is_a_usage_error(tmp_path: Path) -> None:
    for extra in (["--platform", "x"], ["--lang", "de"]):
        with pytest.raises(SystemExit) as exited:
            main(["report", "--out", str(tmp_path / "r.html"), *extra])
        assert exited.value.code == 2


# -- the figures ---------------------------------------------------------------


def test_the_figures_count_the_period_per_week(store: Store) -> None:
    fig = gather(store, SINCE, NOW)
    assert [w.start.isoformat() for w in fig.weeks] == ["2026-02-09", "2026-02-16", "2026-02-23", "2026-03-02"]
    assert [w.reviews for w in fig.weeks] == [0, 4, 3, 2]
    assert fig.weeks[1].verdicts == {"post": 1, "revise": 1, "block": 2}
    assert fig.weeks[1].categories["deletion_demand"] == 2
    assert fig.weeks[1].rule_means["react"] == pytest.approx((4 + 8 + 3 + 6) / 4)
    assert fig.weeks[0].rule_means["react"] is None
    assert fig.reviews == 9 and fig.verdict_total("block") == 3  # the review before the period is left out
    assert fig.recurring[0] == ("deletion_demand", 2) and fig.top_category == "deletion_demand"
    assert "censorship" not in dict(fig.recurring)


def test_only_people_who_opted_in_and_did_not_opt_out_have_a_trend(store: Store) -> None:
    fig = gather(store, SINCE, NOW)
    assert {p.person for p in fig.people} == {ANN, ODD}
    ann = next(p for p in fig.people if p.person == ANN)
    assert ann.reviews == 3 and ann.blocked == 1
    assert ann.weekly_reviews == (0, 2, 1, 0)
    assert ann.weekly_means == (None, pytest.approx(6.0), pytest.approx(6.0), None)


def test_an_opt_out_followed_by_an_opt_in_counts_as_in() -> None:
    audit = [{"platform": "slack", "workspace": "T1", "user": "U", "action": a, "detail": "", "created_at": t}
             for a, t in (("report.opt_in", 1.0), ("report.opt_out", 2.0), ("report.opt_in", 3.0))]
    rows = [{"platform": "slack", "workspace": "T1", "user": "U", "verdict": "post", "categories": [],
             "scores": scores(5), "created_at": 10.0}]
    assert [p.person for p in team_figures(rows, audit, 0.0, 20.0).people] == [("slack", "T1", "U")]
    assert team_figures(rows, audit[:2], 0.0, 20.0).people == ()


def test_approvals_are_matched_by_request_and_timed_to_their_first_decision(store: Store) -> None:
    a = gather(store, SINCE, NOW).approvals
    assert (a.requests, a.approved, a.changes, a.pending) == (3, 1, 1, 1)
    assert sorted(a.delays) == [2 * HOUR, 24 * HOUR]
    assert a.median_delay == 13 * HOUR
    assert [(w.requests, w.approved, w.changes, w.pending) for w in a.weeks] == [
        (0, 0, 0, 0), (1, 1, 0, 0), (1, 0, 1, 0), (1, 0, 0, 1)]


def test_the_request_id_is_the_details_first_word() -> None:
    assert request_id("a1b2c3: block risk 80") == "a1b2c3"
    assert request_id("  a1b2c3 for U1") == "a1b2c3"
    assert request_id("") is None


def test_a_platform_keeps_its_own_reviews_and_audit_rows(store: Store) -> None:
    fig = gather(store, SINCE, NOW, "discord")
    assert fig.reviews == 3 and fig.verdict_total("block") == 1
    assert fig.approvals.requests == 0 and fig.people == ()


def test_weeks_start_on_monday_utc() -> None:
    assert week_of(datetime(2026, 3, 8, 23, 59, tzinfo=UTC).timestamp()).isoformat() == "2026-03-02"
    assert week_of(datetime(2026, 3, 9, 0, 0, tzinfo=UTC).timestamp()).isoformat() == "2026-03-09"


# -- the page ------------------------------------------------------------------


def test_the_page_parses_and_its_tables_hold_the_numbers(page: str) -> None:
    p = parsed(page)
    headers = p.tables["verdicts"][0]
    assert headers == ["Week of", "Post", "Revise", "Block", "Total"]
    assert p.row("verdicts", "2026-02-16") == ["2026-02-16", "1", "1", "2", "4"]
    assert p.row("verdicts", "2026-02-09") == ["2026-02-09", "0", "0", "0", "0"]
    assert p.row("verdicts", "Total") == ["Total", "4", "2", "3", "9"]
    assert p.row("categories", "Deletion demand") == ["Deletion demand", "2", "22%"]
    assert p.row("rules", "2026-02-16")[1:] == ["5.2"] * 4
    assert p.row("rules", "2026-02-09")[1:] == ["–"] * 4
    assert p.row("approvals", "2026-02-16") == ["2026-02-16", "1", "1", "0", "0", "2.0 h"]
    assert p.row("approvals", "Total") == ["Total", "3", "1", "1", "1", "13.0 h"]
    text = " ".join(" ".join(p.text).split())
    assert "9 review(s) · 33% blocked · most frequent risk: Deletion demand" in text
    assert "cm-coach report: Acme" in text


def test_the_page_has_a_chart_per_section_and_a_title_for_each(page: str) -> None:
    p = parsed(page)
    labels = [v for tag, name, v in p.attributes if tag == "svg" and name == "aria-label"]
    assert labels == ["Reviews per week, by verdict", "Risks that recur", "Golden-rule scores over time",
                      "Median wait per week, in hours", "Mean golden-rule score per week (0–10)"]
    ids = [v for _, name, v in p.attributes if name == "id"]
    assert len(ids) == len(set(ids)), "inlined charts share ids"


def test_the_page_fetches_nothing(page: str) -> None:
    p = parsed(page)
    assert "http://" not in page and "https://" not in page
    links = [(tag, name, v) for tag, name, v in p.attributes
             if name in ("src", "href", "xlink:href", "action", "srcset", "data")]
    assert all((v or "").startswith("#") for _, _, v in links), links
    assert not re.search(r"<(script|link|iframe|img|object|embed)\b", page, re.IGNORECASE)
    assert "@import" not in page and not re.search(r"url\((?!#)", page)
    assert "default-src 'none'" in page


def test_the_page_never_shows_a_draft_nor_the_customers_message(page: str) -> None:
    assert SECRET not in page and CUSTOMER not in page and "delete the photo" not in page


def test_the_opted_in_trend_is_shown_and_nobody_elses(page: str) -> None:
    p = parsed(page)
    header = p.tables["people"][0]
    assert header == ["Week of", "<b>odd</b>&co (Slack)", "U-ann (Slack)"]
    assert p.row("people", "2026-02-16") == ["2026-02-16", "–", "6.0 (2)"]
    assert "U-bob" not in page and "D-cat" not in page


def test_what_comes_from_the_store_is_escaped(page: str) -> None:
    assert "<b>odd</b>" not in page
    assert "&lt;b&gt;odd&lt;/b&gt;&amp;co" in page


def test_nobody_opted_in_leaves_the_team_totals_only(data_dir: Path) -> None:
    s = Store.in_data_dir(data_dir)
    s.add_review(ANN, review("post"), now=WEEK_16)
    html = render_html(gather(s, SINCE, NOW), "en", generated=NOW)
    s.close()
    assert "Nobody has opted in to a personal trend" in html and "U-ann" not in html
    assert "No approval was requested in this period." in html
    assert "No risk was found in this period." in html
    assert "cm-coach report: the team" in html


def test_an_empty_store_says_there_is_nothing_yet(data_dir: Path) -> None:
    s = Store.in_data_dir(data_dir)
    html = render_html(gather(s, SINCE, NOW), "en", generated=NOW)
    s.close()
    parsed(html)
    assert "Nothing to report yet: no review between 2026-02-11 and 2026-03-04." in html
    assert "<svg" not in html and "<table" not in html


def test_the_page_speaks_french(store: Store) -> None:
    html = render_html(gather(store, SINCE, NOW), "fr", generated=NOW)
    p = parsed(html)
    assert '<html lang="fr">' in html
    assert p.tables["verdicts"][0] == ["Semaine du", "Publier", "Retravailler", "Ne pas publier", "Total"]
    assert p.row("categories", "Demande de suppression")[1] == "2"
    assert p.row("rules", "2026-02-16")[1] == "5,2"
    assert "33\u202f% bloquées" in html


# -- the CSV -------------------------------------------------------------------


def test_the_csv_has_a_row_per_week(store: Store) -> None:
    text = render_csv(gather(store, SINCE, NOW))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["week"] for r in rows] == ["2026-02-09", "2026-02-16", "2026-02-23", "2026-03-02"]
    week = rows[1]
    assert (week["reviews"], week["post"], week["revise"], week["block"]) == ("4", "1", "1", "2")
    assert week["category_deletion_demand"] == "2" and week["category_insult"] == "1"
    assert week["category_legal_threat"] == "0"
    assert week["rule_reputation"] == "5.25"
    assert rows[0]["rule_reputation"] == "" and rows[0]["reviews"] == "0"
    assert SECRET not in text and "U-ann" not in text


# -- the command ---------------------------------------------------------------


def test_the_command_writes_the_page_and_the_csv_without_purging(
        store: Store, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CM_COACH_STORE_DATA_DIR", str(data_dir))
    monkeypatch.setattr(app_report, "clock", lambda: NOW)
    monkeypatch.chdir(tmp_path)
    assert main(["report", "--since", "3w", "--csv", "weeks.csv", "--platform", "slack"]) == 0
    html = (tmp_path / "cm-coach-report.html").read_text(encoding="utf-8")
    p = parsed(html)
    assert p.row("verdicts", "Total") == ["Total", "3", "1", "2", "6"]  # Slack's reviews only
    assert "all platforms" not in html and "Slack" in html
    rows = list(csv.DictReader(io.StringIO((tmp_path / "weeks.csv").read_text(encoding="utf-8"))))
    assert [r["reviews"] for r in rows] == ["0", "3", "2", "1"]
    assert "6 review(s) from 2026-02-11 to 2026-03-04" in capsys.readouterr().out
    # The review from 60 days ago is past a 30-day retention: a report leaves it as it is.
    monkeypatch.setenv("CM_COACH_STORE_RETENTION_DAYS", "30")
    assert main(["report", "--since", "2026-01-01", "--out", str(tmp_path / "all.html")]) == 0
    assert any(r["draft"].startswith(f"{SECRET}-10") for r in store.reviews(ANN))
    assert "Censorship" in (tmp_path / "all.html").read_text(encoding="utf-8")


def test_an_unwritable_out_path_exits_2(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CM_COACH_STORE_DATA_DIR", str(data_dir))
    assert main(["report", "--out", str(tmp_path / "missing" / "r.html")]) == 2
    assert "cannot write" in capsys.readouterr().err


# -- the Slack Home brief ------------------------------------------------------


def test_the_week_in_brief_counts_one_workspace_since_monday(store: Store) -> None:
    store.add_review(ELSEWHERE, review("block", ("insult",)), now=WEEK_02)
    store.add_review(ANN, review("revise", ("private_redirect", "aggressive_tone")), now=WEEK_02 + HOUR)
    store.add_review(BOB, review("block", ("private_redirect",)), now=WEEK_02 + 2 * HOUR)
    week = brief(store, now=NOW, workspace="T1")
    assert week.week.isoformat() == "2026-03-02"
    assert week.reviews == 3  # BOB's post, ANN's revise, BOB's block; not T2's nor Discord's
    assert week.verdicts == (("post", 1), ("revise", 1), ("block", 1))
    assert (week.top_category, week.top_count) == ("private_redirect", 2)
    assert brief(store, now=NOW, workspace="T9").reviews == 0


# -- the store's team-wide reads -----------------------------------------------


def test_team_reads_carry_no_draft_and_filter_by_platform_time_and_action(store_url: str) -> None:
    s = Store(url=store_url)
    try:
        fill(s)
        everyone = s.reviews_since(None, SINCE)
        assert len(everyone) == 9 and everyone == sorted(everyone, key=lambda r: r["created_at"])
        assert all("draft" not in r and "context" not in r for r in everyone)
        assert {r["user"] for r in everyone} == {"U-ann", "U-bob", "D-cat", "<b>odd</b>&co"}
        assert {r["user"] for r in s.reviews_since("discord", SINCE)} == {"D-cat"}
        assert everyone[0]["categories"] == ["deletion_demand", "insult"] and everyone[0]["scores"] == scores(4)
        opts = s.audit_since(0.0, ["report.opt_in", "report.opt_out"])
        assert [(r["user"], r["action"]) for r in opts] == [
            ("U-ann", "report.opt_in"), ("U-bob", "report.opt_in"), ("U-bob", "report.opt_out"),
            ("<b>odd</b>&co", "report.opt_in")]
        assert {r["action"] for r in s.audit_since(SINCE, ["approval.request"])} == {"approval.request"}
        assert s.audit_since(NOW, ["approval.request"]) == []
        assert s.audit_since(0.0, []) == []
    finally:
        s.close()
