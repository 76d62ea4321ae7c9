"""`cm-coach eval` beside proselint 0.16 on the same drafts, whole processes, one core.

    python bench/proselint_bench.py                 # ~3,000 drafts, median of 3 runs each
    python bench/proselint_bench.py --lines 5000 --runs 5

A prose linter is the nearest tool a team would otherwise run over its saved replies.
The drafts are the labelled corpus's, repeated to --lines with distinct ids: one JSONL
file for `cm-coach eval`, one .txt file per draft for `proselint check` (a folder of
canned replies, as a team keeps them). proselint is installed once in its own venv
under ~/.cache/cm-coach/bench/ (from the package registry); nothing of it enters the
project's environment. Both commands are pinned to the same single core; the figure
is the median wall time of each whole process, start-up included.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
PROSELINT = "proselint==0.16.0"
VENV = Path.home() / ".cache" / "cm-coach" / "bench" / "proselint-0.16"
sys.path.insert(0, str(ROOT))

from bench.check_bench import wall  # noqa: E402  (a whole process timed in the main bench's clean environment)
from bench.run import _cm_coach  # noqa: E402
from bot.review.workers import available_cpus  # noqa: E402


def drafts(lines: int) -> list[dict]:
    """The corpus's cases in file order, repeated to `lines`, each with its own id."""
    cases = [json.loads(line) for path in sorted(CORPUS.glob("*.jsonl"))
             for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [cases[i % len(cases)] | {"id": f"{cases[i % len(cases)]['id']}#{i // len(cases)}"}
            for i in range(lines)]


def proselint() -> Path:
    """The proselint command of the bench's own venv, created on first use."""
    command = VENV / "bin" / "proselint"
    if not command.exists():
        venv.create(VENV, with_pip=True, clear=True)
        subprocess.run([str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", PROSELINT],
                       check=True)
    return command


def one_core() -> list[str]:
    """A prefix that pins a command to the first core this process may use."""
    if hasattr(os, "sched_getaffinity"):
        return ["taskset", "-c", str(min(os.sched_getaffinity(0)))]
    return []


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=3000, help="drafts in the run")
    parser.add_argument("--runs", type=int, default=3, help="runs of each command (the median is kept)")
    args = parser.parse_args()
    cases = drafts(args.lines)
    linter = proselint()
    pin = one_core()
    with tempfile.TemporaryDirectory() as folder:
        cwd = Path(folder)
        (cwd / "drafts.jsonl").write_text(
            "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases), encoding="utf-8")
        replies = cwd / "replies"
        replies.mkdir()
        for n, case in enumerate(cases):
            (replies / f"{n:05d}.txt").write_text(case["draft"] + "\n", encoding="utf-8")
        ours = [*pin, *_cm_coach(), "eval", "drafts.jsonl", "--format", "json"]
        theirs = [*pin, str(linter), "check", "replies"]
        wall(ours, cwd), wall(theirs, cwd)  # warm the file cache and bytecode of both
        ours_s = statistics.median(wall(ours, cwd) for _ in range(args.runs))
        theirs_s = statistics.median(wall(theirs, cwd) for _ in range(args.runs))
        # eval splits a big corpus over every CPU it may use: the same run, unpinned.
        every = [*_cm_coach(), "eval", "drafts.jsonl", "--format", "json"]
        every_s = statistics.median(wall(every, cwd) for _ in range(args.runs))
    where = f"pinned with `{' '.join(pin)}`" if pin else "not pinned"
    print(f"{len(cases):,} drafts (the corpus's, repeated), one core ({where}), median of {args.runs}")
    print("| command | seconds | drafts/s |")
    print("|---|---|---|")
    print(f"| `cm-coach eval` (offline engine, scored) | {ours_s:.2f} | {len(cases) / ours_s:,.0f} |")
    print(f"| `proselint check` ({PROSELINT}) | {theirs_s:.2f} | {len(cases) / theirs_s:,.0f} |")
    print(f"| `cm-coach eval`, every core ({available_cpus()}) | {every_s:.2f} | {len(cases) / every_s:,.0f} |")
    print(f"ratio: cm-coach eval is {theirs_s / ours_s:.1f}× proselint's speed on one core, "
          f"{theirs_s / every_s:.1f}× on every core (aim ≥ 10×)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
