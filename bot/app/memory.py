"""Reviews kept for the buttons under them, on every surface.

A Slack button value holds 2,000 characters, a Discord custom_id 100, and a
draft may be 10,000, so a button carries a short reference. The review itself is kept in the store
(`keep_review`), so buttons still work after a restart, `forget` erases them
and the retention purges them; a store without that method falls back to a
bounded memory in the process.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any

from bot.review.models import BrandProfile, Review, ReviewRequest

log = logging.getLogger("cm_coach.app")


@dataclass
class Remembered:
    review: Review
    request: ReviewRequest
    lang: str
    owner: str = ""  # the user the review was made for (Discord's buttons answer only them)


class ReviewMemory:
    """Keeps reviews by reference: in the store when it can, else in the process."""

    def __init__(self, store: Any, profile: BrandProfile, size: int = 2000) -> None:
        self.store = store
        self.profile = profile
        self.size = size
        self._items: OrderedDict[str, Remembered] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, review: Review, request: ReviewRequest, lang: str, key: Any) -> str:
        keep = getattr(self.store, "keep_review", None)
        if keep is not None:
            # The contract's JSON, plus what the buttons need to act again.
            data = review.to_dict() | {"ui_lang": lang, "voice": request.profile.voice, "user": request.user}
            try:
                return str(keep(key, data))
            except Exception as exc:  # the review is shown anyway; its buttons live in memory
                log.warning("could not keep a review in the store: %s", type(exc).__name__)
        ref = "m" + secrets.token_hex(8)
        with self._lock:
            self._items[ref] = Remembered(review, request, lang, str(getattr(key, "user", "")))
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return ref

    def get(self, ref: str) -> Remembered | None:
        with self._lock:
            item = self._items.get(ref)
            if item is not None:
                self._items.move_to_end(ref)
                return item
        kept = getattr(self.store, "kept_review", None)
        if kept is None:
            return None
        try:
            found = kept(ref)
        except Exception as exc:
            log.warning("could not read a kept review: %s", type(exc).__name__)
            return None
        if found is None:
            return None
        data = found[1]
        review = Review.from_dict(data)
        profile = self.profile
        if data.get("voice") and data["voice"] != profile.voice:
            profile = replace(profile, voice=data["voice"])
        request = ReviewRequest(draft=review.draft, context=review.context, platform=review.platform,
                                lang=review.language, profile=profile, user=data.get("user"))
        return Remembered(review, request, str(data.get("ui_lang") or "en"), found[0][2])
