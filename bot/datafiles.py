"""Reading the project's YAML data files (rule packs, templates, texts).

libyaml's C loader when the installed PyYAML has it: ten times faster than the
pure-Python one, which matters for a command line that must start fast. Faster still
is not parsing at all: what a file holds is kept as JSON in the user's cache folder
(`~/.cache/cm-coach/data` on Linux) under a key made of the file's bytes, so a cold
review neither imports PyYAML (about 20 ms) nor parses the small files it reads. Best
effort, like the packs' cache: an entry that cannot be read or written is ignored, and
`CM_COACH_PACK_CACHE=off` turns both off.
"""

from __future__ import annotations

import json
import os
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

try:  # BLAKE2 as built into Python: `hashlib` loads OpenSSL first, 3 ms of a cold review
    from _blake2 import blake2b as _blake2b
except ImportError:  # another Python: hashlib's
    from hashlib import blake2b as _blake2b

CACHE_ENV = "CM_COACH_PACK_CACHE"
_FORMAT = 1


def load_yaml(path: Path) -> Any:
    raw = path.read_bytes()
    entry = _entry(path, raw)
    if entry is not None:
        try:
            return json.loads(entry.read_bytes())
        except (OSError, ValueError):
            pass  # absent or torn: parsed again, and written anew
    import yaml  # only on a cache miss

    data = yaml.load(raw.decode("utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if entry is not None:
        _write(entry, data)
    return data


def content_key(*parts: bytes) -> str:
    """32 hexadecimal digits that change with any byte of `parts`: the name of a cache
    entry worked out from those bytes."""
    digest = _blake2b(digest_size=16)
    for part in parts:
        digest.update(part)
    return digest.hexdigest()


def _folder() -> Path | None:
    return cache_folder("data")


def cache_folder(kind: str) -> Path | None:
    """The user's cache folder for `kind` (data files, the learned model), or None when
    caching is off or there is no such folder."""
    if os.environ.get(CACHE_ENV, "").strip().lower() in {"0", "off", "false", "no"}:
        return None
    root = _cache_root()
    return root / kind if root is not None else None


@lru_cache(maxsize=1)
def _cache_root() -> Path | None:
    try:
        from bot.folders import user_folder

        return user_folder("cache")
    except Exception:  # no home folder, a broken install: no cache
        return None


def _entry(path: Path, raw: bytes) -> Path | None:
    folder = _folder()
    if folder is None:
        return None
    key = content_key(f"{_FORMAT} {sys.version}\n".encode(), raw)
    return folder / f"{path.stem}-{key}.json"


def _write(entry: Path, data: Any) -> None:
    try:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        if json.loads(text) != data:  # a type JSON does not keep (a date, a tuple): not cached
            return
        if write_aside(entry, text.encode("utf-8")):
            # The entries of the file's earlier versions: a pack edited ten times is kept once.
            stem = entry.stem.rsplit("-", 1)[0]
            for old in entry.parent.glob(f"{stem}-*.json"):
                if old != entry and old.stem.rsplit("-", 1)[0] == stem:
                    old.unlink(missing_ok=True)
    except (TypeError, ValueError, OSError):
        pass


def write_aside(path: Path, data: bytes) -> bool:
    """Write `path` aside and rename it, so that a reader never meets half a file; False
    when it cannot be written (the caller goes on without it)."""
    import tempfile  # only when something is written: a cold review reads

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, path)
        except OSError:
            Path(tmp).unlink(missing_ok=True)
            return False
        return True
    except OSError:
        return False
