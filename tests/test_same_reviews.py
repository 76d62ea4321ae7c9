"""Every review of the corpus and of the packs' examples, exactly as snapshotted.

The offline engine is made faster without changing a single review: this test
reviews every draft of corpus/*.jsonl (with its customer's message and platform,
as `cm-coach eval` builds its requests, and with the rewrites as the command line
shows them), the same drafts again under another brand profile, and every example
of the rule packs, and compares each review's full JSON with
tests/snapshots/corpus_reviews.json.gz.

A change meant to alter reviews (a rule pack edited, a new rule) rewrites the
snapshot, and the diff of its figures is reviewed with `cm-coach eval`:

    .venv/bin/python tests/test_same_reviews.py --write
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if __name__ == "__main__":  # run as a script: the checkout first, as pytest has it
    sys.path.insert(0, str(ROOT))

from bot.review.evaluation import default_files, read_corpora  # noqa: E402
from bot.review.models import BrandProfile, ReviewRequest  # noqa: E402
from bot.review.offline import review_checked  # noqa: E402
from bot.review.options import ReviewSetup  # noqa: E402
from bot.review.packs import Example, packs  # noqa: E402
from bot.review.reviewer import Reviewer  # noqa: E402

SNAPSHOT = ROOT / "tests" / "snapshots" / "corpus_reviews.json.gz"
# Review fields that measure time rather than judge; none today, dropped if one appears.
TIMING_FIELDS: frozenset[str] = frozenset({"elapsed_ms", "latency_ms", "duration_ms", "timing"})
# A second brand profile: the voice and address adjustments, a banned term.
OTHER_PROFILE = BrandProfile(voice="impertinent", address="tu", banned_terms=("promo", "désolé"))
MAX_REPORTED = 8


def _example_request(example: Example, lang: str | None) -> ReviewRequest:
    profile = BrandProfile(voice=example.voice or "neutral")  # type: ignore[arg-type]
    return ReviewRequest(example.draft, example.context, example.platform or "generic", lang, profile)


def requests() -> Iterator[tuple[str, ReviewRequest, bool]]:
    """(key, prepared request, with rewrites) for every draft the snapshot holds."""
    reviewer = Reviewer(ReviewSetup(), engine="offline")
    for case in read_corpora(default_files()):
        base = reviewer.request(case.draft, context=case.context, platform=case.platform)
        yield f"corpus {case.source} {case.id}", reviewer.prepare(base), True
        other = ReviewRequest(case.draft, case.context, case.platform, None, OTHER_PROFILE)
        yield f"corpus {case.source} {case.id} other-profile", reviewer.prepare(other), False
    for lang, pack in sorted(packs().items()):
        for rule in (*pack.rules, *pack.strengths):
            for kind, examples in (("match", rule.must_match), ("no_match", rule.must_not_match)):
                for i, example in enumerate(examples):
                    key = f"example {lang} {rule.id} {kind} {i}"
                    yield f"{key} given-language", _example_request(example, lang), False
                    yield f"{key} detected", _example_request(example, None), False


def review_json(request: ReviewRequest, rewrite: bool) -> dict[str, Any]:
    data = review_checked(request, rewrite=rewrite).to_dict()
    return {k: v for k, v in data.items() if k not in TIMING_FIELDS}


def current() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for key, request, rewrite in requests():
        assert key not in out, f"two drafts share the key {key!r}"
        out[key] = review_json(request, rewrite)
    return out


def read_snapshot(path: Path = SNAPSHOT) -> dict[str, dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as file:
        return json.load(file)


def write_snapshot(reviews: dict[str, dict[str, Any]], path: Path = SNAPSHOT) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(reviews, ensure_ascii=False, sort_keys=True, indent=0).encode("utf-8")
    # mtime=0: the same reviews give the same bytes, so a rewrite shows no spurious change.
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=9) as out:
        out.write(data)


def first_difference(expected: Any, got: Any, where: str = "") -> str | None:
    """The path of the first place two JSON values differ, and both values there."""
    if type(expected) is not type(got):
        return f"{where or '.'}: expected {expected!r}, got {got!r}"
    if isinstance(expected, dict):
        for key in sorted(set(expected) | set(got)):
            if key not in got:
                return f"{where}.{key}: missing (expected {expected[key]!r})"
            if key not in expected:
                return f"{where}.{key}: unexpected {got[key]!r}"
            found = first_difference(expected[key], got[key], f"{where}.{key}")
            if found:
                return found
        return None
    if isinstance(expected, list):
        for i, (a, b) in enumerate(zip(expected, got, strict=False)):
            found = first_difference(a, b, f"{where}[{i}]")
            if found:
                return found
        if len(expected) != len(got):
            return f"{where}: {len(expected)} items expected, {len(got)} found"
        return None
    return None if expected == got else f"{where or '.'}: expected {expected!r}, got {got!r}"


def differences(expected: dict[str, dict[str, Any]], got: dict[str, dict[str, Any]]) -> list[str]:
    out = [f"{key}: no longer reviewed" for key in expected if key not in got]
    out += [f"{key}: not in the snapshot" for key in got if key not in expected]
    for key, review in got.items():
        if key in expected:
            found = first_difference(expected[key], review)
            if found:
                out.append(f"{key} ({review['draft'][:60]!r}) {found}")
    return out


def test_every_review_is_as_snapshotted() -> None:
    expected = read_snapshot()
    got = current()
    found = differences(expected, got)
    shown = "\n".join(found[:MAX_REPORTED])
    more = f"\n… and {len(found) - MAX_REPORTED} more" if len(found) > MAX_REPORTED else ""
    assert not found, f"{len(found)} of {len(got)} reviews changed:\n{shown}{more}"


def test_the_snapshot_covers_both_languages_and_every_verdict() -> None:
    reviews = read_snapshot()
    assert len(reviews) > 1000
    assert {r["language"] for r in reviews.values()} >= {"fr", "en"}
    assert {r["verdict"] for r in reviews.values()} == {"post", "revise", "block"}
    assert any(r["rewrites"] for r in reviews.values())


def test_a_changed_review_is_named_with_the_place_it_differs() -> None:
    expected = {"a": {"verdict": "block", "findings": [{"span": {"start": 3}}]}, "b": {"verdict": "post"}}
    got = {"a": {"verdict": "block", "findings": [{"span": {"start": 4}}]}, "c": {"verdict": "post"}}
    found = differences(expected, {k: {**v, "draft": "x"} for k, v in got.items()})
    assert found == [
        "b: no longer reviewed",
        "c: not in the snapshot",
        "a ('x') .draft: unexpected 'x'",
    ]
    assert first_difference(expected["a"], got["a"]) == ".findings[0].span.start: expected 3, got 4"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="rewrite the snapshot from today's reviews")
    args = parser.parse_args()
    reviews = current()
    if args.write:
        write_snapshot(reviews)
        print(f"{len(reviews)} reviews written to {SNAPSHOT.relative_to(ROOT)}")
        return 0
    found = differences(read_snapshot(), reviews)
    print("\n".join(found) or f"all {len(reviews)} reviews as snapshotted")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
