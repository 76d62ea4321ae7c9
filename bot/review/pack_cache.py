"""What reading a rule pack works out, kept on disk between processes.

A command-line review starts a fresh interpreter: parsing a pack's YAML, checking each
of its regular expressions and working out what each may start with (the anchors of
`anchors.py`) took most of a cold review's time. None of it changes until the pack
does, so it is kept in the user's cache folder (`~/.cache/cm-coach/packs` on Linux),
one JSON file per pack, under a key made of the pack file's bytes, the code that
works it out and the Python version. Any other pack, code or Python gives another key:
a stale entry is never read. Pickling a compiled pattern compiles it again on loading;
what is kept instead, beside the entry, is each pattern's compiled code
(`regex_code.py`), from which a pattern is rebuilt on first use about eighty times
faster than `re.compile` builds it.

Everything here is best effort: a cache that cannot be read or written is ignored,
and the pack is read as if there were none. `CM_COACH_PACK_CACHE=off` turns it off.
"""

from __future__ import annotations

import json
import os
import re
import sys
from array import array
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from bot.datafiles import cache_folder, content_key, write_aside
from bot.review import regex_code

ENV = "CM_COACH_PACK_CACHE"
FORMAT = 2
# The modules whose code decides what an entry holds: editing one changes every key.
_CODE = ("packs.py", "prefilter.py", "pack_cache.py", "regex_code.py", "anchors.py")

Chars = frozenset[str] | None
# Of one pattern: what a match may start with (`prefilter.prefixes`), and characters one
# of which it holds (`prefilter.needed`); None when not known.
Facts = tuple[Chars, Chars]


@dataclass
class CodeStore:
    """The compiled code of a pack's patterns (`regex_code`), in a file beside its entry:
    one array of words, read on the first pattern a review compiles."""

    path: Path
    where: dict[str, tuple[regex_code.Header, int, int]]  # source -> header, first word, words
    _words: array | None = None

    def pattern(self, source: str) -> re.Pattern[str] | None:
        spot = self.where.get(source)
        if spot is None:
            return None
        if self._words is None:
            words = array("I")
            try:
                words.frombytes(self.path.read_bytes())
            except (OSError, ValueError):
                self.where = {}  # unreadable: every pattern is compiled as usual
                return None
            self._words = words
        header, start, size = spot
        if start + size > len(self._words):
            return None
        return regex_code.rebuild(source, header, self._words[start:start + size])


@dataclass
class Entry:
    """One pack's cached reading: its YAML data, and each pattern source it compiles
    (all checked valid) with what is known of its matches; `code`: their compiled code."""

    data: dict[str, Any]
    sources: dict[str, Facts] = field(default_factory=dict)
    code: CodeStore | None = None
    path: Path | None = None  # where it is kept


def enabled() -> bool:
    return os.environ.get(ENV, "").strip().lower() not in {"0", "off", "false", "no"}


@lru_cache(maxsize=1)
def _code_key() -> str:
    parts = [f"{FORMAT} {sys.version} {sys.byteorder}".encode()]
    here = Path(__file__).resolve().parent
    for name in _CODE:
        try:
            parts.append((here / name).read_bytes())
        except OSError:
            parts.append(name.encode())
    return content_key(*parts)


def folder() -> Path | None:
    return cache_folder("packs")


def _file(name: str, raw: bytes) -> Path | None:
    """Where the entry of the pack file `name` whose bytes are `raw` is kept; None when
    the cache is off or has no folder."""
    where = folder() if enabled() else None
    if where is None:
        return None
    key = content_key(raw, _code_key().encode())
    return where / f"{Path(name).stem}-{key}.json"


def load(name: str, raw: bytes) -> Entry | None:
    """The entry of the pack file `name` whose bytes are `raw`, or None."""
    path = _file(name, raw)
    if path is None:
        return None
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(stored, dict) or stored.get("format") != FORMAT:
            return None
        sources = {str(source): (_chars(first), _chars(needed))
                   for source, (first, needed) in stored["sources"].items()}
        data = stored["data"]
        if not isinstance(data, dict):
            return None
        return Entry(data, sources, _code_store(path, stored.get("code")), path)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _code_store(entry: Path, stored: Any) -> CodeStore | None:
    if not isinstance(stored, dict) or not regex_code.supported():
        return None
    where = {}
    for source, (flags, groups, index, names, start, size) in stored.items():
        header = (int(flags), int(groups), {str(k): int(v) for k, v in index.items()}, tuple(names))
        where[str(source)] = (header, int(start), int(size))
    return CodeStore(entry.with_suffix(".code"), where)


def function_words(name: str, raw: bytes) -> list[str] | None:
    """The function words of the pack file `name` whose bytes are `raw`, kept apart from
    its entry: telling a draft's language need not read every pack's whole entry."""
    path = _file(name, raw)
    if path is None:
        return None
    try:
        words = json.loads(path.with_suffix(".words").read_bytes())
    except (OSError, ValueError):
        return None
    return [str(w) for w in words] if isinstance(words, list) else None


def keep_function_words(name: str, raw: bytes, words: list[str]) -> None:
    """Keep the function words of the pack file `name` whose bytes are `raw`, best effort,
    where `function_words` reads them (a pack only read for them has no entry yet)."""
    path = _file(name, raw) if writable() else None
    if path is not None:
        write_aside(path.with_suffix(".words"), json.dumps(words).encode("utf-8"))


def _chars(value: Any) -> Chars:
    if value is None:
        return None
    if not isinstance(value, list):
        raise TypeError("a list of strings or null")
    return frozenset(map(str, value))


def save(name: str, raw: bytes, entry: Entry,
         code: dict[str, tuple[regex_code.Header, array] | None] | None = None) -> bool:
    """Keep the entry (atomically; an older entry of the same pack is removed), and the
    compiled `code` of its patterns beside it. False when it cannot be kept: a data file
    JSON does not hold exactly, or no writable folder."""
    path = _file(name, raw)
    if path is None:
        return False
    try:
        if not keepable(entry.data):
            return False
        words = array("I")
        where: dict[str, list] = {}
        for source, compiled in (code or {}).items():
            if compiled is not None:
                (flags, groups, index, names), body = compiled
                where[source] = [flags, groups, index, list(names), len(words), len(body)]
                words.extend(body)
        text = json.dumps({
            "format": FORMAT,
            "data": entry.data,
            "sources": {source: [sorted(c) if c is not None else None for c in facts]
                        for source, facts in entry.sources.items()},
            **({"code": where} if where else {}),
        }, ensure_ascii=False)
        # The code first: an entry is never read without the code it names.
        if where and not write_aside(path.with_suffix(".code"), words.tobytes()):
            return False
        function_words = entry.data.get("function_words")
        if isinstance(function_words, list):
            write_aside(path.with_suffix(".words"), json.dumps(function_words).encode("utf-8"))
        if not write_aside(path, text.encode("utf-8")):
            return False
        for old in path.parent.glob(f"{Path(name).stem}-*"):
            if old.suffix in (".json", ".code", ".words", ".anchors") and old.stem != path.stem:
                old.unlink(missing_ok=True)
        return True
    except (OSError, TypeError, ValueError):
        return False


def keepable(data: dict[str, Any]) -> bool:
    """Whether JSON holds the pack's data exactly (no dates, no keys other than strings…):
    what it does not is not kept, rather than kept differently."""
    try:
        return bool(json.loads(json.dumps(data)) == data)
    except (TypeError, ValueError):
        return False


def writable() -> bool:
    """Whether entries can be kept: worth working out what a pack would store."""
    if not enabled():
        return False
    where = folder()
    if where is None:
        return False
    try:
        where.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(where, os.W_OK)



# The keys of a pack's anchor automaton (`anchors.AnchorScan.keys_of`), beside its entry:
# working them out took 7 ms of a cold review. marshal, behind a digest of its bytes, so
# that a damaged file is read as no file.
_DIGEST = 16


def anchor_keys(entry: Entry) -> dict[str, Any] | None:
    """The automaton's keys kept beside `entry`, or None."""
    if entry.path is None:
        return None
    import marshal

    try:
        blob = entry.path.with_suffix(".anchors").read_bytes()
        if len(blob) <= _DIGEST or content_key(blob[_DIGEST:]) != blob[:_DIGEST].hex():
            return None
        keys = marshal.loads(blob[_DIGEST:])
    except (OSError, ValueError, EOFError, TypeError):
        return None
    return keys if isinstance(keys, dict) else None


def keep_anchor_keys(entry: Entry, keys: dict[str, Any]) -> None:
    """Keep the automaton's keys beside `entry`, best effort."""
    if entry.path is None:
        return
    import marshal

    try:
        body = marshal.dumps(keys)
    except ValueError:
        return
    write_aside(entry.path.with_suffix(".anchors"), bytes.fromhex(content_key(body)) + body)
