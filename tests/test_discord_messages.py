"""Mentions, replies and DMs, driven through dpytest's simulated gateway.

Two adjustments for dpytest 0.7.0 with discord.py 2.7, both in the fixture:
- discord.py 2.7's ConnectionState ignores the loop dpytest hands it, so
  `typing()` would find no loop: the fixture sets it.
- dpytest's fake HTTP layer keeps neither allowed_mentions nor the reply
  reference of what the bot sends, so the fixture records each payload exactly
  as discord.py built it, before handing it on.
dpytest also keeps its fake members in the member cache, which needs the
members intent; the bot asks for it only here (its real intents are tested
on their own).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import discord
import discord.ext.test as dpytest
import pytest
from discord.ext.test import backend, factories

from bot.app.limits import Cooldown
from bot.coach import Coach, ConversationKey
from bot.config import DiscordSection, ReviewSection, Settings, StoreSection
from bot.platforms.discord.bot import CoachBot, intents_for
from bot.render.discord import escape_mentions, split_text
from bot.render.labels import label
from bot.review.reviewer import Reviewer
from bot.store import Store

DRAFT = "Please delete the photo and DM us."
CUSTOMER = "How can this be allowed? My seat on flight 2021 had no backrest."


def make_settings(tmp_path: Path, cooldown: float = 0.0) -> Settings:
    return Settings(
        review=ReviewSection(engine="offline"),
        store=StoreSection(data_dir=str(tmp_path)),
        discord=DiscordSection(cooldown_seconds=cooldown),
    )


async def make_bot(tmp_path: Path, cooldown: float = 0.0) -> tuple[CoachBot, list[dict[str, Any]]]:
    settings = make_settings(tmp_path, cooldown)
    intents = intents_for(settings)
    intents.members = True  # dpytest's fake members live in the member cache
    bot = CoachBot(settings, store=Store(":memory:"), intents=intents)
    await bot._async_setup_hook()
    dpytest.configure(bot, members=["Alice", "Bob"])
    bot._connection.loop = asyncio.get_running_loop()
    sent: list[dict[str, Any]] = []
    fake_send = bot.http.send_message

    async def send_message(channel_id: int, *, params: Any) -> Any:
        # dpytest's FakeHttp reads `channel` from its caller's locals.
        channel = bot.get_channel(channel_id) or bot._connection._get_private_channel(channel_id)  # noqa: F841
        sent.append(params.payload)
        return await fake_send(channel_id, params=params)

    bot.http.send_message = send_message  # type: ignore[method-assign]
    return bot, sent


@pytest.fixture
async def harness(tmp_path: Path):
    bot, sent = await make_bot(tmp_path)
    yield bot, sent
    await dpytest.empty_queue()


def post(content: str, author: discord.Member, channel: Any, *, reply_to: discord.Message | None = None,
         author_is_bot: bool = False, everyone: bool = False) -> discord.Message:
    """A MESSAGE_CREATE as Discord sends it, with the reply's reference and referenced message."""
    guild = getattr(channel, "guild", None)
    data = factories.make_message_dict(
        channel, author, content=content, mention_everyone=everyone,
        mentions=backend.find_user_mentions(content, guild),
        mention_roles=backend.find_role_mentions(content, guild),
    )
    if author_is_bot:  # a user the cache has not seen, so that its bot flag is read
        data["author"] = factories.make_user_dict("Robot", "0042", None, bot=True)
    if reply_to is not None:
        data["message_reference"] = {"message_id": reply_to.id, "channel_id": channel.id,
                                     "guild_id": guild.id if guild else None}
        data["type"] = 19
        # Discord resolves one level: the parent, with its own reference but not its parent.
        raw = next(m for m in backend._cur_config.messages[channel.id] if m["id"] == reply_to.id)
        data["referenced_message"] = {k: v for k, v in raw.items() if k != "referenced_message"}
    config = backend.get_state()
    backend._cur_config.messages.setdefault(channel.id, []).append(data)
    config.parse_message_create(data)
    return config._get_message(data["id"])


def texts(payload: dict[str, Any]) -> str:
    embeds = payload.get("embeds") or []
    return "\n".join([payload.get("content") or ""] + [e.get("description", "") for e in embeds])


# ------------------------------------------------------------------ mentions


async def test_mention_replies_to_the_message_with_the_review(harness):
    bot, sent = harness
    cfg = dpytest.get_config()
    channel, alice = cfg.channels[0], cfg.members[0]
    message = await dpytest.message(f"<@{bot.user.id}> {DRAFT}", channel=channel, member=alice)
    assert len(sent) == 1
    payload = sent[0]
    assert payload["message_reference"]["message_id"] == message.id
    assert payload["allowed_mentions"] == {"parse": [], "replied_user": False}
    assert payload["embeds"][0]["title"].startswith("🛑 " + label("verdict_block", "en"))
    assert "Please delete the photo" in texts(payload)
    labels = [c["label"] for row in payload["components"] for c in row["components"]]
    assert labels == ["Use this", "Another style", "Why?"]
    assert all(f":{alice.id}:" in c["custom_id"] for row in payload["components"] for c in row["components"])


async def test_mention_in_a_reply_reviews_the_referenced_message_with_its_parent(harness):
    bot, sent = harness
    cfg = dpytest.get_config()
    channel, alice, bob = cfg.channels[0], cfg.members[0], cfg.members[1]
    customer = post(CUSTOMER, bob, channel)
    draft = post(DRAFT, alice, channel, reply_to=customer)
    ask = post(f"<@{bot.user.id}>", alice, channel, reply_to=draft)
    await dpytest.run_all_events()
    assert len(sent) == 1
    assert sent[0]["message_reference"]["message_id"] == ask.id
    custom_id = sent[0]["components"][0]["components"][0]["custom_id"]
    stored = bot.desk.recall(custom_id.split(":")[3])
    assert stored is not None
    owner, review = stored.owner, stored.review
    assert owner == str(alice.id)
    assert review.draft == DRAFT  # the referenced message, not the mention
    assert review.context == CUSTOMER  # the referenced message's own parent, fetched
    assert "deletion_demand" in {f.category for f in review.findings}


async def test_mention_alone_explains_how_to_ask(harness):
    bot, sent = harness
    cfg = dpytest.get_config()
    await dpytest.message(f"<@{bot.user.id}>", channel=cfg.channels[0], member=cfg.members[0])
    assert [p["content"] for p in sent] == [label("discord_usage", "en")]


async def test_draft_with_everyone_a_role_and_a_user_pings_no_one(harness):
    bot, sent = harness
    cfg = dpytest.get_config()
    channel, bob = cfg.channels[0], cfg.members[1]
    draft = f"@everyone @here <@{bob.id}> <@&{cfg.guilds[0].id}> please delete the photo."
    await dpytest.message(f"<@{bot.user.id}> {draft}", channel=channel, member=cfg.members[0])
    assert len(sent) == 1
    assert sent[0]["allowed_mentions"] == {"parse": [], "replied_user": False}
    shown = json.dumps(sent[0], ensure_ascii=False)
    for raw in ("@everyone", "@here", f"<@{bob.id}>", f"<@&{cfg.guilds[0].id}>"):
        assert raw not in shown
    assert "please delete the photo" in shown.lower()  # the review did arrive


async def test_everyone_and_other_mentions_do_not_summon_the_bot(harness):
    _, sent = harness
    cfg = dpytest.get_config()
    channel, alice, bob = cfg.channels[0], cfg.members[0], cfg.members[1]
    post(f"@everyone {DRAFT}", alice, channel, everyone=True)
    post(f"<@{bob.id}> {DRAFT}", alice, channel)
    post(DRAFT, alice, channel)
    await dpytest.run_all_events()
    assert sent == []


async def test_messages_from_bots_are_ignored(harness):
    bot, sent = harness
    cfg = dpytest.get_config()
    post(f"<@{bot.user.id}> {DRAFT}", cfg.members[1], cfg.channels[0], author_is_bot=True)
    await dpytest.run_all_events()
    assert sent == []
    # Nor does the bot answer its own messages (they mention nobody, but are from a bot).
    await cfg.channels[0].send(f"<@{bot.user.id}> {DRAFT}")
    await dpytest.run_all_events()
    assert len(sent) == 1  # only the message the test just sent as the bot


async def test_a_second_mention_within_the_cooldown_is_told_to_wait(tmp_path: Path):
    bot, sent = await make_bot(tmp_path, cooldown=60.0)
    try:
        cfg = dpytest.get_config()
        for _ in range(2):
            await dpytest.message(f"<@{bot.user.id}> {DRAFT}", channel=cfg.channels[0], member=cfg.members[0])
        assert len(sent) == 2
        assert sent[0]["embeds"]
        assert sent[1]["content"].startswith("One review at a time: try again in ")
        # Someone else is not held back.
        await dpytest.message(f"<@{bot.user.id}> {DRAFT}", channel=cfg.channels[0], member=cfg.members[1])
        assert sent[2]["embeds"]
    finally:
        await dpytest.empty_queue()


async def test_a_failure_reaches_the_user_with_the_draft_given_back(harness, monkeypatch):
    bot, sent = harness

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(bot, "run_review", broken)
    cfg = dpytest.get_config()
    await dpytest.message(f"<@{bot.user.id}> {DRAFT}", channel=cfg.channels[0], member=cfg.members[0])
    assert len(sent) == 1
    assert sent[0]["content"].startswith(label("error_generic", "en"))
    assert DRAFT in sent[0]["content"]


# ------------------------------------------------------------------ DMs


async def test_direct_messages_go_to_the_coach(harness):
    bot, sent = harness
    cfg = dpytest.get_config()
    alice = cfg.members[0]
    dm = await alice.create_dm()
    await dpytest.message(DRAFT, channel=dm, member=alice)
    # What the coaching core answers to this first message, on a fresh store.
    expected = await Coach(Reviewer(bot.settings), Store(":memory:")).handle(
        ConversationKey(platform="discord", workspace="dm", user=str(alice.id)), DRAFT)
    assert sent, "no answer to the DM"
    assert all("message_reference" not in p for p in sent)
    assert all(p["allowed_mentions"] == {"parse": []} for p in sent)
    contents = [p["content"] for p in sent if p.get("content")]
    assert contents == split_text(escape_mentions(expected.text), 2000)
    if expected.review is not None:
        embeds = [e for p in sent for e in p.get("embeds") or []]
        assert label(f"verdict_{expected.review.verdict}", "en") in embeds[0]["title"]


async def test_an_empty_dm_gets_instructions(harness):
    _, sent = harness
    cfg = dpytest.get_config()
    alice = cfg.members[0]
    dm = await alice.create_dm()
    await dpytest.message("   ", channel=dm, member=alice)
    assert [p["content"] for p in sent] == [label("discord_usage_dm", "en")]


# ------------------------------------------------------------------ pieces


def test_intents_are_the_ones_the_features_need():
    settings = Settings()
    intents = intents_for(settings)
    enabled = {name for name, on in intents if on}
    assert enabled == {"guilds", "guild_messages", "dm_messages", "message_content"}
    off = Settings(discord=DiscordSection(message_content=False))
    assert not intents_for(off).message_content
    assert not intents.members and not intents.presences  # no other privileged intent


def test_cooldown_is_per_user_and_expires():
    now = [100.0]
    cooldown = Cooldown(5.0, clock=lambda: now[0])
    assert cooldown.retry_after(1) == 0
    assert cooldown.retry_after(1) == pytest.approx(5.0)
    assert cooldown.retry_after(2) == 0
    now[0] += 4.0
    assert cooldown.retry_after(1) == pytest.approx(1.0)
    now[0] += 1.0
    assert cooldown.retry_after(1) == 0


async def test_a_reply_to_an_unreadable_message_says_how_to_proceed(harness):
    bot, sent = harness
    cfg = dpytest.get_config()
    channel, alice, bob = cfg.channels[0], cfg.members[0], cfg.members[1]
    # Without the Message Content intent, Discord sends other people's messages with no text.
    hidden = post("", bob, channel)
    post(f"<@{bot.user.id}>", alice, channel, reply_to=hidden)
    await dpytest.run_all_events()
    assert [p["content"] for p in sent] == [label("discord_cannot_read", "en")]
