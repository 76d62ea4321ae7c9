"""Durable work: a request is written to the store before it is acked, taken by
one worker, and marked done with the id of its answer.

After a crash, whatever was acked and not answered is still in the store: the
next start puts back the work its dead process held and runs it again. Two
instances on one database never run the same work: taking it is one atomic
update. The platforms decide what a piece of work is and how to answer it;
this module only keeps the books.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.store import Storage, UserKey

log = logging.getLogger("cm_coach.work")

# A worker that took work and neither finished it nor died where we can see it
# (another host) loses it after this long.
DEFAULT_LEASE_SECONDS = 300.0


def this_worker() -> str:
    """host:pid, so that a restart on the same host can tell its dead predecessors."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _dead_local(worker: str, host: str, alive: Callable[[int], bool]) -> bool:
    name, _, pid = worker.rpartition(":")
    return name == host and pid.isdigit() and not alive(int(pid))


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


@dataclass(frozen=True)
class Work:
    id: str
    kind: str
    workspace: str
    user: str
    payload: dict[str, Any]
    attempts: int
    created_at: float


class DurableWork:
    """The books of one platform's work in a store."""

    def __init__(self, store: Storage, platform: str, *, worker: str | None = None,
                 lease: float = DEFAULT_LEASE_SECONDS, clock: Callable[[], float] = time.time,
                 alive: Callable[[int], bool] = _pid_alive) -> None:
        self.store = store
        self.platform = platform
        self.worker = worker or this_worker()
        self.lease = lease
        self.clock = clock
        self._alive = alive

    def submit(self, key: UserKey, kind: str, payload: dict[str, Any], event_id: str | None = None) -> str | None:
        """The work's id; None for an event already recorded (a retry)."""
        return self.store.submit_work(self.platform, key, kind, payload, event_id=event_id, now=self.clock())

    def claim(self, work_id: str | None) -> Work | None:
        """Take the work; None when it is someone else's or already done."""
        if not work_id:
            return None
        row = self.store.claim_work(work_id, self.worker, now=self.clock())
        if row is None:
            return None
        return Work(row["id"], row["kind"], row["workspace"], row["user"], row["payload"], row["attempts"],
                    row["created_at"])

    def done(self, work_id: str, answer: str) -> None:
        try:
            self.store.finish_work(work_id, answer, now=self.clock())
        except Exception as exc:  # answered already: a failed mark may mean one repeat after a crash, not a loss
            log.warning("could not mark work done: %s", type(exc).__name__)

    def resumable(self, max_age: float, min_age: float = 0.0) -> list[str]:
        """Ids of the work to run again now: put back what dead workers on this host
        held (and what any worker held past its lease), then every pending id no
        older than `max_age` seconds and at least `min_age` old (younger work is
        still on its way to the listener of the instance that acked it)."""
        now = self.clock()
        host = socket.gethostname()
        held = self.store.pending_work(self.platform, since=now - max_age)
        stale = sorted({w["taken_by"] for w in held
                        if w["state"] == "taken" and w["taken_by"] and w["taken_by"] != self.worker
                        and _dead_local(w["taken_by"], host, self._alive)})
        released = self.store.release_work(self.platform, stale, self.lease, now=now)
        if released:
            log.info("%d piece(s) of unfinished work put back to run again", released)
        return [w["id"] for w in self.store.pending_work(self.platform, since=now - max_age)
                if w["state"] == "pending" and w["created_at"] <= now - min_age]
