"""The one entry point every front end uses: a request in, a review out.

It validates the draft, picks the engine (offline, llm, auto) and never leaves
the caller without a review: when the LLM path fails, the offline review comes
back with a note saying why.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from bot.review.models import Review, ReviewRequest
from bot.review.offline import judged, review_checked
from bot.review.options import ReviewSettings, ReviewSetup
from bot.review.taxonomy import LANGUAGES
from bot.review.validation import check_draft, valid_text

if TYPE_CHECKING:
    from bot.review.llm import LLMReviewer


class Reviewer:
    """Reviews drafts with the settings' brand profile and engine choice.

    `settings` is anything with what ReviewSettings names: bot.config.Settings, or a
    ReviewSetup (a brand profile and options; the default, offline only)."""

    def __init__(self, settings: ReviewSettings | None = None, engine: str | None = None) -> None:
        if settings is None:
            settings = ReviewSetup()
        self.settings = settings
        self.engine = engine or settings.review.engine
        self._llm: LLMReviewer | None = None  # made on first use (llm_client), only when configured
        # Where offline reviews run from async code: a thread by default; a server may
        # give its worker processes, so that CPU work never holds up its event loop.
        self.offload: Callable[[ReviewRequest], Awaitable[Review]] | None = None

    def request(self, draft: str, **fields: object) -> ReviewRequest:
        """A request carrying the brand profile and default platform of the settings."""
        fields.setdefault("profile", self.settings.profile)
        fields.setdefault("platform", self.settings.profile.platform)
        return ReviewRequest(draft=draft, **fields)  # type: ignore[arg-type]

    def prepare(self, request: ReviewRequest) -> ReviewRequest:
        """Validate (raises DraftError) and fill in what the settings know."""
        draft = check_draft(request.draft, self.settings.review.max_draft_chars)
        context = valid_text(request.context) if request.context else request.context
        lang = request.lang
        if not lang and self.settings.review.language in LANGUAGES:
            lang = self.settings.review.language
        return replace(request, draft=draft, context=context, lang=lang,
                       second_reading=request.second_reading and self.settings.review.second_reading)

    def use_llm(self) -> bool:
        if self.engine == "offline":
            return False
        if self.engine == "llm":
            return True
        return self.settings.llm_configured

    def review_sync(self, request: ReviewRequest, *, rewrite: bool = True) -> Review:
        """Offline-only review, synchronous (the LLM path is async); without `rewrite`, the
        judgement alone, for callers that never read the rewrites (eval, check)."""
        return review_checked(self.prepare(request), rewrite=rewrite)

    async def review(self, request: ReviewRequest) -> Review:
        request = self.prepare(request)
        if not self.use_llm():
            return await self._offline(request)
        client = self.llm_client()
        if client is None:  # the LLM path is not available in this build
            review = await self._offline(request)
            review.notes.append("LLM review unavailable in this build; offline review shown.")
            return review
        return judged(await client.review(request), request)  # relevance: the offline floor too

    async def _offline(self, request: ReviewRequest) -> Review:
        """The offline review of a prepared request, off the event loop."""
        if self.offload is not None:
            return await self.offload(request)
        import asyncio  # here: the command line's cold start never needs the event loop's modules

        return await asyncio.to_thread(review_checked, request)

    def llm_client(self) -> LLMReviewer | None:
        """The LLM reviewer shared by reviews and coaching follow-ups, made on first use;
        None when the LLM path is not installed."""
        if self._llm is None:
            try:
                from bot.review.llm import LLMReviewer
            except ImportError:
                return None
            self._llm = LLMReviewer(self.settings)
        return self._llm

    def review_blocking(self, request: ReviewRequest) -> Review:
        """Run `review` to completion from synchronous code (command line, tests)."""
        import asyncio

        return asyncio.run(self.review(request))
