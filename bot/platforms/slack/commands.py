"""/review and its form: a draft typed after the command is reviewed at once;
a bare /review opens the form; /review help answers in the ack."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.platforms.slack.core import (
    OWN_DRAFT,
    PLATFORM,
    SlackBot,
    conversation_key,
    error_code,
    plain_from_slack,
)
from bot.platforms.slack.team import CRISIS_WORDS, Team
from bot.render import slack as render
from bot.render.labels import label, ui_language
from bot.review.validation import DraftError, check_draft

log = logging.getLogger("cm_coach.slack")

HELP_WORDS = {"help": "en", "aide": "fr", "?": None, "-h": None, "--help": None}
# What a /review command keeps in its durable work: enough to answer it after a restart.
COMMAND_FIELDS = ("text", "user_id", "team_id", "channel_id", "response_url")
# `/review brand NAME`: an admin chooses the brand of a channel; `default` goes back to the settings.
BRAND_WORDS = {"brand", "marque"}
# `/review report on|off`: one's own trend in the team's report, by choice.
REPORT_WORDS = {"report", "rapport"}
DEFAULT_WORDS = {"default", "none", "défaut", "defaut", "aucune"}


class Commands:
    def __init__(self, bot: SlackBot) -> None:
        self.bot = bot

    def _help_language(self, word: str, user: str | None) -> str:
        return HELP_WORDS.get(word) or ui_language(self.bot.known_locale(user))

    # -- /review ---------------------------------------------------------

    async def ack_review(self, ack: Any, command: dict[str, Any], context: Any) -> None:
        text = plain_from_slack(command.get("text")).strip()
        user = command.get("user_id") or ""
        if text.lower() in HELP_WORDS:
            lang = self._help_language(text.lower(), user)
            await ack(text=render.help_text(lang), blocks=render.help_blocks(lang), response_type="ephemeral")
            return
        if not text:
            await ack()  # the form opens from the lazy listener
            return
        if text.split()[0].lower() in BRAND_WORDS:  # an admin's choice of brand: answered after the ack
            context["brand_command"] = True
            await ack()
            return
        if text.split()[0].lower() in CRISIS_WORDS:  # crisis mode: answered after the ack
            context["crisis_command"] = True
            await ack()
            return
        if text.split()[0].lower() in REPORT_WORDS and len(text.split()) <= 2:  # one's place in the report
            context["report_command"] = True
            await ack()
            return
        bot = self.bot
        team = command.get("team_id") or context.get("team_id") or ""
        lang = bot.draft_language(text, user)
        notice = bot.rate_limited(team, user, lang)
        if notice:  # the draft comes back with the notice: nothing typed is lost
            context["limited"] = True
            await ack(text=notice, blocks=render.notice_blocks(notice, text, lang), response_type="ephemeral")
            return
        # Written before the ack: if the process dies after it, the next start answers.
        _, context["work_id"] = await bot.submit(team, user, "command", {
            key: command.get(key) for key in COMMAND_FIELDS} | {"lang": lang})
        context["lang"] = lang  # found once, here, for the answer too
        await ack(text=render.reviewing_text(lang), response_type="ephemeral")

    async def run_review(self, command: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
        text = plain_from_slack(command.get("text")).strip()
        if text.lower() in HELP_WORDS or context.get("limited"):
            return
        if not text:
            await self.open_modal(client, command, command.get("user_id") or "")
            return
        if context.get("brand_command"):
            await self.choose_brand(command, client, context.get("team_id") or command.get("team_id") or "")
            return
        if context.get("report_command"):
            await self.report_choice(command, client, context.get("team_id") or command.get("team_id") or "")
            return
        if context.get("crisis_command"):
            await Team(self.bot).crisis_command(command, client, context.get("team_id") or
                                                command.get("team_id") or "", self.is_admin)
            return
        if not await self.bot.take(context):
            return  # another process has it, or answered it already
        await self.answer(command | {"lang": context.get("lang")}, client, context.get("team_id") or "")
        await self.bot.finish(context, "response_url")

    async def answer(self, command: dict[str, Any], client: AsyncWebClient, team: str,
                     response_url_expired: bool = False) -> None:
        """Review a /review draft and send the answer in place of the ack."""
        bot = self.bot
        text = plain_from_slack(command.get("text")).strip()
        user = command.get("user_id") or ""
        response_url = None if response_url_expired else command.get("response_url")
        channel = command.get("channel_id")
        lang = command.get("lang") or bot.draft_language(text, user)
        try:
            await bot.locale(client, user)
            fallback, blocks = await bot.review_blocks_for(
                text, team=command.get("team_id") or team, user=user, kind=OWN_DRAFT, lang_hint=lang,
                channel=channel)
            await bot.send_private(client, text=fallback, blocks=blocks, response_url=response_url,
                                   channel=channel, user=user, replace_original=True)
        except Exception:
            log.exception("/review could not be answered")
            await bot.last_resort(client, user, text, lang, response_url, channel)

    async def choose_brand(self, command: dict[str, Any], client: AsyncWebClient, team: str) -> None:
        """`/review brand NAME` in a channel: a workspace admin chooses the brand that answers
        there (`/review brand default`: back to the settings); `/review brand` says which."""
        bot = self.bot
        user, channel = command.get("user_id") or "", command.get("channel_id") or ""
        lang = ui_language(await bot.locale(client, user))
        words = plain_from_slack(command.get("text")).split()[1:]
        brands = bot.settings.brands
        known = ", ".join(sorted(brands)) or "—"
        if not words:
            current = await asyncio.to_thread(bot.desk.brand_for, PLATFORM, team, channel)
            shown = bot.settings.brand_profile(current).name or current or "[brand]"
            text = label("brand_current", lang, brand=shown, brands=known)
        elif not await self.is_admin(client, user):
            text = label("brand_admins_only", lang)
        else:
            name = None if words[0].lower() in DEFAULT_WORDS else words[0]
            if name is not None and name not in brands:
                text = label("brand_unknown", lang, brand=name, brands=known)
            else:
                try:
                    await asyncio.to_thread(bot.desk.set_brand, conversation_key(team, user), channel, name)
                    shown = bot.settings.brand_profile(name).name or name or "[brand]"
                    text = label("brand_set", lang, brand=shown)
                except Exception as exc:
                    log.warning("could not set a channel's brand: %s", type(exc).__name__)
                    text = label("error_generic", lang)
        await bot.send_private(client, text=text, blocks=render.notice_blocks(text, None, lang),
                               response_url=command.get("response_url"), channel=channel, user=user)

    async def report_choice(self, command: dict[str, Any], client: AsyncWebClient, team: str) -> None:
        """`/review report on|off`: whether one's own trend appears in `cm-coach report`
        (the team's totals always count everyone, nobody's drafts are ever shown)."""
        bot = self.bot
        user, channel = command.get("user_id") or "", command.get("channel_id")
        lang = ui_language(await bot.locale(client, user))
        words = plain_from_slack(command.get("text")).lower().split()[1:]
        if words and words[0] in ("on", "oui", "yes"):
            await asyncio.to_thread(bot.desk.audit, conversation_key(team, user), "report.opt_in", "own trend shown")
            text = label("report_opted_in", lang)
        elif words and words[0] in ("off", "non", "no"):
            await asyncio.to_thread(bot.desk.audit, conversation_key(team, user), "report.opt_out", "own trend hidden")
            text = label("report_opted_out", lang)
        else:
            text = label("report_choice_help", lang)
        await bot.send_private(client, text=text, blocks=render.notice_blocks(text, None, lang),
                               response_url=command.get("response_url"), channel=channel, user=user)

    async def is_admin(self, client: AsyncWebClient, user: str) -> bool:
        """A workspace admin or owner, or a user listed in slack.admins."""
        if user in self.bot.settings.slack.admins:
            return True
        try:
            found = (await client.users_info(user=user)).get("user") or {}
        except Exception as exc:
            log.info("users.info failed for an admin check: %s", error_code(exc))
            return False
        return bool(found.get("is_admin") or found.get("is_owner"))

    async def open_modal(self, client: AsyncWebClient, command: dict[str, Any], user: str) -> None:
        bot = self.bot
        lang = ui_language(await bot.locale(client, user))
        metadata = json.dumps({"url": command.get("response_url"), "channel": command.get("channel_id")})
        view = render.review_modal(lang, metadata, platform=bot.settings.brand.platform,
                                   voice=bot.settings.brand.voice)
        try:
            await client.views_open(trigger_id=command.get("trigger_id"), view=view)
        except Exception as exc:
            log.warning("views.open failed: %s", error_code(exc))
            await bot.send_private(
                client, text=render.help_text(lang), blocks=render.help_blocks(lang),
                response_url=command.get("response_url"), channel=command.get("channel_id"), user=user)

    # -- the form's submission ------------------------------------------

    async def ack_modal(self, ack: Any, view: dict[str, Any]) -> None:
        values = render.modal_values(view)
        try:
            check_draft(values.get(render.INPUT_DRAFT), self.bot.settings.review.max_draft_chars)
        except DraftError as exc:  # the form stays open with what was typed
            await ack(response_action="errors", errors={render.INPUT_DRAFT: str(exc)[:150]})
            return
        await ack()

    async def run_modal(self, view: dict[str, Any], body: dict[str, Any], client: AsyncWebClient,
                        context: Any) -> None:
        bot = self.bot
        values = render.modal_values(view)
        user = (body.get("user") or {}).get("id") or ""
        try:
            metadata = json.loads(view.get("private_metadata") or "{}")
        except ValueError:
            metadata = {}
        draft = values.get(render.INPUT_DRAFT, "")
        lang = bot.draft_language(draft, user)
        try:
            await bot.locale(client, user)
            fallback, blocks = await bot.review_blocks_for(
                draft, team=context.get("team_id") or "", user=user, kind=OWN_DRAFT, lang_hint=lang,
                context=values.get(render.INPUT_CONTEXT) or None,
                platform=values.get(render.INPUT_PLATFORM) or None,
                voice=values.get(render.INPUT_VOICE) or None, channel=metadata.get("channel"))
            await bot.send_private(client, text=fallback, blocks=blocks, response_url=metadata.get("url"),
                                   channel=metadata.get("channel"), user=user)
        except Exception:
            log.exception("the form could not be answered")
            await bot.last_resort(client, user, draft, lang, metadata.get("url"), metadata.get("channel"))
