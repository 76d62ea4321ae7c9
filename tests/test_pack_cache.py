"""A pack read from its cache entry is the pack read from its YAML: same rules, same reviews;
the entry follows the file's bytes, and a cache that cannot be used is no cache."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.review import pack_cache, packs, regex_code
from bot.review.engine import rules_review
from bot.review.models import ReviewRequest
from bot.review.packs import LazyPattern, Pack, load_pack, pack_paths

DRAFTS = [
    "Avant que nous puissions enquêter, je vous demande de supprimer la photographie.",
    "Merci pour votre message ! Nous transmettons vos remarques à l'équipe du magasin.",
    "Tu peux nous envoyer ton numéro de commande en MP ? On regarde ça tout de suite.",
    "C'EST LA DERNIÈRE FOIS QUE JE VOUS LE DIS : LISEZ LA FAQ !!!",
]


@pytest.fixture
def cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "cache"
    monkeypatch.setattr(pack_cache, "folder", lambda: folder)
    monkeypatch.delenv(pack_cache.ENV, raising=False)
    packs._entry.cache_clear()
    yield folder
    packs._entry.cache_clear()


def _fresh(path: Path) -> Pack:
    packs._entry.cache_clear()
    return load_pack(path)


def _reviews(p: Pack, monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    out = []
    with monkeypatch.context() as m:
        m.setattr(packs, "pack", lambda language: p if language == p.language else None)
        import bot.review.engine as engine

        m.setattr(engine, "load_pack_of", lambda language: p if language == p.language else None)
        engine._flags_of.cache_clear()
        for draft in DRAFTS:
            out.append(rules_review(ReviewRequest(draft, "Toujours pas reçu ma commande !", "x", "fr")).to_dict())
        engine._flags_of.cache_clear()
    return out


def _units(p: Pack) -> list[LazyPattern]:
    return [u for pattern in p.patterns() for u in pattern.units]


def test_a_pack_is_kept_then_read_back_without_compiling(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = pack_paths()["fr"]
    first = _fresh(path)
    kept = list(cache.glob("fr-*.json"))
    assert len(kept) == 1
    assert all("compiled" in u.__dict__ for u in _units(first))  # read from YAML: each checked
    second = _fresh(path)
    assert packs._entry(path)[1] is not None
    assert not any("compiled" in u.__dict__ for u in _units(second))  # from the entry: none yet
    assert [r.id for r in second.rules] == [r.id for r in first.rules]
    assert [u.pattern for u in _units(second)] == [u.pattern for u in _units(first)]
    assert _reviews(second, monkeypatch) == _reviews(first, monkeypatch)
    compiled = [u for u in _units(second) if "compiled" in u.__dict__]
    assert 0 < len(compiled) < len(_units(second)) / 2  # a few reviews compile a few units


def test_patterns_are_rebuilt_from_their_kept_code(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not regex_code.supported():
        pytest.skip("the compiled code of a pattern is kept on CPython only")
    path = pack_paths()["fr"]
    first = _fresh(path)
    assert len(list(cache.glob("fr-*.code"))) == 1
    expected = _reviews(first, monkeypatch)
    second = _fresh(path)

    class NoCompiling:
        """`re` for packs.py, but nothing compiled: each unit must come from its kept code."""

        def __getattr__(self, name: str) -> object:
            return getattr(re, name)

        def compile(self, *args: object, **kwargs: object) -> None:
            raise AssertionError(f"compiled instead of rebuilt: {args[0]!r:.60}")

    with monkeypatch.context() as m:
        m.setattr(packs, "re", NoCompiling())
        assert _reviews(second, monkeypatch) == expected
    assert any("compiled" in u.__dict__ for u in _units(second))


def test_damaged_code_is_compiled_again(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = pack_paths()["fr"]
    first = _fresh(path)
    expected = _reviews(first, monkeypatch)
    for kept in cache.glob("fr-*.code"):
        kept.write_bytes(bytes(range(256)) * 8)  # CPython refuses code it cannot run
    assert _reviews(_fresh(path), monkeypatch) == expected
    for kept in cache.glob("fr-*.code"):
        kept.unlink()
    assert _reviews(_fresh(path), monkeypatch) == expected


def test_the_anchor_automaton_is_built_from_its_kept_keys(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.review import anchors

    if not anchors.ENABLED:
        pytest.skip("no automaton without pyahocorasick")
    path = pack_paths()["fr"]
    first = _fresh(path)
    expected = _reviews(first, monkeypatch)  # read from YAML: keys worked out, not kept
    second = _fresh(path)
    assert _reviews(second, monkeypatch) == expected  # from the entry: keys worked out and kept
    assert len(list(cache.glob("fr-*.anchors"))) == 1

    def not_worked_out(_anchored: object) -> None:
        raise AssertionError("the keys were worked out again")

    with monkeypatch.context() as m:
        m.setattr(anchors.AnchorScan, "keys_of", staticmethod(not_worked_out))
        third = _fresh(path)
        assert _reviews(third, monkeypatch) == expected


@pytest.mark.parametrize("damage", [b"", b"\x00" * 16, bytes(range(256)) * 4, b"flipped"])
def test_damaged_anchor_keys_are_worked_out_again(cache: Path, monkeypatch: pytest.MonkeyPatch,
                                                  damage: bytes) -> None:
    path = pack_paths()["fr"]
    expected = _reviews(_fresh(path), monkeypatch)
    _reviews(_fresh(path), monkeypatch)  # keeps the keys
    for kept in cache.glob("fr-*.anchors"):
        blob = kept.read_bytes()
        # "flipped": one byte of the keys changed, the digest left as it was
        kept.write_bytes(blob[:40] + bytes([blob[40] ^ 1]) + blob[41:] if damage == b"flipped" else damage)
    assert _reviews(_fresh(path), monkeypatch) == expected


def test_every_pattern_rebuilt_from_its_code_is_the_pattern_compiled() -> None:
    if not regex_code.supported():
        pytest.skip("the compiled code of a pattern is kept on CPython only")
    texts = [*DRAFTS, "Please delete the photo and DM us your order number 12345, @anna.",
             "Vos clowns de conseillers ! Rest assured, nothing to worry about. 9/11 -50 % !!!"]
    for lang, path in pack_paths().items():
        for unit in _units(load_pack(path)):
            header, code = regex_code.code_of(unit.pattern)
            rebuilt, compiled = regex_code.rebuild(unit.pattern, header, code), re.compile(unit.pattern)
            assert rebuilt is not None, (lang, unit.pattern[:60])
            assert (rebuilt.pattern, rebuilt.flags, rebuilt.groups, rebuilt.groupindex) == \
                (compiled.pattern, compiled.flags, compiled.groups, compiled.groupindex)
            for text in texts:
                folded = text.lower()
                assert [m.span() for m in rebuilt.finditer(folded)] == [m.span() for m in compiled.finditer(folded)]


def test_function_words_are_read_without_any_pack_entry(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = {lang: frozenset(map(str, packs._read(path)["function_words"]))
                for lang, path in pack_paths().items()}
    for path in pack_paths().values():
        _fresh(path)  # keeps each entry, and its function words apart
    assert _function_words_from_the_cache(monkeypatch) == expected
    for kept in cache.glob("*.words"):
        kept.write_text("{not json", encoding="utf-8")
    assert packs.function_words() == expected  # damaged: read from the pack instead
    packs.function_words.cache_clear()


def test_function_words_read_from_a_pack_are_kept_for_the_next_process(
        cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A French draft reads the English pack for its function words only: they are kept
    then, so that the next review neither parses that pack nor imports PyYAML."""
    packs.function_words.cache_clear()
    packs._entry.cache_clear()
    first = packs.function_words()  # no entry at all: each pack read for its words
    assert {p.name.split("-")[0] for p in cache.glob("*.words")} == set(pack_paths())
    packs._entry.cache_clear()
    assert _function_words_from_the_cache(monkeypatch) == first


def _function_words_from_the_cache(monkeypatch: pytest.MonkeyPatch) -> dict[str, frozenset[str]]:
    """Each pack's function words, read anew with no pack nor entry read."""
    packs.function_words.cache_clear()

    def no_entry(path: Path) -> None:
        raise AssertionError(f"{path.name} read for its function words")

    with monkeypatch.context() as m:
        m.setattr(packs, "_entry", no_entry)
        found = packs.function_words()
    packs.function_words.cache_clear()
    return found


def test_the_entry_follows_the_files_bytes(cache: Path, tmp_path: Path) -> None:
    copy = tmp_path / "packs" / "fr.yml"
    copy.parent.mkdir()
    copy.write_bytes(pack_paths()["fr"].read_bytes())
    _fresh(copy)
    (before,) = cache.glob("fr-*.json")
    text = copy.read_text(encoding="utf-8").replace("language: fr", "language: fr  # edited", 1)
    copy.write_text(text, encoding="utf-8")
    _fresh(copy)
    (after,) = cache.glob("fr-*.json")  # the older entry of the same pack is gone
    assert after != before


def test_a_damaged_entry_is_ignored_and_replaced(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = pack_paths()["en"]
    expected = _fresh(path)
    (entry,) = cache.glob("en-*.json")
    entry.write_text('{"format": 1, "data": {"language": "en"}, "sources": {"x": 3}}', encoding="utf-8")
    again = _fresh(path)
    assert [r.id for r in again.rules] == [r.id for r in expected.rules]
    assert "compiled" in _units(again)[0].__dict__  # read from YAML again
    assert json.loads(entry.read_text(encoding="utf-8"))["sources"]  # and kept anew


def test_turned_off_nothing_is_kept(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(pack_cache.ENV, "off")
    p = _fresh(pack_paths()["fr"])
    assert not cache.exists()
    assert p.rules


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a folder it may not write")
def test_an_unwritable_cache_is_no_cache(cache: Path) -> None:
    cache.mkdir(parents=True)
    cache.chmod(0o500)
    try:
        p = _fresh(pack_paths()["fr"])
        assert not list(cache.iterdir())
        assert p.rules
    finally:
        cache.chmod(0o700)


def test_without_a_cache_the_scan_comes_after_the_warm_up(monkeypatch: pytest.MonkeyPatch, cache: Path) -> None:
    monkeypatch.setattr(pack_cache, "writable", lambda: False)
    p = _fresh(pack_paths()["fr"])
    assert p.scanner is not None and p.scanner._known is None
    from bot.review import anchors

    if anchors._library() is None:
        pytest.skip("pyahocorasick is not installed")
    seen = [p.scan("supprimez la photo") is not None for _ in range(packs.WARM_UP)]
    assert not seen[0] and seen[-1]


def test_data_json_cannot_hold_exactly_is_not_kept(cache: Path, tmp_path: Path) -> None:
    copy = tmp_path / "packs" / "fr.yml"
    copy.parent.mkdir()
    copy.write_text(pack_paths()["fr"].read_text(encoding="utf-8") + "\nreleased: 2024-01-01\n",
                    encoding="utf-8")
    p = _fresh(copy)
    assert not list(cache.glob("fr-*.json"))
    assert p.scanner is not None and p.scanner._known is None  # nor worked out for nothing
    assert p.rules
