"""Rule packs: the knowledge of the offline engine, as data.

One YAML file per language under `bot/review/packs/` (Vale's shape: a generic
matcher here, rules, messages and examples in files a community manager can
read and edit). `docs/rule-packs.md` explains every field.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from bot.review import anchors, pack_cache, regex_code
from bot.review.prefilter import WARM_UP, LazyStarts, needed, prefixes
from bot.review.taxonomy import CATEGORIES, GOLDEN_RULES, PACK_DIR, SEVERITIES

CHECKS = ("existence", "absence", "shouting", "address_mix")
_VOCAB_REF = regex_code.kept(r"\{([a-z_]+)\}")
# What refers to a group by number (`\1`, `(?(1)…)`) or name: alternatives that do are
# not split apart, as their groups would be numbered otherwise.
_NUMBERED = regex_code.kept(r"\\[1-9]|\\g<|\(\?P=|\(\?\(")


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
    patterns: tuple[Matcher, ...] = ()
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
    matcher: Matcher | None = None


@dataclass(frozen=True)
class StrengthRule:
    id: str
    kind: str
    rule: str
    message: str
    patterns: tuple[Matcher, ...]
    negatable: bool = True
    scored: bool = True
    must_match: tuple[Example, ...] = ()
    must_not_match: tuple[Example, ...] = ()
    starts: LazyStarts | None = None
    matcher: Matcher | None = None


class _Anchors:
    """A pack's `AnchorScan`, built on first use from what its patterns' units may start
    with: at once when that is known (a cache entry, or worked out when the pack was
    read), else after WARM_UP reviews, as the prefilter does. Building it gives each
    pattern its `slot` and `loose` (LazyPattern)."""

    def __init__(self, patterns: list[LazyPattern], known: dict[str, pack_cache.Facts] | None,
                 entry: pack_cache.Entry | None = None) -> None:
        self._patterns = patterns
        self._known = known
        self._entry = entry  # the cache entry the pack was read from: its keys are kept beside it
        self._uses = 0
        self._scan: anchors.AnchorScan | None = None
        self._failed = False
        self._lock = threading.Lock()

    def scan(self) -> anchors.AnchorScan | None:
        if self._scan is not None or self._failed:
            return self._scan
        if self._known is None:
            self._uses += 1
            if self._uses < WARM_UP:
                return None
        with self._lock:
            if self._scan is None and not self._failed:
                self._build()
        return self._scan

    def _build(self) -> None:
        anchored: list[tuple[int, int, frozenset[str], bool]] = []
        for slot, pattern in enumerate(self._patterns):
            loose: list[frozenset[str] | None] = []
            for order, unit in enumerate(pattern.units):
                known = self._known.get(unit.pattern) if self._known is not None else None
                first, needs = known if known is not None else facts(unit)
                if first:
                    anchored.append((slot, order, first, unit.bounded))
                else:
                    loose.append(needs)
            pattern.slot, pattern.loose = slot, tuple(loose)
        try:
            entry = self._entry
            keys = pack_cache.anchor_keys(entry) if entry is not None else None
            if keys is None:
                keys = anchors.AnchorScan.keys_of(anchored)
                if entry is not None:
                    pack_cache.keep_anchor_keys(entry, keys)
            self._scan = anchors.AnchorScan(keys)
        except Exception:  # the library missing or failing: every pattern scans the text
            for pattern in self._patterns:
                pattern.slot, pattern.loose = None, (None,)
            self._failed = True


def facts(pattern: LazyPattern) -> pack_cache.Facts:
    """What a match of the pattern may start with, and else characters it holds."""
    first = prefixes(pattern)
    return first, None if first else needed(pattern)


@dataclass(frozen=True)
class Pack:
    language: str
    path: Path
    function_words: frozenset[str]
    negation: Matcher | None
    negation_except: Matcher | None
    negation_window: int
    clause_break: re.Pattern[str]
    cases: dict[str, str]
    context: dict[str, tuple[Matcher, ...]]
    rules: tuple[Rule, ...]
    strengths: tuple[StrengthRule, ...]
    messages: dict[str, str]
    scanner: _Anchors | None = field(default=None, compare=False, repr=False)

    def message(self, key: str, **values: Any) -> str:
        template = self.messages.get(key, key)
        try:
            return template.format(**values)
        except (KeyError, IndexError):
            return template

    def scan(self, text: str) -> anchors.Found | None:
        """Where the pack's patterns may match in `text` (anchors.py); None when there is
        no automaton: every pattern is run over the whole text."""
        if not anchors.ENABLED or self.scanner is None:
            return None
        found = self.scanner.scan()
        return None if found is None else found.positions(text)

    @cached_property
    def ordered_rules(self) -> tuple[Rule, ...]:
        """The rules in the order the engine runs them: absence rules last, as they may
        give way to what the other rules found."""
        return tuple(sorted(self.rules, key=lambda r: r.check == "absence"))

    def by_scan(self, found: anchors.Found) -> tuple[tuple[StrengthRule, ...], tuple[Rule, ...]]:
        """The strengths and the ordered rules worth trying on the text `found` scanned:
        those whose pattern the scan found a place for, and those it cannot tell about
        (another check than a pattern's existence, a pattern without anchors), in their
        order. The others cannot match: skipping them changes no review."""
        strengths, rules = self._scan_plan
        hits = found.hits
        return (tuple(item for slot, item in strengths if slot is None or slot in hits),
                tuple(item for slot, item in rules if slot is None or slot in hits))

    @cached_property
    def _scan_plan(self) -> tuple[tuple[tuple[int | None, StrengthRule], ...], tuple[tuple[int | None, Rule], ...]]:
        """Each strength and ordered rule with the scan slot that tells whether it may match,
        None when it is always tried. Read once a scan exists (`by_scan`): building the
        scan gives the patterns their slots."""

        def slot_of(matcher: Matcher | None, tried_whole: bool) -> int | None:
            if tried_whole or not isinstance(matcher, LazyPattern) or matcher.loose:
                return None
            return matcher.slot

        return (tuple((slot_of(s.matcher, False), s) for s in self.strengths),
                tuple((slot_of(r.matcher, r.check != "existence"), r) for r in self.ordered_rules))

    @cached_property
    def hints(self) -> frozenset[str]:
        """The ids of the rules whose findings are low by design: hints, not judgements."""
        return frozenset(r.id for r in self.rules if r.severity == "low")

    def patterns(self) -> list[LazyPattern]:
        """Every pattern of the pack: its rules' (and their parameters'), strengths',
        context cues' and negation's."""
        out: list[Any] = []
        for rule in self.rules:
            out.extend(rule.patterns)
            for value in rule.params.values():
                if isinstance(value, tuple):
                    out.extend(value)
        for strength in self.strengths:
            out.extend(strength.patterns)
        for patterns in self.context.values():
            out.extend(patterns)
        out.extend((self.negation, self.negation_except))
        return [p for p in out if isinstance(p, LazyPattern)]


class LazyPattern:
    """A pack's regular expression, compiled on its first use.

    `re.compile` of a pack's large alternations cost more than anything else in a cold
    review, while a review runs only the few rules whose anchors it finds: each
    pattern is compiled when first used. Its source is checked when the pack is read
    (compiled then, unless a cache entry says it compiled before). It offers what the
    engine and the rewriter use of `re.Pattern`; once compiled, those are the compiled
    pattern's own methods.

    `bounded`: the pattern starts at a word start (the packs' default). `parts`: the
    alternatives of a rule's several patterns, each a pattern of its own: at a given
    place, the whole matches as the first of them that matches there, so a review
    compiles and tries only those whose anchors it finds. `slot`: the pattern's index in
    its pack's `AnchorScan`; `loose`: for each of its units without anchors, characters
    one of which a match holds (None: nothing known). Until the pack's scan is built,
    no slot, and one loose unit of which nothing is known.
    """

    def __init__(self, source: str, bounded: bool = False, compiled: re.Pattern[str] | None = None,
                 parts: tuple[LazyPattern, ...] = (), code: pack_cache.CodeStore | None = None) -> None:
        self.pattern = source
        self.code = code  # where its compiled code was kept, if it was
        self.flags = 0
        self.bounded = bounded
        self.parts = parts
        self.slot: int | None = None
        self.loose: tuple[frozenset[str] | None, ...] = (None,)
        if compiled is not None:
            self._bind(compiled)

    @property
    def units(self) -> tuple[LazyPattern, ...]:
        """What is compiled and anchored on its own: the alternatives, or the whole."""
        return self.parts or (self,)

    def _bind(self, compiled: re.Pattern[str]) -> re.Pattern[str]:
        self.__dict__.update(
            compiled=lambda: compiled, search=compiled.search, match=compiled.match,
            fullmatch=compiled.fullmatch, finditer=compiled.finditer, findall=compiled.findall,
            sub=compiled.sub, subn=compiled.subn, split=compiled.split,
        )
        return compiled

    def compiled(self) -> re.Pattern[str]:
        kept = self.code.pattern(self.pattern) if self.code is not None else None
        return self._bind(kept or re.compile(self.pattern))

    def search(self, string: str, *span: int) -> re.Match[str] | None:
        return self.compiled().search(string, *span)

    def match(self, string: str, *span: int) -> re.Match[str] | None:
        return self.compiled().match(string, *span)

    def fullmatch(self, string: str, *span: int) -> re.Match[str] | None:
        return self.compiled().fullmatch(string, *span)

    def finditer(self, string: str, *span: int) -> Iterator[re.Match[str]]:
        return self.compiled().finditer(string, *span)

    def findall(self, string: str, *span: int) -> list[Any]:
        return self.compiled().findall(string, *span)

    def sub(self, repl: Any, string: str, count: int = 0) -> str:
        return self.compiled().sub(repl, string, count)

    def subn(self, repl: Any, string: str, count: int = 0) -> tuple[str, int]:
        return self.compiled().subn(repl, string, count)

    def split(self, string: str, maxsplit: int = 0) -> list[Any]:
        return self.compiled().split(string, maxsplit)

    def __getattr__(self, name: str) -> Any:  # groups, groupindex, scanner…
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.compiled(), name)

    def __repr__(self) -> str:
        return f"LazyPattern({self.pattern!r})"


Matcher = re.Pattern[str] | LazyPattern


def _expand(pattern: str, vocab: dict[str, str], where: str, depth: int = 0) -> str:
    if depth > 5:
        raise PackError(f"{where}: vocabulary references nest too deep")

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in vocab:
            raise PackError(f"{where}: unknown vocabulary word {{{name}}}")
        return "(?:" + _expand(vocab[name], vocab, where, depth + 1) + ")"

    return _VOCAB_REF.sub(sub, pattern)


class _Reading(threading.local):
    """The pattern sources of the cache entry a pack is being built from: known valid."""

    known: dict[str, pack_cache.Facts] | None = None
    code: pack_cache.CodeStore | None = None


_reading = _Reading()


def _lazy(source: str, bounded: bool) -> LazyPattern:
    """A checked pattern: compiled now unless the cache entry being read knows it."""
    known = _reading.known
    if known is not None and source in known:
        return LazyPattern(source, bounded, code=_reading.code)
    return LazyPattern(source, bounded, re.compile(source))  # re.error: the caller names the rule


def compile_pattern(pattern: str, vocab: dict[str, str], where: str, bounded: bool = True) -> LazyPattern:
    body = _expand(str(pattern), vocab, where)
    if bounded:
        body = rf"(?<![\w])(?:{body})(?![\w])"
    try:
        return _lazy(body, bounded)
    except re.error as exc:
        raise PackError(f"{where}: pattern {pattern!r} is not a valid regular expression ({exc})") from exc


def compile_patterns(
    sources: Any, vocab: dict[str, str], where: str, bounded: bool = True
) -> tuple[LazyPattern, ...]:
    """A rule's patterns as one alternation (one scan of the draft per rule), compiled on
    first use; its alternatives are also units of their own (LazyPattern.parts) unless
    they refer to groups by number.

    The leftmost match wins, which is all highlighting needs. Empty when there is no pattern.
    """
    items = [str(p) for p in sources or ()]
    if not items:
        return ()
    bodies = []
    for item in items:
        body = _expand(item, vocab, where)
        bodies.append(rf"(?<![\w])(?:{body})(?![\w])" if bounded else body)
    source = "|".join(f"(?:{b})" for b in bodies)
    try:
        if len(bodies) > 1 and not _NUMBERED.search(source):
            parts = tuple(_lazy(f"(?:{b})", bounded) for b in bodies)
            return (LazyPattern(source, bounded, parts=parts, code=_reading.code),)  # valid: its parts are
        return (_lazy(source, bounded),)
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


def _starts(patterns: tuple[LazyPattern, ...]) -> LazyStarts:
    """The prefilter of a rule's patterns, ready at once when the cache entry knows them."""
    known = _reading.known
    units = [u for p in patterns for u in p.units]
    if known is not None and units and all(u.pattern in known for u in units):
        found: set[str] = set()
        for unit in units:
            value = known[unit.pattern][0]
            if value is None:
                return LazyStarts(patterns, None)
            found |= value
        return LazyStarts(patterns, frozenset(found))
    return LazyStarts(patterns)


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
        starts=_starts(patterns) if check == "existence" and bounded else None,
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
        strengths[-1] = replace(strengths[-1], starts=_starts(strengths[-1].patterns),
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
def _entry(path: Path) -> tuple[dict[str, Any], pack_cache.Entry | None]:
    """A pack file's data, from the cache entry of its exact bytes when there is one."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PackError(f"{path.name}: cannot be read ({exc})") from exc
    entry = pack_cache.load(path.name, raw)
    if entry is not None and "language" in entry.data:
        return entry.data, entry
    import yaml  # only without a cache entry: a cold review need not import it

    from bot.datafiles import load_yaml

    try:
        data = load_yaml(path)
    except (OSError, yaml.YAMLError) as exc:
        raise PackError(f"{path.name}: cannot be read ({exc})") from exc
    if not isinstance(data, dict) or "language" not in data:
        raise PackError(f"{path.name}: a rule pack is a mapping with a 'language'")
    return data, None


def _read(path: Path) -> dict[str, Any]:
    return _entry(path)[0]


def load_pack(path: Path) -> Pack:
    """A pack, its patterns compiled on first use. From its cache entry when there is
    one; otherwise every pattern is compiled now (which checks it) and, where the cache
    can be written, their anchors are worked out and kept for the next process."""
    data, entry = _entry(path)
    if entry is not None:
        _reading.known, _reading.code = entry.sources, entry.code
        try:
            built = _build(data, path)
        finally:
            _reading.known, _reading.code = None, None
        return replace(built, scanner=_Anchors(built.patterns(), entry.sources, entry))
    built = _build(data, path)
    patterns = built.patterns()
    known: dict[str, pack_cache.Facts] | None = None
    if pack_cache.writable() and pack_cache.keepable(data):
        known = {u.pattern: facts(u) for p in patterns for u in p.units}
        # Each unit's code and each whole alternation's (what finds a rule's span).
        sources = dict.fromkeys([*known, *(p.pattern for p in patterns)])
        code = {source: regex_code.code_of(source) for source in sources} if regex_code.supported() else None
        with contextlib.suppress(OSError):
            pack_cache.save(path.name, path.read_bytes(), pack_cache.Entry(data, known), code)
    return replace(built, scanner=_Anchors(patterns, known))


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
    """Each pack's function words, read without compiling its rules (from the cache
    beside its entry when there is one: the other language's whole entry is not read)."""
    out = {}
    for lang, path in pack_paths().items():
        try:
            raw = path.read_bytes()
        except OSError:
            raw = None
        kept = pack_cache.function_words(path.name, raw) if raw is not None else None
        words = kept if kept is not None else _read(path).get("function_words") or ()
        if kept is None and raw is not None and isinstance(words, list):
            # Kept now: else every review of a French draft would parse the English pack
            # (and import PyYAML) for its function words, until an English draft came.
            pack_cache.keep_function_words(path.name, raw, [str(w) for w in words])
        out[lang] = frozenset(str(w) for w in words)
    return out


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
