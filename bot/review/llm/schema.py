"""What the LLM must answer: one whole review, validated with pydantic.

The fields come in the order a careful reviewer thinks, since a model writes
them in that order: its findings first (the exact words quoted, the category,
the severity, why), then the offline hints it dismisses and why, then the four
golden-rule scores, and only then the verdict, the risk and the rewrites.
Findings quote the draft's words; the offsets are found here (`llm_merge`),
as models cannot count characters. Every field carries a description, sent
with the JSON schema.

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

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.review.taxonomy import CATEGORIES, GoldenRule, Severity, Verdict

# The taxonomy's categories as the one type the schema accepts (built at import: the ids
# are declared once, in bot.review.taxonomy).
Category = Literal[CATEGORIES]  # type: ignore[valid-type]
RuleId = GoldenRule
# Why an offline finding may be wrong; "other" needs its why.
DismissReason = Literal["quoted_speech", "negation", "brand_content", "protective_request",
                        "fan_banter", "other"]
DISMISS_REASONS: dict[str, str] = {
    "quoted_speech": "quoted or reported speech",
    "negation": "negated",
    "brand_content": "about the brand's own content",
    "protective_request": "a protective request",
    "fan_banter": "banter with a fan who is joking",
    "other": "wrong",
}

_MAX_TEXT = 2000


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class LLMFinding(_Model):
    """One risk in the draft."""

    quote: str | None = Field(description=(
        "The draft's exact words it points at, copied as they are; null for the whole draft."))
    category: Category = Field(description="The risk category.")
    severity: Severity = Field(description=(
        "high: likely bad buzz; medium: revise; low: worth a look."))
    why: str = Field(description="Why it is a risk, in one sentence, in the draft's language.")
    case: str | None = Field(description="Netflix, Decathlon, easyJet, SNCF or null.")

    @model_validator(mode="before")
    @classmethod
    def _older_shape(cls, data: Any) -> Any:
        """Answers in the shape of prompts before 2.0 (span, message) are still read."""
        if isinstance(data, dict):
            data = dict(data)
            span = data.pop("span", None)
            if "quote" not in data:
                data["quote"] = span.get("text") if isinstance(span, dict) else None
            if "why" not in data and "message" in data:
                data["why"] = data.pop("message")
            data.setdefault("case", None)
        return data

    @field_validator("why")
    @classmethod
    def _short_message(cls, v: str) -> str:
        return v.strip()[:_MAX_TEXT]


class LLMDismissal(_Model):
    """An offline hint judged wrong for this draft, and why."""

    hint: str = Field(description="The id of the offline hint (h1, h2…).")
    reason: DismissReason = Field(description="Why the hint is wrong; other: say it in why.")
    why: str = Field(description="One sentence: why the hint is wrong here.")


class LLMRuleScore(_Model):
    """One of the four golden rules, scored."""

    rule: RuleId = Field(description="The golden rule.")
    score: int = Field(description="0 (breaks it) to 10 (a model of it).")
    notes: list[str] = Field(description="One short reason.")

    @field_validator("score")
    @classmethod
    def _clamp(cls, v: int) -> int:
        return max(0, min(10, v))


class LLMRewrite(_Model):
    """A reply to post instead of the draft."""

    style: str = Field(description="apology, calm or concise.")
    text: str = Field(description=(
        "The whole reply; only the draft's and the customer's facts, a [placeholder] for others."))

    @field_validator("text")
    @classmethod
    def _not_empty(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("a rewrite's text is empty")
        return v.strip()


class LLMReview(_Model):
    """The review of one draft, written in this order: findings first, verdict after."""

    findings: list[LLMFinding] = Field(description="Every risk in the draft, the hints kept included.")
    dismissals: list[LLMDismissal] = Field(default_factory=list, description=(
        "The offline hints judged wrong; a hint not dismissed stays."))
    golden_rules: list[LLMRuleScore] = Field(description="The four golden rules, scored.")
    verdict: Verdict = Field(description=(
        "block if a finding is high; revise if medium or a weak score; else post."))
    risk: int = Field(description="0-100: post 0-29, revise 30-69, block 70-100.")
    rewrites: list[LLMRewrite] = Field(default_factory=list, description=(
        "One to three replies to post instead; none for post."))
    notes: list[str] = Field(default_factory=list, description="At most three short remarks.")

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
