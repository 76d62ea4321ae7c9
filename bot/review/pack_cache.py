"""What reading a rule pack works out, kept on disk between processes.

A command-line review starts a fresh interpreter: parsing a pack's YAML, checking each
of its regular expressions and working out what each may start with (the anchors of
`anchors.py`) took most of a cold review's time. None of it changes until the pack
does, so it is kept in the user's cache folder (`~/.cache/cm-coach/packs` on Linux),
one JSON file per pack, under a key made of the pack file's bytes, the code that
works it out and the Python version. Any other pack, code or Python gives another key:
a stale entry is never read. Python's compiled patterns are not kept (pickling one
compiles it again on loading); they are compiled on first use instead.

Everything here is best effort: a cache that cannot be read or written is ignored,
and the pack is read as if there were none. `CM_COACH_PACK_CACHE=off` turns it off.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

ENV = "CM_COACH_PACK_CACHE"
FORMAT = 1
# The modules whose code decides what an entry holds: editing one changes every key.
_CODE = ("packs.py", "prefilter.py", "pack_cache.py")

Chars = frozenset[str] | None
# Of one pattern: what a match may start with (`prefilter.prefixes`), and characters one
# of which it holds (`prefilter.needed`); None when not known.
Facts = tuple[Chars, Chars]


@dataclass
class Entry:
    """One pack's cached reading: its YAML data, and each pattern source it compiles
    (all checked valid) with what is known of its matches."""

    data: dict[str, Any]
    sources: dict[str, Facts] = field(default_factory=dict)


def enabled() -> bool:
    return os.environ.get(ENV, "").strip().lower() not in {"0", "off", "false", "no"}


@lru_cache(maxsize=1)
def _code_key() -> str:
    digest = hashlib.sha256(f"{FORMAT} {sys.version}".encode())
    here = Path(__file__).resolve().parent
    for name in _CODE:
        try:
            digest.update((here / name).read_bytes())
        except OSError:
            digest.update(name.encode())
    return digest.hexdigest()


def folder() -> Path | None:
    try:
        import platformdirs

        return Path(platformdirs.user_cache_dir("cm-coach")) / "packs"
    except Exception:  # no home folder, a broken install: no cache
        return None


def _file(name: str, raw: bytes) -> Path | None:
    where = folder()
    if where is None:
        return None
    key = hashlib.sha256(raw + _code_key().encode()).hexdigest()[:32]
    return where / f"{Path(name).stem}-{key}.json"


def load(name: str, raw: bytes) -> Entry | None:
    """The entry of the pack file `name` whose bytes are `raw`, or None."""
    if not enabled():
        return None
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
        return Entry(data, sources)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _chars(value: Any) -> Chars:
    if value is None:
        return None
    if not isinstance(value, list):
        raise TypeError("a list of strings or null")
    return frozenset(map(str, value))


def save(name: str, raw: bytes, entry: Entry) -> bool:
    """Keep the entry (atomically; an older entry of the same pack is removed). False when
    it cannot be kept: a data file JSON does not hold exactly, or no writable folder."""
    if not enabled():
        return False
    path = _file(name, raw)
    if path is None:
        return False
    try:
        if not keepable(entry.data):
            return False
        text = json.dumps({
            "format": FORMAT,
            "data": entry.data,
            "sources": {source: [sorted(c) if c is not None else None for c in facts]
                        for source, facts in entry.sources.items()},
        }, ensure_ascii=False)
        import tempfile  # only when an entry is written: a cold review reads

        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.write(text)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        for old in path.parent.glob(f"{Path(name).stem}-*.json"):
            if old != path:
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
