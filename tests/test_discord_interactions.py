"""/review, the "Review draft" menu and the buttons, against a local Discord HTTP API.

The bot logs in to FakeDiscord (127.0.0.1), syncs its commands there, and
answers interactions built from Discord's JSON payloads through discord.py's
own parse_interaction_create: every defer, follow-up and edit is a real HTTP
request the test reads back.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
from pathlib import Path
from typing import Any

import discord
import pytest
from discord_fakes import (
    ALICE,
    APP_ID,
    BOB,
    TOKEN,
    FakeDiscord,
    button_press,
    buttons_of,
    message_menu,
    message_payload,
    slash_review,
)

from bot.coach import ConversationKey
from bot.config import DiscordSection, ReviewSection, Settings, StoreSection
from bot.platforms.discord import serve
from bot.platforms.discord.bot import CoachBot
from bot.render.discord import (
    EMBED_DESCRIPTION,
    EMBED_TOTAL,
    EMBEDS_PER_MESSAGE,
    FIELD_VALUE,
    MESSAGE_CHARS,
    embed_length,
    escape_mentions,
)
from bot.render.labels import label
from bot.review.models import Review
from bot.review.reviewer import Reviewer
from bot.store import Store

SNAPSHOT = Path(__file__).parent / "snapshots" / "discord_commands.json"
DRAFT = "Please delete the photo and DM us."
CUSTOMER = "How can this be allowed? My seat on flight 2021 had no backrest."


def make_settings(tmp_path: Path, **discord_fields: Any) -> Settings:
    return Settings(
        review=ReviewSection(engine="offline"),
        store=StoreSection(data_dir=str(tmp_path)),
        discord=DiscordSection(**{"cooldown_seconds": 0.0, **discord_fields}),
    )


@pytest.fixture
async def server(monkeypatch: pytest.MonkeyPatch):
    fake = FakeDiscord()
    await fake.start()
    monkeypatch.setattr(discord.http.Route, "BASE", fake.base)
    yield fake
    await fake.stop()


async def start_bot(tmp_path: Path, reviewer: Reviewer | None = None, **discord_fields: Any) -> CoachBot:
    settings = make_settings(tmp_path, **discord_fields)
    bot = CoachBot(settings, reviewer=reviewer,
                   store=Store(tmp_path / "cm-coach.sqlite3"))
    await bot.login(TOKEN)  # user, application info, then setup_hook
    return bot


@pytest.fixture
async def bot(server: FakeDiscord, tmp_path: Path):
    client = await start_bot(tmp_path)
    yield client
    await client.close()


def dispatch(bot: CoachBot, payload: dict[str, Any]) -> None:
    """What the gateway does with an INTERACTION_CREATE event."""
    bot._connection.parse_interaction_create(payload)  # type: ignore[arg-type]


def stored_review(bot: CoachBot, message: dict[str, Any]) -> Review:
    custom_id = next(iter(buttons_of(message).values()))
    _, _, owner, key, _ = custom_id.split(":")
    loaded = bot.desk.recall(key)
    assert loaded is not None and loaded.owner == owner
    return loaded.review


async def review_via_slash(server: FakeDiscord, bot: CoachBot, **options: Any) -> dict[str, Any]:
    """Run /review and return the follow-up message (as the server stored it)."""
    dispatch(bot, slash_review(server.commands, **options))
    follow = (await server.wait_for("POST", f"/webhooks/{APP_ID}/"))[-1]
    return next(m for m in server.messages.values() if m["embeds"] == follow.body["embeds"])


# ------------------------------------------------------------------ sync


async def test_commands_sync_once_globally_and_match_the_snapshot(server: FakeDiscord, bot: CoachBot):
    syncs = server.find("PUT", "/commands")
    assert [c.path for c in syncs] == [f"/applications/{APP_ID}/commands"]
    payload = syncs[0].body
    if os.environ.get("CM_COACH_UPDATE_SNAPSHOTS"):
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    assert payload == json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    # A reconnect fires on_ready / on_resumed again: no second sync.
    bot.dispatch("ready")
    bot.dispatch("resumed")
    await asyncio.sleep(0.05)
    assert len(server.find("PUT", "/commands")) == 1


async def test_commands_go_to_the_development_guild_when_set(server: FakeDiscord, tmp_path: Path):
    client = await start_bot(tmp_path, dev_guild_id=4242)
    try:
        paths = [c.path for c in server.find("PUT", "/commands")]
        assert paths == [f"/applications/{APP_ID}/guilds/4242/commands"]
        names = sorted(c["name"] for c in server.find("PUT", "/commands")[0].body)
        assert names == ["Review draft", "review"]
    finally:
        await client.close()


# ------------------------------------------------------------------ /review


class GatedReviewer(Reviewer):
    """Holds every review until the test lets it through."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, engine="offline")
        self.gate = asyncio.Event()

    async def review(self, request):  # type: ignore[no-untyped-def]
        await self.gate.wait()
        return await super().review(request)


async def test_review_defers_at_once_then_follows_up_with_the_review(server: FakeDiscord, tmp_path: Path):
    reviewer = GatedReviewer(make_settings(tmp_path))
    client = await start_bot(tmp_path, reviewer=reviewer)
    try:
        dispatch(client, slash_review(server.commands, draft=DRAFT, context=CUSTOMER, platform="x"))
        defer = (await server.wait_for("POST", "/callback"))[0]
        assert defer.body["type"] == 5  # deferred channel message, "cm-coach is thinking…"
        assert not (defer.body.get("data") or {}).get("flags", 0) & 64  # public by default
        assert server.find("POST", f"/webhooks/{APP_ID}/") == []  # still reviewing
        reviewer.gate.set()
        follow = (await server.wait_for("POST", f"/webhooks/{APP_ID}/"))[0].body
    finally:
        await client.close()
    assert follow["allowed_mentions"] == {"parse": []}
    first = follow["embeds"][0]
    assert first["title"].startswith("🛑 " + label("verdict_block", "en"))
    assert [f["name"] for f in first["fields"] if f["name"] != "\u200b"] == [label(f"rule_{r}", "en") for r in
                                                    ("reputation", "produce", "react", "federate")]
    text = "\n".join(e["description"] for e in follow["embeds"])
    assert "Please delete the photo" in text  # the quoted words of the finding
    assert "easyJet 2019" in text  # the case it recalls
    assert CUSTOMER.split("?")[0] in text  # the customer's message, shown with the draft
    footers = [e["footer"]["text"] for e in follow["embeds"] if "footer" in e]
    assert f"{label('engine_offline', 'en')} · en · x" in footers  # engine, language, platform
    buttons = [c for row in follow["components"] for c in row["components"]]
    assert [b["label"] for b in buttons] == ["Use this", "Another style", "Why?"]
    assert all(re.fullmatch(rf"cmc:(use|next|why):{ALICE}:[0-9a-f]+:0", b["custom_id"]) for b in buttons)


async def test_private_review_is_ephemeral_from_the_defer_on(server: FakeDiscord, bot: CoachBot):
    dispatch(bot, slash_review(server.commands, draft=DRAFT, private=True))
    follow = (await server.wait_for("POST", f"/webhooks/{APP_ID}/"))[0].body
    defer = server.find("POST", "/callback")[0].body
    assert defer["type"] == 5 and defer["data"]["flags"] & 64
    assert follow["flags"] & 64


async def test_review_in_french_uses_french_labels(server: FakeDiscord, bot: CoachBot):
    message = await review_via_slash(
        server, bot, draft="Merci de supprimer votre photo et de nous écrire en MP.", locale="fr")
    assert message["embeds"][0]["title"].startswith("🛑 " + label("verdict_block", "fr"))
    assert list(buttons_of(message)) == ["Utiliser", "Autre style", "Pourquoi ?"]


async def test_draft_with_everyone_pings_no_one(server: FakeDiscord, bot: CoachBot):
    draft = f"@everyone @here <@{BOB}> <@&123456789012345678> please delete the photo."
    dispatch(bot, slash_review(server.commands, draft=draft))
    follow = (await server.wait_for("POST", f"/webhooks/{APP_ID}/"))[0].body
    assert follow["allowed_mentions"] == {"parse": []}
    shown = json.dumps(follow, ensure_ascii=False)
    for raw in ("@everyone", "@here", f"<@{BOB}>", "<@&123456789012345678>"):
        assert raw not in shown
    assert "@\u200beveryone" in shown  # still readable


async def test_a_review_longer_than_the_limits_arrives_whole_in_several_parts(
    server: FakeDiscord, bot: CoachBot
):
    words = [f"w{i}" for i in range(1100)]
    draft = "Please delete the photo. " + " ".join(words)  # ~5,900 characters
    assert 5500 < len(draft) <= 6000
    dispatch(bot, slash_review(server.commands, draft=draft))
    # The buttons ride on the last part: once they arrive, everything has.
    await server.wait_until(lambda: any(
        c.body.get("components") for c in server.find("POST", f"/webhooks/{APP_ID}/")))
    bodies = [c.body for c in server.find("POST", f"/webhooks/{APP_ID}/")]
    embeds = [e for b in bodies for e in b["embeds"]]
    assert len(embeds) > 1
    for body in bodies:
        assert len(body.get("content") or "") <= MESSAGE_CHARS
        assert len(body["embeds"]) <= EMBEDS_PER_MESSAGE
        assert sum(embed_length(e) for e in body["embeds"]) <= EMBED_TOTAL
        for e in body["embeds"]:
            assert len(e.get("description", "")) <= EMBED_DESCRIPTION
            assert all(len(f["value"]) <= FIELD_VALUE for f in e.get("fields", []))
    shown = " ".join(e.get("description", "") for e in embeds)
    assert re.findall(r"\bw\d+\b", shown) == words  # every word, in order, none cut
    assert "components" in bodies[-1] and all(not b.get("components") for b in bodies[:-1])


async def test_a_draft_over_the_limit_gets_a_message_saying_what_to_do(server: FakeDiscord, tmp_path: Path):
    settings = make_settings(tmp_path)
    settings = Settings(review=ReviewSection(engine="offline", max_draft_chars=50),
                        store=settings.store, discord=settings.discord)
    client = CoachBot(settings, store=Store(":memory:"))
    await client.login(TOKEN)
    try:
        dispatch(client, slash_review(server.commands, draft="x " * 60))
        follow = (await server.wait_for("POST", f"/webhooks/{APP_ID}/"))[0].body
    finally:
        await client.close()
    assert "limit is 50" in follow["content"] and follow["flags"] & 64
    assert "x x x" in follow["content"]  # the draft is given back


async def test_cooldown_answers_the_second_request_privately(server: FakeDiscord, tmp_path: Path):
    client = await start_bot(tmp_path, cooldown_seconds=60.0)
    try:
        dispatch(client, slash_review(server.commands, draft=DRAFT))
        await server.wait_for("POST", f"/webhooks/{APP_ID}/")
        dispatch(client, slash_review(server.commands, draft=DRAFT))
        second = (await server.wait_for("POST", "/callback", count=2))[1].body
    finally:
        await client.close()
    assert second["type"] == 4 and second["data"]["flags"] & 64
    assert re.search(r"try again in \d+ s", second["data"]["content"])


class BrokenReviewer(Reviewer):
    def prepare(self, request):  # type: ignore[no-untyped-def]
        raise RuntimeError("the review service fell over")


async def test_a_failure_answers_privately_and_gives_the_draft_back(server: FakeDiscord, tmp_path: Path):
    client = await start_bot(tmp_path, reviewer=BrokenReviewer(make_settings(tmp_path)))
    try:
        dispatch(client, slash_review(server.commands, draft=DRAFT))
        follow = (await server.wait_for("POST", f"/webhooks/{APP_ID}/"))[0].body
    finally:
        await client.close()
    assert follow["flags"] & 64
    assert follow["content"].startswith(label("error_generic", "en"))
    assert DRAFT in follow["content"]
    assert "fell over" not in follow["content"]  # internals stay in the log


# ------------------------------------------------------------------ context menu


async def test_review_draft_menu_reviews_the_message_with_its_parent_as_context(
    server: FakeDiscord, bot: CoachBot
):
    customer = message_payload(CUSTOMER, author=BOB)
    server.messages[int(customer["id"])] = customer
    draft = message_payload(DRAFT, author=ALICE, reference=int(customer["id"]))
    dispatch(bot, message_menu(server.commands, draft))
    follow = (await server.wait_for("POST", f"/webhooks/{APP_ID}/"))[0].body
    defer = server.find("POST", "/callback")[0].body
    assert defer["type"] == 5 and defer["data"]["flags"] & 64  # only the requester sees it
    assert follow["flags"] & 64
    assert server.find("GET", f"/messages/{customer['id']}")  # fetched the parent
    message = next(m for m in server.messages.values() if m["embeds"] == follow["embeds"])
    review = stored_review(bot, message)
    assert (review.draft, review.context) == (DRAFT, CUSTOMER)
    assert "deletion_demand" in {f.category for f in review.findings}


async def test_review_draft_menu_on_a_message_without_text(server: FakeDiscord, bot: CoachBot):
    dispatch(bot, message_menu(server.commands, message_payload("", author=BOB)))
    answer = (await server.wait_for("POST", "/callback"))[0].body
    assert answer["type"] == 4 and answer["data"]["flags"] & 64
    assert answer["data"]["content"] == label("discord_no_text", "en")


# ------------------------------------------------------------------ buttons


async def test_only_the_requester_may_press_the_buttons(server: FakeDiscord, bot: CoachBot):
    message = await review_via_slash(server, bot, draft=DRAFT)
    for custom_id in buttons_of(message).values():
        dispatch(bot, button_press(message, custom_id, user=BOB))
    answers = await server.wait_for("POST", "/callback", count=4)
    refusals = [a.body for a in answers[1:]]
    assert all(r["type"] == 4 and r["data"]["flags"] & 64 for r in refusals)
    assert {r["data"]["content"] for r in refusals} == {label("discord_owner_only", "en")}
    assert not server.find("PATCH", "/webhooks/")


async def test_use_this_gives_the_rewrite_alone(server: FakeDiscord, bot: CoachBot):
    message = await review_via_slash(server, bot, draft=DRAFT)
    review = stored_review(bot, message)
    dispatch(bot, button_press(message, buttons_of(message)["Use this"]))
    answer = (await server.wait_for("POST", "/callback", count=2))[1].body
    assert answer["type"] == 4 and answer["data"]["flags"] & 64
    assert answer["data"]["content"] == escape_mentions(review.rewrites[0].text)
    assert answer["data"]["allowed_mentions"] == {"parse": []}


async def test_another_style_edits_the_message_with_the_next_rewrite(server: FakeDiscord, bot: CoachBot):
    message = await review_via_slash(server, bot, draft=DRAFT)
    review = stored_review(bot, message)
    assert len(review.rewrites) >= 2
    dispatch(bot, button_press(message, buttons_of(message)["Another style"]))
    answer = (await server.wait_for("POST", "/callback", count=2))[1].body
    assert answer["type"] == 7  # update the message the button is on
    rewrite_embed = answer["data"]["embeds"][-1]
    assert f"(2/{len(review.rewrites)})" in rewrite_embed["title"]
    assert review.rewrites[1].text.split("[")[0].strip() in rewrite_embed["description"]
    ids = [c["custom_id"] for row in answer["data"]["components"] for c in row["components"]]
    assert ids and all(i.endswith(":1") for i in ids)


async def test_another_style_after_the_last_rewrite_offers_a_new_style(server: FakeDiscord, bot: CoachBot):
    message = await review_via_slash(server, bot, draft=DRAFT)
    shown = len(stored_review(bot, message).rewrites)
    # The last rewrite of the review is the one on screen.
    another = buttons_of(message)["Another style"]
    last = another.rsplit(":", 1)[0] + f":{shown - 1}"
    on_screen = json.loads(json.dumps(message).replace(another, last))
    dispatch(bot, button_press(on_screen, last))
    answer = (await server.wait_for("POST", "/callback", count=2))[1].body
    ids = [c["custom_id"] for row in answer["data"]["components"] for c in row["components"]]
    key, index = ids[0].split(":")[3], int(ids[0].rsplit(":", 1)[1])
    kept = bot.desk.recall(key)
    assert kept is not None
    # As on Slack: a style the review did not offer, kept with it so that its buttons work.
    assert index == shown and len(kept.review.rewrites) == shown + 1
    assert kept.review.rewrites[index].style not in {r.style for r in kept.review.rewrites[:shown]}


async def test_slash_reviews_count_in_the_users_figures(server: FakeDiscord, bot: CoachBot):
    await review_via_slash(server, bot, draft=DRAFT)
    figures = bot.desk.stats(ConversationKey("discord", "dm", str(ALICE)))
    assert figures.reviews == 1 and figures.verdicts


async def test_why_explains_each_golden_rule_and_finding(server: FakeDiscord, bot: CoachBot):
    message = await review_via_slash(server, bot, draft=DRAFT, context=CUSTOMER)
    dispatch(bot, button_press(message, buttons_of(message)["Why?"]))
    answer = (await server.wait_for("POST", "/callback", count=2))[1].body
    assert answer["type"] == 4 and answer["data"]["flags"] & 64
    embed = answer["data"]["embeds"][0]
    assert embed["title"] == "Why this verdict"
    for rule in ("reputation", "produce", "react", "federate"):
        assert label(f"rule_{rule}", "en") in embed["description"]
    assert "easyJet 2019" in embed["description"]


async def test_buttons_keep_working_after_a_restart(server: FakeDiscord, tmp_path: Path):
    first = await start_bot(tmp_path)
    message = await review_via_slash(server, first, draft=DRAFT)
    await first.close()
    second = await start_bot(tmp_path)  # a new process: nothing in memory
    try:
        dispatch(second, button_press(message, buttons_of(message)["Why?"]))
        answer = (await server.wait_for("POST", "/callback", count=2))[1].body
    finally:
        await second.close()
    assert answer["data"]["embeds"][0]["title"] == "Why this verdict"


async def test_a_button_of_a_forgotten_review_says_what_to_do(server: FakeDiscord, bot: CoachBot):
    message = await review_via_slash(server, bot, draft=DRAFT)
    custom_id = buttons_of(message)["Why?"]
    forgotten = re.sub(r":[0-9a-f]+:0$", ":0123456789ab:0", custom_id)
    for row in message["components"]:
        for c in row["components"]:
            c["custom_id"] = c["custom_id"].replace(custom_id, forgotten)
    dispatch(bot, button_press(message, forgotten))
    answer = (await server.wait_for("POST", "/callback", count=2))[1].body
    assert answer["data"]["content"] == label("discord_expired", "en", days=90)


# ------------------------------------------------------------------ start-up


def test_missing_token_names_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    assert serve(None, make_settings(tmp_path)) == 2  # type: ignore[arg-type]
    err = capsys.readouterr().err
    assert "DISCORD_TOKEN is not set" in err and "Traceback" not in err


def test_rejected_token_names_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    fake = FakeDiscord(login_status=401)
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(fake.start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(5)
    try:
        monkeypatch.setattr(discord.http.Route, "BASE", fake.base)
        monkeypatch.setenv("DISCORD_TOKEN", "rejected-token")
        assert serve(None, make_settings(tmp_path)) == 2  # type: ignore[arg-type]
    finally:
        asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
    err = capsys.readouterr().err
    assert "rejected the token in DISCORD_TOKEN" in err and "Traceback" not in err
    assert "rejected-token" not in err  # never print a token
    assert [c.path for c in fake.calls] == ["/users/@me"]


def test_cli_serve_discord_reaches_the_bot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    from bot.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("CM_COACH_CONFIG", raising=False)
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    assert main(["serve", "discord"]) == 2
    assert "DISCORD_TOKEN is not set" in capsys.readouterr().err
