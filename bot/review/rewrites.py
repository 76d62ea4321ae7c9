"""Offline rewrites (being written)."""

from __future__ import annotations

from bot.review.models import Review, ReviewRequest, Rewrite
from bot.review.packs import Pack


def propose(request: ReviewRequest, review: Review, pack: Pack) -> list[Rewrite]:
    return []
