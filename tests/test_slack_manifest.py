"""manifest.yml creates the app the code expects, in one paste."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.config import SlackSection
from bot.render.slack import SHORTCUT_CALLBACK

MANIFEST = yaml.safe_load((Path(__file__).parent.parent / "manifest.yml").read_text(encoding="utf-8"))


def test_the_command_and_the_shortcut_match_the_code() -> None:
    commands = [c["command"] for c in MANIFEST["features"]["slash_commands"]]
    assert commands == [SlackSection().command]
    shortcuts = MANIFEST["features"]["shortcuts"]
    assert [(s["type"], s["callback_id"]) for s in shortcuts] == [("message", SHORTCUT_CALLBACK)]
    assert shortcuts[0]["name"] == "Review with cm-coach"


def test_events_scopes_and_socket_mode() -> None:
    settings = MANIFEST["settings"]
    assert set(settings["event_subscriptions"]["bot_events"]) == {"app_home_opened", "app_mention", "message.im"}
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is True
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    # commands; chat.postMessage/postEphemeral; app_mention; DMs; conversations.replies; users.info
    assert scopes >= {"commands", "chat:write", "app_mentions:read", "im:history", "channels:history",
                      "groups:history", "users:read"}
    home = MANIFEST["features"]["app_home"]
    assert home["home_tab_enabled"] and home["messages_tab_enabled"]
    assert not home["messages_tab_read_only_enabled"]
