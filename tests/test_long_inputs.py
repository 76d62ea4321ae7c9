"""Long and adversarial text costs what the engine reads, not what the user sent.

No wall-clock assertion here (bench/run.py measures the worst case): these tests check
the structure that keeps the cost bounded, so that a regression shows as a failure, not
as a slow machine.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.review import engine, language, learned, rewrites, text
from bot.review.models import ReviewRequest
from bot.review.offline import review_offline
from bot.review.packs import PACK_DIR, pack
from bot.review.text import CONTEXT_READ_CHARS, context_read

FILLER = "Bonjour à tous, voici le compte rendu de la réunion de lundi avec les équipes. "
COMPLAINT = "Toujours pas remboursé, c'est une honte !"


def _megabyte(head: str = "", tail: str = "") -> str:
    return head + FILLER * (1_000_000 // len(FILLER)) + tail


def test_a_short_context_is_read_whole() -> None:
    context = FILLER * 3
    assert context_read(context) is context


@pytest.mark.parametrize(("context", "spaced"), [
    (_megabyte(), True),
    (("word " * 3_000)[:CONTEXT_READ_CHARS + 1], True),
    ("x" + " " * 1_000_000 + "y", True),
    ("a" * 1_000_000, False),  # no white space at all: cut where it must be
])
def test_a_long_context_is_read_as_its_beginning_and_its_end(context: str, spaced: bool) -> None:
    read = context_read(context)
    assert len(read) <= CONTEXT_READ_CHARS + 2
    head, _, tail = read.partition("\n\n")
    assert context.startswith(head) and context.endswith(tail)
    if spaced:
        words = set(context.split())
        assert all(w in words for w in read.split())  # no word cut in two


@pytest.mark.parametrize("context", [_megabyte(head=COMPLAINT + " "), _megabyte(tail=" " + COMPLAINT)])
def test_a_complaint_at_either_end_of_a_long_message_is_heard(context: str) -> None:
    assert "complaint" in engine._context_flags(pack("fr"), context)
    assert "complaint" not in engine._context_flags(pack("fr"), _megabyte())


def test_a_megabyte_context_is_kept_whole_but_read_in_a_bounded_slice(monkeypatch: pytest.MonkeyPatch) -> None:
    read: list[int] = []
    for module, name in ((engine, "fold"), (text, "fold"), (language, "fold"), (language, "detect"),
                         (rewrites, "fold"), (learned, "fold")):
        real = getattr(module, name)

        def spy(text: str, *args: object, _real: object = real, **kwargs: object) -> object:
            read.append(len(text))
            return _real(text, *args, **kwargs)  # type: ignore[operator]

        monkeypatch.setattr(module, name, spy)
    context = _megabyte(head="Commande 4512 : ", tail=" " + COMPLAINT)
    blocked = review_offline(ReviewRequest("Nous supprimerons tous les commentaires de ce type.", context,
                                           platform="facebook"))
    assert blocked.verdict == "block" and blocked.rewrites  # rewrites read the context too
    # Nothing of weight for the rules: the learned second reading reads the context as well.
    calm = review_offline(ReviewRequest("Merci pour votre message, nous regardons cela.", context))
    assert blocked.context == calm.context == context  # stored and shown whole
    assert read and max(read) <= CONTEXT_READ_CHARS + 2  # only a bounded slice was read


# Shapes that a regular expression rescans from every start: quadratic on long text.
# `.*`/`.+` (and `\S*`/`\S+` not closed by a space) reach to the end of the line or
# word from each start; bound them (`\S{0,40}`), anchor them, or make them possessive.
_UNBOUNDED = re.compile(r"(?<!\\)\.[*+](?![+])|\\S[*+](?![+ ])")


def test_pack_patterns_avoid_shapes_known_to_be_quadratic() -> None:
    found = []
    for path in sorted(Path(PACK_DIR).glob("*.yml")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.lstrip().startswith("#"):
                continue
            found += [f"{path.name}:{number}: {m.group(0)}" for m in _UNBOUNDED.finditer(line)]
    assert not found, "unbounded repeats that make long text slow (see bench/run.py worst case): " + \
        ", ".join(found)
