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
from functools import lru_cache
from typing import Literal

from bot.review.anchors import shortest
from bot.review.prefilter import LazyStarts, unfiltered
from bot.review.regex_code import kept
from bot.review.text import context_read

FactKind = Literal["number", "date", "reference", "name", "commitment"]

_PLACEHOLDER = kept(r"\[[^\[\]\n]{1,80}\]")

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
    # What a rewrite must not claim has happened, or will today, unless a source says so.
    "today": r"aujourd'hui|today",
    "this morning": r"ce matin|this morning",
    "this afternoon": r"cet apres-midi|this afternoon",
    "yesterday": r"hier|yesterday",
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
    # A repair said done is a fact too (« le siège a été réparé », "was fixed this morning").
    "repair": r"repaired|repairs? (?:was|were|has been|have been) (?:done|made)|(?:was|were|has been|have been|is now|are now) "
              r"(?:\w+ )?fixed|repar(?:e|ee|es|ees|ons|erons|ation)|resolved|resolu\w*",
}
# Capitalised words that name no one: greetings, titles, platforms, chat words.
_NOT_NAMES = frozenset({
    "monsieur", "madame", "mademoiselle", "mme", "mr", "mrs", "ms", "dr", "merci", "thanks",
    "thank", "hello", "hi", "bonjour", "bonsoir", "salut", "cordialement", "regards", "team",
    "equipe", "service", "client", "clients", "customer", "support", "internet", "web", "instagram",
    "facebook", "linkedin", "tiktok", "google", "twitter", "whatsapp", "messenger", "dm", "dms",
    "mp", "ok", "okay", "sorry", "desole", "desoles", "desolee", "desolees",
})

_RELATIVE_DATE_RES = tuple((k, kept(rf"\b(?:{p})\b")) for k, p in _RELATIVE_DATES.items())
_COMMITMENT_RES = tuple((k, kept(rf"(?<!\w)(?:{p})(?!\w)")) for k, p in _COMMITMENTS.items())
# What each of those may start with, worked out once they have been used a few times
# (prefilter.LazyStarts): a text holding none of it is not scanned. Eighteen scans of
# every candidate rewrite were most of what checking its facts cost.
_SCANS = tuple((kind, key, compiled, LazyStarts((compiled,)))
               for kind, patterns in (("date", _RELATIVE_DATE_RES), ("commitment", _COMMITMENT_RES))
               for key, compiled in patterns)
_NAMED = frozenset(_NUMBER_WORDS) | frozenset(_DATE_WORDS)
_TWO_DIGITS = kept(r"\d\D*?\d")
_NUMBER = kept(r"\d+(?:[ .,\u202f\u00a0]\d{3})*(?:[.,]\d+)?")
# A hashtag, or a token of 4 to 40 characters (letters, digits, hyphens) checked for at
# least two digits and two letters in Python: a lookahead doing it rescans long words.
_REFERENCE = kept(r"#[\w-]+|(?<![\w-])[\w-]{4,40}(?![\w-])")
_WORD = kept(r"[^\W\d_]+(?:[-'][^\W\d_]+)*")
# A capitalised word in the middle of a sentence: a name or a place.
_TITLE = kept(r"(?<![\w'-])[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ]+(?:[-'][A-ZÀ-ÖØ-Þ]?[a-zà-öø-ÿ]+)*")
# What stands before a capitalised word that starts a sentence (spaces and opening quotes aside).
_MARKS = frozenset(".!?…:;\n«»\"“”([—–")
_OPENERS = frozenset("\"'«“(")


@dataclass(frozen=True)
class Fact:
    kind: FactKind
    key: str  # what is compared between texts
    text: str  # as written
    at: int = field(default=0, compare=False)  # where, for the order of a note


def fold(text: str) -> str:
    """Lower case, no accents, one kind of apostrophe: what facts are compared on."""
    if text.isascii():  # nothing to decompose, no typographic apostrophe
        return text.lower()
    text = unicodedata.normalize("NFKD", text)
    return text.translate(_WITHOUT_MARKS).replace("’", "'").replace("‘", "'").casefold()


class _MarksTable(dict[int, "int | None"]):
    """For `str.translate`: a combining mark to nothing, any other character to itself;
    each character looked up in `unicodedata` once, then in C (up to _TABLE_MAX of them)."""

    def __missing__(self, code: int) -> int | None:
        found = None if unicodedata.combining(chr(code)) else code
        if len(self) < _TABLE_MAX:
            self[code] = found
        return found


_TABLE_MAX = 20_000
_WITHOUT_MARKS = _MarksTable()


def _number_key(text: str) -> str:
    """« 1 000 », "1,000" and "1000" are one number; "12,50" and "12.50" too."""
    digits = re.sub(r"[ \u202f\u00a0]", "", text)
    if re.fullmatch(r"\d+(?:[.,]\d{3})+", digits):
        digits = re.sub(r"[.,]", "", digits)
    return digits.replace(",", ".").lstrip("0") or "0"


def facts(text: str) -> list[Fact]:
    """Every fact of `text` that a rewrite could invent, outside its [placeholders]."""
    # Blanked to the same length, so that each fact's `at` is its place in the text given.
    text = _PLACEHOLDER.sub(lambda m: " " * len(m.group(0)), text)
    folded = fold(text)
    found: list[Fact] = []
    taken: set[int] = set()  # offsets inside a reference
    # A reference is a hashtag or holds two digits: a text with neither has none.
    for m in _REFERENCE.finditer(text) if "#" in text or _TWO_DIGITS.search(text) else ():
        token = m.group(0)
        if not token.startswith("#") and (sum(map(str.isdigit, token)) < 2
                                          or sum(map(str.isalpha, token)) < 2):
            continue
        found.append(Fact("reference", fold(token).lstrip("#"), token, m.start()))
        taken.update(range(*m.span()))
    for m in _NUMBER.finditer(text):
        if m.start() not in taken:
            found.append(Fact("number", _number_key(m.group(0)), m.group(0), m.start()))
    same = len(folded) == len(text)  # folding kept the offsets: show the words as written

    def shown(m: re.Match[str]) -> str:
        return text[m.start():m.end()] if same else m.group(0)

    if not _NAMED.isdisjoint(_WORD.findall(folded)):
        for m in _WORD.finditer(folded):
            word = m.group(0)
            if word in _NUMBER_WORDS:
                found.append(Fact("number", str(_NUMBER_WORDS[word]), shown(m), m.start()))
            elif word in _DATE_WORDS:
                found.append(Fact("date", _DATE_WORDS[word], shown(m), m.start()))
    every_pattern = unfiltered(folded)  # a digit beyond ASCII: prefixes cannot tell
    for kind, key, compiled, starts in _SCANS:
        first = None if every_pattern else _first(starts)
        if first is not None and not any(map(folded.__contains__, first)):
            continue
        for m in compiled.finditer(folded):
            found.append(Fact(kind, key, shown(m), m.start()))  # type: ignore[arg-type]
    for m in _TITLE.finditer(text):
        key = fold(m.group(0))
        if key in _NOT_NAMES or key in _DATE_WORDS or key in _NUMBER_WORDS:
            continue
        if _starts_sentence(text, m.start()):
            continue  # capitalised because a sentence starts: it tells nothing
        found.append(Fact("name", key, m.group(0), m.start()))
    return sorted(found, key=lambda f: f.at)


_FIRST: dict[int, tuple[str, ...]] = {}


def _first(starts: LazyStarts) -> tuple[str, ...] | None:
    """Once `starts` knows a pattern's first characters, those no other begins (where
    « free » is, so is « free d »); None before, or when they cannot be told."""
    first = _FIRST.get(id(starts))
    if first is None:
        known = starts.get()
        if known is None:
            return None
        first = _FIRST[id(starts)] = tuple(shortest(known))
    return first


def _starts_sentence(text: str, at: int) -> bool:
    """Whether the word at `at` opens the text or a sentence: read backwards over the
    spaces and opening quotes before it (a scan of the whole prefix per word is quadratic)."""
    i = at
    while i > 0 and text[i - 1].isspace():
        if text[i - 1] == "\n":  # a line break ends a sentence
            return True
        i -= 1
    while i > 0 and text[i - 1] in _OPENERS:
        if text[i - 1] in _MARKS:
            return True
        i -= 1
    while i > 0 and text[i - 1].isspace():
        if text[i - 1] == "\n":
            return True
        i -= 1
    if i == 0:
        return True
    return text[i - 1] in _MARKS or (text[i - 1] == "-" and i >= 2 and text[i - 2].isspace())


@lru_cache(maxsize=64)
def _known_of(texts: tuple[str | None, ...]) -> tuple[frozenset[tuple[str, str]], frozenset[str]]:
    """What the sources say, once for all the candidates checked against them."""
    keys: set[tuple[str, str]] = set()
    words: set[str] = set()
    for source in texts:
        if not source:
            continue
        source = context_read(source)  # the bounded slice the rules read too
        keys.update((f.kind, f.key) for f in facts(source))
        words.update(_WORD.findall(fold(source)))
    return frozenset(keys), frozenset(words)


def _known(sources: Iterable[str | None], allowed: Iterable[str]) -> tuple[frozenset[tuple[str, str]], frozenset[str]]:
    return _known_of((*sources, *allowed))


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


# -- the guard: one for every source of a rewrite ------------------------------------------

# Where a number is an amount: a currency or a percentage next to it.
_AMOUNT_AROUND = kept(r"[£$€]\s?$|^\s?(?:€|%|eur\b|euros?\b|gbp\b|usd\b|dollars?\b|pounds?\b)", re.IGNORECASE)
_SENTENCE = kept(r"[^.!?…\n]*(?:[.!?…]+|\n|$)")
_MIN_WORDS = 4  # fewer words of its own left than this, and a rewrite says nothing


@dataclass(frozen=True)
class Guarded:
    """A rewrite after the guard: its text (None when dropped), the facts it had invented."""

    text: str | None
    invented: tuple[Fact, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.invented) and self.text is not None


def _own_words(text: str) -> int:
    return len(_WORD.findall(_PLACEHOLDER.sub(" ", text)))


def _token(text: str, fact: Fact) -> tuple[int, int] | None:
    """Where the fact is written in `text`, widened to the whole token (« 14C », « 200 € »)."""
    at = text.find(fact.text, max(0, fact.at - 2))
    if at < 0:
        at = text.find(fact.text)
    if at < 0:
        return None
    start, end = at, at + len(fact.text)
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] in "#"):
        start -= 1
    while end < len(text) and text[end].isalnum():
        end += 1
    if fact.kind == "number":
        before = re.search(r"[£$€]\s?$", text[:start])
        after = re.match(r"\s?(?:€|%|eur\b|euros?\b|gbp\b|usd\b|dollars?\b|pounds?\b)", text[end:], re.IGNORECASE)
        start = before.start() if before else start
        end = end + after.end() if after else end
    return start, end


def _label(text: str, span: tuple[int, int], fact: Fact, labels: dict[str, str]) -> str:
    if fact.kind == "number":
        token = text[span[0]:span[1]]
        if any(c.isalpha() for c in token.replace("€", "")) and not _AMOUNT_AROUND.search(token[-6:]):
            return labels.get("reference", "[?]")  # « 14C »: a seat, a gate, not a count
        amount = bool(re.search(r"[£$€%]|eur|gbp|usd|dollar|pound", token, re.IGNORECASE))
        return labels.get("amount" if amount else "number", "[?]")
    return labels.get(fact.kind, "[?]")


def placeholdered(text: str, found: Iterable[Fact], labels: dict[str, str]) -> str | None:
    """`text` with each invented fact turned into a [placeholder]: a sentence that makes an
    invented commitment becomes one placeholder; a number, date, reference or name becomes
    its kind's placeholder. None when a fact cannot be found again in the text."""
    found = list(found)
    sentences = [(m.start(), m.end()) for m in _SENTENCE.finditer(text) if m.group(0).strip()]
    cuts: list[tuple[int, int, str]] = []
    for fact in found:
        if fact.kind == "commitment":
            where = next(((a, b) for a, b in sentences if a <= fact.at < b), None)
            if where is None:
                return None
            a, b = where
            lead = len(text[a:b]) - len(text[a:b].lstrip())
            cuts.append((a + lead, b, labels.get("commitment", "[?]")))
    for fact in found:
        if fact.kind == "commitment":
            continue
        span = _token(text, fact)
        if span is None:
            return None
        if any(a <= span[0] < b for a, b, _ in cuts):
            continue  # inside a sentence already replaced
        cuts.append((span[0], span[1], _label(text, span, fact, labels)))
    out, last = [], 0
    for a, b, label in sorted(set(cuts)):
        if a < last:
            continue
        trail = " " if b < len(text) and text[b - 1] in ".!?…" and not text[b:b + 1].isspace() else ""
        out.append(text[last:a] + label + trail)
        last = b
    out.append(text[last:])
    return re.sub(r"[ \t]{2,}", " ", "".join(out)).strip()


def guard(text: str, sources: Iterable[str | None], allowed: Iterable[str] = (),
          labels: dict[str, str] | None = None) -> Guarded:
    """The one fact guard every rewrite passes, whatever wrote it (templates, the model,
    a follow-up, a translation): the facts no source gives become [placeholders]
    (`labels`, by kind: amount, number, date, reference, name, commitment), or, when
    too little of the rewrite would be left or `labels` is None, the rewrite is
    dropped (text None). `invented` says which facts, for the note that tells why."""
    sources, allowed = list(sources), list(allowed)
    found = unsupported(text, sources, allowed)
    if not found:
        return Guarded(text)
    if labels is None:
        return Guarded(None, tuple(found))
    fixed = placeholdered(text, found, labels)
    if (fixed is None or unsupported(fixed, sources, allowed)
            or _own_words(fixed) < max(_MIN_WORDS, 0.4 * _own_words(text))):
        return Guarded(None, tuple(found))
    return Guarded(fixed, tuple(found))


def shown(found: Iterable[Fact], limit: int = 4) -> str:
    """The invented facts as a short list: « 200 € », « Geneva »…"""
    found = list(found)
    text = ", ".join(f"« {f.text.strip()} »" for f in found[:limit])
    return text + (f" (+{len(found) - limit})" if len(found) > limit else "")


def describe_replaced(found: list[Fact]) -> str:
    """The note for facts a rewrite had invented, now [placeholders]."""
    return (f"{shown(found)} found neither in the draft nor in the customer's message: "
            f"replaced by [placeholders] to fill in")
