"""The Discord client: mentions, /review, the "Review draft" menu, DMs, buttons.

Wiring only: events become review requests for bot.review.reviewer.Reviewer
(or coaching turns for bot.coach in DMs), reviews become messages through
bot.render.discord. Every send passes AllowedMentions.none(): an echoed draft
never pings anyone.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.app.desk import APPROVED, OWN_DRAFT, PEER_DRAFT, ApprovalRefused, Desk
from bot.app.desk import CHANGES as CHANGES_STATE
from bot.app.limits import Cooldown
from bot.app.services import Services
from bot.coach import ConversationKey
from bot.platforms.discord.buttons import ApprovalButton, ReviewButton
from bot.platforms.discord.send import (
    NO_PINGS,
    message_kwargs,
    reply_private,
    send_followups,
    send_messages,
)
from bot.render.discord import (
    APPROVE,
    ASK,
    USE,
    WHY,
    DiscordMessage,
    escape_mentions,
    render_approval_request,
    render_decision_for_requester,
    render_notice,
    render_review,
    render_rewrite_choice,
    render_use,
    render_why,
    text_messages,
)
from bot.render.labels import label, ui_language
from bot.review.models import PLATFORMS, Review
from bot.review.platforms import spec
from bot.review.reviewer import Reviewer
from bot.review.validation import DraftError

if TYPE_CHECKING:
    from bot.coach import Coach
    from bot.config import Settings
    from bot.store import Store

log = logging.getLogger("cm_coach.discord")

WORKSPACE = "dm"

# Discord caps a string option at 6,000 characters.
OPTION_MAX = 6000


def intents_for(settings: Settings) -> discord.Intents:
    """Only what the features use; message content is the one privileged intent."""
    intents = discord.Intents.none()
    intents.guilds = True  # channels and the bot's own role, to see mentions of it
    intents.guild_messages = True  # messages that mention the bot in a server
    intents.dm_messages = True  # coaching in direct messages
    # Privileged: the text of messages that do not mention the bot, i.e. the
    # message a mention replies to and that message's parent.
    intents.message_content = settings.discord.message_content
    return intents


def _key(user: str) -> ConversationKey:
    """Discord user ids are global: one key per user, whatever the server."""
    return ConversationKey(platform="discord", workspace=WORKSPACE, user=user)


def _lang_of(text: str | None, locale: discord.Locale | None = None) -> str:
    """Interface language: the draft's when there is one, else the user's Discord locale."""
    if text and text.strip():
        from bot.review.language import detect_language

        return ui_language(detect_language(text))
    return ui_language(str(locale) if locale else None)


class LabelTranslator(app_commands.Translator):
    """Command descriptions in French from strings.yml (the key rides in locale_str extras)."""

    async def translate(
        self, string: app_commands.locale_str, locale: discord.Locale, context: Any
    ) -> str | None:
        key = string.extras.get("key")
        if not key or not str(locale).startswith("fr"):
            return None
        text = label(key, "fr")
        return None if text == key else text


def _text(key: str) -> app_commands.locale_str:
    return app_commands.locale_str(label(key, "en"), key=key)


class CoachBot(discord.Client):
    """cm-coach on Discord."""

    def __init__(
        self,
        settings: Settings,
        *,
        reviewer: Reviewer | None = None,
        coach: Coach | None = None,
        store: Store | None = None,
        **options: Any,
    ) -> None:
        options.setdefault("intents", intents_for(settings))
        super().__init__(allowed_mentions=NO_PINGS, **options)
        self.settings = settings
        self.reviewer = reviewer or Reviewer(settings)
        self._coach = coach
        self._store = store
        self._desk: Desk | None = None
        self._retention: asyncio.Task[None] | None = None
        self.cooldown = Cooldown(settings.discord.cooldown_seconds)
        self.tree = app_commands.CommandTree(self)
        self.tree.on_error = self._on_app_command_error  # type: ignore[method-assign]
        self.sync_count = 0
        add_commands(self.tree)

    # ------------------------------------------------------------ lifecycle

    @property
    def desk(self) -> Desk:
        """The services and verbs shared with every surface, opened on first use."""
        if self._desk is None:
            services = Services.open(self.settings, store=self._store, reviewer=self.reviewer,
                                     coach=self._coach, purge=False)
            self._store, self._coach = services.store, services.coach
            self._desk = Desk(services)
        return self._desk

    @property
    def store(self) -> Store:
        return self.desk.services.store  # type: ignore[return-value]

    @property
    def coach(self) -> Coach:
        return self.desk.services.coach

    async def setup_hook(self) -> None:
        """Runs once per process, before the gateway connects: never on a reconnect."""
        services = self.desk.services
        await asyncio.to_thread(services.apply_retention)  # at start, then daily
        self._retention = asyncio.create_task(services.keep_applying_retention())
        self.add_dynamic_items(ReviewButton, ApprovalButton)
        await self.tree.set_translator(LabelTranslator())
        await self.sync_commands()

    async def sync_commands(self) -> None:
        guild_id = self.settings.discord.dev_guild_id
        try:
            if guild_id:
                guild = discord.Object(id=guild_id)
                self.tree.copy_global_to(guild=guild)
                synced = await self.tree.sync(guild=guild)
                where = f"development server {guild_id} (instant)"
            else:
                synced = await self.tree.sync()
                where = "every server (global commands may take up to an hour to appear)"
        except discord.Forbidden:
            log.error(
                "Discord refused to register the slash commands: invite the bot with the "
                "applications.commands scope (see docs/discord.md); mentions and DMs still work."
            )
            return
        self.sync_count += 1
        log.info("registered %d application commands in %s", len(synced), where)

    async def on_ready(self) -> None:
        # Called again on every reconnect: nothing to sync here.
        log.info("connected to Discord as %s in %d server(s)", self.user, len(self.guilds))

    async def close(self) -> None:
        await super().close()
        if self._retention is not None:
            self._retention.cancel()
            self._retention = None
        if self._store is not None:
            self._store.close()
            self._store = None
        self._desk = None

    # ------------------------------------------------------------ reviewing

    async def run_review(
        self, draft: str, *, context: str | None, platform: str | None, user: str, kind: str = OWN_DRAFT,
        guild: int | None = None, channel: int | None = None,
    ) -> Review:
        """The desk's review in the voice of the brand of that server or channel, counted
        in the user's figures. Raises DraftError for a draft that cannot be reviewed."""
        desk = self.desk
        brand = await asyncio.to_thread(desk.brand_for, "discord", str(guild), str(channel or "")) if guild else None
        crisis = await asyncio.to_thread(desk.crisis, "discord", str(guild or WORKSPACE))
        request = desk.request(draft, context=context, platform=platform, user=user, brand=brand,
                               crisis=crisis is not None)
        lang = _lang_of(draft)
        review = await desk.review(request, lambda error: label("slack_llm_fallback", lang, error=error))
        if self.settings.brands:  # several brands: say whose voice this review used
            review.notes.insert(0, label("brand_used", lang, brand=request.profile.name or brand or "—"))
        if crisis is not None:  # the banner: first of the notes
            until = f"<t:{int(crisis.until)}:f>"
            review.notes.insert(0, f"🚨 {label('crisis_banner_title', lang)}: {label('crisis_banner', lang, until=until)}")
        await asyncio.to_thread(desk.record, _key(user), kind, review)
        return review

    def review_messages(self, review: Review, owner: int, *, show_draft: bool) -> list[DiscordMessage]:
        request = self.desk.request(review.draft, context=review.context, platform=review.platform,
                                    user=str(owner))
        key = self.desk.keep(review, request, ui_language(review.language), _key(str(owner)))
        return render_review(review, owner=str(owner), key=key, show_draft=show_draft,
                             approval=self.approvals_on)

    @property
    def approvals_on(self) -> bool:
        return bool(self.settings.team.discord_approvers_channel)

    async def press(self, button: ReviewButton, interaction: discord.Interaction[Any]) -> None:
        """A review button pressed by its owner: the rewrite to copy, why, or another
        style in place of the shown one; the kept review it names may have expired."""
        item = await asyncio.to_thread(self.desk.recall, button.key)
        if item is None:
            lang = ui_language(str(interaction.locale))
            days = self.settings.store.retention_days
            await reply_private(interaction, render_notice(label("discord_expired", lang, days=days)))
            return
        review = item.review
        if button.action == WHY:
            await reply_private(interaction, render_why(review))
        elif button.action == ASK:
            await self.ask_approval(item, button, interaction)
        elif not review.rewrites:
            lang = ui_language(review.language)
            await reply_private(interaction, render_notice(label("discord_no_rewrite", lang)))
        elif button.action == USE:
            await reply_private(interaction, render_use(review, button.index))
        else:  # another style: the next one that passes, else a new style, else back to the first
            key, shown = button.key, len(review.rewrites)
            found = await asyncio.to_thread(self.desk.another, item, button.index % shown)
            index = found[1] if found is not None else 0
            if len(review.rewrites) > shown:  # a new style: kept with the review, under a new key
                key = await asyncio.to_thread(self.desk.keep, review, item.request, item.lang,
                                              _key(str(button.owner)))
            choice = render_rewrite_choice(review, owner=str(button.owner), key=key, index=index,
                                           approval=self.approvals_on)
            kwargs = message_kwargs(choice)
            kwargs.setdefault("view", None)
            kwargs.pop("allowed_mentions", None)
            await interaction.response.edit_message(allowed_mentions=NO_PINGS, **kwargs)

    # ------------------------------------------------------------ approvals

    async def ask_approval(self, item: Any, button: ReviewButton, interaction: discord.Interaction[Any]) -> None:
        """The rewrite shown (or the draft, without one) sent to the approvers' channel."""
        review, lang = item.review, ui_language(item.review.language)
        version = review.rewrites[button.index % len(review.rewrites)].text if review.rewrites else review.draft
        channel_id = self.settings.team.discord_approvers_channel
        if not channel_id:
            await reply_private(interaction, render_notice(label("approval_off", lang)))
            return
        approval_id = await asyncio.to_thread(self.desk.request_approval, _key(str(button.owner)),
                                              str(interaction.channel_id or ""), version, review)
        message = render_approval_request(approval_id, str(button.owner), version, review, lang)
        try:
            channel = self.get_channel(channel_id) or await self.fetch_channel(channel_id)
            posted = await channel.send(**message_kwargs(message))  # type: ignore[union-attr]
        except (discord.HTTPException, AttributeError) as exc:
            error = getattr(exc, "text", None) or type(exc).__name__
            await reply_private(interaction, render_notice(label("approval_post_failed", lang, error=error)))
            return
        await asyncio.to_thread(self.store.set_approval_message, approval_id, str(channel_id), str(posted.id))
        await reply_private(interaction, render_notice(label("approval_sent", lang)))

    async def decide(self, decision: str, approval_id: str, interaction: discord.Interaction[Any]) -> None:
        """Approve at once; Request changes asks for a note first. Only the approver role
        decides (when one is set), never on one's own request."""
        lang = ui_language(str(interaction.locale))
        refusal = await asyncio.to_thread(self._refusal, approval_id, interaction)
        if refusal:
            await reply_private(interaction, render_notice(label(refusal, lang)))
            return
        if decision == APPROVE:
            await self.settle(approval_id, APPROVED, None, interaction)
        else:
            await interaction.response.send_modal(ChangesNote(self, approval_id, lang))

    def _refusal(self, approval_id: str, interaction: discord.Interaction[Any]) -> str | None:
        found = self.store.approval(approval_id)
        if found is None:
            return "approval_unknown"
        if found["user"] == str(interaction.user.id):
            return "approval_own"
        if found["state"] != "pending":
            return "approval_decided"
        role = self.settings.team.discord_approver_role
        # The member's role ids as the interaction carries them (the guild may not be cached).
        roles = {int(r) for r in getattr(interaction.user, "_roles", ())} | {
            r.id for r in getattr(interaction.user, "roles", [])}
        if role and role not in roles:
            return "approval_not_approver"
        return None

    async def settle(self, approval_id: str, state: str, note: str | None,
                     interaction: discord.Interaction[Any]) -> None:
        """Decide, show the decision in place of the buttons, and tell the requester by DM."""
        lang = ui_language(str(interaction.locale))
        decider = str(interaction.user.id)
        try:
            decided = await asyncio.to_thread(self.desk.decide, approval_id, _key(decider), state, note)
        except ApprovalRefused as exc:
            await reply_private(interaction, render_notice(label(str(exc), lang)))
            return
        review = Review.from_dict(decided["review"])
        text = label("approval_approved_by" if state == APPROVED else "approval_changes_by", lang,
                     user=f"<@{decider}>").replace(":white_check_mark: ", "✅ ").replace(":pencil2: ", "✏️ ")
        if note:
            text += f"\n> {note}"
        shown = render_approval_request(approval_id, decided["user"], decided["version"], review, lang, decided=text)
        kwargs = message_kwargs(shown)
        kwargs["view"] = None
        kwargs.pop("allowed_mentions", None)
        if interaction.response.is_done() or interaction.message is None:
            if interaction.message is not None:
                await interaction.message.edit(allowed_mentions=NO_PINGS, **kwargs)
        else:
            await interaction.response.edit_message(allowed_mentions=NO_PINGS, **kwargs)
        requester_lang = ui_language(review.language)
        try:
            user = self.get_user(int(decided["user"])) or await self.fetch_user(int(decided["user"]))
            for message in render_decision_for_requester(state, decider, decided["version"], note, requester_lang):
                await user.send(**message_kwargs(message))
        except (discord.HTTPException, ValueError) as exc:
            log.warning("could not tell the requester of a decision: %s", type(exc).__name__)

    def cooldown_notice(self, user_id: int, lang: str) -> str | None:
        wait = self.cooldown.retry_after(user_id)
        if not wait:
            return None
        return label("discord_cooldown", lang, seconds=max(1, round(wait)))

    # ------------------------------------------------------------ messages

    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or message.webhook_id is not None:
            return  # other bots, webhooks and this bot itself
        try:
            if message.guild is None:
                if isinstance(message.channel, discord.DMChannel):
                    await self.handle_dm(message)
            elif self.is_mentioned(message):
                await self.handle_mention(message)
        except Exception:
            log.exception("failed to answer message %s", message.id)
            lang = _lang_of(message.content)
            try:
                await send_messages(
                    message, render_notice(label("error_generic", lang), draft=message.content)
                )
            except discord.HTTPException as exc:
                log.error(
                    "cannot post in channel %s (%s): give cm-coach the View Channel, Send Messages, "
                    "Embed Links and Read Message History permissions there", message.channel.id, exc,
                )

    def is_mentioned(self, message: discord.Message) -> bool:
        """Mentioned by name or through the bot's own role; @everyone and @here do not count."""
        if self.user is None:
            return False
        if self.user.id in message.raw_mentions:
            return True
        role = message.guild.self_role if message.guild else None
        return role is not None and role.id in message.raw_role_mentions

    def strip_mentions(self, message: discord.Message) -> str:
        text = message.content
        if self.user is not None:
            text = re.sub(rf"<@!?{self.user.id}>", " ", text)
        role = message.guild.self_role if message.guild else None
        if role is not None:
            text = text.replace(f"<@&{role.id}>", " ")
        return text.strip()

    async def handle_mention(self, message: discord.Message) -> None:
        text = self.strip_mentions(message)
        lang = _lang_of(text)
        context: str | None = None
        if message.reference is not None and message.reference.message_id is not None:
            target = await self.referenced(message)
            if target is None or not target.content.strip():
                await send_messages(message, render_notice(label("discord_cannot_read", lang)))
                return
            parent = await self.referenced(target)
            draft, context = target.content, (parent.content if parent is not None else None)
            lang = _lang_of(draft)
            kind = OWN_DRAFT if target.author.id == message.author.id else PEER_DRAFT
        else:
            draft = text
            if not draft:
                await send_messages(message, render_notice(label("discord_usage", lang)))
                return
            kind = OWN_DRAFT
        notice = self.cooldown_notice(message.author.id, lang)
        if notice:
            await send_messages(message, render_notice(notice))
            return
        try:
            async with message.channel.typing():
                review = await self.run_review(
                    draft, context=context, platform=None, user=str(message.author.id), kind=kind,
                    guild=message.guild.id if message.guild else None, channel=message.channel.id,
                )
        except DraftError as exc:
            await send_messages(message, render_notice(str(exc), draft=draft))
            return
        await send_messages(message, self.review_messages(review, message.author.id, show_draft=False))

    async def referenced(self, message: discord.Message) -> discord.Message | None:
        """The message this one replies to: from the event when Discord sent it, else fetched."""
        ref = message.reference
        if ref is None or ref.message_id is None:
            return None
        if isinstance(ref.resolved, discord.Message):
            return ref.resolved
        if ref.channel_id != message.channel.id:
            return None
        try:
            return await message.channel.fetch_message(ref.message_id)
        except discord.HTTPException:  # deleted, or no Read Message History permission
            return None

    async def handle_dm(self, message: discord.Message) -> None:
        text = message.content
        lang = _lang_of(text)
        if not text.strip():
            await send_messages(message, render_notice(label("discord_usage_dm", lang)), reply=False)
            return
        notice = self.cooldown_notice(message.author.id, lang)
        if notice:
            await send_messages(message, render_notice(notice), reply=False)
            return
        key = _key(str(message.author.id))
        async with message.channel.typing():
            reply = await self.coach.handle(key, text)
        out = text_messages(escape_mentions(reply.text)) if reply.text.strip() else []
        if reply.review is not None:
            out += self.review_messages(reply.review, message.author.id, show_draft=False)
        await send_messages(message, out, reply=False)

    # ------------------------------------------------------------ interactions

    async def _on_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        log.error("application command failed", exc_info=error)
        draft = interaction.namespace.draft if interaction.command and interaction.command.name == "review" else None
        lang = _lang_of(draft, interaction.locale)
        await reply_private(interaction, render_notice(label("error_generic", lang), draft=draft))


class ChangesNote(discord.ui.Modal):
    """The note a request for changes carries."""

    def __init__(self, bot: CoachBot, approval_id: str, lang: str) -> None:
        super().__init__(title=label("changes_modal_title", lang)[:45], custom_id=f"cma-note:{approval_id}")
        self.bot, self.approval_id = bot, approval_id
        self.note: discord.ui.TextInput[Any] = discord.ui.TextInput(
            label=label("changes_modal_note", lang)[:45], style=discord.TextStyle.paragraph, max_length=2000)
        self.add_item(self.note)

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:  # type: ignore[override]
        await self.bot.settle(self.approval_id, CHANGES_STATE, str(self.note.value).strip() or None, interaction)


def add_commands(tree: app_commands.CommandTree[CoachBot]) -> None:
    """/review and the "Review draft" message menu."""
    platform_choices = [
        app_commands.Choice(name=_text("discord_platform_generic") if p == "generic" else spec(p).name,
                            value=p)
        for p in PLATFORMS
    ]

    @tree.command(name="review", description=_text("discord_cmd_review"))
    @app_commands.describe(
        draft=_text("discord_opt_draft"),
        context=_text("discord_opt_context"),
        platform=_text("discord_opt_platform"),
        private=_text("discord_opt_private"),
    )
    @app_commands.choices(platform=platform_choices)
    async def review(
        interaction: discord.Interaction[CoachBot],
        draft: app_commands.Range[str, 1, OPTION_MAX],
        context: app_commands.Range[str, 1, OPTION_MAX] | None = None,
        platform: app_commands.Choice[str] | None = None,
        private: bool = False,
    ) -> None:
        bot = interaction.client
        # Before the defer, nothing slow: the user's locale, not language detection.
        notice = bot.cooldown_notice(interaction.user.id, ui_language(str(interaction.locale)))
        if notice:
            await interaction.response.send_message(notice, ephemeral=True, allowed_mentions=NO_PINGS)
            return
        await interaction.response.defer(ephemeral=private, thinking=True)
        try:
            result = await bot.run_review(
                draft, context=context, platform=platform.value if platform else None,
                user=str(interaction.user.id), guild=interaction.guild_id, channel=interaction.channel_id,
            )
        except DraftError as exc:
            await send_followups(interaction, render_notice(str(exc), draft=draft), ephemeral=True)
            return
        messages = bot.review_messages(result, interaction.user.id, show_draft=True)
        await send_followups(interaction, messages, ephemeral=private)

    @tree.context_menu(name=_text("discord_menu_review"))
    async def review_message(interaction: discord.Interaction[CoachBot], message: discord.Message) -> None:
        bot = interaction.client
        draft = message.content
        lang = ui_language(str(interaction.locale))  # before the defer: nothing slow
        if not draft.strip():
            await reply_private(interaction, render_notice(label("discord_no_text", lang)))
            return
        notice = bot.cooldown_notice(interaction.user.id, lang)
        if notice:
            await reply_private(interaction, render_notice(notice))
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        parent = await bot.referenced(message) if message.channel is not None else None
        try:
            result = await bot.run_review(
                draft, context=parent.content if parent else None, platform=None,
                user=str(interaction.user.id),
                kind=OWN_DRAFT if message.author.id == interaction.user.id else PEER_DRAFT,
                guild=interaction.guild_id, channel=interaction.channel_id,
            )
        except DraftError as exc:
            await send_followups(interaction, render_notice(str(exc), draft=draft), ephemeral=True)
            return
        await send_followups(
            interaction, bot.review_messages(result, interaction.user.id, show_draft=False),
            ephemeral=True,
        )
