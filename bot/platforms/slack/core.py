"""What the Slack listeners share: the reviewer, the coach, the store, the
memory of recent reviews, the users' locales, and the ways to answer.

The listeners themselves live in commands.py (/review and its form), events.py
(mentions, DMs, App Home, retries) and actions.py (buttons, message shortcut).
No judgement happens here: the reviewer and the coach decide, bot.render.slack
turns their answers into Block Kit.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.app.desk import OWN_DRAFT, PEER_DRAFT, Desk
from bot.app.limits import RateLimit
from bot.app.services import Services
from bot.app.work import DurableWork
from bot.platforms.slack.pool import BrokenProcessPool, ReviewPool
from bot.render import slack as render
from bot.render import slack_team as team_render
from bot.render.labels import label, ui_language
from bot.review.language import detect_language
from bot.review.models import Review, ReviewRequest
from bot.review.reviewer import Reviewer
from bot.review.taxonomy import LANGUAGES
from bot.review.validation import DraftError

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.store import Store

log = logging.getLogger("cm_coach.slack")

PLATFORM = "slack"
__all__ = ["OWN_DRAFT", "PEER_DRAFT", "PLATFORM", "SlackBot"]
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


def conversation_key(team: str, user: str) -> Any:
    from bot.coach import ConversationKey

    return ConversationKey(PLATFORM, team, user)


def when(timestamp: float) -> str:
    """A moment as Slack shows it in each reader's own time zone and language."""
    fallback = datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(timestamp)}^{{date_short_pretty}} {{time}}|{fallback}>"


def error_code(exc: BaseException) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or exc.response.status_code)
    return type(exc).__name__


class SlackBot:
    """The services every listener uses; one per app."""

    def __init__(self, settings: Settings, reviewer: Reviewer, store: Store, coach: Any,
                 pool: ReviewPool | None = None) -> None:
        self.settings = settings
        self.reviewer = reviewer
        self.store = store
        self.coach = coach
        self.pool = pool
        self.desk = Desk(Services(settings, store, reviewer, coach), offload=self.offline_review)
        self.memory = self.desk.memory
        self.work = DurableWork(store, PLATFORM)
        self.limit = RateLimit(settings.slack.user_limit, settings.slack.user_limit_seconds)
        self._locales: dict[str, str | None] = {}

    # -- durable work ----------------------------------------------------

    async def submit(self, team: str, user: str, kind: str, payload: dict[str, Any],
                     event_id: str | None = None) -> tuple[bool, str | None]:
        """Write the request before it is acked: (first delivery?, work id). When the
        store fails, the work is done all the same, only without a second chance."""
        try:
            work_id = await asyncio.to_thread(self.work.submit, conversation_key(team, user), kind, payload,
                                              event_id)
        except Exception as exc:
            log.warning("could not write work before its ack: %s", type(exc).__name__)
            return True, None
        return work_id is not None, work_id

    async def take(self, context: Any) -> bool:
        """Whether this process should do the work the ack wrote (not taken elsewhere, not done)."""
        work_id = context.get("work_id")
        if not work_id:
            return True
        try:
            return await asyncio.to_thread(self.work.claim, work_id) is not None
        except Exception as exc:  # better a rare double answer than none
            log.warning("could not take work: %s", type(exc).__name__)
            return True

    async def finish(self, context: Any, answer: str) -> None:
        """Mark the work done at once, in the loop: one short UPDATE, but queued behind
        other store writes in the threads it would widen the window in which a crash
        makes the answer go again."""
        work_id = context.get("work_id")
        if work_id:
            self.work.done(work_id, answer)

    def rate_limited(self, team: str, user: str, lang: str) -> str | None:
        """The notice for a user past their share of reviews, or None."""
        wait = self.limit.retry_after((team, user))
        return label("slack_rate_limited", lang, seconds=max(1, round(wait))) if wait else None

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
            log.info("users.info failed for a user: %s", error_code(exc))
            found = None
        self._locales[user] = found
        return found

    def draft_language(self, text: str, user: str | None) -> str:
        """The interface language for a draft: its own when fr or en, else the
        user's locale where known, else English."""
        lang = detect_language(text) if text.strip() else ""
        if lang in LANGUAGES:
            return lang
        return ui_language(self.known_locale(user))

    # -- reviewing -------------------------------------------------------

    def make_request(self, draft: str, *, context: str | None = None, platform: str | None = None,
                     voice: str | None = None, user: str | None = None) -> ReviewRequest:
        return self.desk.request(draft, context=context, platform=platform, voice=voice, user=user)

    async def review(self, request: ReviewRequest, lang: str) -> Review:
        """The desk's review; a failed LLM path says so in the user's language. DraftError goes up."""
        return await self.desk.review(request, lambda error: label("slack_llm_fallback", lang, error=error))

    async def offline_review(self, request: ReviewRequest) -> Review:
        """A prepared request's offline review in the worker processes (in a thread
        once they are gone), so that the event loop only waits on it."""
        if self.pool is not None:
            try:
                return await self.pool.review(request)
            except BrokenProcessPool:
                log.warning("review processes stopped; reviewing in threads from now on")
                self.pool = None
        from bot.review.offline import review_checked

        return await asyncio.to_thread(review_checked, request)

    def record(self, team: str, user: str, kind: str, review: Review) -> None:
        """Keep the review in the user's history (the Home tab's figures)."""
        self.desk.record(conversation_key(team, user), kind, review)

    async def review_blocks_for(
        self, draft: str, *, team: str, user: str, kind: str, lang_hint: str,
        context: str | None = None, platform: str | None = None, voice: str | None = None,
        extra_note: str | None = None, channel: str | None = None,
    ) -> tuple[str, list[dict[str, Any]]]:
        """(fallback text, blocks) for a draft: the review in the voice of the brand that
        answers in `channel`, or a message saying what to do."""
        try:
            brand = await asyncio.to_thread(self.desk.brand_for, PLATFORM, team, channel)
            crisis = await asyncio.to_thread(self.desk.crisis, PLATFORM, team)
            request = self.desk.request(draft, context=context, platform=platform, voice=voice, user=user,
                                        brand=brand, crisis=crisis is not None)
            review = await self.review(request, lang_hint)
        except DraftError as exc:
            return str(exc), render.notice_blocks(str(exc), draft, lang_hint)
        except Exception:
            log.exception("review failed")
            return label("error_generic", lang_hint), render.error_blocks(draft, lang_hint)
        if extra_note:
            review.notes.append(extra_note)
        lang = render.review_language(review, self.known_locale(user) or lang_hint)
        if self.settings.brands:  # several brands: say whose voice this review used
            review.notes.insert(0, label("brand_used", lang, brand=request.profile.name or brand or "—"))
        # Store writes wait on the disk: off the event loop, so acks never wait on them.
        ref = await asyncio.to_thread(self.memory.put, review, request, lang, conversation_key(team, user))
        await asyncio.to_thread(self.record, team, user, kind, review)
        banner = team_render.crisis_banner(when(crisis.until), lang) if crisis else None
        approval = bool(self.settings.team.approvers_channel) or crisis is not None
        return render.summary_text(review, lang), render.review_blocks(review, lang, ref=ref, approval=approval,
                                                                       banner=banner)

    # -- reading threads ---------------------------------------------------

    async def thread_parent(self, client: AsyncWebClient, channel: str, thread_ts: str) -> str:
        """The text of a thread's first message (conversations.replies)."""
        resp = await client.conversations_replies(channel=channel, ts=thread_ts, limit=1, inclusive=True)
        messages = resp.get("messages") or []
        return plain_from_slack(messages[0].get("text")) if messages else ""

    async def thread_context(self, client: AsyncWebClient, channel: str | None,
                             message: dict[str, Any], lang: str) -> tuple[str | None, str | None]:
        """For a reply in a thread, the thread's first message (the customer's);
        a note instead when it cannot be read."""
        thread_ts, ts = message.get("thread_ts"), message.get("ts")
        if not channel or not thread_ts or thread_ts == ts:
            return None, None
        try:
            return (await self.thread_parent(client, channel, thread_ts)) or None, None
        except Exception as exc:
            return None, label("slack_thread_unreadable", lang, error=error_code(exc))

    # -- delivery --------------------------------------------------------

    async def send_private(
        self, client: AsyncWebClient, *, text: str, blocks: list[dict[str, Any]],
        response_url: str | None, channel: str | None, user: str, replace_original: bool = False,
    ) -> None:
        """Only the user sees it: response_url, else chat.postEphemeral, else a DM.
        replace_original: the answer takes the place of the ack's "Reviewing…", so an
        answer sent again after a crash still shows once."""
        if response_url:
            try:
                resp = await AsyncWebhookClient(response_url).send(
                    text=text, blocks=blocks, response_type="ephemeral", replace_original=replace_original)
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
                log.warning("chat.postEphemeral failed: %s", error_code(exc))
        await client.chat_postMessage(channel=user, text=text, blocks=blocks)

    async def post(self, client: AsyncWebClient, channel: str, thread_ts: str | None, text: str,
                   blocks: list[dict[str, Any]]) -> None:
        await client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text, blocks=blocks,
                                      unfurl_links=False, unfurl_media=False)

    async def last_resort(self, client: AsyncWebClient, user: str, draft: str | None, lang: str,
                          response_url: str | None, channel: str | None) -> None:
        """Try once more, with the shortest message, so the user is never left in silence."""
        try:
            await self.send_private(client, text=label("error_generic", lang),
                                    blocks=render.error_blocks(draft, lang),
                                    response_url=response_url, channel=channel, user=user)
        except Exception:
            log.exception("could not tell the user about an error")

    # -- plumbing ------------------------------------------------------------

    def audit(self, key: Any, action: str, detail: str) -> None:
        self.desk.audit(key, action, detail)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
