"""Interactivity: the buttons under a review (copy, share, another style) and
the "Review this message" shortcut."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.app.memory import Remembered
from bot.platforms.slack.core import (
    OWN_DRAFT,
    PEER_DRAFT,
    SlackBot,
    conversation_key,
    error_code,
    plain_from_slack,
)
from bot.render import slack as render
from bot.render.labels import label, ui_language
from bot.review.models import Review

log = logging.getLogger("cm_coach.slack")

class Actions:
    def __init__(self, bot: SlackBot) -> None:
        self.bot = bot

    # -- the message shortcut -------------------------------------------

    async def run_shortcut(self, shortcut: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
        bot = self.bot
        message = shortcut.get("message") or {}
        user = (shortcut.get("user") or {}).get("id") or ""
        channel = (shortcut.get("channel") or {}).get("id")
        response_url = shortcut.get("response_url")
        draft = plain_from_slack(message.get("text")).strip()
        lang = ui_language(await bot.locale(client, user))
        try:
            if not draft:
                text = label("slack_message_empty", lang)
                await bot.send_private(client, text=text, blocks=render.notice_blocks(text, None, lang),
                                       response_url=response_url, channel=channel, user=user)
                return
            lang = bot.draft_language(draft, user)
            customer, note = await bot.thread_context(client, channel, message, lang)
            fallback, blocks = await bot.review_blocks_for(
                draft, team=context.get("team_id") or "", user=user, lang_hint=lang,
                kind=OWN_DRAFT if message.get("user") == user else PEER_DRAFT,
                context=customer, extra_note=note, channel=channel)
            await bot.send_private(client, text=fallback, blocks=blocks, response_url=response_url,
                                   channel=channel, user=user)
        except Exception:
            log.exception("the shortcut could not be answered")
            await bot.last_resort(client, user, draft, lang, response_url, channel)

    # -- buttons -----------------------------------------------------------

    async def run_button(self, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient,
                         context: Any) -> None:
        bot = self.bot
        user = (body.get("user") or {}).get("id") or ""
        key = conversation_key(context.get("team_id") or "", user)
        channel = (body.get("channel") or {}).get("id")
        response_url = body.get("response_url")
        lang = ui_language(bot.known_locale(user))
        try:
            parsed = render.parse_button_value(action.get("value"))
            item = bot.memory.get(parsed[0]) if parsed else None
            if parsed is None or item is None or not 0 <= parsed[1] < len(item.review.rewrites):
                text = label("slack_expired", lang)
                await bot.send_private(client, text=text, blocks=render.notice_blocks(text, None, lang),
                                       response_url=response_url, channel=channel, user=user)
                return
            index = parsed[1]
            lang = item.lang
            action_id = action.get("action_id")
            if action_id == render.ACTION_COPY:
                rewrite = item.review.rewrites[index]
                await bot.send_private(client, text=rewrite.text, blocks=render.copy_blocks(rewrite, lang),
                                       response_url=response_url, channel=channel, user=user)
            elif action_id == render.ACTION_SHARE:
                await self.share(client, item.review, index, key, lang, response_url, channel)
            elif action_id == render.ACTION_ANOTHER:
                await self.another_style(client, item, key, lang, response_url, channel)
        except Exception:
            log.exception("a button could not be answered")
            await bot.last_resort(client, user, None, lang, response_url, channel)

    async def share(self, client: AsyncWebClient, review: Review, index: int, key: Any, lang: str,
                    response_url: str | None, channel: str | None) -> None:
        user = key.user
        blocks = render.share_blocks(review, index, user, lang)
        text = render.summary_text(review, lang)
        error = "no_channel"
        if response_url:
            resp = await AsyncWebhookClient(response_url).send(
                text=text, blocks=blocks, response_type="in_channel", replace_original=False)
            if resp.status_code == 200:
                self.bot.audit(key, "slack.share", "a review was shared in a channel")
                return
            error = str(resp.status_code)
        elif channel:
            try:
                await client.chat_postMessage(channel=channel, text=text, blocks=blocks)
                self.bot.audit(key, "slack.share", "a review was shared in a channel")
                return
            except SlackApiError as exc:
                error = error_code(exc)
        notice = label("slack_share_failed", lang, error=error)
        await self.bot.send_private(client, text=notice, blocks=render.notice_blocks(notice, None, lang),
                                    response_url=None, channel=channel, user=user)

    async def another_style(self, client: AsyncWebClient, item: Remembered, key: Any, lang: str,
                            response_url: str | None, channel: str | None) -> None:
        """A rewrite in a style not shown yet, proposed by the core's rewriter
        (which re-reviews it: only a rewrite that passes is offered). It is kept
        with the review under a new reference, so its own buttons work and the
        next "Another style" knows what was shown."""
        found = await asyncio.to_thread(self.bot.desk.another, item)  # every rewrite is shown already
        if found is None:
            text = label("slack_no_other_style", lang)
            blocks = render.notice_blocks(text, None, lang)
        else:
            rewrite, index = found
            ref = await asyncio.to_thread(self.bot.desk.keep, item.review, item.request, lang, key)
            text = rewrite.text
            blocks = render.another_blocks(item.review, index, ref, lang)
        await self.bot.send_private(client, text=text, blocks=blocks, response_url=response_url,
                                    channel=channel, user=key.user)
