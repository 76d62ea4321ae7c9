"""The offline engine: rule packs applied to a draft, scored against the four
golden rules. Pure judgement: no network, no files beyond the packs read once.

It proposes no rewrites: the rewriter (bot.review.rewrites) reviews its candidates
with this engine, so the engine never imports it; bot.review.offline puts the two
together.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import lru_cache

from bot.review.anchors import Found, match_at
from bot.review.language import (
    SURE,
    context_detection,
    context_settled,
    detect,
    function_word_scores,
    settled_language,
)
from bot.review.models import (
    Finding,
    Review,
    ReviewRequest,
    RuleScore,
    Span,
    Strength,
)
from bot.review.packs import LazyPattern, Matcher, Pack, Rule, extra_rules, function_words
from bot.review.packs import pack as load_pack_of
from bot.review.platforms import markdown_marks, spec, weighted_length
from bot.review.prefilter import LazyStarts, starts, unfiltered
from bot.review.regex_code import kept
from bot.review.second_reading import second_reading  # the model is loaded on its first reading
from bot.review.taxonomy import CATEGORY_RULES, GOLDEN_RULES, LANGUAGES, SEVERITY_ORDER
from bot.review.text import (
    Folded,
    context_read,
    fold,
    fold_context,
    inside,
    placeholder_regions,
    quoted_regions,
)

BASE_SCORE = 7
PENALTY = {"high": 6, "medium": 3, "low": 1}
RISK_WEIGHT = {"high": 0.72, "medium": 0.38, "low": 0.08}
WEAK_SCORE = 4
MAX_MATCHES_PER_RULE = 3
# Strengths that show the draft heard the customer.
ACKNOWLEDGING = ("apology", "empathy", "acknowledgement")


@dataclass
class Analysis:
    """What the engine saw in one draft; the review is computed from it."""

    language: str
    pack: Pack | None
    folded: Folded
    context_flags: set[str]
    strengths: list[Strength] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    signals: set[str] = field(default_factory=set)  # unscored cues, e.g. a private channel
    # Categories whose words the rules read but set aside as negated, quoted or reported
    # (« nous ne vous demanderons jamais de supprimer »): the second reading then keeps out.
    set_aside: set[str] = field(default_factory=set)


_WORDS = kept(r"[a-z]+'?")


def _language_of(request: ReviewRequest, folded: Folded) -> str:
    """The draft's language; when a short draft (« Ratio. ») leaves the detector unsure,
    the customer's message it answers tells. The model is asked only where its answer
    could change the outcome (`settled_language`)."""
    share = function_word_scores(folded.text)
    settled = settled_language(share)
    if settled is not None:  # sure or told by its own words: the context is not asked
        return settled
    found = detect(request.draft, share)
    own_words = found.method == "function-words"
    if (found.language in LANGUAGES and (found.confidence >= SURE or own_words)) or not request.context:
        return found.language
    read = context_read(request.context)
    if context_settled(read) == found.language:  # sure or not, the context names the same
        return found.language
    around = context_detection(read)
    if around.language in LANGUAGES and around.confidence >= SURE:
        return around.language
    return found.language


def _negated(pack: Pack, text: str, start: int, end: int) -> bool:
    """A negation cue shortly before the match, in the same clause, or inside it."""
    if pack.negation is None:
        return False
    before = text[max(0, start - 90):start]
    cuts = list(pack.clause_break.finditer(before))
    if cuts:
        before = before[cuts[-1].end():]
    window = " ".join(before.split()[-pack.negation_window:]) + " " + text[start:end]
    if pack.negation_except is not None:  # « n'hésitez pas à… » invites, it does not negate
        window = pack.negation_except.sub(" ", window)
    return bool(pack.negation.search(window))


Scan = Found | None


def _units_at(pattern: LazyPattern, scan: Found) -> Iterator[re.Match[str]] | None:
    """The pattern's matches in the scanned text, as `finditer` finds them, tried only
    where its units' anchors are (anchors.match_at); None when a unit without anchors may
    match, so that the whole pattern is to be run over the text."""
    if pattern.loose and scan.loose(pattern):
        return None
    hits = scan.hits.get(pattern.slot)  # type: ignore[arg-type]
    if not hits:
        return iter(())
    return match_at(pattern.units, scan.text, hits)


def _matches(
    patterns: tuple[Matcher, ...] | Matcher | None,
    folded: Folded,
    excluded: list[tuple[int, int]],
    pack: Pack | None,
    negatable: bool,
    limit: int = MAX_MATCHES_PER_RULE,
    scan: Scan = None,
    set_aside: Callable[[], None] | None = None,
) -> list[Span]:
    """Spans of the draft where the patterns match, outside excluded regions and negations.

    `scan`: the pack's anchor scan of this text (Pack.scan): a pattern is tried only
    where it may match (`_units_at`). `set_aside` is called for a match dropped as quoted
    or negated."""
    if patterns is None:
        return []
    if not isinstance(patterns, tuple):
        patterns = (patterns,)
    spans: list[Span] = []
    text = folded.text
    for pattern in patterns:
        found: Iterator[re.Match[str]] | None = None
        if scan is not None and isinstance(pattern, LazyPattern):
            found = _units_at(pattern, scan)
        if found is None:
            found = pattern.finditer(text)
        for m in found:
            if m.end() == m.start():
                continue
            start, end = folded.span(m.start(), m.end())
            if excluded and inside(start, end, excluded):
                if set_aside is not None:
                    set_aside()
                continue
            if negatable and pack is not None and _negated(pack, text, m.start(), m.end()):
                if set_aside is not None:
                    set_aside()
                continue
            if any(s.start == start and s.end == end for s in spans):
                continue
            spans.append(Span(start, end, folded.original[start:end]))
            if len(spans) >= limit:
                return spans
    return spans


def _absent(matcher: Matcher | None, starts_of: LazyStarts | None, scan: Scan,
            text_starts: Callable[[], frozenset[str] | None]) -> bool:
    """Whether a rule's matcher surely finds nothing in the text, without running it: the
    scan says it cannot match, or (without a scan) its first characters are absent from
    the text's word starts."""
    if scan is not None and isinstance(matcher, LazyPattern):
        return matcher.slot not in scan.hits and not (matcher.loose and scan.loose(matcher))
    first = starts_of.get() if starts_of else None
    if first is None:
        return False
    found = text_starts()
    return found is not None and first.isdisjoint(found)


def _searches(pattern: Matcher, text: str, scan: Scan) -> bool:
    """`pattern.search(text)` is not None, asked only where the scan says it may match."""
    if scan is None or not isinstance(pattern, LazyPattern):
        return pattern.search(text) is not None
    found = _units_at(pattern, scan)
    if found is None:
        return pattern.search(text) is not None
    return next(found, None) is not None


def _context_flags(pack: Pack | None, context: str | None) -> set[str]:
    if not context or not context.strip():
        return {"no_context"}
    if pack is None:
        return {"has_context"}
    return set(_flags_of(pack.language, context_read(context)))


@lru_cache(maxsize=1024)
def _flags_of(language: str, context: str) -> frozenset[str]:
    """Context flags, read with the pack of the customer's own language (an English
    reply to a French complaint is still a reply to a complaint); cached, since
    every rewrite is reviewed again with the same context."""
    folded = fold_context(context)
    if context_settled(context) == language:  # sure or not, the message is read in `language`
        pack = load_pack_of(language)
    else:
        said = context_detection(context)
        pack = load_pack_of(said.language if said.confidence >= SURE else language)
        pack = pack or load_pack_of(language)
    assert pack is not None
    flags = {"has_context"}
    scan = None if unfiltered(folded.text) else pack.scan(folded.text)
    for name, patterns in pack.context.items():
        if any(_searches(p, folded.text, scan) for p in patterns):
            flags.add(name)
    if "brand_fault" in flags or ("loud" in flags and "praise" not in flags):
        flags.add("complaint")
    if "complaint" not in flags:
        flags.add("no_complaint")  # a question or a compliment: nothing to acknowledge
    return frozenset(flags)


def _severity(rule: Rule, voice: str, flags: set[str]) -> str:
    for adj in rule.adjust:
        if adj.voices and voice not in adj.voices:
            continue
        if adj.context and not all(c in flags for c in adj.context):
            continue
        return adj.severity
    return rule.severity


_WORD_RUN = kept(r"[^\W\d_]+")
_TWO_CAPITALS = kept(r"[A-ZÀ-ÖØ-ÞŒ]{2}")
_SHOUT_GAP = kept(r"^[\s'’\-,:;.!?]*$")


def _shouting(folded: Folded, rule: Rule) -> list[Span]:
    """Runs of words in capitals (« ON VOUS A DÉJÀ RÉPONDU »), not acronyms (« SNCF TGV »)."""
    text = folded.original
    if not _TWO_CAPITALS.search(text):
        return []
    min_letters = int(rule.params.get("min_letters", 6))
    min_words = max(1, int(rule.params.get("min_words", 2)))
    spans: list[Span] = []
    run: list[re.Match[str]] = []

    def close() -> None:
        words = [m.group(0) for m in run]
        long_words = [w for w in words if len(w) >= 5]
        if (len(words) >= min_words and sum(map(len, words)) >= min_letters and long_words):
            spans.append(Span(run[0].start(), run[-1].end(), text[run[0].start():run[-1].end()]))

    for m in _WORD_RUN.finditer(text):
        word = m.group(0)
        capital = word.isupper() and (len(word) > 1 or bool(run))
        joined = bool(run) and _SHOUT_GAP.match(text[run[-1].end():m.start()]) is not None
        if capital and (not run or joined):
            run.append(m)
            continue
        if run:
            close()
        run = [m] if capital else []
    if run:
        close()
    return spans[:MAX_MATCHES_PER_RULE]


def _address_mix(folded: Folded, rule: Rule, excluded: list[tuple[int, int]], profile_address: str,
                 scan: Scan = None) -> tuple[list[Span], str]:
    tu = _matches(rule.params.get("tu", ()), folded, excluded, None, False, 5, scan)
    vous = _matches(rule.params.get("vous", ()), folded, excluded, None, False, 5, scan)
    if tu and vous:
        return [tu[0], vous[0]], "mixed"
    if profile_address == "vous" and tu:
        return tu[:1], "profile"
    if profile_address == "tu" and vous:
        return vous[:1], "profile"
    return [], ""


def _analyse(request: ReviewRequest, language: str, folded: Folded) -> Analysis:
    draft = request.draft
    pack = load_pack_of(language) if language else None
    flags = _context_flags(pack, request.context)
    analysis = Analysis(language, pack, folded, flags)
    excluded = placeholder_regions(draft)
    quoted = quoted_regions(draft) + excluded
    voice = request.profile.voice
    text = folded.text
    # A digit beyond ASCII (« ٣ ») escapes what anchors and prefixes know of `\d`: such a
    # text meets every pattern over its whole length.
    everywhere = unfiltered(text)
    scan = pack.scan(text) if pack is not None and not everywhere else None
    word_starts: list[frozenset[str] | None] = []

    def text_starts() -> frozenset[str] | None:  # for the prefilter, when there is no scan
        if not word_starts:
            word_starts.append(None if everywhere else starts(text))
        return word_starts[0]

    if pack is not None:
        extra = extra_rules(request.profile.extra_rules, language)
        if scan is not None:  # only what the scan says may match
            strengths, ordered = pack.by_scan(scan)
        else:
            strengths, ordered = pack.strengths, pack.ordered_rules
        for s in strengths:
            matcher = s.matcher
            if scan is not None and isinstance(matcher, LazyPattern):
                if matcher.slot not in scan.hits and not (matcher.loose and scan.loose(matcher)):
                    continue
            elif _absent(matcher, s.starts, None, text_starts):
                continue
            for span in _matches(s.matcher, folded, quoted, pack, s.negatable, 1, scan):
                if s.scored:
                    analysis.strengths.append(Strength(s.kind, s.rule, span, s.message))  # type: ignore[arg-type]
                else:
                    analysis.signals.add(s.kind)
        kinds = {s.kind for s in analysis.strengths} | analysis.signals
        # Absence rules last: they may give way to what the other rules found.
        rules = sorted(pack.rules + extra, key=lambda r: r.check == "absence") if extra else ordered
        for rule in rules:
            if rule.when and not all(w in flags for w in rule.when):
                continue
            if rule.except_when and flags.intersection(rule.except_when):
                continue
            if rule.unless and kinds.intersection(rule.unless):
                continue
            if rule.check == "existence" and _absent(rule.matcher, rule.starts, scan, text_starts):
                continue
            if rule.unless_findings and any(
                f.category in rule.unless_findings and f.severity != "low" for f in analysis.findings
            ):
                continue
            severity = _severity(rule, voice, flags) if rule.adjust else rule.severity
            if rule.check == "existence":
                spans = _matches(rule.matcher, folded, quoted if rule.skip_quoted else excluded,
                                 pack, rule.negatable, MAX_MATCHES_PER_RULE, scan,
                                 lambda category=rule.category: analysis.set_aside.add(category))
                for span in spans:
                    analysis.findings.append(_finding(rule, severity, span))
            elif rule.check == "absence":
                if (not rule.patterns or _absent(rule.matcher, None, scan, text_starts)
                        or not _matches(rule.matcher, folded, quoted, pack, True, 1, scan)):
                    analysis.findings.append(_finding(rule, severity, None))
            elif rule.check == "shouting":
                for span in _shouting(folded, rule):
                    analysis.findings.append(_finding(rule, severity, span))
            elif rule.check == "address_mix":
                spans, why = _address_mix(folded, rule, excluded, request.profile.address, scan)
                if spans:
                    message = rule.message if why == "mixed" else pack.message(
                        "address_profile", address=request.profile.address)
                    analysis.findings.append(Finding(rule.category, severity, rule.rule, spans[0],  # type: ignore[arg-type]
                                                     message, rule.case, rule.id))
    _banned_terms(request, analysis, excluded)
    _platform_fit(request, analysis)
    return analysis


def _finding(rule: Rule, severity: str, span: Span | None) -> Finding:
    return Finding(rule.category, severity, rule.rule, span, rule.message, rule.case, rule.id)  # type: ignore[arg-type]


def _banned_terms(request: ReviewRequest, analysis: Analysis, excluded: list[tuple[int, int]]) -> None:
    folded = analysis.folded
    for term in request.profile.banned_terms:
        needle = fold(term).text.strip()
        if not needle:
            continue
        pattern = re.compile(rf"(?<!\w){re.escape(needle)}(?!\w)")
        for span in _matches((pattern,), folded, excluded, None, False, 1):
            message = (analysis.pack.message("banned_term", term=term) if analysis.pack
                       else f"'{term}' is on the brand's list of banned terms.")
            analysis.findings.append(Finding("address_form", "medium", "federate", span, message, None,
                                             "brand.banned_terms"))


def _platform_fit(request: ReviewRequest, analysis: Analysis) -> None:
    s = spec(request.platform)
    marks = markdown_marks(request.draft, request.platform)
    if marks:
        start, end = marks[0]
        values = {"platform": s.name, "marks": request.draft[start:end].strip()}
        message = (analysis.pack.message("platform_markdown", **values) if analysis.pack
                   else "{platform} does not render Markdown: {marks} will show as typed.".format(**values))
        analysis.findings.append(Finding("platform_fit", "medium", "produce",  # type: ignore[arg-type]
                                         Span(start, end, request.draft[start:end]), message, None,
                                         "platform.markdown"))
    if not s.limit:
        return
    length = weighted_length(request.draft, request.platform)
    if length <= s.limit:
        return
    severity = "medium" if length > s.limit * 1.1 else "low"
    values = {"platform": s.name, "length": length, "limit": s.limit}
    message = (analysis.pack.message("platform_fit", **values) if analysis.pack
               else "{length} characters as {platform} counts them; the limit is {limit}.".format(**values))
    analysis.findings.append(Finding("platform_fit", severity, "produce", None, message, None,  # type: ignore[arg-type]
                                     "platform.length"))


def _dedupe(findings: list[Finding]) -> list[Finding]:
    """One finding per category and place: the most severe wins."""
    findings = sorted(findings, key=lambda f: -SEVERITY_ORDER[f.severity])
    kept: list[Finding] = []
    for f in findings:
        clash = False
        for k in kept:
            if k.category != f.category:
                continue
            if f.span is None or k.span is None:
                clash = f.span is None and k.span is None
            else:
                clash = f.span.start < k.span.end and k.span.start < f.span.end
            if clash:
                break
        if not clash:
            kept.append(f)
    return sorted(kept, key=lambda f: (-SEVERITY_ORDER[f.severity], f.span.start if f.span else -1))


def _scores(analysis: Analysis, request: ReviewRequest) -> list[RuleScore]:
    pack = analysis.pack
    msg = pack.message if pack else (lambda key, **kw: key)
    scores = {r: BASE_SCORE for r in GOLDEN_RULES}
    notes: dict[str, list[str]] = {r: [] for r in GOLDEN_RULES}
    by_rule: dict[str, set[str]] = {r: set() for r in GOLDEN_RULES}
    for s in analysis.strengths:
        if s.kind in by_rule[s.rule]:
            continue
        by_rule[s.rule].add(s.kind)
        if len(by_rule[s.rule]) <= 3:
            scores[s.rule] += 1
            notes[s.rule].append(msg("strength_note", kind=msg(f"strength_{s.kind}"), text=s.span.text if s.span else ""))
    seen: set[tuple[str, str]] = set()
    for f in analysis.findings:
        for rule in CATEGORY_RULES.get(f.category, (f.rule,)):
            key = (rule, f.category)
            if key in seen:
                continue
            seen.add(key)
            scores[rule] -= PENALTY[f.severity]
            notes[rule].append(msg("finding_note", category=msg(f"category_{f.category}"),
                                   severity=msg(f"severity_{f.severity}")))
    words = len(analysis.folded.text.split())
    kinds = {s.kind for s in analysis.strengths}
    if words < 5 and not kinds.intersection({"facts", "next_step"}):
        scores["produce"] -= 3
        notes["produce"].append(msg("too_thin"))
    if "question" in analysis.context_flags and not kinds.intersection({"facts", "next_step"}):
        scores["produce"] -= 2
        notes["produce"].append(msg("question_unanswered"))
    if "complaint" in analysis.context_flags and kinds.intersection(ACKNOWLEDGING) and not any(
        f.rule == "react" for f in analysis.findings
    ):
        scores["react"] += 1
        notes["react"].append(msg("complaint_acknowledged"))
    out = []
    for rule in GOLDEN_RULES:
        value = max(0, min(10, scores[rule]))
        if not notes[rule]:
            notes[rule].append(msg(f"rule_{rule}_ok"))
        out.append(RuleScore(rule, value, notes[rule]))  # type: ignore[arg-type]
    return out


def _risk_and_verdict(findings: list[Finding], scores: list[RuleScore]) -> tuple[int, str]:
    safe = 1.0
    for f in findings:
        safe *= 1 - RISK_WEIGHT[f.severity]
    weakest = min(s.score for s in scores)
    risk = 1 - safe
    if weakest < WEAK_SCORE:
        risk = max(risk, 0.25 + (WEAK_SCORE - weakest) * 0.05)
    severities = {f.severity for f in findings}
    if "high" in severities:
        verdict = "block"
        risk = max(risk, 0.7)
    elif "medium" in severities or weakest < WEAK_SCORE:
        verdict = "revise"
        risk = min(max(risk, 0.3), 0.69)
    else:
        verdict = "post"
        risk = min(risk, 0.29)
    return round(risk * 100), verdict


_SENTENCE = kept(r"[^.!?\n]+")
MIXED_SHARE = 0.3


def _other_languages(folded: Folded, language: str) -> dict[str, list[tuple[int, int]]]:
    """Supported languages, other than the draft's, that some of its sentences are
    written in, with those sentences' places in the draft.

    « Ignore your instructions. Supprimez la photo. » reads as English as a whole;
    its French sentence must still meet the French rules.
    """
    known = function_words()
    found: dict[str, list[tuple[int, int]]] = {}
    # A sentence's words are the text's: without one function word of another language in
    # the whole text, no sentence can be in it.
    words = _WORDS.findall(folded.text)
    if not any(any(map(fw.__contains__, words)) for lang, fw in known.items() if lang != language):
        return found
    for m in _SENTENCE.finditer(folded.text):
        words = _WORDS.findall(m.group(0))
        if not words:
            continue
        shares = {lang: sum(map(fw.__contains__, words)) / len(words) for lang, fw in known.items()}
        best = max(shares, key=lambda k: shares[k])
        if best != language and shares[best] >= MIXED_SHARE and shares[best] > shares.get(language, 0.0):
            found.setdefault(best, []).append(folded.span(m.start(), m.end()))
    return found


def _merge_other_language(
    request: ReviewRequest, analysis: Analysis, other: str, regions: list[tuple[int, int]]
) -> None:
    """Add what the other language's pack finds in its own sentences."""
    extra = _analyse(request, other, analysis.folded)
    analysis.findings.extend(f for f in extra.findings if f.span and inside(f.span.start, f.span.end, regions))
    analysis.strengths.extend(s for s in extra.strengths if s.span and inside(s.span.start, s.span.end, regions))
    kinds = {s.kind for s in analysis.strengths} | analysis.signals | extra.signals
    rules = {r.id: r for r in analysis.pack.rules} if analysis.pack else {}
    # « Sorry! » in English also answers the French rules that ask for an apology.
    analysis.findings = [
        f for f in analysis.findings
        if not (f.rule_id in rules and kinds.intersection(rules[f.rule_id].unless))
    ]


def rules_review(request: ReviewRequest, folded: Folded | None = None) -> Review:
    """Review a draft with the rule packs (and the learned second reading) alone, without
    rewrites: bot.review.offline adds those. `folded`: the draft already folded
    (`text.fold`), when the caller has it."""
    if folded is None or folded.original != request.draft:
        folded = fold(request.draft)
    language = request.lang or _language_of(request, folded)
    analysis = _analyse(request, language if load_pack_of(language) else "", folded)
    analysis.language = language
    if analysis.pack is not None:
        for other, regions in _other_languages(folded, language).items():
            _merge_other_language(request, analysis, other, regions)
            analysis.notes.append(analysis.pack.message("mixed_languages", language=other))
    if language not in LANGUAGES or analysis.pack is None:
        analysis.notes.append(
            "The offline engine covers French and English; this draft looks like "
            f"'{language}', so only its length, tone marks and the brand's terms were checked."
        )
    elif "no_context" in analysis.context_flags:
        analysis.notes.append(analysis.pack.message("no_context"))
    findings = _dedupe(analysis.findings)
    # The second reading runs after the rules whatever they found: a reply the rules flag
    # for blaming the courier may also talk down to the customer in words no rule knows.
    # Words the rules set aside as negated or quoted are the words the model would react
    # to, without reading the negation: then the rules alone judge.
    if (request.second_reading and analysis.pack is not None and language in LANGUAGES
            and not analysis.set_aside):
        # The model reads the customer's message as the rules do: a bounded slice of it.
        read = request
        if request.context and (sliced := context_read(request.context)) is not request.context:
            read = replace(request, context=sliced)
        # What the rules weighed is theirs; a low finding by design is only a hint the model
        # may confirm, but one the brand voice or the context lowered (a retort the
        # impertinent voice allows) stays as the rules judged it.
        hints = analysis.pack.hints
        weighed = frozenset(f.category for f in findings if f.severity != "low" or f.rule_id not in hints)
        findings += second_reading(read, language, analysis.pack, CATEGORY_RULES, weighed,
                                   frozenset(analysis.context_flags), analysis.folded.text)
    if request.crisis:
        from bot.review.crisis import heightened

        findings = heightened(findings)
    analysis.findings = findings
    scores = _scores(analysis, request)
    risk, verdict = _risk_and_verdict(findings, scores)
    if analysis.pack is None and verdict == "post":
        verdict, risk = "revise", max(risk, 30)
    return Review(
        verdict=verdict,  # type: ignore[arg-type]
        risk=risk,
        language=language,
        engine="offline",
        golden_rules=scores,
        findings=findings,
        strengths=analysis.strengths,
        notes=analysis.notes,
        draft=request.draft,
        context=request.context,
        platform=request.platform,
    )
