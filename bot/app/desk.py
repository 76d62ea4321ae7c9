"""The desk: the verbs every surface uses, so that Slack, Discord and the console
do the same thing when a person asks for the same thing.

review      a draft in, a review out; never silent (the LLM path falls back to the
            offline review with a note), never on the event loop
keep        a review kept for the buttons under it; `recall` brings it back
record      a review counted in the person's figures (`stats`)
another     a rewrite not shown yet: the review's next one that passes, else a
            new style from the rewriter
stats       the person's figures; `forget` erases everything about them
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from bot.app.memory import Remembered, ReviewMemory
from bot.app.services import Services
from bot.coach import ConversationKey
from bot.render.stats import UserStats, history_record
from bot.review.models import PLATFORMS, VOICES, Review, ReviewRequest, Rewrite
from bot.review.offline import review_checked
from bot.review.validation import DraftError

log = logging.getLogger("cm_coach.app")

# Kinds of the reviews kept in a person's history: their own draft (counted in
# their figures with the drafts sent by DM), or a teammate's message they checked.
OWN_DRAFT = "draft"
PEER_DRAFT = "peer"

# Every style the rewriter knows, in the order "Another style" offers them.
REWRITE_STYLES = ("apology", "calm", "warm", "concise", "formal", "edited")

Offload = Callable[[ReviewRequest], Awaitable[Review]]


# A crisis started from the command line covers every workspace and server.
EVERYWHERE = "*"
APPROVED, CHANGES = "approved", "changes"


class ApprovalRefused(Exception):
    """A decision that cannot be taken; the message key says why (a label in strings.yml)."""


@dataclass(frozen=True)
class Crisis:
    until: float
    started_by: str
    scope: str


class Desk:
    def __init__(self, services: Services, *, offload: Offload | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.services = services
        self.offload = offload  # where offline reviews run: worker processes, else a thread
        self.clock = clock  # crisis mode ends by itself: tests move this clock
        self.memory = ReviewMemory(services.store, services.settings.profile)

    # -- review ------------------------------------------------------------

    def brand_for(self, platform: str, workspace: str, channel: str | None) -> str | None:
        """The brand that answers in a channel: an admin's choice kept in the store, else
        the settings' [channels], else None ([brand])."""
        settings = self.services.settings
        if not settings.brands or not channel:
            return None
        try:
            name = self.services.store.channel_brand(platform, workspace, channel)
        except Exception as exc:  # the settings still answer
            log.warning("could not read a channel's brand: %s", type(exc).__name__)
            name = None
        if name in settings.brands:
            return name
        return settings.channel_brand(platform, workspace, channel)

    def set_brand(self, key: ConversationKey, channel: str, brand: str | None) -> None:
        """An admin's choice of brand for a channel (None: back to the settings)."""
        self.services.store.set_channel_brand(key.platform, key.workspace, channel, brand, set_by=key.user)
        self.audit(key, "brand.set", f"channel {channel}: {brand or 'the settings'}")

    def request(self, draft: str, *, context: str | None = None, platform: str | None = None,
                voice: str | None = None, user: str | None = None, brand: str | None = None,
                crisis: bool = False) -> ReviewRequest:
        """A request with the brand's profile ([brand], or the named one of [brands]);
        the voice and platform chosen when valid. In a crisis the impertinent voice is off
        and reputation risks weigh one step more."""
        profile = self.services.settings.brand_profile(brand)
        if brand and platform is None:
            platform = profile.platform
        if voice in VOICES and voice != profile.voice:
            profile = replace(profile, voice=voice)  # type: ignore[arg-type]
        if crisis and profile.voice == "impertinent":
            profile = replace(profile, voice="neutral")
        fields: dict[str, Any] = {"context": context if context and context.strip() else None,
                                  "profile": profile, "user": user, "crisis": crisis}
        if platform in PLATFORMS:
            fields["platform"] = platform
        return self.services.reviewer.request(draft, **fields)

    async def offline(self, prepared: ReviewRequest) -> Review:
        """The offline review of a validated request, off the event loop."""
        if self.offload is not None:
            return await self.offload(prepared)
        return await asyncio.to_thread(review_checked, prepared)

    async def review(self, request: ReviewRequest, fallback_note: Callable[[str], str] | None = None) -> Review:
        """The reviewer's answer. When the LLM path fails in a way the reviewer did not
        catch (or overruns its deadline), the offline review, with `fallback_note(error)`.
        DraftError goes up: the surface says what to change."""
        reviewer = self.services.reviewer
        prepared = reviewer.prepare(request)  # DraftError here
        if not reviewer.use_llm():
            return await self.offline(prepared)
        deadline = self.services.settings.llm.deadline + 5
        try:
            return await asyncio.wait_for(reviewer.review(request), timeout=deadline)
        except DraftError:
            raise
        except Exception as exc:
            log.warning("LLM review failed, offline review used: %s", type(exc).__name__)
            review = await self.offline(prepared)
            note = fallback_note(type(exc).__name__) if fallback_note else \
                f"The review service failed ({type(exc).__name__}); this is the offline review."
            review.notes.append(note)
            return review

    # -- buttons -----------------------------------------------------------

    def keep(self, review: Review, request: ReviewRequest, lang: str, key: ConversationKey) -> str:
        """The short reference a button carries for this review."""
        return self.memory.put(review, request, lang, key)

    def recall(self, ref: str) -> Remembered | None:
        """The review a button names; None when unknown or past the retention."""
        return self.memory.get(ref)

    def another(self, item: Remembered, after: int | None = None) -> tuple[Rewrite, int] | None:
        """A rewrite not shown yet and its index in `item.review.rewrites`: the next
        passing one after `after` (None: every rewrite of the review has been shown),
        else a new style from the rewriter, appended to the review. None when there
        is nothing else to offer."""
        rewrites = item.review.rewrites
        if after is not None:
            for index in range(after + 1, len(rewrites)):
                if rewrites[index].verdict == "post":
                    return rewrites[index], index
        found = _new_style(item.review, item.request)
        if found is None:
            return None
        rewrites.append(found)
        return found, len(rewrites) - 1

    # -- crisis mode ---------------------------------------------------------

    def crisis(self, platform: str, workspace: str) -> Crisis | None:
        """The crisis on in this workspace (or everywhere), if any. One past its end is
        closed here, and its end written in the audit trail: it ends by itself."""
        store = self.services.store
        now = self.clock()
        on: Crisis | None = None
        for row in store.crises([EVERYWHERE, f"{platform}:{workspace}"]):
            if row["until"] > now:
                if on is None or row["until"] > on.until:
                    on = Crisis(row["until"], row["started_by"], row["scope"])
            elif store.end_crisis(row["scope"]):
                self.audit(_scope_key(row["scope"], "cm-coach"), "crisis.end",
                           f"{row['scope']}: ended by itself at {_when(row['until'])}")
        return on

    def start_crisis(self, key: ConversationKey, hours: float | None = None, *, everywhere: bool = False) -> Crisis:
        hours = hours if hours and hours > 0 else self.services.settings.team.crisis_hours
        scope = EVERYWHERE if everywhere else f"{key.platform}:{key.workspace}"
        now = self.clock()
        until = now + hours * 3600
        self.services.store.start_crisis(scope, until, key.user, now=now)
        self.audit(key, "crisis.start", f"{scope}: until {_when(until)} ({hours:g} h)")
        return Crisis(until, key.user, scope)

    def end_crisis(self, key: ConversationKey, *, everywhere: bool = False) -> bool:
        scope = EVERYWHERE if everywhere else f"{key.platform}:{key.workspace}"
        ended = self.services.store.end_crisis(scope)
        if ended:
            self.audit(key, "crisis.end", f"{scope}: ended by {key.user}")
        return ended

    # -- approvals -----------------------------------------------------------

    def request_approval(self, key: ConversationKey, channel: str, version: str, review: Review) -> str:
        """Ask the approvers to look at `version` (the draft or a rewrite); the request's id."""
        approval_id = self.services.store.add_approval(key, channel, version, review.to_dict(), now=self.clock())
        self.audit(key, "approval.request", f"{approval_id}: {review.verdict} risk {review.risk}")
        return approval_id

    def decide(self, approval_id: str, decider: ConversationKey, state: str,
               note: str | None = None) -> dict[str, Any]:
        """Approve (`approved`) or ask for changes (`changes`); the request as decided.
        ApprovalRefused: unknown, one's own request, or already decided."""
        store = self.services.store
        found = store.approval(approval_id)
        if found is None:
            raise ApprovalRefused("approval_unknown")
        if found["user"] == decider.user and found["workspace"] == decider.workspace:
            raise ApprovalRefused("approval_own")
        if not store.decide_approval(approval_id, state, decider.user, note=note, now=self.clock()):
            raise ApprovalRefused("approval_decided")
        action = "approval.approve" if state == APPROVED else "approval.changes"
        self.audit(decider, action, f"{approval_id}: for {found['user']}")
        decided = store.approval(approval_id)
        assert decided is not None
        return decided

    # -- figures -----------------------------------------------------------

    def record(self, key: ConversationKey, kind: str, review: Review) -> None:
        """Count the review in the person's history (their figures), whatever the surface."""
        if not key.user:
            return
        try:
            self.services.store.add_review(key, history_record(review, kind))
        except Exception as exc:  # the review was delivered; a failed history write must not undo that
            log.warning("could not record a review: %s", type(exc).__name__)

    def stats(self, key: ConversationKey) -> UserStats:
        return self.services.coach.stats(key)

    def forget(self, key: ConversationKey) -> int:
        return self.services.store.forget(key)

    def audit(self, key: ConversationKey, action: str, detail: str) -> None:
        try:
            self.services.store.audit(key, action, detail)
        except Exception as exc:
            log.warning("audit write failed: %s", type(exc).__name__)


def _new_style(review: Review, request: ReviewRequest) -> Rewrite | None:
    """A rewrite of the draft in a style the review does not offer yet (the rewriter
    re-reviews it: only one that passes comes back), or None."""
    from bot.review.packs import pack as pack_of
    from bot.review.rewrites import propose

    pack = pack_of(review.language)
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


def _scope_key(scope: str, user: str) -> ConversationKey:
    platform, _, workspace = scope.partition(":")
    return ConversationKey(platform or "cli", workspace or EVERYWHERE, user)


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
