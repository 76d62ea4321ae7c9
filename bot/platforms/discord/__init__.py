"""`cm-coach serve discord`: run the bot with the token in DISCORD_TOKEN.

Inside this package `import discord` is the discord.py library (absolute
imports); the bot itself lives in bot.platforms.discord.bot.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config import Settings

TOKEN_VARIABLE = "DISCORD_TOKEN"
EXIT_USAGE = 2


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    print(f"cm-coach: {message}", file=sys.stderr)
    return code


def serve(args: argparse.Namespace, settings: Settings) -> int:
    """Connect to Discord and answer until interrupted; 2 on a problem the user can fix."""
    token = os.environ.get(TOKEN_VARIABLE, "").strip()
    if not token:
        return _fail(
            f"{TOKEN_VARIABLE} is not set: copy the bot token from the Discord developer portal "
            f"(your application → Bot → Reset Token) and export {TOKEN_VARIABLE}=...; "
            "see docs/discord.md"
        )
    import aiohttp
    import discord

    from bot.logsafe import install_log_redaction
    from bot.platforms.discord.bot import CoachBot

    if not logging.getLogger().handlers:
        discord.utils.setup_logging(level=logging.INFO)
    install_log_redaction()
    bot = CoachBot(settings)

    async def run() -> None:
        async with bot:
            await bot.start(token)

    try:
        asyncio.run(run())
    except discord.LoginFailure:
        return _fail(
            f"Discord rejected the token in {TOKEN_VARIABLE}: copy it again from the developer "
            "portal (Bot → Reset Token); it is the bot token, not the client secret or the public key"
        )
    except discord.PrivilegedIntentsRequired:
        return _fail(
            "Discord refused the Message Content intent: turn it on in the developer portal "
            "(Bot → Privileged Gateway Intents → Message Content Intent), or set "
            "[discord] message_content = false (replies to a message will then need the "
            "'Review draft' menu)"
        )
    except (aiohttp.ClientConnectionError, discord.GatewayNotFound) as exc:
        return _fail(f"cannot reach Discord ({exc.__class__.__name__}); check the network and retry", 1)
    return 0
