"""The Discord renderer: every message within Discord's limits, nothing lost, nothing pinged."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.platforms.discord.buttons import TEMPLATE
from bot.render.discord import (
    CUSTOM_ID,
    EMBED_DESCRIPTION,
    EMBED_FIELDS,
    EMBED_TITLE,
    EMBED_TOTAL,
    EMBEDS_PER_MESSAGE,
    FIELD_VALUE,
    MESSAGE_CHARS,
    DiscordMessage,
    dlen,
    embed_length,
    escape_mentions,
    render_review,
    render_use,
    render_why,
    split_text,
)
from bot.review.models import GOLDEN_RULES, Finding, Review, Rewrite, RuleScore, Span


def check_limits(messages: list[DiscordMessage]) -> None:
    for m in messages:
        assert dlen(m.content) <= MESSAGE_CHARS
        assert len(m.embeds) <= EMBEDS_PER_MESSAGE
        assert sum(embed_length(e) for e in m.embeds) <= EMBED_TOTAL
        for e in m.embeds:
            assert dlen(e.get("title", "")) <= EMBED_TITLE
            assert dlen(e.get("description", "")) <= EMBED_DESCRIPTION
            assert len(e.get("fields", [])) <= EMBED_FIELDS
            assert all(dlen(f["value"]) <= FIELD_VALUE for f in e.get("fields", []))
        assert all(len(b.custom_id) <= CUSTOM_ID for b in m.buttons)


def big_review(findings: int = 60, rewrites: int = 3, lang: str = "en") -> Review:
    draft = " ".join(f"word{i}" for i in range(findings * 3))
    return Review(
        verdict="block", risk=91, language=lang, engine="offline",
        golden_rules=[RuleScore(r, 2, [f"{r} note {i}" for i in range(5)]) for r in GOLDEN_RULES],
        findings=[
            Finding("deletion_demand", "high", "react", Span(0, 5, f"word{i}"),
                    f"finding-{i} " + "explanation " * 30, "easyJet 2019: " + "case " * 40)
            for i in range(findings)
        ],
        rewrites=[Rewrite(style, f"Rewrite {style}. " * (10 + 5 * n), "post", [])
                  for n, style in enumerate(["apology", "calm", "concise"][:rewrites])],
        draft=draft, context="The customer's message.",
    )


# ------------------------------------------------------------------ splitting


words = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Zs", "Cc")), min_size=1, max_size=12)


@settings(max_examples=150, deadline=None)
@given(st.lists(words, min_size=1, max_size=300), st.sampled_from([" ", "\n", "\n\n", ". "]),
       st.integers(min_value=25, max_value=400))
def test_split_never_cuts_a_word_and_loses_nothing(ws: list[str], sep: str, limit: int):
    text = sep.join(ws)
    parts = split_text(text, limit)
    assert all(dlen(p) <= limit for p in parts)
    assert " ".join(parts).split() == text.split()  # same words, in order, none cut


def test_split_prefers_paragraphs_then_sentences():
    text = "First paragraph, short.\n\nSecond paragraph. It has two sentences."
    assert split_text(text, 30) == ["First paragraph, short.", "Second paragraph.",
                                    "It has two sentences."]


def test_a_word_longer_than_the_limit_is_the_only_thing_ever_cut():
    text = "short " + "x" * 50 + " end"
    parts = split_text(text, 20)
    assert all(len(p) <= 20 for p in parts)
    assert "".join(parts).replace(" ", "") == text.replace(" ", "")
    assert parts[0] == "short"


def test_split_counts_astral_characters_twice():
    text = " ".join(["😀😀😀"] * 100)  # 6 UTF-16 units per word
    parts = split_text(text, 100)
    assert all(len(p.encode("utf-16-le")) // 2 <= 100 for p in parts)
    assert " ".join(parts) == text


# ------------------------------------------------------------------ mentions


def test_escape_mentions_neutralises_every_ping():
    text = "@everyone @here <@123> <@!456> <@&789> <#42> mail@example.com"
    escaped = escape_mentions(text)
    assert not re.search(r"@(everyone|here)|<@!?\d+>|<@&\d+>", escaped)
    assert "mail@example.com" in escaped  # not a mention: untouched
    assert escaped.replace("\u200b", "") == text  # readable, nothing else changed


# ------------------------------------------------------------------ the review


def test_a_long_review_is_split_within_every_limit_and_arrives_whole():
    review = big_review()
    messages = render_review(review, owner="42", key="abc123", show_draft=True)
    assert len(messages) > 1
    check_limits(messages)
    shown = "\n".join(e.get("description", "") for m in messages for e in m.embeds)
    assert re.findall(r"finding-(\d+)", shown) == [str(i) for i in range(60)]  # all, in order
    assert re.findall(r"\bword(\d+)\b", shown)[: 180] == [str(i) for i in range(180)]  # the whole draft
    assert [bool(m.buttons) for m in messages] == [False] * (len(messages) - 1) + [True]


def test_layout_does_not_move_when_another_style_is_chosen():
    review = big_review(findings=8)
    layouts = [render_review(review, owner="42", key="abc", index=i) for i in range(3)]
    assert len({len(m) for m in layouts}) == 1
    for i, messages in enumerate(layouts):
        check_limits(messages)
        assert messages[:-1] == layouts[0][:-1]  # only the last message changes
        rewrite = messages[-1].embeds[-1]
        assert f"({i + 1}/3)" in rewrite["title"]
        assert all(b.custom_id.endswith(f":{i}") for b in messages[-1].buttons)


def test_embed_shows_verdict_risk_rules_findings_and_case():
    review = big_review(findings=1)
    embed = render_review(review, owner="42", key="abc")[0].embeds[0]
    assert embed["title"] == "🛑 Do not post · Risk 91/100"
    # Two by two: a blank third field closes each row of inline fields.
    assert [f["name"] for f in embed["fields"]] == [
        "Guard the reputation", "Produce", "\u200b", "Know how to react", "Federate", "\u200b"]
    assert embed["fields"][0]["value"].startswith("2/10")
    assert "> word0" in embed["description"]  # the quoted words
    assert "*Recalls:* easyJet 2019" in embed["description"]  # the case


def test_french_review_speaks_french():
    review = big_review(findings=1, lang="fr")
    messages = render_review(review, owner="42", key="abc")
    embed = messages[0].embeds[0]
    assert embed["title"] == "🛑 Ne pas publier · Risque 91/100"
    assert "*Rappelle :* easyJet 2019" in embed["description"]
    assert [b.label for b in messages[-1].buttons] == ["Utiliser", "Autre style", "Pourquoi ?"]


def test_buttons_carry_their_state_in_a_custom_id_the_bot_recognises():
    review = big_review(findings=1)
    buttons = render_review(review, owner="123456789012345678", key="0a1b2c3d4e5f", index=2)[-1].buttons
    assert [b.label for b in buttons] == ["Use this", "Another style", "Why?"]
    for b in buttons:
        assert re.fullmatch(TEMPLATE, b.custom_id)
        assert b.custom_id.split(":")[2:] == ["123456789012345678", "0a1b2c3d4e5f", "2"]


def test_a_review_without_rewrites_only_offers_why():
    review = big_review(findings=1, rewrites=0)
    assert [b.label for b in render_review(review, owner="1", key="a")[-1].buttons] == ["Why?"]
    single = big_review(findings=1, rewrites=1)
    assert [b.label for b in render_review(single, owner="1", key="a")[-1].buttons] == ["Use this", "Why?"]


def test_use_this_gives_a_long_rewrite_whole_in_several_messages():
    review = big_review(findings=1, rewrites=1)
    review.rewrites[0] = Rewrite("calm", " ".join(f"r{i}" for i in range(800)) + " @everyone",
                                 "post", [])
    messages = render_use(review, 0)
    check_limits(messages)
    assert len(messages) > 1
    joined = " ".join(m.content for m in messages)
    assert re.findall(r"r\d+", joined) == [f"r{i}" for i in range(800)]
    assert "@everyone" not in joined


def test_placeholders_stand_out_and_come_with_a_reminder():
    review = big_review(findings=1, rewrites=1)
    review.rewrites[0] = Rewrite("apology", "Sorry. [What we do.] DM us.", "post", ["[What we do.]"])
    rewrite = render_review(review, owner="1", key="a")[-1].embeds[-1]
    assert "**[What we do.]**" in rewrite["description"]
    assert "Fill in the [bracketed] parts" in rewrite["description"]
    assert render_use(review, 0)[-1].content.startswith("*Fill in")


def test_why_lists_every_rule_with_its_notes_within_limits():
    review = big_review(findings=40)
    messages = render_why(review)
    check_limits(messages)
    shown = "\n".join(e["description"] for m in messages for e in m.embeds)
    for rule in GOLDEN_RULES:
        assert f"{rule} note 4" in shown
    assert re.findall(r"finding-(\d+)", shown) == [str(i) for i in range(40)]
