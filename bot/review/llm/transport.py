"""Talking to an OpenAI-compatible endpoint: retries, Retry-After, errors in words.

The SDK's own retries are off; tenacity retries only what can succeed later
(429, 5xx, connection errors), with exponential backoff and jitter, honouring
Retry-After, and never past the review's deadline. A timeout is not retried:
a server that hangs once hangs again, and it costs one timeout, not the whole
deadline. Answers are streamed when asked, so that a server that sends nothing
is known within `first_token_timeout`. Everything else fails at once with a
message that says what to fix.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import openai
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

# Below this, an attempt cannot get an answer back: do not start one.
MIN_ATTEMPT_SECONDS = 0.01


class CallTimeout(Exception):
    """One call took longer than its share of the deadline, or sent nothing in time."""

    def __init__(self, seconds: float, first_token: bool = False) -> None:
        what = "no first token" if first_token else "no answer"
        super().__init__(f"{what} within {seconds:.2f} s")
        self.seconds = seconds
        self.first_token = first_token


@dataclass
class Answer:
    """What one completion said, streamed or not."""

    content: str | None
    finish_reason: str | None = None
    refusal: str | None = None
    usage: dict[str, int] = field(default_factory=dict)
    choices: int = 1


def usage_of(usage: Any) -> dict[str, int]:
    """Tokens as the endpoint counted them; cached prompt tokens when it says."""
    if usage is None:
        return {}
    details = getattr(usage, "prompt_tokens_details", None)
    cached = getattr(details, "cached_tokens", None) if details is not None else None
    return {"prompt_tokens": usage.prompt_tokens or 0,
            "completion_tokens": usage.completion_tokens or 0,
            "total_tokens": usage.total_tokens or 0,
            "cached_tokens": cached or 0}


# Query parameters that carry a credential (Azure's api-key, Google's key, proxies' token…).
SECRET_PARAMS = frozenset({"api-key", "api_key", "apikey", "key", "token", "access_token", "access-token",
                           "secret", "client_secret", "password", "sig", "signature", "auth", "code"})


def safe_url(url: str) -> str:
    """The URL without the credentials a user may have written in it: user:password@, and
    the values of query parameters such as ?api-key=…"""
    if not url or ("@" not in url and "?" not in url):
        return url
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # not a URL we can take apart: show nothing of it
        return "***"
    netloc = parts.netloc
    if parts.username is not None or parts.password is not None:
        netloc = "***@" + (parts.hostname or "") + (f":{port}" if port else "")
    query = "&".join(
        f"{name}=***" if sep and name.lower() in SECRET_PARAMS else f"{name}{sep}{value}"
        for name, sep, value in (pair.partition("=") for pair in parts.query.split("&") if pair)
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


class DeadlineReached(Exception):
    """No time is left in the review's deadline for another attempt."""


class LLMFailure(Exception):
    """The LLM path cannot give a review; str() is the note shown to the user."""


def status_of(exc: BaseException) -> int | None:
    return getattr(exc, "status_code", None) if isinstance(exc, openai.APIStatusError) else None


def retryable(exc: BaseException) -> bool:
    if isinstance(exc, CallTimeout | openai.APITimeoutError):
        return False  # a hung server costs one timeout
    if isinstance(exc, openai.APIConnectionError):
        return True
    status = status_of(exc)
    return status is not None and (status == 429 or status >= 500)


def retry_after(exc: BaseException | None, now: float | None = None) -> float | None:
    """Seconds the server asked to wait (retry-after-ms, Retry-After seconds or HTTP date)."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def server_message(exc: BaseException, secret: str = "", limit: int = 200) -> str:
    """The server's own words about an error, short and without the key."""
    body: Any = getattr(exc, "body", None)
    text = ""
    if isinstance(body, dict):
        inner = body.get("error", body)
        text = str(inner.get("message", "") if isinstance(inner, dict) else inner)
    text = text or getattr(exc, "message", "") or str(exc)
    if secret:
        text = text.replace(secret, "***")
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def about_response_format(exc: BaseException) -> bool:
    """A 400/422 that blames the response_format: the server lacks that JSON mode."""
    if status_of(exc) not in (400, 422):
        return False
    text = (server_message(exc, limit=2000) + " " + str(getattr(exc, "body", ""))).lower()
    return any(word in text for word in ("response_format", "json_schema", "json_object",
                                         "response format", "schema"))


def failure_note(exc: BaseException, *, model: str, host: str, timeout: float,
                 deadline: float, secret: str = "") -> str:
    """Why the LLM gave no review, and what to do about it."""
    status = status_of(exc)
    said = server_message(exc, secret) if status else ""
    if status == 401:
        why = ("the endpoint refused the API key (401 Unauthorized); check OPENAI_API_KEY "
               "or CM_COACH_LLM_API_KEY")
    elif status == 403:
        why = f"the API key may not use model '{model}' (403 Forbidden: {said})"
    elif status == 404:
        why = (f"model '{model}' or the endpoint was not found (404: {said}); "
               "check [llm] model and base_url, or run `cm-coach doctor`")
    elif status == 429:
        wait = retry_after(exc)
        extra = f"; it asked to wait {wait:.0f} s" if wait and wait >= 1 else ""
        why = f"the endpoint is rate limiting (429) until the {deadline:g} s deadline{extra}"
    elif status is not None and status >= 500:
        why = f"the endpoint kept failing ({status}: {said}) until the {deadline:g} s deadline"
    elif status is not None:
        why = f"the endpoint rejected the request ({status}: {said})"
    elif isinstance(exc, CallTimeout) and exc.first_token:
        why = (f"no answer within the time allowed (nothing within {exc.seconds:g} s: "
               "raise [llm] first_token_timeout for a slow server)")
    elif isinstance(exc, CallTimeout | openai.APITimeoutError | TimeoutError | DeadlineReached):
        why = f"no answer within the time allowed ({timeout:g} s a call, {deadline:g} s a review)"
    elif isinstance(exc, openai.APIConnectionError):
        why = f"cannot reach {host}; check [llm] base_url and that the server is running"
    elif isinstance(exc, LLMFailure):
        why = str(exc)
    else:
        why = f"unexpected error ({type(exc).__name__})"
    return f"LLM review unavailable: {why}. The offline review is shown."


class DeadlineStop:
    """Stop retrying when the next wait would end past the deadline."""

    def __init__(self, deadline_at: float) -> None:
        self.deadline_at = deadline_at

    def __call__(self, state: RetryCallState) -> bool:
        return time.monotonic() + state.upcoming_sleep >= self.deadline_at - MIN_ATTEMPT_SECONDS


class Backoff:
    """Retry-After when the server gives one, else exponential backoff with jitter."""

    def __init__(self, initial: float, maximum: float) -> None:
        # Exponential from `initial`, plus up to `initial` of jitter so clients do not retry in step.
        self.exponential = wait_exponential(multiplier=initial, max=maximum) + wait_random(0, initial)

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        hinted = retry_after(exc)
        return hinted if hinted is not None else self.exponential(state)


async def complete(
    client: openai.AsyncOpenAI, kwargs: dict[str, Any], *, deadline_at: float, timeout: float,
    retries: int, backoff: Backoff, first_token_timeout: float | None = None,
) -> Answer:
    """One chat completion, retried as the module docstring says.

    Streamed when `kwargs` asks for it: then nothing from the server within
    `first_token_timeout` ends the call.
    """
    retrying = AsyncRetrying(
        retry=retry_if_exception(retryable),
        wait=backoff,
        stop=stop_after_attempt(retries + 1) | DeadlineStop(deadline_at),
        reraise=True,
    )
    answer: Answer | None = None
    async for attempt in retrying:
        with attempt:
            remaining = deadline_at - time.monotonic()
            if remaining < MIN_ATTEMPT_SECONDS:
                raise DeadlineReached
            per_call = min(timeout, remaining)
            if kwargs.get("stream"):
                answer = await _streamed(client, kwargs, per_call, first_token_timeout or per_call)
            else:
                try:
                    async with asyncio.timeout(per_call):
                        completion = await client.chat.completions.create(**kwargs, timeout=per_call)
                except TimeoutError:
                    raise CallTimeout(per_call) from None
                answer = _whole(completion)
    assert answer is not None
    return answer


def _whole(completion: Any) -> Answer:
    if not completion.choices:
        return Answer(None, usage=usage_of(completion.usage), choices=0)
    choice = completion.choices[0]
    return Answer(choice.message.content, choice.finish_reason,
                  getattr(choice.message, "refusal", None), usage_of(completion.usage))


async def _streamed(client: openai.AsyncOpenAI, kwargs: dict[str, Any], per_call: float,
                    first_token: float) -> Answer:
    """The streamed answer, put together; CallTimeout when the server is silent or slow."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    first = min(first_token, per_call)
    parts: list[str] = []
    refusal: list[str] = []
    answer = Answer(None, choices=0)
    got_first = False
    try:
        async with asyncio.timeout(first) as window:
            stream = await client.chat.completions.create(**kwargs, timeout=per_call)
            async with stream:
                async for chunk in stream:
                    if not got_first:
                        got_first = True  # the server is alive: the rest of the call's time is its
                        window.reschedule(started + per_call)
                    if getattr(chunk, "usage", None) is not None:
                        answer.usage = usage_of(chunk.usage)
                    for choice in chunk.choices or []:
                        if choice.index:
                            continue
                        answer.choices = 1
                        delta = choice.delta
                        if delta is not None and delta.content:
                            parts.append(delta.content)
                        if delta is not None and getattr(delta, "refusal", None):
                            refusal.append(delta.refusal)
                        if choice.finish_reason:
                            answer.finish_reason = choice.finish_reason
    except TimeoutError:
        if got_first:
            raise CallTimeout(per_call) from None
        raise CallTimeout(first, first_token=True) from None
    answer.content = "".join(parts) if answer.choices else None
    answer.refusal = "".join(refusal) or None
    return answer
