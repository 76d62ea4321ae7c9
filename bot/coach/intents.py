"""Understanding a direct message: a command, a follow-up, context, or a draft.

The phrases live in data/intents.yml; this module only folds the message and
looks it up, so that a new phrasing is a line of YAML, not code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from bot.datafiles import load_yaml
from bot.review.text import fold

DATA_DIR = Path(__file__).parent / "data"
# Follow-ups act on the last review; the others stand on their own.
FOLLOW_UPS = ("shorter", "longer", "formal", "warmer", "tu", "vous", "english", "french",
              "another", "why")
_MAX_ARG_WORDS = 4


@dataclass(frozen=True)
class Intent:
    name: str  # an intent id, "context", "draft"
    language: str | None = None  # fr | en when the phrasing tells it
    argument: str = ""  # lesson/practice argument, or the context text


@dataclass(frozen=True)
class _Tables:
    prefixes: tuple[str, ...]
    suffixes: tuple[str, ...]
    phrases: dict[str, tuple[str, str]]  # folded phrase -> (intent, lang)
    commands: dict[str, tuple[str, str]]
    confirm: dict[str, tuple[str, str]]
    context_heads: dict[str, str]
    rule_aliases: dict[str, str]


def normalise(text: str) -> str:
    """Folded, punctuation turned to spaces (apostrophes kept), spaces collapsed."""
    folded = fold(text).text
    folded = re.sub(r"[-_]", " ", folded)
    folded = re.sub(r"[^\w' ]+", " ", folded)
    return " ".join(folded.split())


def _longest_first(items: set[str]) -> tuple[str, ...]:
    return tuple(sorted(items, key=lambda s: (-len(s), s)))


@lru_cache(maxsize=1)
def tables() -> _Tables:
    raw: dict[str, Any] = load_yaml(DATA_DIR / "intents.yml")

    def phrase_map(section: dict[str, dict[str, list[str]]]) -> dict[str, tuple[str, str]]:
        out: dict[str, tuple[str, str]] = {}
        for name, by_lang in section.items():
            for lang, phrases in by_lang.items():
                for phrase in phrases:
                    key = normalise(str(phrase))
                    known = out.get(key)
                    # The same words in both languages tell nothing of the language.
                    out[key] = (name, lang if known is None or known[1] == lang else "")
        return out

    heads = {normalise(str(h)): lang for lang, items in raw["context_heads"].items() for h in items}
    aliases = {normalise(str(a)): rule for rule, items in raw["rule_aliases"].items() for a in items}
    return _Tables(
        prefixes=_longest_first({normalise(str(p)) for p in raw["polite"]["prefix"]}),
        suffixes=_longest_first({normalise(str(p)) for p in raw["polite"]["suffix"]}),
        phrases=phrase_map(raw["intents"]),
        commands=phrase_map(raw["commands"]),
        confirm=phrase_map(raw["confirm"]),
        context_heads=heads,
        rule_aliases=aliases,
    )


def _strip_polite(text: str, t: _Tables) -> str:
    changed = True
    while changed and text:
        changed = False
        for p in t.prefixes:
            if text.startswith(p + " "):
                text, changed = text[len(p) + 1:], True
                break
        for s in t.suffixes:
            if text.endswith(" " + s):
                text, changed = text[: -len(s) - 1], True
                break
    return text


def _context(raw: str, t: _Tables) -> Intent | None:
    head, sep, rest = raw.partition(":")
    if not sep or not rest.strip() or len(head) > 60:
        return None
    lang = t.context_heads.get(normalise(head))
    if lang is None:
        return None
    return Intent("context", lang, rest.strip().strip("«»\"“” ").strip())


def parse(text: str) -> Intent:
    """What the user means; anything unrecognised is a draft."""
    t = tables()
    raw = text.strip()
    ctx = _context(raw, t)
    if ctx is not None:
        return ctx
    norm = normalise(raw)
    if not norm:
        return Intent("help") if raw in ("?", "¿") else Intent("draft")
    candidates = [norm, _strip_polite(norm, t)]
    for candidate in candidates:
        if candidate in t.phrases:
            name, lang = t.phrases[candidate]
            return Intent(name, lang or None)
    words = norm.split()
    for size in (3, 2, 1):
        head = " ".join(words[:size])
        if len(words) - size <= _MAX_ARG_WORDS and head in t.commands:
            name, lang = t.commands[head]
            return Intent(name, lang or None, " ".join(words[size:]))
    return Intent("draft")


def confirmation(text: str) -> tuple[str, str] | None:
    """("yes"|"no", lang) when the message answers a yes/no question."""
    t = tables()
    norm = normalise(text)
    return t.confirm.get(norm) or t.confirm.get(_strip_polite(norm, t))


def rule_named(argument: str) -> str | None:
    """The golden rule id an argument names (« réagir », "react", "3"), if any."""
    return tables().rule_aliases.get(normalise(argument)) if argument.strip() else None
