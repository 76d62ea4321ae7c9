"""Block Kit rendering (bot/render/slack.py): Slack's limits and what each block says."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.render import slack as render
from bot.review.models import BrandProfile, Finding, Review, Rewrite, RuleScore, Span


def _review(findings: int = 1, rewrites: int = 2, draft: str = "Please delete the photo.",
            language: str = "en") -> Review:
    items = [Finding("deletion_demand", "high", "react", Span(0, 23, draft[:23]),
                     f"Finding number {n}: asking to delete spreads the photo.", "easyJet 2019")
             for n in range(findings)]
    return Review(
        verdict="block", risk=88, language=language, engine="offline",
        golden_rules=[RuleScore(r, s) for r, s in (("reputation", 2), ("produce", 7), ("react", 0),
                                                    ("federate", 6))],
        findings=items,
        rewrites=[Rewrite("apology", f"We're sorry, rewrite {n}. [What we do]", "post", ["[What we do]"])
                  for n in range(rewrites)],
        draft=draft,
    )


def _texts(blocks: list[dict[str, Any]]) -> list[str]:
    out = []
    for b in blocks:
        if "text" in b:
            out.append(b["text"]["text"])
        for f in b.get("fields", []):
            out.append(f["text"])
        for e in b.get("elements", []):
            if isinstance(e.get("text"), str):
                out.append(e["text"])
    return out


def _check_limits(blocks: list[dict[str, Any]]) -> None:
    assert len(blocks) <= render.MAX_BLOCKS
    for b in blocks:
        if b["type"] == "section" and "text" in b:
            assert 0 < len(b["text"]["text"]) <= render.MAX_SECTION_CHARS
        if b["type"] == "header":
            assert len(b["text"]["text"]) <= render.MAX_HEADER_CHARS


@given(st.text(alphabet=st.sampled_from("ab \n&<>é"), max_size=400), st.integers(min_value=2, max_value=60))
@settings(max_examples=200, deadline=None)
def test_split_text_is_lossless_and_within_the_limit(text: str, limit: int) -> None:
    pieces = render.split_text(text, limit)
    assert "".join(pieces) == text
    assert all(len(p) <= limit for p in pieces)


def test_split_text_prefers_line_ends_then_spaces() -> None:
    text = "a" * 10 + "\n" + "b" * 10 + " " + "c" * 5
    assert render.split_text(text, 15) == ["a" * 10 + "\n", "b" * 10 + " ", "c" * 5]
    assert render.split_text("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]


def test_user_text_cannot_ping_or_link() -> None:
    review = _review(draft="<!channel> look at <https://evil.example|this> & more")
    shown = "\n".join(_texts(render.review_blocks(review, "en")))
    assert "<!channel>" not in shown and "<https://" not in shown
    # The flagged words are in bold, escaped like the rest.
    assert "*&lt;!channel&gt; look at &lt;htt*ps://evil.example|this&gt; &amp; more" in shown


def test_a_finding_shows_the_quoted_words_why_and_the_case() -> None:
    text = render.finding_text(_review().findings[0], "en")
    assert "*Deletion demand*" in text and "high" in text and "Know how to react" in text
    assert "&gt; “Please delete the photo”" in text
    assert "asking to delete spreads the photo" in text
    assert "_Recalls: easyJet 2019_" in text
    whole = Finding("no_acknowledgement", "medium", "react", None, "No apology.", None)
    text = render.finding_text(whole, "fr")
    assert "&gt;" not in text and "Problème non reconnu" in text and "Rappelle" not in text


def test_many_findings_are_merged_into_fewer_sections_not_dropped() -> None:
    review = _review(findings=60, rewrites=3)
    blocks = render.review_blocks(review, "en", ref="r1")
    _check_limits(blocks)
    shown = "\n".join(_texts(blocks))
    assert all(f"Finding number {n}:" in shown for n in range(60))
    assert "shortened" not in shown
    assert len([b for b in blocks if b["type"] == "actions"]) == 3


def test_a_review_too_big_for_one_message_is_cut_with_a_line_saying_so() -> None:
    review = _review(findings=60, rewrites=3, draft="Please delete the photo. " * 300)
    for f in review.findings:
        f.message += " Why it matters." * 160  # each finding fills most of a section
    blocks = render.review_blocks(review, "en", ref="r1")
    _check_limits(blocks)
    assert len(blocks) == render.MAX_BLOCKS
    shown = "\n".join(_texts(blocks))
    assert "Finding number 0:" in shown and "Finding number 59:" not in shown
    assert "shortened to fit in one Slack message" in shown
    # What to do next survives the cut: the scorecard and every rewrite's buttons.
    assert any(b.get("fields") for b in blocks)
    assert len([b for b in blocks if b["type"] == "actions"]) == 3


def test_a_short_review_is_not_cut() -> None:
    review = _review(findings=5, rewrites=1)
    blocks = render.review_blocks(review, "en", ref="r1")
    shown = "\n".join(_texts(blocks))
    assert all(f"Finding number {n}:" in shown for n in range(5))
    assert "shortened" not in shown


def test_buttons_carry_the_review_and_the_rewrite() -> None:
    blocks = render.review_blocks(_review(rewrites=2), "en", ref="abc123")
    actions = [b for b in blocks if b["type"] == "actions"]
    values = [render.parse_button_value(e["value"]) for b in actions for e in b["elements"]]
    # Copy and Share under each rewrite; one "Another style", under the last.
    assert values == [("abc123", 0)] * 2 + [("abc123", 1)] * 3
    assert [e["action_id"] for b in actions for e in b["elements"]].count(render.ACTION_ANOTHER) == 1
    assert render.parse_button_value("not json") is None
    assert render.parse_button_value('{"ref": "x"}') is None


def test_without_a_reference_there_are_no_buttons() -> None:
    blocks = render.review_blocks(_review(), "en")
    assert not [b for b in blocks if b["type"] == "actions"]


def test_the_scorecard_lists_the_four_rules_in_french() -> None:
    blocks = render.review_blocks(_review(language="fr"), None)
    fields = next(b["fields"] for b in blocks if b.get("fields"))
    assert [f["text"].split("\n")[0] for f in fields] == [
        "*Veiller sur la réputation*", "*Produire*", "*Savoir réagir*", "*Fédérer*"]
    assert fields[0]["text"].endswith("2/10")
    assert blocks[0]["text"]["text"] == "Ne pas publier · Risque 88/100"


def test_copy_shows_the_rewrite_alone_as_plain_text() -> None:
    rewrite = Rewrite("calm", "Line one <b>\n" + "word " * 900, "post", [])
    blocks = render.copy_blocks(rewrite, "en")
    plain = [b for b in blocks if b["type"] == "section"]
    assert len(plain) >= 2 and all(b["text"]["type"] == "plain_text" for b in plain)
    assert "".join(b["text"]["text"] for b in plain) == rewrite.text
    _check_limits(blocks)


def test_share_shows_one_rewrite_and_who_shared_it() -> None:
    review = _review(rewrites=3)
    blocks = render.share_blocks(review, 2, "U0ALICE", "en")
    shown = "\n".join(_texts(blocks))
    assert "<@U0ALICE> shared this review" in shown
    assert "rewrite 2" in shown and "rewrite 0" not in shown and "rewrite 1" not in shown
    assert not [b for b in blocks if b["type"] == "actions"]


def test_the_form_and_its_values() -> None:
    view = render.review_modal("fr", '{"url": "u"}', platform="x", voice="warm")
    assert view["title"]["text"] == "Relire un brouillon" and len(view["title"]["text"]) <= 24
    selects = {b["block_id"]: b["element"] for b in view["blocks"] if b["element"]["type"] == "static_select"}
    assert selects["platform"]["initial_option"]["value"] == "x"
    assert selects["voice"]["initial_option"]["value"] == "warm"
    assert {o["value"] for o in selects["platform"]["options"]} >= {"x", "linkedin", "generic"}
    state = {"values": {
        "draft": {"draft": {"type": "plain_text_input", "value": "Hi"}},
        "context": {"context": {"type": "plain_text_input", "value": None}},
        "platform": {"platform": {"type": "static_select", "selected_option": {"value": "x"}}},
        "voice": {"voice": {"type": "static_select", "selected_option": None}},
    }}
    assert render.modal_values({"state": state}) == {"draft": "Hi", "context": "", "platform": "x", "voice": ""}


def test_the_home_tab() -> None:
    profile = BrandProfile(name="Aerolux", voice="warm", address="vous", banned_terms=("cheap",))
    stats = render.stats_from_reviews([
        {"verdict": "block", "risk": 90, "categories": ["deletion_demand", "private_redirect"]},
        {"verdict": "post", "risk": 10, "categories": []},
        {"verdict": "block", "risk": 80, "categories": ["deletion_demand"]},
    ], drills=2)
    assert stats.reviews == 3 and stats.average_risk == 60
    assert stats.top_categories[0] == "deletion_demand"
    view = render.home_view("en", profile, stats)
    assert view["type"] == "home"
    _check_limits(view["blocks"])
    shown = "\n".join(_texts(view["blocks"]))
    assert "Aerolux" in shown and "Warm" in shown and "vous" in shown and "cheap" in shown
    assert "3 review(s)" in shown and "Do not post: 2" in shown and "Ready to post: 1" in shown
    assert "Average risk: 60/100" in shown and "Deletion demand" in shown
    assert "2 drill case(s)" in shown
    assert "No review yet" in "\n".join(_texts(render.home_view("en", profile, render.HomeStats())["blocks"]))


def test_a_coaching_reply_with_a_review_stays_within_the_limits() -> None:
    blocks = render.coach_blocks("Here is my review. " * 400, _review(findings=60, rewrites=3), "r", "en")
    _check_limits(blocks)
    assert blocks[0]["text"]["text"].startswith("Here is my review.")
    assert [b for b in blocks if b["type"] == "actions"]


def test_a_notice_keeps_the_users_draft() -> None:
    blocks = render.error_blocks("My draft <3", "en")
    shown = "\n".join(_texts(blocks))
    assert "Something went wrong" in shown and "&gt; My draft &lt;3" in shown
