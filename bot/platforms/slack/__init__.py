"""The Slack front end: `cm-coach serve slack` (see docs/slack.md).

`serve` checks the tokens before anything heavy is imported; `build_app`
(Bolt, slack_sdk) is loaded on first use.
"""

from __future__ import annotations

from typing import Any

from bot.platforms.slack.serve import serve

__all__ = ["build_app", "serve"]


def __getattr__(name: str) -> Any:
    if name == "build_app":
        from bot.platforms.slack.app import build_app

        return build_app
    raise AttributeError(name)
