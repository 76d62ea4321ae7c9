"""The `cm-coach` command line.

Subcommands import what they need when they run, so that an offline
`cm-coach review` never loads openai, slack_bolt or discord.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot import __version__
from bot.review.models import PLATFORMS
from bot.review.taxonomy import LANGUAGES, VERDICT_ORDER, VERDICTS

if TYPE_CHECKING:
    from bot.config import Settings

EXIT_OK, EXIT_FAIL_ON, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A problem the user can fix; printed as one line, exit code 2."""


COMMANDS = ("review", "eval", "check", "report", "rules", "doctor", "chat", "crisis", "serve")


def _parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser; with `command`, that subcommand's alone (building the
    other eight took 5 ms of every `cm-coach review`): `main` passes it when the first
    argument names one, so help and errors about the others are the whole parser's."""

    def wanted(name: str) -> bool:
        return command is None or command == name

    p = argparse.ArgumentParser(
        prog="cm-coach",
        description="Reviews a community manager's draft reply against Odile Ambry's four golden "
        "rules (guard the reputation, produce, know how to react, federate).",
        epilog="Examples:\n"
        '  cm-coach review "Please delete the photo and DM us."\n'
        '  cm-coach review --context "My order arrived broken." --platform x "DM us."\n'
        "  echo \"Merci de retirer votre vidéo\" | cm-coach review - --format json\n"
        "  cm-coach eval --held-back\n"
        "  cm-coach check replies.txt --fail-on block --format github\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"cm-coach {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    if wanted("review"):
        r = sub.add_parser(
            "review", help="review a draft reply", description="Review a draft reply.",
            epilog="exit codes: 0 reviewed; 1 the verdict reached --fail-on; "
            "2 nothing reviewed (empty or too long draft, bad option or config: see the message)",
        )
        r.add_argument("text", nargs="?", help="the draft; '-' or nothing reads it from standard input")
        r.add_argument("--context", help="the customer's message the draft answers")
        r.add_argument("--platform", help=f"where it will be posted: {', '.join(PLATFORMS)}")
        r.add_argument("--lang", help="the draft's language (fr, en); detected when omitted")
        r.add_argument("--config", help="config file (default: ./cm-coach.toml, then the user config)")
        r.add_argument("--format", choices=("text", "json", "markdown"), default="text",
                       help="text: a report for the terminal (default); json: the review contract; "
                       "markdown: for docs and tickets")
        r.add_argument("--engine", choices=("offline", "llm", "auto"), help="override review.engine")
        r.add_argument("--fail-on", choices=VERDICTS[1:],
                       help="exit 1 when the verdict is this or worse (for CI checks of canned replies)")
        r.add_argument("--no-color", action="store_true", help="plain text, no colours")

    if wanted("eval"):
        e = sub.add_parser(
            "eval", help="score the engine on labelled JSONL corpora",
            description="Score the engine on labelled cases: risky drafts caught, safe drafts blocked, "
            "per-category precision/recall/F1 and the verdict confusion.",
            epilog="With no file, the project's corpus (corpus/*.jsonl). A fixed third of the cases "
            "written apart from the rule packs is held back (a hash of each id): --held-back scores "
            "only those and lists no case, --tuning scores the rest.",
        )
        e.add_argument("files", nargs="*", metavar="FILE",
                       help="JSONL corpora (see docs/review-contract.md)")
        split = e.add_mutually_exclusive_group()
        split.add_argument("--held-back", dest="split", action="store_const", const="held-back",
                           help="only the held-back third; figures only, no case listed")
        split.add_argument("--tuning", dest="split", action="store_const", const="tuning",
                           help="every case but the held-back third")
        e.add_argument("--show-cases", action="store_true",
                       help="list the mismatched cases even with --held-back")
        e.add_argument("--jobs", type=int, metavar="N",
                       help="offline: processes (default: every CPU above 300 cases where workers fork, "
                       "2,000 elsewhere; 1: this process only)")
        e.add_argument("--format", choices=("text", "json"), default="text")
        e.add_argument("--config", help="config file")
        e.add_argument("--engine", choices=("offline", "llm", "auto"), default="offline")
        e.add_argument("--concurrency", type=int, metavar="N",
                       help="LLM engine: reviews at once (default: [llm] max_concurrency)")
        e.add_argument("--repeat", type=int, default=1, metavar="N",
                       help="LLM engine: review every case N times, to see how much verdicts vary")

    if wanted("check"):
        ch = sub.add_parser(
            "check", help="review a library of canned replies, one per line, like a linter",
            description="Judge every reply of .txt (one a line), .jsonl (a \"draft\" or \"text\" field, "
            "optional \"context\") or .csv files (a header row) as `review` does, without rewrites.",
            epilog="exit codes: 0 every line judged; 1 a line reached --fail-on; "
            "2 a file or line could not be read (see the messages on standard error)",
        )
        ch.add_argument("files", nargs="+", metavar="FILE", help="replies: .txt, .jsonl or .csv")
        ch.add_argument("--format", choices=("text", "json", "sarif", "github"), default="text",
                        help="text: a summary and the worst lines (default); json: every line; "
                        "sarif: SARIF 2.1.0 for code scanning; github: workflow annotations")
        ch.add_argument("--fail-on", choices=VERDICTS[1:],
                        help="exit 1 when any line is judged this or worse")
        ch.add_argument("--column", help="CSV: the column holding the reply (default: draft, then text)")
        ch.add_argument("--lang", choices=LANGUAGES, help="the replies' language; detected per line when omitted")
        ch.add_argument("--platform", help=f"where they will be posted: {', '.join(PLATFORMS)}")
        ch.add_argument("--jobs", type=int, metavar="N",
                        help="processes (default: every CPU above 300 lines where workers fork, "
                        "2,000 elsewhere; 1: this process only)")
        ch.add_argument("--limit", type=int, default=20, metavar="N",
                        help="text: the worst lines shown (default 20; 0: all)")
        ch.add_argument("--config", help="config file")

    if wanted("report"):
        rp = sub.add_parser(
            "report", help="write the team's figures as one HTML page",
            description="Write one self-contained HTML page of the team's figures from the store: reviews "
            "per week by verdict, the risks that recur, the golden-rule scores over time, approvals and "
            "their delays, and the trend of each person who opted in. Drafts are never shown.",
            epilog="exit codes: 0 written; 2 --since not understood, the store or a file out of reach",
        )
        rp.add_argument("--since", default="30d",
                        help="the period's start: days (30d, the default), weeks (12w) or a date (2026-01-01)")
        rp.add_argument("--out", default="cm-coach-report.html", metavar="PATH",
                        help="the page to write (default: cm-coach-report.html here)")
        rp.add_argument("--csv", metavar="PATH", help="also write the weekly figures as CSV")
        rp.add_argument("--lang", choices=("en", "fr"), default="en", help="the page's language (default: en)")
        rp.add_argument("--platform", choices=("slack", "discord", "all"), default="all",
                        help="only one platform's reviews (default: all)")
        rp.add_argument("--config", help="config file")

    if wanted("rules"):
        ru = sub.add_parser("rules", help="list the rules of the offline engine")
        ru.add_argument("--lang", choices=LANGUAGES, help="only this language")
        ru.add_argument("--format", choices=("text", "json"), default="text")

    if wanted("doctor"):
        d = sub.add_parser("doctor", help="check the configuration and reach the LLM endpoint")
        d.add_argument("--config", help="config file")

    if wanted("chat"):
        c = sub.add_parser("chat", help="coach in the terminal, as in a direct message")
        c.add_argument("--config", help="config file")
        c.add_argument("--user", default=None, help="who is talking (default: your login name)")

    if wanted("crisis"):
        cr = sub.add_parser("crisis", help="crisis mode for every workspace and server: on, off, or its state")
        cr.add_argument("state", nargs="?", choices=("on", "off", "status"), default="status")
        cr.add_argument("--hours", type=float, help="with on: how long it lasts (default: team.crisis_hours)")
        cr.add_argument("--config", help="config file")
        cr.add_argument("--user", default=None, help="who does it, for the audit trail (default: your login name)")

    if wanted("serve"):
        s = sub.add_parser("serve", help="run the bot on a chat platform")
        s.add_argument("platform", choices=("slack", "discord"))
        s.add_argument("--config", help="config file")
        s.add_argument("--http", action="store_true", help="Slack: HTTP mode instead of Socket Mode")
        s.add_argument("--port", type=int, help="Slack HTTP mode: port to listen on")
    return p


def _load(args: argparse.Namespace) -> Settings:
    from bot.config import ConfigError, load_settings

    try:
        return load_settings(getattr(args, "config", None))
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc


def _read_draft(text: str | None) -> str:
    if text is not None and text != "-":
        return text
    if sys.stdin is None or (text is None and sys.stdin.isatty()):
        raise UsageError('no draft given: cm-coach review "your reply", or pipe it in with -')
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8-sig")  # a BOM (files saved on Windows) is not part of the draft
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"standard input is not UTF-8 text (byte {exc.start}); save the draft as UTF-8 and retry"
        ) from exc


def _terminal_width() -> int:
    import shutil  # a terminal only: piped output pays nothing for it

    return shutil.get_terminal_size((88, 24)).columns


def cmd_review(args: argparse.Namespace) -> int:
    from bot.review.reviewer import Reviewer
    from bot.review.validation import DraftError

    settings = _load(args)
    platform = args.platform or settings.brand.platform
    if platform not in PLATFORMS:
        raise UsageError(f"unknown platform {platform!r}; choose one of {', '.join(PLATFORMS)}")
    if args.lang and args.lang not in LANGUAGES:
        raise UsageError(f"unknown language {args.lang!r}; the offline engine speaks "
                         f"{', '.join(LANGUAGES[:-1])} and {LANGUAGES[-1]}")
    draft = _read_draft(args.text)
    reviewer = Reviewer(settings, engine=args.engine)
    request = reviewer.request(draft, context=args.context, platform=platform, lang=args.lang)
    try:
        if reviewer.use_llm():
            if sys.stderr.isatty():  # an LLM takes seconds: say what is happening
                print(f"cm-coach: reviewing with {settings.llm.model}… (the offline engine answers "
                      "if the model fails)", file=sys.stderr, flush=True)
            review = reviewer.review_blocking(request)
        else:
            review = reviewer.review_sync(request)
    except DraftError as exc:
        raise UsageError(str(exc)) from exc
    if args.format == "json":
        print(json.dumps(review.to_dict(), ensure_ascii=False, indent=2))
    elif args.format == "markdown":
        from bot.render.markdown import render_markdown

        print(render_markdown(review))
    else:
        from bot.render.terminal import render_terminal

        color = not args.no_color and sys.stdout.isatty() and "NO_COLOR" not in os.environ
        width = _terminal_width() if sys.stdout.isatty() else 88
        print(render_terminal(review, color=color, width=min(width, 120)))
    if args.fail_on and VERDICT_ORDER[review.verdict] >= VERDICT_ORDER[args.fail_on]:
        return EXIT_FAIL_ON
    return EXIT_OK


def cmd_eval(args: argparse.Namespace) -> int:
    from bot.review.evaluation import (
        CorpusError,
        default_files,
        evaluate_files,
        format_report,
        progress_bar,
    )

    settings = _load(args)
    split = args.split or "all"
    files = args.files or default_files()
    if args.repeat < 1 or any(n is not None and n < 1 for n in (args.concurrency, args.jobs)):
        raise UsageError("--repeat, --concurrency and --jobs take a number of 1 or more")
    try:
        report = evaluate_files(files, settings, engine=args.engine, split=split,
                                concurrency=args.concurrency, repeat=args.repeat,
                                progress=progress_bar() if args.engine != "offline" else None,
                                jobs=args.jobs)
    except CorpusError as exc:
        raise UsageError(str(exc)) from exc
    # The held-back cases are scored, never read case by case, unless asked.
    hide = split == "held-back" and not args.show_cases
    if hide:
        for key in ("mismatches", "details", "risky_judged_post", "safe_judged_block"):
            report.pop(key)
        if "llm" in report:
            report["llm"].pop("disagreements")
            report["llm"].get("repeat", {}).pop("unstable", None)
    if args.format == "json":
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(format_report(report, cases=not hide))
    return EXIT_OK


def cmd_rules(args: argparse.Namespace) -> int:
    from bot.review.packs import packs

    rows = []
    for lang, pack in sorted(packs().items()):
        if args.lang and lang != args.lang:
            continue
        for rule in pack.rules:
            rows.append({"lang": lang, "id": rule.id, "category": rule.category, "rule": rule.rule,
                         "severity": rule.severity, "message": rule.message, "case": rule.case})
        for s in pack.strengths:
            rows.append({"lang": lang, "id": s.id, "category": f"strength:{s.kind}", "rule": s.rule,
                         "severity": "-", "message": s.message, "case": None})
    if args.format == "json":
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return EXIT_OK
    width = max((len(r["id"]) for r in rows), default=10)
    for r in rows:
        print(f"{r['lang']}  {r['id']:<{width}}  {r['category']:<20} {r['rule']:<10} {r['severity']:<6}  {r['message']}")
    print(f"\n{len(rows)} rules. Edit them in bot/review/packs/*.yml (see docs/rule-packs.md).")
    return EXIT_OK


def _delegate(module: str, function: str, args: argparse.Namespace) -> int:
    import importlib

    settings = _load(args)
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        raise UsageError(f"this command needs a module that is not installed ({exc.name}); "
                         "reinstall with `make demo` or `pip install -e .`") from exc
    return int(getattr(mod, function)(args, settings) or 0)


def _tolerant_output() -> None:
    """A terminal that cannot show a character gets '?' instead of a traceback."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")


def _dispatch(args: argparse.Namespace) -> int | None:
    if args.command == "review":
        return cmd_review(args)
    if args.command == "eval":
        return cmd_eval(args)
    if args.command == "rules":
        return cmd_rules(args)
    if args.command == "check":
        return _delegate("bot.render.check", "run", args)
    if args.command == "report":
        return _delegate("bot.app.report", "run", args)
    if args.command == "doctor":
        return _delegate("bot.doctor", "run", args)
    if args.command == "chat":
        return _delegate("bot.platforms.console", "run", args)
    if args.command == "crisis":
        return _delegate("bot.platforms.console", "crisis", args)
    if args.command == "serve":
        return _delegate(f"bot.platforms.{args.platform}", "serve", args)
    return None


def main(argv: Sequence[str] | None = None) -> int:
    _tolerant_output()
    given = list(sys.argv[1:] if argv is None else argv)
    parser = _parser(given[0] if given and given[0] in COMMANDS else None)
    args = parser.parse_args(given)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        code = _dispatch(args)
        sys.stdout.flush()  # a closed pipe shows here, not as a traceback at exit
    except UsageError as exc:
        print(f"cm-coach: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("cm-coach: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`cm-coach rules | head`): stop quietly, as a pipe expects.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    if code is None:
        parser.print_help()
        return EXIT_USAGE
    return code


if __name__ == "__main__":
    sys.exit(main())
