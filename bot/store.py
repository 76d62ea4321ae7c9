"""Persistence behind a narrow interface; SQLite by default.

Tables are created by numbered migrations (`MIGRATIONS`), applied once each and
recorded in `schema_version`; an applied migration is never edited, a change is
a new one appended. `Storage` lists every method the rest of the code may call,
so that another backend (PostgreSQL for several instances) can implement it.

Everything about a person is keyed by (platform, workspace, user): `forget`
deletes it from every table, `purge` erases drafts older than the retention.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Protocol

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
    # 2: coaching: conversation state, reviews, drill progress, audit trail.
    """
    CREATE TABLE conversations (
        platform TEXT NOT NULL,
        workspace TEXT NOT NULL,
        user TEXT NOT NULL,
        state TEXT NOT NULL,
        updated_at REAL NOT NULL,
        PRIMARY KEY (platform, workspace, user)
    );
    CREATE TABLE reviews (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        platform TEXT NOT NULL,
        workspace TEXT NOT NULL,
        user TEXT NOT NULL,
        kind TEXT NOT NULL,
        draft TEXT NOT NULL,
        context TEXT,
        language TEXT NOT NULL,
        verdict TEXT NOT NULL,
        risk INTEGER NOT NULL,
        categories TEXT NOT NULL,
        scores TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE INDEX reviews_by_user ON reviews (platform, workspace, user, created_at);
    CREATE INDEX reviews_by_age ON reviews (created_at);
    CREATE TABLE drill_progress (
        platform TEXT NOT NULL,
        workspace TEXT NOT NULL,
        user TEXT NOT NULL,
        case_id TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        best_score INTEGER NOT NULL,
        last_score INTEGER NOT NULL,
        updated_at REAL NOT NULL,
        PRIMARY KEY (platform, workspace, user, case_id)
    );
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        platform TEXT NOT NULL,
        workspace TEXT NOT NULL,
        user TEXT NOT NULL,
        action TEXT NOT NULL,
        detail TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE INDEX audit_by_user ON audit (platform, workspace, user);
    """,
    # 3: whole reviews kept for the buttons under them (rewrites included), by a short id.
    """
    CREATE TABLE kept_reviews (
        id TEXT PRIMARY KEY,
        platform TEXT NOT NULL,
        workspace TEXT NOT NULL,
        user TEXT NOT NULL,
        review TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE INDEX kept_reviews_by_user ON kept_reviews (platform, workspace, user);
    CREATE INDEX kept_reviews_by_age ON kept_reviews (created_at);
    """,
]

# Tables whose rows belong to one person (forget deletes them all).
USER_TABLES: tuple[str, ...] = ("conversations", "reviews", "drill_progress", "audit", "kept_reviews")


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
    def save_conversation(self, key: UserKey, state: dict[str, Any], now: float | None = None) -> None: ...
    def add_review(self, key: UserKey, record: dict[str, Any], now: float | None = None) -> int: ...
    def reviews(self, key: UserKey) -> list[dict[str, Any]]: ...
    def record_drill(self, key: UserKey, case_id: str, score: int, now: float | None = None) -> dict[str, Any]: ...
    def drill_progress(self, key: UserKey) -> dict[str, dict[str, Any]]: ...
    def audit(self, key: UserKey, action: str, detail: str, now: float | None = None) -> None: ...
    def audit_trail(self, key: UserKey) -> list[dict[str, Any]]: ...
    def keep_review(self, key: UserKey, review: dict[str, Any], now: float | None = None) -> str: ...
    def kept_review(self, review_id: str, now: float | None = None) -> tuple[tuple[str, str, str], dict[str, Any]] | None: ...
    def purge(self, now: float | None = None) -> int: ...
    def forget(self, key: UserKey) -> int: ...
    def close(self) -> None: ...


def _who(key: UserKey) -> tuple[str, str, str]:
    return (str(key.platform), str(key.workspace), str(key.user))


_WHERE_USER = "platform = ? AND workspace = ? AND user = ?"


class Store:
    """SQLite store: one file under the data directory, WAL mode."""

    def __init__(self, path: str | Path, retention_days: int = 90) -> None:
        self.path = str(path)
        self.retention_days = retention_days
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
    def in_data_dir(cls, data_dir: str | Path, retention_days: int = 90) -> Store:
        return cls(Path(data_dir) / "cm-coach.sqlite3", retention_days=retention_days)

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

    def tables(self) -> list[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            ).fetchall()
        return sorted(r[0] for r in rows)

    # -- platform events ---------------------------------------------------

    def mark_event(self, platform: str, event_id: str) -> bool:
        """Record an event id; True the first time it is seen, False for a retry."""
        with self._lock:
            cur = self._db.execute(
                "INSERT OR IGNORE INTO processed_events (platform, event_id, seen_at) VALUES (?, ?, ?)",
                (platform, event_id, time.time()),
            )
            return cur.rowcount == 1

    # -- conversations -----------------------------------------------------

    def load_conversation(self, key: UserKey) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT state FROM conversations WHERE {_WHERE_USER}", _who(key)
            ).fetchone()
        if row is None:
            return None
        try:
            state = json.loads(row[0])
        except ValueError:  # a damaged row must not lock the user out: start afresh
            return None
        return state if isinstance(state, dict) else None

    def save_conversation(self, key: UserKey, state: dict[str, Any], now: float | None = None) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO conversations (platform, workspace, user, state, updated_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (platform, workspace, user) "
                "DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
                (*_who(key), json.dumps(state, ensure_ascii=False), _now(now)),
            )

    # -- reviews -----------------------------------------------------------

    def add_review(self, key: UserKey, record: dict[str, Any], now: float | None = None) -> int:
        """Keep one review: draft, context, verdict, risk, categories, scores.

        `record` keys: kind, draft, context, language, verdict, risk,
        categories (list of ids), scores ({rule: 0-10}).
        """
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO reviews (platform, workspace, user, kind, draft, context, language, "
                "verdict, risk, categories, scores, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    *_who(key), str(record.get("kind", "draft")), str(record.get("draft", "")),
                    record.get("context"), str(record.get("language", "und")),
                    str(record["verdict"]), int(record["risk"]),
                    json.dumps(list(record.get("categories", []))),
                    json.dumps(dict(record.get("scores", {}))), _now(now),
                ),
            )
            return int(cur.lastrowid or 0)

    def reviews(self, key: UserKey) -> list[dict[str, Any]]:
        """The user's reviews, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, kind, draft, context, language, verdict, risk, categories, scores, "
                f"created_at FROM reviews WHERE {_WHERE_USER} ORDER BY created_at, id",
                _who(key),
            ).fetchall()
        return [
            {"id": r[0], "kind": r[1], "draft": r[2], "context": r[3], "language": r[4],
             "verdict": r[5], "risk": r[6], "categories": json.loads(r[7]),
             "scores": json.loads(r[8]), "created_at": r[9]}
            for r in rows
        ]

    # -- drills ------------------------------------------------------------

    def record_drill(self, key: UserKey, case_id: str, score: int, now: float | None = None) -> dict[str, Any]:
        """Count one attempt at a drill case; returns the case's progress."""
        with self._lock:
            self._db.execute(
                "INSERT INTO drill_progress (platform, workspace, user, case_id, attempts, best_score, "
                "last_score, updated_at) VALUES (?, ?, ?, ?, 1, ?, ?, ?) "
                "ON CONFLICT (platform, workspace, user, case_id) DO UPDATE SET "
                "attempts = attempts + 1, best_score = MAX(best_score, excluded.best_score), "
                "last_score = excluded.last_score, updated_at = excluded.updated_at",
                (*_who(key), case_id, int(score), int(score), _now(now)),
            )
        return self.drill_progress(key)[case_id]

    def drill_progress(self, key: UserKey) -> dict[str, dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT case_id, attempts, best_score, last_score, updated_at FROM drill_progress "
                f"WHERE {_WHERE_USER} ORDER BY updated_at",
                _who(key),
            ).fetchall()
        return {
            r[0]: {"attempts": r[1], "best_score": r[2], "last_score": r[3], "updated_at": r[4]}
            for r in rows
        }

    # -- audit trail -------------------------------------------------------

    def audit(self, key: UserKey, action: str, detail: str, now: float | None = None) -> None:
        """Who did what and when; `detail` never holds the draft itself."""
        with self._lock:
            self._db.execute(
                "INSERT INTO audit (platform, workspace, user, action, detail, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (*_who(key), action, detail, _now(now)),
            )

    def audit_trail(self, key: UserKey) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT action, detail, created_at FROM audit WHERE {_WHERE_USER} ORDER BY id",
                _who(key),
            ).fetchall()
        return [{"action": r[0], "detail": r[1], "created_at": r[2]} for r in rows]

    # -- whole reviews, for buttons that must work after a restart ------------

    def keep_review(self, key: UserKey, review: dict[str, Any], now: float | None = None) -> str:
        """Keep a whole review (JSON of the contract); returns the short id a button carries."""
        review_id = secrets.token_hex(6)
        with self._lock:
            self._db.execute(
                "INSERT INTO kept_reviews (id, platform, workspace, user, review, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (review_id, *_who(key), json.dumps(review, ensure_ascii=False), _now(now)),
            )
        return review_id

    def kept_review(
        self, review_id: str, now: float | None = None
    ) -> tuple[tuple[str, str, str], dict[str, Any]] | None:
        """((platform, workspace, user), review), or None when unknown or past the retention."""
        with self._lock:
            row = self._db.execute(
                "SELECT platform, workspace, user, review, created_at FROM kept_reviews WHERE id = ?",
                (review_id,),
            ).fetchone()
        if row is None:
            return None
        if self.retention_days > 0 and row[4] < _now(now) - self.retention_days * 86_400:
            return None
        return (row[0], row[1], row[2]), json.loads(row[3])

    # -- retention and erasure ---------------------------------------------

    def purge(self, now: float | None = None) -> int:
        """Erase drafts older than the retention; returns how many rows changed.

        Old reviews keep their verdict and scores (the user's stats) but lose
        the draft and the customer's message; idle conversations and old event
        ids are deleted. retention_days <= 0 keeps everything.
        """
        if self.retention_days <= 0:
            return 0
        cutoff = _now(now) - self.retention_days * 86_400
        with self._lock:
            self._db.execute("BEGIN")
            try:
                changed = self._db.execute(
                    "UPDATE reviews SET draft = '', context = NULL "
                    "WHERE created_at < ? AND (draft != '' OR context IS NOT NULL)",
                    (cutoff,),
                ).rowcount
                changed += self._db.execute(
                    "DELETE FROM conversations WHERE updated_at < ?", (cutoff,)
                ).rowcount
                changed += self._db.execute(
                    "DELETE FROM processed_events WHERE seen_at < ?", (cutoff,)
                ).rowcount
                changed += self._db.execute(
                    "DELETE FROM kept_reviews WHERE created_at < ?", (cutoff,)
                ).rowcount
                self._db.execute("COMMIT")
            except Exception:
                self._db.execute("ROLLBACK")
                raise
        return changed

    def forget(self, key: UserKey) -> int:
        """Delete every row about this user, in every table; returns the count."""
        deleted = 0
        with self._lock:
            self._db.execute("BEGIN")
            try:
                for table in USER_TABLES:
                    deleted += self._db.execute(
                        f"DELETE FROM {table} WHERE {_WHERE_USER}", _who(key)
                    ).rowcount
                self._db.execute("COMMIT")
            except Exception:
                self._db.execute("ROLLBACK")
                raise
        return deleted

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _now(now: float | None) -> float:
    return time.time() if now is None else float(now)


def _split(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]
