"""Crisis mode's judgement: while a brand is in a crisis, what touches its
reputation weighs one step more (a low finding asks for a revision, a medium one
blocks), since every reply is read by more people and in a worse light."""

from __future__ import annotations

from dataclasses import replace

from bot.review.models import Finding
from bot.review.taxonomy import CATEGORY_RULES

REPUTATION_CATEGORIES = frozenset(c for c, rules in CATEGORY_RULES.items() if "reputation" in rules)
STEP_UP = {"low": "medium", "medium": "high", "high": "high"}


def heightened(findings: list[Finding]) -> list[Finding]:
    """The findings with the reputation categories one severity higher."""
    return [replace(f, severity=STEP_UP[f.severity]) if f.category in REPUTATION_CATEGORIES else f  # type: ignore[arg-type]
            for f in findings]
