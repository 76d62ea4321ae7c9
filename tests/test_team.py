"""The team around the reply on Slack, over HTTP against a local Web API: a review
asks for approval, a teammate approves or requests changes, the requester is told,
nobody approves their own request, every step is audited; crisis mode changes the
next review and ends by itself (a clock the test moves)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from bot.coach import ConversationKey
from bot.config import Settings
from tests.slack_api_server import TEAM_ID
from tests.test_slack_app import Harness, _harness, texts

APPROVERS = "C0APPROVERS"
ALICE, BOB, CAROL = "U0ALICE", "U0BOB", "U0CAROL"  # Alice asks; Bob approves; Carol is no approver
DRAFT = "Please delete the photo and DM us."


def with_approvers(settings: Settings) -> Settings:
    return replace(settings, team=replace(settings.team, approvers_channel=APPROVERS),
                   slack=replace(settings.slack, admins=(ALICE,)))


def _buttons(blocks: list[dict[str, Any]], action_id: str) -> list[dict[str, Any]]:
    return [e for b in blocks if b.get("type") == "actions" for e in b["elements"] if e["action_id"] == action_id]


def _press(h: Harness, element: dict[str, Any], user: str, response: str) -> Any:
    payload = {"type": "block_actions", "user": {"id": user}, "trigger_id": "trigger.9",
               "channel": {"id": "C0TEAM"}, "response_url": h.api.response_url(response),
               "actions": [{"action_id": element["action_id"], "value": element["value"], "type": "button",
                            "block_id": "b", "action_ts": "1"}]}
    return h.slack.interactive(payload)


async def _review(h: Harness, name: str, text: str = DRAFT) -> list[dict[str, Any]]:
    await h.slack.command(text, response_url=h.api.response_url(name), user=ALICE)
    return (await h.api.wait_for(lambda: h.api.posted_to(name)))[0].body["blocks"]


async def test_a_review_goes_to_the_approvers_and_the_requester_is_told(tmp_path: Path) -> None:
    async with _harness(tmp_path, with_approvers) as h:
        h.api.members[APPROVERS] = [BOB, CAROL, ALICE]
        blocks = await _review(h, "review")
        asks = _buttons(blocks, "request_approval")
        assert len(asks) >= 2  # the draft as written, and each rewrite
        await _press(h, asks[1], ALICE, "asked")  # the first rewrite
        await h.api.wait_for(lambda: h.api.posted_to("asked"))
        posted = [c for c in h.api.calls_to("chat.postMessage") if c.params["channel"] == APPROVERS]
        assert len(posted) == 1
        request = json.loads(posted[0].params["blocks"]) if isinstance(posted[0].params["blocks"], str) \
            else posted[0].params["blocks"]
        approve = _buttons(request, "approve")[0]
        changes = _buttons(request, "request_changes")[0]
        version = texts(request)

        await _press(h, approve, ALICE, "own")  # her own request
        own = await h.api.wait_for(lambda: h.api.posted_to("own"))
        await _press(h, approve, "U0STRANGER", "stranger")  # not in the approvers' channel
        stranger = await h.api.wait_for(lambda: h.api.posted_to("stranger"))
        await _press(h, approve, BOB, "bob")
        told = await h.api.wait_for(lambda: [c for c in h.api.calls_to("chat.postMessage")
                                             if c.params["channel"] == ALICE])
        await _press(h, changes, CAROL, "late")  # decided already
        late = await h.api.wait_for(lambda: h.api.posted_to("late"))
        updated = await h.api.wait_for(lambda: h.api.calls_to("chat.update"))
        trail = h.store.audit_trail(ConversationKey("slack", TEAM_ID, ALICE)) + \
            h.store.audit_trail(ConversationKey("slack", TEAM_ID, BOB))
    assert "Nobody approves their own request" in own[0].body["text"]
    assert "Only members of the approvers' channel" in stranger[0].body["text"]
    assert "already decided" in late[0].body["text"]
    told_blocks = told[0].params["blocks"]
    told_text = json.dumps(told_blocks, ensure_ascii=False)
    assert "approved your reply" in told_text and f"<@{BOB}>" in told_text
    rewrite = next(line for line in version.split("\n") if line.startswith("&gt; "))[5:]
    assert rewrite.split("[")[0].strip()[:30] in told_text  # the approved text, ready to copy
    assert "Approved by" in json.dumps(updated[0].params.get("blocks"))
    actions = [row["action"] for row in trail]
    assert actions.count("approval.request") == 1 and actions.count("approval.approve") == 1


async def test_changes_are_requested_with_a_note(tmp_path: Path) -> None:
    async with _harness(tmp_path, with_approvers) as h:
        h.api.members[APPROVERS] = [BOB]
        blocks = await _review(h, "review")
        await _press(h, _buttons(blocks, "request_approval")[0], ALICE, "asked")  # the draft itself
        await h.api.wait_for(lambda: h.api.posted_to("asked"))
        request = next(c for c in h.api.calls_to("chat.postMessage") if c.params["channel"] == APPROVERS)
        changes = _buttons(request.params["blocks"], "request_changes")[0]
        await _press(h, changes, BOB, "changes")
        opened = await h.api.wait_for(lambda: h.api.calls_to("views.open"))
        view = opened[0].params["view"]
        view = json.loads(view) if isinstance(view, str) else view
        submission = {"type": "view_submission", "user": {"id": BOB}, "trigger_id": "t",
                      "view": {"id": "V1", "type": "modal", "callback_id": view["callback_id"],
                               "private_metadata": view["private_metadata"],
                               "state": {"values": {"note": {"note": {"type": "plain_text_input",
                                                                      "value": "Name the delay and apologise."}}}}}}
        await h.slack.interactive(submission)
        told = await h.api.wait_for(lambda: [c for c in h.api.calls_to("chat.postMessage")
                                             if c.params["channel"] == ALICE])
        trail = h.store.audit_trail(ConversationKey("slack", TEAM_ID, BOB))
    text = json.dumps(told[0].params["blocks"], ensure_ascii=False)
    assert "asks for changes" in text and "Name the delay and apologise." in text
    assert [row["action"] for row in trail] == ["approval.changes"]


async def test_crisis_mode_changes_the_next_review_and_ends_by_itself(tmp_path: Path) -> None:
    async with _harness(tmp_path, with_approvers) as h:
        desk = h.app.cm_coach.desk
        now = [1_800_000_000.0]
        desk.clock = lambda: now[0]
        # A low-severity reputation risk: posted in calm times, revised in a crisis.
        draft = "Merci pour votre retour ! Pas de souci, votre avis compte 🙂"
        calm = await _review(h, "calm", draft)
        await h.slack.command("crisis on 2", response_url=h.api.response_url("on"), user=CAROL)
        refused = await h.api.wait_for(lambda: h.api.posted_to("on"))
        await h.slack.command("crisis on 2", response_url=h.api.response_url("on2"), user=ALICE)
        started = await h.api.wait_for(lambda: h.api.posted_to("on2"))
        during = await _review(h, "during", DRAFT)
        now[0] += 3 * 3600  # past the two hours
        after = await _review(h, "after", DRAFT)
        trail = h.store.audit_trail(ConversationKey("slack", TEAM_ID, ALICE)) + \
            h.store.audit_trail(ConversationKey("slack", TEAM_ID, "cm-coach"))
    assert "Only a workspace admin" in refused[0].body["text"]
    assert "Crisis mode is on until" in started[0].body["text"]
    assert "Crisis mode" in texts(during) and "Crisis mode" not in texts(after)
    assert "Crisis mode" not in texts(calm)
    assert _buttons(during, "request_approval")  # every draft can be sent for approval
    assert [r["action"] for r in trail if r["action"].startswith("crisis")] == ["crisis.start", "crisis.end"]
    assert any("ended by itself" in r["detail"] for r in trail)


def test_crisis_from_the_command_line_covers_every_workspace_and_is_audited(
    tmp_path: Path, monkeypatch: Any, capsys: Any,
) -> None:
    from bot.app.desk import EVERYWHERE, Desk
    from bot.app.services import Services
    from bot.cli import main

    monkeypatch.delenv("CM_COACH_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CM_COACH_STORE_DATA_DIR", str(tmp_path / "data"))
    assert main(["crisis", "on", "--hours", "48", "--user", "lea"]) == 0
    assert "on everywhere until" in capsys.readouterr().out
    assert main(["crisis", "--user", "lea"]) == 0
    assert "started by lea" in capsys.readouterr().out
    assert main(["crisis", "on", "--hours", "0"]) == 2
    services = Services.open(Settings(store=replace(Settings().store, data_dir=str(tmp_path / "data"))))
    try:
        desk = Desk(services)
        on = desk.crisis("slack", "T0ANY")  # any workspace
        assert on is not None and on.started_by == "lea" and on.scope == EVERYWHERE
        trail = services.store.audit_trail(ConversationKey("cli", EVERYWHERE, "lea"))
    finally:
        services.close()
    assert [r["action"] for r in trail] == ["crisis.start"]
    assert main(["crisis", "off", "--user", "lea"]) == 0
    assert "Crisis mode is off." in capsys.readouterr().out


def test_in_a_crisis_reputation_risks_weigh_one_step_more_and_others_do_not() -> None:
    from bot.review.models import ReviewRequest
    from bot.review.offline import review_offline

    draft = "Lol calm down, it's just a burger 🙄"
    calm = review_offline(ReviewRequest(draft=draft), rewrite=False)
    crisis = review_offline(ReviewRequest(draft=draft, crisis=True), rewrite=False)
    # The rules' findings (the learned second reading may confirm a hint beside them).
    before = {f.category: f.severity for f in calm.findings if not (f.rule_id or "").startswith("learned.")}
    after = {f.category: f.severity for f in crisis.findings if not (f.rule_id or "").startswith("learned.")}
    assert before["condescension"] == "medium" and after["condescension"] == "high"  # reputation
    assert before["insult"] == "low" and after["insult"] == "medium"  # reputation
    assert before["aggressive_tone"] == after["aggressive_tone"]  # knowing how to react: unchanged
    assert (calm.verdict, crisis.verdict) == ("revise", "block")


def test_in_a_crisis_the_impertinent_voice_is_off(tmp_path: Path) -> None:
    from bot.app.desk import Desk
    from bot.app.services import Services
    from bot.config import BrandSection, StoreSection

    settings = Settings(brand=BrandSection(voice="impertinent"), store=StoreSection(data_dir=str(tmp_path)))
    services = Services.open(settings)
    try:
        desk = Desk(services)
        assert desk.request("Hi!").profile.voice == "impertinent"
        assert desk.request("Hi!", crisis=True).profile.voice == "neutral"
        assert desk.request("Hi!", crisis=True).crisis
    finally:
        services.close()


async def test_discord_approval_with_a_role_and_a_channel(monkeypatch: Any, tmp_path: Path) -> None:
    import discord
    from discord_fakes import ALICE as D_ALICE
    from discord_fakes import APP_ID, TOKEN, FakeDiscord, button_press, buttons_of, slash_review

    from bot.config import DiscordSection, ReviewSection, StoreSection, TeamSection
    from bot.platforms.discord.bot import CoachBot
    from bot.store import Store

    approvers, role, bob, carol = 900000000000000099, 900000000000000077, 900000000000000011, 900000000000000012
    settings = Settings(review=ReviewSection(engine="offline"), store=StoreSection(data_dir=str(tmp_path)),
                        discord=DiscordSection(cooldown_seconds=0.0),
                        team=TeamSection(discord_approvers_channel=approvers, discord_approver_role=role))
    fake = FakeDiscord()
    await fake.start()
    monkeypatch.setattr(discord.http.Route, "BASE", fake.base)
    bot = CoachBot(settings, store=Store(tmp_path / "cm-coach.sqlite3"))

    def press(message: dict[str, Any], custom_id: str, user: int, roles: list[int] | None = None) -> None:
        payload = button_press(message, custom_id, user=user)
        payload["member"]["roles"] = [str(r) for r in roles or []]
        bot._connection.parse_interaction_create(payload)  # type: ignore[arg-type]

    try:
        await bot.login(TOKEN)
        bot._connection.parse_interaction_create(slash_review(fake.commands, draft=DRAFT))  # type: ignore[arg-type]
        follow = (await fake.wait_for("POST", f"/webhooks/{APP_ID}/"))[-1].body
        review_message = next(m for m in fake.messages.values() if m["embeds"] == follow["embeds"])
        press(review_message, buttons_of(review_message)["Ask for approval"], D_ALICE)
        posted = (await fake.wait_for("POST", f"/channels/{approvers}/messages"))[0].body
        request = next(m for m in fake.messages.values() if m["channel_id"] == str(approvers))
        assert "Request for approval" in posted["embeds"][0]["title"]
        approve = buttons_of(request)["Approve"]
        press(request, approve, D_ALICE, [role])  # her own request
        press(request, approve, carol)  # without the approvers' role
        press(request, approve, bob, [role])
        await fake.wait_for("POST", "/users/@me/channels")
        dm = await fake.wait_for("POST", f"/channels/{D_ALICE + 1}/messages", count=2)
        callbacks = [c.body for c in await fake.wait_for("POST", "/callback", count=5)]
        trail = bot.store.audit_trail(ConversationKey("discord", "dm", str(bob)))
    finally:
        await bot.close()
        await fake.stop()
    refusals = [c["data"].get("content", "") for c in callbacks if c["type"] == 4]
    assert any("Nobody approves their own request" in r for r in refusals)
    assert any("Only members of the approvers' channel" in r for r in refusals)
    updated = [c for c in callbacks if c["type"] == 7]
    assert updated and "Approved by" in json.dumps(updated[0]["data"]) and updated[0]["data"]["components"] == []
    assert "approved your reply" in dm[0].body["content"]
    assert [r["action"] for r in trail] == ["approval.approve"]


async def test_the_home_tab_shows_the_teams_week(tmp_path: Path) -> None:
    async with _harness(tmp_path) as h:
        await _review(h, "one")
        await h.slack.command("We are sorry for the delay, we are checking with the crew now.",
                              response_url=h.api.response_url("two"), user=BOB)
        await h.api.wait_for(lambda: h.api.posted_to("two"))
        await h.slack.event({"type": "app_home_opened", "user": CAROL, "channel": "D0CAROL", "tab": "home"},
                            event_id="EvHome")
        published = await h.api.wait_for(lambda: h.api.calls_to("views.publish"))
    view = published[0].params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    shown = texts(view["blocks"])
    assert "The team this week" in shown and "Reviews since Monday: 2" in shown
    assert "Deletion demand" in shown  # the risk that recurs most


async def test_a_person_opts_in_and_out_of_the_report(tmp_path: Path) -> None:
    async with _harness(tmp_path) as h:
        await h.slack.command("report on", response_url=h.api.response_url("in"), user=BOB)
        opted = await h.api.wait_for(lambda: h.api.posted_to("in"))
        await h.slack.command("report off", response_url=h.api.response_url("out"), user=BOB)
        await h.api.wait_for(lambda: h.api.posted_to("out"))
        trail = h.store.audit_trail(ConversationKey("slack", TEAM_ID, BOB))
    assert "now appears in the team's report" in opted[0].body["text"]
    assert [r["action"] for r in trail] == ["report.opt_in", "report.opt_out"]


async def test_a_dm_coaching_review_in_a_crisis_weighs_more_and_says_so(tmp_path: Path) -> None:
    from bot.coach import Coach
    from bot.review.reviewer import Reviewer
    from bot.store import Store

    store = Store(tmp_path / "db.sqlite3")
    coach = Coach(Reviewer(engine="offline"), store, clock=lambda: 1_000.0)
    key = ConversationKey("slack", TEAM_ID, ALICE)
    calm = await coach.handle(key, "Lol calm down, it's just a burger 🙄")
    store.start_crisis(f"slack:{TEAM_ID}", until=5_000.0, started_by=BOB)
    crisis = await coach.handle(ConversationKey("slack", TEAM_ID, CAROL), "Lol calm down, it's just a burger 🙄")
    assert calm.review is not None and crisis.review is not None
    assert (calm.review.verdict, crisis.review.verdict) == ("revise", "block")
    assert crisis.review.notes[0].startswith("🚨 Crisis mode") and not any("Crisis" in n for n in calm.review.notes)
