"""The coach's words (data/messages.yml), per interface language."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from bot.datafiles import load_yaml
from bot.render.labels import label

DATA = Path(__file__).parent / "data"


@lru_cache(maxsize=1)
def _messages() -> dict[str, dict[str, str]]:
    return load_yaml(DATA / "messages.yml")


def ui(lang: str | None) -> str:
    return "fr" if lang == "fr" else "en"


def say(key: str, lang: str | None, **values: Any) -> str:
    table = _messages()
    text = table[ui(lang)].get(key) or table["en"].get(key) or key
    return text.format(**values).rstrip("\n") if values else text.rstrip("\n")


def has_message(key: str) -> bool:
    return key in _messages()["en"]


def rule_name(rule: str, lang: str | None) -> str:
    return say(f"rule_{rule}", lang)


def category_name(category: str, lang: str | None) -> str:
    return label(f"category_{category}", ui(lang))


def severity_name(severity: str, lang: str | None) -> str:
    return label(f"severity_{severity}", ui(lang))


def language_name(code: str, lang: str | None) -> str:
    """The language's name in the interface language; its code when it has none."""
    return say(f"language_{code}", lang) if has_message(f"language_{code}") else code
