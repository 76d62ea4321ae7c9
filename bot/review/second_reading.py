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
to, without reading the negation; when the draft quotes someone; and while it
holds [placeholders] still to fill (the rewrites do).
"""

from __future__ import annotations

from bot.review.learned import ModelError, RiskModel
from bot.review.models import Finding, ReviewRequest
from bot.review.packs import Pack
from bot.review.regex_code import kept
from bot.review.text import context_read, placeholder_regions, quoted_regions

MIN_WORDS = 3
# One finding: a second category the model names is right about half the time on drafts
# it never saw (and moves no figure), where the first is right about two times in three.
MAX_FINDINGS = 1
# Rare categories get thresholds of a few hundredths from cross-validation; a category the
# model gives less than this is noise, whatever its threshold.
MIN_PROBABILITY = 0.05
_WORDS = kept(r"[^\W\d_]{2,}")
# Categories that need the customer's message to be judged at all.
NEEDS_CONTEXT = frozenset({"no_acknowledgement", "private_redirect"})


def second_reading(request: ReviewRequest, language: str, pack: Pack,
                   rules_of: dict[str, tuple[str, ...]], judged: frozenset[str] = frozenset(),
                   context_flags: frozenset[str] = frozenset(), folded: str | None = None) -> list[Finding]:
    """At most one medium finding from the learned model; none when it is absent or unsure.

    `judged`: categories the rules already weighed (medium or high, or low because the brand
    voice or the context lowered them: a retort the impertinent voice allows); the model
    neither repeats nor overrules them, it only names what they missed. `context_flags`: what the packs read in the
    customer's message (a complaint, a question…), which the model weighs too; `folded`:
    the draft as the rules folded it.
    """
    if len(_WORDS.findall(request.draft)) < MIN_WORDS:
        return []  # « < », « ok ! »: too little for n-grams to read
    try:
        model = RiskModel.load()
    except ModelError:
        return []  # not shipped in this install: the rules alone judge
    if placeholder_regions(request.draft):
        # « [Ce que nous faisons, et quand.] »: a draft to finish, the part the model would
        # judge not yet written (a rewrite is read again before its gaps are filled).
        return []
    if quoted_regions(request.draft):
        # « vous dites "supprimez cette appli" » reports words: the rules read them as such,
        # the model cannot tell them from the brand's own, and the draft without them is a
        # fragment it misreads (« you said and we hear you » as a threat).
        return []
    draft = request.draft
    # The slice of the customer's message the rules read too: a bounded cost.
    context = context_read(request.context) if request.context else None
    reading = model.read(draft, context, language, context_flags, folded)
    # The risky head alone first: most drafts stop here, at a thirteenth of the cost.
    if reading.probability("risky") < model.thresholds["risky"]:
        return []
    # The draft itself must read risky, not only the conversation it belongs to: a plain
    # apology under an angry message is not a risk because the message is angry.
    if context and reading.probability("risky", with_context=False) < model.thresholds["risky"]:
        return []
    has_context = bool(context and context.strip())
    ranked = sorted(
        ((p / max(model.thresholds.get(category, 0.5), 1e-6), category)
         for category in model.heads[1:]
         if category in rules_of and category not in judged
         and (has_context or category not in NEEDS_CONTEXT)
         and (p := reading.probability(category)) >= MIN_PROBABILITY),
        reverse=True,
    )
    # Risky, and each category named only where it clears its own threshold.
    return [
        Finding(category, "medium", rules_of[category][0], None,  # type: ignore[arg-type]
                pack.message("second_reading", category=pack.message(f"category_{category}")),
                None, f"learned.{category}")
        for ratio, category in ranked[:MAX_FINDINGS] if ratio >= 1.0
    ]
