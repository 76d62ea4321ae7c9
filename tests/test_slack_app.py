"""The Slack app end to end: the real Bolt app served over HTTP on 127.0.0.1,
signed requests as Slack sends them, and a Slack Web API server on 127.0.0.1
(tests/slack_api_server.py) that records what the app sent, response_url posts
included.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.coach import ConversationKey
from bot.config import BrandSection, LLMSection, ReviewSection, Settings, SlackSection, StoreSection
from bot.platforms.slack.app import build_app
from bot.platforms.slack.serve import start_http
from bot.render.slack import ACTION_ANOTHER, ACTION_COPY, ACTION_SHARE, MAX_SECTION_CHARS
from bot.store import Store
from tests.slack_api_server import BOT_TOKEN, BOT_USER_ID, TEAM_ID, SignedSender, SlackAPIServer

EASYJET_DRAFT = "Please delete the photo and DM us."
EASYJET_CONTEXT = "How can this be allowed? My seat on flight 2021 had no backrest!"
FR_DRAFT = "Merci de supprimer la photo et de nous écrire en MP."


@dataclass
class Harness:
    api: SlackAPIServer
    slack: SignedSender
    store: Store
    settings: Settings
    app: Any


def _settings(api: SlackAPIServer, tmp_path: Path, **review: Any) -> Settings:
    return Settings(
        brand=BrandSection(name="Aerolux", voice="neutral"),
        review=ReviewSection(**({"engine": "offline"} | review)),
        slack=SlackSection(api_url=api.api_url, review_processes=0),
        store=StoreSection(data_dir=str(tmp_path)),
    )


@asynccontextmanager
async def _harness(tmp_path: Path, settings_change: Any = None) -> AsyncIterator[Harness]:
    api = await SlackAPIServer().start()
    settings = _settings(api, tmp_path)
    if settings_change is not None:
        settings = settings_change(settings)
    store = Store(tmp_path / "slack.sqlite3")
    app = build_app(settings, client=AsyncWebClient(token=BOT_TOKEN, base_url=api.api_url), store=store,
                    signing_secret="0123456789abcdef0123456789abcdef")
    runner, port = await start_http(app, "127.0.0.1", 0)
    try:
        async with SignedSender(f"http://127.0.0.1:{port}/slack/events") as sender:
            yield Harness(api, sender, store, settings, app)
    finally:
        await runner.cleanup()
        app.cm_coach.close()
        await api.stop()
        store.close()


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    async with _harness(tmp_path) as harness:
        yield harness


# -- helpers ------------------------------------------------------------------


def texts(blocks: list[dict[str, Any]]) -> str:
    """Every piece of text in a list of blocks, joined, to search in."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                out.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(blocks)
    return "\n".join(out)


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def assert_slack_limits(blocks: list[dict[str, Any]]) -> None:
    assert 0 < len(blocks) <= 50
    for b in blocks:
        if b["type"] == "section" and "text" in b:
            assert len(b["text"]["text"]) <= MAX_SECTION_CHARS
        if b["type"] == "header":
            assert len(b["text"]["text"]) <= 150


def section_texts(blocks: list[dict[str, Any]]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section" and "text" in b]


def unmarked(text: str) -> str:
    """Text without Slack's emphasis marks (flagged words and [placeholders] are in bold)."""
    return text.replace("*", "")


def rewrite_quotes(blocks: list[dict[str, Any]]) -> list[str]:
    """The quoted rewrites, unmarked: each section after the rewrites' title (or any
    section) holds a rewrite's style, then its quote."""
    sections = section_texts(blocks)
    titles = [i for i, t in enumerate(sections)
              if t.startswith(("*Suggested rewrites*", "*Réécritures proposées*"))]
    start = titles[0] + 1 if titles else 0
    return [unmarked(t[t.index("&gt; "):]) for t in sections[start:] if "&gt; " in t]


def block_action(action_id: str, value: str, response_url: str, user: str = "U0ALICE") -> dict[str, Any]:
    return {
        "type": "block_actions", "user": {"id": user, "username": user.lower(), "team_id": TEAM_ID},
        "channel": {"id": "C0TEAM", "name": "community"},
        "container": {"type": "message", "message_ts": "1700000000.000001", "channel_id": "C0TEAM",
                      "is_ephemeral": True},
        "trigger_id": "trigger.2", "response_url": response_url,
        "actions": [{"type": "button", "action_id": action_id, "block_id": "rewrite_0", "value": value,
                     "action_ts": str(time.time())}],
    }


async def review_via_command(h: Harness, draft: str, name: str = "cmd") -> list[dict[str, Any]]:
    reply = await h.slack.command(draft, response_url=h.api.response_url(name))
    assert reply.status == 200
    posted = await h.api.wait_for(lambda: h.api.posted_to(name))
    return posted[0].body["blocks"]


# -- /review ------------------------------------------------------------------


async def test_review_command_acks_at_once_then_delivers_the_review(h: Harness) -> None:
    reply = await h.slack.command(EASYJET_DRAFT, response_url=h.api.response_url("r1"))
    assert reply.status == 200
    ack = reply.json()
    assert ack["response_type"] == "ephemeral"
    assert "Reviewing your draft" in ack["text"]
    assert reply.latency < 1.0

    posted = await h.api.wait_for(lambda: h.api.posted_to("r1"))
    body = posted[0].body
    assert body["response_type"] == "ephemeral" and body["replace_original"] is True  # in place of "Reviewing…"
    blocks = body["blocks"]
    assert_slack_limits(blocks)
    assert blocks[0]["type"] == "header"
    assert blocks[0]["text"]["text"].startswith("Do not post · Risk ")
    all_text = texts(blocks)
    assert "&gt; Please delete the photo and DM us." in unmarked(all_text)  # the draft, quoted
    assert "&gt; *Please delete the photo* and" in all_text  # its flagged words in bold
    # The scorecard: the four golden rules with a score each.
    scorecard = next(b for b in blocks if b.get("fields"))
    names = [f["text"].split("\n")[0] for f in scorecard["fields"]]
    assert names == ["*Guard the reputation*", "*Produce*", "*Know how to react*", "*Federate*"]
    assert all(f["text"].endswith("/10") for f in scorecard["fields"])
    # A finding: the category, the quoted words, why, and the case it recalls.
    finding = next(b["text"]["text"] for b in blocks
                   if b["type"] == "section" and "Deletion demand" in b.get("text", {}).get("text", ""))
    assert "“Please delete the photo”" in finding
    assert "Streisand" in finding and "easyJet 2019" in finding
    # Rewrites, each with its two buttons; one "Another style", under the last.
    actions = [b for b in blocks if b["type"] == "actions"]
    assert actions, "the rewrites come with buttons"
    for block in actions[:-1]:
        assert [e["action_id"] for e in block["elements"]] == [ACTION_COPY, ACTION_SHARE]
    assert [e["action_id"] for e in actions[-1]["elements"]] == [ACTION_COPY, ACTION_SHARE, ACTION_ANOTHER]
    assert [e["text"]["text"] for e in actions[-1]["elements"]] == ["Copy ready", "Share with the channel",
                                                                    "Another style"]
    # Answered once, through response_url only.
    await h.api.settle(0.2)
    assert len(h.api.posted_to("r1")) == 1
    assert not h.api.calls_to("chat.postMessage") and not h.api.calls_to("chat.postEphemeral")


async def test_review_command_speaks_the_drafts_language(h: Harness) -> None:
    reply = await h.slack.command(FR_DRAFT, response_url=h.api.response_url("fr"))
    assert "Relecture de votre brouillon" in reply.json()["text"]
    posted = await h.api.wait_for(lambda: h.api.posted_to("fr"))
    blocks = posted[0].body["blocks"]
    assert blocks[0]["text"]["text"].startswith("Ne pas publier · Risque ")
    assert "Veiller sur la réputation" in texts(blocks)
    assert [e["text"]["text"] for e in buttons(blocks)][-3:] == ["Prêt à copier", "Partager avec le canal",
                                                                 "Autre style"]


@pytest.mark.parametrize(("word", "expected"), [("help", "reviews a reply before you post it"),
                                                 ("aide", "relit une réponse avant publication")])
async def test_review_help_explains_in_the_ack(h: Harness, word: str, expected: str) -> None:
    reply = await h.slack.command(word, response_url=h.api.response_url("help"))
    ack = reply.json()
    assert ack["response_type"] == "ephemeral"
    assert expected in texts(ack["blocks"])
    assert "/review" in texts(ack["blocks"])
    await h.api.settle(0.2)
    assert not h.api.posted_to("help") and not h.api.calls_to("views.open")


async def test_a_draft_over_the_limit_gets_a_message_and_is_kept(tmp_path: Path) -> None:
    def short_limit(s: Settings) -> Settings:
        return replace(s, review=replace(s.review, max_draft_chars=40))

    async with _harness(tmp_path, short_limit) as h:
        draft = "We hear you. " * 5
        await h.slack.command(draft, response_url=h.api.response_url("long"))
        posted = await h.api.wait_for(lambda: h.api.posted_to("long"))
        shown = texts(posted[0].body["blocks"])
        assert "the limit is 40" in shown
        assert "We hear you." in shown  # nothing the user sent is lost


async def test_reviews_run_in_worker_processes_when_configured(tmp_path: Path) -> None:
    def one_worker(s: Settings) -> Settings:
        return replace(s, slack=replace(s.slack, review_processes=1))

    async with _harness(tmp_path, one_worker) as h:
        assert h.app.cm_coach.pool is not None
        blocks = await review_via_command(h, EASYJET_DRAFT, "pooled")
        assert blocks[0]["text"]["text"].startswith("Do not post")
        assert buttons(blocks)
        # A bad draft is still refused in the app's process, with the message.
        await h.slack.command("\x00\x01\x02\x03\x04 binary", response_url=h.api.response_url("bin"))
        posted = await h.api.wait_for(lambda: h.api.posted_to("bin"))
        assert "binary data" in texts(posted[0].body["blocks"])


async def test_when_response_url_fails_the_review_still_reaches_the_user(h: Harness) -> None:
    h.api.response_status = 404  # an expired response_url
    await h.slack.command(EASYJET_DRAFT, response_url=h.api.response_url("expired"))
    ephemeral = await h.api.wait_for(lambda: h.api.calls_to("chat.postEphemeral"))
    assert ephemeral[0].params["channel"] == "C0TEAM" and ephemeral[0].params["user"] == "U0ALICE"
    assert "Deletion demand" in texts(ephemeral[0].params["blocks"])
    assert len(h.api.posted_to("expired")) == 1


async def test_when_nothing_can_be_posted_in_the_channel_the_user_gets_a_dm(h: Harness) -> None:
    h.api.response_status = 404
    h.api.errors["chat.postEphemeral"] = "channel_not_found"
    await h.slack.command(EASYJET_DRAFT, response_url=h.api.response_url("gone"))
    dms = await h.api.wait_for(lambda: h.api.calls_to("chat.postMessage"))
    assert dms[0].params["channel"] == "U0ALICE"
    assert "Deletion demand" in texts(dms[0].params["blocks"])


# -- /review with no text: the form --------------------------------------------


async def test_review_without_text_opens_the_form_then_reviews_the_submission(h: Harness) -> None:
    reply = await h.slack.command("", response_url=h.api.response_url("form"), trigger_id="trig.42")
    assert reply.status == 200 and not reply.text
    opened = await h.api.wait_for(lambda: h.api.calls_to("views.open"))
    assert opened[0].params["trigger_id"] == "trig.42"
    view = opened[0].params["view"]
    assert view["type"] == "modal" and view["callback_id"] == "cmc_review_modal"
    assert [b["block_id"] for b in view["blocks"]] == ["draft", "context", "platform", "voice"]
    assert view["blocks"][1]["optional"] is True

    state = {"values": {
        "draft": {"draft": {"type": "plain_text_input", "value": EASYJET_DRAFT}},
        "context": {"context": {"type": "plain_text_input", "value": EASYJET_CONTEXT}},
        "platform": {"platform": {"type": "static_select", "selected_option": {"value": "x"}}},
        "voice": {"voice": {"type": "static_select", "selected_option": {"value": "warm"}}},
    }}
    submission = {"type": "view_submission", "user": {"id": "U0ALICE"}, "trigger_id": "trig.43",
                  "view": {**view, "id": "V1", "state": state}}
    ack = await h.slack.interactive(submission)
    assert ack.status == 200 and not ack.text  # the form closes
    posted = await h.api.wait_for(lambda: h.api.posted_to("form"))
    blocks = posted[0].body["blocks"]
    shown = texts(blocks)
    assert "&gt; How can this be allowed? My seat on flight 2021 had no backrest!" in shown
    assert "&gt; Please delete the photo and DM us." in unmarked(shown)
    assert "Deletion demand" in shown
    assert buttons(blocks)


async def test_an_empty_form_stays_open_with_an_error(h: Harness) -> None:
    state = {"values": {"draft": {"draft": {"type": "plain_text_input", "value": "   "}}}}
    view = {"id": "V2", "type": "modal", "callback_id": "cmc_review_modal", "private_metadata": "{}",
            "state": state}
    ack = await h.slack.interactive({"type": "view_submission", "user": {"id": "U0ALICE"}, "view": view})
    answer = ack.json()
    assert answer["response_action"] == "errors"
    assert "empty" in answer["errors"]["draft"]


# -- the message shortcut ----------------------------------------------------


def _shortcut(message: dict[str, Any], response_url: str) -> dict[str, Any]:
    return {"type": "message_action", "callback_id": "cmc_review_message", "trigger_id": "t.3",
            "user": {"id": "U0ALICE"}, "channel": {"id": "C0TEAM", "name": "community"},
            "message_ts": message["ts"], "message": message, "response_url": response_url}


async def test_shortcut_on_a_thread_reply_takes_the_parent_as_the_customers_message(h: Harness) -> None:
    h.api.replies[("C0TEAM", "1700000000.000100")] = [
        {"type": "message", "user": "U0CUSTOMER", "text": EASYJET_CONTEXT, "ts": "1700000000.000100"}]
    reply = {"type": "message", "user": "U0BOB", "text": EASYJET_DRAFT, "ts": "1700000000.000200",
             "thread_ts": "1700000000.000100"}
    ack = await h.slack.interactive(_shortcut(reply, h.api.response_url("sc")))
    assert ack.status == 200
    posted = await h.api.wait_for(lambda: h.api.posted_to("sc"))
    fetched = h.api.calls_to("conversations.replies")
    assert fetched and fetched[0].params["channel"] == "C0TEAM"
    assert fetched[0].params["ts"] == "1700000000.000100"
    shown = texts(posted[0].body["blocks"])
    assert "Customer's message" in shown
    assert "&gt; How can this be allowed?" in shown
    assert "&gt; Please delete the photo and DM us." in unmarked(shown)
    assert posted[0].body["response_type"] == "ephemeral"


async def test_shortcut_still_reviews_when_the_thread_cannot_be_read(h: Harness) -> None:
    h.api.errors["conversations.replies"] = "not_in_channel"
    reply = {"type": "message", "user": "U0BOB", "text": EASYJET_DRAFT, "ts": "1700000000.000300",
             "thread_ts": "1700000000.000100"}
    await h.slack.interactive(_shortcut(reply, h.api.response_url("sc2")))
    posted = await h.api.wait_for(lambda: h.api.posted_to("sc2"))
    shown = texts(posted[0].body["blocks"])
    assert "Deletion demand" in shown
    assert "not_in_channel" in shown and "invite @cm-coach" in shown


async def test_shortcut_on_a_message_without_text_says_what_to_do(h: Harness) -> None:
    message = {"type": "message", "user": "U0BOB", "text": "", "ts": "1700000000.000400"}
    await h.slack.interactive(_shortcut(message, h.api.response_url("sc3")))
    posted = await h.api.wait_for(lambda: h.api.posted_to("sc3"))
    assert "no text I can review" in texts(posted[0].body["blocks"])


# -- mentions -------------------------------------------------------------------


def _mention(text: str, ts: str, thread_ts: str | None = None, **extra: Any) -> dict[str, Any]:
    event = {"type": "app_mention", "user": "U0ALICE", "text": text, "ts": ts, "channel": "C0TEAM",
             "event_ts": ts, **extra}
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


async def test_a_mention_with_a_draft_answers_in_a_thread(h: Harness) -> None:
    ack = await h.slack.event(_mention(f"<@{BOT_USER_ID}> {EASYJET_DRAFT}", "1700000001.000001"),
                              event_id="Ev001")
    assert ack.status == 200
    posts = await h.api.wait_for(lambda: h.api.calls_to("chat.postMessage"))
    params = posts[0].params
    assert params["channel"] == "C0TEAM"
    assert params["thread_ts"] == "1700000001.000001"
    shown = texts(params["blocks"])
    assert "&gt; Please delete the photo and DM us." in unmarked(shown)
    assert f"<@{BOT_USER_ID}>" not in shown
    assert posts[0].token_kind == "xoxb"


async def test_a_bare_mention_in_a_thread_reviews_the_parent(h: Harness) -> None:
    h.api.replies[("C0TEAM", "1700000002.000001")] = [
        {"type": "message", "user": "U0BOB", "text": FR_DRAFT, "ts": "1700000002.000001"}]
    await h.slack.event(_mention(f"<@{BOT_USER_ID}>", "1700000002.000009", "1700000002.000001"),
                        event_id="Ev002")
    posts = await h.api.wait_for(lambda: h.api.calls_to("chat.postMessage"))
    assert h.api.calls_to("conversations.replies")[0].params["ts"] == "1700000002.000001"
    params = posts[0].params
    assert params["thread_ts"] == "1700000002.000001"
    shown = texts(params["blocks"])
    assert "&gt; Merci de supprimer la photo" in unmarked(shown)
    assert "Ne pas publier" in shown


async def test_a_bare_mention_outside_a_thread_explains(h: Harness) -> None:
    await h.slack.event(_mention(f"<@{BOT_USER_ID}>", "1700000003.000001"), event_id="Ev003")
    posts = await h.api.wait_for(lambda: h.api.calls_to("chat.postMessage"))
    assert "Mention me with a draft" in texts(posts[0].params["blocks"])


async def test_a_mention_where_the_bot_cannot_post_is_answered_privately(h: Harness) -> None:
    h.api.errors["chat.postMessage"] = "not_in_channel"
    await h.slack.event(_mention(f"<@{BOT_USER_ID}> {EASYJET_DRAFT}", "1700000003.000101"), event_id="Ev003b")
    private = await h.api.wait_for(lambda: h.api.calls_to("chat.postEphemeral"))
    shown = texts(private[0].params["blocks"])
    assert "I could not post here (not_in_channel)" in shown and "Invite @cm-coach" in shown
    assert "Deletion demand" in shown  # the review itself is not lost
    assert private[0].params["user"] == "U0ALICE"


async def test_a_retried_event_is_answered_once(h: Harness) -> None:
    event = _mention(f"<@{BOT_USER_ID}> {EASYJET_DRAFT}", "1700000004.000001")
    first = await h.slack.event(event, event_id="Ev004")
    retry = await h.slack.event(event, event_id="Ev004", retry_num=1)
    again = await h.slack.event(event, event_id="Ev004", retry_num=2)
    assert (first.status, retry.status, again.status) == (200, 200, 200)
    await h.api.wait_for(lambda: h.api.calls_to("chat.postMessage"))
    await h.api.settle(0.3)
    assert len(h.api.calls_to("chat.postMessage")) == 1


# -- direct messages --------------------------------------------------------------


def _dm(text: str, ts: str, **extra: Any) -> dict[str, Any]:
    return {"type": "message", "channel_type": "im", "channel": "D0ALICE", "user": "U0ALICE", "text": text,
            "ts": ts, "event_ts": ts, **extra}


async def test_a_direct_message_goes_to_the_coach(h: Harness) -> None:
    await h.slack.event(_dm(EASYJET_DRAFT, "1700000005.000001"), event_id="Ev005")
    posts = await h.api.wait_for(lambda: h.api.calls_to("chat.postMessage"))
    params = posts[0].params
    assert params["channel"] == "D0ALICE"
    assert "thread_ts" not in params or params["thread_ts"] is None
    blocks = params["blocks"]
    assert_slack_limits(blocks)
    shown = texts(blocks)
    assert "Do not post" in shown and "&gt; Please delete the photo and DM us." in unmarked(shown)
    assert params["text"]  # the coach's words as the notification text
    # The coach keeps the conversation per workspace and user.
    key = ConversationKey("slack", TEAM_ID, "U0ALICE")
    assert h.store.load_conversation(key)["current"]["draft"] == EASYJET_DRAFT
    # A follow-up in the same conversation is understood by the coach, not reviewed as a new draft.
    await h.slack.event(_dm("help", "1700000005.000002"), event_id="Ev005b")
    second = await h.api.wait_for(lambda: h.api.calls_to("chat.postMessage")[1:])
    assert "Do not post" not in texts(second[0].params["blocks"])
    assert second[0].params["text"] and second[0].params["text"] != params["text"]
    assert [r["draft"] for r in h.store.reviews(key)] == [EASYJET_DRAFT]


@pytest.mark.parametrize("extra", [
    {"bot_id": "B0OTHER"},                       # another bot
    {"user": BOT_USER_ID, "bot_id": "B0BOT"},    # this bot's own message
    {"subtype": "message_changed"},              # an edit
    {"subtype": "message_deleted"},
])
async def test_bots_and_edits_get_no_answer(h: Harness, extra: dict[str, Any]) -> None:
    reply = await h.slack.event(_dm(EASYJET_DRAFT, "1700000006.000001", **extra), event_id=f"Ev{extra}")
    assert reply.status == 200
    await h.api.settle(0.3)
    assert not h.api.calls_to("chat.postMessage")


# -- buttons ------------------------------------------------------------------------


async def test_copy_ready_shows_the_rewrite_alone(h: Harness) -> None:
    blocks = await review_via_command(h, EASYJET_DRAFT)
    copy = next(b for b in buttons(blocks) if b["action_id"] == ACTION_COPY)
    shown_rewrite = rewrite_quotes(blocks)[0]
    ack = await h.slack.interactive(block_action(ACTION_COPY, copy["value"], h.api.response_url("copy")))
    assert ack.status == 200
    posted = await h.api.wait_for(lambda: h.api.posted_to("copy"))
    body = posted[0].body
    assert body["response_type"] == "ephemeral"
    plain = [b for b in body["blocks"] if b["type"] == "section"]
    assert plain and all(b["text"]["type"] == "plain_text" for b in plain)
    assert body["text"] == plain[0]["text"]["text"]
    assert "&gt; " + body["text"] == shown_rewrite  # the same rewrite, without the quote marks
    assert not buttons(body["blocks"])


async def test_share_posts_the_review_and_the_rewrite_for_the_channel(h: Harness) -> None:
    blocks = await review_via_command(h, EASYJET_DRAFT)
    share = [b for b in buttons(blocks) if b["action_id"] == ACTION_SHARE][1]  # the second rewrite
    await h.slack.interactive(block_action(ACTION_SHARE, share["value"], h.api.response_url("share")))
    posted = await h.api.wait_for(lambda: h.api.posted_to("share"))
    body = posted[0].body
    assert body["response_type"] == "in_channel"
    shown = texts(body["blocks"])
    assert "<@U0ALICE> shared this review with the channel" in shown
    assert "Do not post" in shown and "Deletion demand" in shown
    assert rewrite_quotes(body["blocks"]) == [rewrite_quotes(blocks)[1]]  # only the chosen rewrite
    assert not buttons(body["blocks"])  # teammates see it, nothing to press


async def test_another_style_offers_a_rewrite_not_shown_yet(h: Harness) -> None:
    blocks = await review_via_command(h, EASYJET_DRAFT)
    shown = set(rewrite_quotes(blocks))
    assert len(shown) >= 2
    another = next(b for b in buttons(blocks) if b["action_id"] == ACTION_ANOTHER)
    await h.slack.interactive(block_action(ACTION_ANOTHER, another["value"], h.api.response_url("again")))
    posted = await h.api.wait_for(lambda: h.api.posted_to("again"))
    new_blocks = posted[0].body["blocks"]
    quoted = rewrite_quotes(new_blocks)
    assert quoted and quoted[0] not in shown
    new_buttons = buttons(new_blocks)
    assert [b["action_id"] for b in new_buttons] == [ACTION_COPY, ACTION_SHARE, ACTION_ANOTHER]
    # The new rewrite has buttons of its own that work.
    await h.slack.interactive(block_action(ACTION_COPY, new_buttons[0]["value"], h.api.response_url("copy2")))
    copied = await h.api.wait_for(lambda: h.api.posted_to("copy2"))
    assert "&gt; " + copied[0].body["text"] == quoted[0]
    # Pressing "Another style" under each new one: new styles until they run out, then a message.
    seen = shown | {quoted[0]}
    latest = new_buttons[2]["value"]
    for n in range(6):
        await h.slack.interactive(block_action(ACTION_ANOTHER, latest, h.api.response_url(f"a{n}")))
        body = (await h.api.wait_for(lambda n=n: h.api.posted_to(f"a{n}")))[0].body
        if "no other style" in texts(body["blocks"]):
            break
        offered = rewrite_quotes(body["blocks"])[0]
        assert offered not in seen
        seen.add(offered)
        latest = buttons(body["blocks"])[2]["value"]
    else:
        raise AssertionError("styles never ran out")


async def test_buttons_still_work_after_a_restart(tmp_path: Path) -> None:
    async with _harness(tmp_path) as h:
        blocks = await review_via_command(h, EASYJET_DRAFT)
    async with _harness(tmp_path) as again:  # a new app on the same store
        copy = next(b for b in buttons(blocks) if b["action_id"] == ACTION_COPY)
        await again.slack.interactive(block_action(ACTION_COPY, copy["value"], again.api.response_url("later")))
        posted = await again.api.wait_for(lambda: again.api.posted_to("later"))
        assert "&gt; " + posted[0].body["text"] == rewrite_quotes(blocks)[0]


async def test_forget_erases_the_reviews_kept_for_buttons(h: Harness) -> None:
    blocks = await review_via_command(h, EASYJET_DRAFT)
    h.store.forget(ConversationKey("slack", TEAM_ID, "U0ALICE"))
    copy = next(b for b in buttons(blocks) if b["action_id"] == ACTION_COPY)
    await h.slack.interactive(block_action(ACTION_COPY, copy["value"], h.api.response_url("forgotten")))
    posted = await h.api.wait_for(lambda: h.api.posted_to("forgotten"))
    assert "run `/review` again" in texts(posted[0].body["blocks"])


async def test_a_button_on_a_forgotten_review_says_what_to_do(h: Harness) -> None:
    value = json.dumps({"ref": "0000dead", "i": 0})
    await h.slack.interactive(block_action(ACTION_COPY, value, h.api.response_url("gone")))
    posted = await h.api.wait_for(lambda: h.api.posted_to("gone"))
    assert "run `/review` again" in texts(posted[0].body["blocks"])


# -- requests that are not Slack's -------------------------------------------------


async def test_unsigned_stale_or_forged_requests_are_rejected(h: Harness) -> None:
    url = h.api.response_url("never")
    unsigned = await h.slack.command(EASYJET_DRAFT, response_url=url, sign=False)
    stale = await h.slack.command(EASYJET_DRAFT, response_url=url, timestamp=int(time.time()) - 600)
    forged = await h.slack.command(EASYJET_DRAFT, response_url=url,
                                   headers={"X-Slack-Signature": "v0=" + "0" * 64})
    other = SignedSender(h.slack.url, secret="fedcba9876543210fedcba9876543210",
                         session=h.slack._session)
    wrong_secret = await other.command(EASYJET_DRAFT, response_url=url)
    assert [r.status for r in (unsigned, stale, forged, wrong_secret)] == [401, 401, 401, 401]
    await h.api.settle(0.2)
    assert not h.api.posted and all(c.method == "auth.test" for c in h.api.calls)


# -- Slack's limits -------------------------------------------------------------


async def test_a_review_longer_than_a_section_is_split_not_rejected(h: Harness) -> None:
    line = "We are sorry about the delay on your order and we are looking into it right now."
    draft = "\n".join(f"{n}. {line}" for n in range(90))  # about 7,500 characters
    assert len(draft) > 2 * MAX_SECTION_CHARS
    blocks = await review_via_command(h, draft, "split")
    assert_slack_limits(blocks)
    start = next(i for i, b in enumerate(blocks) if b["type"] == "section" and "*Draft*" in texts([b]))
    quoted = []
    for b in blocks[start:]:
        text = b.get("text", {}).get("text", "")
        if b["type"] != "section" or not (text.startswith("&gt;") or text.startswith("*Draft*\n")):
            break
        quoted.append(text.removeprefix("*Draft*\n"))
    assert len(quoted) >= 3
    rebuilt = "\n".join(quoted).replace("&gt; ", "")
    assert rebuilt == draft  # every line of the draft is there, in order


# -- an LLM endpoint that is down ------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_an_llm_that_is_down_still_gives_the_offline_review(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CM_COACH_LLM_API_KEY", "test-key")

    def llm_down(s: Settings) -> Settings:
        return replace(s, review=replace(s.review, engine="llm"),
                       llm=LLMSection(base_url=f"http://127.0.0.1:{_closed_port()}/v1", timeout=1.0,
                                      deadline=3.0, max_retries=0))

    async with _harness(tmp_path, llm_down) as h:
        blocks = await review_via_command(h, EASYJET_DRAFT, "llm")
        shown = texts(blocks)
        assert "offline engine" in shown
        assert "Deletion demand" in shown and buttons(blocks)
        notes = [b for b in blocks if b["type"] == "context" and "*Notes*" in texts([b])]
        assert notes and "LLM" in texts(notes) and "offline review" in texts(notes), texts(notes)


# -- App Home ---------------------------------------------------------------------


async def test_app_home_shows_the_rules_the_profile_and_the_users_figures(h: Harness) -> None:
    await review_via_command(h, EASYJET_DRAFT, "before-home")
    await h.slack.event({"type": "app_home_opened", "user": "U0ALICE", "channel": "D0ALICE", "tab": "home",
                         "event_ts": "1700000007.000001"}, event_id="Ev007")
    published = await h.api.wait_for(lambda: h.api.calls_to("views.publish"))
    params = published[0].params
    assert params["user_id"] == "U0ALICE"
    view = params["view"]
    assert view["type"] == "home"
    assert_slack_limits(view["blocks"])
    shown = texts(view["blocks"])
    for rule in ("Guard the reputation", "Produce", "Know how to react", "Federate"):
        assert rule in shown
    assert "/review" in shown  # how to use it
    assert "Aerolux" in shown  # the brand profile in force
    assert "1 review(s)" in shown and "Do not post: 1" in shown  # the user's own figures


async def test_app_home_follows_the_users_slack_locale(h: Harness) -> None:
    h.api.locales["U0JULIE"] = "fr-FR"
    await h.slack.event({"type": "app_home_opened", "user": "U0JULIE", "channel": "D0JULIE", "tab": "home",
                         "event_ts": "1700000008.000001"}, event_id="Ev008")
    published = await h.api.wait_for(lambda: h.api.calls_to("views.publish"))
    shown = texts(published[0].params["view"]["blocks"])
    assert "Les quatre règles d'or" in shown and "Pas encore de relecture" in shown
    info = h.api.calls_to("users.info")[0].params
    assert info["user"] == "U0JULIE" and str(info["include_locale"]).lower() in ("1", "true")


async def test_a_person_past_their_share_of_reviews_is_told_when_to_try_again_and_keeps_the_draft(
    tmp_path: Path,
) -> None:
    limited = lambda s: replace(s, slack=replace(s.slack, user_limit=2))  # noqa: E731
    async with _harness(tmp_path, limited) as h:
        for i in range(2):
            reply = await h.slack.command("Please delete the photo.", response_url=h.api.response_url(f"ok{i}"))
            assert "Reviewing" in reply.json()["text"]
        reply = await h.slack.command("Third draft: please delete the photo.", response_url=h.api.response_url("no"))
        answer = reply.json()
        assert reply.status == 200 and "try again in" in answer["text"]
        assert "Third draft: please delete the photo." in texts(answer["blocks"])  # nothing typed is lost
        other = await h.slack.command("Please delete the photo.", response_url=h.api.response_url("bob"),
                                      user="U0BOB")
        assert "Reviewing" in other.json()["text"]  # each person has their own share
        await h.api.wait_for(lambda: h.api.posted_to("ok1") and h.api.posted_to("bob"))
        await h.api.settle(0.3)
        assert not h.api.posted_to("no")


async def test_acked_work_is_marked_done_once_answered(h: Harness) -> None:
    await h.slack.command("Please delete the photo.", response_url=h.api.response_url("r1"))
    await h.slack.event({"type": "message", "channel_type": "im", "channel": "D0ALICE", "user": "U0ALICE",
                         "text": "Merci de supprimer la photo.", "ts": "1700000000.000100"}, event_id="EvDone")
    await h.api.wait_for(lambda: h.api.posted_to("r1") and h.api.calls_to("chat.postMessage"))
    await h.api.settle(0.3)
    assert h.app.cm_coach.work.resumable(3600) == []  # nothing left for a restart to send again
