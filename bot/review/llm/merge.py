"""Turn the LLM's answer into a Review the offline engine vouches for.

The LLM may add judgement, never remove safety without saying why:
- every medium or high offline finding stands, at its offline severity at
  least, unless the model dismissed it with a reason from a fixed list
  (`llm_schema.DISMISS_REASONS`); each dismissal is shown in the review. The
  findings of the categories trusted most (`TRUSTED`) cannot be dismissed;
- the verdict is never milder than offline's, unless every finding that set it
  was dismissed so;
- every quote is located in the draft, or its finding is dropped with a note;
- every rewrite passes the fact guard every rewrite passes (`facts.guard`: a
  fact that neither the draft nor the customer's message gives becomes a
  [placeholder], or the rewrite is left out, with a note), then is reviewed
  again offline (`relevance` included) and offered only if it reaches `post`,
  keeps the draft's language and form of address, repeats none of the draft's
  flagged words and fits the platform.
Pure judgement: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from bot.review.facts import describe, describe_replaced, guard
from bot.review.language import detect_language
from bot.review.llm.schema import DISMISS_REASONS, LLMReview
from bot.review.models import (
    Dismissal,
    Finding,
    Review,
    ReviewRequest,
    Rewrite,
    RuleScore,
    Span,
)
from bot.review.offline import review_checked
from bot.review.platforms import fits
from bot.review.rewrites import fact_labels, repeats_risk, wrong_form
from bot.review.taxonomy import (
    CATEGORY_RULES,
    GOLDEN_RULES,
    LANGUAGES,
    SEVERITY_ORDER,
    VERDICT_ORDER,
)
from bot.review.text import placeholders

# Categories whose offline rules are precise enough to overrule the model: their
# findings cannot be dismissed (their rules already skip quotes and negations).
FLOOR_CATEGORIES = frozenset({"deletion_demand", "censorship", "legal_threat", "discrimination"})
TRUSTED = FLOOR_CATEGORIES
# Offline findings of these severities stand unless dismissed; a low one is a hint.
STANDING = frozenset({"medium", "high"})
MAX_HINTS = 20  # hints sent to the model (h1…h20); later ones cannot be dismissed
# Counted exactly by the offline engine; the model cannot count characters.
OFFLINE_ONLY = frozenset({"platform_fit"})
MAX_REWRITES = 3
MAX_CHECKED = 6  # rewrites re-reviewed at most, to bound the work on a verbose model
RISK_BANDS = {"post": (0, 29), "revise": (30, 69), "block": (70, 100)}


def locate(draft: str, quote: str | None) -> Span | bool | None:
    """Where the quoted words are in the draft.

    Returns a Span, None when the model quoted nothing (a finding about the
    draft as a whole), or False when the words are nowhere in the draft.
    """
    if quote is None or not quote.strip():
        return None
    for needle in (quote, quote.strip(), quote.strip().strip("\"'«»“”…").strip()):
        at = draft.find(needle) if needle else -1
        if at >= 0:
            return Span(at, at + len(needle), needle)
    low = draft.casefold()
    needle = " ".join(quote.split()).casefold()
    if needle and len(low) == len(draft):  # casefold kept the offsets
        at = low.find(needle)
        if at < 0:  # line breaks or doubled spaces the model wrote as one space
            found = re.search(r"\s+".join(map(re.escape, needle.split(" "))), low)
            if found:
                return Span(found.start(), found.end(), draft[found.start():found.end()])
        else:
            return Span(at, at + len(needle), draft[at:at + len(needle)])
    return False


def _overlaps(a: Finding, b: Finding) -> bool:
    if a.category != b.category:
        return False
    if a.span is None or b.span is None:
        return True
    return a.span.start < b.span.end and b.span.start < a.span.end


def _llm_findings(draft: str, answer: LLMReview, notes: list[str]) -> list[Finding]:
    kept: list[Finding] = []
    dropped = 0
    for f in answer.findings:
        if f.category in OFFLINE_ONLY:
            continue
        span = locate(draft, f.quote)
        if span is False:
            dropped += 1
            continue
        rule = CATEGORY_RULES.get(f.category, ("reputation",))[0]
        kept.append(Finding(f.category, f.severity, rule, span, f.why,  # type: ignore[arg-type]
                            (f.case or None), "llm"))
    if dropped:
        notes.append(f"{dropped} finding(s) of the model quoted words that are not in the draft; "
                     "they were left out.")
    return kept


def hint_ids(offline: Review) -> dict[str, int]:
    """The ids the model knows the offline findings by (h1, h2…), to their index."""
    return {f"h{i + 1}": i for i in range(min(len(offline.findings), MAX_HINTS))}


def _quoted(f: Finding) -> str:
    return f" (« {f.span.text} »)" if f.span else ""


def _dismissals(offline: Review, answer: LLMReview, notes: list[str]) -> dict[int, Dismissal]:
    """The model's dismissals that hold, by index of the offline finding; each says why."""
    ids = hint_ids(offline)
    accepted: dict[int, Dismissal] = {}
    refused: set[str] = set()
    for d in answer.dismissals:
        index = ids.get(d.hint.strip().lower())
        if index is None or index in accepted:
            continue
        f = offline.findings[index]
        why = " ".join(d.why.split())[:300]
        if f.category in TRUSTED:
            refused.add(f.category)
            continue
        if f.severity not in STANDING or (d.reason == "other" and not why):
            continue  # a low hint needs no dismissal; "other" needs its reason
        accepted[index] = Dismissal(f.category, f.span, d.reason, why)
        judged = DISMISS_REASONS.get(d.reason, d.reason)
        notes.append(f"The offline rules flagged {f.category}{_quoted(f)}; the model judged it "
                     f"{judged}" + (f" because {why.rstrip('.')}." if why else "."))
    if refused:
        notes.append("The model dismissed " + ", ".join(sorted(refused)) + ", which the offline "
                     "rules are trusted with: kept.")
    return accepted


def _apply_floor(offline: Review, findings: list[Finding], dismissed: dict[int, Dismissal],
                 notes: list[str]) -> list[Finding]:
    """Offline findings that stand; raise the model's severity where it was milder."""
    kept_back: list[str] = []
    for index, off in enumerate(offline.findings):
        if off.category in OFFLINE_ONLY:
            findings.append(off)
            continue
        if off.severity not in STANDING or index in dismissed:
            continue
        twins = [f for f in findings if _overlaps(f, off)]
        if not twins:
            findings.append(off)
            kept_back.append(off.category)
            continue
        for twin in twins:
            if SEVERITY_ORDER[twin.severity] < SEVERITY_ORDER[off.severity]:
                twin.severity = off.severity
    if kept_back:
        notes.append("Kept from the offline rules, which the model did not flag: "
                     + ", ".join(sorted(set(kept_back))) + ".")
    return _dedupe(findings)


def _dedupe(findings: list[Finding]) -> list[Finding]:
    ordered = sorted(findings, key=lambda f: -SEVERITY_ORDER[f.severity])
    kept: list[Finding] = []
    for f in ordered:
        if not any(_overlaps(f, k) and (f.span is None) == (k.span is None) for k in kept):
            kept.append(f)
    return sorted(kept, key=lambda f: (-SEVERITY_ORDER[f.severity], f.span.start if f.span else -1))


def _verdict(answer: LLMReview, offline: Review, findings: list[Finding], dismissed: bool) -> str:
    verdict = answer.verdict
    severities = {f.severity for f in findings}
    floor = "block" if "high" in severities else "revise" if "medium" in severities else "post"
    if not dismissed:  # nothing the offline verdict stood on was dismissed: it is the floor
        floor = max(floor, offline.verdict, key=VERDICT_ORDER.__getitem__)
    return max(verdict, floor, key=VERDICT_ORDER.__getitem__)


def _scores(answer: LLMReview, offline: Review, findings: list[Finding]) -> list[RuleScore]:
    given = {}
    for s in answer.golden_rules:
        given.setdefault(s.rule, RuleScore(s.rule, s.score, [n for n in s.notes if n.strip()][:3]))
    off = {o.rule: o for o in offline.golden_rules}
    scores = [given.get(rule) or RuleScore(rule, off[rule].score, list(off[rule].notes))
              for rule in GOLDEN_RULES if rule in given or rule in off]
    # A finding the model missed keeps its toll on the rules it weighs on.
    for f in findings:
        if f.rule_id == "llm":
            continue
        for rule in CATEGORY_RULES.get(f.category, ()):
            score = next((s for s in scores if s.rule == rule), None)
            if score is not None and rule in off and off[rule].score < score.score:
                score.score, score.notes = off[rule].score, list(off[rule].notes)
    return scores


def check_rewrites(request: ReviewRequest, language: str, answer: LLMReview,
                   notes: list[str], offline: Review | None = None) -> list[Rewrite]:
    """The model's rewrites that pass the fact guard and the offline review again;
    `offline`, the offline review of the draft, names the words a rewrite must not repeat."""
    kept: list[Rewrite] = []
    for r in answer.rewrites[:MAX_CHECKED]:
        if len(kept) == MAX_REWRITES:
            break
        guarded = guard(r.text, (request.draft, request.context),
                        (request.profile.name, request.profile.signature), fact_labels(language))
        if guarded.text is None:
            notes.append(f"Rewrite '{r.style}' of the model left out: {describe(list(guarded.invented))}.")
            continue
        if guarded.changed:
            notes.append(f"Rewrite '{r.style}' of the model: {describe_replaced(list(guarded.invented))}.")
        text = guarded.text
        again = review_checked(replace(request, draft=text), rewrite=False)
        high = sorted({f.category for f in again.findings if f.severity == "high"})
        if high:
            why = "it still raises " + ", ".join(high)
        elif language in LANGUAGES and detect_language(text) != language:
            why = "it is not in the draft's language"
        elif wrong_form(text, request, language):
            why = "it does not keep the draft's form of address"
        elif offline is not None and repeats_risk(text, offline):
            why = "it repeats words the review flagged in the draft"
        elif not fits(text, request.platform):
            why = "it is too long for the platform"
        elif again.verdict != "post":
            why = "the offline review of it is '" + again.verdict + "'"
        else:
            kept.append(Rewrite(r.style, text, "post", placeholders(text)))
            continue
        notes.append(f"Rewrite '{r.style}' of the model left out: {why}.")
    return kept


def merge(request: ReviewRequest, offline: Review, answer: LLMReview,
          offline_rewrites: Callable[[], list[Rewrite]]) -> Review:
    """The review the user receives: the model's judgement above the offline floor.

    `offline` may come without rewrites (they cost more than the rest of the
    offline review); `offline_rewrites` gives them when none of the model's pass.
    """
    notes: list[str] = []
    dismissed = _dismissals(offline, answer, notes)
    findings = _apply_floor(offline, _llm_findings(request.draft, answer, notes), dismissed, notes)
    verdict = _verdict(answer, offline, findings, bool(dismissed))
    low, high = RISK_BANDS[verdict]
    language = offline.language
    rewrites: list[Rewrite] = []
    if verdict != "post":
        rewrites = check_rewrites(request, language, answer, notes, offline) or offline_rewrites()
    model_notes = [n.strip() for n in answer.notes if n.strip()][:3]
    return Review(
        verdict=verdict,  # type: ignore[arg-type]
        risk=max(low, min(high, answer.risk)),
        language=language,
        engine="llm",
        golden_rules=_scores(answer, offline, findings),
        findings=findings,
        rewrites=rewrites,
        strengths=offline.strengths,
        notes=model_notes + notes,
        draft=request.draft,
        context=request.context,
        platform=request.platform,
        dismissed=list(dismissed.values()),
    )
