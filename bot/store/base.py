"""What every backend shares: the `Storage` interface, who a row is about, and the
text a database can store."""

from __future__ import annotations

import json
import re
import time
from typing import Any, Protocol

# Tables whose rows belong to one person (forget deletes them all).
USER_TABLES: tuple[str, ...] = ("conversations", "reviews", "drill_progress", "audit", "kept_reviews", "work")

# Code points UTF-8 cannot encode (half of a UTF-16 pair): SQLite and PostgreSQL refuse
# them; and NUL, which PostgreSQL refuses in text.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class ConflictError(Exception):
    """The conversation changed since it was loaded (another instance saved a turn)."""


class UserKey(Protocol):
    """Who a row is about; bot.coach.ConversationKey is one."""

    @property
    def platform(self) -> str: ...
    @property
    def workspace(self) -> str: ...
    @property
    def user(self) -> str: ...


class Storage(Protocol):
    """What the bot needs from persistence; every backend implements this."""

    retention_days: int

    def mark_event(self, platform: str, event_id: str) -> bool: ...
    def load_conversation(self, key: UserKey) -> dict[str, Any] | None: ...
    def load_conversation_versioned(self, key: UserKey) -> tuple[dict[str, Any] | None, int]: ...
    def save_conversation(self, key: UserKey, state: dict[str, Any], now: float | None = None,
                          expected_version: int | None = None) -> None: ...
    def add_review(self, key: UserKey, record: dict[str, Any], now: float | None = None) -> int: ...
    def reviews(self, key: UserKey) -> list[dict[str, Any]]: ...
    def record_drill(self, key: UserKey, case_id: str, score: int, now: float | None = None) -> dict[str, Any]: ...
    def drill_progress(self, key: UserKey) -> dict[str, dict[str, Any]]: ...
    def audit(self, key: UserKey, action: str, detail: str, now: float | None = None) -> None: ...
    def audit_trail(self, key: UserKey) -> list[dict[str, Any]]: ...
    def keep_review(self, key: UserKey, review: dict[str, Any], now: float | None = None) -> str: ...
    def kept_review(self, review_id: str, now: float | None = None) -> tuple[tuple[str, str, str], dict[str, Any]] | None: ...
    def submit_work(self, platform: str, key: UserKey, kind: str, payload: dict[str, Any],
                    event_id: str | None = None, now: float | None = None) -> str | None: ...
    def claim_work(self, work_id: str, worker: str, now: float | None = None) -> dict[str, Any] | None: ...
    def finish_work(self, work_id: str, answer: str, now: float | None = None) -> None: ...
    def release_work(self, platform: str, stale: list[str], lease: float, now: float | None = None) -> int: ...
    def pending_work(self, platform: str, since: float = 0.0) -> list[dict[str, Any]]: ...
    def purge(self, now: float | None = None) -> int: ...
    def forget(self, key: UserKey) -> int: ...
    def close(self) -> None: ...


def valid(text: str) -> str:
    """Text every backend can store: lone surrogates and NUL become U+FFFD."""
    return _UNSTORABLE.sub("\ufffd", text)


def who(key: UserKey) -> tuple[str, str, str]:
    return (valid(str(key.platform)), valid(str(key.workspace)), valid(str(key.user)))


def as_json(value: Any) -> str:
    return valid(json.dumps(value, ensure_ascii=False))


def now_or(now: float | None) -> float:
    return time.time() if now is None else float(now)
