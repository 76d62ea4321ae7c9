"""The facts a rewrite may state: only those the draft or the customer's message gave.

A model asked for a better reply likes to be helpful: « nous vous remboursons »,
"a free flight", a date, an order number, a name. A rewrite that promises what
the brand never said is worse than the draft it replaces (docs/rewrites.md,
"Never invent"). `unsupported` lists the numbers, amounts, dates, references,
names, places and commitments of a rewrite that none of its sources holds; the
caller drops such a rewrite and says why with `describe`.

Platform-neutral and pure (no I/O). Languages: French and English; the facts
are compared by meaning where it is cheap (« trois » is 3, « remboursement »
and "refund" are one commitment), so a translation keeps its facts.
`[placeholders]` are never facts: they are what the community manager fills in.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

FactKind = Literal["number", "date", "reference", "name", "commitment"]

_PLACEHOLDER = re.compile(r"\[[^\[\]\n]{1,80}\]")

# Number words a reply may use for a fact (« sous deux jours », "three hours").
# Not "un"/"one" (articles) nor « neuf » (new).
_NUMBER_WORDS = {
    "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7, "huit": 8, "dix": 10,
    "onze": 11, "douze": 12, "quinze": 15, "vingt": 20, "trente": 30, "cent": 100,
    "two": 2, "three": 3, "four": 4, "five": 5, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "hundred": 100,
}
# Days and months, folded; "may" and "march" are verbs too: their number gives them away.
_DATE_WORDS = {
    "lundi": "monday", "mardi": "tuesday", "mercredi": "wednesday", "jeudi": "thursday",
    "vendredi": "friday", "samedi": "saturday", "dimanche": "sunday",
    "monday": "monday", "tuesday": "tuesday", "wednesday": "wednesday", "thursday": "thursday",
    "friday": "friday", "saturday": "saturday", "sunday": "sunday",
    "janvier": "january", "fevrier": "february", "mars": "march", "avril": "april", "mai": "may",
    "juin": "june", "juillet": "july", "aout": "august", "septembre": "september",
    "octobre": "october", "novembre": "november", "decembre": "december",
    "january": "january", "february": "february", "april": "april", "june": "june",
    "july": "july", "august": "august", "september": "september", "october": "october",
    "november": "november", "december": "december",
}
# Relative dates are promises of time: « demain », "by the end of the week".
_RELATIVE_DATES = {
    "tomorrow": r"demain|apres-demain|tomorrow",
    "tonight": r"ce soir|tonight|this evening",
    "next week": r"la semaine prochaine|next week",
    "end of period": r"d'ici (?:la )?fin (?:de (?:la )?|du )?(?:journee|semaine|mois)|"
                     r"by the end of (?:the |this )?(?:day|week|month)|end of (?:the )?day",
    "within the hour": r"dans l'heure|within the hour|within an hour",
}
# Commitments, by meaning, so that a translation keeps them. Folded text.
_COMMITMENTS = {
    "refund": r"refund\w*|reimburs\w*|rembours\w*|money back",
    "compensation": r"compensat\w*|dedommag\w*|indemni\w*|gestes? commercia\w*|goodwill gesture\w*|"
                    r"make it up to you",
    "voucher": r"vouchers?|coupons?|gift cards?|bons? d'achat|cartes? cadeaux?|store credit|"
               r"codes? promo\w*|promo codes?",
    "discount": r"discount\w*|reductions?|remises?|rabais|\d+ ?% off|\d+ ?% de (?:reduction|remise)|percent off",
    "free": r"free of charge|for free|free (?:\w+ ){0,2}?(?:flights?|tickets?|nights?|meals?|delivery|"
            r"shipping|months?|trips?|upgrades?|items?|replacements?|products?|drinks?|coffees?)|"
            r"complimentary|gratuit\w*|offerts?|offertes?|a nos frais|at our expense|on the house",
    "replacement": r"replac\w*|remplac\w*|(?:send|ship) you (?:a |another |a new )|"
                   r"vous (?:renvoyer|renvoyons|renverrons)|new one sent",
    "upgrade": r"upgrad\w*|surclass\w*",
    "guarantee": r"guarantee\w*|garanti\w*|we promise|nous vous promettons|je vous promets",
}
# Capitalised words that name no one: greetings, titles, platforms, chat words.
_NOT_NAMES = frozenset({
    "monsieur", "madame", "mademoiselle", "mme", "mr", "mrs", "ms", "dr", "merci", "thanks",
    "thank", "hello", "hi", "bonjour", "bonsoir", "salut", "cordialement", "regards", "team",
    "equipe", "service", "client", "clients", "customer", "support", "internet", "web", "instagram",
    "facebook", "linkedin", "tiktok", "google", "twitter", "whatsapp", "messenger", "dm", "dms",
    "mp", "ok", "okay", "sorry", "desole", "desoles", "desolee", "desolees",
})

_NUMBER = re.compile(r"\d+(?:[ .,\u202f\u00a0]\d{3})*(?:[.,]\d+)?")
_REFERENCE = re.compile(r"#[\w-]+|\b(?=(?:[\w-]*\d){2})(?=(?:[\w-]*[^\W\d_]){2})[\w-]{4,}\b")
_WORD = re.compile(r"[^\W\d_]+(?:[-'][^\W\d_]+)*")
# A capitalised word in the middle of a sentence: a name or a place.
_TITLE = re.compile(r"(?<![\w'-])[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ]+(?:[-'][A-ZÀ-ÖØ-Þ]?[a-zà-öø-ÿ]+)*")
_SENTENCE_START = re.compile(r"(?:^|[.!?…:;\n«»\"“”(\[—–]|\s-)\s*[\"'«“(]*\s*$")


@dataclass(frozen=True)
class Fact:
    kind: FactKind
    key: str  # what is compared between texts
    text: str  # as written
    at: int = field(default=0, compare=False)  # where, for the order of a note


def fold(text: str) -> str:
    """Lower case, no accents, one kind of apostrophe: what facts are compared on."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return text.replace("’", "'").replace("‘", "'").casefold()


def _number_key(text: str) -> str:
    """« 1 000 », "1,000" and "1000" are one number; "12,50" and "12.50" too."""
    digits = re.sub(r"[ \u202f\u00a0]", "", text)
    if re.fullmatch(r"\d+(?:[.,]\d{3})+", digits):
        digits = re.sub(r"[.,]", "", digits)
    return digits.replace(",", ".").lstrip("0") or "0"


def facts(text: str) -> list[Fact]:
    """Every fact of `text` that a rewrite could invent, outside its [placeholders]."""
    text = _PLACEHOLDER.sub(" ", text)
    folded = fold(text)
    found: list[Fact] = []
    taken: list[tuple[int, int]] = []
    for m in _REFERENCE.finditer(text):
        found.append(Fact("reference", fold(m.group(0)).lstrip("#"), m.group(0), m.start()))
        taken.append(m.span())
    for m in _NUMBER.finditer(text):
        if not any(a <= m.start() < b for a, b in taken):
            found.append(Fact("number", _number_key(m.group(0)), m.group(0), m.start()))
    same = len(folded) == len(text)  # folding kept the offsets: show the words as written

    def shown(m: re.Match[str]) -> str:
        return text[m.start():m.end()] if same else m.group(0)

    for m in _WORD.finditer(folded):
        word = m.group(0)
        if word in _NUMBER_WORDS:
            found.append(Fact("number", str(_NUMBER_WORDS[word]), shown(m), m.start()))
        elif word in _DATE_WORDS:
            found.append(Fact("date", _DATE_WORDS[word], shown(m), m.start()))
    for key, pattern in _RELATIVE_DATES.items():
        for m in re.finditer(rf"\b(?:{pattern})\b", folded):
            found.append(Fact("date", key, shown(m), m.start()))
    for key, pattern in _COMMITMENTS.items():
        for m in re.finditer(rf"(?<!\w)(?:{pattern})(?!\w)", folded):
            found.append(Fact("commitment", key, shown(m), m.start()))
    for m in _TITLE.finditer(text):
        key = fold(m.group(0))
        if key in _NOT_NAMES or key in _DATE_WORDS or key in _NUMBER_WORDS:
            continue
        if _SENTENCE_START.search(text[:m.start()]):
            continue  # capitalised because a sentence starts: it tells nothing
        found.append(Fact("name", key, m.group(0), m.start()))
    return sorted(found, key=lambda f: f.at)


def _known(sources: Iterable[str | None], allowed: Iterable[str]) -> tuple[set[tuple[str, str]], set[str]]:
    keys: set[tuple[str, str]] = set()
    words: set[str] = set()
    for source in [*sources, *allowed]:
        if not source:
            continue
        keys.update((f.kind, f.key) for f in facts(source))
        words.update(_WORD.findall(fold(source)))
    return keys, words


def unsupported(rewrite: str, sources: Iterable[str | None], allowed: Iterable[str] = ()) -> list[Fact]:
    """The facts of `rewrite` that no source gives, each once, in the rewrite's order.

    `sources`: the draft and the customer's message (None where absent);
    `allowed`: what the brand may always say (its name, its signature).
    """
    keys, words = _known(sources, allowed)
    out: list[Fact] = []
    seen: set[tuple[str, str]] = set()
    for fact in facts(rewrite):
        ident = (fact.kind, fact.key)
        if ident in keys or ident in seen:
            continue
        # A name or a date may be written in lower case in a source, or as a word of it.
        if fact.kind in ("name", "date", "reference") and fact.key in words:
            continue
        seen.add(ident)
        out.append(fact)
    return out


def describe(found: list[Fact], limit: int = 4) -> str:
    """The invented facts in a few words, for the note that says why a rewrite was left out."""
    shown = ", ".join(f"« {f.text.strip()} »" for f in found[:limit])
    more = f" and {len(found) - limit} more" if len(found) > limit else ""
    return (f"it states facts found neither in the draft nor in the customer's message "
            f"({shown}{more}); write a [placeholder] instead")
