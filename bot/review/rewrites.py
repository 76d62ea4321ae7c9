"""Offline rewrites built from what the draft means (packs/_rewrites.yml).

A rewrite follows docs/rewrites.md: acknowledge, apologise when the brand is
at fault, say what is being done, then offer a private channel. It is built
from the draft's meaning, never from its flagged words: the draft is read
sentence by sentence, what was risky is left out, and what was good is kept
(its apology, its actions and facts, its invitation to DM after an
acknowledgement, the name it greets, its references, its signature). A brand
post gets a brand post back, not an apology to a complainant; a draft whose
only risks are its tone, its form of address or its length is repaired in its
own words (style `edited`).

Every candidate then passes the one fact guard (`facts.guard`: an invented
fact becomes a [placeholder] or the candidate is dropped, with a note), must
not repeat a flagged span, must be in the pack's language and the form of
address asked for, must answer the customer's message (`relevance`), and is
reviewed again: only a `post` is offered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from bot.datafiles import load_yaml
from bot.review import relevance
from bot.review.address import to_tu, to_vous
from bot.review.engine import rules_review
from bot.review.facts import describe, describe_replaced, facts, guard
from bot.review.language import detect_language
from bot.review.models import Review, ReviewRequest, Rewrite
from bot.review.packs import Pack
from bot.review.packs import pack as pack_of
from bot.review.platforms import fits, plain_text
from bot.review.regex_code import kept
from bot.review.taxonomy import LANGUAGES
from bot.review.text import REWRITE_PLACEHOLDER, context_read, fold, fold_context, placeholders

REACT_CATEGORIES = {"deletion_demand", "private_redirect", "no_acknowledgement", "blame_shift",
                    "personal_data"}
DM_CATEGORIES = {"deletion_demand", "private_redirect", "personal_data", "no_acknowledgement"}
# Which calm answer leads when several risks are found.
CORE_PRIORITY = ("discrimination", "sensitive_topic", "legal_threat", "censorship", "insult",
                 "condescension", "blame_shift", "aggressive_tone")
_NAME = kept(
    r"\b(?:Bonjour|Bonsoir|Salut|Coucou|Hello|Hi|Hey|Dear)\s+([A-ZÀ-Ý][a-zà-ÿ'\-]{1,20})\b"
    r"|,\s+([A-ZÀ-Ý][a-zà-ÿ'\-]{1,20})\s*[.!]"
)
_NOT_NAMES = {"Nous", "Vous", "We", "You", "Merci", "Thanks", "Toutes", "Tous", "Sorry", "Désolé",
              "Désolés", "Bonjour", "Hello", "Hi", "Team", "Équipe", "Pouvez", "Could", "Please"}
_REFERENCE = kept(
    r"\b(?:vol|flight|train|commande|order|colis|parcel|dossier|ticket|billet|booking|réservation|"
    # \s*+ (possessive), not \s*…\s*: two runs of spaces sharing a gap retry every split of it.
    r"reservation|case|ligne|line|TGV|TER|RER)\s*+(?:(?:n°|no\.?|#|num[ée]ro)\s*+)?[A-Z]{0,4}\d[\w\-]*",
    re.IGNORECASE,
)
_SENTENCE = kept(r"[^.!?\n]+[.!?…]*")
_CLAUSE = kept(r"[^.!?;,:\n]+[.!?;,:]*")
# A signature closing the draft: « ^ML », "— Marc", "-Julie".
_SIGNATURE = kept(r"(?:^|\s)(?:\^\s?|[-—–~]\s?)([A-ZÀ-Ý][\w'’\-]*(?:\s[A-ZÀ-Ý][\w'’\-]*)?)\s*$")
_GREETING_ONLY = kept(r"^\W*(?:bonjour|bonsoir|salut|coucou|hello|hi|hey|dear)\b[^.!?]{0,25}$", re.IGNORECASE)
# A clause cut out of a risky sentence is kept only when it stands alone.
_DEPENDENT = kept(r"^(?:to|that|which|because|if|pour|afin|car|que|qu'|qui|si|parce)\b", re.IGNORECASE)
_CONNECTOR = kept(r"^(?:so|and|but|then|or|et|mais|puis|donc|alors|ou)\b[\s,]*", re.IGNORECASE)
_PILED_MARKS = kept(r"([!?])[!?]+")
_OWN_WORD = kept(r"[^\W\d_]+")
_MIN_WORDS = 4  # a candidate with fewer words of its own says nothing
MAX_KEPT_CHARS = 280  # a longer "sentence" of the draft is a paste, not a move to keep
MAX_KEPT_ACTIONS = 3
# Risks a rewrite repairs in the draft's own words; the others need the moves of the templates.
REPAIRABLE = {"aggressive_tone", "address_form", "platform_fit"}
# Flagged words of these categories may come back in a rewrite: their risk was where or how
# they stood (« DM us » before any acknowledgement, a pronoun mixing tu and vous), not the words.
MAY_REPEAT = frozenset({"private_redirect", "address_form", "platform_fit"})
# The first words of an action that may take a small letter after a reference (« Vol 2021 : nous… »).
_LOWERABLE = {"we", "we're", "we've", "we'll", "our", "the", "nous", "notre", "nos", "on", "le", "la", "les",
              "ce", "cette"}


class Slots(NamedTuple):
    """What a template is filled with; a tuple, as each style makes several variants of it."""

    greeting: str
    problem: str
    action: str
    core: str
    warm: str
    dm: str
    apology: str = ""  # the draft's own apology; empty: each style's own words
    references: tuple[str, ...] = ()  # the draft's, said in every variant (_compose)
    lead: str = "{ref}: {action}"
    fallback: str = ""  # the action to lead with references when a variant has none


@dataclass(frozen=True)
class Reading:
    """What the draft says that a rewrite keeps, by role; risky words are never in it."""

    name: str = ""
    apology: str = ""
    actions: tuple[str, ...] = ()  # safe sentences that state an action or a fact
    acted: bool = False  # the apology sentence states the action already
    dm: str = ""  # its own invitation to DM, safe and after an acknowledgement
    signature: str = ""
    references: tuple[str, ...] = ()
    parts: tuple[str | None, ...] = ()  # every sentence in order; None where one was risky


@lru_cache(maxsize=1)
def _templates() -> dict[str, Any]:
    path = Path(__file__).parent / "packs" / "_rewrites.yml"
    return load_yaml(path)


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return kept(rf"(?<!\w)(?:{pattern})(?!\w)")  # the templates' own: rebuilt from kept code


def address_form(request: ReviewRequest, pack: Pack) -> str:
    """`tu` or `vous`: the brand profile's, else the draft's, else vous."""
    if pack.language != "fr":
        return "vous"
    if request.profile.address in ("tu", "vous"):
        return request.profile.address
    rule = next((r for r in pack.rules if r.check == "address_mix"), None)
    if rule is None:
        return "vous"
    text = fold(request.draft).text
    tu = sum(len(p.findall(text)) for p in rule.params.get("tu", ()))
    vous = sum(len(p.findall(text)) for p in rule.params.get("vous", ()))
    return "tu" if tu > vous else "vous"


def _pick(entry: dict[str, str], form: str) -> str:
    return entry.get(form) or entry.get("vous") or next(iter(entry.values()))


def _problem(tpl: dict[str, Any], request: ReviewRequest, form: str) -> str:
    for source in (request.context, request.draft):
        if not source:
            continue
        text = fold_context(context_read(source)).text if source is request.context else fold(source).text
        for item in tpl["problems"]:
            if _compiled(item["pattern"]).search(text):
                return _pick(item, form)
    return _pick(tpl["fallback_problem"], form)


def _risky(review: Review) -> list[tuple[int, int]]:
    return [(f.span.start, f.span.end) for f in review.findings if f.span and f.severity != "low"]


_INTERJECTION = kept(r"^(?:hey|hi|hello|dear|oh|ok|okay|bonjour|bonsoir|salut|coucou|oh là|ah)"
                           r"(?:\s+[A-ZÀ-Ý][\w'’-]*)?\s*[,!]\s*", re.IGNORECASE)


def _sentence(text: str) -> str:
    """A kept piece of the draft as a sentence of its own: its opening « Hey, » goes (the
    rewrite greets in its own way), a capital, a full stop."""
    text = _INTERJECTION.sub("", text.strip()).rstrip(",;:").strip()
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?…]" else text + "."


def _same_language(draft: str, language: str) -> bool:
    """Whether the draft's own sentences can be kept: not when the rewrite is a translation."""
    found = detect_language(draft)
    return found == language or found not in LANGUAGES


def _read(review: Review, pack: Pack, reuse: bool) -> Reading:
    """The draft sentence by sentence: a risky sentence gives only its safe clauses (marks
    piled up, « !!! », are calmed rather than losing the clause they end)."""
    draft = _PILED_MARKS.sub(lambda m: m.group(1) + " " * (len(m.group(0)) - 1), review.draft)
    references = tuple(dict.fromkeys(m.group(0).strip().rstrip(".,;:!?") for m in _REFERENCE.finditer(draft)
                                     if not _in_placeholder(draft, m.start())))
    signed = _SIGNATURE.search(draft)
    signature = signed.group(0).strip() if signed and len(draft) - signed.start() < 40 else ""
    body = draft[: signed.start()] if signature and signed else draft
    name = next((m.group(1) or m.group(2) for m in _NAME.finditer(body)
                 if (m.group(1) or m.group(2)) not in _NOT_NAMES), "") or ""
    if not reuse:  # a translation keeps the language-free facts only
        return Reading(name=name, signature=signature, references=references)
    risky = [(a, b) for a, b in _risky(review) if any(c.isalnum() for c in review.draft[a:b])]
    apologies = [s.span for s in review.strengths if s.kind == "apology" and s.span]
    acknowledged = any(s.kind in ("apology", "empathy", "acknowledgement") for s in review.strengths)
    action_patterns = [p for s in pack.strengths if s.kind == "next_step" for p in s.patterns]
    dm_patterns = [p for s in pack.strengths if s.kind == "private_channel" for p in s.patterns]
    apology, dm, acted = "", "", False
    actions: list[str] = []
    parts: list[str | None] = []
    for m in _SENTENCE.finditer(body):
        start, end = m.start(), m.end()
        if not m.group(0).strip():
            continue
        whole = not any(a < end and start < b for a, b in risky)
        if whole:
            pieces = [(start, end, m.group(0))]
        else:
            parts.append(None)
            pieces = [(start + c.start(), start + c.end(), c.group(0)) for c in _CLAUSE.finditer(m.group(0))]
        for a, b, piece in pieces:
            if any(x < b and a < y for x, y in risky):
                continue
            raw = piece.strip().rstrip(",;:").strip()
            if not raw or _GREETING_ONLY.match(raw):
                continue
            if not whole:
                raw = _CONNECTOR.sub("", raw)  # « so we built… » stands alone once « so » goes
                if len(raw.split()) < 3 or _DEPENDENT.match(raw):
                    continue  # a fragment that needs the risky words around it
            if len(raw) > MAX_KEPT_CHARS:
                continue  # not a sentence a reply can carry whole
            text = _sentence(raw)
            parts.append(text)  # after the None of its risky sentence, when it is a clause of one
            folded = fold(raw).text
            is_dm = any(p.search(folded) for p in dm_patterns)
            is_action = (any(p.search(folded) for p in action_patterns) or bool(_REFERENCE.search(raw))
                         or any(f.kind in ("number", "date", "reference") for f in facts(raw)))
            if any(s.start < b and a < s.end for s in apologies):
                if not apology:
                    apology, acted = text, is_action and not is_dm
                continue
            if is_dm:
                dm = dm or (text if acknowledged else "")
                continue
            if is_action and len(actions) < MAX_KEPT_ACTIONS:
                actions.append(text)
    return Reading(name, apology, tuple(actions), acted, dm, signature, references, tuple(parts))


def _in_placeholder(text: str, at: int) -> bool:
    return any(m.start() <= at < m.end() for m in REWRITE_PLACEHOLDER.finditer(text))


def _lead(lead: str, references: list[str], text: str) -> str:
    """« Vol 2021 : nous enquêtons. »: the draft's references, before what is done about them."""
    if not references:
        return text
    head = ", ".join(references)
    head = head[0].upper() + head[1:]
    first = text.split(" ", 1)[0].lower()
    if first.startswith("["):
        text = text[:2].lower() + text[2:]
    elif first in _LOWERABLE or first.split("'")[0] in _LOWERABLE:
        text = text[0].lower() + text[1:]
    return lead.format(ref=head, action=text)


def _action(tpl: dict[str, Any], review: Review, reading: Reading, form: str, reuse: bool) -> str:
    """What is being done: the draft's own safe sentences, or an action it announces, else a placeholder."""
    if reading.actions:
        return " ".join(reading.actions)
    if reading.acted:
        return ""  # its own apology says what is being done
    if reuse:
        text = fold(review.draft).text
        for item in tpl["actions"]:
            if _compiled(item["pattern"]).search(text):
                return _pick(item, form).format(ref="")
    return _pick(tpl["fallback_action"], form)


def _data_asked(tpl: dict[str, Any], review: Review, form: str) -> list[str]:
    """What personal data the draft asked for in public, in the template's own words: the
    flagged words are never pasted (« votre Merci de nous indiquer votre adresse »)."""
    asked: list[str] = []
    for f in review.findings:
        if f.category != "personal_data" or not f.span or f.severity == "low":
            continue
        text = fold(f.span.text).text
        named = [_pick(item, form) for item in tpl["data_kinds"] if _compiled(item["pattern"]).search(text)]
        for phrase in named[:2] or [_pick(tpl["data_fallback"], form)]:
            if phrase not in asked:
                asked.append(phrase)
    return asked


def _dm(tpl: dict[str, Any], review: Review, form: str, needs_dm: bool, reading: Reading) -> list[str]:
    """The invitation to continue in private, best first (the next avoids a flagged phrase)."""
    asked = _data_asked(tpl, review, form)
    if asked:
        last = " and " if review.language == "en" else " et "
        listed = asked[0] if len(asked) == 1 else ", ".join(asked[:-1]) + last + asked[-1]
        return [_pick(entry, form).format(data=listed) for entry in tpl["dm_data"]]
    if reading.dm:
        return [reading.dm, *[_pick(entry, form) for entry in tpl["dm"]]]
    return [_pick(entry, form) for entry in tpl["dm"]] if needs_dm else [""]


def _core(tpl: dict[str, Any], review: Review, form: str, problem: str, tone: str,
          situation: tuple[str, ...]) -> str:
    """The calm answer to the main risk, in its variant for the situation when there is one
    (`insult_values` facing an attack on a group, `condescension_question` facing a question)."""
    categories = {f.category for f in review.findings if f.severity != "low"}
    key = next((c for c in CORE_PRIORITY if c in categories), "default")
    for variant in situation:
        if f"{key}_{variant}" in tpl["cores"]:
            key = f"{key}_{variant}"
            break
    return _pick(tpl["cores"][key][tone], form).format(problem=problem)


def _compose(template: str, slots: Slots) -> str:
    """The template filled in; the draft's references the other slots do not say lead the action."""
    said = " ".join((slots.problem, slots.action, slots.apology, slots.dm))
    missing = [r for r in slots.references if r not in said]
    action = _lead(slots.lead, missing, slots.action or slots.fallback) if missing else slots.action
    text = template.format(greeting=slots.greeting, problem=slots.problem, action=action,
                           core=slots.core, warm=slots.warm, dm=slots.dm, apology=slots.apology)
    text = " ".join(text.split())  # runs of white space as one space, none at the ends
    if slots.greeting and len(text) > len(slots.greeting):
        # « Bonjour Julie, Merci » → « Bonjour Julie, merci »
        i = len(slots.greeting.strip()) + 1
        if i < len(text) and text[i].isupper() and not text[i + 1: i + 2].isupper():
            text = text[:i] + text[i].lower() + text[i + 1:]
    return text


def _variants(slots: Slots, template: str, reading: Reading, dms: list[str], default_apology: str) -> list[str]:
    """The full text first, then forms that let go of what may not pass (the draft's own
    words, a DM phrase the draft had flagged) or that are shorter, for tight platforms."""
    out = [_compose(template, slots._replace(dm=dm)) for dm in dms]
    if slots.apology != default_apology:
        out.append(_compose(template, slots._replace(apology=default_apology, dm=dms[-1])))
    out.append(_compose(template, slots._replace(greeting="", dm=dms[-1])))
    first = reading.actions[0] if reading.actions else _sentence(slots.action.split(". ")[0])
    if slots.action:
        out.append(_compose(template, slots._replace(greeting="", action=first, dm=dms[-1])))
    out.append(_compose(template, slots._replace(greeting="", action="", dm=dms[-1])))
    return out


# -- brand posts and repairs ------------------------------------------------------------


def _brand_post(request: ReviewRequest, tpl: dict[str, Any]) -> bool:
    """A post in the brand's name, not a reply: no customer's message, and a promotion or no
    one addressed. With a customer's message it is a reply, whatever it sells."""
    if request.context:
        return False
    folded = fold(request.draft).text
    return bool(_compiled(tpl["post"]["promo"]).search(folded)) or not _compiled(tpl["post"]["reply"]).search(folded)


def _post_texts(tpl: dict[str, Any], review: Review, reading: Reading, form: str) -> list[tuple[str, str]]:
    """(style, text) for a brand post: its safe sentences in order, the risky ones replaced by
    what the post should say instead; a post exploiting a tragedy waits for another day."""
    categories = {f.category for f in review.findings if f.severity != "low"}
    key = next((c for c in CORE_PRIORITY if c in categories and c in tpl["post_cores"]), "default")
    out: list[tuple[str, str]] = []
    for style in ("calm", "warm"):
        core = _pick(tpl["post_cores"][key][style], form)
        if key == "sensitive_topic":
            out.append((style, core))
            continue
        parts: list[str] = []
        for part in reading.parts or (None,):
            if part is None:
                if core not in parts:
                    parts.append(core)
            else:
                parts.append(part)
        if core in parts:  # a risky sentence went: say what to write in its place
            out.append((style, " ".join(parts)))
    return out


def _calmed(text: str) -> str:
    """Words in capitals said in lower case, keeping a sentence's capital."""
    low = text.lower()
    return low[:1].upper() + low[1:] if text[:1].isupper() else low


def _repaired(request: ReviewRequest, review: Review, pack: Pack, form: str) -> str | None:
    """The draft itself with its tone calmed, its form of address made one and its length
    fitted, when those are its only risks: its words, facts and voice stay."""
    # A second reading names a category for the draft as a whole: the words the rules
    # flagged are still what can be repaired.
    serious = [f for f in review.findings if f.severity != "low" and not f.rule_id.startswith("learned.")]
    if any(f.category not in REPAIRABLE for f in serious):
        return None
    # Last first, so that each span's offsets still hold when it is rewritten.
    tone = sorted(((f.span, f.rule_id) for f in review.findings if f.category == "aggressive_tone" and f.span),
                  key=lambda pair: -pair[0].start)
    if not serious and not tone:
        return None
    text = review.draft
    for span, rule_id in tone:
        words = text[span.start:span.end]
        if rule_id.endswith(".shouting") and words.upper() == words:
            starts = span.start == 0 or text[:span.start].rstrip()[-1:] in ".!?"
            calm = _calmed(words)
            calm = calm[:1].upper() + calm[1:] if starts else calm
            text = text[:span.start] + calm + text[span.end:]
        elif any(c.isalpha() for c in words):  # exasperation: the words go
            text = text[:span.start] + text[span.end:]
    text = _PILED_MARKS.sub(r"\1", text)
    # French keeps its space before « ! » and « ? »; a comma or a full stop never has one.
    glued = r"\s+([,.])" if pack.language == "fr" else r"\s+([,.!?])"
    text = re.sub(r"^[\s,;:.!?]+", "", re.sub(glued, r"\1", re.sub(r"[ \t]{2,}", " ", text)))
    if text and text[0].islower():
        text = text[0].upper() + text[1:]
    if pack.language == "fr" and any(f.category == "address_form" for f in serious):
        text = to_tu(text) if form == "tu" else to_vous(text)
    if any(f.rule_id == "platform.markdown" for f in serious):
        text = plain_text(text)
    if not fits(text, request.platform):
        text = _fitted(text, request.platform)
    return text.strip() if text.strip() and text.strip() != review.draft.strip() else None


def _fitted(text: str, platform: str) -> str:
    """Sentences left out from the end, those with a fact last, until the text fits."""
    parts = [m.group(0).strip() for m in _SENTENCE.finditer(text) if m.group(0).strip()]
    while len(parts) > 1 and not fits(" ".join(parts), platform):
        plain = [i for i, p in enumerate(parts) if i and not re.search(r"\d|\[", p)]
        parts.pop(plain[-1] if plain else len(parts) - 1)
    return " ".join(parts)


# -- the checks every candidate passes ------------------------------------------------


def fact_labels(language: str) -> dict[str, str]:
    """The [placeholders] an invented fact becomes, by kind, in a language."""
    tpl = _templates().get(language) or _templates()["en"]
    return dict(tpl["fact_placeholders"])


def repeats_risk(text: str, review: Review, folded_text: str | None = None) -> bool:
    """Whether the text says again words a medium or high finding flagged in the review's draft
    (`folded_text`: the text folded, when the caller has it)."""
    folded = folded_text if folded_text is not None else fold(text).text
    for f in review.findings:
        if not f.span or f.severity == "low" or f.category in MAY_REPEAT:
            continue
        words = fold(f.span.text).text.strip(" .,;:!?")
        if len(words) > 2 and re.search(rf"(?<!\w){re.escape(words)}(?!\w)", folded):
            return True
    return False


def _form_of(text: str, pack: Pack) -> str | None:
    """« tu » or « vous » as a French text uses it outside its [placeholders]; None if neither."""
    rule = next((r for r in pack.rules if r.check == "address_mix"), None)
    if rule is None:
        return None
    folded = fold(REWRITE_PLACEHOLDER.sub(" ", text)).text
    tu = sum(len(p.findall(folded)) for p in rule.params.get("tu", ()))
    vous = sum(len(p.findall(folded)) for p in rule.params.get("vous", ()))
    if tu and vous:
        return "mixed"
    return "tu" if tu else "vous" if vous else None


def wrong_form(text: str, request: ReviewRequest, language: str) -> bool:
    """Whether a French text addresses the customer otherwise than the draft (or the brand) does."""
    pack = pack_of(language) if language == "fr" else None
    if pack is None:
        return False
    return _form_of(text, pack) not in (None, address_form(request, pack))


def _own_words(text: str) -> int:
    return len(_OWN_WORD.findall(REWRITE_PLACEHOLDER.sub(" ", text)))


def _checked(text: str, request: ReviewRequest, review: Review, pack: Pack, form: str,
             notes: list[str]) -> str | None:
    """The candidate as it may be offered, or None: guarded, faithful, reviewed again."""
    if not text or _own_words(text) < _MIN_WORDS or not fits(text, request.platform):
        return None
    guarded = guard(text, (request.draft, request.context),
                    (request.profile.name, request.profile.signature), fact_labels(pack.language))
    if guarded.text is None:
        notes.append(f"An offline rewrite was left out: {describe(list(guarded.invented))}.")
        return None
    if guarded.changed:
        notes.append(f"In an offline rewrite, {describe_replaced(list(guarded.invented))}.")
    text = guarded.text
    folded = fold(text)  # once, for each check below and the review
    if repeats_risk(text, review, folded.text):
        return None
    said = detect_language(text, folded)
    if said in LANGUAGES and said != pack.language:
        return None
    if pack.language == "fr" and _form_of(text, pack) not in (None, form):
        return None
    if relevance.off_topic(text, request.context):
        return None
    # Reviewed as the user would see it if they pasted it back: the second reading included
    # (its relevance, the rest of review_checked, was judged just above).
    again = rules_review(replace(request, draft=text, lang=pack.language), folded)
    return text if again.verdict == "post" else None


def propose(
    request: ReviewRequest,
    review: Review,
    pack: Pack,
    *,
    form: str | None = None,
    styles: tuple[str, ...] | None = None,
) -> list[Rewrite]:
    """Rewrites in several styles; only those whose own review says `post`.

    Why a candidate was changed or left out by the fact guard is added to the
    review's notes.
    """
    tpl = _templates().get(pack.language)
    if tpl is None:
        return []
    form = form or address_form(request, pack)
    reuse = _same_language(request.draft, pack.language)
    reading = _read(review, pack, reuse)
    if relevance.off_topic(request.draft, request.context):
        # It answers something else: only whom it greets and how it signs are kept.
        reading = Reading(name=reading.name, signature=reading.signature)
    candidates: list[tuple[str, list[str]]] = []
    repaired = _repaired(request, review, pack, form) if reuse else None
    if repaired:
        candidates.append(("edited", [repaired]))
    # Whether it is a post is read in the draft's own language (a translation's differs).
    own = tpl if reuse else _templates().get("fr" if pack.language == "en" else "en", tpl)
    # Only its form was wrong (too long, Markdown): the draft's own words, fitted, are the
    # rewrite; a template would trade a good answer for a generic one.
    form_only = repaired and styles is None and all(
        f.category == "platform_fit" for f in review.findings if f.severity != "low")
    if not form_only:
        candidates += ([(style, [text]) for style, text in _post_texts(tpl, review, reading, form)]
                       if _brand_post(request, own)
                       else _reply_candidates(request, review, pack, tpl, form, reading, reuse, styles))
    if styles is not None:
        candidates = sorted((c for c in candidates if c[0] in styles), key=lambda c: styles.index(c[0]))
    endings = [e for e in (reading.signature, request.profile.signature) if e]
    offered: list[Rewrite] = []
    seen: set[str] = set()
    notes: list[str] = []
    tried: set[str] = set()  # a variant met again (the same words in another style) is not checked twice
    for style, texts in candidates:
        if any(r.style == style for r in offered):
            continue
        signed = [f"{c} {' '.join(endings)}" if endings and " ".join(endings) not in c else c for c in texts]
        for text in dict.fromkeys(t for pair in zip(signed, texts, strict=True) for t in pair):
            if not text or text in tried:
                continue
            tried.add(text)
            kept = _checked(text, request, review, pack, form, notes)
            if kept and kept not in seen:
                seen.add(kept)
                offered.append(Rewrite(style=style, text=kept, verdict="post", placeholders=placeholders(kept)))
                break
    review.notes.extend(n for n in dict.fromkeys(notes) if n not in review.notes)
    return offered


def _reply_candidates(request: ReviewRequest, review: Review, pack: Pack, tpl: dict[str, Any], form: str,
                      reading: Reading, reuse: bool,
                      asked: tuple[str, ...] | None = None) -> list[tuple[str, list[str]]]:
    """The moves of docs/rewrites.md, per style, from the draft's reading; `asked`: the
    styles wanted, else those that fit the situation."""
    categories = {f.category for f in review.findings if f.severity != "low"}
    # Apologise when the reply mishandled a complaint or the brand is at fault; a
    # values attack or a price question gets a calm answer, not an apology.
    react = bool(categories & REACT_CATEGORIES) or _context_has(request, pack, "brand_fault")
    needs_dm = react or bool(categories & DM_CATEGORIES)
    situation = tuple(name for flag, name in (("values_attack", "values"), ("question", "question"))
                      if _context_has(request, pack, flag))
    problem = _problem(tpl, request, form)
    # Without a move to react with, the draft's own safe facts and actions still stand.
    action = _action(tpl, review, reading, form, reuse) if react else " ".join(reading.actions)
    greeting = _pick(tpl["greeting"], form).format(name=reading.name) if reading.name else ""
    core = _core(tpl, review, form, problem, "calm", situation)
    warm = _core(tpl, review, form, problem, "warm", situation)
    if reading.actions:  # the draft gives the substance the core's closing [placeholder] asks for
        core, warm = (re.sub(r"\s*\[[^\[\]]*\]\s*$", "", c) or c for c in (core, warm))
    slots = Slots(greeting=greeting, problem=problem, action=action, core=core, warm=warm, dm="",
                  references=reading.references, lead=tpl["reference_lead"],
                  fallback=_pick(tpl["fallback_action"], form))
    dms = _dm(tpl, review, form, needs_dm, reading)
    styles = ("apology", "calm", "concise") if react else ("calm", "warm")
    if react and any(f.category in CORE_PRIORITY[:5] and f.severity == "high" for f in review.findings):
        styles = ("calm", "apology", "concise")  # answer the attack calmly before apologising
    styles = asked if asked is not None else styles
    out: list[tuple[str, list[str]]] = []
    for style in styles:
        entry = tpl["styles"].get(style)
        template = _pick(entry, form) if entry else ""
        if not template:
            continue
        default = _pick(tpl["apologies"][style], form).format(problem=problem) if style in tpl["apologies"] else ""
        style_slots = slots._replace(apology=reading.apology or default)
        out.append((style, _variants(style_slots, template, reading, dms, default)))
    return out


def _context_has(request: ReviewRequest, pack: Pack, flag: str) -> bool:
    if not request.context:
        return False
    text = fold_context(context_read(request.context)).text  # the part the engine reads
    return any(p.search(text) for p in pack.context.get(flag, ()))
