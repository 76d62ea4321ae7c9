"""The learned layer's say in a review.

The rule packs match what their authors foresaw; a draft phrased another way
("that's on the delivery company", a tragedy only hinted at) can slip past
them. After the rules, a model trained on labelled drafts
(`bot/review/learned.py`, `make model`) reads the draft again. If it is
confident the draft is risky, with and without the customer's message, it adds
a medium finding in the category the rules did not name that it rates highest
against that category's own threshold, if one clears it. Medium only: a second
reading asks for a revision, it never blocks on its own. It keeps out when the
rules set words aside as negated or quoted: those are the words it would react
to, without reading the negation.
"""

from __future__ import annotations

import re

from bot.review.learned import ModelError, RiskModel
from bot.review.models import Finding, ReviewRequest
from bot.review.packs import Pack
from bot.review.text import context_read, quoted_regions

MIN_WORDS = 3
# One finding: a second category the model names is right about half the time on drafts
# it never saw (and moves no figure), where the first is right about two times in three.
MAX_FINDINGS = 1
_WORDS = re.compile(r"[^\W\d_]{2,}")
# Categories that need the customer's message to be judged at all.
NEEDS_CONTEXT = frozenset({"no_acknowledgement", "private_redirect"})


def second_reading(request: ReviewRequest, language: str, pack: Pack,
                   rules_of: dict[str, tuple[str, ...]], judged: frozenset[str] = frozenset(),
                   context_flags: frozenset[str] = frozenset()) -> list[Finding]:
    """At most one medium finding from the learned model; none when it is absent or unsure.

    `judged`: categories the rules already weighed, at any severity (a low finding is e.g. a
    retort the brand's impertinent voice allows); the model neither repeats nor overrules
    them, it only names what they missed. `context_flags`: what the packs read in the
    customer's message (a complaint, a question…), which the model weighs too.
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
    reading = model.read(draft, context, language, context_flags)
    # The risky head alone first: most drafts stop here, at a thirteenth of the cost.
    if reading.probability("risky") < model.thresholds["risky"]:
        return []
    # The draft itself must read risky, not only the conversation it belongs to: a plain
    # apology under an angry message is not a risk because the message is angry.
    if context and reading.probability("risky", with_context=False) < model.thresholds["risky"]:
        return []
    has_context = bool(context and context.strip())
    ranked = sorted(
        ((reading.probability(category) / max(model.thresholds.get(category, 0.5), 1e-6), category)
         for category in model.heads[1:]
         if category in rules_of and category not in judged
         and (has_context or category not in NEEDS_CONTEXT)),
        reverse=True,
    )
    # Risky, and each category named only where it clears its own threshold.
    return [
        Finding(category, "medium", rules_of[category][0], None,  # type: ignore[arg-type]
                pack.message("second_reading", category=pack.message(f"category_{category}")),
                None, f"learned.{category}")
        for ratio, category in ranked[:MAX_FINDINGS] if ratio >= 1.0
    ]


def _unquoted(draft: str) -> str:
    """The draft without what it quotes: « you said "delete this app" » reports words, it
    does not say them (the rules skip quotes for the same reason)."""
    for start, end in reversed(quoted_regions(draft)):
        draft = draft[:start] + " " + draft[end:]
    return draft
