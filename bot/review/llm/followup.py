"""A coaching follow-up asked of the LLM: the messages, the answer's shape, its checks.

The community manager asks for the current version shorter, warmer, with
« vous », in English… The model gets the instruction, and as JSON data in tags
(never as instructions) the customer's message, the draft, the versions asked
for before and the current version; it answers `{"text": "..."}`. An answer
that is empty, unchanged, not what was asked (a "shorter" that is longer, the
wrong language), that drops a [placeholder] or that states a fact neither the
draft, the customer's message, the current version nor the community
manager's own instruction gives is refused here by the one fact guard
(`facts.guard`; `InventedFacts` says which facts): the coach then uses its
offline transformations and tells the user why. An instruction that is not one
of INSTRUCTIONS is the community manager's own words, sent as they are. Personal data
is redacted before the request (`redact`), the texts capped (`clip`). Whatever passes is still reviewed again by
the coach before it is shown. Pure: no I/O (the call is in `llm`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from bot.review.facts import Fact, describe, guard
from bot.review.language import detect_language
from bot.review.llm.prompts import FollowUpPrompts, as_data, brand_text, clip
from bot.review.llm.schema import OutputError, _strict
from bot.review.models import BrandProfile
from bot.review.redact import Redactor
from bot.review.taxonomy import LANGUAGES
from bot.review.text import placeholders

# The instructions the prompt explains (prompts/followup.system.md).
INSTRUCTIONS = ("shorter", "longer", "formal", "warmer", "tu", "vous", "english", "french", "another")
TRANSLATIONS = {"english": "en", "french": "fr"}
MAX_HISTORY = 6  # earlier versions sent with the request: enough to see the direction
MAX_HISTORY_CHARS = 1500  # per earlier version


class InventedFacts(OutputError):
    """The new version states facts no source gives; `facts` are they."""

    def __init__(self, message: str, facts: list[Fact]) -> None:
        super().__init__(message)
        self.facts = facts


class LLMFollowUp(BaseModel):
    model_config = ConfigDict(extra="ignore")

    text: str


@lru_cache(maxsize=1)
def response_schema() -> dict[str, Any]:
    """The JSON schema sent as `response_format` (type json_schema, strict)."""
    return _strict(LLMFollowUp.model_json_schema())


def history_data(history: Sequence[dict[str, Any]] | None,
                 redactor: Redactor | None = None) -> list[dict[str, str]]:
    """The conversation's earlier versions, oldest first, as the prompt shows them."""
    out = []
    for item in list(history or [])[-MAX_HISTORY:]:
        how, text = item.get("how"), item.get("text")
        if isinstance(how, str) and isinstance(text, str):
            text = redactor.redact(text) or text if redactor else text
            out.append({"instruction": how, "text": text[:MAX_HISTORY_CHARS]})
    return out


def messages(prompts: FollowUpPrompts, profile: BrandProfile, *, text: str, instruction: str,
             lang: str, draft: str | None, context: str | None,
             history: Sequence[dict[str, Any]] | None, redactor: Redactor | None = None,
             max_context_chars: int = 0, max_draft_chars: int = 0) -> list[dict[str, str]]:
    redactor = redactor or Redactor(enabled=False)
    system = prompts.system.safe_substitute(brand=brand_text(prompts.brand, profile)).rstrip()
    user = prompts.user.safe_substitute(
        instruction=instruction,
        language=lang,
        context_json=as_data(clip(redactor.redact(context), max_context_chars)),
        draft_json=as_data(clip(redactor.redact(draft), max_draft_chars)),
        history_json=as_data(history_data(history, redactor)),
        text_json=as_data(redactor.redact(text)),
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def parse_answer(content: str | None, *, current: str, instruction: str, lang: str,
                 max_chars: int, sources: Sequence[str | None] | None = None,
                 allowed: Sequence[str] = ()) -> str:
    """The new version in the model's answer; OutputError says why it cannot be used.

    `sources`: the texts whose facts the new version may state (the draft, the
    customer's message, the current version); the current version alone when None.
    """
    if not content or not content.strip():
        raise OutputError("the answer was empty")
    raw = _FENCE.sub("", content.strip())
    start, end = raw.find("{"), raw.rfind("}")
    try:  # servers without a JSON mode may wrap the object in prose
        data = json.loads(raw if start <= 0 or end <= start else raw[start:end + 1])
        text = LLMFollowUp.model_validate(data).text.strip()
    except (json.JSONDecodeError, ValidationError):
        raise OutputError("the answer was not a JSON object with a text") from None
    if not text:
        raise OutputError("the new version is empty")
    if len(text) > max_chars:
        raise OutputError(f"the new version is longer than {max_chars} characters")
    if _same(text, current):
        raise OutputError("the new version is the current one")
    if instruction == "shorter" and len(text) >= len(current):
        raise OutputError("the 'shorter' version is not shorter")
    if instruction == "longer" and len(text) <= len(current):
        raise OutputError("the 'longer' version is not longer")
    target = TRANSLATIONS.get(instruction, lang)
    detected = detect_language(text)
    if detected in LANGUAGES and target in LANGUAGES and detected != target:
        raise OutputError(f"the new version is in '{detected}', not '{target}'")
    # A placeholder the model filled in is a fact it invented.
    before, after = placeholders(current), placeholders(text)
    kept = len(after) >= len(before) if instruction in TRANSLATIONS else set(before) <= set(after)
    if not kept:
        raise OutputError("the new version dropped a [placeholder]")
    guarded = guard(text, sources if sources is not None else (current,), allowed)
    if guarded.text is None:
        invented = list(guarded.invented)
        raise InventedFacts("the new version " + describe(invented).removeprefix("it "), invented)
    return text
