"""What the LLM must answer: one whole review, validated with pydantic.

The core `Review` stays a dataclass; this schema only describes the model's
output, which `llm_merge` turns into a `Review` once checked against the draft.
Numbers out of range are clamped rather than rejected: a score of 11 is still
an answer worth keeping.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

Category = Literal[
    "deletion_demand", "censorship", "condescension", "insult", "blame_shift",
    "no_acknowledgement", "private_redirect", "legal_threat", "sensitive_topic",
    "discrimination", "aggressive_tone", "personal_data", "address_form", "platform_fit",
]
RuleId = Literal["reputation", "produce", "react", "federate"]

_MAX_TEXT = 2000


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class LLMSpan(_Model):
    start: int
    end: int
    text: str


class LLMFinding(_Model):
    category: Category
    severity: Literal["high", "medium", "low"]
    span: LLMSpan | None
    message: str
    case: str | None

    @field_validator("message")
    @classmethod
    def _short_message(cls, v: str) -> str:
        return v.strip()[:_MAX_TEXT]


class LLMRuleScore(_Model):
    rule: RuleId
    score: int
    notes: list[str]

    @field_validator("score")
    @classmethod
    def _clamp(cls, v: int) -> int:
        return max(0, min(10, v))


class LLMRewrite(_Model):
    style: str
    text: str

    @field_validator("text")
    @classmethod
    def _not_empty(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("a rewrite's text is empty")
        return v.strip()


class LLMReview(_Model):
    verdict: Literal["post", "revise", "block"]
    risk: int
    golden_rules: list[LLMRuleScore]
    findings: list[LLMFinding]
    rewrites: list[LLMRewrite] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    @field_validator("risk")
    @classmethod
    def _clamp_risk(cls, v: int) -> int:
        return max(0, min(100, v))


class OutputError(ValueError):
    """The model's answer is not a usable review; str() says why, for the repair prompt."""


_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)


def parse_review(content: str | None) -> LLMReview:
    """Parse and validate the model's answer; raise OutputError with a short reason."""
    if not content or not content.strip():
        raise OutputError("the answer was empty.")
    text = _FENCE.sub("", content.strip())
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        # Some servers without a JSON mode wrap the object in prose.
        start, end = text.find("{"), text.rfind("}")
        try:
            if start < 0 or end <= start:
                raise exc
            data = json.loads(text[start:end + 1])
        except json.JSONDecodeError:
            raise OutputError(f"the answer was not valid JSON ({exc.msg} at char {exc.pos}).") from None
    if not isinstance(data, dict):
        raise OutputError("the answer was JSON but not an object.")
    try:
        return LLMReview.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]
        )
        raise OutputError(f"the JSON did not match the review shape ({problems}).") from None


def _strict(node: Any) -> Any:
    """OpenAI strict mode: every property required, no extra ones, no defaults or titles."""
    if isinstance(node, dict):
        out = {k: _strict(v) for k, v in node.items() if k not in ("default", "title")}
        if out.get("type") == "object" and "properties" in out:
            out["required"] = list(out["properties"])
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [_strict(v) for v in node]
    return node


@lru_cache(maxsize=1)
def response_schema() -> dict[str, Any]:
    """The JSON schema sent as `response_format` (type json_schema, strict)."""
    return _strict(LLMReview.model_json_schema())
