"""fastText is asked only where its answer could change the review, once per customer
message, and loaded only when first asked."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.review import engine, language
from bot.review.engine import rules_review
from bot.review.language import detect, detect_language, settled_language
from bot.review.models import ReviewRequest

LANGS = ("fr", "en")
# Every kind of answer the model gives: sure or not, a covered language or another, nothing.
GUESSES = st.one_of(
    st.just([]),
    st.lists(st.tuples(st.sampled_from(["fr", "en", "es", "de", "it"]),
                       st.floats(min_value=0.0, max_value=1.0)), min_size=1, max_size=3),
)
SHARES = st.dictionaries(st.sampled_from(LANGS), st.floats(min_value=0.0, max_value=1.0), max_size=2)


@settings(max_examples=3000, deadline=None)
@given(share=SHARES, guesses=GUESSES)
def test_a_settled_language_is_what_detect_answers_whatever_the_model_says(
        share: dict[str, float], guesses: list[tuple[str, float]]) -> None:
    settled = settled_language(share)
    if settled is None:
        return
    original = language._predict
    language._predict = lambda text: sorted(guesses, key=lambda g: -g[1])  # type: ignore[assignment]
    try:
        assert detect("some text", share).language == settled
    finally:
        language._predict = original  # type: ignore[assignment]


def test_settling_needs_a_clear_lead() -> None:
    assert settled_language({"fr": 0.6, "en": 0.1}) == "fr"
    assert settled_language({"fr": 0.45, "en": 0.0}) == "fr"
    assert settled_language({"fr": 0.5, "en": 0.3}) is None  # a lead of 0.2 is not more than 0.2
    assert settled_language({"fr": 0.35, "en": 0.0}) is None
    assert settled_language({}) is None


@pytest.mark.parametrize(("draft", "expected"), [
    ("La entrega de mi pedido no llega y nadie me contesta.", "es"),
    ("Lo siento mucho, vamos a revisar tu pedido hoy mismo.", "es"),
    ("Ci dispiace per il ritardo, la consegna arriverà domani.", "it"),
    ("Desculpe pelo atraso, a entrega chega amanhã.", "pt"),
    ("O meu pedido não chegou e ninguém responde.", "pt"),
    ("Es tut uns leid, wir prüfen das heute noch.", "de"),
    ("Wij hebben uw bestelling de dag verzonden.", "nl"),
])
def test_words_the_packs_share_with_other_languages_do_not_settle_them(draft: str, expected: str) -> None:
    # « la, de, a, en, que » are function words of a pack and of these languages too.
    assert detect_language(draft) == expected


class _CountingModel:
    def __init__(self) -> None:
        self.texts: list[str] = []

    def predict(self, text: str, k: int = 1) -> tuple[tuple[str, ...], tuple[float, ...]]:
        self.texts.append(text)
        return ("__label__fr", "__label__en"), (0.55, 0.3)


def _forget() -> None:
    language.context_detection.cache_clear()
    language.context_settled.cache_clear()
    engine._flags_of.cache_clear()


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> Iterator[_CountingModel]:
    counting = _CountingModel()
    monkeypatch.setattr(language, "_model", counting)
    _forget()
    yield counting
    _forget()  # nothing the fake model said outlives the test


def test_a_draft_its_function_words_settle_is_not_shown_to_the_model(model: _CountingModel) -> None:
    assert detect_language("Nous sommes vraiment désolés pour le retard de votre colis.") == "fr"
    assert detect_language("We are so sorry for the delay with your order, we will fix it.") == "en"
    assert model.texts == []


def test_an_unsettled_draft_is_shown_to_the_model(model: _CountingModel) -> None:
    detect_language("Ratio.")
    assert model.texts == ["Ratio."]


def test_the_customers_message_is_identified_once_for_a_review_and_its_rewrites(model: _CountingModel) -> None:
    context = "Ratio. Vraiment nul. Zéro."  # too short to be settled by its function words
    for draft in ("Ok.", "Ok !", "Ok…"):  # each unsettled, as sure as the fake model is
        rules_review(ReviewRequest(draft, context, "x"))
    assert model.texts.count("Ratio. Vraiment nul. Zéro.") == 1


def test_importing_the_engine_loads_no_model_and_reads_no_pack() -> None:
    code = (
        "import sys\n"
        "import bot.review.engine, bot.review.offline, bot.review.reviewer\n"
        "from bot.review import language, packs\n"
        "assert language._model is None, 'fastText loaded at import'\n"
        "assert 'fasttext' not in sys.modules\n"
        "assert packs.pack.cache_info().currsize == 0, 'a pack read at import'\n"
        "assert packs._entry.cache_info().currsize == 0, 'a pack file read at import'\n"
        "from bot.review.learned import RiskModel\n"
        "assert not RiskModel._cache, 'the learned model loaded at import'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
