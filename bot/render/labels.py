"""Interface words in French and English, read from strings.yml."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from bot.datafiles import load_yaml


@lru_cache(maxsize=1)
def _strings() -> dict[str, dict[str, str]]:
    path = Path(__file__).parent / "strings.yml"
    return load_yaml(path)


def ui_language(lang: str | None) -> str:
    """The interface language for a draft's language: French for fr, else English."""
    return "fr" if (lang or "").lower().startswith("fr") else "en"


def label(key: str, lang: str | None = "en", **values: Any) -> str:
    table = _strings()
    text = table[ui_language(lang)].get(key) or table["en"].get(key) or key
    return text.format(**values) if values else text
