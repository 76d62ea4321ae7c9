"""The learned layer's say in a review.

The rule packs match what their authors foresaw; a draft phrased another way
("that's on the delivery company", a tragedy only hinted at) can slip past
them. When the rules find nothing of weight, a model trained on labelled
drafts (`bot/review/learned.py`, `make model`) reads the draft again. If it is
confident the draft is risky, with and without the customer's message, and one
category clears its own threshold, it adds one medium finding in the category
it rates highest against that threshold. Medium only: a second
reading asks for a revision, it never blocks on its own.
"""

from __future__ import annotations

import re

from bot.review.learned import ModelError, RiskModel
from bot.review.models import Finding, ReviewRequest
from bot.review.packs import Pack
from bot.review.text import context_read, quoted_regions

MIN_WORDS = 3
_WORDS = re.compile(r"[^\W\d_]{2,}")
# Categories that need the customer's message to be judged at all.
NEEDS_CONTEXT = frozenset({"no_acknowledgement", "private_redirect"})


def second_reading(request: ReviewRequest, language: str, pack: Pack,
                   rules_of: dict[str, tuple[str, ...]], judged: frozenset[str] = frozenset()) -> list[Finding]:
    """At most one medium finding from the learned model; none when it is absent or unsure.

    `judged`: categories the rules already weighed (a low finding, e.g. a retort the brand's
    impertinent voice allows); the model does not overrule them.
    """
    if len(_WORDS.findall(request.draft)) < MIN_WORDS:
        return []  # « < », « ok ! »: too little for n-grams to read
    try:
        model = RiskModel.load()
    except ModelError:
        return []  # not shipped in this install: the rules alone judge
    draft = _unquoted(request.draft)
    # The slice of the customer's message the rules read too: a bounded cost.
    context = context_read(request.context) if request.context else None
    # The risky head alone first: most drafts stop here, at a thirteenth of the cost.
    if model.risky(draft, context, language) < model.thresholds["risky"]:
        return []
    # The draft itself must read risky, not only the conversation it belongs to: a plain
    # apology under an angry message is not a risk because the message is angry.
    if context and model.risky(draft, None, language) < model.thresholds["risky"]:
        return []
    prediction = model.predict(draft, context, language)
    has_context = bool(context and context.strip())
    ranked = sorted(
        ((probability / max(model.thresholds.get(category, 0.5), 1e-6), category)
         for category, probability in prediction.categories.items()
         if category in rules_of and category not in judged
         and (has_context or category not in NEEDS_CONTEXT)),
        reverse=True,
    )
    if not ranked or ranked[0][0] < 1.0:
        return []  # risky, but no category clears its own threshold: nothing to name
    category = ranked[0][1]
    message = pack.message("second_reading", category=pack.message(f"category_{category}"))
    return [Finding(category, "medium", rules_of[category][0], None, message, None,  # type: ignore[arg-type]
                    f"learned.{category}")]


def _unquoted(draft: str) -> str:
    """The draft without what it quotes: « you said "delete this app" » reports words, it
    does not say them (the rules skip quotes for the same reason)."""
    for start, end in reversed(quoted_regions(draft)):
        draft = draft[:start] + " " + draft[end:]
    return draft
