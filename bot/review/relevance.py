"""Does the reply answer what the customer said? (docs/taxonomy.md, `produce`.)

A parcel answer pasted under a complaint about a broken seat acknowledges
nothing the customer said, however polite it is. The topics of the customer's
message and of the reply (packs/_topics.yml) are compared: when both name one
and they share none, the reply is off topic: its `produce` score falls below
the engine's weak score, so it cannot be `post`, and the review says why.

Pure judgement on data read once: no I/O beyond the data file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from bot.datafiles import load_yaml
from bot.review import anchors
from bot.review.models import Review, ReviewRequest
from bot.review.prefilter import prefixes
from bot.review.regex_code import kept
from bot.review.text import CONTEXT_READ_CHARS, REWRITE_PLACEHOLDER, fold

DATA = Path(__file__).parent / "packs" / "_topics.yml"
# Below the engine's weak score (4): a reply that answers something else is to revise.
OFF_TOPIC_SCORE = 3
OFF_TOPIC_RISK = 35
# The customer's message is read in a bounded slice, as the engine reads it.
_READ = CONTEXT_READ_CHARS


@dataclass(frozen=True)
class OffTopic:
    draft: tuple[str, ...]  # topic ids of the reply
    context: tuple[str, ...]  # topic ids of the customer's message

    def message(self, lang: str) -> str:
        data = _data()
        ui = "fr" if lang == "fr" else "en"

        def names(ids: tuple[str, ...]) -> str:
            return " / ".join(data["topics"][t][ui] for t in ids)

        return data["messages"][ui]["off_topic"].format(draft=names(self.draft), context=names(self.context))


@lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    return load_yaml(DATA)


@lru_cache(maxsize=1)
def _patterns() -> dict[str, re.Pattern[str]]:
    return {tid: kept(rf"(?<![\w-])(?:{t['pattern']})(?![\w-])") for tid, t in _data()["topics"].items()}


@lru_cache(maxsize=1)
def _scan() -> tuple[anchors.AnchorScan | None, tuple[tuple[str, re.Pattern[str], int | None], ...]]:
    """One automaton of the words each topic may start with (anchors.py): a text is then
    read once, and a topic's pattern tried only where one of its words begins, instead
    of five searches of the whole text. A topic whose first words cannot be told (None)
    is searched as before; so is every topic without pyahocorasick, or while the scan is
    turned off (`anchors.ENABLED`, as for the packs)."""
    topics = [(tid, p, prefixes(p)) for tid, p in _patterns().items()]
    anchored = [(slot, 0, first, True) for slot, (_, _, first) in enumerate(topics) if first]
    try:
        scan = anchors.AnchorScan(anchors.AnchorScan.keys_of(anchored))
    except Exception:  # the library missing, turned off or failing: every topic is searched
        scan = None
    return scan, tuple((tid, p, slot if scan is not None and first else None)
                       for slot, (tid, p, first) in enumerate(topics))


@lru_cache(maxsize=512)
def topics(text: str) -> frozenset[str]:
    """The topic ids a text names; placeholders say nothing."""
    folded = fold(REWRITE_PLACEHOLDER.sub(" ", text)).text
    scan, plan = _scan()
    if scan is None or not anchors.ENABLED:
        return frozenset(tid for tid, p, _ in plan if p.search(folded))
    hits = scan.positions(folded).hits
    # A match begins where one of its topic's words does (at a word start): the places the
    # scan found are the only ones worth trying, and trying them all is `search`.
    return frozenset(tid for tid, p, slot in plan
                     if (p.search(folded) if slot is None
                         else any(p.match(folded, place) for place, _ in hits.get(slot, ()))))


def off_topic(draft: str, context: str | None) -> OffTopic | None:
    """How the reply misses the customer's message, or None when it does not (or cannot be told)."""
    if not context or not context.strip():
        return None
    if len(context) > _READ:
        context = context[: _READ // 2] + "\n" + context[-_READ // 2:]
    said, answered = topics(context), topics(draft)
    if not said or not answered or said & answered:
        return None
    return OffTopic(tuple(sorted(answered)), tuple(sorted(said)))


def judge(review: Review, request: ReviewRequest) -> Review:
    """The review, with an off-topic reply judged so in `produce` and never `post`.

    It proposes no rewrites: bot.review.offline.judged adds the offline ones when
    this turns a `post` into a `revise`.
    """
    found = off_topic(request.draft, request.context)
    if found is None:
        return review
    note = found.message(review.language)
    if note in review.notes:  # judged already (a cached review)
        return review
    for score in review.golden_rules:
        if score.rule == "produce":
            score.score = min(score.score, OFF_TOPIC_SCORE)
            score.notes = [n for n in score.notes if n] + [note]
    review.notes.append(note)
    if review.verdict == "post":
        review.verdict = "revise"
        review.risk = max(review.risk, OFF_TOPIC_RISK)
    return review
