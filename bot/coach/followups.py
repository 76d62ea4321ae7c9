"""Offline follow-ups on a reply: shorter, longer, more formal, warmer, tu/vous,
and the user's own "add that …" / "remove the part about …".

Each transformation returns candidate texts, best first; the coach reviews
them again and shows the first that still passes. The word tables are data
(data/followups.yml; the French forms of address, shared with the rewriter, are in
bot/review/address.py); this module only applies them.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from bot.datafiles import load_yaml
from bot.review.address import apply_pairs, to_tu, to_vous
from bot.review.text import fold

DATA = Path(__file__).parent / "data" / "followups.yml"
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=\S)")
_PLACEHOLDER = re.compile(r"\[[^\[\]\n]{1,120}\]")
_EMOJI = re.compile("[\U0001F300-\U0001FAFF\u2600-\u27BF\uFE0F]")


@lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    return load_yaml(DATA)


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]


def _join(parts: list[str]) -> str:
    return " ".join(p.strip() for p in parts if p.strip())


def _essential(sentence: str, lang: str = "") -> bool:
    """Facts, placeholders and the moves that matter must survive: digits, [to fill],
    quotes, the apology, the action, the invitation to DM (data: `moves`)."""
    if _PLACEHOLDER.search(sentence) or re.search(r"\d", sentence) or re.search(r"[«“\"]", sentence):
        return True
    folded = fold(sentence).text
    return any(re.search(p, folded) for p in _data()["moves"].get(lang, ()))


def _is_filler(sentence: str, lang: str) -> bool:
    folded = fold(sentence).text
    return any(re.search(p, folded) for p in _data()["filler"].get(lang, ()))


def _unique_shorter(original: str, candidates: list[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for c in candidates:
        c = re.sub(r"\s{2,}", " ", c).strip()
        if c and len(c) < len(original) and c not in seen:
            seen.add(c)
            out.append(c)
    return out


def shorter(text: str, lang: str) -> list[str]:
    """Shorter versions, the gentlest cut first: filler sentences, then words and
    clauses that carry nothing, then a whole sentence. Never a fact or placeholder."""
    parts = sentences(text)
    candidates: list[str] = []
    fillers = [s for s in parts if _is_filler(s, lang) and not _essential(s, lang)]
    if fillers and len(fillers) < len(parts):
        candidates.append(_join([s for s in parts if s not in fillers]))
    trimmed = _outside_placeholders(text, [re.compile(p, re.IGNORECASE)
                                           for p in _data()["trim"].get(lang, ())])
    candidates.append(trimmed[:1].upper() + trimmed[1:] if trimmed else trimmed)
    # An opening clause before a colon (« Merci de nous l'avoir signalé : … »).
    for i, s in enumerate(parts):
        head, sep, rest = s.partition(" : ") if " : " in s else s.partition(": ")
        if "[" in head and "]" not in head:
            continue  # the colon of a [placeholder]: it stays whole
        if sep and rest and not _essential(head, lang) and len(head) < len(rest):
            candidates.append(_join([*parts[:i], rest[:1].upper() + rest[1:], *parts[i + 1:]]))
    if len(parts) > 1:
        droppable = [i for i, s in enumerate(parts) if not _essential(s, lang)]
        # Later sentences first (the opening acknowledges), longer first.
        droppable.sort(key=lambda i: (i == 0, -len(parts[i])))
        for i in droppable:
            candidates.append(_join(parts[:i] + parts[i + 1:]))
    return _unique_shorter(text, candidates)


def _outside_placeholders(text: str, patterns: list[re.Pattern[str]]) -> str:
    """Remove every match of the patterns, except inside [placeholders]."""
    for pattern in patterns:
        kept = [(p.start(), p.end()) for p in _PLACEHOLDER.finditer(text)]
        pieces: list[str] = []
        last = 0
        for m in pattern.finditer(text):
            if any(a <= m.start() < b for a, b in kept):
                continue
            pieces.append(text[last:m.start()])
            last = m.end()
        pieces.append(text[last:])
        text = "".join(pieces)
    return re.sub(r"[ \t]{2,}", " ", text).strip()


def address_of(text: str) -> str | None:
    """"tu" or "vous" as the French text uses it, None when it uses neither."""
    folded = fold(text).text
    vous = len(re.findall(r"(?<!\w)(vous|votre|vos)(?!\w)", folded))
    tu = len(re.findall(r"(?<!\w)(tu|te|toi|ton|ta|tes)(?!\w)|(?<!\w)t'", folded))
    if not vous and not tu:
        return None
    return "vous" if vous >= tu else "tu"


def longer(text: str, lang: str) -> list[str]:
    table = _data()["longer"]
    extra = table.get(lang, [])
    if isinstance(extra, dict):
        extra = extra.get(address_of(text) or "vous", [])
    folded = fold(text).text
    out = []
    for sentence in extra:
        if fold(sentence).text not in folded:
            out.append(_join([text, sentence]))
    both = [s for s in extra if fold(s).text not in folded]
    if len(both) > 1:
        out.insert(0, _join([text, *both]))
    return out


def formal(text: str, lang: str) -> list[str]:
    result = apply_pairs(text, _data()["formal"].get(lang, []))
    if lang == "fr":  # formal French says « vous »
        result = to_vous(result)
    result = _EMOJI.sub("", result)
    result = re.sub(r"!+", ".", result)
    result = re.sub(r"\s+\.", ".", result)
    result = re.sub(r"\s{2,}", " ", result).strip()
    return [result] if result != text else []


def warmer(text: str, lang: str) -> list[str]:
    table = _data()["warmer"].get(lang)
    if not table:
        return []
    base = apply_pairs(text, table.get("replace", []))
    folded = fold(base).text
    address = address_of(base) or "vous"

    def pick(value: Any) -> str:
        return value.get(address, "") if isinstance(value, dict) else str(value)

    opener = "" if any(fold(w).text in folded for w in table["has_opener"]) else pick(table["opener"])
    closer = "" if any(fold(w).text in folded for w in table["has_closer"]) else pick(table["closer"])
    candidates = [_join([opener, base, closer]), _join([base, closer]), _join([opener, base]), base]
    seen: set[str] = set()
    return [c for c in candidates if c != text and not (c in seen or seen.add(c))]


# -- French forms of address (bot.review.address) ----------------------------


def address(text: str, form: str) -> list[str]:
    result = to_tu(text) if form == "tu" else to_vous(text)
    return [result] if result != text else []


# -- the user's own instructions -----------------------------------------------


def add_sentence(text: str, addition: str, lang: str, form: str | None = None) -> list[str]:
    """The reply with the user's sentence added (« ajoute que le remboursement prend
    5 jours »): before a closing question (the invitation to DM), else at the end; in the
    reply's form of address. Its facts are the user's: the guard takes them as a source."""
    addition = re.sub(r"^(?:that|que|qu['’])\s*", "", addition.strip(), flags=re.IGNORECASE)
    addition = addition.strip().rstrip(".!;, ").strip()
    if not addition:
        return []
    sentence = addition[0].upper() + addition[1:] + "."
    if lang == "fr" and form in ("tu", "vous") and address_of(sentence) not in (None, form):
        sentence = to_tu(sentence) if form == "tu" else to_vous(sentence)
    parts = sentences(text)
    out = []
    if len(parts) > 1 and parts[-1].rstrip().endswith("?"):
        out.append(_join([*parts[:-1], sentence, parts[-1]]))
    out.append(_join([*parts, sentence]))
    return list(dict.fromkeys(out))


def remove_about(text: str, about: str, lang: str) -> list[str]:
    """The reply without its sentences about what the user names (« le remboursement »)."""
    stop = set(_data()["stopwords"].get(lang, ())) | set(_data()["stopwords"].get("en", ()))
    keys = [w[:6] for w in re.findall(r"[^\W\d_]+", fold(about).text) if len(w) > 3 and w not in stop]
    if not keys:
        return []
    parts = sentences(text)
    kept = [p for p in parts if not any(re.search(rf"(?<!\w){re.escape(k)}", fold(p).text) for k in keys)]
    return [_join(kept)] if kept and len(kept) < len(parts) else []
