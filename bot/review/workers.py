"""How many processes judge a big input (`check`, `eval`), and how they start.

Kept apart from `check` so that a run judged in one process (a small corpus, one CPU)
imports neither `multiprocessing` nor `concurrent.futures`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

# Below this many lines, worker processes cost more to start than they save: fresh
# interpreters (spawned) compile the packs and read the model first; copies of this
# process (forked) start at once. On 2 CPUs, forked: 600 lines 0.57 s alone, 0.41 s
# with two workers; 351 lines 0.46 s and 0.42 s; 150 lines, no gain.
POOL_THRESHOLD = 2_000
FORKED_POOL_THRESHOLD = 300
# Chunks per worker: enough that a slow chunk does not leave the other workers idle.
CHUNKS_PER_WORKER = 4


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def worker_count(lines: int, jobs: int | None) -> int:
    """Processes to judge `lines` replies with: `jobs` when given (1: in this process),
    else every CPU for a big library and this process alone for a small one."""
    if jobs is not None:
        return max(1, min(jobs, lines))
    cpus = available_cpus()
    if cpus < 2 or lines <= FORKED_POOL_THRESHOLD:
        return 1
    return cpus if lines > POOL_THRESHOLD or can_fork() else 1


def can_fork() -> bool:
    """Whether workers can start as copies of this process: the system forks, and no other
    thread runs here (a fork copies their locks, not the threads)."""
    import multiprocessing
    import threading

    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


def pool_context(warm_up: Callable[[], object]) -> tuple[Any, bool]:
    """The multiprocessing context of a pool of workers, and whether they are forked.

    Where the workers can be forked (`can_fork`), `warm_up` runs here first (one review:
    what it loads, packs and model, is loaded once) and the workers start as copies of
    this process. Elsewhere they are spawned: fresh interpreters."""
    import multiprocessing

    fork = can_fork()
    if fork:
        warm_up()
    return multiprocessing.get_context("fork" if fork else "spawn"), fork
