"""Offline reviews in worker processes, so that the event loop stays free to ack.

An offline review is pure CPU (a few to ~20 ms with its rewrites). Run in the
loop, a burst of commands would queue every later ack behind earlier reviews;
run in threads, the reviews would hold the GIL against the loop. In separate
processes they leave the loop alone, and Slack gets every ack at once.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from bot.review.models import Review, ReviewRequest

log = logging.getLogger("cm_coach.slack")


def _warm() -> None:
    """Load the rule packs and the language model before the first review arrives."""
    from bot.review.offline import review_offline

    review_offline(ReviewRequest(draft="Please delete the photo."))


def _start_worker() -> None:
    """Worker start: leave when the app's process is gone (even if it was killed
    without a chance to stop us), then warm up."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
    _warm()


def _review(request: ReviewRequest) -> Review:
    from bot.review.offline import review_checked

    return review_checked(request)


def worker_count(setting: int) -> int:
    """-1: one per CPU but one (kept for the loop); 0: none, review in the loop."""
    if setting >= 0:
        return setting
    return max(0, (os.cpu_count() or 1) - 1)


class ReviewPool:
    """A pool of processes running the offline engine on prepared requests."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        # spawn: a fresh interpreter, nothing inherited from the loop's threads or sockets.
        self._executor = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_start_worker)

    def warm_up(self) -> None:
        """Start every worker now (start-up), not on the first command."""
        for future in [self._executor.submit(_warm) for _ in range(self.workers)]:
            future.result(timeout=60)

    async def review(self, request: ReviewRequest) -> Review:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, _review, request)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


__all__ = ["BrokenProcessPool", "ReviewPool", "worker_count"]
