"""Reviews from any OpenAI-compatible model, never worse than offline without saying why.

One chat completion per review returns the whole review as JSON (schema in
`llm_schema`), asked for with a json_schema response format, falling back to
JSON mode, then to plain text, for servers that reject it or keep answering
out of shape (remembered per endpoint). One repair call on invalid or cut-off
output. Personal data is redacted before the request and restored in the
answer (`redact`). The answer is merged above the offline engine's floor
(`llm_merge`). When anything fails, the offline review comes back with a note
saying why: the caller always gets a review in time.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import ssl
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import openai

from bot.review.facts import Fact
from bot.review.llm import followup as llm_followup
from bot.review.llm.merge import merge
from bot.review.llm.prompts import (
    PromptError,
    Prompts,
    load_followup_prompts,
    load_prompts,
    messages,
    repair_message,
)
from bot.review.llm.schema import LLMReview, OutputError, parse_review, response_schema
from bot.review.llm.transport import (
    Answer,
    Backoff,
    LLMFailure,
    about_response_format,
    complete,
    failure_note,
)
from bot.review.models import Review, ReviewRequest
from bot.review.offline import review_offline
from bot.review.redact import Redactor

if TYPE_CHECKING:
    from bot.review.options import ReviewSettings

log = logging.getLogger(__name__)
FORMAT_MODES = ("json_schema", "json_object", "none")
# What each endpoint accepts, learnt from its 400s and from answers out of shape;
# shared by every reviewer in the process.
_endpoint_mode: dict[str, str] = {}
# Reviews in a row whose first answer was out of shape, per endpoint.
_shape_failures: dict[str, int] = {}
# Out-of-shape answers in a row before the next reviews use the next JSON mode: a
# server that ignores response_format would otherwise cost a repair call per review.
SHAPE_FAILURES_TO_STEP_DOWN = 2
DEFAULT_HOST = "api.openai.com"
USAGE_KEYS = ("prompt_tokens", "completion_tokens", "total_tokens", "cached_tokens")


def endpoint_host(base_url: str) -> str:
    """The host (and port) of the endpoint, never the credentials a URL may carry."""
    if not base_url:
        return DEFAULT_HOST
    parts = urlsplit(base_url)
    if not parts.netloc:
        return base_url.rsplit("@", 1)[-1]
    return parts.netloc.rsplit("@", 1)[-1]


def new_usage() -> dict[str, int]:
    return dict.fromkeys(USAGE_KEYS, 0)


@dataclass
class _LoopState:
    client: openai.AsyncOpenAI
    slots: asyncio.Semaphore
    closer: asyncio.Task[None]  # held here: the loop keeps only weak references to tasks


class LLMReviewer:
    """Reviews with the settings' model; safe to share between concurrent tasks."""

    def __init__(self, settings: ReviewSettings) -> None:
        self.settings = settings
        self.cfg = settings.llm
        self.base_url = settings.llm_base_url
        self.host = endpoint_host(self.base_url)
        self._cache: OrderedDict[str, dict[str, Any]] = OrderedDict()
        # Reviews under way, so that the same request arriving twice at once makes one call.
        self._in_flight: dict[tuple[int, str], asyncio.Future[Review]] = {}
        # One client (its connections kept alive) and one concurrency cap per event loop.
        self._per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState] = (
            weakref.WeakKeyDictionary())
        self._backoff = Backoff(self.cfg.backoff_initial, self.cfg.backoff_max)

    # -- the public contract -------------------------------------------------

    async def review(self, request: ReviewRequest) -> Review:
        """The review of a prepared request (validated by the Reviewer)."""
        started = time.monotonic()
        if not self.settings.llm_configured:
            return _fallback(request, "LLM review unavailable: no endpoint configured (set "
                                      "OPENAI_API_KEY, or [llm] base_url for a local server). "
                                      "The offline review is shown.")
        try:
            prompts = load_prompts(self.cfg.prompts_dir)
        except PromptError as exc:
            return _fallback(request, f"LLM review unavailable: {exc}. The offline review is shown.")
        key = self._cache_key(request, prompts.version)
        cached = self._cache_get(key)
        if cached is not None:
            return cached
        flight = (id(asyncio.get_running_loop()), key)
        while (pending := self._in_flight.get(flight)) is not None:
            try:
                return Review.from_dict((await asyncio.shield(pending)).to_dict())
            except asyncio.CancelledError:
                if not pending.cancelled():
                    raise  # this caller was cancelled, not the review it waited for
        done: asyncio.Future[Review] = asyncio.get_running_loop().create_future()
        self._in_flight[flight] = done
        try:
            review = await self._review_uncached(request, prompts, key, started)
            done.set_result(review)
            return review
        finally:
            del self._in_flight[flight]
            if not done.done():  # cancelled: whoever waits reviews for itself
                done.cancel()

    async def _review_uncached(self, request: ReviewRequest, prompts: Prompts, key: str,
                               started: float) -> Review:
        # The floor and the hints; its rewrites are only made if the model's all fail.
        # In threads: the offline work is CPU, and the event loop must stay free to ack.
        offline = await asyncio.to_thread(review_offline, request, rewrite=False)
        deadline_at = started + self.cfg.deadline
        redactor = Redactor(enabled=self.cfg.redact)
        try:
            async with asyncio.timeout(max(0.0, deadline_at - time.monotonic())):
                answer, usage = await self._ask(prompts, request, offline, deadline_at, redactor)
        except Exception as exc:  # every failure ends in the offline review, with why
            return _fallback(request, failure_note(
                exc, model=self.cfg.model, host=self.host, timeout=self.cfg.timeout,
                deadline=self.cfg.deadline, secret=self.settings.llm_api_key))
        review = await asyncio.to_thread(merge, request, offline, answer, lambda: review_offline(request).rewrites)
        review.model = self.cfg.model
        review.prompt_version = prompts.version
        review.usage = usage
        if redactor.count:
            review.notes.append(f"{redactor.count} piece(s) of personal data were replaced by "
                                "tokens before the request and restored after.")
        self._cache_put(key, review)
        return review

    async def follow_up(self, text: str, *, instruction: str, lang: str, context: str | None,
                        history: Sequence[dict[str, Any]] | None = None,
                        draft: str | None = None, refused: list[Fact] | None = None) -> str | None:
        """A new version of `text` as the instruction asks (see `llm_followup`), in one call.

        `history` is the conversation's earlier versions ({"how", "text"}, oldest
        first). None when no endpoint is configured or anything fails: the coach
        then uses its offline transformations. Never raises; the facts of an answer
        refused for inventing them are added to `refused`, for the coach to say why.
        An instruction of the community manager's own words is a source of facts too.
        """
        if not self.settings.llm_configured:
            return None
        started = time.monotonic()
        deadline_at = started + self.cfg.deadline
        usage = new_usage()
        redactor = Redactor(enabled=self.cfg.redact)
        try:
            prompts = load_followup_prompts(self.cfg.prompts_dir)
            chat = llm_followup.messages(prompts, self.settings.profile, text=text,
                                         instruction=instruction, lang=lang, draft=draft,
                                         context=context, history=history, redactor=redactor,
                                         max_context_chars=self.cfg.context_chars,
                                         max_draft_chars=self.cfg.draft_chars)
            client, slots = self._for_this_loop()
            async with asyncio.timeout(max(0.0, deadline_at - time.monotonic())), slots:
                said, _, _ = await self._complete_json(
                    client, lambda mode: chat, "followup", llm_followup.response_schema(),
                    deadline_at, usage)
            if said.finish_reason == "length":
                raise OutputError("the answer was cut off at the token limit")
            answer = llm_followup.parse_answer(
                redactor.restore(said.content), current=text, instruction=instruction, lang=lang,
                max_chars=self.settings.review.max_draft_chars,
                sources=(draft, context, text, *(() if instruction in llm_followup.INSTRUCTIONS
                                                 else (instruction,))), allowed=self._allowed())
        except Exception as exc:  # the offline follow-up answers instead
            if isinstance(exc, llm_followup.InventedFacts) and refused is not None:
                refused.extend(exc.facts)
            if isinstance(exc, OutputError | PromptError):
                why = str(exc)
            else:
                note = failure_note(exc, model=self.cfg.model, host=self.host, timeout=self.cfg.timeout,
                                    deadline=self.cfg.deadline, secret=self.settings.llm_api_key)
                why = note.removeprefix("LLM review unavailable: ").split(". The offline")[0]
            log.warning("LLM follow-up '%s' not used (%s); offline follow-up instead", instruction, why)
            return None
        log.info("LLM follow-up '%s' in %.2f s, %d tokens", instruction,
                 time.monotonic() - started, usage["total_tokens"])
        return answer

    # -- one review, one call (two with a repair) ----------------------------

    async def _ask(self, prompts: Prompts, request: ReviewRequest, offline: Review,
                   deadline_at: float, redactor: Redactor) -> tuple[LLMReview, dict[str, int]]:
        usage = new_usage()
        client, slots = self._for_this_loop()
        # The same messages in every JSON mode: the output shape is always in the prompt.
        first = messages(prompts, request, offline, redactor=redactor,
                         max_context_chars=self.cfg.context_chars,
                         max_draft_chars=self.cfg.draft_chars)
        async with slots:
            said, chat, mode = await self._complete_json(
                client, lambda mode: first, "review", response_schema(), deadline_at, usage)
            try:
                review = parse_review(redactor.restore(said.content))
                self._shape_ok()
                return review, usage
            except OutputError as bad:
                error = str(bad)
                if said.finish_reason == "length":
                    error = ("your answer was cut off at the token limit before the JSON ended; "
                             "answer again, shorter: one-line notes, at most two rewrites")
                else:
                    self._shape_failed(mode)
                chat = [*chat, {"role": "assistant", "content": said.content or ""},
                        repair_message(prompts, error)]
            again = await self._complete(client, chat, mode, deadline_at, usage,
                                         "review", response_schema())
            try:
                return parse_review(redactor.restore(again.content)), usage
            except OutputError as second:
                if again.finish_reason == "length":
                    raise LLMFailure("the model's answer was cut off at the token limit twice; "
                                     "raise [llm] max_tokens (or max_completion_tokens)") from None
                raise LLMFailure(f"the model's answer was not a valid review, even after "
                                 f"a repair request ({second})") from None

    def _shape_ok(self) -> None:
        _shape_failures.pop(self._endpoint_id(), None)

    def _shape_failed(self, mode: str) -> None:
        """An answer out of shape: after a few in a row, the next reviews step the JSON mode down."""
        if self.cfg.json_mode != "auto" or mode == FORMAT_MODES[-1]:
            return
        endpoint = self._endpoint_id()
        _shape_failures[endpoint] = _shape_failures.get(endpoint, 0) + 1
        if _shape_failures[endpoint] >= SHAPE_FAILURES_TO_STEP_DOWN:
            _endpoint_mode[endpoint] = FORMAT_MODES[FORMAT_MODES.index(mode) + 1]
            del _shape_failures[endpoint]
            log.warning("%s answered out of shape %d times in %s mode; using %s mode from now on",
                        self.host, SHAPE_FAILURES_TO_STEP_DOWN, mode, _endpoint_mode[endpoint])

    async def _complete_json(
        self, client: openai.AsyncOpenAI, build: Callable[[str], list[dict[str, str]]],
        name: str, schema: dict[str, Any], deadline_at: float, usage: dict[str, int],
    ) -> tuple[Answer, list[dict[str, str]], str]:
        """One completion in the best JSON mode the endpoint takes, stepping down on its 400s.

        Returns the answer, the messages sent (built for the mode) and the mode.
        """
        mode = self._mode()
        while True:
            chat = build(mode)
            try:
                return await self._complete(client, chat, mode, deadline_at, usage, name, schema), chat, mode
            except openai.APIStatusError as exc:
                if self.cfg.json_mode != "auto" or mode == FORMAT_MODES[-1] \
                        or not about_response_format(exc):
                    raise
                mode = FORMAT_MODES[FORMAT_MODES.index(mode) + 1]
                _endpoint_mode[self._endpoint_id()] = mode

    async def _complete(self, client: openai.AsyncOpenAI, chat: list[dict[str, str]], mode: str,
                        deadline_at: float, usage: dict[str, int], name: str,
                        schema: dict[str, Any]) -> Answer:
        said = await complete(client, self.request_kwargs(chat, mode, name, schema),
                              deadline_at=deadline_at, timeout=self.cfg.timeout,
                              retries=self.cfg.max_retries, backoff=self._backoff,
                              first_token_timeout=self.cfg.first_token_timeout)
        for k, v in said.usage.items():
            usage[k] = usage.get(k, 0) + v
        if not said.choices:
            raise LLMFailure("the endpoint answered with no choices")
        if said.refusal:
            raise LLMFailure(f"the model declined to answer ({said.refusal[:200]})")
        return said

    def request_kwargs(self, chat: list[dict[str, str]], mode: str, name: str,
                       schema: dict[str, Any]) -> dict[str, Any]:
        """The arguments of one chat completion, the team's provider settings included."""
        cfg = self.cfg
        kwargs: dict[str, Any] = {"model": cfg.model, "messages": chat, "temperature": cfg.temperature}
        if cfg.max_completion_tokens > 0:  # reasoning models refuse max_tokens
            kwargs["max_completion_tokens"] = cfg.max_completion_tokens
        elif cfg.max_tokens > 0:
            kwargs["max_tokens"] = cfg.max_tokens
        if cfg.stream:
            kwargs["stream"] = True
            kwargs["stream_options"] = {"include_usage": True}
        if cfg.extra_headers:
            kwargs["extra_headers"] = dict(cfg.extra_headers)
        if cfg.extra_query:
            kwargs["extra_query"] = dict(cfg.extra_query)
        # The response format goes in extra_body: the SDK would otherwise walk the whole
        # schema on every call (~4 ms), to change nothing in it.
        body: dict[str, Any] = dict(cfg.extra_body)
        if mode == "json_schema":
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": name, "strict": True, "schema": schema},
            }
        elif mode == "json_object":
            body["response_format"] = {"type": "json_object"}
        if body:
            kwargs["extra_body"] = body
        return kwargs

    def _allowed(self) -> tuple[str, ...]:
        """What a rewrite may always name: the brand and its signature."""
        p = self.settings.profile
        return tuple(t for t in (p.name, p.signature) if t)

    # -- plumbing -------------------------------------------------------------

    def _for_this_loop(self) -> tuple[openai.AsyncOpenAI, asyncio.Semaphore]:
        loop = asyncio.get_running_loop()
        state = self._per_loop.get(loop)
        if state is None or state.client.is_closed():
            # Forget loops that are gone (their state holds them: weak keys alone would not).
            for old in [old for old in self._per_loop if old.is_closed()]:
                del self._per_loop[old]
            client = make_client(self.settings)
            closer = loop.create_task(_close_at_shutdown(client), name="cm-coach LLM client closer")
            state = _LoopState(client, asyncio.Semaphore(self.cfg.max_concurrency), closer)
            self._per_loop[loop] = state
        return state.client, state.slots

    def _endpoint_id(self) -> str:
        return f"{self.base_url or DEFAULT_HOST}|{self.cfg.model}"

    def mode(self) -> str:
        """The JSON mode the next call will use (learnt per endpoint in auto)."""
        return self._mode()

    def _mode(self) -> str:
        if self.cfg.json_mode != "auto":
            return self.cfg.json_mode
        return _endpoint_mode.get(self._endpoint_id(), FORMAT_MODES[0])

    def _cache_key(self, request: ReviewRequest, version: str) -> str:
        data = [request.draft, request.context, request.platform, request.lang,
                asdict(request.profile), self.cfg.model, version, self.base_url]
        return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()

    def _cache_get(self, key: str) -> Review | None:
        hit = self._cache.get(key)
        if hit is None:
            return None
        self._cache.move_to_end(key)
        return Review.from_dict(hit)  # a copy: callers may change what they get

    def _cache_put(self, key: str, review: Review) -> None:
        if self.cfg.cache_size <= 0:
            return
        self._cache[key] = review.to_dict()
        self._cache.move_to_end(key)
        while len(self._cache) > self.cfg.cache_size:
            self._cache.popitem(last=False)


async def _close_at_shutdown(client: openai.AsyncOpenAI) -> None:
    """Close the client inside its own loop when that loop shuts down.

    `asyncio.run` (and pytest's runners) cancel pending tasks before closing the
    loop; left to the garbage collector, the client would try to close its
    connections later, from a loop that is gone.
    """
    try:
        await asyncio.get_running_loop().create_future()
    finally:
        await client.close()


def make_client(settings: ReviewSettings) -> openai.AsyncOpenAI:
    """A client for the settings' endpoint, without the SDK's own retries.

    With `[llm] api_version`, the SDK's Azure client: deployment URLs
    (/openai/deployments/{model}/…?api-version=…) and the `api-key` header.
    """
    common: dict[str, Any] = {
        # Local servers (Ollama, vLLM, llama.cpp) take any key.
        "api_key": settings.llm_api_key or "not-needed",
        "max_retries": 0,  # tenacity retries, inside the deadline
        "timeout": settings.llm.timeout,
        "http_client": openai.DefaultAsyncHttpxClient(verify=_tls_context()),
    }
    if settings.llm.api_version:
        url = settings.llm_base_url
        if "/openai/deployments/" in url:
            return openai.AsyncAzureOpenAI(base_url=url, api_version=settings.llm.api_version,
                                           **common)
        # The resource's address; the client adds /openai/deployments/{model}.
        endpoint = url.split("/openai", 1)[0] if url else ""
        return openai.AsyncAzureOpenAI(azure_endpoint=endpoint or None,  # type: ignore[arg-type]
                                       api_version=settings.llm.api_version, **common)
    return openai.AsyncOpenAI(base_url=settings.llm_base_url or None, **common)


@lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    """The HTTP library's default TLS setup; loading the CA bundle takes ~30 ms, so once."""
    try:
        import httpx2 as http  # what recent openai releases use
    except ImportError:  # pragma: no cover - older openai releases
        import httpx as http
    return http.create_ssl_context()


def _fallback(request: ReviewRequest, note: str) -> Review:
    review = review_offline(request)
    review.notes.append(note)
    return review
