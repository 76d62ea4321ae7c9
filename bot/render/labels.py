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


def named(key: str, lang: str | None, fallback: str) -> str:
    """A label, or `fallback` when strings.yml has no such key."""
    text = label(key, lang)
    return fallback if text == key else text


def category_name(category: str, lang: str | None) -> str:
    return named(f"category_{category}", lang, category.replace("_", " ").capitalize())


def style_name(style: str, lang: str | None) -> str:
    return named(f"rewrite_style_{style}", lang, style.replace("_", " ").capitalize())


def colon(lang: str | None) -> str:
    """French typography puts a space before a colon."""
    return " : " if ui_language(lang) == "fr" else ": "


def score_bar(score: int, width: int = 10, full: str = "█", empty: str = "░") -> str:
    filled = max(0, min(width, score))
    return full * filled + empty * (width - filled)
