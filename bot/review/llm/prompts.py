"""The LLM's messages, built from the prompt files in `prompts/`.

Prompts are data: this module only fills their `${...}` slots. Whatever the
customer or the community manager wrote travels as JSON strings between tags,
with `<`, `>` and `&` escaped, so a draft can neither close its tag nor pass
for instructions. The system message is the same for every review of a brand
(the brand comes last), so that providers cache it; the texts sent are capped
(`clip`) and may be redacted first (`redact.Redactor`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from string import Template
from typing import Any

from bot.review.llm.merge import MAX_HINTS, TRUSTED, hint_ids
from bot.review.models import BrandProfile, Review, ReviewRequest
from bot.review.platforms import spec
from bot.review.redact import Redactor

# The repository's prompts/ folder (the package is installed editable from it).
DEFAULT_PROMPTS_DIR = Path(__file__).resolve().parents[3] / "prompts"
FILES = ("VERSION", "review.system.md", "review.user.md", "repair.md", "output_format.md", "brand.md")
# Follow-ups in a coaching conversation; read apart, so a prompts_dir made for
# reviews alone keeps working (follow-ups then fall back to offline).
FOLLOWUP_FILES = ("VERSION", "followup.system.md", "followup.user.md", "brand.md")


class PromptError(Exception):
    """A prompt file is missing or unreadable; the message says which."""


@dataclass(frozen=True)
class Prompts:
    version: str
    system: Template
    user: Template
    repair: Template
    output_format: str
    brand: Template


@dataclass(frozen=True)
class FollowUpPrompts:
    version: str
    system: Template
    user: Template
    brand: Template


def _read(folder: str, names: tuple[str, ...]) -> tuple[dict[str, str], str]:
    """The files' texts and the prompts' version; PromptError says which file is wrong."""
    base = Path(folder).expanduser() if folder else DEFAULT_PROMPTS_DIR
    texts: dict[str, str] = {}
    for name in names:
        try:
            texts[name] = (base / name).read_text(encoding="utf-8")
        except OSError as exc:
            raise PromptError(
                f"prompt file {base / name} cannot be read ({exc.strerror or exc}); "
                "set [llm] prompts_dir to the folder holding the prompts"
            ) from exc
    version = texts["VERSION"].strip()
    if not version:
        raise PromptError(f"{base / 'VERSION'} is empty; write the prompts' version in it")
    return texts, version


@lru_cache(maxsize=8)
def load_prompts(folder: str = "") -> Prompts:
    texts, version = _read(folder, FILES)
    return Prompts(
        version=version,
        system=Template(texts["review.system.md"]),
        user=Template(texts["review.user.md"]),
        repair=Template(texts["repair.md"]),
        output_format=texts["output_format.md"].strip(),
        brand=Template(texts["brand.md"].strip()),
    )


@lru_cache(maxsize=8)
def load_followup_prompts(folder: str = "") -> FollowUpPrompts:
    texts, version = _read(folder, FOLLOWUP_FILES)
    return FollowUpPrompts(
        version=version,
        system=Template(texts["followup.system.md"]),
        user=Template(texts["followup.user.md"]),
        brand=Template(texts["brand.md"].strip()),
    )


def as_data(value: Any) -> str:
    """JSON that cannot break out of its tag: markup characters are escaped."""
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def brand_text(template: Template, p: BrandProfile) -> str:
    """The brand profile in the words of prompts/brand.md."""
    return template.safe_substitute(
        name=p.name or "(not set)",
        voice=p.voice,
        address="as in the draft" if p.address == "auto" else p.address,
        signature=p.signature or "(none)",
        banned_terms=", ".join(p.banned_terms) or "(none)",
    )


def _platform(request: ReviewRequest) -> str:
    s = spec(request.platform)
    if not s.limit:
        return f"{s.name} (no length limit)"
    link = f", a link counts {s.link_length}" if s.link_length else ""
    return f"{s.name} (at most {s.limit} characters{link})"


CUT = " […] "
MAX_QUOTE_CHARS = 200  # a hint's quote: enough to recognise the words


def clip(text: str | None, limit: int) -> str | None:
    """At most `limit` characters, keeping both ends of a longer text.

    The start says who is addressed, the end what is asked or promised: both
    matter more than the middle. 0 means no limit.
    """
    if text is None or limit <= 0 or len(text) <= limit:
        return text
    keep = max(0, limit - len(CUT))
    head = keep * 2 // 3
    return text[:head].rstrip() + CUT + text[len(text) - (keep - head):].lstrip()


def hints(offline: Review, redactor: Redactor | None = None) -> list[dict[str, Any]]:
    """The offline engine's findings, as hints for the model, with the ids dismissals use."""
    out = []
    for hint, index in hint_ids(offline).items():
        f = offline.findings[index]
        quote = f.span.text[:MAX_QUOTE_CHARS] if f.span else None
        out.append({"id": hint, "category": f.category, "severity": f.severity,
                    "quote": redactor.redact(quote) if redactor else quote,
                    "dismissible": f.category not in TRUSTED})
    return out[:MAX_HINTS]


def system_message(prompts: Prompts, profile: BrandProfile) -> str:
    """The instructions, the output shape and the examples, then the brand: the same
    first ~1,500 tokens for every review, which providers cache."""
    return prompts.system.safe_substitute(
        brand=brand_text(prompts.brand, profile), output_format=prompts.output_format,
    ).rstrip()


def messages(
    prompts: Prompts, request: ReviewRequest, offline: Review, *,
    redactor: Redactor | None = None, max_context_chars: int = 0, max_draft_chars: int = 0,
) -> list[dict[str, str]]:
    """System and user messages for one review.

    The output shape is always in the system prompt, even with a json_schema
    response format: models write better JSON with it in sight. Texts are
    redacted, then capped.
    """
    redactor = redactor or Redactor(enabled=False)
    user = prompts.user.safe_substitute(
        platform=_platform(request),
        language=offline.language,
        context_json=as_data(clip(redactor.redact(request.context), max_context_chars)),
        draft_json=as_data(clip(redactor.redact(request.draft), max_draft_chars)),
        hints_json=as_data(hints(offline, redactor)),
    )
    return [{"role": "system", "content": system_message(prompts, request.profile)},
            {"role": "user", "content": user}]


def repair_message(prompts: Prompts, error: str) -> dict[str, str]:
    return {"role": "user", "content": prompts.repair.safe_substitute(error=error)}
