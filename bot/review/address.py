"""French forms of address: a text turned from « vous » to « tu » and back.

The rewriter repairs a draft that mixes the two forms; the coach's follow-ups
switch a reply on request. The word pairs are data (packs/_address.yml); this
module only applies them, leaving [placeholders] alone and keeping capitals.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from bot.datafiles import load_yaml
from bot.review.text import REWRITE_PLACEHOLDER

DATA = Path(__file__).parent / "packs" / "_address.yml"


@lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    return load_yaml(DATA)


def match_case(found: str, replacement: str) -> str:
    """The replacement with the capital (or not) of the words it replaces."""
    first = found.split()[0] if found.split() else found
    if len(first) > 1 and first.isupper():  # an acronym (DM, MP) says nothing of the case
        return replacement
    if found[:1].isupper() and replacement[:1].islower():
        return replacement[:1].upper() + replacement[1:]
    if found[:1].islower() and replacement[:1].isupper() and not found.isupper():
        return replacement[:1].lower() + replacement[1:]
    return replacement


def replace_phrase(text: str, source: str, target: str) -> str:
    """Replace a phrase at word boundaries, keeping the capital of its first letter;
    placeholders [like this] are left alone."""
    body = re.escape(source).replace("'", "['’]")
    pattern = re.compile(rf"(?<![\w'’-]){body}(?![\w-])", re.IGNORECASE)
    out: list[str] = []
    last = 0
    for m in pattern.finditer(text):
        if any(p.start() <= m.start() < p.end() for p in REWRITE_PLACEHOLDER.finditer(text)):
            continue
        out.append(text[last:m.start()])
        out.append(match_case(m.group(0), target))
        last = m.end()
    out.append(text[last:])
    return "".join(out)


def apply_pairs(text: str, pairs: list[list[str]], reverse: bool = False) -> str:
    """Every [a, b] pair replaced, a by b (b by a with `reverse`), longest first."""
    ordered = sorted(pairs, key=lambda p: -len(p[1 if reverse else 0]))
    for pair in ordered:
        source, target = (pair[1], pair[0]) if reverse else (pair[0], pair[1])
        text = replace_phrase(text, source, target)
    return text


def _possessive(match: re.Match[str]) -> str:
    word = match.group(2)
    data = _data()
    low = word.lower()
    if re.match(r"[aeiouyhéèêàâîôûœ]", low):
        pronoun = "ton"
    elif low in data["feminine"] or any(low.endswith(e) for e in data["feminine_endings"]):
        pronoun = "ta"
    else:
        pronoun = "ton"
    return match_case(match.group(1), pronoun) + " " + word


def to_tu(text: str) -> str:
    """The French text addressing the reader as « tu »."""
    pairs = _data()["pairs"]
    verbs = [p for p in pairs if "-" in p[0] or p[0].lower().startswith("vous ") or "'" in p[0]]
    rest = [p for p in pairs if p not in verbs]
    text = apply_pairs(text, verbs)
    # « vous » as an object: before an infinitive, or after a subject pronoun.
    obj = re.compile(r"(?<![\w-])(vous)(\s+)(?=(\w+)(?![\w-]))", re.IGNORECASE)

    def object_pronoun(m: re.Match[str]) -> str:
        following = m.group(3)
        before = text_ref[0][max(0, m.start() - 12):m.start()].lower().split()
        subject_before = bool(before) and before[-1] in ("nous", "je", "j'", "on", "il", "elle", "ils",
                                                         "elles", "qui", "ne", "n'", "pour")
        infinitive = re.search(r"(er|ir|re|oir)$", following.lower()) is not None
        if not (subject_before or infinitive):
            return m.group(0)
        if before and before[-1] == "pour" and not infinitive:
            return m.group(0)
        pronoun = "t'" if re.match(r"[aeiouyhéèêàâ]", following.lower()) else "te "
        return match_case(m.group(1), pronoun)

    text_ref = [text]
    text = obj.sub(object_pronoun, text)
    text = apply_pairs(text, rest)
    text = re.sub(r"(?<![\w-])(votre)\s+(\w+)", _possessive, text, flags=re.IGNORECASE)
    text = re.sub(r"(?<![\w-])(vous)\s+(\w+)ez(?![\w-])",
                  lambda m: match_case(m.group(1), "tu") + f" {m.group(2)}es", text, flags=re.IGNORECASE)
    text = re.sub(r"(?<![\w-])vous(?![\w-])", lambda m: match_case(m.group(0), "tu"), text,
                  flags=re.IGNORECASE)
    return text


def to_vous(text: str) -> str:
    """The French text addressing the reader as « vous »."""
    pairs = _data()["pairs"]
    text = apply_pairs(text, pairs, reverse=True)
    text = re.sub(r"(?<![\w-])t['’](?=\w)", lambda m: match_case(m.group(0), "vous "), text,
                  flags=re.IGNORECASE)
    text = re.sub(r"(?<![\w-])(te|toi)(?![\w'’-])", lambda m: match_case(m.group(0), "vous"), text,
                  flags=re.IGNORECASE)
    text = re.sub(r"(?<![\w-])(ton|ta)(?![\w'’-])", lambda m: match_case(m.group(0), "votre"), text,
                  flags=re.IGNORECASE)
    text = re.sub(r"(?<![\w-])(tu)\s+(\w+)es(?![\w-])",
                  lambda m: match_case(m.group(1), "vous") + f" {m.group(2)}ez", text, flags=re.IGNORECASE)
    text = re.sub(r"(?<![\w-])tu(?![\w'’-])", lambda m: match_case(m.group(0), "vous"), text,
                  flags=re.IGNORECASE)
    return text
