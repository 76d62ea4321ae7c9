"""Recent reviews, so that a button pressed under a review can act on it.

Button values are limited to 2,000 characters and a draft may be 10,000, so a
button carries a short reference into this bounded, in-process memory. After a
restart the reference is unknown and the user is told to run /review again.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass

from bot.review.models import Review, ReviewRequest


@dataclass
class Remembered:
    review: Review
    request: ReviewRequest
    lang: str


class ReviewMemory:
    """The last `size` reviews by reference; the oldest are forgotten first."""

    def __init__(self, size: int = 2000) -> None:
        self.size = size
        self._items: OrderedDict[str, Remembered] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, review: Review, request: ReviewRequest, lang: str) -> str:
        ref = secrets.token_hex(8)
        with self._lock:
            self._items[ref] = Remembered(review, request, lang)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return ref

    def get(self, ref: str) -> Remembered | None:
        with self._lock:
            item = self._items.get(ref)
            if item is not None:
                self._items.move_to_end(ref)
            return item

    def __len__(self) -> int:
        return len(self._items)
