"""Text normalisation with a map back to the draft's own offsets.

Rules match on a folded copy of the draft (lower case, accents removed,
typographic apostrophes and quotes unified, runs of white space collapsed),
so that « SUPPRIMEZ », « supprimez » and « suprimez » meet the same pattern;
every folded character remembers where it came from, so findings point at
the exact words of the draft as given.

Folding also undoes the disguises of copy-paste and social-media "fonts":
invisible characters (soft hyphens, zero-width spaces, bidi controls) vanish,
full-width and mathematical letters (« ＳＵＰＰＲＩＭＥＺ », « 𝐝𝐞𝐥𝐞𝐭𝐞 ») become
plain letters, and look-alike letters of other scripts (Cyrillic « ԁеlеtе »)
become the Latin letter they imitate, within Latin words only.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from bot.review.regex_code import kept

_APOSTROPHES = "’‘ʼ`´′"
_QUOTE_PAIRS = {"«": "»", "“": "”", '"': '"', "„": "“"}
_PLACEHOLDER = kept(r"\[[^\[\]\n]{1,80}\]")
# A [placeholder] as a rewrite may leave it, up to 120 characters: what the rewriter, the
# relevance check and the tu/vous conversion leave untouched.
REWRITE_PLACEHOLDER = kept(r"\[[^\[\]\n]{1,120}\]")


# Characters that show nothing and only serve to hide a word from a filter:
# variation selectors and the combining grapheme joiner, besides every format
# character (category Cf: soft hyphen, zero-width spaces and joiners, bidi
# controls, word joiner, byte-order mark, tags…), which `_fold_char` drops too.
_INVISIBLE = frozenset("\u034f" + "".join(map(chr, (*range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)))))


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    if ch in _APOSTROPHES:
        return "'"
    if ch.isspace():
        return " "
    if ch.isascii():
        return ch.lower()
    if ch in _INVISIBLE or unicodedata.category(ch) == "Cf":
        return ""
    # NFKD turns full-width (ＳＵＰＰ) and mathematical letters (𝐝𝐞𝐥, 𝒅𝒆𝒍, 𝖽𝖾𝗅, 𝕕𝕖𝕝) into plain ones.
    decomposed = unicodedata.normalize("NFKD", ch)
    base = "".join(c for c in decomposed if not unicodedata.combining(c))
    if ch in "œŒ":
        return "oe"
    if ch in "æÆ":
        return "ae"
    return base.casefold() if base else ""


@dataclass(frozen=True)
class Folded:
    """A folded draft and the original index of each folded character."""

    original: str
    text: str
    origin: Sequence[int]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original [start, end) of the folded [start, end)."""
        if end <= start:
            pos = self.origin[start] if start < len(self.origin) else len(self.original)
            return pos, pos
        return self.origin[start], self.origin[end - 1] + 1


def _translation_table() -> dict[int, int | str]:
    """Each character of ASCII, Latin-1, Latin Extended and the general punctuation as it
    folds (accented letters, the separators that are white space…). Every one is in the
    table: `str.translate` raises and clears a LookupError for each character its table
    lacks, which made a French draft's translation twice as slow."""
    table: dict[int, int | str] = {}
    for code in (*range(0x250), *range(0x2000, 0x2070)):
        folded = _fold_char(chr(code))
        # Into several (« ¼ », « ĳ »): the text grows, and `fold` takes the slow way.
        table[code] = ord(folded) if len(folded) == 1 else folded
    for ch in _APOSTROPHES:
        table[ord(ch)] = ord("'")
    return table


_TABLE = _translation_table()
# What the fast path cannot fold one character to one: ligatures that expand, and any
# character outside Latin-1 and Latin Extended, the typographic spaces and punctuation,
# dingbats and emoji pictographs (other scripts and their look-alikes, marks, invisible
# characters, full-width and mathematical letters…). One class, so that `re` skips
# along the text: a single alternation was tried at every character.
_SLOW_CHARACTER = kept(
    r"[^\x00-\xac\xae-\xc5\xc7-\xde\xe0-\xe5\xe7-\u0151\u0154-\u024f"
    r"\u2000-\u200a\u2010-\u2029\u202f-\u205f\u2600-\u27bf\U0001f300-\U0001faff]"
)
# Where the folded text has spaces to drop: at its start, and after a space.
_SPACES_TO_DROP = kept(r"^ +| {2,}")


# Blocks of the scripts that hold letters looking like Latin ones (Greek, Cyrillic,
# Armenian, Cherokee, Coptic, Lisu, Deseret…, and the letterlike and mathematical
# forms of Greek): only a draft with one of them needs the look-alike pass, and
# loads Unicode's table.
_MAY_LOOK_ALIKE = kept(
    r"[\u0370-\u1fff\u2100-\u214f\u2c00-\u2dff\ua000-\uabff"
    r"\U00010000-\U0001cfff\U0001d6a8-\U0001d7cb\U0001e000-\U0001efff]"
)


@lru_cache(maxsize=4)
def fold(text: str) -> Folded:
    """The text folded: small letters without accents, look-alike letters read as Latin,
    invisible characters dropped, white space collapsed; with the original index of each
    folded character. The last four are kept: a review folds its draft for the rules, the
    relevance check and its rewrites' language, and the customer's message for the
    context flags, the relevance check and the second reading: four hold one review's
    own texts."""
    if text.isascii() and text.isprintable() and "  " not in text and text[:1] != " ":
        # No control character, so no white space but single spaces: nothing to collapse,
        # and ASCII folds one character to one (« ` » to « ' », capitals to small letters).
        return Folded(text, text.translate(_TABLE).lower(), range(len(text)))
    if not _SLOW_CHARACTER.search(text):
        folded = text.translate(_TABLE).lower()  # white space of every kind to « »
        if len(folded) == len(text):  # each character folded to one
            if "  " in folded or folded[:1] == " ":
                return _collapsed(text, folded)
            return Folded(text, folded, range(len(text)))
    return _fold_slow(text)


def _collapsed(text: str, folded: str) -> Folded:
    """`folded` (`text` folded one character to one) without the spaces `_fold_slow` drops:
    line breaks and double spaces, common in real drafts, need not fold character by
    character."""
    parts: list[str] = []
    origin: list[int] = []
    kept_from = 0
    for run in _SPACES_TO_DROP.finditer(folded):
        cut = run.start() + 1 if run.start() else 0  # a run keeps its first space, but at the start
        parts.append(folded[kept_from:cut])
        origin.extend(range(kept_from, cut))
        kept_from = run.end()
    parts.append(folded[kept_from:])
    origin.extend(range(kept_from, len(folded)))
    return Folded(text, "".join(parts), tuple(origin))


def _fold_slow(text: str) -> Folded:
    swap = _look_alike_swaps(text) if _MAY_LOOK_ALIKE.search(text) else None
    out: list[str] = []
    origin: list[int] = []
    previous_space = True
    for i, ch in enumerate(text):
        folded = _fold_char(ch)
        if swap and i in swap:
            folded = swap[i]
        if folded == " ":
            if previous_space:
                continue
            previous_space = True
        elif folded:
            previous_space = False
        for c in folded:
            out.append(c)
            origin.append(i)
    return Folded(text, "".join(out), tuple(origin))



# How much of the customer's message (the context) is read: its first and last
# CONTEXT_READ_CHARS // 2 characters. A complaint is said at the beginning or at the end of a
# message, while the context has no length limit (a Slack thread parent can be 40,000
# characters, a pasted log a megabyte): reading a bounded slice makes a 1 MB context cost
# what a 10,000-character one does. Only what is read is cut: the request and the review
# keep the whole message. The rules, the rewrites, the fact guard and the second reading
# all read this same slice.
CONTEXT_READ_CHARS = 10_000


def context_read(context: str) -> str:
    """The part of the customer's message that is read: all of it up to
    CONTEXT_READ_CHARS, else its beginning and its end, cut at white space."""
    if len(context) <= CONTEXT_READ_CHARS:
        return context
    half = CONTEXT_READ_CHARS // 2
    head, tail = context[:half], context[-half:]
    # Drop a word cut in two (« nul » read from « nullement »), with str methods: linear.
    if not (head[-1].isspace() or context[half].isspace()):
        words = head.rsplit(maxsplit=1)
        head = words[0] if len(words) == 2 else head
    if not (tail[0].isspace() or context[-half - 1].isspace()):
        words = tail.split(maxsplit=1)
        tail = words[1] if len(words) == 2 else tail
    return head + "\n\n" + tail


def fold_context(read: str) -> Folded:
    """The part of the customer's message that is read (`context_read`), folded: once for
    the context flags, the relevance check, the second reading and the rewrites alike
    (`fold` keeps it)."""
    return fold(read)

# Look-alike letters of other scripts ---------------------------------------
#
# Unicode's confusables (confusables.txt, as shipped by confusable-homoglyphs)
# say which letters of other scripts look like a Latin one: Cyrillic а е о р с х
# у і ԁ ѕ ј һ, Greek ο α ν ι ρ, Cherokee Ꭰ… We keep those that look like one
# ASCII letter (or its small capital: Cyrillic т, н, в), and add the few that
# every homoglyph list has but Unicode pairs with a rarer Latin letter.
_LOOK_ALIKE_EXTRA = {"ε": "e", "κ": "k", "к": "k", "м": "m"}
# Shaped like a bare stroke: « I » in a word in capitals, « l » among small letters.
_I_OR_L = frozenset("ΙІӀӏ")
_SMALL_CAPITAL = "LATIN LETTER SMALL CAPITAL "


@lru_cache(maxsize=1)
def _look_alike_table() -> dict[str, str]:
    """Letter of another script -> the lower-case ASCII letter it imitates."""
    import importlib.util
    import json
    import os

    data: dict[str, list[dict[str, str]]] = {}
    try:  # the package's data file, read without importing the package (nor importlib.resources)
        spec = importlib.util.find_spec("confusable_homoglyphs")
        for folder in (spec.submodule_search_locations or []) if spec else []:
            with open(os.path.join(folder, "confusables.json"), encoding="utf-8") as file:
                data = json.load(file)
            break
    except (ImportError, OSError, ValueError):  # a broken install must not stop reviews
        data = {}

    def latin(glyph: str) -> str | None:
        if len(glyph) != 1:
            return None
        if glyph.isascii() and glyph.isalpha():
            return glyph.lower()
        name = unicodedata.name(glyph, "")
        rest = name[len(_SMALL_CAPITAL):]
        if name.startswith(_SMALL_CAPITAL) and len(rest) == 1:
            return rest.lower()
        return None

    table: dict[str, str] = {}
    for ch, glyphs in data.items():
        if (len(ch) != 1 or not unicodedata.category(ch).startswith("L")
                or unicodedata.name(ch, "").startswith("LATIN")
                or unicodedata.normalize("NFKD", ch) != ch):
            continue
        targets = {t for g in glyphs if (t := latin(g.get("c", "")))}
        if len(targets) == 1:
            table[ch] = targets.pop()
    table.update(_LOOK_ALIKE_EXTRA)
    return table


@lru_cache(maxsize=4096)
def _letter_kind(ch: str) -> tuple[str, str]:
    """("latin" | "look" | "other" | "join" | "", the Latin letter a look-alike imitates).

    "join" is what stays inside a word without being a letter: invisible
    characters and combining marks.
    """
    folded = _fold_char(ch)
    if not folded:
        return "join", ""
    if not ch.isalpha():
        return ("join" if unicodedata.combining(ch) else ""), ""
    if folded.isascii() or unicodedata.name(ch, "").startswith("LATIN"):
        return "latin", ""
    base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    look = _look_alike_table().get(base, "") if len(base) == 1 else ""
    return ("look" if look else "other"), look


def _look_alike_swaps(text: str) -> dict[int, str]:
    """Draft index -> Latin letter, for the look-alike letters that stand for Latin ones.

    Judged word by word, so that a genuine Greek or Cyrillic sentence stays as
    it is: the look-alikes of a word are read as Latin when the word also has
    a Latin letter (« ԁеlеtе »), or when all its letters are look-alikes
    (« ԁеӏеtе » with Cyrillic т, « ѕсаm ») and the draft as a whole is written
    mostly in Latin letters. « Привет » (п, в, т have no Latin twin) and « но »
    in a Russian draft are left alone.
    """
    kinds = [_letter_kind(ch) for ch in text]
    if not any(kind == "look" for kind, _ in kinds):
        return {}
    latin_draft: bool | None = None
    swaps: dict[int, str] = {}
    i, n = 0, len(text)
    while i < n:
        if not kinds[i][0]:
            i += 1
            continue
        start = i
        while i < n and kinds[i][0]:
            i += 1
        word = kinds[start:i]
        looks = [start + k for k, (kind, _) in enumerate(word) if kind == "look"]
        if not looks:
            continue
        has = {kind for kind, _ in word}
        if "latin" not in has:
            if "other" in has:
                continue
            if latin_draft is None:
                latin = sum(1 for kind, _ in kinds if kind == "latin")
                latin_draft = latin > sum(1 for kind, _ in kinds if kind in ("look", "other"))
            if not latin_draft:
                continue
        capitals = not any(text[j].islower() for j in range(start, i)
                           if kinds[j][0] in ("latin", "look", "other") and text[j] not in _I_OR_L)
        for j in looks:
            look = kinds[j][1]
            swaps[j] = ("i" if capitals else "l") if text[j] in _I_OR_L else look
    return swaps


_OPENING = kept("[" + "".join(_QUOTE_PAIRS) + "]")


def quoted_regions(text: str) -> list[tuple[int, int]]:
    """Original-offset regions inside quotation marks (reported speech): from an opening
    mark to the first closing mark after it, with something between, left to right.

    The matches of `«[^»]+»|“[^”]+”|„[^“]+“|"[^"]+"`, found in linear time: that pattern
    read to the end of the text from each « of « a « a « a… (quadratic), where here a
    closing mark found missing once is not looked for again."""
    if not any(q in text for q in _QUOTE_PAIRS):
        return []
    regions: list[tuple[int, int]] = []
    missing: set[str] = set()
    position = 0
    while (opening := _OPENING.search(text, position)) is not None:
        start = opening.start()
        closing = _QUOTE_PAIRS[text[start]]
        end = -1 if closing in missing else text.find(closing, start + 1)
        if end == -1:
            missing.add(closing)
        if end > start + 1:  # at least one character between the marks
            regions.append((start, end + 1))
            position = end + 1
        else:
            position = start + 1
    return regions


def placeholder_regions(text: str) -> list[tuple[int, int]]:
    """`[…]` placeholders left in rewrites for the community manager to fill."""
    return [(m.start(), m.end()) for m in _PLACEHOLDER.finditer(text)]


def placeholders(text: str) -> list[str]:
    return [m.group(0) for m in _PLACEHOLDER.finditer(text)]


def inside(start: int, end: int, regions: list[tuple[int, int]]) -> bool:
    return any(a <= start and end <= b for a, b in regions)


_URL = kept(r"https?://\S+|www\.\S+", re.IGNORECASE)


def may_hold_link(text: str) -> bool:
    """Whether `text` may hold a link: every one holds « // » or « www. » (in any case)."""
    return "//" in text or "www." in text.lower()


def strip_for_detection(text: str) -> str:
    """Drop what tells nothing of the language: links, @mentions, #tags' marks, emoji."""
    if may_hold_link(text):
        text = _URL.sub(" ", text)
    if "@" in text:
        text = _MENTION.sub(" ", text)
    text = _NOT_LANGUAGE.sub(" ", text)
    return " ".join(text.split())


_MENTION = kept(r"@\w+")
# Keep letters and the punctuation that belongs to sentences; drop digits, emoji, symbols, '#'.
_NOT_LANGUAGE = kept(r"[^\w\s'’\-.,?!]|[\d_]")
