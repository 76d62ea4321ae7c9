"""The Slack app: Bolt listeners that turn Slack's events into review requests
and reviews into Block Kit (bot.render.slack). No judgement happens here.

Every listener acks at once and does its slow work in a lazy listener, so
Slack gets its answer well inside 3 seconds whatever the reviewer does. Events
are answered once per event_id (a retry is acknowledged and dropped). Every
failure reaches the user as a message that says what to do.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.platforms.slack.memory import Remembered, ReviewMemory
from bot.platforms.slack.pool import BrokenProcessPool, ReviewPool, worker_count
from bot.render import slack as render
from bot.render.labels import label, ui_language
from bot.review.engine import detect_language
from bot.review.models import PLATFORMS, VOICES, Review, ReviewRequest, Rewrite
from bot.review.reviewer import Reviewer
from bot.review.validation import DraftError, check_draft

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.store import Store

log = logging.getLogger("cm_coach.slack")

# Every style the rewriter knows, in the order "Another style" offers them.
REWRITE_STYLES = ("apology", "calm", "warm", "concise", "formal")
HELP_WORDS = {"help": "en", "aide": "fr", "?": None, "-h": None, "--help": None}
PLATFORM = "slack"
# Kinds of the reviews kept in the store: the user's own draft (counted in the
# coach's figures with the drafts sent by DM), or a teammate's message.
OWN_DRAFT = "draft"
PEER_DRAFT = "peer"
_SLACK_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")


def plain_from_slack(text: str | None) -> str:
    """Slack's markup back to what the person typed: <@U1|ann> -> @ann,
    <https://x.y|x.y> -> https://x.y, &amp; -> &."""

    def sub(m: re.Match[str]) -> str:
        target, shown = m.group(1), m.group(2)
        if target[:1] in "@#":
            return target[0] + (shown or target[1:])
        if target.startswith("!"):
            return "@" + (shown or target[1:].split("^")[0])
        if target.startswith("mailto:"):
            return shown or target[len("mailto:"):]
        return target

    text = _SLACK_LINK.sub(sub, text or "")
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _key(team: str, user: str) -> Any:
    from bot.coach import ConversationKey

    return ConversationKey(PLATFORM, team, user)


def other_style(review: Review, request: ReviewRequest) -> Rewrite | None:
    """A rewrite of the draft in a style the review does not offer yet, or None."""
    from bot.review.packs import packs
    from bot.review.rewrites import propose

    pack = packs().get(review.language)
    if pack is None:
        return None
    shown_styles = {r.style for r in review.rewrites}
    shown_texts = {r.text.strip() for r in review.rewrites}
    styles = tuple(s for s in REWRITE_STYLES if s not in shown_styles)
    if not styles:
        return None
    for rewrite in propose(replace(request, lang=pack.language), review, pack, styles=styles):
        if rewrite.text.strip() not in shown_texts:
            return rewrite
    return None


def api_url(settings: Settings) -> str:
    url = settings.slack.api_url or "https://slack.com/api/"
    return url if url.endswith("/") else url + "/"


def _error_code(exc: BaseException) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or exc.response.status_code)
    return type(exc).__name__


class SlackBot:
    """What the listeners share: the reviewer, the coach, the store, the memory
    of recent reviews and the users' locales."""

    def __init__(self, settings: Settings, reviewer: Reviewer, store: Store, coach: Any,
                 pool: ReviewPool | None = None) -> None:
        self.settings = settings
        self.reviewer = reviewer
        self.store = store
        self.coach = coach
        self.pool = pool
        self.memory = ReviewMemory(store, settings.profile)
        self._locales: dict[str, str | None] = {}

    # -- language --------------------------------------------------------

    def known_locale(self, user: str | None) -> str | None:
        return self._locales.get(user or "")

    async def locale(self, client: AsyncWebClient, user: str | None) -> str | None:
        """The user's Slack locale (users.info), asked once per user."""
        if not user:
            return None
        if user in self._locales:
            return self._locales[user]
        try:
            resp = await client.users_info(user=user, include_locale=True)
            found = (resp.get("user") or {}).get("locale")
        except Exception as exc:  # no users:read scope, a deleted user: fall back to the draft
            log.info("users.info failed for a user: %s", _error_code(exc))
            found = None
        self._locales[user] = found
        return found

    def draft_language(self, text: str, user: str | None) -> str:
        """The interface language for a draft: its own when fr or en, else the
        user's locale where known, else English."""
        lang = detect_language(text) if text.strip() else ""
        if lang in ("fr", "en"):
            return lang
        return ui_language(self.known_locale(user))

    # -- reviewing -------------------------------------------------------

    def make_request(self, draft: str, *, context: str | None = None, platform: str | None = None,
                     voice: str | None = None, user: str | None = None) -> ReviewRequest:
        profile = self.settings.profile
        if voice in VOICES and voice != profile.voice:
            profile = replace(profile, voice=voice)  # type: ignore[arg-type]
        fields: dict[str, Any] = {"context": context or None, "profile": profile, "user": user}
        if platform in PLATFORMS:
            fields["platform"] = platform
        return self.reviewer.request(draft, **fields)

    async def review(self, request: ReviewRequest, lang: str) -> Review:
        """The reviewer's answer; when the LLM path fails in a way the reviewer
        did not catch, the offline review with a note. DraftError goes up."""
        if not self.reviewer.use_llm():
            if self.pool is not None:
                prepared = self.reviewer.prepare(request)  # DraftError here, in the loop
                try:
                    return await self.pool.review(prepared)
                except BrokenProcessPool:
                    log.warning("review processes stopped; reviewing in the app's process from now on")
                    self.pool = None
            return self.reviewer.review_sync(request)
        deadline = self.settings.llm.deadline + 5
        try:
            return await asyncio.wait_for(self.reviewer.review(request), timeout=deadline)
        except DraftError:
            raise
        except Exception as exc:
            log.warning("LLM review failed, offline review used: %s", type(exc).__name__)
            review = self.reviewer.review_sync(request)
            review.notes.append(label("slack_llm_fallback", lang, error=type(exc).__name__))
            return review

    def record(self, team: str, user: str, kind: str, review: Review) -> None:
        """Keep the review in the user's history (the Home tab's figures)."""
        add = getattr(self.store, "add_review", None)
        if add is None or not user:
            return
        try:
            add(_key(team, user), {
                "kind": kind, "draft": review.draft, "context": review.context,
                "language": review.language, "verdict": review.verdict, "risk": review.risk,
                "categories": [f.category for f in review.findings],
                "scores": {s.rule: s.score for s in review.golden_rules},
            })
        except Exception as exc:  # the review was delivered; a failed history write must not undo that
            log.warning("could not record a review: %s", type(exc).__name__)

    async def review_blocks_for(
        self, draft: str, *, team: str, user: str, kind: str, lang_hint: str,
        context: str | None = None, platform: str | None = None, voice: str | None = None,
        extra_note: str | None = None,
    ) -> tuple[str, list[dict[str, Any]]]:
        """(fallback text, blocks) for a draft: the review, or a message saying what to do."""
        try:
            request = self.make_request(draft, context=context, platform=platform, voice=voice, user=user)
            review = await self.review(request, lang_hint)
        except DraftError as exc:
            return str(exc), render.notice_blocks(str(exc), draft, lang_hint)
        except Exception:
            log.exception("review failed")
            return label("error_generic", lang_hint), render.error_blocks(draft, lang_hint)
        if extra_note:
            review.notes.append(extra_note)
        lang = render.review_language(review, self.known_locale(user) or lang_hint)
        # Store writes wait on the disk: off the event loop, so acks never wait on them.
        ref = await asyncio.to_thread(self.memory.put, review, request, lang, _key(team, user))
        await asyncio.to_thread(self.record, team, user, kind, review)
        return render.summary_text(review, lang), render.review_blocks(review, lang, ref=ref)

    # -- delivery --------------------------------------------------------

    async def send_private(
        self, client: AsyncWebClient, *, text: str, blocks: list[dict[str, Any]],
        response_url: str | None, channel: str | None, user: str,
    ) -> None:
        """Only the user sees it: response_url, else chat.postEphemeral, else a DM."""
        if response_url:
            try:
                resp = await AsyncWebhookClient(response_url).send(
                    text=text, blocks=blocks, response_type="ephemeral", replace_original=False)
                if resp.status_code == 200:
                    return
                log.warning("response_url answered %s", resp.status_code)
            except Exception as exc:
                log.warning("response_url failed: %s", type(exc).__name__)
        if channel:
            try:
                await client.chat_postEphemeral(channel=channel, user=user, text=text, blocks=blocks)
                return
            except Exception as exc:
                log.warning("chat.postEphemeral failed: %s", _error_code(exc))
        await client.chat_postMessage(channel=user, text=text, blocks=blocks)

    async def thread_parent(self, client: AsyncWebClient, channel: str, thread_ts: str) -> str:
        """The text of a thread's first message (conversations.replies)."""
        resp = await client.conversations_replies(channel=channel, ts=thread_ts, limit=1, inclusive=True)
        messages = resp.get("messages") or []
        return plain_from_slack(messages[0].get("text")) if messages else ""

    # -- /review ---------------------------------------------------------

    def _help_language(self, word: str, user: str | None) -> str:
        return HELP_WORDS.get(word) or ui_language(self.known_locale(user))

    async def ack_review(self, ack: Any, command: dict[str, Any]) -> None:
        text = plain_from_slack(command.get("text")).strip()
        user = command.get("user_id")
        if text.lower() in HELP_WORDS:
            lang = self._help_language(text.lower(), user)
            await ack(text=render.help_text(lang), blocks=render.help_blocks(lang), response_type="ephemeral")
        elif not text:
            await ack()  # the form opens from the lazy listener
        else:
            await ack(text=render.reviewing_text(self.draft_language(text, user)), response_type="ephemeral")

    async def run_review(self, command: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
        text = plain_from_slack(command.get("text")).strip()
        user = command.get("user_id") or ""
        if text.lower() in HELP_WORDS:
            return
        response_url = command.get("response_url")
        channel = command.get("channel_id")
        if not text:
            await self.open_modal(client, command, user)
            return
        lang = self.draft_language(text, user)
        try:
            await self.locale(client, user)
            fallback, blocks = await self.review_blocks_for(
                text, team=context.get("team_id") or "", user=user, kind=OWN_DRAFT, lang_hint=lang)
            await self.send_private(client, text=fallback, blocks=blocks, response_url=response_url,
                                    channel=channel, user=user)
        except Exception:
            log.exception("/review could not be answered")
            await self._last_resort(client, user, text, lang, response_url, channel)

    async def _last_resort(self, client: AsyncWebClient, user: str, draft: str | None, lang: str,
                           response_url: str | None, channel: str | None) -> None:
        """Try once more, with the shortest message, so the user is never left in silence."""
        try:
            await self.send_private(client, text=label("error_generic", lang),
                                    blocks=render.error_blocks(draft, lang),
                                    response_url=response_url, channel=channel, user=user)
        except Exception:
            log.exception("could not tell the user about an error")

    async def open_modal(self, client: AsyncWebClient, command: dict[str, Any], user: str) -> None:
        lang = ui_language(await self.locale(client, user))
        metadata = json.dumps({"url": command.get("response_url"), "channel": command.get("channel_id")})
        view = render.review_modal(lang, metadata, platform=self.settings.brand.platform,
                                   voice=self.settings.brand.voice)
        try:
            await client.views_open(trigger_id=command.get("trigger_id"), view=view)
        except Exception as exc:
            log.warning("views.open failed: %s", _error_code(exc))
            await self.send_private(
                client, text=render.help_text(lang), blocks=render.help_blocks(lang),
                response_url=command.get("response_url"), channel=command.get("channel_id"), user=user)

    # -- the form's submission ------------------------------------------

    async def ack_modal(self, ack: Any, view: dict[str, Any]) -> None:
        values = render.modal_values(view)
        try:
            check_draft(values.get(render.INPUT_DRAFT), self.settings.review.max_draft_chars)
        except DraftError as exc:  # the form stays open with what was typed
            await ack(response_action="errors", errors={render.INPUT_DRAFT: str(exc)[:150]})
            return
        await ack()

    async def run_modal(self, view: dict[str, Any], body: dict[str, Any], client: AsyncWebClient,
                        context: Any) -> None:
        values = render.modal_values(view)
        user = (body.get("user") or {}).get("id") or ""
        try:
            metadata = json.loads(view.get("private_metadata") or "{}")
        except ValueError:
            metadata = {}
        draft = values.get(render.INPUT_DRAFT, "")
        lang = self.draft_language(draft, user)
        try:
            await self.locale(client, user)
            fallback, blocks = await self.review_blocks_for(
                draft, team=context.get("team_id") or "", user=user, kind=OWN_DRAFT, lang_hint=lang,
                context=values.get(render.INPUT_CONTEXT) or None,
                platform=values.get(render.INPUT_PLATFORM) or None,
                voice=values.get(render.INPUT_VOICE) or None)
            await self.send_private(client, text=fallback, blocks=blocks, response_url=metadata.get("url"),
                                    channel=metadata.get("channel"), user=user)
        except Exception:
            log.exception("the form could not be answered")
            await self._last_resort(client, user, draft, lang, metadata.get("url"), metadata.get("channel"))

    # -- the message shortcut -------------------------------------------

    async def run_shortcut(self, shortcut: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
        message = shortcut.get("message") or {}
        user = (shortcut.get("user") or {}).get("id") or ""
        channel = (shortcut.get("channel") or {}).get("id")
        response_url = shortcut.get("response_url")
        draft = plain_from_slack(message.get("text")).strip()
        lang = ui_language(await self.locale(client, user))
        try:
            if not draft:
                text = label("slack_message_empty", lang)
                await self.send_private(client, text=text, blocks=render.notice_blocks(text, None, lang),
                                        response_url=response_url, channel=channel, user=user)
                return
            lang = self.draft_language(draft, user)
            customer, note = await self._thread_context(client, channel, message, lang)
            fallback, blocks = await self.review_blocks_for(
                draft, team=context.get("team_id") or "", user=user, lang_hint=lang,
                kind=OWN_DRAFT if message.get("user") == user else PEER_DRAFT,
                context=customer, extra_note=note)
            await self.send_private(client, text=fallback, blocks=blocks, response_url=response_url,
                                    channel=channel, user=user)
        except Exception:
            log.exception("the shortcut could not be answered")
            await self._last_resort(client, user, draft, lang, response_url, channel)

    async def _thread_context(self, client: AsyncWebClient, channel: str | None,
                              message: dict[str, Any], lang: str) -> tuple[str | None, str | None]:
        """For a reply in a thread, the thread's first message (the customer's);
        a note instead when it cannot be read."""
        thread_ts, ts = message.get("thread_ts"), message.get("ts")
        if not channel or not thread_ts or thread_ts == ts:
            return None, None
        try:
            return (await self.thread_parent(client, channel, thread_ts)) or None, None
        except Exception as exc:
            return None, label("slack_thread_unreadable", lang, error=_error_code(exc))

    # -- mentions ----------------------------------------------------------

    async def run_mention(self, event: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
        if event.get("bot_id") or event.get("subtype"):
            return
        channel = event.get("channel") or ""
        user = event.get("user") or ""
        bot_user = context.get("bot_user_id") or ""
        text = plain_from_slack(re.sub(rf"<@{re.escape(bot_user)}(\|[^>]*)?>", " ", event.get("text") or "")).strip()
        reply_ts = event.get("thread_ts") or event.get("ts")
        lang = self.draft_language(text, user) if text else ui_language(await self.locale(client, user))
        try:
            fallback, blocks = await self._mention_answer(client, event, text, user, lang,
                                                          context.get("team_id") or "")
        except Exception as exc:
            log.exception("a mention could not be answered")
            fallback = label("error_generic", lang)
            blocks = render.error_blocks(text or None, lang, detail=_error_code(exc))
        try:
            await self._post(client, channel, reply_ts, fallback, blocks)
        except Exception as exc:  # not allowed in this channel: the answer goes to the user alone
            log.warning("could not answer a mention in its thread: %s", _error_code(exc))
            notice = label("slack_post_failed", lang, error=_error_code(exc))
            head = render.notice_blocks(notice, None, lang)
            await self.send_private(client, text=notice, blocks=[*head, *blocks][: render.MAX_BLOCKS],
                                    response_url=None, channel=channel, user=user)

    async def _mention_answer(self, client: AsyncWebClient, event: dict[str, Any], text: str, user: str,
                              lang: str, team: str) -> tuple[str, list[dict[str, Any]]]:
        """A mention with a draft reviews it (the thread's first message as the
        customer's); a bare mention in a thread reviews that first message."""
        channel = event.get("channel") or ""
        thread_ts = event.get("thread_ts")
        if text:
            customer, note = await self._thread_context(client, channel, event, lang)
            return await self.review_blocks_for(text, team=team, user=user, kind=OWN_DRAFT, lang_hint=lang,
                                                context=customer, extra_note=note)
        if thread_ts and thread_ts != event.get("ts"):
            draft = await self.thread_parent(client, channel, thread_ts)
            if not draft.strip():
                notice = label("slack_message_empty", lang)
                return notice, render.notice_blocks(notice, None, lang)
            return await self.review_blocks_for(draft, team=team, user=user, kind=PEER_DRAFT,
                                                lang_hint=self.draft_language(draft, user))
        notice = label("slack_mention_help", lang)
        return notice, render.notice_blocks(notice, None, lang)

    async def _post(self, client: AsyncWebClient, channel: str, thread_ts: str | None, text: str,
                    blocks: list[dict[str, Any]]) -> None:
        await client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text, blocks=blocks,
                                      unfurl_links=False, unfurl_media=False)

    # -- direct messages ---------------------------------------------------

    async def run_message(self, event: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
        # Only people's own new messages in a DM: no bots (this one included), no edits or deletions.
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
            return
        user = event.get("user") or ""
        if not user or user == context.get("bot_user_id"):
            return
        channel = event.get("channel") or user
        text = plain_from_slack(event.get("text")).strip()
        lang = self.draft_language(text, user) if text else ui_language(await self.locale(client, user))
        try:
            await self.locale(client, user)
            if not text:
                notice = label("slack_message_empty", lang)
                await self._post(client, channel, None, notice, render.notice_blocks(notice, None, lang))
                return
            result = self.coach.handle(_key(context.get("team_id") or "", user), text)
            reply = await result if inspect.isawaitable(result) else result
            reply_lang = ui_language(getattr(reply, "language", None) or lang)
            ref = None
            if reply.review is not None:
                request = self.make_request(reply.review.draft or text, context=reply.review.context,
                                            platform=reply.review.platform, user=user)
                ref = await asyncio.to_thread(self.memory.put, reply.review, request, reply_lang,
                                              _key(context.get("team_id") or "", user))
            blocks = render.coach_blocks(reply.text, reply.review, ref, reply_lang)
            fallback = reply.text or (render.summary_text(reply.review, reply_lang) if reply.review else "…")
            await self._post(client, channel, None, render.split_text(fallback)[0], blocks)
        except Exception:
            log.exception("a direct message could not be answered")
            await self._post(client, channel, None, label("error_generic", lang), render.error_blocks(text, lang))

    # -- App Home ----------------------------------------------------------

    async def run_home(self, event: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
        if event.get("tab") not in (None, "home"):
            return
        user = event.get("user") or ""
        lang = ui_language(await self.locale(client, user))
        stats = self.home_stats(context.get("team_id") or "", user)
        await client.views_publish(user_id=user, view=render.home_view(lang, self.settings.profile, stats))

    def home_stats(self, team: str, user: str) -> render.HomeStats | None:
        key = _key(team, user)
        try:
            records = self.store.reviews(key) if hasattr(self.store, "reviews") else []
            drills = len(self.store.drill_progress(key)) if hasattr(self.store, "drill_progress") else 0
        except Exception as exc:
            log.warning("could not read a user's figures: %s", type(exc).__name__)
            return None
        return render.stats_from_reviews(records, drills)

    # -- buttons -----------------------------------------------------------

    async def run_button(self, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient,
                         context: Any) -> None:
        user = (body.get("user") or {}).get("id") or ""
        key = _key(context.get("team_id") or "", user)
        channel = (body.get("channel") or {}).get("id")
        response_url = body.get("response_url")
        lang = ui_language(self.known_locale(user))
        try:
            parsed = render.parse_button_value(action.get("value"))
            item = self.memory.get(parsed[0]) if parsed else None
            if parsed is None or item is None or not 0 <= parsed[1] < len(item.review.rewrites):
                text = label("slack_expired", lang)
                await self.send_private(client, text=text, blocks=render.notice_blocks(text, None, lang),
                                        response_url=response_url, channel=channel, user=user)
                return
            index = parsed[1]
            lang = item.lang
            action_id = action.get("action_id")
            if action_id == render.ACTION_COPY:
                rewrite = item.review.rewrites[index]
                await self.send_private(client, text=rewrite.text, blocks=render.copy_blocks(rewrite, lang),
                                        response_url=response_url, channel=channel, user=user)
            elif action_id == render.ACTION_SHARE:
                await self.share(client, item.review, index, key, lang, response_url, channel)
            elif action_id == render.ACTION_ANOTHER:
                await self.another_style(client, item, key, lang, response_url, channel)
        except Exception:
            log.exception("a button could not be answered")
            await self._last_resort(client, user, None, lang, response_url, channel)

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
                self._audit(key, "slack.share", "a review was shared in a channel")
                return
            error = str(resp.status_code)
        elif channel:
            try:
                await client.chat_postMessage(channel=channel, text=text, blocks=blocks)
                self._audit(key, "slack.share", "a review was shared in a channel")
                return
            except SlackApiError as exc:
                error = _error_code(exc)
        notice = label("slack_share_failed", lang, error=error)
        await self.send_private(client, text=notice, blocks=render.notice_blocks(notice, None, lang),
                                response_url=None, channel=channel, user=user)

    def _audit(self, key: Any, action: str, detail: str) -> None:
        audit = getattr(self.store, "audit", None)
        if audit is None:
            return
        try:
            audit(key, action, detail)
        except Exception as exc:
            log.warning("audit write failed: %s", type(exc).__name__)

    async def another_style(self, client: AsyncWebClient, item: Remembered, key: Any, lang: str,
                            response_url: str | None, channel: str | None) -> None:
        """A rewrite in a style not shown yet, proposed by the core's rewriter
        (which re-reviews it: only a rewrite that passes is offered). It is kept
        with the review under a new reference, so its own buttons work and the
        next "Another style" knows what was shown."""
        found = other_style(item.review, item.request)
        if found is None:
            text = label("slack_no_other_style", lang)
            blocks = render.notice_blocks(text, None, lang)
        else:
            item.review.rewrites.append(found)
            ref = await asyncio.to_thread(self.memory.put, item.review, item.request, lang, key)
            text = found.text
            blocks = render.another_blocks(item.review, len(item.review.rewrites) - 1, ref, lang)
        await self.send_private(client, text=text, blocks=blocks, response_url=response_url,
                                channel=channel, user=key.user)

    # -- plumbing ------------------------------------------------------------

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()

    async def ack_only(self, ack: Any) -> None:
        await ack()

    async def once_per_event(self, body: dict[str, Any], next_: Any) -> BoltResponse | None:
        """An Events API retry (same event_id, X-Slack-Retry-Num) is acknowledged and dropped."""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id:
            try:
                first = self.store.mark_event(PLATFORM, str(event_id))
            except Exception as exc:  # better a rare double answer than none
                log.warning("event de-duplication unavailable: %s", type(exc).__name__)
                first = True
            if not first:
                return BoltResponse(status=200, body="")
        await next_()
        return None


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
) -> AsyncApp:
    """The Bolt app with every listener wired.

    process_before_response=True runs each (fast) ack listener before answering
    Slack, so the answer leaves as soon as it is ready, with no polling; the
    slow work always runs in lazy listeners, after the answer.
    """
    if reviewer is None:
        reviewer = Reviewer(settings)
    if store is None:
        from bot.store import Store

        store = Store.in_data_dir(settings.data_dir)
    if coach is None:
        from bot.coach import Coach

        coach = Coach(reviewer, store)
    if client is None:
        client = AsyncWebClient(token=token if token is not None else os.environ.get("SLACK_BOT_TOKEN"),
                                base_url=api_url(settings))
    if signing_secret is None:
        signing_secret = os.environ.get("SLACK_SIGNING_SECRET", "")
    detect_language("warm up")  # load the language model now, not during the first ack

    workers = worker_count(settings.slack.review_processes)
    bot = SlackBot(settings, reviewer, store, coach, ReviewPool(workers) if workers else None)
    logging.getLogger("slack_bolt.AsyncApp").addFilter(_quiet_client_note)
    app = AsyncApp(
        client=client,
        signing_secret=signing_secret,
        process_before_response=process_before_response,
        raise_error_for_unhandled_request=False,
    )
    app.middleware(bot.once_per_event)
    app.command(settings.slack.command)(ack=bot.ack_review, lazy=[bot.run_review])
    app.view(render.MODAL_CALLBACK)(ack=bot.ack_modal, lazy=[bot.run_modal])
    app.shortcut(render.SHORTCUT_CALLBACK)(ack=bot.ack_only, lazy=[bot.run_shortcut])
    app.event("app_mention")(ack=bot.ack_only, lazy=[bot.run_mention])
    app.event("message")(ack=bot.ack_only, lazy=[bot.run_message])
    app.event("app_home_opened")(ack=bot.ack_only, lazy=[bot.run_home])
    for action_id in (render.ACTION_COPY, render.ACTION_SHARE, render.ACTION_ANOTHER):
        app.action(action_id)(ack=bot.ack_only, lazy=[bot.run_button])
    app.cm_coach = bot  # type: ignore[attr-defined]  # for serve() and tests
    return app
