"""A data file read from its cache entry is the file as PyYAML reads it; the entry follows
the file's bytes; a cache that cannot be used is no cache; a warm cache spares the import."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot import datafiles
from bot.datafiles import load_yaml

ROOT = Path(__file__).resolve().parents[1]
DATA_FILES = sorted((ROOT / "bot").rglob("*.yml"))


@pytest.fixture
def cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    folder = tmp_path / "data-cache"
    monkeypatch.delenv(datafiles.CACHE_ENV, raising=False)
    monkeypatch.setattr(datafiles, "_folder", lambda: folder)
    return folder


def test_every_data_file_reads_the_same_from_its_cache_entry(cache: Path) -> None:
    assert len(DATA_FILES) >= 10
    for path in DATA_FILES:
        parsed = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert load_yaml(path) == parsed  # parsed, and kept
        assert load_yaml(path) == parsed, path  # read back from the entry
    assert len(list(cache.glob("*.json"))) == len(DATA_FILES)


def test_an_edited_file_gets_a_new_entry(cache: Path, tmp_path: Path) -> None:
    path = tmp_path / "texts.yml"
    path.write_text("greeting: Bonjour\n", encoding="utf-8")
    assert load_yaml(path) == {"greeting": "Bonjour"}
    other = tmp_path / "texts-extra.yml"  # a file whose name starts alike keeps its entry
    other.write_text("farewell: Au revoir\n", encoding="utf-8")
    assert load_yaml(other) == {"farewell": "Au revoir"}
    path.write_text("greeting: Hello\n", encoding="utf-8")
    assert load_yaml(path) == {"greeting": "Hello"}
    # The edited file's entry replaces its earlier version's: the cache does not grow with edits.
    kept = sorted(p.name.rsplit("-", 1)[0] for p in cache.glob("texts*.json"))
    assert kept == ["texts", "texts-extra"]
    assert load_yaml(path) == {"greeting": "Hello"}
    assert load_yaml(other) == {"farewell": "Au revoir"}


def test_a_torn_entry_is_read_again_from_the_file(cache: Path, tmp_path: Path) -> None:
    path = tmp_path / "texts.yml"
    path.write_text("items: [1, 2, 3]\n", encoding="utf-8")
    load_yaml(path)
    (entry,) = cache.glob("texts-*.json")
    entry.write_text('{"items": [1, 2', encoding="utf-8")
    assert load_yaml(path) == {"items": [1, 2, 3]}
    assert load_yaml(path) == {"items": [1, 2, 3]}  # and written anew


def test_what_json_cannot_keep_is_not_cached(cache: Path, tmp_path: Path) -> None:
    path = tmp_path / "dated.yml"
    path.write_text("since: 2019-03-01\n", encoding="utf-8")
    first = load_yaml(path)
    assert str(first["since"]) == "2019-03-01" and not list(cache.glob("*.json"))
    assert load_yaml(path) == first


def test_an_unwritable_cache_is_no_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setattr(datafiles, "_folder", lambda: blocker / "data")
    path = DATA_FILES[0]
    assert load_yaml(path) == yaml.safe_load(path.read_text(encoding="utf-8"))


def test_a_warm_cache_spares_importing_pyyaml(tmp_path: Path) -> None:
    code = ("import sys; from pathlib import Path; from bot.datafiles import load_yaml; "
            f"load_yaml(Path({str(DATA_FILES[0])!r})); print('yaml' in sys.modules)")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT)}
    env.pop(datafiles.CACHE_ENV, None)

    def run(extra: dict[str, str] | None = None) -> str:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                              env={**env, **(extra or {})}, timeout=60)
        return done.stdout.strip()

    assert run() == "True"  # the first read parses the file
    assert run() == "False"  # the next reads only its entry
    assert run({datafiles.CACHE_ENV: "off"}) == "True"  # no cache: parsed each time
