"""`cm-coach check` results drawn for a terminal, JSON, SARIF 2.1.0 and GitHub Actions.

Columns are 1-based and count Unicode code points. In a .txt file a reply is its line,
so the column is the file's; in .jsonl and .csv files it is the column inside the reply
(the JSON string or CSV cell), which is what a reader of the reply needs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from bot import __version__
from bot.render.labels import category_name
from bot.review.check import Checked, CheckError, Flag, Judge, Result, check
from bot.review.models import PLATFORMS
from bot.review.options import ReviewSettings, ReviewSetup

if TYPE_CHECKING:
    from tqdm import tqdm

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
# A line's verdict sets the level of its findings; a low-severity finding is a hint.
SARIF_LEVELS = {"block": "error", "revise": "warning"}
GITHUB_COMMANDS = {"error": "error", "warning": "warning", "note": "notice"}


def level_of(result: Result, flag: Flag) -> str:
    """SARIF level: block → error, revise → warning; a low-severity finding → note."""
    return "note" if flag.severity == "low" else SARIF_LEVELS.get(result.verdict, "note")


def _flagged(flag: Flag) -> str:
    return f' (flagged: "{flag.text}")' if flag.text else ""


def _row(result: Result, flag: Flag) -> str:
    return (f"{result.file}:{result.line}:{flag.column} {result.verdict} {result.risk} "
            f"{flag.category}: {flag.message}{_flagged(flag)}")


def render_text(checked: Checked, limit: int = 20) -> str:
    """A summary table, then the worst lines (all of them when `limit` is 0), one row
    per finding: file:line:col verdict risk category: message (flagged: "words")."""
    s = checked.summary()
    names = ", ".join(f.path for f in checked.files)
    lines = [f"{s['lines']:,} lines checked in {len(checked.files)} file(s): {names}", ""]
    width = max([len("errors"), *(len(c) for c in s["categories"])]) + 2
    for verdict in ("post", "revise", "block"):
        share = f"  {100 * s[verdict] / s['lines']:5.1f} %" if s["lines"] else ""
        lines.append(f"  {verdict:<{width}}{s[verdict]:>7,}{share}")
    if s["errors"]:
        lines.append(f"  {'errors':<{width}}{s['errors']:>7,}  (lines not read or not judged: see above)")
    if s["categories"]:
        lines += ["", f"  {'category':<{width}}{'lines':>7}"]
        lines += [f"  {c:<{width}}{n:>7,}" for c, n in s["categories"].items()]
    worst = checked.worst()
    if not worst:
        lines += ["", "Nothing to revise or block."]
        return "\n".join(lines)
    shown = worst if limit <= 0 else worst[:limit]
    more = "" if len(shown) == len(worst) else "; --limit 0 lists them all"
    lines += ["", f"Worst lines ({len(shown):,} of {len(worst):,} to revise or block{more}):"]
    for result in shown:
        lines += [_row(result, flag) for flag in result.reported]
    return "\n".join(lines)


def _flag_dict(flag: Flag) -> dict[str, Any]:
    span = None if flag.start is None else {"start": flag.start, "end": flag.end, "text": flag.text}
    return {"category": flag.category, "severity": flag.severity, "rule_id": flag.rule_id,
            "message": flag.message, "span": span, "column": flag.column, "end_column": flag.end_column}


def to_json(checked: Checked) -> dict[str, Any]:
    """Every line judged, post included, with its findings as `review --format json` gives them."""
    return {
        "files": [{"path": f.path, "format": f.kind, "lines": f.lines} for f in checked.files],
        "summary": checked.summary(),
        "results": [
            {"file": r.file, "line": r.line, "column": r.column, "verdict": r.verdict, "risk": r.risk,
             "findings": [_flag_dict(f) for f in r.flags],
             **({"reason": r.reason} if r.reason else {})}
            for r in checked.results
        ],
        "errors": [{"file": p.file, "line": p.line, "message": p.message} for p in checked.problems],
    }


def _uri(path: str) -> str:
    """The path as given, as a URI reference: relative paths stay relative (code scanning
    resolves them against the repository), absolute ones become file: URIs."""
    p = Path(path)
    if p.is_absolute():
        try:
            p = p.relative_to(Path.cwd())
        except ValueError:
            return p.as_uri()
    return quote(p.as_posix(), safe="/")


def _location(uri: str, line: int, flag: Flag | None = None) -> dict[str, Any]:
    region: dict[str, Any] = {"startLine": line}
    if flag is not None and flag.start is not None:  # no span (a missing apology): the whole line
        region["startColumn"] = flag.column
        if flag.end_column is not None:
            region["endColumn"] = flag.end_column
            region["snippet"] = {"text": flag.text}
    return {"physicalLocation": {"artifactLocation": {"uri": uri}, "region": region}}


def to_sarif(checked: Checked) -> dict[str, Any]:
    """A SARIF 2.1.0 log: one run, one result per finding of a line to revise or block;
    rule ids are the findings' rule ids; lines not read are tool notifications."""
    rules: dict[str, dict[str, Any]] = {}
    uris = {f.path: _uri(f.path) for f in checked.files}
    results: list[dict[str, Any]] = []
    for result in checked.results:
        for flag in result.reported:
            rule_id = flag.rule_id or flag.category
            rules.setdefault(rule_id, {
                "id": rule_id,
                "shortDescription": {"text": category_name(flag.category, "en")},
                "fullDescription": {"text": flag.message},
                "properties": {"category": flag.category},
            })
            results.append({
                "ruleId": rule_id,
                "level": level_of(result, flag),
                "message": {"text": f"{flag.message}{_flagged(flag)}"},
                "locations": [_location(uris[result.file], result.line, flag)],
                "properties": {"verdict": result.verdict, "risk": result.risk,
                               "category": flag.category, "severity": flag.severity},
            })
    ordered = sorted(rules)
    for r in results:
        r["ruleIndex"] = ordered.index(r["ruleId"])
    invocation: dict[str, Any] = {"executionSuccessful": not checked.problems}
    if checked.problems:
        invocation["toolExecutionNotifications"] = [
            {"level": "error", "message": {"text": p.message},
             "locations": [_location(uris.get(p.file, _uri(p.file)), p.line)]}
            for p in checked.problems
        ]
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "cm-coach", "version": __version__,
                                "rules": [rules[i] for i in ordered]}},
            "columnKind": "unicodeCodePoints",
            "invocations": [invocation],
            "results": results,
        }],
    }


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(checked: Checked) -> str:
    """GitHub Actions workflow commands: one annotation per finding of a line to revise
    (warning) or block (error); a low-severity finding is a notice; unread lines are errors."""
    out: list[str] = []
    for p in checked.problems:
        out.append(f"::error file={_escape_property(p.file)},line={p.line},"
                   f"title={_escape_property('cm-coach input')}::{_escape_data(p.message)}")
    for result in checked.results:
        for flag in result.reported:
            command = GITHUB_COMMANDS[level_of(result, flag)]
            place = f"file={_escape_property(result.file)},line={result.line},col={flag.column}"
            if flag.end_column is not None:
                place += f",endColumn={flag.end_column}"
            out.append(f"::{command} {place},title={_escape_property(f'cm-coach {flag.category}')}::"
                       f"{_escape_data(flag.message + _flagged(flag))}")
    return "\n".join(out)


def render(checked: Checked, fmt: str, limit: int = 20) -> str:
    if fmt == "json":
        return json.dumps(to_json(checked), ensure_ascii=False, indent=2)
    if fmt == "sarif":
        return json.dumps(to_sarif(checked), ensure_ascii=False, indent=2)
    if fmt == "github":
        return render_github(checked)
    return render_text(checked, limit)


def run(args: argparse.Namespace, settings: ReviewSettings) -> int:
    """`cm-coach check`: 0 when every line was read and judged (and none reached
    --fail-on), 1 when one reached --fail-on, 2 when an input could not be read."""
    platform = args.platform or settings.profile.platform
    if platform not in PLATFORMS:
        print(f"cm-coach: unknown platform {platform!r}; choose one of {', '.join(PLATFORMS)}",
              file=sys.stderr)
        return 2
    if args.jobs is not None and args.jobs < 1:
        print("cm-coach: --jobs takes a number of 1 or more", file=sys.stderr)
        return 2
    # Only what the judgement reads: workers get it pickled, with nothing of the LLM's setup.
    judge = Judge(ReviewSetup(profile=settings.profile, review=settings.review), platform, args.lang)
    bar: tqdm[Any] | None = None

    def on_read(total: int) -> None:
        nonlocal bar
        if sys.stderr.isatty():  # a bar in a log file is noise
            from tqdm import tqdm

            bar = tqdm(total=total, file=sys.stderr, unit=" lines", desc="cm-coach check", leave=False)

    try:
        checked = check(args.files, judge, column=args.column, jobs=args.jobs,
                        progress=lambda n: bar.update(n) if bar is not None else None, on_read=on_read)
    except CheckError as exc:
        print(f"cm-coach: {exc}", file=sys.stderr)
        return 2
    finally:
        if bar is not None:
            bar.close()
    for p in checked.problems:
        print(f"cm-coach: {p.file}:{p.line}: {p.message}", file=sys.stderr)
    text = render(checked, args.format, args.limit)
    if text:
        print(text)
    if checked.problems:
        return 2
    return 1 if args.fail_on and checked.reaches(args.fail_on) else 0
