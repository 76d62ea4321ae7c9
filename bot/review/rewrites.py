"""Offline rewrites built from templates (packs/_rewrites.yml).

A rewrite follows docs/rewrites.md: acknowledge, apologise when the brand is
at fault, say what is being done, then offer a private channel. It keeps the
draft's language, form of address and facts (its safe sentences that state an
action, its references, dates, amounts and links) and never invents one: where
a move needs a fact the draft lacks, a [placeholder] is left. Every rewrite is
reviewed again and offered only if that review says `post`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from bot.datafiles import load_yaml
from bot.review.engine import context_read, fold_context
from bot.review.models import Review, ReviewRequest, Rewrite
from bot.review.packs import Pack
from bot.review.platforms import fits
from bot.review.text import fold, placeholders

REACT_CATEGORIES = {"deletion_demand", "private_redirect", "no_acknowledgement", "blame_shift",
                    "personal_data"}
DM_CATEGORIES = {"deletion_demand", "private_redirect", "personal_data", "no_acknowledgement"}
# Which calm answer leads when several risks are found.
CORE_PRIORITY = ("discrimination", "sensitive_topic", "legal_threat", "censorship", "insult",
                 "condescension", "blame_shift", "aggressive_tone")
_NAME = re.compile(
    r"\b(?:Bonjour|Bonsoir|Salut|Coucou|Hello|Hi|Hey|Dear)\s+([A-ZÀ-Ý][a-zà-ÿ'\-]{1,20})\b"
    r"|,\s+([A-ZÀ-Ý][a-zà-ÿ'\-]{1,20})\s*[.!]"
)
_NOT_NAMES = {"Nous", "Vous", "We", "You", "Merci", "Thanks", "Toutes", "Tous", "Sorry", "Désolé",
              "Désolés", "Bonjour", "Hello", "Hi", "Team", "Équipe", "Pouvez", "Could", "Please"}
_REFERENCE = re.compile(
    r"\b(?:vol|flight|train|commande|order|colis|parcel|dossier|ticket|billet|booking|réservation|"
    # \s*+ (possessive), not \s*…\s*: two runs of spaces sharing a gap retry every split of it.
    r"reservation|case|ligne|line|TGV|TER|RER)\s*+(?:(?:n°|no\.?|#|num[ée]ro)\s*+)?[A-Z]{0,4}\d[\w\-]*",
    re.IGNORECASE,
)
_FACT = re.compile(
    r"https?://\S+|www\.\S+|\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b|[£$€]\s?\d+(?:[.,]\d+)?|"
    r"\b\d+(?:[.,]\d+)?\s?(?:€|euros?|%|h\d{0,2}|am|pm)(?!\w)|\b\d{1,2}:\d{2}\b"
)
_CLAUSE = re.compile(r"[^.!?;,\n]+[.!?;,]*")


@dataclass(frozen=True)
class Slots:
    greeting: str
    problem: str
    action: str
    core: str
    warm: str
    dm: str


@lru_cache(maxsize=1)
def _templates() -> dict[str, Any]:
    path = Path(__file__).parent / "packs" / "_rewrites.yml"
    return load_yaml(path)


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w)(?:{pattern})(?!\w)")


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


def _greeting(tpl: dict[str, Any], draft: str, form: str) -> str:
    for m in _NAME.finditer(draft):
        name = m.group(1) or m.group(2)
        if name and name not in _NOT_NAMES:
            return _pick(tpl["greeting"], form).format(name=name)
    return ""


def _facts(draft: str, kept: str) -> list[str]:
    """References, dates, amounts and links of the draft that the rewrite would lose."""
    found: list[str] = []
    for m in list(_REFERENCE.finditer(draft)) + list(_FACT.finditer(draft)):
        fact = m.group(0).strip().rstrip(".,;:!?")
        if fact and fact not in kept and all(fact not in f and f not in fact for f in found):
            found.append(fact)
    return found


def _safe_action_clauses(review: Review, pack: Pack) -> list[str]:
    """The draft's own clauses that state an action and carry no risk."""
    draft = review.draft
    risky = [f.span for f in review.findings if f.span and f.severity != "low"]
    action_patterns = [p for s in pack.strengths if s.kind == "next_step" for p in s.patterns]
    dm_patterns = [p for s in pack.strengths if s.kind == "private_channel" for p in s.patterns]
    kept: list[str] = []
    for m in _CLAUSE.finditer(draft):
        start, end = m.start(), m.end()
        clause = m.group(0).strip().rstrip(",;")
        if not clause or any(s.start < end and start < s.end for s in risky):
            continue
        folded = fold(clause).text
        if not any(p.search(folded) for p in action_patterns):
            continue
        if any(p.search(folded) for p in dm_patterns):
            continue  # the invitation to DM is added by the template, once
        clause = clause[0].upper() + clause[1:]
        if clause[-1] not in ".!?":
            clause += "."
        kept.append(clause)
    return kept


def _action(tpl: dict[str, Any], review: Review, pack: Pack, form: str) -> str:
    kept = _safe_action_clauses(review, pack)
    facts = _facts(review.draft, " ".join(kept))
    refs = f" ({', '.join(facts)})" if facts else ""
    if kept:
        if refs:
            kept[-1] = kept[-1][:-1] + refs + kept[-1][-1]
        return " ".join(kept)
    text = fold(review.draft).text
    for item in tpl["actions"]:
        if _compiled(item["pattern"]).search(text):
            return _pick(item, form).format(ref=refs)
    return _pick(tpl["fallback_action"], form) + refs


def _dm(tpl: dict[str, Any], review: Review, form: str, needs_dm: bool) -> str:
    data = [f.span.text for f in review.findings if f.category == "personal_data" and f.span
            and f.severity != "low"]
    if data:
        owner = {"fr": "tu" if form == "tu" else "vous"}.get(review.language, "en")
        det = {"tu": "ton ", "vous": "votre ", "en": "your "}[owner]
        last = " and " if review.language == "en" else " et "
        items = [d if d.lower().startswith(("votre", "ton", "ta", "your", "vos", "tes")) else det + d
                 for d in data]
        listed = items[0] if len(items) == 1 else ", ".join(items[:-1]) + last + items[-1]
        return _pick(tpl["dm_data"], form).format(data=listed)
    return _pick(tpl["dm"], form) if needs_dm else ""


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
    text = template.format(greeting=slots.greeting, problem=slots.problem, action=slots.action,
                           core=slots.core, warm=slots.warm, dm=slots.dm)
    text = re.sub(r"\s+", " ", text).strip()
    if slots.greeting and len(text) > len(slots.greeting):
        # « Bonjour Julie, Merci » → « Bonjour Julie, merci »
        i = len(slots.greeting.strip()) + 1
        if i < len(text) and text[i].isupper() and not text[i + 1: i + 2].isupper():
            text = text[:i] + text[i].lower() + text[i + 1:]
    return text


def _variants(text: str, slots: Slots, template: str) -> list[str]:
    """The full text, then shorter forms for platforms that count tight."""
    out = [text]
    out.append(_compose(template, replace(slots, greeting="")))
    first_action = slots.action.split(". ")[0].rstrip(".") + "." if slots.action else ""
    out.append(_compose(template, replace(slots, greeting="", action=first_action)))
    out.append(_compose(template, replace(slots, greeting="", action="")))
    return out


def propose(
    request: ReviewRequest,
    review: Review,
    pack: Pack,
    *,
    form: str | None = None,
    styles: tuple[str, ...] | None = None,
) -> list[Rewrite]:
    """Rewrites in several styles; only those whose own review says `post`."""
    from bot.review.engine import review_offline

    tpl = _templates().get(pack.language)
    if tpl is None:
        return []
    form = form or address_form(request, pack)
    categories = {f.category for f in review.findings if f.severity != "low"}
    complaint = _context_has(request, pack, "complaint")
    # Apologise when the reply mishandled a complaint or the brand is at fault; a
    # values attack or a price question gets a calm answer, not an apology.
    react = bool(categories & REACT_CATEGORIES) or _context_has(request, pack, "brand_fault")
    needs_dm = react or bool(categories & DM_CATEGORIES)
    situation = tuple(name for flag, name in (("values_attack", "values"), ("question", "question"))
                      if _context_has(request, pack, flag))
    problem = _problem(tpl, request, form)
    slots = Slots(
        greeting=_greeting(tpl, request.draft, form),
        problem=problem,
        action=_action(tpl, review, pack, form) if react else "",
        core=_core(tpl, review, form, problem, "calm", situation),
        warm=_core(tpl, review, form, problem, "warm", situation),
        dm=_dm(tpl, review, form, needs_dm),
    )
    if styles is None:
        styles = ("apology", "calm", "concise") if react else ("calm", "warm")
        if react and any(f.category in CORE_PRIORITY[:5] and f.severity == "high" for f in review.findings):
            styles = ("calm", "apology", "concise")  # answer the attack calmly before apologising
    del complaint
    signature = f" {request.profile.signature}" if request.profile.signature else ""
    offered: list[Rewrite] = []
    seen: set[str] = set()
    for style in styles:
        entry = tpl["styles"].get(style)
        if entry is None:
            continue
        template = _pick(entry, form)
        if not template:
            continue
        for candidate in _variants(_compose(template, slots), slots, template):
            text = candidate + signature if candidate and fits(candidate + signature, request.platform) else candidate
            if not text or text in seen or not fits(text, request.platform):
                continue
            # The templates are ours and checked by the rules; the learned layer reads people's drafts.
            check = review_offline(replace(request, draft=text, lang=pack.language, second_reading=False),
                                   rewrite=False)
            if check.verdict != "post":
                continue
            seen.add(text)
            offered.append(Rewrite(style=style, text=text, verdict="post", placeholders=placeholders(text)))
            break
    return offered


def _context_has(request: ReviewRequest, pack: Pack, flag: str) -> bool:
    if not request.context:
        return False
    text = fold_context(context_read(request.context)).text  # the part the engine reads
    return any(p.search(text) for p in pack.context.get(flag, ()))
