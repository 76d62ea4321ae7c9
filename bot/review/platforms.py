"""Platform lengths, counted as each platform counts them (data in packs/_platforms.yml)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from bot.datafiles import load_yaml
from bot.review.regex_code import kept
from bot.review.text import may_hold_link

_URL = kept(r"https?://[^\s<>\"]+|www\.[^\s<>\"]+", re.IGNORECASE)


@dataclass(frozen=True)
class PlatformSpec:
    id: str
    name: str
    limit: int
    link_length: int
    markdown: bool = True  # renders Markdown; where not, its marks show as typed


@lru_cache(maxsize=1)
def platform_specs() -> dict[str, PlatformSpec]:
    path = Path(__file__).parent / "packs" / "_platforms.yml"
    data = load_yaml(path)
    return {k: PlatformSpec(k, v["name"], int(v["limit"]), int(v["link_length"]), bool(v.get("markdown", True)))
            for k, v in data.items()}


def spec(platform: str) -> PlatformSpec:
    specs = platform_specs()
    return specs.get(platform, specs["generic"])


def weighted_length(text: str, platform: str) -> int:
    """Length as the platform counts it: on X every link counts 23."""
    s = spec(platform)
    if not s.link_length or not may_hold_link(text):  # no link: the length as typed
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


# Markdown a chat tool or an AI assistant leaves in a draft: bold, links, titles, code,
# strike-through, HTML tags. Bounded runs, no nesting: linear in the text. A hashtag
# ("#promo") is not a title: a title's « # » is followed by a space. Compiled on first
# use (`re` keeps it), not at import.
_MARKDOWN = (
    r"\*\*[^*\n]{1,300}?\*\*|__[^_\n]{1,300}?__|~~[^~\n]{1,300}?~~"
    r"|\[[^\[\]\n]{1,300}\]\((?:https?://|www\.|/)[^()\[\]\s]{1,2000}\)"
    r"|^[ \t]{0,3}#{1,6}[ \t]+\S[^\n]{0,200}|```|</?(?:b|i|u|s|strong|em|br|p|a|ul|ol|li|h[1-6])(?:\s[^<>\n]{0,300})?/?>"
)
_MARKS = frozenset("*_~[#`<")  # a draft with none of these holds no Markdown
_LINK = r"\[([^\[\]\n]{1,300})\]\(([^()\[\]\s]{1,2000})\)"


def markdown_marks(text: str, platform: str) -> list[tuple[int, int]]:
    """Where Markdown the platform will not render stands in `text` (empty where it renders it)."""
    if spec(platform).markdown or not any(map(text.__contains__, _MARKS)):
        return []
    return [m.span() for m in re.finditer(_MARKDOWN, text, re.MULTILINE | re.IGNORECASE)]


def plain_text(text: str) -> str:
    """`text` without its Markdown: the words stay, a link becomes « words: address »."""
    text = re.sub(_LINK, lambda m: f"{m.group(1)}: {m.group(2)}", text)
    text = re.sub(r"\*\*([^*\n]{1,300}?)\*\*|__([^_\n]{1,300}?)__|~~([^~\n]{1,300}?)~~",
                  lambda m: next(g for g in m.groups() if g is not None), text)
    text = re.sub(r"^[ \t]{0,3}#{1,6}[ \t]+(?=\S)|```", "", text, flags=re.MULTILINE)
    text = re.sub(r"<br\s*/?>", "\n", text, flags=re.IGNORECASE)
    return re.sub(r"</?(?:b|i|u|s|strong|em|p|a|ul|ol|li|h[1-6])(?:\s[^<>\n]{0,300})?/?>", "", text,
                  flags=re.IGNORECASE)
