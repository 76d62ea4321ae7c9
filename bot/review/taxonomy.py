"""The review's vocabulary, declared once: the risk categories (ids, order, and the
golden rules each weighs on), the four golden rules, the verdicts, the severities,
and the languages the offline engine covers.

docs/taxonomy.md explains each category. Everything that lists them (the models, the
engine's scores, the LLM answer schema, the corpus checks, the renderers, the stats)
reads them from here. The languages are those of the rule packs present under
bot/review/packs/ (one `xx.yml` per language; `_*.yml` are shared data), so adding a
pack adds a language.

Imports nothing of the project: every other module may import it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

GoldenRule = Literal["reputation", "produce", "react", "federate"]
Verdict = Literal["post", "revise", "block"]
Severity = Literal["high", "medium", "low"]

# Odile Ambry's four golden rules, in the order they are shown and scored.
GOLDEN_RULES: tuple[GoldenRule, ...] = get_args(GoldenRule)
# From the safest to the riskiest.
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)
# From the most to the least severe.
SEVERITIES: tuple[Severity, ...] = get_args(Severity)
SEVERITY_ORDER: dict[str, int] = {s: len(SEVERITIES) - i for i, s in enumerate(SEVERITIES)}
VERDICT_ORDER: dict[str, int] = {v: i for i, v in enumerate(VERDICTS)}

# Every risk category, in the taxonomy's order, with the golden rules it weighs on;
# the first is the finding's own.
CATEGORY_RULES: dict[str, tuple[GoldenRule, ...]] = {
    "deletion_demand": ("react", "reputation"),
    "censorship": ("reputation",),
    "condescension": ("reputation", "federate"),
    "insult": ("reputation", "federate"),
    "blame_shift": ("react",),
    "no_acknowledgement": ("react",),
    "private_redirect": ("react",),
    "legal_threat": ("reputation",),
    "sensitive_topic": ("reputation",),
    "discrimination": ("reputation", "federate"),
    "aggressive_tone": ("react",),
    "personal_data": ("reputation",),
    "address_form": ("federate",),
    "platform_fit": ("produce",),
}
CATEGORIES: tuple[str, ...] = tuple(CATEGORY_RULES)

PACK_DIR = Path(__file__).parent / "packs"


def pack_languages(folder: Path = PACK_DIR) -> tuple[str, ...]:
    """The language codes of the rule packs in `folder`, sorted: `fr.yml` is French."""
    return tuple(sorted(p.stem for p in folder.glob("*.yml") if not p.name.startswith("_")))


# The languages the offline engine covers, as ISO 639-1 codes.
LANGUAGES: tuple[str, ...] = pack_languages()
