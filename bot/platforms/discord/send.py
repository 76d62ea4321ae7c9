"""Sending rendered messages: every send without pings, long reviews in order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import discord

from bot.platforms.discord.buttons import view_for
from bot.render.discord import DiscordMessage

NO_PINGS = discord.AllowedMentions.none()


def message_kwargs(message: DiscordMessage) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"allowed_mentions": NO_PINGS}
    if message.content:
        kwargs["content"] = message.content
    if message.embeds:
        kwargs["embeds"] = [discord.Embed.from_dict(e) for e in message.embeds]
    view = view_for(message.buttons)
    if view is not None:
        kwargs["view"] = view
    return kwargs


async def send_messages(
    origin: discord.Message, messages: Sequence[DiscordMessage], *, reply: bool = True
) -> None:
    """The first message replies to `origin` (without pinging its author), the rest follow."""
    for n, message in enumerate(messages):
        kwargs = message_kwargs(message)
        if n == 0 and reply:
            await origin.reply(mention_author=False, **kwargs)
        else:
            await origin.channel.send(**kwargs)


async def send_followups(
    interaction: discord.Interaction, messages: Sequence[DiscordMessage], *, ephemeral: bool
) -> None:
    """After defer(): every message as a follow-up, in order."""
    for message in messages:
        await interaction.followup.send(ephemeral=ephemeral, **message_kwargs(message))


async def reply_private(interaction: discord.Interaction, messages: Sequence[DiscordMessage]) -> None:
    """Ephemeral answer, whether or not the interaction was already answered or deferred."""
    for message in messages:
        kwargs = message_kwargs(message)
        if interaction.response.is_done():
            await interaction.followup.send(ephemeral=True, **kwargs)
        else:
            await interaction.response.send_message(ephemeral=True, **kwargs)
