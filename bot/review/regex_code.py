"""A regular expression's compiled code, kept so that the next process need not compile it.

`re.compile` parses a pattern and turns it into the code CPython's matcher runs; for the
packs' large alternations that took most of a cold review (all of them: about 270 ms,
against 3 ms to rebuild them from their code). The code is a list of integers that
`_sre.compile` takes back, and that CPython checks before using it: a damaged list is
refused, not run. It belongs to one Python: the packs' cache keys its entries on the
exact version. Anything unexpected (another interpreter, a changed internal) gives
None, and the caller compiles the pattern as usual.
"""

from __future__ import annotations

import contextlib
import re
import sys
from array import array
from pathlib import Path
from typing import Any

# flags, groups, group index, index group: what `_sre.compile` takes besides the code.
Header = tuple[int, int, dict[str, int], tuple[str | None, ...]]


def supported() -> bool:
    try:
        import _sre

        return sys.implementation.name == "cpython" and array("I").itemsize == _sre.CODESIZE
    except (ImportError, AttributeError):
        return False


def code_of(source: str, flags: int = 0) -> tuple[Header, array] | None:
    """What `re.compile(source, flags)` builds, as `rebuild` takes it back; None when unknown."""
    try:
        from re import _compiler, _parser  # type: ignore[attr-defined]

        parsed = _parser.parse(source, flags)
        code = _compiler._code(parsed, flags)
        index = dict(parsed.state.groupdict)
        groups: list[str | None] = [None] * parsed.state.groups
        for name, i in index.items():
            groups[i] = name
        header: Header = (int(parsed.state.flags), parsed.state.groups - 1, index, tuple(groups))
        words = array("I", code)
        built = rebuild(source, header, words)
        if built is None or built.flags != re.compile(source, flags).flags:
            return None
        return header, words
    except Exception:  # an internal that changed: compile as usual
        return None


def rebuild(source: str, header: Header, code: array | list[int]) -> re.Pattern[str] | None:
    """The compiled pattern from its code, or None when CPython refuses it."""
    try:
        import _sre

        flags, groups, index, names = header
        pattern: Any = _sre.compile(source, flags, list(code), groups, dict(index), tuple(names))
        return pattern if isinstance(pattern, re.Pattern) else None
    except Exception:  # refused (damaged code) or another interpreter
        return None


# The module-level patterns of the engine, the rewriter and the renderers, kept the same
# way in one file of the user's cache (`~/.cache/cm-coach/regex`): compiling them took
# about 15 ms of every cold review. Only for patterns fixed in the code: each one not yet
# kept is added and the file rewritten when the process ends.
_KEPT_FORMAT = 1
_MAX_KEPT = 2_000  # more means patterns of older code piled up: start afresh
_kept: dict[tuple[str, int], tuple] | None = None
_kept_path: Path | None = None
_added = False


def kept(source: str, flags: int = 0) -> re.Pattern[str]:
    """`re.compile(source, flags)`, rebuilt from the code an earlier process kept when it can."""
    flags = int(flags)  # a RegexFlag is an int that marshal does not keep
    store = _store()
    entry = store.get((source, flags)) if store is not None else None
    if entry is not None:
        words = array("I")
        words.frombytes(entry[4])
        pattern = rebuild(source, entry[:4], words)
        if pattern is not None:
            return pattern
    pattern = re.compile(source, flags)
    if store is not None:
        found = code_of(source, flags)
        if found is not None:
            global _added
            (kept_flags, groups, index, names), code = found
            store[(source, flags)] = (kept_flags, groups, index, names, code.tobytes())
            if not _added:
                import atexit

                atexit.register(_save)
                _added = True
    return pattern


def _store() -> dict[tuple[str, int], tuple] | None:
    global _kept, _kept_path
    if _kept is None and _kept_path is None:
        _kept_path, _kept = _open()
    return _kept


def _open() -> tuple[Path | None, dict | None]:
    if not supported():
        return Path(), None  # a path set, no store: looked once
    from bot.datafiles import cache_folder, content_key

    folder = cache_folder("regex")
    if folder is None:
        return Path(), None
    key = content_key(f"{_KEPT_FORMAT} {sys.version} {sys.byteorder}".encode())
    path = folder / f"re-{key}.marshal"
    return path, _read(path)


def _read(path: Path) -> dict[tuple[str, int], tuple]:
    import marshal

    try:
        store = marshal.loads(path.read_bytes())
        return store if isinstance(store, dict) else {}
    except Exception:  # absent or torn: patterns are compiled, and kept anew
        return {}


def _save() -> None:
    import marshal

    from bot.datafiles import write_aside

    if _kept is None or _kept_path is None or not _kept_path.name:
        return
    merged = _read(_kept_path)  # what other processes kept meanwhile
    if len(merged) > _MAX_KEPT:
        merged = {}
    merged.update(_kept)
    with contextlib.suppress(ValueError):  # something marshal cannot hold: not kept
        write_aside(_kept_path, marshal.dumps(merged))
