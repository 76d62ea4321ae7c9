"""An OpenAI-compatible HTTP server on 127.0.0.1, scripted per test.

It speaks the two routes the project uses, so the real `openai` client can be
pointed at it (`base_url=server.base_url`):

- ``POST /v1/chat/completions`` answers with the next scripted reply;
- ``GET /v1/models`` lists ``server.models`` (or the next reply scripted with
  ``route="models"``).

Usage::

    from llm_server import LLMServer, chat_completion, error_body, valid_review

    with LLMServer() as server:                     # or the `llm_server` fixture
        server.push(429, error_body("slow down"), headers={"Retry-After": "0.3"})
        server.push(200, chat_completion(json.dumps(valid_review())))
        server.push(200, chat_completion("{}"), delay=1.0)     # answers after 1 s
        server.fallback = Reply(500, error_body("down"))        # when the queue is empty
        ...                                                     # point the client at server.base_url
        server.chat_requests[0].json["messages"]                # what the client sent
        server.chat_requests[1].at - server.chat_requests[0].at # seconds between calls

- ``push(status=200, body=None, headers=None, delay=0.0, route="chat")`` queues
  one reply; a dict body is sent as JSON, a str body as is (to send broken JSON).
- ``fallback``: the reply when a route's queue is empty (default: 500 "no
  scripted reply", so an unexpected call shows up as a failure).
- ``require_key``: when set, any other bearer token gets a 401 like OpenAI's
  (or an Azure ``api-key`` header with that key).
- ``requests`` records every request (method, path, query, headers with
  lower-case names, json, at = time.monotonic() on arrival); ``chat_requests``
  only the chat completions.
- A request with ``"stream": true`` gets a 200 chat completion body as
  server-sent events, as OpenAI streams it (the content in a few chunks, then
  the finish reason, then the usage when ``stream_options.include_usage``);
  ``delay`` is then the time before the first byte: a hung server.
- Paths may carry anything before ``/chat/completions`` (Azure deployments).

Replies are served from threads, so a delayed reply does not hold up others;
``stop()`` does not wait for delayed replies to finish.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest


@dataclass
class Reply:
    status: int = 200
    body: dict[str, Any] | str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    json: Any
    at: float
    query: dict[str, str] = field(default_factory=dict)


def chat_completion(content: str | None, *, model: str = "test-model", prompt_tokens: int = 900,
                    completion_tokens: int = 300, finish_reason: str = "stop",
                    cached_tokens: int | None = None) -> dict[str, Any]:
    """A chat completion body whose first choice says `content`."""
    body: dict[str, Any] = {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "finish_reason": finish_reason,
                     "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }
    if cached_tokens is not None:
        body["usage"]["prompt_tokens_details"] = {"cached_tokens": cached_tokens}
    return body


def sse_events(body: dict[str, Any], include_usage: bool, pieces: int = 3) -> str:
    """A chat completion as the server-sent events of a streamed answer."""
    base = {k: body.get(k) for k in ("id", "created", "model")}
    base["object"] = "chat.completion.chunk"
    events: list[dict[str, Any]] = []
    for choice in body.get("choices", []):
        message = choice.get("message") or {}
        content = message.get("content")
        events.append({**base, "choices": [{"index": choice.get("index", 0),
                                            "delta": {"role": "assistant", "content": ""},
                                            "finish_reason": None}]})
        if content:
            size = max(1, -(-len(content) // pieces))
            for at in range(0, len(content), size):
                events.append({**base, "choices": [{"index": choice.get("index", 0),
                                                    "delta": {"content": content[at:at + size]},
                                                    "finish_reason": None}]})
        events.append({**base, "choices": [{"index": choice.get("index", 0), "delta": {},
                                            "finish_reason": choice.get("finish_reason")}]})
    if include_usage and body.get("usage") is not None:
        events.append({**base, "choices": [], "usage": body["usage"]})
    return "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"


def error_body(message: str, type_: str = "invalid_request_error", code: str | None = None,
               param: str | None = None) -> dict[str, Any]:
    """An error body shaped like OpenAI's."""
    return {"error": {"message": message, "type": type_, "code": code, "param": param}}


def valid_review(**overrides: Any) -> dict[str, Any]:
    """A review as the model is asked to answer it (bot/review/llm_schema.py), safe by default."""
    review: dict[str, Any] = {
        "findings": [],
        "dismissals": [],
        "golden_rules": [
            {"rule": rule, "score": 8, "notes": [f"{rule} ok"]}
            for rule in ("reputation", "produce", "react", "federate")
        ],
        "verdict": "post",
        "risk": 5,
        "rewrites": [],
        "notes": [],
    }
    review.update(overrides)
    return review


class LLMServer:
    def __init__(self, models: list[str] | None = None) -> None:
        self.models = list(models or ["test-model"])
        self.fallback = Reply(500, error_body("no scripted reply", "server_error"))
        self.require_key: str | None = None
        self.requests: list[Recorded] = []
        self._queues: dict[str, deque[Reply]] = {"chat": deque(), "models": deque()}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- scripting -------------------------------------------------------------

    def push(self, status: int = 200, body: dict[str, Any] | str | None = None,
             headers: dict[str, str] | None = None, delay: float = 0.0,
             route: str = "chat") -> LLMServer:
        with self._lock:
            self._queues[route].append(Reply(status, body, dict(headers or {}), delay))
        return self

    @property
    def chat_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "start() the server first"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    # -- life cycle -------------------------------------------------------------

    def start(self) -> LLMServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real endpoints do
            # Headers and body go out in two writes: without this, Nagle's algorithm
            # and delayed ACKs stall every kept-alive reply by ~40 ms.
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                server._handle(self, "GET")

            def do_POST(self) -> None:
                server._handle(self, "POST")

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.02}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def __enter__(self) -> LLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- serving ------------------------------------------------------------------

    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        arrived = time.monotonic()
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        try:
            payload = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            payload = raw.decode("utf-8", "replace")
        path, _, raw_query = h.path.partition("?")
        query = {k: v[-1] for k, v in parse_qs(raw_query).items()}
        with self._lock:
            headers = {k.lower(): v for k, v in h.headers.items()}
            self.requests.append(Recorded(method, path, headers, payload, arrived, query))
        key = h.headers.get("Authorization", "")
        if h.headers.get("api-key"):
            key = f"Bearer {h.headers['api-key']}"
        reply = self._pick(method, path, key)
        if reply.delay and self._stopping.wait(reply.delay):
            return
        streamed = (isinstance(payload, dict) and payload.get("stream") and reply.status == 200
                    and isinstance(reply.body, dict) and "choices" in reply.body)
        if streamed:
            options = payload.get("stream_options") or {}
            body = sse_events(reply.body, bool(options.get("include_usage")))  # type: ignore[arg-type]
        else:
            body = reply.body if isinstance(reply.body, str) else json.dumps(reply.body or {})
        data = body.encode("utf-8")
        try:
            h.send_response(reply.status)
            h.send_header("Content-Type", "text/event-stream" if streamed else "application/json")
            h.send_header("Content-Length", str(len(data)))
            for name, value in reply.headers.items():
                h.send_header(name, value)
            h.end_headers()
            h.wfile.write(data)
            h.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (its timeout): that is what some tests want

    def _pick(self, method: str, path: str, authorization: str) -> Reply:
        if self.require_key is not None and authorization != f"Bearer {self.require_key}":
            return Reply(401, error_body("Incorrect API key provided.", "invalid_request_error",
                                         "invalid_api_key"))
        if method == "POST" and path.endswith("/chat/completions"):
            route = "chat"
        elif method == "GET" and path.endswith("/models"):
            route = "models"
        else:
            return Reply(404, error_body(f"no route {method} {path}"))
        with self._lock:
            if self._queues[route]:
                return self._queues[route].popleft()
        if route == "models":
            return Reply(200, {"object": "list", "data": [
                {"id": m, "object": "model", "created": 0, "owned_by": "test"} for m in self.models]})
        return self.fallback


@pytest.fixture
def llm_server() -> Any:
    """A started LLMServer, stopped after the test."""
    with LLMServer() as server:
        yield server


# Every variable that may point the client at an LLM or give it a key.
LLM_ENV = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "CM_COACH_LLM_BASE_URL", "CM_COACH_LLM_API_KEY")


def only_key(monkeypatch: pytest.MonkeyPatch, variable: str, key: str) -> None:
    """No LLM setting from the environment the tests run in, but this one key."""
    for name in LLM_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(variable, key)
