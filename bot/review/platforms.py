"""Platform lengths, counted as each platform counts them (data in packs/_platforms.yml)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from bot.datafiles import load_yaml

_URL = re.compile(r"https?://[^\s<>\"]+|www\.[^\s<>\"]+", re.IGNORECASE)


@dataclass(frozen=True)
class PlatformSpec:
    id: str
    name: str
    limit: int
    link_length: int


@lru_cache(maxsize=1)
def platform_specs() -> dict[str, PlatformSpec]:
    path = Path(__file__).parent / "packs" / "_platforms.yml"
    data = load_yaml(path)
    return {k: PlatformSpec(k, v["name"], int(v["limit"]), int(v["link_length"])) for k, v in data.items()}


def spec(platform: str) -> PlatformSpec:
    specs = platform_specs()
    return specs.get(platform, specs["generic"])


def weighted_length(text: str, platform: str) -> int:
    """Length as the platform counts it: on X every link counts 23."""
    s = spec(platform)
    if not s.link_length:
        return len(text)
    total = 0
    last = 0
    for m in _URL.finditer(text):
        total += m.start() - last + s.link_length
        last = m.end()
    return total + len(text) - last


def fits(text: str, platform: str) -> bool:
    s = spec(platform)
    return not s.limit or weighted_length(text, platform) <= s.limit
