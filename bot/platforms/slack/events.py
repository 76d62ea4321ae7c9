"""Events API listeners: mentions, direct messages (the coach) and the App Home,
plus the middleware that answers each event once (a retry is dropped); in OAuth
mode, a workspace that uninstalls the app or revokes its token is erased."""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
from typing import TYPE_CHECKING, Any

from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.platforms.slack.core import (
    OWN_DRAFT,
    PEER_DRAFT,
    PLATFORM,
    SlackBot,
    conversation_key,
    error_code,
    plain_from_slack,
)
from bot.render import slack as render
from bot.render.labels import label, ui_language

if TYPE_CHECKING:
    from bot.platforms.slack.oauth import SlackOAuth

log = logging.getLogger("cm_coach.slack")


def answered(event: dict[str, Any], bot_user: str | None) -> bool:
    """Events that get an answer: a person's mention, a person's new DM (no bots, no edits)."""
    if event.get("bot_id") or event.get("subtype"):
        return False
    if event.get("type") == "app_mention":
        return True
    user = event.get("user")
    return event.get("type") == "message" and event.get("channel_type") == "im" and bool(user) and user != bot_user


class Events:
    def __init__(self, bot: SlackBot, oauth: SlackOAuth | None = None) -> None:
        self.bot = bot
        self.oauth = oauth  # OAuth mode: the installations an uninstall erases

    async def once_per_event(self, body: dict[str, Any], context: Any, next_: Any) -> BoltResponse | None:
        """Each event is answered once: a retry (same event_id) is acknowledged and dropped.

        For the events that get an answer (mentions, DMs) the event id is
        recorded with the work, before the ack, in one transaction: a crash
        after the ack leaves the work for the next start, and a retry of an
        event whose first delivery was never acked is still answered.
        """
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id:
            event = body.get("event") or {}
            team = body.get("team_id") or context.get("team_id") or ""
            if answered(event, context.get("bot_user_id")):
                first, context["work_id"] = await self.bot.submit(
                    team, event.get("user") or "", "event",
                    {"event": event, "team_id": team, "bot_user_id": context.get("bot_user_id")},
                    event_id=str(event_id))
            else:
                try:
                    first = self.bot.store.mark_event(PLATFORM, str(event_id))
                except Exception as exc:  # better a rare double answer than none
                    log.warning("event de-duplication unavailable: %s", type(exc).__name__)
                    first = True
            if not first:
                return BoltResponse(status=200, body="")
        await next_()
        return None

    async def run_event(self, event: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
        """A mention or a DM, once, by whichever process takes its work."""
        if not answered(event, context.get("bot_user_id")) or not await self.bot.take(context):
            return
        if event.get("type") == "app_mention":
            await self.run_mention(event, client, context)
        else:
            await self.run_message(event, client, context)
        await self.bot.finish(context, "posted")

    # -- mentions ----------------------------------------------------------

    async def run_mention(self, event: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
        if event.get("bot_id") or event.get("subtype"):
            return
        bot = self.bot
        channel = event.get("channel") or ""
        user = event.get("user") or ""
        bot_user = context.get("bot_user_id") or ""
        text = plain_from_slack(re.sub(rf"<@{re.escape(bot_user)}(\|[^>]*)?>", " ", event.get("text") or "")).strip()
        reply_ts = event.get("thread_ts") or event.get("ts")
        lang = bot.draft_language(text, user) if text else ui_language(await bot.locale(client, user))
        try:
            fallback, blocks = await self._mention_answer(client, event, text, user, lang,
                                                          context.get("team_id") or "")
        except Exception as exc:
            log.exception("a mention could not be answered")
            fallback = label("error_generic", lang)
            blocks = render.error_blocks(text or None, lang, detail=error_code(exc))
        try:
            await bot.post(client, channel, reply_ts, fallback, blocks)
        except Exception as exc:  # not allowed in this channel: the answer goes to the user alone
            log.warning("could not answer a mention in its thread: %s", error_code(exc))
            notice = label("slack_post_failed", lang, error=error_code(exc))
            head = render.notice_blocks(notice, None, lang)
            await bot.send_private(client, text=notice, blocks=[*head, *blocks][: render.MAX_BLOCKS],
                                   response_url=None, channel=channel, user=user)

    async def _mention_answer(self, client: AsyncWebClient, event: dict[str, Any], text: str, user: str,
                              lang: str, team: str) -> tuple[str, list[dict[str, Any]]]:
        """A mention with a draft reviews it (the thread's first message as the
        customer's); a bare mention in a thread reviews that first message."""
        bot = self.bot
        channel = event.get("channel") or ""
        thread_ts = event.get("thread_ts")
        if text:
            customer, note = await bot.thread_context(client, channel, event, lang)
            return await bot.review_blocks_for(text, team=team, user=user, kind=OWN_DRAFT, lang_hint=lang,
                                               context=customer, extra_note=note, channel=channel)
        if thread_ts and thread_ts != event.get("ts"):
            draft = await bot.thread_parent(client, channel, thread_ts)
            if not draft.strip():
                notice = label("slack_message_empty", lang)
                return notice, render.notice_blocks(notice, None, lang)
            return await bot.review_blocks_for(draft, team=team, user=user, kind=PEER_DRAFT,
                                               lang_hint=bot.draft_language(draft, user), channel=channel)
        notice = label("slack_mention_help", lang)
        return notice, render.notice_blocks(notice, None, lang)

    # -- direct messages ---------------------------------------------------

    async def run_message(self, event: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
        # Only people's own new messages in a DM: no bots (this one included), no edits or deletions.
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
            return
        user = event.get("user") or ""
        if not user or user == context.get("bot_user_id"):
            return
        bot = self.bot
        channel = event.get("channel") or user
        text = plain_from_slack(event.get("text")).strip()
        lang = bot.draft_language(text, user) if text else ui_language(await bot.locale(client, user))
        try:
            await bot.locale(client, user)
            if not text:
                notice = label("slack_message_empty", lang)
                await bot.post(client, channel, None, notice, render.notice_blocks(notice, None, lang))
                return
            key = conversation_key(context.get("team_id") or "", user)
            result = bot.coach.handle(key, text)
            reply = await result if inspect.isawaitable(result) else result
            reply_lang = ui_language(getattr(reply, "language", None) or lang)
            ref = None
            if reply.review is not None:
                request = bot.make_request(reply.review.draft or text, context=reply.review.context,
                                           platform=reply.review.platform, user=user)
                ref = await asyncio.to_thread(bot.memory.put, reply.review, request, reply_lang, key)
            blocks = render.coach_blocks(reply.text, reply.review, ref, reply_lang)
            fallback = reply.text or (render.summary_text(reply.review, reply_lang) if reply.review else "…")
            await bot.post(client, channel, None, render.split_text(fallback)[0], blocks)
        except Exception:
            log.exception("a direct message could not be answered")
            await bot.post(client, channel, None, label("error_generic", lang), render.error_blocks(text, lang))

    # -- App Home ----------------------------------------------------------

    async def run_home(self, event: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
        if event.get("tab") not in (None, "home"):
            return
        user = event.get("user") or ""
        lang = ui_language(await self.bot.locale(client, user))
        stats = self.home_stats(context.get("team_id") or "", user)
        team = await asyncio.to_thread(self.team_brief, context.get("team_id") or "")
        await client.views_publish(user_id=user, view=render.home_view(lang, self.bot.settings.profile, stats, team))

    def team_brief(self, team: str) -> Any:
        """The team's week in brief; None (left out) when it cannot be read."""
        from bot.app.report import brief

        try:
            return brief(self.bot.store, platform=PLATFORM, workspace=team)
        except Exception as exc:
            log.warning("could not read the team's figures: %s", type(exc).__name__)
            return None

    def home_stats(self, team: str, user: str) -> render.HomeStats | None:
        """The coach's figures for the user; None (the tab says so) when they cannot be read."""
        try:
            return self.bot.coach.stats(conversation_key(team, user))
        except Exception as exc:
            log.warning("could not read a user's figures: %s", type(exc).__name__)
            return None

    # -- the app leaves a workspace (OAuth mode) ------------------------------

    async def run_uninstalled(self, body: dict[str, Any], context: Any) -> None:
        """app_uninstalled: the workspace's installation and everything kept about it go."""
        await self.forget_workspace(body, context)

    async def run_tokens_revoked(self, event: dict[str, Any], body: dict[str, Any], context: Any) -> None:
        """tokens_revoked: without its bot token the app can do nothing in the workspace, so
        it is erased as for an uninstall; revoked user tokens only lose their installations."""
        tokens = event.get("tokens") or {}
        if tokens.get("bot"):
            await self.forget_workspace(body, context)
            return
        if self.oauth is None:
            return
        for user in tokens.get("oauth") or []:
            await self.oauth.installations.async_delete_installation(
                enterprise_id=context.get("enterprise_id"), team_id=context.get("team_id"), user_id=user)

    async def forget_workspace(self, body: dict[str, Any], context: Any) -> None:
        team = context.get("team_id") or body.get("team_id") or ""
        if self.oauth is not None:
            await self.oauth.forget(context.get("enterprise_id"), team or None)
        if team:
            rows = await asyncio.to_thread(self.bot.store.forget_workspace, PLATFORM, team)
            log.info("a workspace removed the app: its installation and %d row(s) erased", rows)
