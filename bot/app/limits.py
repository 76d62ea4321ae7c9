"""Per-user limits, so that one person's burst cannot hold up a whole team."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Hashable


class RateLimit:
    """At most `count` requests per user in any `seconds`; count <= 0: no limit."""

    def __init__(self, count: int, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.count = count
        self.seconds = seconds
        self.clock = clock
        self._seen: dict[Hashable, deque[float]] = {}

    def retry_after(self, user: Hashable) -> float:
        """0 and the request is counted; else the seconds left before the next one is allowed."""
        if self.count <= 0 or self.seconds <= 0:
            return 0.0
        now = self.clock()
        seen = self._seen.setdefault(user, deque())
        while seen and now - seen[0] >= self.seconds:
            seen.popleft()
        if len(seen) >= self.count:
            return self.seconds - (now - seen[0])
        seen.append(now)
        if len(self._seen) > 10_000:  # forget users whose window is long over
            self._seen = {u: s for u, s in self._seen.items() if s and now - s[-1] < self.seconds}
        return 0.0


class Cooldown(RateLimit):
    """At most one request per user every `seconds`."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(1, seconds, clock)
