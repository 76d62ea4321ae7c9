"""OAuth mode (one app, many workspaces): the start-up checks, the installation and
state stores in the store's own database (each backend), the app answering each
workspace with its own token (resumed work included), and what an uninstall or a
revoked token erases. Two instances on PostgreSQL: tests/test_instances.py."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import ClientSession, ClientTimeout
from slack_sdk.oauth.installation_store.models.installation import Installation

from bot.cli import main
from bot.coach import ConversationKey
from bot.config import Settings, SlackSection, StoreSection
from bot.platforms.slack.app import build_app
from bot.platforms.slack.oauth import BOT_SCOPES, SlackOAuth, authorization_url, open_oauth
from bot.platforms.slack.serve import start_http
from bot.store import Store
from tests.slack_api_server import BOT_ID, BOT_USER_ID, SIGNING_SECRET, SignedSender, SlackAPIServer

CLIENT_ID = "1234567890.0987654321"
CLIENT_SECRET = "fedcba9876543210fedcba9876543210"  # test only
MANIFEST = yaml.safe_load((Path(__file__).parent.parent / "manifest.yml").read_text(encoding="utf-8"))


def test_the_scopes_asked_at_install_are_the_manifests() -> None:
    assert list(BOT_SCOPES) == MANIFEST["oauth_config"]["scopes"]["bot"]


def test_the_consent_page_is_on_the_web_apis_host() -> None:
    assert authorization_url("https://slack.com/api/") == "https://slack.com/oauth/v2/authorize"
    assert authorization_url("https://slack-gov.com/api/") == "https://slack-gov.com/oauth/v2/authorize"
    assert authorization_url("http://127.0.0.1:8123/api/") == "http://127.0.0.1:8123/oauth/v2/authorize"


# -- start-up ----------------------------------------------------------------------


@pytest.mark.parametrize(("variables", "args", "named"), [
    ({"SLACK_CLIENT_ID": CLIENT_ID}, ["--http"], "SLACK_CLIENT_ID is set but SLACK_CLIENT_SECRET is not"),
    ({"SLACK_CLIENT_SECRET": CLIENT_SECRET}, ["--http"], "SLACK_CLIENT_SECRET is set but SLACK_CLIENT_ID is not"),
    ({"SLACK_CLIENT_ID": "A0APP", "SLACK_CLIENT_SECRET": CLIENT_SECRET}, ["--http"],
     "SLACK_CLIENT_ID does not look like a Client ID"),
    ({"SLACK_CLIENT_ID": CLIENT_ID, "SLACK_CLIENT_SECRET": "not hex at all"}, ["--http"],
     "SLACK_CLIENT_SECRET does not look like a Client Secret"),
    ({"SLACK_CLIENT_ID": CLIENT_ID, "SLACK_CLIENT_SECRET": CLIENT_SECRET}, [], "add --http"),
    ({"SLACK_CLIENT_ID": CLIENT_ID, "SLACK_CLIENT_SECRET": CLIENT_SECRET,
      "SLACK_REDIRECT_URI": "https://cm.example.com/oauth"}, ["--http"], "SLACK_REDIRECT_URI must be"),
    ({"SLACK_CLIENT_ID": CLIENT_ID, "SLACK_CLIENT_SECRET": CLIENT_SECRET}, ["--http"],
     "SLACK_SIGNING_SECRET is not set"),
])
def test_oauth_settings_missing_or_malformed_stop_start_up_with_what_to_do(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    variables: dict[str, str], args: list[str], named: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CM_COACH_STORE_DATA_DIR", str(tmp_path / "data"))
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    code = main(["serve", "slack", *args])
    err = capsys.readouterr().err
    assert code == 2 and named in err and "Traceback" not in err
    assert CLIENT_SECRET not in err
    assert "SLACK_BOT_TOKEN is not set" not in err  # OAuth mode needs no bot token


# -- the stores, on each backend ---------------------------------------------------------


@pytest.fixture
def two_stores(store_url: str) -> Any:
    """Two stores on one database, as two instances have."""
    first, second = Store(url=store_url), Store(url=store_url)
    yield first, second
    first.close()
    second.close()


async def test_a_state_issued_by_one_instance_is_good_once_on_any(two_stores: tuple[Store, Store]) -> None:
    first, second = (open_oauth(s, CLIENT_ID, CLIENT_SECRET) for s in two_stores)
    state = await first.states.async_issue()
    assert await second.states.async_consume(state)
    assert not await first.states.async_consume(state)
    raced = await second.states.async_issue()
    results = await asyncio.gather(first.states.async_consume(raced), second.states.async_consume(raced))
    assert sorted(results) == [False, True]
    assert not await first.states.async_consume("never-issued")


async def test_an_expired_state_is_refused_and_cleared(two_stores: tuple[Store, Store]) -> None:
    store = two_stores[0]
    oauth = open_oauth(store, CLIENT_ID, CLIENT_SECRET)
    oauth.states.tables.expiration_seconds = -1  # born expired
    old = await oauth.states.async_issue()
    assert not await oauth.states.async_consume(old)
    oauth.states.tables.expiration_seconds = 600
    await oauth.states.async_issue()  # clears what expired
    with store.engine.connect() as conn:
        states = oauth.states.tables.oauth_states
        assert conn.execute(states.select().where(states.c.state == old)).first() is None


def installation(team: str, token: str, user: str = "U0INSTALLER") -> Installation:
    return Installation(app_id="A0APP", team_id=team, team_name=f"Team {team}", bot_token=token, bot_id=BOT_ID,
                        bot_user_id=BOT_USER_ID, bot_scopes=list(BOT_SCOPES), user_id=user)


async def test_installations_are_shared_per_workspace_and_deleted_whole(two_stores: tuple[Store, Store]) -> None:
    first, second = (open_oauth(s, CLIENT_ID, CLIENT_SECRET) for s in two_stores)
    await first.installations.async_save(installation("T1", "xoxb-t1-old"))
    await first.installations.async_save(installation("T1", "xoxb-t1-new"))
    await first.installations.async_save(installation("T2", "xoxb-t2"))
    assert await second.bot_token("T1") == "xoxb-t1-new"  # the latest install wins
    bot = await second.installations.async_find_bot(enterprise_id=None, team_id="T2")
    assert bot is not None and bot.bot_token == "xoxb-t2"
    other_app = open_oauth(two_stores[1], "999.999", CLIENT_SECRET)
    assert await other_app.bot_token("T1") is None  # another app's installs are not ours
    await second.forget(None, "T1")
    assert await first.bot_token("T1") is None
    assert await first.installations.async_find_installation(enterprise_id=None, team_id="T1") is None
    assert await first.bot_token("T2") == "xoxb-t2"


# -- the app in OAuth mode ------------------------------------------------------------------


@dataclass
class OAuthApp:
    api: SlackAPIServer
    store: Store
    oauth: SlackOAuth
    app: Any
    slack: SignedSender
    base: str


@asynccontextmanager
async def oauth_app(tmp_path: Path) -> AsyncIterator[OAuthApp]:
    api = await SlackAPIServer().start()
    store = Store(tmp_path / "cm-coach.sqlite3")
    oauth = open_oauth(store, CLIENT_ID, CLIENT_SECRET)
    settings = Settings(slack=SlackSection(api_url=api.api_url, review_processes=0),
                        store=StoreSection(data_dir=str(tmp_path)))
    app = build_app(settings, store=store, signing_secret=SIGNING_SECRET, oauth=oauth)
    runner, port = await start_http(app, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{port}"
    try:
        async with SignedSender(f"{base}/slack/events") as slack:
            yield OAuthApp(api, store, oauth, app, slack, base)
    finally:
        await runner.cleanup()
        app.cm_coach.close()
        await api.stop()
        store.close()


async def install(h: OAuthApp, team: str) -> str:
    """A bot token the local Slack knows as `team`'s, installed."""
    token = f"xoxb-{team}-installed"
    h.api.bot_tokens[token] = team
    await h.oauth.installations.async_save(installation(team, token))
    return token


def dm(user: str, text: str = "Please delete the photo and DM us.") -> dict[str, Any]:
    return {"type": "message", "channel_type": "im", "channel": f"D{user}", "user": user, "text": text,
            "ts": "1700000100.000001", "event_ts": "1700000100.000001"}


async def test_each_workspace_is_answered_with_its_own_token(tmp_path: Path) -> None:
    async with oauth_app(tmp_path) as h:
        await install(h, "T1")
        await install(h, "T2")
        for team in ("T1", "T2"):
            reply = await h.slack.event(dm(f"U{team}"), event_id=f"Ev{team}", team_id=team)
            assert reply.status == 200
        await h.api.wait_for(lambda: len(h.api.calls_to("chat.postMessage")) == 2, timeout=10)
        answers = {c.params["channel"]: c.team for c in h.api.calls_to("chat.postMessage")}
        assert answers == {"DUT1": "T1", "DUT2": "T2"}
        assert all(c.token_kind == "xoxb" and c.team for c in h.api.calls)
        async with ClientSession(timeout=ClientTimeout(total=10)) as http:
            async with http.get(f"{h.base}/slack/install", allow_redirects=False) as resp:
                assert resp.status == 302
            async with http.get(f"{h.base}/healthz") as resp:
                assert (await resp.json())["mode"] == "oauth"


async def test_resumed_work_uses_its_workspaces_token_and_an_uninstalled_ones_is_dropped(tmp_path: Path) -> None:
    async with oauth_app(tmp_path) as h:
        await install(h, "T1")
        old = time.time() - 60
        for team in ("T1", "T2"):  # T2 never installed (or uninstalled since)
            key = ConversationKey("slack", team, f"U{team}")
            h.store.submit_work("slack", key, "event", {"event": dm(f"U{team}"), "team_id": team,
                                                        "bot_user_id": BOT_USER_ID}, now=old)
        assert await h.app.cm_coach_resume() == 1  # T1's answered
        answers = h.api.calls_to("chat.postMessage")
        assert [(c.params["channel"], c.team) for c in answers] == [("DUT1", "T1")]
        assert h.store.pending_work("slack") == []  # both done: T2's has nobody to answer


async def test_revoked_tokens_erase_the_workspace_only_when_the_bot_token_goes(tmp_path: Path) -> None:
    async with oauth_app(tmp_path) as h:
        await install(h, "T1")
        await install(h, "T2")
        for team in ("T1", "T2"):
            key = ConversationKey("slack", team, "U0ANN")
            h.store.add_review(key, {"verdict": "post", "risk": 5})
            h.store.set_channel_brand("slack", team, "C1", "aerolux")
        revoked = {"type": "tokens_revoked", "tokens": {"oauth": ["U0INSTALLER"]}}
        assert (await h.slack.event(revoked, event_id="EvUsers", team_id="T1")).status == 200
        await asyncio.sleep(0.3)
        assert await h.oauth.bot_token("T1") == "xoxb-T1-installed"  # the bot still works there
        assert await h.oauth.installations.async_find_installation(
            enterprise_id=None, team_id="T1", user_id="U0INSTALLER") is None
        assert h.store.reviews(ConversationKey("slack", "T1", "U0ANN"))

        revoked = {"type": "tokens_revoked", "tokens": {"bot": [BOT_USER_ID]}}
        assert (await h.slack.event(revoked, event_id="EvBot", team_id="T1")).status == 200
        deadline = time.monotonic() + 5
        while await h.oauth.bot_token("T1") is not None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
        assert await h.oauth.bot_token("T1") is None
        assert h.store.reviews(ConversationKey("slack", "T1", "U0ANN")) == []
        assert h.store.channel_brand("slack", "T1", "C1") is None
        assert await h.oauth.bot_token("T2") == "xoxb-T2-installed"
        assert h.store.reviews(ConversationKey("slack", "T2", "U0ANN"))
        assert h.store.channel_brand("slack", "T2", "C1") == "aerolux"


async def test_single_token_mode_serves_no_install_route(tmp_path: Path) -> None:
    api = await SlackAPIServer().start()
    store = Store(tmp_path / "cm-coach.sqlite3")
    settings = Settings(slack=SlackSection(api_url=api.api_url, review_processes=0),
                        store=StoreSection(data_dir=str(tmp_path)))
    app = build_app(settings, store=store, token="xoxb-single", signing_secret=SIGNING_SECRET)
    runner, port = await start_http(app, "127.0.0.1", 0)
    try:
        async with ClientSession(timeout=ClientTimeout(total=10)) as http, \
                http.get(f"http://127.0.0.1:{port}/slack/install", allow_redirects=False) as resp:
            assert resp.status == 404
        assert "slack_installations" not in store.tables()
    finally:
        await runner.cleanup()
        app.cm_coach.close()
        await api.stop()
        store.close()
