"""The team around the reply, on Slack: "Ask for approval" sends a version to the
approvers' channel, where a member approves or requests changes (with a note);
the requester is told by DM. Crisis mode: `/review crisis on [hours]`, `off`, and
`/review crisis` for its state. The desk decides and keeps the books; this module
only carries the messages."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.app.desk import APPROVED, CHANGES, ApprovalRefused
from bot.platforms.slack.core import PLATFORM, SlackBot, conversation_key, error_code, when
from bot.render import slack as render
from bot.render import slack_team as team_render
from bot.render.labels import label, ui_language
from bot.review.models import Review

log = logging.getLogger("cm_coach.slack")

CRISIS_WORDS = {"crisis", "crise"}
ON_WORDS = {"on", "start", "oui", "marche"}
OFF_WORDS = {"off", "stop", "end", "non", "arrêt", "arret"}


class Team:
    def __init__(self, bot: SlackBot) -> None:
        self.bot = bot

    # -- asking --------------------------------------------------------------

    async def run_request(self, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient,
                          context: Any) -> None:
        """`request_approval` under a review: the draft or the chosen rewrite goes to the approvers."""
        bot = self.bot
        user = (body.get("user") or {}).get("id") or ""
        team = context.get("team_id") or ""
        channel = (body.get("channel") or {}).get("id")
        response_url = body.get("response_url")
        lang = ui_language(bot.known_locale(user))
        approvers = bot.settings.team.approvers_channel
        try:
            parsed = render.parse_button_value(action.get("value"))
            item = await asyncio.to_thread(bot.desk.recall, parsed[0]) if parsed else None
            if item is None or parsed is None:
                await self._tell(client, user, channel, response_url, label("slack_expired", lang), lang)
                return
            lang = item.lang
            if not approvers:
                await self._tell(client, user, channel, response_url, label("approval_off", lang), lang)
                return
            review, index = item.review, parsed[1]
            version = review.draft if index == render.DRAFT_ITSELF else review.rewrites[index].text
            key = conversation_key(team, user)
            approval_id = await asyncio.to_thread(bot.desk.request_approval, key, channel or "", version, review)
            blocks = team_render.approval_request_blocks(approval_id, user, version, review, lang)
            try:
                posted = await client.chat_postMessage(channel=approvers, text=label("approval_asked", lang,
                                                                                      user=f"<@{user}>"),
                                                       blocks=blocks, unfurl_links=False, unfurl_media=False)
            except Exception as exc:
                text = label("approval_post_failed", lang, error=error_code(exc))
                await self._tell(client, user, channel, response_url, text, lang)
                return
            await asyncio.to_thread(bot.store.set_approval_message, approval_id, str(posted.get("channel")),
                                    str(posted.get("ts")))
            await self._tell(client, user, channel, response_url, label("approval_sent", lang), lang)
        except Exception:
            log.exception("a request for approval could not be sent")
            await bot.last_resort(client, user, None, lang, response_url, channel)

    # -- deciding ------------------------------------------------------------

    async def run_approve(self, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient,
                          context: Any) -> None:
        await self._decide(body, str(action.get("value") or ""), client, context, APPROVED, None)

    async def run_open_changes(self, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient,
                               context: Any) -> None:
        """`request_changes`: a decider gets the form for their note (others are told why not)."""
        user = (body.get("user") or {}).get("id") or ""
        lang = ui_language(await self.bot.locale(client, user))
        approval_id = str(action.get("value") or "")
        refusal = await self._refusal(client, approval_id, context.get("team_id") or "", user)
        if refusal:
            await self._tell(client, user, (body.get("channel") or {}).get("id"), body.get("response_url"),
                             label(refusal, lang), lang)
            return
        try:
            await client.views_open(trigger_id=body.get("trigger_id"),
                                    view=team_render.changes_modal(approval_id, lang))
        except Exception as exc:
            log.warning("views.open failed for a request for changes: %s", error_code(exc))

    async def run_changes(self, view: dict[str, Any], body: dict[str, Any], client: AsyncWebClient,
                          context: Any) -> None:
        """The note's form submitted: the request for changes is decided with it."""
        await self._decide(body, str(view.get("private_metadata") or ""), client, context, CHANGES,
                           team_render.note_of(view) or None)

    async def _refusal(self, client: AsyncWebClient, approval_id: str, team: str, user: str) -> str | None:
        """Why `user` may not decide on this request (a label key), or None."""
        found = await asyncio.to_thread(self.bot.store.approval, approval_id)
        if found is None:
            return "approval_unknown"
        if found["user"] == user and found["workspace"] == team:
            return "approval_own"
        if found["state"] != "pending":
            return "approval_decided"
        if not await self.is_approver(client, user):
            return "approval_not_approver"
        return None

    async def is_approver(self, client: AsyncWebClient, user: str) -> bool:
        """A member of the approvers' channel, or of the approvers' user group."""
        team = self.bot.settings.team
        try:
            cursor = None
            while True:
                page = await client.conversations_members(channel=team.approvers_channel, cursor=cursor,
                                                          limit=1000)
                if user in (page.get("members") or []):
                    return True
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
        except Exception as exc:
            log.info("conversations.members failed for an approval: %s", error_code(exc))
        if team.approvers_group:
            try:
                found = await client.usergroups_users_list(usergroup=team.approvers_group)
                return user in (found.get("users") or [])
            except Exception as exc:
                log.info("usergroups.users.list failed for an approval: %s", error_code(exc))
        return False

    async def _decide(self, body: dict[str, Any], approval_id: str, client: AsyncWebClient, context: Any,
                      state: str, note: str | None) -> None:
        bot = self.bot
        user = (body.get("user") or {}).get("id") or ""
        team = context.get("team_id") or (body.get("team") or {}).get("id") or ""
        lang = ui_language(await bot.locale(client, user))
        channel = (body.get("channel") or {}).get("id")
        response_url = body.get("response_url")
        refusal = await self._refusal(client, approval_id, team, user)
        try:
            if refusal:
                raise ApprovalRefused(refusal)
            decided = await asyncio.to_thread(bot.desk.decide, approval_id, conversation_key(team, user), state,
                                              note)
        except ApprovalRefused as exc:
            await self._tell(client, user, channel, response_url, label(str(exc), lang), lang)
            return
        review = Review.from_dict(decided["review"])
        text = team_render.decision_text(state, user, note, lang)
        if decided.get("message_channel") and decided.get("message_ts"):
            blocks = team_render.approval_request_blocks(approval_id, decided["user"], decided["version"], review,
                                                         lang, decided=text)
            try:
                await client.chat_update(channel=decided["message_channel"], ts=decided["message_ts"], text=text,
                                         blocks=blocks)
            except Exception as exc:
                log.warning("could not show a decision in the approvers' channel: %s", error_code(exc))
        requester_lang = ui_language(bot.known_locale(decided["user"]) or review.language)
        answer = team_render.requester_blocks(state, user, decided["version"], note, requester_lang)
        summary = label("approval_you_approved" if state == APPROVED else "approval_you_changes", requester_lang,
                        user=f"<@{user}>")
        try:
            await client.chat_postMessage(channel=decided["user"], text=summary, blocks=answer)
        except Exception as exc:
            log.warning("could not tell the requester of a decision: %s", error_code(exc))

    # -- crisis mode ---------------------------------------------------------

    async def crisis_command(self, command: dict[str, Any], client: AsyncWebClient, team: str,
                             is_admin: Any) -> None:
        """`/review crisis on [hours]`, `/review crisis off`, `/review crisis`."""
        bot = self.bot
        user = command.get("user_id") or ""
        lang = ui_language(await bot.locale(client, user))
        words = [w.lower() for w in str(command.get("text") or "").split()[1:]]
        key = conversation_key(team, user)
        if not words:
            on = await asyncio.to_thread(bot.desk.crisis, PLATFORM, team)
            text = (label("crisis_status_on", lang, until=when(on.until), user=f"<@{on.started_by}>") if on
                    else label("crisis_status_off", lang))
        elif not await is_admin(client, user):
            text = label("crisis_admins_only", lang)
        elif words[0] in ON_WORDS:
            hours = _hours(words[1:])
            started = await asyncio.to_thread(bot.desk.start_crisis, key, hours)
            text = label("crisis_on", lang, until=when(started.until))
        elif words[0] in OFF_WORDS:
            await asyncio.to_thread(bot.desk.end_crisis, key)
            text = label("crisis_off", lang)
        else:
            text = label("crisis_status_off", lang)
        await self._tell(client, user, command.get("channel_id"), command.get("response_url"), text, lang)

    async def _tell(self, client: AsyncWebClient, user: str, channel: str | None, response_url: str | None,
                    text: str, lang: str) -> None:
        await self.bot.send_private(client, text=text, blocks=render.notice_blocks(text, None, lang),
                                    response_url=response_url, channel=channel, user=user)


def _hours(words: list[str]) -> float | None:
    """`48`, `48h`, `2d` (days) after `on`; None: the settings' default."""
    if not words:
        return None
    word = words[0].rstrip("h")
    try:
        if word.endswith(("d", "j")):
            return float(word[:-1]) * 24
        return float(word)
    except ValueError:
        return None
