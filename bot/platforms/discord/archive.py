"""Reviews kept for their buttons: a button's custom_id names a review here.

Buttons must keep working after a restart, and a custom_id holds at most 100
characters, so the review itself (rewrites included) is kept in the store,
under the same key as the user's DM conversation: `forget` in a DM erases it
too, and the store's retention purges it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.review.models import Review
from bot.store import Storage

# Discord user ids are global: one key per user, whatever the server.
WORKSPACE = "dm"


@dataclass(frozen=True)
class _Owner:
    user: str
    platform: str = "discord"
    workspace: str = WORKSPACE


class ReviewArchive:
    """Review JSON by short random key, in the store."""

    def __init__(self, store: Storage) -> None:
        self.store = store

    def save(self, owner: str, review: Review, now: float | None = None) -> str:
        """Keep a review; returns the key its buttons carry."""
        return self.store.keep_review(_Owner(owner), review.to_dict(), now)

    def load(self, key: str) -> tuple[str, Review] | None:
        """(owner, review), or None when the key is unknown or expired."""
        found = self.store.kept_review(key)
        if found is None:
            return None
        (_platform, _workspace, user), data = found
        return user, Review.from_dict(data)
