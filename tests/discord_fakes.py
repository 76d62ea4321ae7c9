"""Test support for the Discord bot: a local Discord HTTP API and interaction payloads.

`FakeDiscord` is an aiohttp server on 127.0.0.1 answering the routes the bot
calls (login, application info, command sync, interaction callbacks, webhook
follow-ups and edits, fetching a message). discord.py talks to it for real once
`discord.http.Route.BASE` points at it. Interactions are built from the JSON
payloads Discord sends and fed to discord.py's own `parse_interaction_create`,
the same entry point the gateway uses.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

APP_ID = 900000000000000001
BOT_ID = 900000000000000002
GUILD_ID = 900000000000000003
CHANNEL_ID = 900000000000000004
ALICE = 900000000000000010
BOB = 900000000000000011
TOKEN = "test-token-not-a-secret"

_ids = itertools.count(910000000000000000)


def next_id() -> int:
    return next(_ids)


def user_payload(user_id: int, name: str, *, bot: bool = False) -> dict[str, Any]:
    return {"id": str(user_id), "username": name, "discriminator": "0", "global_name": name,
            "avatar": None, "bot": bot}


def message_payload(
    content: str = "",
    *,
    author: int = BOT_ID,
    message_id: int | None = None,
    embeds: list[dict[str, Any]] | None = None,
    components: list[dict[str, Any]] | None = None,
    flags: int = 0,
    reference: int | None = None,
    channel_id: int = CHANNEL_ID,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(message_id or next_id()),
        "channel_id": str(channel_id),
        "author": user_payload(author, "cm-coach" if author == BOT_ID else f"user{author % 100}",
                               bot=author == BOT_ID),
        "content": content,
        "timestamp": "2026-01-01T00:00:00+00:00",
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": embeds or [],
        "components": components or [],
        "pinned": False,
        "type": 0 if reference is None else 19,
        "flags": flags,
    }
    if reference is not None:
        data["message_reference"] = {"message_id": str(reference), "channel_id": str(channel_id),
                                     "guild_id": str(GUILD_ID)}
    return data


@dataclass
class Call:
    method: str
    path: str
    body: Any


@dataclass
class FakeDiscord:
    """The part of Discord's HTTP API the bot uses, recording every call."""

    login_status: int = 200
    calls: list[Call] = field(default_factory=list)
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    commands: list[dict[str, Any]] = field(default_factory=list)
    changed: asyncio.Condition | None = None
    runner: web.AppRunner | None = None
    port: int = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    async def start(self) -> None:
        self.changed = asyncio.Condition()
        app = web.Application()
        app.router.add_route("*", "/api/v10/{tail:.*}", self._handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    # -------------------------------------------------------------- queries

    def find(self, method: str, fragment: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and fragment in c.path]

    async def wait_for(self, method: str, fragment: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """The calls matching, once there are `count` of them (fails after `timeout`)."""
        assert self.changed is not None

        async def enough() -> list[Call]:
            async with self.changed:
                await self.changed.wait_for(lambda: len(self.find(method, fragment)) >= count)
            return self.find(method, fragment)

        return await asyncio.wait_for(enough(), timeout)

    async def wait_until(self, predicate: Any, timeout: float = 5.0) -> None:
        assert self.changed is not None

        async def until() -> None:
            async with self.changed:
                await self.changed.wait_for(predicate)

        await asyncio.wait_for(until(), timeout)

    # -------------------------------------------------------------- routes

    async def _handle(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        body: Any = None
        if request.can_read_body:
            raw = await request.read()
            if request.content_type == "application/json":
                body = json.loads(raw)
            elif request.content_type.startswith("multipart/"):
                body = {"multipart": raw.decode("utf-8", "replace")}
        call = Call(request.method, path, body)
        response = self._answer(call)
        self.calls.append(call)
        assert self.changed is not None
        async with self.changed:
            self.changed.notify_all()
        return response

    def _answer(self, call: Call) -> web.Response:
        m, p, body = call.method, call.path, call.body
        if m == "GET" and p == "/users/@me":
            if self.login_status != 200:
                return _json({"message": "401: Unauthorized", "code": 0}, status=self.login_status)
            return _json(user_payload(BOT_ID, "cm-coach", bot=True))
        if m == "GET" and p == "/oauth2/applications/@me":
            return _json({
                "id": str(APP_ID), "name": "cm-coach", "description": "", "icon": None,
                "bot_public": True, "bot_require_code_grant": False, "verify_key": "0" * 64,
                "owner": user_payload(ALICE, "alice"), "flags": 0,
            })
        if m == "PUT" and p.startswith(f"/applications/{APP_ID}/") and p.endswith("/commands"):
            self.commands = [
                {"description": "", **cmd, "id": str(next_id()), "application_id": str(APP_ID),
                 "version": "1"}
                for cmd in body
            ]
            return _json(self.commands)
        if m == "POST" and p.startswith("/interactions/") and p.endswith("/callback"):
            return self._callback(p, body)
        if m == "POST" and p.startswith(f"/webhooks/{APP_ID}/"):
            return _json(self._store(body))
        if m == "PATCH" and p.startswith(f"/webhooks/{APP_ID}/"):
            return _json(self._store(body))
        if m == "GET" and p.startswith("/channels/") and p.count("/") == 2:  # fetch_channel
            channel_id = int(p.rsplit("/", 1)[1])
            return _json({"id": str(channel_id), "type": 0, "guild_id": str(GUILD_ID), "name": f"c{channel_id % 100}",
                          "position": 0, "permission_overwrites": [], "nsfw": False, "parent_id": None})
        if m == "POST" and p.startswith("/channels/") and p.endswith("/messages"):  # a message in a channel
            channel_id = int(p.split("/")[2])
            body = body or {}
            message = message_payload(body.get("content") or "", embeds=body.get("embeds"),
                                      components=body.get("components"), channel_id=channel_id)
            self.messages[int(message["id"])] = message
            return _json(message)
        if m == "POST" and p == "/users/@me/channels":  # opening a DM
            recipient = int((body or {}).get("recipient_id"))
            return _json({"id": str(recipient + 1), "type": 1, "last_message_id": None,
                          "recipients": [user_payload(recipient, f"user{recipient % 100}")]})
        if m == "GET" and p.startswith("/users/") and p != "/users/@me":
            user_id = int(p.rsplit("/", 1)[1])
            return _json(user_payload(user_id, f"user{user_id % 100}"))
        if m == "GET" and p.startswith("/channels/") and "/messages/" in p:
            message = self.messages.get(int(p.rsplit("/", 1)[1]))
            if message is None:
                return _json({"message": "Unknown Message", "code": 10008}, status=404)
            return _json(message)
        return _json({"message": f"not served: {m} {p}", "code": 0}, status=404)

    def _store(self, body: dict[str, Any] | None) -> dict[str, Any]:
        body = body or {}
        message = message_payload(
            body.get("content") or "", embeds=body.get("embeds"), components=body.get("components"),
            flags=body.get("flags") or 0,
        )
        self.messages[int(message["id"])] = message
        return message

    def _callback(self, path: str, body: dict[str, Any]) -> web.Response:
        interaction_id = path.split("/")[2]
        kind = body["type"]
        data = body.get("data") or {}
        ephemeral = bool((data.get("flags") or 0) & 64)
        message = self._store(data) if kind in (4, 5, 7) else None
        payload: dict[str, Any] = {
            "interaction": {"id": interaction_id, "type": 2, "response_message_loading": kind == 5,
                            "response_message_ephemeral": ephemeral},
        }
        if message is not None:
            payload["interaction"]["response_message_id"] = message["id"]
            payload["resource"] = {"type": kind, "message": message}
        return _json(payload)


def _json(data: Any, status: int = 200) -> web.Response:
    # Exactly "application/json", as Discord sends it: discord.py compares the header as a string.
    return web.Response(body=json.dumps(data).encode(), status=status, content_type="application/json")


# ------------------------------------------------------------------ payloads


def _base(kind: int, user: int, locale: str) -> dict[str, Any]:
    return {
        "id": str(next_id()),
        "application_id": str(APP_ID),
        "type": kind,
        "token": f"interaction-token-{next_id()}",
        "version": 1,
        "guild_id": str(GUILD_ID),
        "channel_id": str(CHANNEL_ID),
        "channel": {"id": str(CHANNEL_ID), "type": 0, "guild_id": str(GUILD_ID), "name": "general",
                    "position": 0, "permission_overwrites": [], "nsfw": False, "parent_id": None},
        "member": {"user": user_payload(user, f"user{user % 100}"), "roles": [], "joined_at":
                   "2025-01-01T00:00:00+00:00", "deaf": False, "mute": False, "flags": 0,
                   "permissions": "2248473465835073"},
        "app_permissions": "2248473465835073",
        "locale": locale,
        "guild_locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {"0": str(GUILD_ID)},
        "context": 0,
        "attachment_size_limit": 10485760,
    }


def slash_review(commands: list[dict[str, Any]], *, user: int = ALICE, locale: str = "en-US",
                 **options: Any) -> dict[str, Any]:
    """The INTERACTION_CREATE payload of `/review` with these options."""
    command = next(c for c in commands if c["name"] == "review" and c["type"] == 1)
    types = {o["name"]: o["type"] for o in command["options"]}
    data = _base(2, user, locale)
    data["data"] = {
        "id": command["id"], "name": "review", "type": 1,
        "options": [{"name": k, "type": types[k], "value": v} for k, v in options.items()],
    }
    return data


def message_menu(commands: list[dict[str, Any]], target: dict[str, Any], *, user: int = ALICE,
                 locale: str = "en-US") -> dict[str, Any]:
    """The INTERACTION_CREATE payload of the "Review draft" message menu on `target`."""
    command = next(c for c in commands if c["type"] == 3)
    data = _base(2, user, locale)
    data["data"] = {
        "id": command["id"], "name": command["name"], "type": 3, "target_id": target["id"],
        "resolved": {"messages": {target["id"]: target}},
    }
    return data


def button_press(message: dict[str, Any], custom_id: str, *, user: int = ALICE,
                 locale: str = "en-US") -> dict[str, Any]:
    """The INTERACTION_CREATE payload of a click on a button of `message`."""
    data = _base(3, user, locale)
    data["message"] = message
    data["data"] = {"custom_id": custom_id, "component_type": 2}
    return data


def buttons_of(message: dict[str, Any]) -> dict[str, str]:
    """label -> custom_id of the buttons on a message payload."""
    return {c["label"]: c["custom_id"] for row in message.get("components", [])
            for c in row.get("components", [])}
