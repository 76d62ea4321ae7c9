"""The review buttons (Use this, Another style, Why?), alive across restarts.

Each button's custom_id carries its whole state, `cmc:<action>:<owner>:<key>:<index>`
(see bot.render.discord.custom_id): who asked, which archived review, which
rewrite is shown. discord.py matches it against the template of a DynamicItem,
so no view has to be re-registered after a restart.

A press is answered by the client (CoachBot.press), which sends messages that
carry buttons again: so this module knows no client and sends nothing, and the
senders (send.py) build their views from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, cast

import discord

from bot.render.discord import ANOTHER, APPROVAL_PREFIX, APPROVE, ASK, CHANGES, USE, WHY, Button
from bot.render.labels import label, ui_language

_STYLES = {
    "primary": discord.ButtonStyle.primary,
    "secondary": discord.ButtonStyle.secondary,
    "success": discord.ButtonStyle.success,
}
TEMPLATE = rf"cmc:(?P<action>{USE}|{ANOTHER}|{WHY}|{ASK}):(?P<owner>[0-9]+):(?P<key>[0-9a-f]+):(?P<index>[0-9]+)"
APPROVAL_TEMPLATE = rf"{APPROVAL_PREFIX}:(?P<decision>{APPROVE}|{CHANGES}):(?P<approval>a[0-9a-f]+)"


class ButtonHost(Protocol):
    """The client the buttons run in (CoachBot): it does what a press asks."""

    async def press(self, button: ReviewButton, interaction: discord.Interaction[Any]) -> None: ...
    async def decide(self, decision: str, approval_id: str, interaction: discord.Interaction[Any]) -> None: ...


class ReviewButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=TEMPLATE):
    def __init__(self, spec: Button) -> None:
        super().__init__(
            discord.ui.Button(label=spec.label, custom_id=spec.custom_id,
                              style=_STYLES.get(spec.style, discord.ButtonStyle.secondary))
        )
        _, self.action, owner, self.key, index = spec.custom_id.split(":")
        self.owner = int(owner)
        self.index = int(index)

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /
    ) -> ReviewButton:
        button = item if isinstance(item, discord.ui.Button) else None
        style = "success" if button is not None and button.style is discord.ButtonStyle.success else "secondary"
        return cls(Button((button.label or "") if button else "", match.string, style))

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id == self.owner:
            return True
        lang = ui_language(str(interaction.locale))
        await interaction.response.send_message(
            label("discord_owner_only", lang), ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )
        return False

    async def callback(self, interaction: discord.Interaction[Any]) -> None:  # type: ignore[override]
        await cast(ButtonHost, interaction.client).press(self, interaction)


class ApprovalButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=APPROVAL_TEMPLATE):
    """Approve / Request changes under a request in the approvers' channel: who may
    decide is the client's call (the approver role, never one's own request)."""

    def __init__(self, spec: Button) -> None:
        super().__init__(
            discord.ui.Button(label=spec.label, custom_id=spec.custom_id,
                              style=_STYLES.get(spec.style, discord.ButtonStyle.secondary))
        )
        _, self.decision, self.approval_id = spec.custom_id.split(":")

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /
    ) -> ApprovalButton:
        button = item if isinstance(item, discord.ui.Button) else None
        return cls(Button((button.label or "") if button else "", match.string))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:  # type: ignore[override]
        await cast(ButtonHost, interaction.client).decide(self.decision, self.approval_id, interaction)


def view_for(buttons: Sequence[Button]) -> discord.ui.View | None:
    """A view with no timeout made only of dynamic items: nothing to keep in memory."""
    if not buttons:
        return None
    view = discord.ui.View(timeout=None)
    for spec in buttons:
        kind = ApprovalButton if spec.custom_id.startswith(APPROVAL_PREFIX + ":") else ReviewButton
        view.add_item(kind(spec))
    return view
