"""The services every surface shares, opened once: the settings, the store, the
reviewer and the coach. Retention is applied when they open and then once a
day for as long as a server runs, whichever surface it serves.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.coach import Coach
from bot.review.reviewer import Reviewer

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.store import Storage

log = logging.getLogger("cm_coach.app")

DAY_SECONDS = 86_400.0


class StoreUnavailable(Exception):
    """The data folder cannot be opened; the message says what to change."""


def open_store(settings: Settings) -> Storage:
    """The store the settings name; StoreUnavailable with what to change otherwise."""
    from bot.store import open_store as open_by_url

    try:
        return open_by_url(settings.store.url, settings.data_dir, retention_days=settings.store.retention_days)
    except Exception as exc:  # an unwritable data folder, a database out of reach
        if settings.store.url.strip():
            from bot.logsafe import redact

            raise StoreUnavailable(f"cannot open the store at {redact(settings.store.url)} "
                                   f"({redact(str(exc))}); check store.url (or CM_COACH_STORE_URL) and "
                                   "that the database answers") from exc
        raise StoreUnavailable(f"cannot open the store in {settings.data_dir} ({exc}); set store.data_dir "
                               "(or CM_COACH_STORE_DATA_DIR) to a writable folder") from exc


@dataclass
class Services:
    settings: Settings
    store: Storage
    reviewer: Reviewer
    coach: Coach

    @classmethod
    def open(cls, settings: Settings, *, store: Storage | None = None, reviewer: Reviewer | None = None,
             coach: Coach | None = None, purge: bool = True) -> Services:
        """Open what is not given; with `purge`, apply the retention now."""
        store = store if store is not None else open_store(settings)
        reviewer = reviewer or Reviewer(settings)
        services = cls(settings, store, reviewer, coach or Coach(reviewer, store))
        if purge:
            services.apply_retention()
        return services

    def apply_retention(self) -> int:
        """Erase what is past `store.retention_days`; the number of rows changed."""
        try:
            changed = self.store.purge()
        except Exception as exc:  # the next day tries again; serving goes on
            log.warning("retention could not be applied: %s", type(exc).__name__)
            return 0
        if changed:
            log.info("retention: %d row(s) past %d days erased", changed, self.store.retention_days)
        return changed

    async def keep_applying_retention(self, every: float = DAY_SECONDS) -> None:
        """Apply the retention every `every` seconds until cancelled (start it as a task)."""
        while True:
            await asyncio.sleep(every)
            await asyncio.to_thread(self.apply_retention)

    def close(self) -> None:
        self.store.close()
