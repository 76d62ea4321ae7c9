"""Slack distribution: one app installed in many workspaces, each answered with its
own bot token.

With SLACK_CLIENT_ID and SLACK_CLIENT_SECRET, `serve slack --http` serves
/slack/install (a redirect to Slack's consent page, with a state) and
/slack/oauth_redirect (the code exchanged for the workspace's bot token with
oauth.v2.access). The installations and the OAuth states are kept in the
store's own database, in slack_sdk's SQLAlchemy tables beside ours, so that
every instance on that database knows every workspace, and an install begun on
one instance finishes on another. Bolt's authorize finds each request's token
there; the resumed work looks it up by workspace (`bot_token`).

slack_sdk's stores are synchronous: they run in a thread, on the store's engine,
under the store's lock (SQLite's one connection serves one caller at a time).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import MetaData, desc, select, text

from bot.store import Store
from bot.store.migrations import ADVISORY_LOCK_KEY

log = logging.getLogger("cm_coach.slack")

# The bot scopes of manifest.yml, asked for at install (tests/test_slack_manifest.py keeps them equal).
BOT_SCOPES: tuple[str, ...] = ("commands", "chat:write", "app_mentions:read", "im:history", "channels:history",
                               "groups:history", "mpim:history", "users:read", "channels:read", "groups:read",
                               "usergroups:read")
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
# How long an install may take between /slack/install and the redirect back.
STATE_SECONDS = 600

T = TypeVar("T")


def authorization_url(api: str) -> str:
    """Slack's consent page on the host of the Web API (slack.com, slack-gov.com, a local server)."""
    parts = urlsplit(api)
    return f"{parts.scheme}://{parts.netloc}/oauth/v2/authorize"


def create_tables(store: Store, *schemas: MetaData) -> None:
    """slack_sdk's tables, made once however many instances start together: under the
    migrations' advisory lock on PostgreSQL, SQLite's write lock otherwise."""
    with store.write_transaction() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
        for schema in schemas:
            schema.create_all(conn)


class _InStore:
    """Runs a synchronous call in a thread, under the store's lock."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def run(self, call: Callable[..., T], **kwargs: Any) -> T:
        def locked() -> T:
            with self.store.exclusive():
                return call(**kwargs)

        return await asyncio.to_thread(locked)


class SharedInstallationStore(AsyncInstallationStore):
    """slack_sdk's SQLAlchemy installation store on the store's database, for asyncio."""

    def __init__(self, store: Store, client_id: str) -> None:
        self.tables = SQLAlchemyInstallationStore(client_id=client_id, engine=store.engine, logger=log)
        self._in_store = _InStore(store)

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        await self._in_store.run(self.tables.save, installation=installation)

    async def async_save_bot(self, bot: Bot) -> None:
        await self._in_store.run(self.tables.save_bot, bot=bot)

    async def async_find_bot(self, *, enterprise_id: str | None, team_id: str | None,
                             is_enterprise_install: bool | None = False) -> Bot | None:
        return await self._in_store.run(self.tables.find_bot, enterprise_id=enterprise_id, team_id=team_id,
                                        is_enterprise_install=is_enterprise_install)

    async def async_find_installation(self, *, enterprise_id: str | None, team_id: str | None,
                                      user_id: str | None = None,
                                      is_enterprise_install: bool | None = False) -> Installation | None:
        return await self._in_store.run(self.tables.find_installation, enterprise_id=enterprise_id,
                                        team_id=team_id, user_id=user_id,
                                        is_enterprise_install=is_enterprise_install)

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self._in_store.run(self.tables.delete_bot, enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_installation(self, *, enterprise_id: str | None, team_id: str | None,
                                        user_id: str | None = None) -> None:
        await self._in_store.run(self.tables.delete_installation, enterprise_id=enterprise_id, team_id=team_id,
                                 user_id=user_id)

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self._in_store.run(self.tables.delete_all, enterprise_id=enterprise_id, team_id=team_id)

    async def bot_token(self, team_id: str) -> str | None:
        """The latest bot token installed in this workspace, whatever its Enterprise Grid
        organisation (work in the store names the workspace only); None when uninstalled."""
        bots = self.tables.bots
        query = (select(bots.c.bot_token)
                 .where(bots.c.client_id == self.tables.client_id, bots.c.team_id == team_id,
                        bots.c.bot_token.is_not(None))
                 .order_by(desc(bots.c.installed_at)).limit(1))

        def find() -> str | None:
            with self.tables.engine.connect() as conn:
                return conn.execute(query).scalar()

        return await self._in_store.run(find)


class SharedStateStore(AsyncOAuthStateStore):
    """OAuth states in the store's database: any instance can finish an install another
    began. A state is consumed by one DELETE, so that it is good exactly once even when
    two redirects race; expired states are cleared as new ones are issued."""

    def __init__(self, store: Store, expiration_seconds: int = STATE_SECONDS) -> None:
        self.tables = SQLAlchemyOAuthStateStore(expiration_seconds=expiration_seconds, engine=store.engine,
                                                logger=log)
        self._in_store = _InStore(store)

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        def issue() -> str:
            states = self.tables.oauth_states
            with self.tables.engine.begin() as conn:
                conn.execute(states.delete().where(states.c.expire_at <= _utc_now()))
            return self.tables.issue()

        return await self._in_store.run(issue)

    async def async_consume(self, state: str) -> bool:
        def consume() -> bool:
            states = self.tables.oauth_states
            with self.tables.engine.begin() as conn:
                gone = conn.execute(states.delete().where(states.c.state == state,
                                                          states.c.expire_at > _utc_now()))
                return gone.rowcount > 0

        try:
            return await self._in_store.run(consume)
        except Exception as exc:  # a state that cannot be checked is no state
            log.warning("could not check an OAuth state: %s", type(exc).__name__)
            return False


def _utc_now() -> datetime:
    # slack_sdk keeps naive UTC times (TIMESTAMP WITHOUT TIME ZONE).
    return datetime.now(tz=UTC).replace(tzinfo=None)


@dataclass
class SlackOAuth:
    """What OAuth mode needs: the app's credentials and the two stores."""

    client_id: str
    client_secret: str
    installations: SharedInstallationStore
    states: SharedStateStore
    redirect_uri: str | None = None

    def settings(self, api: str) -> AsyncOAuthSettings:
        """Bolt's OAuth flow: /slack/install redirects to Slack's consent page at once."""
        return AsyncOAuthSettings(
            client_id=self.client_id, client_secret=self.client_secret, scopes=list(BOT_SCOPES), user_scopes=[],
            redirect_uri=self.redirect_uri or None, install_path=INSTALL_PATH, redirect_uri_path=REDIRECT_PATH,
            install_page_rendering_enabled=False, authorization_url=authorization_url(api),
            installation_store=self.installations, installation_store_bot_only=True,
            state_store=self.states, state_expiration_seconds=STATE_SECONDS, logger=log,
        )

    def authorize(self, client: AsyncWebClient) -> AsyncInstallationStoreAuthorize:
        """Each request's bot token from its workspace's installation, read on every request
        (an uninstall takes effect at once); the auth.test behind it once per token."""
        return AsyncInstallationStoreAuthorize(
            logger=log, installation_store=self.installations, client_id=self.client_id,
            client_secret=self.client_secret, bot_only=True, cache_enabled=True, client=client,
        )

    async def bot_token(self, team_id: str) -> str | None:
        return await self.installations.bot_token(team_id)

    async def forget(self, enterprise_id: str | None, team_id: str | None) -> None:
        """Delete the workspace's installation: its bot token and its installer's row."""
        await self.installations.async_delete_all(enterprise_id=enterprise_id, team_id=team_id)


def open_oauth(store: Store, client_id: str, client_secret: str, redirect_uri: str | None = None) -> SlackOAuth:
    """The OAuth stores on `store`'s database, their tables made if missing."""
    installations = SharedInstallationStore(store, client_id)
    states = SharedStateStore(store)
    create_tables(store, installations.tables.metadata, states.tables.metadata)
    return SlackOAuth(client_id, client_secret, installations, states, redirect_uri)
