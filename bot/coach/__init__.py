"""DM coaching: conversations that improve the reply and the community manager."""

from bot.coach.core import Coach, CoachReply, ConversationKey
from bot.render.stats import UserStats

__all__ = ["Coach", "CoachReply", "ConversationKey", "UserStats"]
