"""Relevance: a reply that answers something else than the customer's message is judged so in
`produce` and is never ready to post; its rewrites answer the customer (issue 11, item 3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.review.models import ReviewRequest
from bot.review.offline import review_checked
from bot.review.relevance import judge, off_topic, topics
from bot.review.reviewer import Reviewer

SEAT = "The seat on my flight was broken, no backrest! How is that allowed?"
PARCEL_REPLY = "We're sorry for the wait: your parcel was shipped yesterday with tracking number AB123456."
CORPUS = Path(__file__).resolve().parents[1] / "corpus"


@pytest.mark.parametrize(("draft", "context"), [
    (PARCEL_REPLY, SEAT),
    ("Votre colis est parti hier, numéro de suivi 8842.", "Mon siège n'avait pas de dossier sur le vol de Nice."),
    ("Your hotel room will be cleaned today.", "The wifi in my flat has been down for three days."),
])
def test_a_reply_about_another_subject_is_off_topic(draft: str, context: str) -> None:
    assert off_topic(draft, context) is not None


@pytest.mark.parametrize(("draft", "context"), [
    ("We're sorry about that seat, we're checking it now.", SEAT),
    ("Sorry about this. DM us your booking reference?", SEAT),  # no subject named: never off topic
    (PARCEL_REPLY, None),  # no customer's message: nothing to compare with
    ("Your refund for the flight has been sent.", "You charged me twice for my flight!"),
])
def test_a_reply_on_the_subject_or_naming_none_is_not(draft: str, context: str | None) -> None:
    assert off_topic(draft, context) is None


def test_placeholders_name_no_subject() -> None:
    assert topics("[your parcel number] Sorry about that seat.") == frozenset({"air"})


def test_off_topic_is_judged_in_produce_and_never_post_with_rewrites_that_answer() -> None:
    review = review_checked(ReviewRequest(PARCEL_REPLY, SEAT, "x"))
    assert review.verdict == "revise" and review.risk >= 30
    produce = next(s for s in review.golden_rules if s.rule == "produce")
    assert produce.score == 3 and "your parcel while the customer wrote about your flight" in produce.notes[-1]
    assert review.rewrites and all("parcel" not in r.text for r in review.rewrites)
    again = judge(review, ReviewRequest(PARCEL_REPLY, SEAT, "x"))  # a cached review is not judged twice
    assert again.notes.count(produce.notes[-1]) == 1


def test_every_front_end_gets_the_relevance_judged() -> None:
    reviewer = Reviewer(engine="offline")
    review = reviewer.review_sync(reviewer.request(PARCEL_REPLY, context=SEAT))
    assert review.verdict != "post"
    review = reviewer.review_blocking(reviewer.request(PARCEL_REPLY, context=SEAT))
    assert review.verdict != "post"


def test_no_case_of_the_labelled_corpus_is_judged_off_topic() -> None:
    # Precision first: the corpus's replies all answer their message, risky or not.
    for path in sorted(CORPUS.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                case = json.loads(line)
                assert off_topic(case["draft"], case.get("context")) is None, (path.name, case["draft"])


def test_the_topic_scan_finds_what_searching_every_topic_finds() -> None:
    """Topics are tried only where the automaton finds one of their first words: on every
    draft and customer message of the corpus, on the rewrites' words and on adversarial
    texts, the topics are those a search of the whole text with each pattern names."""
    from bot.review import relevance
    from bot.review.evaluation import default_files, read_corpora
    from bot.review.text import REWRITE_PLACEHOLDER, fold

    scan, plan = relevance._scan()
    assert scan is not None and all(slot is not None for _, _, slot in plan)
    texts = [t for c in read_corpora(default_files()) for t in (c.draft, c.context) if t]
    texts += ["colis-livraison", "le-vol de nice", "train_x trains", "x4g 4g", "la  box", "ma box.",
              "Numéro de suivi : 12", "vol n°4521", "hôtel" * 50, "tgv" + "-" * 500, "wifi " * 2000]
    for text in texts:
        folded = fold(REWRITE_PLACEHOLDER.sub(" ", text)).text
        searched = frozenset(tid for tid, p in relevance._patterns().items() if p.search(folded))
        assert relevance.topics.__wrapped__(text) == searched, text
    assert sum(1 for t in texts if relevance.topics(t)) > 50  # the corpus names topics


def test_topics_are_searched_while_the_scan_is_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.review import anchors, relevance

    tried: list[int] = []
    scan, _ = relevance._scan()
    monkeypatch.setattr(type(scan), "positions", lambda self, text: tried.append(1) or anchors.Found(text, {}))
    monkeypatch.setattr(anchors, "ENABLED", False)
    assert relevance.topics.__wrapped__(SEAT) == frozenset({"air"})
    assert not tried
    monkeypatch.setattr(anchors, "ENABLED", True)
    assert relevance.topics.__wrapped__(SEAT) == frozenset()  # a scan that finds no place: no topic
    assert tried
