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
# Follow-ups that can be chained in one message ("shorter and warmer").
CHAINABLE = ("shorter", "longer", "formal", "warmer", "tu", "vous", "english", "french")
_MAX_ARG_WORDS = 4
# Longest message read as several follow-ups at once ("shorter, more formal and use tu").
_MAX_COMBO_WORDS = 40
_MAX_WEAK_WORDS = 12  # "make it …" longer than this is a draft that starts so
# A word as normalise() keeps it: letters and digits, with its apostrophes.
_RAW_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


@dataclass(frozen=True)
class Intent:
    name: str  # an intent id, "context", "combo", "instruction", "draft"
    language: str | None = None  # fr | en when the phrasing tells it
    argument: str = ""  # lesson/practice argument, the context text, what an instruction adds or removes
    steps: tuple[str, ...] = ()  # a combo's follow-ups, in order
    kind: str = ""  # an instruction's kind: add | remove | other
    weak: bool = False  # an instruction only once there is a version to work on
    draft: str = ""  # with a context: the reply given after it in the same message


@dataclass(frozen=True)
class _Tables:
    prefixes: tuple[str, ...]
    suffixes: tuple[str, ...]
    phrases: dict[str, tuple[str, str]]  # folded phrase -> (intent, lang)
    commands: dict[str, tuple[str, str]]
    confirm: dict[str, tuple[str, str]]
    context_heads: dict[str, str]
    rule_aliases: dict[str, str]
    connectors: frozenset[str]
    instructions: dict[str, tuple[str, str]]  # folded head -> (kind, lang)
    draft_heads: dict[str, str]


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
    instructions = {normalise(str(h)): (kind, lang) for kind, by_lang in raw["instructions"].items()
                    for lang, heads in by_lang.items() for h in heads}
    draft_heads = {normalise(str(h)): lang for lang, items in raw["draft_heads"].items() for h in items}
    return _Tables(
        prefixes=_longest_first({normalise(str(p)) for p in raw["polite"]["prefix"]}),
        suffixes=_longest_first({normalise(str(p)) for p in raw["polite"]["suffix"]}),
        phrases=phrase_map(raw["intents"]),
        commands=phrase_map(raw["commands"]),
        confirm=phrase_map(raw["confirm"]),
        context_heads=heads,
        rule_aliases=aliases,
        connectors=frozenset(normalise(str(c)) for c in raw["connectors"]),
        instructions=instructions,
        draft_heads=draft_heads,
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
    context, draft = rest, ""
    # "the customer wrote: … my reply: …": the reply is the draft to review with it.
    for colon in (m.start() for m in re.finditer(":", rest)):
        before = rest[:colon]
        cut = max(before.rfind(c) for c in ".!?\n»\"”") + 1
        if normalise(before[cut:]) in t.draft_heads and rest[colon + 1:].strip():
            context, draft = rest[:cut], rest[colon + 1:]
            break
    clean = lambda text: text.strip().strip("«»\"“” ").strip()  # noqa: E731
    return Intent("context", lang, clean(context), draft=clean(draft))


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
    combo = _combo(_strip_polite(norm, t).split(), t)
    if combo is not None:
        return combo
    return _instruction(raw, norm, t) or Intent("draft")


def _follow_up_of(words: list[str], t: _Tables) -> tuple[str, str] | None:
    phrase = " ".join(words)
    found = t.phrases.get(phrase) or t.phrases.get(_strip_polite(phrase, t))
    return found if found and found[0] in CHAINABLE else None


def _combo(words: list[str], t: _Tables) -> Intent | None:
    """Two follow-ups or more in one message, read greedily, longest phrase first."""
    if len(words) > _MAX_COMBO_WORDS:  # a draft, not a list of changes: and the reading is quadratic
        return None
    steps: list[str] = []
    langs: set[str] = set()
    i = 0
    while i < len(words):
        for j in range(len(words), i, -1):
            found = _follow_up_of(words[i:j], t)
            if found:
                steps.append(found[0])
                langs.update([found[1]] if found[1] else [])
                i = j
                break
        else:
            if words[i] not in t.connectors:
                return None
            i += 1
    if len(steps) < 2:
        return None
    return Intent("combo", langs.pop() if len(langs) == 1 else None, steps=tuple(dict.fromkeys(steps)))


def _instruction(raw: str, norm: str, t: _Tables) -> Intent | None:
    """An instruction in the user's own words: its kind, and what follows its first words."""
    words = norm.split()
    stripped = _strip_polite(norm, t).split()
    for candidate in (words, stripped):
        for size in range(min(7, len(candidate)), 0, -1):
            head = " ".join(candidate[:size])
            if head not in t.instructions:
                continue
            kind, lang = t.instructions[head]
            skip = len(words) - len(candidate) + size if candidate is stripped else size
            weak = kind == "weak"
            if weak and len(words) > _MAX_WEAK_WORDS:
                return None
            return Intent("instruction", lang or None, argument=_after_words(raw, skip),
                          kind="other" if weak else kind, weak=weak)
    return None


def _after_words(raw: str, count: int) -> str:
    """The raw text after its first `count` words (as normalise() counts them)."""
    tokens = list(_RAW_WORD.finditer(raw.replace("-", " ").replace("_", " ")))
    if count >= len(tokens):
        return ""
    return raw[tokens[count - 1].end():].strip(" \t:,;-–—«»\"“”").strip() if count else raw.strip()


def confirmation(text: str) -> tuple[str, str] | None:
    """("yes"|"no", lang) when the message answers a yes/no question."""
    t = tables()
    norm = normalise(text)
    return t.confirm.get(norm) or t.confirm.get(_strip_polite(norm, t))


def rule_named(argument: str) -> str | None:
    """The golden rule id an argument names (« réagir », "react", "3"), if any."""
    return tables().rule_aliases.get(normalise(argument)) if argument.strip() else None
