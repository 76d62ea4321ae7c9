"""The offline review as callers get it: the engine's judgement, the rewrites when the
draft is not ready to post, and the relevance judged (docs/architecture.md).

The engine (rules), the rewriter and the relevance check depend one way: the rewriter
reviews its candidates with the engine, so neither the engine nor the relevance check
proposes rewrites; this module, above all three, does.
"""

from __future__ import annotations

from dataclasses import replace

from bot.review import relevance
from bot.review.engine import rules_review
from bot.review.models import Review, ReviewRequest
from bot.review.packs import pack as pack_of
from bot.review.rewrites import propose


def review_offline(request: ReviewRequest, *, rewrite: bool = True) -> Review:
    """Review a draft with the rule packs alone; with `rewrite`, a draft that is not
    `post` gets the offline rewrites (or a note saying there is none)."""
    review = rules_review(request)
    pack = pack_of(review.language)
    if rewrite and review.verdict != "post" and pack is not None:
        review.rewrites = propose(request, review, pack)
        if not review.rewrites:
            review.notes.append(pack.message("no_rewrite"))
    return review


def judged(review: Review, request: ReviewRequest, *, rewrite: bool = True) -> Review:
    """The review with the relevance judged (relevance.judge); when that turns a `post`
    into a `revise`, with `rewrite`, the offline rewrites (which answer the customer's
    message or leave a [placeholder]) are added."""
    was_post = review.verdict == "post"
    relevance.judge(review, request)
    if rewrite and was_post and review.verdict != "post" and not review.rewrites:
        pack = pack_of(review.language)
        if pack is not None:
            review.rewrites = propose(replace(request, lang=pack.language), review, pack)
    return review


def review_checked(request: ReviewRequest, *, rewrite: bool = True) -> Review:
    """The offline review with relevance judged: what every caller of the engine uses.
    Without `rewrite`, the judgement alone (verdict, risk, findings): no rewrite is built."""
    return judged(review_offline(request, rewrite=rewrite), request, rewrite=rewrite)
