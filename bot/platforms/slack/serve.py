"""`cm-coach serve slack`: check the tokens, then run in Socket Mode (default)
or HTTP mode (`--http --port`). Anything the user can fix stops start-up
with one line naming what to change, and exit code 2; tokens are never printed.
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

if TYPE_CHECKING:
    from aiohttp import web
    from slack_bolt.async_app import AsyncApp

    from bot.config import Settings

APPS_PAGE = "https://api.slack.com/apps"
EXIT_USAGE = 2
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

    def __repr__(self) -> str:  # never show a token, even in a traceback
        return f"SlackConfig(mode={self.mode!r}, host={self.host!r}, port={self.port}, api_url={self.api_url!r})"


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
    bot_token = _token(env, "SLACK_BOT_TOKEN", "xoxb-", "Bot User OAuth Token", "OAuth & Permissions")
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
                       settings.slack.path, api_url(settings))


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

    client = AsyncWebClient(token=config.bot_token, base_url=config.api_url)
    identity = await check_bot_token(client, config.api_url)
    if config.mode == "socket":
        await check_app_token(client, config.app_token)
    try:
        services = Services.open(settings)  # retention applied now, then daily below
    except StoreUnavailable as exc:
        raise StartupError(str(exc)) from exc
    store = services.store
    app = build_app(settings, client=client, store=store, reviewer=services.reviewer, coach=services.coach,
                    signing_secret=config.signing_secret)
    bot = app.cm_coach  # type: ignore[attr-defined]
    who = f"@{identity.get('user', 'cm-coach')} in {identity.get('team', 'your workspace')}"
    background: list[asyncio.Task[Any]] = []
    try:
        if bot.pool is not None:
            await asyncio.to_thread(bot.pool.warm_up)
        background.append(asyncio.create_task(services.keep_applying_retention()))
        # What was acked before a crash is answered once the app listens again.
        background.append(asyncio.create_task(app.cm_coach_resume()))  # type: ignore[attr-defined]
        if config.mode == "http":
            runner, port = await start_http(app, config.host, config.port, config.path, config.signing_secret)
            print(f"cm-coach: {who}, HTTP mode on http://{config.host}:{port}{config.path} "
                  "(set it as the Request URL of the command, the shortcut, events and interactivity)",
                  file=sys.stderr, flush=True)
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
