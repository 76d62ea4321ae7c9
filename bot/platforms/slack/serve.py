"""`cm-coach serve slack`: check the tokens, then run in Socket Mode (default)
or HTTP mode (`--http --port`). Anything the user can fix stops start-up
with one line naming what to change, and exit code 2; tokens are never printed.

With SLACK_CLIENT_ID and SLACK_CLIENT_SECRET instead of SLACK_BOT_TOKEN, HTTP
mode serves the app to many workspaces (OAuth, bot/platforms/slack/oauth.py).
Every instance on one database shares the work: a sweep answers, every
SWEEP_SECONDS, what an instance that died left unanswered. GET /healthz says
whether the store answers, for a load balancer.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import re
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from aiohttp import web
    from slack_bolt.async_app import AsyncApp

    from bot.config import Settings
    from bot.platforms.slack.oauth import SlackOAuth
    from bot.store import Storage

APPS_PAGE = "https://api.slack.com/apps"
EXIT_USAGE = 2
# How often unanswered work is looked for, and how old it must be: younger work is
# still on its way to the listener of the instance that acked it.
SWEEP_SECONDS = 30.0
SWEEP_MIN_AGE = 10.0
HEALTH_PATH = "/healthz"
# A health check waits this long for the store before answering 503.
HEALTH_TIMEOUT = 3.0
log = logging.getLogger("cm_coach.slack")


class StartupError(Exception):
    """A start-up problem the user can fix; the message says how."""


@dataclass(frozen=True)
class SlackConfig:
    mode: str  # socket | http
    bot_token: str
    app_token: str
    signing_secret: str
    host: str
    port: int
    path: str
    api_url: str
    # OAuth mode (many workspaces): the app's credentials, and the redirect URL if set.
    client_id: str = ""
    client_secret: str = ""
    redirect_uri: str = ""

    @property
    def oauth(self) -> bool:
        return bool(self.client_id)

    def __repr__(self) -> str:  # never show a token, even in a traceback
        return (f"SlackConfig(mode={self.mode!r}, oauth={self.oauth}, host={self.host!r}, port={self.port}, "
                f"api_url={self.api_url!r})")


def _token(env: Mapping[str, str], name: str, prefix: str, what: str, where: str) -> str:
    value = (env.get(name) or "").strip()
    if not value:
        raise StartupError(f"{name} is not set: copy the {what} ({prefix}…) from {APPS_PAGE} → "
                           f"your app → {where}, then `export {name}=…`")
    if not value.startswith(prefix) or re.search(r"\s", value):
        article = "an" if what[0].lower() in "aeiou" else "a"
        raise StartupError(f"{name} does not look like {article} {what}: it must start with {prefix} and hold "
                           f"no spaces; copy it again from {APPS_PAGE} → your app → {where}")
    return value


def slack_config(args: argparse.Namespace, settings: Settings, env: Mapping[str, str]) -> SlackConfig:
    """The mode, tokens and address to run with; StartupError if anything is missing or malformed."""
    mode = "http" if getattr(args, "http", False) else settings.slack.mode
    if mode not in ("socket", "http"):
        raise StartupError(f"slack.mode must be socket or http, not {mode!r}; fix the [slack] section")
    if not settings.slack.command.startswith("/") or " " in settings.slack.command:
        raise StartupError(f"slack.command must be a slash command such as /review, not "
                           f"{settings.slack.command!r}; fix the [slack] section")
    if settings.slack.review_processes < -1:
        raise StartupError("slack.review_processes must be -1 (automatic), 0 or a number of processes")
    port = getattr(args, "port", None) or settings.slack.port
    if not 0 < int(port) < 65536:
        raise StartupError(f"port {port} is not a TCP port: choose one between 1 and 65535")
    if getattr(args, "port", None) and mode != "http":
        raise StartupError("--port is for HTTP mode: add --http, or drop --port to use Socket Mode")
    client_id, client_secret, redirect_uri = _oauth_credentials(env, mode)
    bot_token = "" if client_id else _token(env, "SLACK_BOT_TOKEN", "xoxb-", "Bot User OAuth Token",
                                            "OAuth & Permissions")
    app_token = signing_secret = ""
    if mode == "socket":
        app_token = _token(env, "SLACK_APP_TOKEN", "xapp-", "App-Level Token",
                           "Basic Information → App-Level Tokens (scope connections:write)")
    else:
        signing_secret = (env.get("SLACK_SIGNING_SECRET") or "").strip()
        where = f"{APPS_PAGE} → your app → Basic Information → App Credentials → Signing Secret"
        if not signing_secret:
            raise StartupError(f"SLACK_SIGNING_SECRET is not set (HTTP mode needs it to check that requests "
                               f"come from Slack): copy it from {where}")
        if not re.fullmatch(r"[0-9A-Fa-f]{16,128}", signing_secret):
            raise StartupError(f"SLACK_SIGNING_SECRET does not look like a signing secret (hexadecimal "
                               f"characters only): copy it again from {where}")
    from bot.platforms.slack.app import api_url

    return SlackConfig(mode, bot_token, app_token, signing_secret, settings.slack.host, int(port),
                       settings.slack.path, api_url(settings), client_id, client_secret, redirect_uri)


def _oauth_credentials(env: Mapping[str, str], mode: str) -> tuple[str, str, str]:
    """(client id, client secret, redirect URL) for OAuth mode; empty without SLACK_CLIENT_ID
    and SLACK_CLIENT_SECRET (one bot token then); StartupError when half set or malformed."""
    from bot.platforms.slack.oauth import REDIRECT_PATH

    client_id = (env.get("SLACK_CLIENT_ID") or "").strip()
    client_secret = (env.get("SLACK_CLIENT_SECRET") or "").strip()
    if not client_id and not client_secret:
        return "", "", ""
    where = f"{APPS_PAGE} → your app → Basic Information → App Credentials"
    for name, value, other in (("SLACK_CLIENT_ID", client_id, "SLACK_CLIENT_SECRET"),
                               ("SLACK_CLIENT_SECRET", client_secret, "SLACK_CLIENT_ID")):
        if not value:
            raise StartupError(f"{other} is set but {name} is not: OAuth mode (many workspaces) needs both; "
                               f"copy it from {where}, or unset {other} to run with SLACK_BOT_TOKEN")
    if not re.fullmatch(r"[0-9]+\.[0-9]+", client_id):
        raise StartupError(f"SLACK_CLIENT_ID does not look like a Client ID (digits, a dot, digits): copy it "
                           f"again from {where}")
    if not re.fullmatch(r"[0-9A-Fa-f]{16,128}", client_secret):
        raise StartupError(f"SLACK_CLIENT_SECRET does not look like a Client Secret (hexadecimal characters "
                           f"only): copy it again from {where}")
    if mode != "http":
        raise StartupError("OAuth mode (SLACK_CLIENT_ID and SLACK_CLIENT_SECRET) installs the app over HTTP: "
                           "add --http (or set slack.mode = \"http\"), or unset them to use Socket Mode "
                           "with SLACK_BOT_TOKEN")
    redirect_uri = (env.get("SLACK_REDIRECT_URI") or "").strip()
    parts = urlsplit(redirect_uri)
    if redirect_uri and (parts.scheme not in ("https", "http") or not parts.netloc or parts.path != REDIRECT_PATH):
        raise StartupError(f"SLACK_REDIRECT_URI must be https://YOUR-HOST{REDIRECT_PATH}, the Redirect URL "
                           f"set in {APPS_PAGE} → your app → OAuth & Permissions (or unset it)")
    return client_id, client_secret, redirect_uri


async def check_bot_token(client: Any, api: str) -> dict[str, Any]:
    """auth.test, so that a revoked or mistyped token stops start-up with a clear line."""
    from slack_sdk.errors import SlackApiError

    try:
        resp = await client.auth_test()
    except SlackApiError as exc:
        code = exc.response.get("error") or exc.response.status_code
        raise StartupError(f"Slack refused SLACK_BOT_TOKEN ({code}): copy the Bot User OAuth Token again "
                           f"from {APPS_PAGE} → your app → OAuth & Permissions (reinstall the app if "
                           "it was revoked)") from exc
    except Exception as exc:
        raise StartupError(f"cannot reach the Slack Web API at {api} ({type(exc).__name__}): check the "
                           "network, or slack.api_url in the config") from exc
    return dict(resp.data) if isinstance(resp.data, dict) else {}


async def start_http(app: AsyncApp, host: str, port: int, path: str = "/slack/events",
                     signing_secret: str | None = None) -> tuple[web.AppRunner, int]:
    """Serve the app with Bolt's aiohttp adapter; returns the runner and the bound port.

    The signature is checked on the raw body before Bolt parses it (bot/platforms/slack/http.py);
    without `signing_secret`, the app's own is used.
    """
    from aiohttp import web

    from bot.platforms.slack.http import signature_middleware

    secret = signing_secret if signing_secret is not None else str(getattr(app, "_signing_secret", "") or "")
    web_app = app.web_app(path=path, port=port)
    if secret:
        web_app.middlewares.append(signature_middleware(secret))
    bot = getattr(app, "cm_coach", None)
    if bot is not None:
        health = Health(bot.store, "oauth" if app.oauth_flow is not None else "token")
        web_app.router.add_get(HEALTH_PATH, health.answer)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise StartupError(f"cannot listen on {host}:{port} ({exc.strerror or exc}): choose another "
                           "port with --port, or stop what uses it") from exc
    server = getattr(site, "_server", None)
    sockets = getattr(server, "sockets", None) or []
    bound = sockets[0].getsockname()[1] if sockets else port
    return runner, int(bound)


class Health:
    """GET /healthz: 200 when the store answers a trivial query within HEALTH_TIMEOUT,
    503 otherwise; the body says which, and the mode. One query at a time: checks that
    come while one waits share its answer, so a database that hangs does not pile up
    threads."""

    def __init__(self, store: Storage, mode: str) -> None:
        self.store = store
        self.mode = mode
        self._ping: asyncio.Future[bool] | None = None

    async def store_answers(self) -> bool:
        if self._ping is None or self._ping.done():
            self._ping = asyncio.ensure_future(asyncio.to_thread(self.store.ping))
            # Read even when nobody waits for it any more, so its failure is not reported as unread.
            self._ping.add_done_callback(lambda done: done.cancelled() or done.exception())
        try:
            return bool(await asyncio.wait_for(asyncio.shield(self._ping), HEALTH_TIMEOUT))
        except Exception as exc:
            log.warning("health check: the store does not answer (%s)", type(exc).__name__)
            return False

    async def answer(self, request: web.Request) -> web.Response:
        from aiohttp import web

        ok = await self.store_answers()
        return web.json_response({"status": "ok" if ok else "unavailable", "store_reachable": ok,
                                  "mode": self.mode}, status=200 if ok else 503)


async def keep_resuming(app: AsyncApp, every: float = SWEEP_SECONDS, min_age: float = SWEEP_MIN_AGE) -> None:
    """Every `every` seconds, answer the work nobody is answering (start it as a task):
    what an instance that died had taken (at once when it ran on this host, after its
    lease elsewhere) or had acked without taking. Whichever instance is free gets it."""
    while True:
        await asyncio.sleep(every)
        try:
            await app.cm_coach_resume(min_age=min_age)  # type: ignore[attr-defined]
        except Exception:  # the next sweep tries again
            log.exception("the sweep for unanswered work failed")


async def check_app_token(client: Any, app_token: str) -> None:
    """apps.connections.open once, by hand: the Socket Mode client would retry a refused token forever."""
    from slack_sdk.errors import SlackApiError

    try:
        await client.apps_connections_open(app_token=app_token)
    except SlackApiError as exc:
        code = exc.response.get("error") or exc.response.status_code
        raise StartupError(f"Slack refused SLACK_APP_TOKEN ({code}): create an App-Level Token with the "
                           f"connections:write scope at {APPS_PAGE} → your app → Basic Information, and "
                           "check that Socket Mode is on") from exc


async def _until_stopped() -> None:
    """Wait for SIGTERM (a service manager, a container stop); Ctrl+C raises
    KeyboardInterrupt as usual. Either way the finally blocks close everything."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError, RuntimeError):  # not on this platform or thread
        loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()


async def _run(config: SlackConfig, settings: Settings) -> int:
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.app.services import Services, StoreUnavailable
    from bot.platforms.slack.app import build_app

    if config.oauth:  # no token of its own: each workspace's comes with its requests
        client = AsyncWebClient(base_url=config.api_url)
        who = "OAuth mode (each installed workspace answered with its own bot token)"
    else:
        client = AsyncWebClient(token=config.bot_token, base_url=config.api_url)
        identity = await check_bot_token(client, config.api_url)
        who = f"@{identity.get('user', 'cm-coach')} in {identity.get('team', 'your workspace')}"
    if config.mode == "socket":
        await check_app_token(client, config.app_token)
    try:
        services = Services.open(settings)  # retention applied now, then daily below
    except StoreUnavailable as exc:
        raise StartupError(str(exc)) from exc
    store = services.store
    try:
        oauth = _open_oauth(config, store) if config.oauth else None
    except BaseException:
        store.close()
        raise
    app = build_app(settings, client=client, store=store, reviewer=services.reviewer, coach=services.coach,
                    signing_secret=config.signing_secret, oauth=oauth)
    bot = app.cm_coach  # type: ignore[attr-defined]
    background: list[asyncio.Task[Any]] = []
    try:
        if bot.pool is not None:
            await asyncio.to_thread(bot.pool.warm_up)
        background.append(asyncio.create_task(services.keep_applying_retention()))
        # What was acked before a crash is answered once the app listens again; then, every
        # SWEEP_SECONDS, what another instance left when it died.
        background.append(asyncio.create_task(app.cm_coach_resume()))  # type: ignore[attr-defined]
        background.append(asyncio.create_task(keep_resuming(app)))
        if config.mode == "http":
            runner, port = await start_http(app, config.host, config.port, config.path, config.signing_secret)
            base = f"http://{config.host}:{port}"
            print(f"cm-coach: {who}, HTTP mode on {base}{config.path} "
                  "(set it as the Request URL of the command, the shortcut, events and interactivity)",
                  file=sys.stderr, flush=True)
            if oauth is not None:
                from bot.platforms.slack.oauth import INSTALL_PATH, REDIRECT_PATH

                print(f"cm-coach: install link {base}{INSTALL_PATH}, Redirect URL {base}{REDIRECT_PATH} "
                      "(behind your HTTPS host's name)", file=sys.stderr, flush=True)
            try:
                await _until_stopped()
            finally:
                await runner.cleanup()
            return 0
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        handler = AsyncSocketModeHandler(app, config.app_token)
        await handler.connect_async()
        print(f"cm-coach: {who}, Socket Mode connected; try /review in Slack (Ctrl+C to stop)",
              file=sys.stderr, flush=True)
        try:
            await _until_stopped()
        finally:
            await handler.close_async()
        return 0
    finally:
        for task in background:
            task.cancel()
        bot.close()
        store.close()


def _open_oauth(config: SlackConfig, store: Storage) -> SlackOAuth:
    """The installation and state stores in the store's database; StartupError if it cannot hold them."""
    from bot.platforms.slack.oauth import open_oauth
    from bot.store import Store

    if not isinstance(store, Store):
        raise StartupError("OAuth mode keeps the installations in the store's database: set store.url")
    try:
        return open_oauth(store, config.client_id, config.client_secret, config.redirect_uri or None)
    except Exception as exc:
        from bot.logsafe import redact

        raise StartupError(f"cannot create the OAuth tables in the store ({redact(str(exc))[:200]}): the "
                           "database user must be allowed to create tables") from exc


def serve(args: argparse.Namespace, settings: Settings, env: Mapping[str, str] | None = None) -> int:
    """Run the Slack app until interrupted; 2 with one line on stderr for a fixable problem."""
    level = getattr(logging, settings.slack.log_level.upper(), None)
    if not isinstance(level, int):
        print("cm-coach: slack.log_level must be debug, info, warning or error", file=sys.stderr)
        return EXIT_USAGE
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from bot.logsafe import install_log_redaction

    install_log_redaction()  # Bolt's debug logs carry request bodies, response_url included
    try:
        config = slack_config(args, settings, os.environ if env is None else env)
        return asyncio.run(_run(config, settings))
    except StartupError as exc:
        print(f"cm-coach: {exc}", file=sys.stderr)
        return EXIT_USAGE
