"""The team's report as one self-contained HTML page, and its weekly figures as CSV.

The page needs nothing at view time: the charts are inline SVG (bot/render/charts.py),
the style is inline, there is no script, and a Content-Security-Policy forbids
fetching anything should a later edit add a reference. Under each chart a table
holds the same numbers, for screen readers and for copying. Every string that
comes from the store (a user's id, a category id) is escaped; no draft is ever
read, let alone shown.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape

from bot.render import charts
from bot.render.labels import category_name, label, ui_language
from bot.render.team_stats import PersonTrend, TeamFigures
from bot.review.taxonomy import GOLDEN_RULES, VERDICTS

# Okabe-Ito colours: told apart with any colour vision.
VERDICT_COLOURS = {"post": "#009E73", "revise": "#E69F00", "block": "#D55E00"}
RULE_COLOURS = {"reputation": "#0072B2", "produce": "#009E73", "react": "#D55E00", "federate": "#CC79A7"}
PEOPLE_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442", "#000000")
CATEGORY_COLOUR = "#0072B2"
WAIT_COLOUR = "#56B4E9"
PLATFORM_NAMES = {"slack": "Slack", "discord": "Discord", "console": "Console"}

_STYLE = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       margin: 0; color: #1d1d1f; background: #fff; line-height: 1.45; }
main { max-width: 62rem; margin: 0 auto; padding: 1.5rem 1.25rem 3rem; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.2rem; margin: 2.25rem 0 .5rem; border-top: 1px solid #e3e3e3; padding-top: 1.25rem; }
.period { color: #555; margin: 0 0 1rem; }
.summary { font-size: 1.1rem; font-weight: 600; margin: 0 0 1rem; }
figure { margin: .5rem 0 1rem; }
svg { width: 100%; height: auto; max-height: 30rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .92rem; }
caption { text-align: left; color: #555; padding-bottom: .35rem; }
th, td { border-bottom: 1px solid #e3e3e3; padding: .3rem .7rem; text-align: left; }
thead th { border-bottom: 2px solid #bbb; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
tfoot th, tfoot td { font-weight: 600; }
tfoot tr:first-child > * { border-top: 2px solid #bbb; }
.scroll { overflow-x: auto; }
.empty { padding: 1rem; background: #f6f6f6; border-radius: .4rem; }
footer { margin-top: 2.5rem; color: #666; font-size: .85rem; }
"""
# Nothing may be fetched: no script, no frame, no image or font from elsewhere.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def number(value: float, lang: str, digits: int = 1) -> str:
    text = f"{value:.{digits}f}"
    return text.replace(".", ",") if ui_language(lang) == "fr" else text


def percent(share: float, lang: str) -> str:
    # French typography: a narrow no-break space before %.
    return f"{round(share * 100)}\u202f%" if ui_language(lang) == "fr" else f"{round(share * 100)}%"


def duration(seconds: float | None, lang: str) -> str:
    if seconds is None:
        return "–"
    if seconds < 3_600:
        return label("report_minutes_value", lang, value=max(0, round(seconds / 60)))
    if seconds < 48 * 3_600:
        return label("report_hours_value", lang, value=number(seconds / 3_600, lang))
    return label("report_days_value", lang, value=number(seconds / 86_400, lang))


def day(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).date().isoformat()


def platform_name(platform: str | None, lang: str) -> str:
    if platform is None:
        return label("report_all_platforms", lang)
    return PLATFORM_NAMES.get(platform, platform)


def person_name(trend: PersonTrend) -> str:
    """A person as the store knows them: their id on a platform (never a draft)."""
    platform, _, user = trend.person
    return f"{user} ({PLATFORM_NAMES.get(platform, platform)})"


def _cell(text: str, numeric: bool = False) -> str:
    return f'<td class="n">{escape(text)}</td>' if numeric else f"<td>{escape(text)}</td>"


def _table(caption: str, headers: Sequence[str], rows: Sequence[Sequence[str]],
           footer: Sequence[Sequence[str]] = (), numeric_from: int = 1) -> str:
    """A table whose first column heads each row; columns from `numeric_from` on are numbers.
    Every text is escaped here."""
    numeric = ' class="n"'
    head = "".join(f'<th scope="col"{numeric if i >= numeric_from else ""}>{escape(h)}</th>'
                   for i, h in enumerate(headers))

    def row(cells: Sequence[str]) -> str:
        return (f'<tr><th scope="row">{escape(cells[0])}</th>'
                + "".join(_cell(c, numeric=i + 1 >= numeric_from) for i, c in enumerate(cells[1:])) + "</tr>")

    body = "".join(row(r) for r in rows)
    foot = f"<tfoot>{''.join(row(r) for r in footer)}</tfoot>" if footer else ""
    return (f'<div class="scroll"><table><caption>{escape(caption)}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody>{foot}</table></div>")


def _section(key: str, title: str, *parts: str) -> str:
    return f'<section id="{key}" aria-labelledby="{key}-title"><h2 id="{key}-title">{escape(title)}</h2>' \
        + "".join(parts) + "</section>"


def _figure(svg: str) -> str:
    return f"<figure>{svg}</figure>"


def _paragraph(text: str, cls: str = "") -> str:
    return f'<p class="{cls}">{escape(text)}</p>' if cls else f"<p>{escape(text)}</p>"


def _verdicts(fig: TeamFigures, lang: str, weeks: list[str]) -> str:
    title = label("report_verdicts_title", lang)
    names = {v: label(f"report_{v}", lang) for v in VERDICTS}
    chart = charts.stacked_bars(
        "verdicts", title, weeks,
        [(names[v], [w.verdicts[v] for w in fig.weeks], VERDICT_COLOURS[v]) for v in VERDICTS],
        label("report_reviews", lang))
    rows = [[week, *(str(w.verdicts[v]) for v in VERDICTS), str(w.reviews)]
            for week, w in zip(weeks, fig.weeks, strict=True)]
    footer = [[label("report_total", lang), *(str(fig.verdict_total(v)) for v in VERDICTS), str(fig.reviews)]]
    table = _table(title, [label("report_week", lang), *names.values(), label("report_total", lang)], rows, footer)
    return _section("verdicts", title, _figure(chart), table)


def _categories(fig: TeamFigures, lang: str) -> str:
    title = label("report_categories_title", lang)
    recurring = fig.recurring
    if not recurring:
        return _section("categories", title, _paragraph(label("report_categories_none", lang)))
    names = [category_name(c, lang) for c, _ in recurring]
    counts = [n for _, n in recurring]
    chart = charts.horizontal_bars("categories", title, names, counts, label("report_reviews", lang),
                                   CATEGORY_COLOUR)
    rows = [[name, str(n), percent(n / fig.reviews, lang)] for name, n in zip(names, counts, strict=True)]
    table = _table(title, [label("report_risk", lang), label("report_reviews", lang), label("report_share", lang)],
                   rows)
    return _section("categories", title, _paragraph(label("report_categories_intro", lang)), _figure(chart), table)


def _rules(fig: TeamFigures, lang: str, weeks: list[str]) -> str:
    title = label("report_rules_title", lang)
    names = {rule: label(f"rule_{rule}", lang) for rule in GOLDEN_RULES}
    chart = charts.lines(
        "rules", title, weeks,
        [(names[rule], [w.rule_means[rule] for w in fig.weeks], RULE_COLOURS[rule]) for rule in GOLDEN_RULES],
        label("score", lang), ylim=(0, 10.5))

    def mean_text(value: float | None) -> str:
        return "–" if value is None else number(value, lang)

    rows = [[week, *(mean_text(w.rule_means[rule]) for rule in GOLDEN_RULES)]
            for week, w in zip(weeks, fig.weeks, strict=True)]
    table = _table(title, [label("report_week", lang), *names.values()], rows)
    return _section("rules", title, _paragraph(label("report_rules_intro", lang)), _figure(chart), table)


def _approvals(fig: TeamFigures, lang: str, weeks: list[str]) -> str:
    title = label("report_approvals_title", lang)
    a = fig.approvals
    if not a.requests:
        return _section("approvals", title, _paragraph(label("report_approvals_none", lang)))
    parts = [_paragraph(label("report_approvals_summary", lang, requests=a.requests, approved=a.approved,
                              changes=a.changes, pending=a.pending))]
    if a.delays:
        parts.append(_paragraph(label("report_approvals_delay", lang, median=duration(a.median_delay, lang),
                                      longest=duration(a.longest_delay, lang))))
        chart_title = label("report_approvals_chart", lang)
        parts.append(_figure(charts.bars(
            "approvals", chart_title, weeks,
            [None if w.median_delay is None else w.median_delay / 3_600 for w in a.weeks],
            label("report_hours", lang), WAIT_COLOUR)))
    rows = [[week, str(w.requests), str(w.approved), str(w.changes), str(w.pending), duration(w.median_delay, lang)]
            for week, w in zip(weeks, a.weeks, strict=True)]
    footer = [[label("report_total", lang), str(a.requests), str(a.approved), str(a.changes), str(a.pending),
               duration(a.median_delay, lang)]]
    parts.append(_table(title, [label("report_week", lang), label("report_requests", lang),
                                label("report_approved", lang), label("report_changes", lang),
                                label("report_pending", lang), label("report_median_wait", lang)], rows, footer))
    return _section("approvals", title, *parts)


def _people(fig: TeamFigures, lang: str, weeks: list[str]) -> str:
    title = label("report_people_title", lang)
    if not fig.people:
        return _section("people", title, _paragraph(label("report_people_none", lang)))
    names = [person_name(p) for p in fig.people]
    chart_title = label("report_people_chart", lang)
    chart = charts.lines(
        "people", chart_title, weeks,
        [(name, list(p.weekly_means), PEOPLE_COLOURS[i % len(PEOPLE_COLOURS)])
         for i, (name, p) in enumerate(zip(names, fig.people, strict=True))],
        label("report_mean_score", lang), ylim=(0, 10.5))

    def mean_text(value: float | None, count: int) -> str:
        return "–" if value is None else f"{number(value, lang)} ({count})"

    rows = [[week, *(mean_text(p.weekly_means[i], p.weekly_reviews[i]) for p in fig.people)]
            for i, week in enumerate(weeks)]
    footer = [[label("report_reviews", lang), *(str(p.reviews) for p in fig.people)],
              [label("report_blocked", lang), *(str(p.blocked) for p in fig.people)],
              [label("report_mean_score", lang), *(number(p.mean, lang) for p in fig.people)]]
    table = _table(label("report_people_table", lang), [label("report_week", lang), *names], rows, footer)
    return _section("people", title, _paragraph(label("report_people_intro", lang)), _figure(chart), table)


def summary(fig: TeamFigures, lang: str) -> str:
    text = label("report_summary", lang, reviews=fig.reviews, blocked=percent(fig.share_blocked, lang))
    if fig.top_category is not None:
        text += " · " + label("report_summary_top", lang, category=category_name(fig.top_category, lang))
    return text


def render_html(fig: TeamFigures, lang: str = "en", team: str = "", generated: float | None = None) -> str:
    """The whole page; `team` names it (the brand), `generated` is when it was made."""
    lang = ui_language(lang)
    title = label("report_title", lang, team=team or label("report_team", lang))
    start, end = day(fig.since), day(fig.until)
    period = label("report_period", lang, start=start, end=end, platform=platform_name(fig.platform, lang))
    weeks = [w.start.isoformat() for w in fig.weeks]
    if fig.reviews:
        body = [_paragraph(summary(fig, lang), "summary"), _verdicts(fig, lang, weeks), _categories(fig, lang),
                _rules(fig, lang, weeks), _approvals(fig, lang, weeks), _people(fig, lang, weeks)]
    else:
        body = [_paragraph(label("report_empty", lang, start=start, end=end), "empty")]
        if fig.approvals.requests:
            body.append(_approvals(fig, lang, weeks))
    footer = label("report_footer", lang, date=day(generated if generated is not None else fig.until))
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n<main>\n"
        f"<h1>{escape(title)}</h1>\n{_paragraph(period, 'period')}\n"
        + "\n".join(body)
        + f"\n<footer>{escape(footer)}</footer>\n</main>\n</body>\n</html>\n"
    )


def render_csv(fig: TeamFigures) -> str:
    """One row per week: the verdict counts, the reviews per category, each rule's mean
    score (empty for a week without reviews). Ids, not words: a spreadsheet reads them."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["week", "reviews", *VERDICTS, *(f"category_{c}" for c in fig.categories),
                     *(f"rule_{rule}" for rule in GOLDEN_RULES)])
    for w in fig.weeks:
        writer.writerow([w.start.isoformat(), w.reviews, *(w.verdicts[v] for v in VERDICTS),
                         *(w.categories[c] for c in fig.categories),
                         *("" if w.rule_means[r] is None else f"{w.rule_means[r]:.2f}" for r in GOLDEN_RULES)])
    return out.getvalue()
