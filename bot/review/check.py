"""`cm-coach check`: a library of canned replies judged line by line, like a linter.

Each reply is judged as `cm-coach review` judges it (the offline engine, the second
reading and the relevance check, with the same settings) but no rewrite is built: a
linter reports, it does not repair. Inputs are read whole before any is judged, so that
a wrong path or column stops the run at once; a line that cannot be read or judged is
reported as an error and the rest go on.

A big library is split into chunks over worker processes, which send back only what is
reported, never Review objects. Where the system can, they are forked from this process
once it has judged one reply (`pool_context`): they start with the packs compiled and
the model read, where a fresh interpreter spends a third of a second on that.
"""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.review.options import ReviewSetup
from bot.review.reviewer import Reviewer
from bot.review.taxonomy import SEVERITY_ORDER, VERDICT_ORDER, VERDICTS
from bot.review.validation import DraftError
from bot.review.workers import CHUNKS_PER_WORKER, pool_context, worker_count

# File name endings read, and how.
INPUT_KINDS: dict[str, str] = {".txt": "txt", ".jsonl": "jsonl", ".csv": "csv"}
# The field (JSON Lines) or column (CSV) holding the reply, the first found.
DRAFT_FIELDS = ("draft", "text")
CONTEXT_FIELD = "context"
_BOM = b"\xef\xbb\xbf"


class CheckError(Exception):
    """An input that stops the run before anything is judged (missing file, unknown
    format, no such column); the message names the file and what to do."""


@dataclass(frozen=True)
class InputFile:
    path: str  # as given on the command line
    kind: str  # txt | jsonl | csv
    lines: int = 0  # replies read from it


@dataclass(frozen=True)
class Entry:
    """One reply to judge, where it stands in its file."""

    file: str
    line: int
    draft: str
    context: str | None = None


@dataclass(frozen=True)
class Problem:
    """A line that could not be read or judged."""

    file: str
    line: int
    message: str


@dataclass(frozen=True)
class Flag:
    """A finding as a linter reports it; `start`/`end` index the reply (None: no span)."""

    category: str
    severity: str
    rule_id: str
    message: str
    start: int | None = None
    end: int | None = None
    text: str = ""

    @property
    def column(self) -> int:
        """1-based column of the flagged words in the reply (1 when nothing is pointed at)."""
        return 1 if self.start is None else self.start + 1

    @property
    def end_column(self) -> int | None:
        """1-based column just past the flagged words."""
        return None if self.end is None else self.end + 1


@dataclass(frozen=True)
class Result:
    """The judgement of one reply: its verdict, risk and findings, as `review` gives them.
    `reason`: why a reply is not `post` when no finding says it (an off-topic answer)."""

    file: str
    line: int
    verdict: str
    risk: int
    flags: tuple[Flag, ...] = ()
    reason: str | None = None

    @property
    def reported(self) -> tuple[Flag, ...]:
        """What a linter shows of the reply: nothing for `post`; else its findings, the most
        severe first, or one flag carrying the reason when no finding says why."""
        if self.verdict == "post":
            return ()
        if not self.flags:
            return (Flag("off_topic" if self.reason else "verdict", "medium",
                         "off_topic" if self.reason else "verdict",
                         self.reason or f"Judged {self.verdict} by its golden-rule scores."),)
        return tuple(sorted(self.flags, key=lambda f: (-SEVERITY_ORDER.get(f.severity, 0),
                                                       f.start is None, f.start or 0)))

    @property
    def column(self) -> int:
        """The column of the most severe finding that points at words, else 1."""
        return next((f.column for f in self.reported or self.flags if f.start is not None), 1)


@dataclass
class Checked:
    """Everything a check found, in input order."""

    files: list[InputFile]
    results: list[Result] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Lines judged, per verdict; input errors; per category, the lines to revise or
        block that raise it."""
        verdicts = Counter(r.verdict for r in self.results)
        categories = Counter(c for r in self.results if r.verdict != "post"
                             for c in dict.fromkeys(f.category for f in r.reported))
        return {
            "lines": len(self.results),
            **{v: verdicts.get(v, 0) for v in VERDICTS},
            "errors": len(self.problems),
            "categories": dict(sorted(categories.items(), key=lambda kv: (-kv[1], kv[0]))),
        }

    def worst(self) -> list[Result]:
        """Lines to revise or block: block first, then by risk, then in input order."""
        order = {f.path: i for i, f in enumerate(self.files)}
        bad = [r for r in self.results if r.verdict != "post"]
        return sorted(bad, key=lambda r: (-VERDICT_ORDER[r.verdict], -r.risk, order.get(r.file, 0), r.line))

    def reaches(self, verdict: str) -> bool:
        """Whether any line is judged `verdict` or worse."""
        return any(VERDICT_ORDER[r.verdict] >= VERDICT_ORDER[verdict] for r in self.results)


# -- reading ---------------------------------------------------------------------------


def kind_of(path: str) -> str:
    """The input format a file name says, or CheckError naming the accepted ones."""
    kind = INPUT_KINDS.get(Path(path).suffix.lower())
    if kind is None:
        raise CheckError(f"{path}: unknown file type {Path(path).suffix or '(no extension)'!r}; "
                         f"check reads {', '.join(INPUT_KINDS)} files")
    return kind


def _physical_lines(data: bytes) -> Iterator[tuple[int, bytes]]:
    """Numbered lines split at LF only, so that numbers match an editor's even when a
    reply holds a Unicode line separator; CR of CRLF and a leading BOM are dropped."""
    if data.startswith(_BOM):
        data = data[len(_BOM):]
    for number, raw in enumerate(data.split(b"\n"), 1):
        yield number, raw.removesuffix(b"\r")


def _decode(raw: bytes, path: str, number: int) -> str | Problem:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Problem(path, number, f"not UTF-8 text (byte {exc.start + 1} of the line); "
                                     "save the file as UTF-8")


def _read_txt(path: str, data: bytes) -> tuple[list[Entry], list[Problem]]:
    entries: list[Entry] = []
    problems: list[Problem] = []
    for number, raw in _physical_lines(data):
        text = _decode(raw, path, number)
        if isinstance(text, Problem):
            problems.append(text)
        elif text.strip():
            entries.append(Entry(path, number, text))
    return entries, problems


def _read_jsonl(path: str, data: bytes) -> tuple[list[Entry], list[Problem]]:
    entries: list[Entry] = []
    problems: list[Problem] = []
    wanted = " or ".join(f'"{k}"' for k in DRAFT_FIELDS)
    for number, raw in _physical_lines(data):
        text = _decode(raw, path, number)
        if isinstance(text, Problem):
            problems.append(text)
            continue
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.append(Problem(path, number, f"not valid JSON ({exc.msg}, column {exc.colno})"))
            continue
        draft = next((record[k] for k in DRAFT_FIELDS if isinstance(record, dict) and k in record), None)
        context = record.get(CONTEXT_FIELD) if isinstance(record, dict) else None
        if not isinstance(draft, str):
            problems.append(Problem(path, number, f"a JSON object with a {wanted} string is expected"))
        elif context is not None and not isinstance(context, str):
            problems.append(Problem(path, number, f'"{CONTEXT_FIELD}" must be a string'))
        elif draft.strip():
            entries.append(Entry(path, number, draft, context or None))
    return entries, problems


def _read_csv(path: str, data: bytes, column: str | None) -> tuple[list[Entry], list[Problem]]:
    """Rows of a CSV file with a header; a reply's line is the physical line its record
    starts on (a quoted reply may span several)."""
    numbered = list(_physical_lines(data))
    undecodable: dict[int, Problem] = {}
    texts: list[str] = []
    for number, raw in numbered:
        text = _decode(raw, path, number)
        if isinstance(text, Problem):
            undecodable[number] = text
            text = raw.decode("utf-8", errors="replace")
        texts.append(text + ("\n" if number < len(numbered) else ""))
    reader = csv.reader(texts)
    header = next(reader, None)
    if header is None:
        return [], []
    bad_header = next((undecodable[n] for n in range(1, reader.line_num + 1) if n in undecodable), None)
    if bad_header is not None:
        raise CheckError(f"{path}, line {bad_header.line}: the header row is {bad_header.message}")
    names = [h.strip() for h in header]
    wanted = (column,) if column else DRAFT_FIELDS
    index = next((names.index(w) for w in wanted if w in names), None)
    if index is None:
        raise CheckError(f"{path}: no column {' or '.join(map(repr, wanted))} in the header "
                         f"({', '.join(map(repr, names)) or 'empty'}); name one with --column")
    context_index = names.index(CONTEXT_FIELD) if CONTEXT_FIELD in names else None
    entries: list[Entry] = []
    problems: list[Problem] = []
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(Problem(path, start, f"not valid CSV ({exc})"))
            continue
        bad = next((undecodable[n] for n in range(start, reader.line_num + 1) if n in undecodable), None)
        if bad is not None:
            problems.append(bad)
            continue
        if not any(cell.strip() for cell in row):
            continue
        if index >= len(row):
            problems.append(Problem(path, start, f"the row has no {names[index]!r} cell"))
            continue
        if not row[index].strip():
            continue
        context = row[context_index] if context_index is not None and context_index < len(row) else None
        entries.append(Entry(path, start, row[index], context or None))
    return entries, problems


def read_inputs(paths: Sequence[str], column: str | None = None
                ) -> tuple[list[InputFile], list[Entry], list[Problem]]:
    """Every reply of every file, and the lines that cannot be read. CheckError, before any
    file is read, for an unknown type or a missing file; after, for a missing column."""
    for path in paths:
        kind_of(path)
        if not Path(path).is_file():
            raise CheckError(f"{path}: no such file" if not Path(path).exists() else f"{path}: not a file")
    files: list[InputFile] = []
    entries: list[Entry] = []
    problems: list[Problem] = []
    for path in paths:
        kind = kind_of(path)
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise CheckError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
        if kind == "txt":
            got, bad = _read_txt(path, data)
        elif kind == "jsonl":
            got, bad = _read_jsonl(path, data)
        else:
            got, bad = _read_csv(path, data, column)
        files.append(InputFile(path, kind, len(got)))
        entries += got
        problems += bad
    return files, entries, problems


# -- judging ---------------------------------------------------------------------------

# What a worker sends back per reply: (verdict, risk, flags, reason), or an error message.
FlagTuple = tuple[str, str, str, str, int | None, int | None, str]
Outcome = tuple[str, int, tuple[FlagTuple, ...], str | None] | str


@dataclass(frozen=True)
class Judge:
    """How each reply is judged: the settings `review` would use, its platform and language."""

    setup: ReviewSetup
    platform: str
    lang: str | None = None

    def one(self, reviewer: Reviewer, draft: str, context: str | None) -> Outcome:
        request = reviewer.request(draft, context=context, platform=self.platform, lang=self.lang)
        try:
            review = reviewer.review_sync(request, rewrite=False)
        except DraftError as exc:
            return str(exc)
        flags = tuple((f.category, f.severity, f.rule_id, f.message,
                       f.span.start if f.span else None, f.span.end if f.span else None,
                       f.span.text if f.span else "") for f in review.findings)
        # A verdict no finding explains was set by the relevance check: its note says why.
        reason = review.notes[-1] if review.verdict != "post" and not flags and review.notes else None
        return review.verdict, review.risk, flags, reason

    def many(self, items: Sequence[tuple[str, str | None]], reviewer: Reviewer | None = None
             ) -> list[Outcome]:
        reviewer = reviewer or Reviewer(self.setup, engine="offline")
        return [self.one(reviewer, draft, context) for draft, context in items]


# A worker process's judge and reviewer, set once by the pool's initializer.
_worker: tuple[Judge, Reviewer] | None = None


def _start_worker(judge: Judge, reviewer: Reviewer | None = None) -> None:
    global _worker
    _worker = judge, reviewer or Reviewer(judge.setup, engine="offline")


def _judge_chunk(start: int, items: list[tuple[str, str | None]]) -> tuple[int, list[Outcome]]:
    assert _worker is not None, "the pool's initializer sets the judge"
    judge, reviewer = _worker
    return start, judge.many(items, reviewer)


def judge_entries(entries: Sequence[Entry], judge: Judge, *, jobs: int | None = None,
                  progress: Callable[[int], None] | None = None) -> list[Outcome]:
    """The outcome of every entry, in order; `progress` is told how many more are done."""
    items = [(e.draft, e.context) for e in entries]
    workers = worker_count(len(items), jobs)
    if workers <= 1:
        reviewer = Reviewer(judge.setup, engine="offline")
        out: list[Outcome] = []
        step = 50  # progress is told in steps: a bar redrawn per reply would cost more than it shows
        for i in range(0, len(items), step):
            out += judge.many(items[i:i + step], reviewer)
            if progress is not None:
                progress(len(items[i:i + step]))
        return out
    size = math.ceil(len(items) / (workers * CHUNKS_PER_WORKER))
    outcomes: list[Outcome | None] = [None] * len(items)
    reviewer = Reviewer(judge.setup, engine="offline")
    context, forked = pool_context(lambda: judge.one(reviewer, *items[0]))
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_start_worker,
                               initargs=(judge, reviewer) if forked else (judge,))
    try:
        pending: set[Future[tuple[int, list[Outcome]]]] = {
            pool.submit(_judge_chunk, i, items[i:i + size]) for i in range(0, len(items), size)}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                start, chunk = future.result()
                outcomes[start:start + len(chunk)] = chunk
                if progress is not None:
                    progress(len(chunk))
    finally:
        # Interrupted or failed: the chunks not started yet are dropped, not run.
        pool.shutdown(wait=True, cancel_futures=True)
    return [o for o in outcomes if o is not None]


def check(paths: Sequence[str], judge: Judge, *, column: str | None = None, jobs: int | None = None,
          progress: Callable[[int], None] | None = None,
          on_read: Callable[[int], None] | None = None) -> Checked:
    """Read every file, judge every reply; `on_read` is told how many replies there are."""
    files, entries, problems = read_inputs(paths, column)
    if on_read is not None:
        on_read(len(entries))
    checked = Checked(files, problems=problems)
    for entry, outcome in zip(entries, judge_entries(entries, judge, jobs=jobs, progress=progress),
                              strict=True):
        if isinstance(outcome, str):
            checked.problems.append(Problem(entry.file, entry.line, outcome))
            continue
        verdict, risk, flags, reason = outcome
        checked.results.append(Result(entry.file, entry.line, verdict, risk,
                                      tuple(Flag(*f) for f in flags), reason))
    order = {f.path: i for i, f in enumerate(files)}
    checked.problems.sort(key=lambda p: (order.get(p.file, 0), p.line))
    return checked
