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

import re
import sys
from array import array
from typing import Any

# flags, groups, group index, index group: what `_sre.compile` takes besides the code.
Header = tuple[int, int, dict[str, int], tuple[str | None, ...]]


def supported() -> bool:
    try:
        import _sre

        return sys.implementation.name == "cpython" and array("I").itemsize == _sre.CODESIZE
    except (ImportError, AttributeError):
        return False


def code_of(source: str) -> tuple[Header, array] | None:
    """What `re.compile(source)` builds, as `rebuild` takes it back; None when unknown."""
    try:
        from re import _compiler, _parser  # type: ignore[attr-defined]

        parsed = _parser.parse(source, 0)
        code = _compiler._code(parsed, 0)
        index = dict(parsed.state.groupdict)
        groups: list[str | None] = [None] * parsed.state.groups
        for name, i in index.items():
            groups[i] = name
        header: Header = (int(parsed.state.flags), parsed.state.groups - 1, index, tuple(groups))
        built = rebuild(source, header, array("I", code))
        if built is None or built.flags != re.compile(source).flags:
            return None
        return header, array("I", code)
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
