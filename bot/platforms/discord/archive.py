"""Reviews kept for their buttons: a button's custom_id names a review here.

Buttons must keep working after a restart, and a custom_id holds at most 100
characters, so the review itself (rewrites included) is kept in a small SQLite
table next to the main store, and deleted after the store's retention period.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from pathlib import Path

from bot.review.models import Review

_SCHEMA = """
CREATE TABLE IF NOT EXISTS discord_reviews (
    key TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    review TEXT NOT NULL,
    created_at REAL NOT NULL
)
"""


class ReviewArchive:
    """Review JSON by short random key; one SQLite file, safe across threads."""

    def __init__(self, path: str | Path, retention_days: int = 90) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # 0 keeps everything, as for the main store.
        self.retention_seconds = retention_days * 86_400 if retention_days > 0 else float("inf")
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        if self.path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.execute(_SCHEMA)

    @classmethod
    def in_data_dir(cls, data_dir: str | Path, retention_days: int = 90) -> ReviewArchive:
        return cls(Path(data_dir) / "discord-reviews.sqlite3", retention_days)

    def save(self, owner: str, review: Review, now: float | None = None) -> str:
        """Keep a review; returns the key its buttons carry."""
        key = secrets.token_hex(6)
        now = time.time() if now is None else now
        data = json.dumps(review.to_dict(), ensure_ascii=False)
        with self._lock:
            self._db.execute(
                "INSERT INTO discord_reviews (key, owner, review, created_at) VALUES (?, ?, ?, ?)",
                (key, owner, data, now),
            )
            self._db.execute(
                "DELETE FROM discord_reviews WHERE created_at < ?", (now - self.retention_seconds,)
            )
        return key

    def load(self, key: str) -> tuple[str, Review] | None:
        """(owner, review), or None when the key is unknown or expired."""
        with self._lock:
            row = self._db.execute(
                "SELECT owner, review, created_at FROM discord_reviews WHERE key = ?", (key,)
            ).fetchone()
        if row is None or row[2] < time.time() - self.retention_seconds:
            return None
        return row[0], Review.from_dict(json.loads(row[1]))

    def forget(self, owner: str) -> int:
        """Delete everything kept for one user."""
        with self._lock:
            return self._db.execute("DELETE FROM discord_reviews WHERE owner = ?", (owner,)).rowcount

    def close(self) -> None:
        with self._lock:
            self._db.close()
