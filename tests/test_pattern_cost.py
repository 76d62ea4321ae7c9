"""No rule pattern, and no part of the engine, costs more than linear time.

Every pattern of every pack (rules, their parameters, strengths, context cues,
negation) is run over adversarial texts of 10,000 and then 100,000 characters
(runs of one letter, of digits, of "a@", of ". ", of opening quotes, long tokens,
real words repeated…), and so is the whole judgement (`rules_review`, with and
without the anchor scan). Ten times the text may cost ten times the time, give or
take; a pattern that backtracks over what it read costs a hundred times. The check
fails above RATIO, each time being the best of three runs (a single run is at the
mercy of the machine), and times below FLOOR count as FLOOR.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.review import anchors
from bot.review.engine import rules_review
from bot.review.models import ReviewRequest
from bot.review.packs import LazyPattern, packs
from bot.review.text import fold, quoted_regions

SMALL, LARGE = 10_000, 100_000
RATIO = 25.0
FLOOR = 0.0002  # seconds: below it, a time says nothing of growth
RUNS = 3

# A unit repeated to the length wanted; a pair is a beginning, then its unit repeated.
INPUTS: dict[str, str | tuple[str, str]] = {
    "one letter": "a",
    "digits": "1",
    "digits and spaces": "1 ",
    "a@": "a@",
    "dots and spaces": ". ",
    "letter-dot": "a.",
    "opening quotes": "« a ",
    "marks": "!?",
    "a long token": "abcdefghij",
    "apostrophes": "l'a ",
    "phone-ish": "+33 6",
    "deal words": "deals ",
    "French words": "Bonjour, nous sommes désolés, supprimez la photo et écrivez-nous en MP. ",
    "English words": "Sorry for the delay, please delete the photo and DM us your phone number. ",
    "a reference, then spaces": ("Supprimez la photo du vol", " "),
}


def _text(unit: str | tuple[str, str], length: int) -> str:
    head, unit = unit if isinstance(unit, tuple) else ("", unit)
    return head + (unit * (length // len(unit) + 1))[:length - len(head)]


def _best(run: Callable[[], object], runs: int) -> float:
    best = float("inf")
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        for _ in range(runs):
            started = time.perf_counter()
            run()
            best = min(best, time.perf_counter() - started)
    finally:
        if gc_was_on:
            gc.enable()
    return best


def growth(run_small: Callable[[], object], run_large: Callable[[], object]) -> tuple[float, float, float]:
    """(ratio, small, large): one run each, then the best of RUNS when the ratio looks bad."""
    small, large = _best(run_small, 1), _best(run_large, 1)
    if large / max(small, FLOOR) > RATIO:
        small, large = _best(run_small, RUNS), _best(run_large, RUNS)
    return large / max(small, FLOOR), small, large


def _patterns() -> Iterator[tuple[str, LazyPattern]]:
    for lang, pack in sorted(packs().items()):
        for rule in (*pack.rules, *pack.strengths):
            for pattern in rule.patterns:
                yield rule.id, pattern  # type: ignore[misc]
            for key, value in getattr(rule, "params", {}).items():
                if isinstance(value, tuple):
                    for pattern in value:
                        yield f"{rule.id} {key}", pattern
        for name, cues in pack.context.items():
            for pattern in cues:
                yield f"{lang} context {name}", pattern  # type: ignore[misc]
        for pattern in (pack.negation, pack.negation_except):
            if pattern is not None:
                yield f"{lang} negation", pattern  # type: ignore[misc]


def _drain(found: Iterator[object]) -> int:
    return sum(1 for _ in found)


@pytest.mark.parametrize("name", list(INPUTS))
def test_every_pattern_costs_linear_time(name: str) -> None:
    small, large = fold(_text(INPUTS[name], SMALL)).text, fold(_text(INPUTS[name], LARGE)).text
    slow = []
    for rule_id, pattern in _patterns():
        compiled = pattern.compiled() if isinstance(pattern, LazyPattern) else pattern
        # findall: the same search as finditer's, without a Python step per match.
        ratio, t_small, t_large = growth(lambda c=compiled: c.findall(small), lambda c=compiled: c.findall(large))
        if ratio > RATIO:
            slow.append(f"{rule_id}: {t_small * 1e3:.2f} ms at {SMALL:,}, {t_large * 1e3:.1f} ms at {LARGE:,}")
    assert not slow, f"patterns slower than linear on {name}:\n" + "\n".join(slow)


@pytest.mark.parametrize("scan", [True, False], ids=["anchor scan", "pure Python"])
def test_the_judgement_costs_linear_time(monkeypatch: pytest.MonkeyPatch, scan: bool) -> None:
    monkeypatch.setattr(anchors, "ENABLED", scan and anchors.ENABLED)
    context = "Toujours pas reçu ma commande !"
    slow = []
    for name, unit in INPUTS.items():
        small = ReviewRequest(_text(unit, SMALL), context, "facebook")
        large = ReviewRequest(_text(unit, LARGE), context, "facebook")
        ratio, t_small, t_large = growth(lambda s=small: rules_review(s), lambda s=large: rules_review(s))
        if ratio > RATIO:
            slow.append(f"{name}: {t_small * 1e3:.1f} ms at {SMALL:,}, {t_large * 1e3:.0f} ms at {LARGE:,}")
    assert not slow, "reviews slower than linear:\n" + "\n".join(slow)


def test_the_check_tells_quadratic_from_linear() -> None:
    """The measure itself: a pattern that reads to the end from each « is caught."""
    import re

    quadratic = re.compile(r"«[^»]+»")
    linear = re.compile(r"«[^»«]+»")
    small, large = _text("« a ", SMALL // 5), _text("« a ", LARGE // 5)  # same ratio, less waiting
    assert growth(lambda: _drain(quadratic.finditer(small)), lambda: _drain(quadratic.finditer(large)))[0] > RATIO
    assert growth(lambda: _drain(linear.finditer(small)), lambda: _drain(linear.finditer(large)))[0] < RATIO


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet="«»“”„\"a \n", max_size=24))
def test_quoted_regions_are_the_patterns_matches(text: str) -> None:
    """`quoted_regions` was made linear; it still finds what its pattern found."""
    import re

    quoted = re.compile(r'«[^»]+»|“[^”]+”|„[^“]+“|"[^"]+"')
    assert quoted_regions(text) == [m.span() for m in quoted.finditer(text)]
