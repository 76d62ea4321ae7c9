"""The request and review models shared by every engine, renderer and adapter.

Plain dataclasses: an offline review must start fast, and pydantic is only
imported where an LLM's output has to be validated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

# The taxonomy's names, re-exported: most modules import them from here with the models.
from bot.review.taxonomy import (
    CATEGORIES,
    GOLDEN_RULES,
    SEVERITIES,
    SEVERITY_ORDER,
    VERDICT_ORDER,
    VERDICTS,
    GoldenRule,
    Severity,
    Verdict,
)

__all__ = [
    "CATEGORIES", "GOLDEN_RULES", "PLATFORMS", "SEVERITIES", "SEVERITY_ORDER", "VERDICTS",
    "VERDICT_ORDER", "VOICES", "AddressForm", "BrandProfile", "Dismissal", "Finding", "GoldenRule",
    "Review", "ReviewRequest", "Rewrite", "RuleScore", "Severity", "Span", "Strength", "Verdict",
    "Voice",
]

Voice = Literal["neutral", "warm", "formal", "impertinent"]
AddressForm = Literal["tu", "vous", "auto"]

VOICES: tuple[Voice, ...] = ("neutral", "warm", "formal", "impertinent")
PLATFORMS: tuple[str, ...] = (
    "x", "instagram", "facebook", "linkedin", "tiktok", "google-reviews", "generic",
)


@dataclass(frozen=True)
class BrandProfile:
    """Who speaks: the brand's name, voice and editorial choices."""

    name: str = ""
    voice: Voice = "neutral"
    address: AddressForm = "auto"
    signature: str = ""
    platform: str = "generic"
    banned_terms: tuple[str, ...] = ()
    extra_rules: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class ReviewRequest:
    """One draft to review, with what is known around it."""

    draft: str
    context: str | None = None
    platform: str = "generic"
    lang: str | None = None
    profile: BrandProfile = field(default_factory=BrandProfile)
    user: str | None = None
    # Let the learned layer read the draft again when the rules find nothing of weight.
    second_reading: bool = True
    # The brand is in a crisis: every reputation risk weighs one step more.
    crisis: bool = False


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    text: str


@dataclass
class Finding:
    category: str
    severity: Severity
    rule: GoldenRule
    span: Span | None
    message: str
    case: str | None = None
    rule_id: str = ""


@dataclass
class Strength:
    """Something the draft does well (apology, next step…); raises scores."""

    kind: str
    rule: GoldenRule
    span: Span | None
    message: str


@dataclass
class RuleScore:
    rule: GoldenRule
    score: int
    notes: list[str] = field(default_factory=list)


@dataclass
class Rewrite:
    style: str
    text: str
    verdict: Verdict = "post"
    placeholders: list[str] = field(default_factory=list)


@dataclass
class Dismissal:
    """An offline finding an LLM judged wrong, with a reason from a fixed list; shown in the review."""

    category: str
    span: Span | None
    reason: str  # an id of llm_schema.DISMISS_REASONS
    why: str


@dataclass
class Review:
    verdict: Verdict
    risk: int
    language: str
    engine: Literal["offline", "llm"]
    golden_rules: list[RuleScore]
    findings: list[Finding]
    rewrites: list[Rewrite] = field(default_factory=list)
    strengths: list[Strength] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    draft: str = ""
    context: str | None = None
    platform: str = "generic"
    model: str | None = None
    prompt_version: str | None = None
    usage: dict[str, int] | None = None
    dismissed: list[Dismissal] = field(default_factory=list)

    def score_of(self, rule: str) -> int:
        return next((s.score for s in self.golden_rules if s.rule == rule), 0)

    def to_dict(self) -> dict[str, Any]:
        """The JSON of the review contract, plus a few extra fields."""

        def span(s: Span | None) -> dict[str, Any] | None:
            return None if s is None else {"start": s.start, "end": s.end, "text": s.text}

        return {
            "verdict": self.verdict,
            "risk": self.risk,
            "language": self.language,
            "engine": self.engine,
            "golden_rules": [
                {"rule": s.rule, "score": s.score, "notes": list(s.notes)} for s in self.golden_rules
            ],
            "findings": [
                {
                    "category": f.category,
                    "severity": f.severity,
                    "rule": f.rule,
                    "span": span(f.span),
                    "message": f.message,
                    "case": f.case,
                    "rule_id": f.rule_id,
                }
                for f in self.findings
            ],
            "rewrites": [
                {"style": r.style, "text": r.text, "verdict": r.verdict,
                 "placeholders": list(r.placeholders)}
                for r in self.rewrites
            ],
            "strengths": [
                {"kind": s.kind, "rule": s.rule, "span": span(s.span), "message": s.message}
                for s in self.strengths
            ],
            "notes": list(self.notes),
            "draft": self.draft,
            "context": self.context,
            "platform": self.platform,
            "model": self.model,
            "prompt_version": self.prompt_version,
            "usage": self.usage,
            "dismissed": [
                {"category": d.category, "span": span(d.span), "reason": d.reason, "why": d.why}
                for d in self.dismissed
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Review:
        """Inverse of to_dict, for reviews kept in the store or a cache."""

        def span(d: dict[str, Any] | None) -> Span | None:
            return None if not d else Span(int(d["start"]), int(d["end"]), str(d["text"]))

        return cls(
            verdict=data["verdict"],
            risk=int(data["risk"]),
            language=data.get("language", "und"),
            engine=data.get("engine", "offline"),
            golden_rules=[
                RuleScore(g["rule"], int(g["score"]), list(g.get("notes", [])))
                for g in data.get("golden_rules", [])
            ],
            findings=[
                Finding(
                    category=f["category"], severity=f["severity"], rule=f["rule"],
                    span=span(f.get("span")), message=f.get("message", ""),
                    case=f.get("case"), rule_id=f.get("rule_id", ""),
                )
                for f in data.get("findings", [])
            ],
            rewrites=[
                Rewrite(r["style"], r["text"], r.get("verdict", "post"),
                        list(r.get("placeholders", [])))
                for r in data.get("rewrites", [])
            ],
            strengths=[
                Strength(s["kind"], s["rule"], span(s.get("span")), s.get("message", ""))
                for s in data.get("strengths", [])
            ],
            notes=list(data.get("notes", [])),
            draft=data.get("draft", ""),
            context=data.get("context"),
            platform=data.get("platform", "generic"),
            model=data.get("model"),
            prompt_version=data.get("prompt_version"),
            usage=data.get("usage"),
            dismissed=[
                Dismissal(d["category"], span(d.get("span")), d.get("reason", "other"), d.get("why", ""))
                for d in data.get("dismissed", [])
            ],
        )
