"""Slack HTTP mode: the request signature checked on the raw body, before Bolt reads it.

Bolt decodes and parses a body before its own signature check, so an unsigned
malformed body (bytes that are not UTF-8, broken JSON or form) ended as a 500
with a traceback in the log: anyone could fill the log from the internet. Here
a request without a valid signature gets 401 and one log line, and a signed
body Slack would never send gets 400; everything else reaches Bolt unchanged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

log = logging.getLogger("cm_coach.slack")

# Slack's own tolerance for the request timestamp: older requests may be replays.
MAX_AGE_SECONDS = 60 * 5
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]


def signature_valid(secret: str, body: bytes, headers: Mapping[str, str], now: float | None = None) -> bool:
    """Slack's v0 signature of `body`, recent and matching; never raises on any input.

    The HMAC is taken over the raw bytes, as Slack computes it (slack_sdk's
    SignatureVerifier decodes the body as UTF-8 first, which fails on garbage).
    """
    timestamp = headers.get("X-Slack-Request-Timestamp") or ""
    signature = headers.get("X-Slack-Signature") or ""
    if not secret or not timestamp.isascii() or not timestamp.isdigit() or not signature.isascii():
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > MAX_AGE_SECONDS:
        return False
    digest = hmac.new(secret.encode("utf-8"), b"v0:" + timestamp.encode("ascii") + b":" + body,
                      hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"v0={digest}", signature)


def readable(body: bytes, charset: str | None, content_type: str) -> bool:
    """Whether Bolt can read this body: text in its charset, then an object of JSON or a form."""
    from slack_bolt.request.internals import parse_body

    try:
        parsed: Any = parse_body(body.decode(charset or "utf-8"), content_type)
    except (ValueError, LookupError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return False
    return isinstance(parsed, dict)


def _refuse(status: int) -> web.Response:
    return web.json_response({"error": "invalid request"}, status=status)


def signature_middleware(secret: str) -> Middleware:
    """An aiohttp middleware answering 401 (one warning line, no traceback) to a POST
    without a valid Slack signature, and 400 to a signed body Bolt cannot read."""

    @web.middleware
    async def check_signature(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method != "POST":
            return await handler(request)
        body = await request.read()  # kept by aiohttp: Bolt reads the same bytes after
        if not signature_valid(secret, body, request.headers):
            log.warning("Slack HTTP: refused a request to %s from %s without a valid signature (401)",
                        request.path, request.remote)
            return _refuse(401)
        if not readable(body, request.charset, request.content_type):
            log.warning("Slack HTTP: refused a signed request to %s whose body is not JSON or a form (400)",
                        request.path)
            return _refuse(400)
        return await handler(request)

    return check_signature
