"""The Slack app: Bolt listeners that turn Slack's events into review requests
and reviews into Block Kit (bot.render.slack). No judgement happens here.

Every listener acks at once and does its slow work in a lazy listener, so
Slack gets its answer well inside 3 seconds whatever the reviewer does. Events
are answered once per event_id (a retry is acknowledged and dropped). Every
failure reaches the user as a message that says what to do.

This module wires the listeners: commands.py (/review, its form), events.py
(mentions, DMs, App Home), actions.py (buttons, shortcut); core.py holds what
they share.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.platforms.slack.actions import Actions
from bot.platforms.slack.commands import Commands
from bot.platforms.slack.core import SlackBot
from bot.platforms.slack.events import Events
from bot.platforms.slack.pool import ReviewPool, worker_count
from bot.platforms.slack.team import Team
from bot.render import slack as render
from bot.render.slack_team import CHANGES_MODAL
from bot.review.language import detect_language
from bot.review.reviewer import Reviewer

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from bot.config import Settings
    from bot.platforms.slack.oauth import SlackOAuth
    from bot.store import Store


log = logging.getLogger("cm_coach.slack")


def api_url(settings: Settings) -> str:
    url = settings.slack.api_url or "https://slack.com/api/"
    return url if url.endswith("/") else url + "/"


async def ack_only(ack: Any) -> None:
    await ack()


def _quiet_client_note(record: logging.LogRecord) -> bool:
    """Drop Bolt's note that SLACK_BOT_TOKEN is unused: the client we pass carries it."""
    return "`token` will be unused" not in record.getMessage()


def build_app(
    settings: Settings,
    *,
    client: AsyncWebClient | None = None,
    reviewer: Reviewer | None = None,
    store: Store | None = None,
    coach: Any = None,
    process_before_response: bool = True,
    token: str | None = None,
    signing_secret: str | None = None,
    oauth: SlackOAuth | None = None,
) -> AsyncApp:
    """The Bolt app with every listener wired.

    process_before_response=True runs each (fast) ack listener before answering
    Slack, so the answer leaves as soon as it is ready, with no polling; the
    slow work always runs in lazy listeners, after the answer.

    With `oauth`, the app is installed in many workspaces: /slack/install and
    /slack/oauth_redirect are served, each request is answered with its
    workspace's bot token, and an uninstall erases the workspace.
    """
    if reviewer is None:
        reviewer = Reviewer(settings)
    if store is None:
        from bot.app.services import open_store

        store = open_store(settings)
    if coach is None:
        from bot.coach import Coach

        coach = Coach(reviewer, store)
    if client is None and oauth is not None:
        client = AsyncWebClient(base_url=api_url(settings))  # no token: each workspace's comes per request
    if client is None:
        client = AsyncWebClient(token=token if token is not None else os.environ.get("SLACK_BOT_TOKEN"),
                                base_url=api_url(settings))
    if signing_secret is None:
        signing_secret = os.environ.get("SLACK_SIGNING_SECRET", "")
    detect_language("warm up")  # load the language model now, not during the first ack

    workers = worker_count(settings.slack.review_processes)
    bot = SlackBot(settings, reviewer, store, coach, ReviewPool(workers) if workers else None)
    if bot.pool is not None and reviewer.offload is None:
        reviewer.offload = bot.offline_review  # coaching's reviews in the worker processes too
    commands, events, actions = Commands(bot), Events(bot, oauth), Actions(bot)
    logging.getLogger("slack_bolt.AsyncApp").addFilter(_quiet_client_note)
    app = AsyncApp(
        client=client,
        signing_secret=signing_secret,
        process_before_response=process_before_response,
        raise_error_for_unhandled_request=False,
        **({} if oauth is None else {"oauth_settings": oauth.settings(api_url(settings)),
                                     "authorize": oauth.authorize(client)}),
    )
    app.middleware(events.once_per_event)
    app.command(settings.slack.command)(ack=commands.ack_review, lazy=[commands.run_review])
    app.view(render.MODAL_CALLBACK)(ack=commands.ack_modal, lazy=[commands.run_modal])
    app.shortcut(render.SHORTCUT_CALLBACK)(ack=ack_only, lazy=[actions.run_shortcut])
    app.event("app_mention")(ack=ack_only, lazy=[events.run_event])
    app.event("message")(ack=ack_only, lazy=[events.run_event])
    app.event("app_home_opened")(ack=ack_only, lazy=[events.run_home])
    if oauth is not None:
        app.event("app_uninstalled")(ack=ack_only, lazy=[events.run_uninstalled])
        app.event("tokens_revoked")(ack=ack_only, lazy=[events.run_tokens_revoked])
    for action_id in (render.ACTION_COPY, render.ACTION_SHARE, render.ACTION_ANOTHER):
        app.action(action_id)(ack=ack_only, lazy=[actions.run_button])
    team = Team(bot)
    app.action(render.ACTION_REQUEST_APPROVAL)(ack=ack_only, lazy=[team.run_request])
    app.action(render.ACTION_APPROVE)(ack=ack_only, lazy=[team.run_approve])
    app.action(render.ACTION_REQUEST_CHANGES)(ack=ack_only, lazy=[team.run_open_changes])
    app.view(CHANGES_MODAL)(ack=ack_only, lazy=[team.run_changes])
    app.cm_coach = bot  # type: ignore[attr-defined]  # for serve() and tests
    token_for = oauth.bot_token if oauth is not None else None
    app.cm_coach_resume = lambda min_age=0.0: resume(  # type: ignore[attr-defined]
        bot, commands, events, client, min_age=min_age, token_for=token_for)
    return app


# A response_url takes answers for 30 minutes; later work is answered in the
# channel (ephemeral) or by DM. Work older than a day is not answered at all.
RESPONSE_URL_SECONDS = 30 * 60
RESUME_SECONDS = 86_400.0


async def resume(bot: SlackBot, commands: Commands, events: Events, client: AsyncWebClient, *,
                 min_age: float = 0.0, token_for: Callable[[str], Awaitable[str | None]] | None = None) -> int:
    """Answer the work that was acked and not answered (before the last stop, or by an
    instance that died), at least `min_age` seconds old; how many.

    With `token_for` (OAuth mode), each piece is answered with its workspace's bot token;
    the work of a workspace that uninstalled the app is dropped.
    """
    try:
        ids = await asyncio.to_thread(bot.work.resumable, RESUME_SECONDS, min_age)
    except Exception as exc:
        log.warning("could not read unfinished work: %s", type(exc).__name__)
        return 0

    async def one(work_id: str) -> bool:
        work = await asyncio.to_thread(bot.work.claim, work_id)
        if work is None:
            return False  # another instance took it
        payload = work.payload
        answering = client
        if token_for is not None:
            try:
                token = await token_for(work.workspace)
            except Exception as exc:  # left taken: its lease puts it back
                log.warning("could not find a workspace's token: %s", type(exc).__name__)
                return False
            if token is None:  # nobody left to answer
                bot.work.done(work_id, "uninstalled")
                return False
            answering = AsyncWebClient(token=token, base_url=client.base_url)
        try:
            if work.kind == "command":
                expired = bot.work.clock() - work.created_at > RESPONSE_URL_SECONDS - 60
                await commands.answer(payload, answering, work.workspace, response_url_expired=expired)
            elif work.kind == "event":
                context = {"team_id": payload.get("team_id") or work.workspace,
                           "bot_user_id": payload.get("bot_user_id")}
                event = payload.get("event") or {}
                if event.get("type") == "app_mention":
                    await events.run_mention(event, answering, context)
                else:
                    await events.run_message(event, answering, context)
        except Exception:
            log.exception("unfinished work could not be answered")
        bot.work.done(work_id, "resumed")
        return True

    done = await asyncio.gather(*(one(work_id) for work_id in ids))
    count = sum(done)
    if count:
        log.warning("answered %d request(s) acked and left unanswered (a stop, a dead instance)", count)
    return count
