"""Persistence behind a narrow interface; SQLite by default.

Tables are created by numbered migrations (`MIGRATIONS`), applied once each and
recorded in `schema_version`. Keep the interface small enough that another
backend (PostgreSQL for several instances) can implement it.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

MIGRATIONS: list[str] = [
    # 1: processed platform events, so that a retried delivery is answered once.
    """
    CREATE TABLE processed_events (
        platform TEXT NOT NULL,
        event_id TEXT NOT NULL,
        seen_at REAL NOT NULL,
        PRIMARY KEY (platform, event_id)
    );
    """,
]


class Store:
    """SQLite store: one file under the data directory, WAL mode."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA foreign_keys=ON")
        if self.path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._migrate()

    @classmethod
    def in_data_dir(cls, data_dir: str | Path) -> Store:
        return cls(Path(data_dir) / "cm-coach.sqlite3")

    def _migrate(self) -> None:
        with self._lock:
            self._db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = self._db.execute("SELECT MAX(version) FROM schema_version").fetchone()
            current = row[0] or 0
            for number, sql in enumerate(MIGRATIONS, start=1):
                if number <= current:
                    continue
                self._db.execute("BEGIN")
                try:
                    for statement in _split(sql):
                        self._db.execute(statement)
                    self._db.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))
                    self._db.execute("COMMIT")
                except Exception:
                    self._db.execute("ROLLBACK")
                    raise

    @property
    def schema_version(self) -> int:
        with self._lock:
            return self._db.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] or 0

    def mark_event(self, platform: str, event_id: str) -> bool:
        """Record an event id; True the first time it is seen, False for a retry."""
        with self._lock:
            cur = self._db.execute(
                "INSERT OR IGNORE INTO processed_events (platform, event_id, seen_at) VALUES (?, ?, ?)",
                (platform, event_id, time.time()),
            )
            return cur.rowcount == 1

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _split(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]
