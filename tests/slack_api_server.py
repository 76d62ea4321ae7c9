"""A Slack Web API server on 127.0.0.1 for tests and the load bench, in the
spirit of bolt-python's tests/mock_web_api_server: it answers the methods the
app calls, records every call (method, parameters, whether a bot token came
with it) and every post to a response_url, so tests assert on what the app
sent. Also a client that signs requests to the app the way Slack does, and
`cm-coach serve slack` run in its own process against the server.

For OAuth mode it also answers oauth.v2.access: a code registered with
`install(code, team)` becomes a bot token of that workspace, and each call made
with such a token records the workspace (never the token).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import itertools
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from aiohttp import ClientSession, ClientTimeout, web
from slack_sdk.signature import SignatureVerifier

TEAM_ID = "T0TEST"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
SIGNING_SECRET = "0123456789abcdef0123456789abcdef"  # test only
BOT_TOKEN = "xoxb-test-token"
JSON_FIELDS = ("blocks", "view", "attachments")


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    token_kind: str  # "xoxb", "xapp"…: the kind of token that came with the call, never the token
    at: float = field(default_factory=time.monotonic)
    team: str = ""  # the workspace of the bot token that came with the call, when this server issued it

    @property
    def authorized(self) -> bool:
        return bool(self.token_kind)


@dataclass
class Posted:
    """A post the app made to a response_url."""

    name: str
    body: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


class SlackAPIServer:
    """Answers /api/<method> and /response/<name>; records both."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.posted: list[Posted] = []
        self.replies: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.locales: dict[str, str] = {}
        self.members: dict[str, list[str]] = {}  # channel -> its members (conversations.members)
        self.groups: dict[str, list[str]] = {}  # user group -> its users (usergroups.users.list)
        self.errors: dict[str, str] = {}  # method -> error code to answer with
        self.response_status = 200
        self.url = ""
        # OAuth: codes waiting to be exchanged (code -> workspace), the app's credentials
        # oauth.v2.access requires when set, and the bot tokens issued (token -> workspace).
        self.codes: dict[str, str] = {}
        self.client_credentials: tuple[str, str] | None = None
        self.bot_tokens: dict[str, str] = {}
        self._issued = itertools.count(1)
        # Socket Mode: the app's WebSocket connections and the acks it sent back.
        self.sockets: list[web.WebSocketResponse] = []
        self.socket_acks: dict[str, dict[str, Any]] = {}
        self._runner: web.AppRunner | None = None
        self._changed = asyncio.Event()
        self._ts = 0

    # -- lifecycle ----------------------------------------------------------

    async def start(self) -> SlackAPIServer:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{name}", self._response)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, name: str) -> str:
        return f"{self.url}/response/{name}"

    # -- what was sent ------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def posted_to(self, name: str) -> list[Posted]:
        return [p for p in self.posted if p.name == name]

    def install(self, code: str, team: str) -> None:
        """The code Slack gives the redirect once someone allows the app in `team`."""
        self.codes[code] = team

    async def wait_for(self, check: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Wait until check() returns something truthy; fail after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out; calls so far: {[c.method for c in self.calls]}, "
                                     f"response_url posts: {[p.name for p in self.posted]}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=min(remaining, 0.25))

    async def settle(self, quiet: float = 0.3) -> None:
        """Wait until nothing new arrived for `quiet` seconds (to check nothing more is sent)."""
        count = -1
        while count != len(self.calls) + len(self.posted):
            count = len(self.calls) + len(self.posted)
            await asyncio.sleep(quiet)

    # -- handlers -----------------------------------------------------------

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                params.update(await request.json())
            else:
                params.update(dict(await request.post()))
        for key in JSON_FIELDS:
            if isinstance(params.get(key), str):
                params[key] = json.loads(params[key])
        return params

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        auth = request.headers.get("Authorization", "")
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else str(params.pop("token", ""))
        self.calls.append(Call(method, params, token.split("-")[0] if token.startswith("x") else "",
                               team=self.bot_tokens.get(token, "")))
        self._changed.set()
        if method in self.errors:
            return web.json_response({"ok": False, "error": self.errors[method]})
        if method == "oauth.v2.access":
            return web.json_response(self._exchange(params, auth))
        if method == "auth.test" and token in self.bot_tokens:
            team = self.bot_tokens[token]
            return web.json_response({"ok": True, "url": f"https://{team.lower()}.slack.com/", "team": f"Team {team}",
                                      "user": "cm-coach", "team_id": team, "user_id": BOT_USER_ID,
                                      "bot_id": BOT_ID, "is_enterprise_install": False})
        return web.json_response(self._answer(method, params))

    def _exchange(self, params: dict[str, Any], auth: str) -> dict[str, Any]:
        """oauth.v2.access: the app's credentials (HTTP Basic, as slack_sdk sends them) and a
        registered code, used once, give a new bot token for the code's workspace."""
        try:
            client_id, _, client_secret = base64.b64decode(auth.removeprefix("Basic ")).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            client_id = client_secret = ""
        if self.client_credentials is not None and (client_id, client_secret) != self.client_credentials:
            return {"ok": False, "error": "invalid_client_id"}
        team = self.codes.pop(str(params.get("code")), None)
        if team is None:
            return {"ok": False, "error": "invalid_code"}
        token = f"xoxb-{team}-{next(self._issued)}-issued"
        self.bot_tokens[token] = team
        return {"ok": True, "app_id": "A0APP", "authed_user": {"id": "U0INSTALLER"}, "scope": params.get("scope") or
                "commands,chat:write", "token_type": "bot", "access_token": token, "bot_user_id": BOT_USER_ID,
                "team": {"id": team, "name": f"Team {team}"}, "enterprise": None, "is_enterprise_install": False}

    def _next_ts(self) -> str:
        self._ts += 1
        return f"1700000000.{self._ts:06d}"

    def _answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"ok": True, "url": "https://test.slack.com/", "team": "Test Team", "user": "cm-coach",
                    "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": BOT_ID,
                    "is_enterprise_install": False}
        if method == "chat.postMessage":
            ts = self._next_ts()
            return {"ok": True, "channel": params.get("channel"), "ts": ts,
                    "message": {"text": params.get("text"), "ts": ts, "bot_id": BOT_ID}}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self._next_ts()}
        if method in ("views.open", "views.publish", "views.update", "views.push"):
            view = dict(params.get("view") or {})
            view.setdefault("id", "V0TEST")
            return {"ok": True, "view": view}
        if method == "conversations.replies":
            key = (str(params.get("channel")), str(params.get("ts")))
            if key not in self.replies:
                return {"ok": False, "error": "thread_not_found"}
            limit = int(params.get("limit") or 1000)
            return {"ok": True, "messages": self.replies[key][:limit], "has_more": False}
        if method == "apps.connections.open":
            return {"ok": True, "url": f"{self.url.replace('http://', 'ws://')}/socket"}
        if method == "conversations.members":
            members = self.members.get(str(params.get("channel")))
            if members is None:
                return {"ok": False, "error": "channel_not_found"}
            return {"ok": True, "members": members, "response_metadata": {"next_cursor": ""}}
        if method == "usergroups.users.list":
            return {"ok": True, "users": self.groups.get(str(params.get("usergroup")), [])}
        if method == "chat.update":
            return {"ok": True, "channel": params.get("channel"), "ts": params.get("ts"), "text": params.get("text")}
        if method == "users.info":
            user = str(params.get("user"))
            return {"ok": True, "user": {"id": user, "name": user.lower(),
                                         "locale": self.locales.get(user, "en-US")}}
        return {"ok": False, "error": "unknown_method"}

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        """Socket Mode, as Slack speaks it: hello, then envelopes; the app acks each by envelope_id."""
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.sockets.append(ws)
        self._changed.set()
        await ws.send_json({"type": "hello", "num_connections": 1,
                            "connection_info": {"app_id": "A0APP"}, "debug_info": {"host": "local"}})
        async for message in ws:
            if message.type.name != "TEXT":
                continue
            data = json.loads(message.data)
            if "envelope_id" in data:
                self.socket_acks[data["envelope_id"]] = data
                self._changed.set()
        if ws in self.sockets:
            self.sockets.remove(ws)
        return ws

    async def push(self, kind: str, payload: dict[str, Any]) -> str:
        """Send the app one Socket Mode envelope (slash_commands, interactive, events_api)."""
        self._ts += 1
        envelope_id = f"env-{self._ts}"
        await self.sockets[0].send_json({"envelope_id": envelope_id, "type": kind, "payload": payload,
                                         "accepts_response_payload": kind != "events_api"})
        return envelope_id

    async def _response(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.posted.append(Posted(request.match_info["name"], body))
        self._changed.set()
        return web.Response(status=self.response_status, text="ok")


@dataclass
class Reply:
    status: int
    text: str
    latency: float

    def json(self) -> Any:
        return json.loads(self.text) if self.text else None


class SignedSender:
    """Sends the app what Slack sends, signed with the signing secret."""

    def __init__(self, url: str, secret: str = SIGNING_SECRET, session: ClientSession | None = None) -> None:
        self.url = url
        self.verifier = SignatureVerifier(secret)
        self._session = session
        self._own_session = session is None

    async def __aenter__(self) -> SignedSender:
        if self._session is None:
            self._session = ClientSession(timeout=ClientTimeout(total=10))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()

    async def post(self, body: str, content_type: str, *, sign: bool = True, timestamp: int | None = None,
                   headers: dict[str, str] | None = None) -> Reply:
        assert self._session is not None, "use `async with SignedSender(...)`"
        ts = str(int(time.time()) if timestamp is None else timestamp)
        all_headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts}
        if sign:
            all_headers["X-Slack-Signature"] = self.verifier.generate_signature(timestamp=ts, body=body)
        all_headers.update(headers or {})
        start = time.perf_counter()
        async with self._session.post(self.url, data=body.encode("utf-8"), headers=all_headers) as resp:
            text = await resp.text()
            return Reply(resp.status, text, time.perf_counter() - start)

    async def command(self, text: str, *, response_url: str, user: str = "U0ALICE", channel: str = "C0TEAM",
                      command: str = "/review", trigger_id: str = "trigger.1", team_id: str = TEAM_ID,
                      **kw: Any) -> Reply:
        form = {"token": "legacy", "team_id": team_id, "team_domain": "test", "channel_id": channel,
                "channel_name": "community", "user_id": user, "user_name": user.lower(), "command": command,
                "text": text, "api_app_id": "A0APP", "response_url": response_url, "trigger_id": trigger_id}
        return await self.post(urlencode(form), "application/x-www-form-urlencoded", **kw)

    async def interactive(self, payload: dict[str, Any], **kw: Any) -> Reply:
        payload.setdefault("team", {"id": TEAM_ID, "domain": "test"})
        payload.setdefault("api_app_id", "A0APP")
        payload.setdefault("token", "legacy")
        body = urlencode({"payload": json.dumps(payload)})
        return await self.post(body, "application/x-www-form-urlencoded", **kw)

    async def event(self, event: dict[str, Any], *, event_id: str, retry_num: int | None = None,
                    team_id: str = TEAM_ID, **kw: Any) -> Reply:
        envelope = {"token": "legacy", "team_id": team_id, "api_app_id": "A0APP", "event": event,
                    "type": "event_callback", "event_id": event_id, "event_time": int(time.time()),
                    "authorizations": [{"team_id": team_id, "user_id": BOT_USER_ID, "is_bot": True}]}
        headers = dict(kw.pop("headers", None) or {})
        if retry_num is not None:
            headers.update({"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"})
        return await self.post(json.dumps(envelope), "application/json", headers=headers, **kw)


class ThreadedSlackAPI:
    """The server on its own event loop in a thread, for code that runs its own
    loop (`cm-coach serve slack` calls asyncio.run)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server = SlackAPIServer.__new__(SlackAPIServer)

    def __enter__(self) -> SlackAPIServer:
        self.thread.start()

        async def make() -> SlackAPIServer:
            return await SlackAPIServer().start()

        self.server = asyncio.run_coroutine_threadsafe(make(), self.loop).result(timeout=10)
        return self.server

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


# -- `cm-coach serve slack` in its own process ------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_slack(api_url: str, data_dir: str | Path, *args: str, **env: str) -> subprocess.Popen[bytes]:
    """`cm-coach serve slack ARGS` against the local Web API, offline engine, data
    (and working directory) in data_dir, with no config file from elsewhere;
    env adds the tokens and any other variable. stderr is kept for the caller."""
    environ = {**os.environ, "CM_COACH_SLACK_API_URL": api_url, "CM_COACH_STORE_DATA_DIR": str(data_dir),
               "CM_COACH_REVIEW_ENGINE": "offline", **env}
    environ.pop("CM_COACH_CONFIG", None)
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "slack", *args], env=environ,
                            cwd=data_dir, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)


async def wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """Until the app accepts connections on 127.0.0.1:port; RuntimeError (with
    its stderr) if it exits first or takes longer than timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise RuntimeError(f"serve exited at start-up:\n{err}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise RuntimeError("serve did not start listening in time")


async def stop(proc: subprocess.Popen[bytes]) -> bytes:
    """SIGTERM, then wait without blocking the loop (the local Slack must answer
    the goodbye); its stderr."""
    proc.terminate()
    try:
        _, err = await asyncio.to_thread(proc.communicate, timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = await asyncio.to_thread(proc.communicate)
    return err
