"""Rule packs: the knowledge of the offline engine, as data.

One YAML file per language under `bot/review/packs/` (Vale's shape: a generic
matcher here, rules, messages and examples in files a community manager can
read and edit). `docs/rule-packs.md` explains every field.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.datafiles import load_yaml
from bot.review.prefilter import LazyStarts
from bot.review.taxonomy import CATEGORIES, GOLDEN_RULES, PACK_DIR, SEVERITIES

CHECKS = ("existence", "absence", "shouting", "address_mix")
_VOCAB_REF = re.compile(r"\{([a-z_]+)\}")


class PackError(ValueError):
    """A rule pack that cannot be used; the message names the file and rule."""


@dataclass(frozen=True)
class Adjustment:
    """Change a rule's severity when the brand voice or the context says so."""

    voices: tuple[str, ...]
    context: tuple[str, ...]
    severity: str


@dataclass(frozen=True)
class Example:
    draft: str
    context: str | None = None
    voice: str | None = None
    platform: str | None = None


@dataclass(frozen=True)
class Rule:
    id: str
    category: str
    rule: str
    severity: str
    message: str
    check: str = "existence"
    patterns: tuple[re.Pattern[str], ...] = ()
    case: str | None = None
    negatable: bool = False
    skip_quoted: bool = True
    unless: tuple[str, ...] = ()
    when: tuple[str, ...] = ()
    except_when: tuple[str, ...] = ()
    unless_findings: tuple[str, ...] = ()
    adjust: tuple[Adjustment, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    must_match: tuple[Example, ...] = ()
    must_not_match: tuple[Example, ...] = ()
    # What a match may start with (first characters), for skipping the rule cheaply.
    starts: LazyStarts | None = None
    # All patterns in one expression: one scan of the draft per rule.
    matcher: re.Pattern[str] | None = None


@dataclass(frozen=True)
class StrengthRule:
    id: str
    kind: str
    rule: str
    message: str
    patterns: tuple[re.Pattern[str], ...]
    negatable: bool = True
    scored: bool = True
    must_match: tuple[Example, ...] = ()
    must_not_match: tuple[Example, ...] = ()
    starts: LazyStarts | None = None
    matcher: re.Pattern[str] | None = None


@dataclass(frozen=True)
class Pack:
    language: str
    path: Path
    function_words: frozenset[str]
    negation: re.Pattern[str] | None
    negation_except: re.Pattern[str] | None
    negation_window: int
    clause_break: re.Pattern[str]
    cases: dict[str, str]
    context: dict[str, tuple[re.Pattern[str], ...]]
    rules: tuple[Rule, ...]
    strengths: tuple[StrengthRule, ...]
    messages: dict[str, str]

    def message(self, key: str, **values: Any) -> str:
        template = self.messages.get(key, key)
        try:
            return template.format(**values)
        except (KeyError, IndexError):
            return template


def _expand(pattern: str, vocab: dict[str, str], where: str, depth: int = 0) -> str:
    if depth > 5:
        raise PackError(f"{where}: vocabulary references nest too deep")

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in vocab:
            raise PackError(f"{where}: unknown vocabulary word {{{name}}}")
        return "(?:" + _expand(vocab[name], vocab, where, depth + 1) + ")"

    return _VOCAB_REF.sub(sub, pattern)


def compile_pattern(pattern: str, vocab: dict[str, str], where: str, bounded: bool = True) -> re.Pattern[str]:
    body = _expand(str(pattern), vocab, where)
    if bounded:
        body = rf"(?<![\w])(?:{body})(?![\w])"
    try:
        return re.compile(body)
    except re.error as exc:
        raise PackError(f"{where}: pattern {pattern!r} is not a valid regular expression ({exc})") from exc


def compile_patterns(
    sources: Any, vocab: dict[str, str], where: str, bounded: bool = True
) -> tuple[re.Pattern[str], ...]:
    """A rule's patterns as one alternation, compiled once (one scan of the draft per rule).

    The leftmost match wins, which is all highlighting needs. Empty when there is no pattern.
    """
    items = [str(p) for p in sources or ()]
    if not items:
        return ()
    bodies = []
    for item in items:
        body = _expand(item, vocab, where)
        bodies.append(rf"(?<![\w])(?:{body})(?![\w])" if bounded else body)
    try:
        return (re.compile("|".join(f"(?:{b})" for b in bodies)),)
    except re.error:
        for item in items:  # name the pattern at fault
            compile_pattern(item, vocab, where, bounded)
        raise


def _examples(raw: Any, where: str) -> tuple[Example, ...]:
    out: list[Example] = []
    for item in raw or ():
        if isinstance(item, str):
            out.append(Example(item))
        elif isinstance(item, dict) and "draft" in item:
            out.append(Example(str(item["draft"]), item.get("context"), item.get("voice"),
                               item.get("platform")))
        else:
            raise PackError(f"{where}: an example must be a string or have a 'draft'")
    return tuple(out)


def _tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def build_rule(raw: dict[str, Any], vocab: dict[str, str], cases: dict[str, str], where: str) -> Rule:
    rid = str(raw.get("id", "")).strip()
    where = f"{where} rule {rid or '?'}"
    if not rid:
        raise PackError(f"{where}: every rule needs an id")
    category = raw.get("category")
    if category not in CATEGORIES:
        raise PackError(f"{where}: category {category!r} is not in the taxonomy")
    golden = raw.get("rule")
    if golden not in GOLDEN_RULES:
        raise PackError(f"{where}: rule must be one of {', '.join(GOLDEN_RULES)}")
    severity = raw.get("severity", "medium")
    if severity not in SEVERITIES:
        raise PackError(f"{where}: severity must be high, medium or low")
    check = raw.get("check", "existence")
    if check not in CHECKS:
        raise PackError(f"{where}: check must be one of {', '.join(CHECKS)}")
    bounded = bool(raw.get("word_boundaries", True))
    patterns = compile_patterns(raw.get("patterns"), vocab, where, bounded)
    if check == "existence" and not patterns:
        raise PackError(f"{where}: an existence rule needs patterns")
    case_key = raw.get("case")
    case = cases.get(case_key, case_key) if case_key else None
    adjust = tuple(
        Adjustment(_tuple(a.get("voice")), _tuple(a.get("context")), a["severity"])
        for a in raw.get("adjust") or ()
    )
    for a in adjust:
        if a.severity not in SEVERITIES:
            raise PackError(f"{where}: adjust severity must be high, medium or low")
    examples = raw.get("examples") or {}
    params = {k: v for k, v in raw.items() if k in {"min_letters", "min_ratio", "min_words"}}
    if check == "address_mix":
        params["tu"] = compile_patterns(raw.get("tu"), vocab, where)
        params["vous"] = compile_patterns(raw.get("vous"), vocab, where)
    if not raw.get("message"):
        raise PackError(f"{where}: every rule needs a message")
    return Rule(
        id=rid, category=category, rule=golden, severity=severity, message=str(raw["message"]).strip(),
        check=check, patterns=patterns, case=case, negatable=bool(raw.get("negatable", False)),
        skip_quoted=bool(raw.get("skip_quoted", True)), unless=_tuple(raw.get("unless")),
        when=_tuple(raw.get("when")), except_when=_tuple(raw.get("except_when")),
        unless_findings=_tuple(raw.get("unless_findings")), adjust=adjust, params=params,
        must_match=_examples(examples.get("match"), where),
        must_not_match=_examples(examples.get("no_match"), where),
        starts=LazyStarts(patterns) if check == "existence" and bounded else None,
        matcher=patterns[0] if patterns else None,
    )


def _build(data: dict[str, Any], path: Path) -> Pack:
    where = path.name
    vocab = {str(k): str(v) for k, v in (data.get("vocabulary") or {}).items()}
    cases = {str(k): str(v).strip() for k, v in (data.get("cases") or {}).items()}
    neg = data.get("negation") or {}
    rules = tuple(build_rule(r, vocab, cases, where) for r in data.get("rules") or ())
    ids = [r.id for r in rules]
    if len(ids) != len(set(ids)):
        raise PackError(f"{where}: two rules share an id")
    strengths = []
    for raw in data.get("strengths") or ():
        sw = f"{where} strength {raw.get('id', '?')}"
        if raw.get("rule") not in GOLDEN_RULES:
            raise PackError(f"{sw}: rule must be one of {', '.join(GOLDEN_RULES)}")
        ex = raw.get("examples") or {}
        strengths.append(StrengthRule(
            id=str(raw["id"]), kind=str(raw["kind"]), rule=raw["rule"],
            message=str(raw.get("message", "")).strip(),
            patterns=compile_patterns(raw.get("patterns"), vocab, sw),
            negatable=bool(raw.get("negatable", True)), scored=bool(raw.get("scored", True)),
            must_match=_examples(ex.get("match"), sw), must_not_match=_examples(ex.get("no_match"), sw),
        ))
        strengths[-1] = replace(strengths[-1], starts=LazyStarts(strengths[-1].patterns),
                                matcher=strengths[-1].patterns[0] if strengths[-1].patterns else None)
    return Pack(
        language=str(data["language"]),
        path=path,
        function_words=frozenset(str(w) for w in data.get("function_words") or ()),
        negation=compile_pattern(neg["cues"], vocab, where) if neg.get("cues") else None,
        negation_except=compile_pattern(neg["except"], vocab, where) if neg.get("except") else None,
        negation_window=int(neg.get("window", 6)),
        clause_break=re.compile(neg.get("clause_break", r"[.;:!?()\n—–]|,| - | mais | but ")),
        cases=cases,
        context={
            str(k): compile_patterns(v, vocab, f"{where} context {k}")
            for k, v in (data.get("context") or {}).items()
        },
        rules=rules,
        strengths=tuple(strengths),
        messages={str(k): str(v).strip() for k, v in (data.get("messages") or {}).items()},
    )


@lru_cache(maxsize=8)
def _read(path: Path) -> dict[str, Any]:
    try:
        data = load_yaml(path)
    except (OSError, yaml.YAMLError) as exc:
        raise PackError(f"{path.name}: cannot be read ({exc})") from exc
    if not isinstance(data, dict) or "language" not in data:
        raise PackError(f"{path.name}: a rule pack is a mapping with a 'language'")
    return data


def load_pack(path: Path) -> Pack:
    return _build(_read(path), path)


def pack_paths() -> dict[str, Path]:
    """The pack file of each language (`fr.yml` is French), without reading them."""
    return {p.stem: p for p in sorted(PACK_DIR.glob("*.yml")) if not p.name.startswith("_")}


@lru_cache(maxsize=8)
def pack(language: str) -> Pack | None:
    """One language's pack, compiled on first use: a review needs only its own language."""
    path = pack_paths().get(language)
    return load_pack(path) if path else None


@lru_cache(maxsize=1)
def function_words() -> dict[str, frozenset[str]]:
    """Each pack's function words, read without compiling its rules."""
    return {
        lang: frozenset(str(w) for w in _read(path).get("function_words") or ())
        for lang, path in pack_paths().items()
    }


def packs() -> dict[str, Pack]:
    """Every pack under bot/review/packs, by language; each read once per process."""
    found: dict[str, Pack] = {}
    for lang in pack_paths():
        loaded = pack(lang)
        if loaded is not None:
            found[loaded.language] = loaded
    return found


def extra_rules(raw_rules: tuple[dict[str, Any], ...], language: str) -> tuple[Rule, ...]:
    """The brand profile's own rules (same fields as a pack's), for one language."""
    if not raw_rules:
        return ()
    return _extra_rules(json.dumps(raw_rules, sort_keys=True, default=str), language)


@lru_cache(maxsize=32)
def _extra_rules(raw_json: str, language: str) -> tuple[Rule, ...]:
    """Compiled once per set of brand rules, not once per review."""
    found = pack(language)
    path = pack_paths().get(language)
    vocab = {str(k): str(v) for k, v in (_read(path).get("vocabulary") or {}).items()} if path else {}
    out = []
    for raw in json.loads(raw_json):
        langs = _tuple(raw.get("lang"))
        if langs and language not in langs:
            continue
        out.append(build_rule(raw, vocab, found.cases if found else {}, "brand.extra_rules"))
    return tuple(out)
