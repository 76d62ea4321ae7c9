"""A pattern rebuilt from its kept code is the pattern `re.compile` builds; a store that
cannot be read is no store; the module-level patterns are kept once and then reused."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.review import regex_code

ROOT = Path(__file__).resolve().parents[1]
PATTERNS = [
    (r"(?<![\w])(?:supprim\w*|retir\w*) (?:la|ta|votre) (?:photo|vidéo)(?![\w])", 0),
    (r"(?P<amount>\d+(?:[.,]\d+)?) ?(?P<unit>€|eur|%)", re.IGNORECASE),
    (r"^\s*#{1,6} \S[^\n]{0,20}", re.MULTILINE),
    (r"[^\x00-\xac\u2000-\u200a\U0001f300-\U0001faff]", 0),
]
TEXTS = ["Merci de supprimer la photo, svp.", "Remboursé : 12,50 EUR et 5 %", "# Titre\n## Autre titre",
         "Emoji 😀 and “quotes” — done", ""]

pytestmark = pytest.mark.skipif(not regex_code.supported(), reason="kept code is for CPython only")


def _same(a: re.Pattern[str], b: re.Pattern[str]) -> bool:
    return ((a.pattern, a.flags, a.groups, a.groupindex) == (b.pattern, b.flags, b.groups, b.groupindex)
            and all([m.span() for m in a.finditer(t)] == [m.span() for m in b.finditer(t)] for t in TEXTS))


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    path = tmp_path / "re.marshal"
    monkeypatch.setattr(regex_code, "_kept", {})
    monkeypatch.setattr(regex_code, "_kept_path", path)
    return path


def test_a_kept_pattern_is_the_compiled_one_first_and_once_rebuilt(store: Path) -> None:
    for source, flags in PATTERNS:
        first = regex_code.kept(source, flags)  # compiled, and its code kept
        assert _same(first, re.compile(source, flags))
        assert (source, int(flags)) in regex_code._kept  # type: ignore[operator]
    regex_code._save()
    assert store.is_file()
    regex_code._kept = regex_code._read(store)  # as the next process finds it
    assert len(regex_code._kept) == len(PATTERNS)
    for source, flags in PATTERNS:
        assert _same(regex_code.kept(source, flags), re.compile(source, flags))


def test_a_damaged_store_is_no_store(store: Path) -> None:
    store.write_bytes(b"\x00\x01 not marshal")
    assert regex_code._read(store) == {}
    source, flags = PATTERNS[1]
    regex_code._kept = {(source, int(flags)): (0, 0, {}, (None,), b"\xff" * 12)}  # code CPython refuses
    assert _same(regex_code.kept(source, flags), re.compile(source, flags))


def test_the_engine_keeps_its_patterns_once(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT)}
    env.pop("CM_COACH_PACK_CACHE", None)
    code = "import bot.review.engine, bot.review.rewrites"
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)
    (kept,) = (tmp_path / "cache" / "cm-coach" / "regex").glob("re-*.marshal")
    assert len(regex_code._read(kept)) >= 20
    before = kept.stat().st_mtime_ns
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)
    assert kept.stat().st_mtime_ns == before  # every pattern found: nothing written again
