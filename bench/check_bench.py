"""`cm-coach check` on a library of canned replies versus one `cm-coach review` per reply.

    python bench/check_bench.py                      # 3,000 replies, 20 reviewed one by one
    python bench/check_bench.py --lines 10000 --sample 30

The library is the labelled corpus's drafts, one a line, repeated to --lines, as a
.txt file. `check` is timed as a whole process (start,
reading, judging on every CPU, SARIF out), then with --jobs 1. One `review` process per
reply is timed on --sample replies spread over the file and extrapolated to all of them:
that is what a shell loop over the library costs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
sys.path.insert(0, str(ROOT))

from bench.run import _clean_env, _cm_coach  # noqa: E402  (the same clean environment as the main bench)


def library(lines: int) -> list[str]:
    """The corpus's drafts on one line each, in file order, repeated to `lines` replies.
    Without the customer's messages: a canned reply is written before any (and the
    engine caches what it reads of a message, which repeats would flatter)."""
    drafts: list[str] = []
    for path in sorted(CORPUS.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                drafts.append(" ".join(json.loads(line)["draft"].split()))
    return [drafts[i % len(drafts)] for i in range(lines)]


def wall(cmd: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=_clean_env(), stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, check=False, timeout=3600)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd[:4])}…: exit {done.returncode}\n{done.stderr}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=3000, help="replies in the library")
    parser.add_argument("--sample", type=int, default=20, help="replies reviewed one process each")
    parser.add_argument("--runs", type=int, default=3, help="check runs (the median is kept)")
    args = parser.parse_args()
    replies = library(args.lines)
    cli = _cm_coach()
    with tempfile.TemporaryDirectory() as folder:
        cwd = Path(folder)
        (cwd / "library.txt").write_text("\n".join(replies) + "\n", encoding="utf-8")
        check = [*cli, "check", "library.txt", "--format", "sarif"]
        wall([*cli, "review", "--engine", "offline", "warm the OS file cache"], cwd)
        every_cpu = statistics.median(wall(check, cwd) for _ in range(args.runs))
        one_cpu = statistics.median(wall([*check, "--jobs", "1"], cwd) for _ in range(args.runs))
        step = max(1, len(replies) // args.sample)
        sample = replies[::step][:args.sample]
        each = [wall([*cli, "review", "--engine", "offline", "--format", "json", r], cwd) for r in sample]
    per_review = statistics.mean(each)
    loop = per_review * len(replies)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"library: {len(replies):,} replies (the corpus's drafts, repeated), {cpus} CPU(s)")
    print(f"cm-coach check, one process, every CPU:  {every_cpu:7.2f} s  (median of {args.runs}; "
          f"{len(replies) / every_cpu:,.0f} replies/s)")
    print(f"cm-coach check --jobs 1:                 {one_cpu:7.2f} s  (median of {args.runs})")
    print(f"one cm-coach review per reply:           {loop:7.1f} s  (extrapolated: "
          f"{per_review * 1000:.0f} ms each, mean of {len(each)})")
    print(f"ratio: check is {loop / every_cpu:,.0f}× faster than a review per reply "
          f"({loop / one_cpu:,.0f}× with --jobs 1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
