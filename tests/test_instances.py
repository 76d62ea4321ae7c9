"""Several instances on one PostgreSQL database: two `cm-coach serve slack --http`
processes in OAuth mode share the installs, the events and the work; an uninstall
erases the workspace. Also the sweep that answers what a dead instance left, and
GET /healthz, which a load balancer reads."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp import ClientSession, ClientTimeout, DummyCookieJar
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import create_engine, text

from bot.coach import ConversationKey
from bot.config import Settings, SlackSection, StoreSection
from bot.platforms.slack.app import build_app
from bot.platforms.slack.oauth import BOT_SCOPES
from bot.platforms.slack.serve import keep_resuming, start_http
from bot.store import USER_TABLES, Store, parse_url
from tests.postgres import PostgresServer
from tests.slack_api_server import (
    BOT_TOKEN,
    SIGNING_SECRET,
    SignedSender,
    SlackAPIServer,
    free_port,
    serve_slack,
    stop,
    wait_listening,
)

CLIENT_ID = "1234567890.0987654321"
CLIENT_SECRET = "fedcba9876543210fedcba9876543210"  # test only
TEAM = "T1"
DMS = 40


def count(url: str, sql: str, **params: Any) -> int:
    """One number from the database at `url`, on a connection of its own."""
    engine = create_engine(parse_url(url)[1])
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql), params).scalar() or 0)
    finally:
        engine.dispose()


def workspace_rows(url: str, team: str) -> dict[str, int]:
    """Rows about `team` in each of our tables and in slack_sdk's."""
    tables = (*USER_TABLES, "channel_brands")
    found = {t: count(url, f"SELECT COUNT(*) FROM {t} WHERE workspace = :team", team=team) for t in tables}
    for table in ("slack_installations", "slack_bots"):
        found[table] = count(url, f"SELECT COUNT(*) FROM {table} WHERE team_id = :team", team=team)
    return found


def dm(i: int) -> dict[str, Any]:
    return {"type": "message", "channel_type": "im", "channel": f"D{i:04d}", "user": f"U{i:04d}",
            "text": f"Please delete the photo and DM us, number {i}.", "ts": f"1700000100.{i:06d}",
            "event_ts": f"1700000100.{i:06d}"}


async def get(http: ClientSession, url: str, **kw: Any) -> tuple[int, dict[str, str], str]:
    async with http.get(url, allow_redirects=False, **kw) as resp:
        return resp.status, dict(resp.headers), await resp.text()


async def test_two_instances_on_one_postgresql_share_installs_events_and_work(
        tmp_path: Path, postgres_url: str) -> None:
    api = await SlackAPIServer().start()
    api.client_credentials = (CLIENT_ID, CLIENT_SECRET)
    api.install("code-for-t1", TEAM)
    env = {"SLACK_CLIENT_ID": CLIENT_ID, "SLACK_CLIENT_SECRET": CLIENT_SECRET,
           "SLACK_SIGNING_SECRET": SIGNING_SECRET, "CM_COACH_SLACK_HOST": "127.0.0.1",
           "CM_COACH_STORE_URL": postgres_url, "CM_COACH_SLACK_REVIEW_PROCESSES": "0"}
    dirs = [tmp_path / "a", tmp_path / "b"]
    ports = [free_port(), free_port()]
    procs = []
    for folder, port in zip(dirs, ports, strict=True):
        folder.mkdir()
        procs.append(serve_slack(api.api_url, folder, "--http", "--port", str(port), **env))
    a, b = (f"http://127.0.0.1:{port}" for port in ports)
    try:
        await asyncio.gather(*(wait_listening(port, proc) for port, proc in zip(ports, procs, strict=True)))
        async with ClientSession(timeout=ClientTimeout(total=20), cookie_jar=DummyCookieJar()) as http:
            for base in (a, b):
                status, _, body = await get(http, f"{base}/healthz")
                assert status == 200 and '"store_reachable": true' in body and '"mode": "oauth"' in body

            # An install begun on A: a redirect to Slack's consent page, with a state and its cookie.
            status, headers, _ = await get(http, f"{a}/slack/install")
            assert status == 302
            consent = urlsplit(headers["Location"])
            assert f"{consent.scheme}://{consent.netloc}{consent.path}" == f"{api.url}/oauth/v2/authorize"
            query = parse_qs(consent.query)
            assert query["client_id"] == [CLIENT_ID]
            assert query["scope"][0].split(",") == list(BOT_SCOPES)
            state = query["state"][0]
            cookie = headers["Set-Cookie"].split(";")[0]
            assert cookie.endswith(state)

            # ... finished on B, which exchanges the code on the local Slack.
            redirect = {"code": "code-for-t1", "state": state}
            status, _, body = await get(http, f"{b}/slack/oauth_redirect", params=redirect,
                                        headers={"Cookie": cookie})
            assert status == 200, body
            assert len(api.calls_to("oauth.v2.access")) == 1
            # The state was good once, for both instances.
            status, _, _ = await get(http, f"{a}/slack/oauth_redirect", params=redirect, headers={"Cookie": cookie})
            assert status >= 400 and len(api.calls_to("oauth.v2.access")) == 1

        # Every DM delivered to both instances at once.
        async with SignedSender(f"{a}/slack/events") as to_a, SignedSender(f"{b}/slack/events") as to_b:
            async def deliver_twice(i: int) -> None:
                first, second = (to_a, to_b) if i % 2 else (to_b, to_a)
                replies = await asyncio.gather(first.event(dm(i), event_id=f"EvDM{i:04d}", team_id=TEAM),
                                               second.event(dm(i), event_id=f"EvDM{i:04d}", team_id=TEAM))
                assert [r.status for r in replies] == [200, 200]

            await asyncio.gather(*(deliver_twice(i) for i in range(DMS)))
            await api.wait_for(lambda: len(api.calls_to("chat.postMessage")) >= DMS, timeout=40)
            await api.settle(0.5)
            answers = api.calls_to("chat.postMessage")
            assert Counter(c.params["channel"] for c in answers) == {dm(i)["channel"]: 1 for i in range(DMS)}
            # Every call after the exchange carried T1's installed bot token.
            assert {(c.token_kind, c.team) for c in api.calls if c.method != "oauth.v2.access"} == {("xoxb", TEAM)}

            # The data is in PostgreSQL; neither instance wrote a SQLite file.
            assert count(postgres_url, "SELECT COUNT(*) FROM processed_events") == DMS
            assert count(postgres_url, "SELECT COUNT(*) FROM work WHERE workspace = :t AND state = 'done'",
                         t=TEAM) == DMS
            assert count(postgres_url, "SELECT COUNT(*) FROM conversations WHERE workspace = :t", t=TEAM) == DMS
            workers = count(postgres_url, "SELECT COUNT(DISTINCT taken_by) FROM work")
            assert 1 <= workers <= 2
            assert [p for folder in dirs for p in folder.rglob("*") if "sqlite" in p.name] == []
            assert workspace_rows(postgres_url, TEAM)["slack_bots"] == 1

            # The app uninstalled from T1, told to both: its installation and its data go.
            uninstalled = {"type": "app_uninstalled", "event_ts": "1700000200.000001"}
            replies = await asyncio.gather(to_a.event(uninstalled, event_id="EvGone", team_id=TEAM),
                                           to_b.event(uninstalled, event_id="EvGone", team_id=TEAM))
            assert [r.status for r in replies] == [200, 200]
            deadline = time.monotonic() + 10
            while any(workspace_rows(postgres_url, TEAM).values()) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            assert workspace_rows(postgres_url, TEAM) == dict.fromkeys(workspace_rows(postgres_url, TEAM), 0)
            # A DM from T1 now finds no token: nothing is posted.
            await to_a.event(dm(DMS), event_id="EvAfter", team_id=TEAM)
            await api.settle(0.5)
            assert len(api.calls_to("chat.postMessage")) == DMS
    finally:
        errors = [await stop(proc) for proc in procs]
        await api.stop()
    for proc, err in zip(procs, errors, strict=True):
        output = err.decode()
        assert proc.returncode == 0, output
        assert "Traceback" not in output and CLIENT_SECRET not in output and "-issued" not in output
        assert "OAuth mode" in output and "/slack/install" in output


# -- the sweep ------------------------------------------------------------------------


@asynccontextmanager
async def app_on(store: Store, tmp_path: Path) -> AsyncIterator[tuple[SlackAPIServer, Any]]:
    """The app, single-token mode, on `store`, against a local Slack."""
    api = await SlackAPIServer().start()
    settings = Settings(slack=SlackSection(api_url=api.api_url, review_processes=0),
                        store=StoreSection(data_dir=str(tmp_path)))
    app = build_app(settings, client=AsyncWebClient(token=BOT_TOKEN, base_url=api.api_url), store=store,
                    signing_secret=SIGNING_SECRET)
    try:
        yield api, app
    finally:
        app.cm_coach.close()
        await api.stop()


async def test_the_sweep_answers_what_a_dead_instance_left_and_leaves_fresh_work(
        tmp_path: Path, postgres_url: str) -> None:
    store = Store(url=postgres_url)
    key = ConversationKey("slack", "T0TEST", "U0ALICE")
    now = time.time()
    dead = f"{socket.gethostname()}:999999991"  # a pid no process has
    async with app_on(store, tmp_path) as (api, app):
        def command(name: str) -> dict[str, Any]:
            return {"text": "Please delete the photo and DM us.", "user_id": "U0ALICE", "team_id": "T0TEST",
                    "channel_id": "C0TEAM", "response_url": api.response_url(name)}

        left = store.submit_work("slack", key, "command", command("left"), now=now - 60)
        assert left is not None and store.claim_work(left, dead, now=now - 59) is not None
        store.submit_work("slack", key, "command", command("fresh"), now=now)
        sweep = asyncio.create_task(keep_resuming(app, every=0.05, min_age=5.0))
        try:
            await api.wait_for(lambda: api.posted_to("left"), timeout=10)
            await api.settle(0.3)
        finally:
            sweep.cancel()
        assert len(api.posted_to("left")) == 1
        assert api.posted_to("fresh") == []  # still its acking instance's, for a few seconds
        pending = store.pending_work("slack")
        assert [w["state"] for w in pending] == ["pending"]
    store.close()


# -- /healthz -----------------------------------------------------------------------


async def test_health_is_200_while_the_store_answers_and_503_once_it_does_not(
        tmp_path: Path, postgres_server: PostgresServer) -> None:
    name = postgres_server.create_database()
    store = Store(url=postgres_server.url(name))
    try:
        async with app_on(store, tmp_path) as (_, app):
            runner, port = await start_http(app, "127.0.0.1", 0)
            try:
                async with ClientSession(timeout=ClientTimeout(total=10)) as http:
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                        assert resp.status == 200
                        assert await resp.json() == {"status": "ok", "store_reachable": True, "mode": "token"}
                    postgres_server.drop_database(name)  # the database is gone
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                        assert resp.status == 503
                        assert await resp.json() == {"status": "unavailable", "store_reachable": False,
                                                     "mode": "token"}
            finally:
                await runner.cleanup()
    finally:
        store.close()
        postgres_server.drop_database(name)


@pytest.fixture(autouse=True)
def _no_config_from_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CM_COACH_CONFIG", raising=False)
    assert "SLACK_CLIENT_ID" not in os.environ
