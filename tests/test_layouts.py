"""What a review looks like on Slack and Discord, as snapshots, with its block and character
counts within each platform's limits (issue 11: "Answers that read well").

The snapshots (tests/snapshots/slack_review.json, discord_review.json) are the layout a
reviewer reads in a diff; CM_COACH_UPDATE_SNAPSHOTS=1 rewrites them after an intended change.
The review is built by hand, so that a change in the rules does not move the layout.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from bot.render import discord as dr
from bot.render import slack as sr
from bot.render.terminal import render_terminal
from bot.review.models import Finding, Review, Rewrite, RuleScore, Span, Strength

SNAPSHOTS = Path(__file__).parent / "snapshots"
# Read at import: the suite's fixtures clear every CM_COACH_* variable before a test runs.
UPDATE = bool(os.environ.get("CM_COACH_UPDATE_SNAPSHOTS"))
DRAFT = "Please delete the photo and DM us."
CONTEXT = "How is a seat with no backrest allowed? Flight 2021."
ONE_LINE_BLOCKS_BEFORE = 25  # the layout the issue measured, for a one-line draft
ONE_LINE_BUTTONS_BEFORE = 9


def span(text: str, words: str) -> Span:
    at = text.index(words)
    return Span(at, at + len(words), words)


def one_line_review(draft: str = DRAFT, findings: int = 3) -> Review:
    found = [
        Finding("deletion_demand", "high", "react", span(draft, "delete the photo") if "delete the photo" in draft
                else None, "You ask the person to delete their post: the Streisand effect spreads it further.",
                "easyJet 2019"),
        Finding("private_redirect", "medium", "react", span(draft, "DM us") if "DM us" in draft else None,
                "Private messages before any public acknowledgement."),
        Finding("no_acknowledgement", "high", "react", None, "The complaint is not acknowledged."),
    ][:findings]
    return Review(
        verdict="block", risk=95, language="en", engine="offline",
        golden_rules=[RuleScore("reputation", 1, ["− deletion demand"]), RuleScore("produce", 5, []),
                      RuleScore("react", 0, ["− deletion demand"]), RuleScore("federate", 7, [])],
        findings=found,
        strengths=[Strength("thanks", "federate", None, "Thanks.")],
        rewrites=[
            Rewrite("apology", "Thanks for flagging that seat. That's not OK, and we're sorry. Flight 2021: "
                    "[what we are doing, and when.] Could you DM us [your reference] so we can help?", "post",
                    ["[what we are doing, and when.]", "[your reference]"]),
            Rewrite("calm", "Thanks for letting us know: we understand how frustrating this is. Flight 2021: "
                    "[what we are doing, and when.] Could you DM us [your reference] so we can help?", "post",
                    ["[what we are doing, and when.]", "[your reference]"]),
            Rewrite("concise", "Sorry about that seat. Flight 2021: [what we are doing, and when.] Could you "
                    "DM us [your reference] so we can help?", "post",
                    ["[what we are doing, and when.]", "[your reference]"]),
        ],
        notes=["Reviewed with the customer's message."],
        draft=draft, context=CONTEXT, platform="x",
    )


def snapshot(name: str, payload: Any) -> None:
    path = SNAPSHOTS / name
    if UPDATE:
        path.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    assert payload == json.loads(path.read_text(encoding="utf-8")), f"{name} changed: see its diff"


def slack_text_chars(blocks: list[dict[str, Any]]) -> int:
    total = 0
    for b in blocks:
        total += len(b.get("text", {}).get("text", "")) if isinstance(b.get("text"), dict) else 0
        total += sum(len(f["text"]) for f in b.get("fields", []))
        total += sum(len(e.get("text", "")) for e in b.get("elements", []) if isinstance(e.get("text"), str))
    return total


def check_slack(blocks: list[dict[str, Any]]) -> None:
    assert len(blocks) <= sr.MAX_BLOCKS
    for b in blocks:
        if b["type"] == "section":
            assert "text" in b or "fields" in b
            if "text" in b:
                assert 0 < len(b["text"]["text"]) <= sr.MAX_SECTION_CHARS
            assert len(b.get("fields", [])) <= 10
            assert all(len(f["text"]) <= sr.MAX_FIELD_CHARS for f in b.get("fields", []))
        if b["type"] == "header":
            assert len(b["text"]["text"]) <= sr.MAX_HEADER_CHARS
        if b["type"] == "context":
            assert 0 < len(b["elements"]) <= 10
            assert all(len(e["text"]) <= sr.MAX_SECTION_CHARS for e in b["elements"])
        if b["type"] == "actions":
            assert len(b["elements"]) <= 25


def test_slack_one_line_draft_about_half_the_blocks_one_another_style() -> None:
    blocks = sr.review_blocks(one_line_review(), "en", ref="r1")
    check_slack(blocks)
    snapshot("slack_review.json", blocks)
    buttons = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert len(blocks) <= ONE_LINE_BLOCKS_BEFORE // 2  # 12, from 25
    assert len(buttons) == 7 < ONE_LINE_BUTTONS_BEFORE  # Copy and Share per rewrite, one Another style
    assert [e["action_id"] for e in buttons].count(sr.ACTION_ANOTHER) == 1
    assert buttons[-1]["action_id"] == sr.ACTION_ANOTHER
    assert slack_text_chars(blocks) < 2500
    # The flagged words, in bold, in the quoted draft; the customer's message above it.
    quoted = next(b["text"]["text"] for b in blocks if "*Draft*" in b.get("text", {}).get("text", ""))
    assert "&gt; Please *delete the photo* and *DM us*." in quoted and "*Customer's message*" in quoted


def test_slack_long_draft_stays_within_the_limits_and_keeps_what_to_do_next() -> None:
    draft = "\n".join(f"Line {n}: please delete the photo and DM us, " + "we hear you. " * 20 for n in range(40))
    review = one_line_review(draft)
    review.findings += [Finding("aggressive_tone", "low", "react", span(draft, f"Line {n}:"), "Tone. " * 480)
                        for n in range(40)]
    blocks = sr.review_blocks(review, "en", ref="r1")
    check_slack(blocks)
    text = json.dumps(blocks)
    assert "shortened to fit in one Slack message" in text
    assert len([b for b in blocks if b["type"] == "actions"]) == 3 and any(b.get("fields") for b in blocks)


def test_slack_emphasis_cannot_be_broken_by_the_users_marks() -> None:
    draft = "Please *delete* the <photo> & DM us."
    review = one_line_review(draft, findings=1)
    review.findings[0].span = span(draft, "*delete* the <photo>")
    quoted = next(b["text"]["text"] for b in sr.review_blocks(review, "en")
                  if "*Draft*" in b.get("text", {}).get("text", ""))
    assert "*\u2217delete\u2217 the &lt;photo&gt;*" in quoted  # one bold run, the user's own marks inert


def test_discord_embed_in_pairs_with_the_flagged_words_in_bold() -> None:
    messages = dr.render_review(one_line_review(), owner="42", key="abc", show_draft=True)
    payload = [{"content": m.content, "embeds": m.embeds,
                "buttons": [{"label": b.label, "custom_id": b.custom_id, "style": b.style} for b in m.buttons]}
               for m in messages]
    snapshot("discord_review.json", payload)
    assert len(messages) == 1
    embed = messages[0].embeds[0]
    names = [f["name"] for f in embed["fields"]]
    assert names == ["Guard the reputation", "Produce", "\u200b", "Know how to react", "Federate", "\u200b"]
    assert [f["inline"] for f in embed["fields"]] == [True] * 6  # rows of three: two scores, one blank
    assert "> Please **delete the photo** and **DM us**." in embed["description"]
    total = sum(dr.embed_length(e) for e in messages[0].embeds)
    assert total <= dr.EMBED_TOTAL and len(messages[0].embeds) <= dr.EMBEDS_PER_MESSAGE
    assert all(dr.dlen(e.get("description", "")) <= dr.EMBED_DESCRIPTION for e in messages[0].embeds)
    assert [b.label for b in messages[0].buttons] == ["Use this", "Another style", "Why?"]


def test_the_terminal_report_fits_the_terminal() -> None:
    review = one_line_review("Please delete the photo and DM us, " + "we are really listening to you. " * 6)
    for width in (40, 60, 100):
        for color in (False, True):
            text = render_terminal(review, color=color, width=width)
            plain = __import__("re").sub(r"\x1b\[[0-9;]*m", "", text)
            assert max(len(line) for line in plain.splitlines()) <= width, (width, color)
    coloured = render_terminal(review, color=True, width=40)
    assert "\x1b[1;4;31mdelete the photo\x1b[0m" in coloured  # a flagged phrase stays one mark
