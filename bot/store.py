"""Persistence behind a narrow interface; SQLite by default.

Tables are created by numbered migrations (`MIGRATIONS`), applied once each and
recorded in `schema_version`; an applied migration is never edited, a change is
a new one appended. `Storage` lists every method the rest of the code may call,
so that another backend (PostgreSQL for several instances) can implement it.

Everything about a person is keyed by (platform, workspace, user): `forget`
deletes it from every table, `purge` erases drafts older than the retention.

Private by default: the data folder is 0700, the database and its -wal and
-shm files 0600. Text that cannot be encoded (a lone surrogate from a client)
is stored with U+FFFD in its place rather than failing the write. A
conversation carries a version, so that two instances on one database cannot
silently overwrite each other's turn (`ConflictError`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
import sqlite3
import stat
import threading
import time
from collections.abc import Iterator
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
    # 4: durable work: a request written before it is acked, taken by one worker, done once.
    """
    CREATE TABLE work (
        id TEXT PRIMARY KEY,
        platform TEXT NOT NULL,
        workspace TEXT NOT NULL,
        user TEXT NOT NULL,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,
        state TEXT NOT NULL,
        taken_by TEXT,
        taken_at REAL,
        attempts INTEGER NOT NULL DEFAULT 0,
        answer TEXT,
        created_at REAL NOT NULL,
        done_at REAL
    );
    CREATE INDEX work_by_state ON work (platform, state, created_at);
    CREATE INDEX work_by_user ON work (platform, workspace, user);
    """,
    # 5: conversation versions, for saves that must not overwrite another instance's turn;
    # rows already there become version 1, so that 0 always means "no row yet".
    """
    ALTER TABLE conversations ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
    UPDATE conversations SET version = 1;
    """,
]

# Tables whose rows belong to one person (forget deletes them all).
USER_TABLES: tuple[str, ...] = ("conversations", "reviews", "drill_progress", "audit", "kept_reviews", "work")

DIR_MODE = 0o700
FILE_MODE = 0o600
# SQLite's companions of the database file in WAL mode.
DB_SUFFIXES: tuple[str, ...] = ("", "-wal", "-shm")

log = logging.getLogger(__name__)
# Code points UTF-8 cannot encode (half of a UTF-16 pair): SQLite refuses them.
_SURROGATE = re.compile("[\ud800-\udfff]")
# umask is process-wide: two stores opening at once must not restore each other's value.
_UMASK_LOCK = threading.Lock()


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


def _who(key: UserKey) -> tuple[str, str, str]:
    return (_valid(str(key.platform)), _valid(str(key.workspace)), _valid(str(key.user)))


def _valid(text: str) -> str:
    """Text SQLite can store: code points UTF-8 cannot encode (lone surrogates) become U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def _json(value: Any) -> str:
    return _valid(json.dumps(value, ensure_ascii=False))


@contextlib.contextmanager
def _private_umask() -> Iterator[None]:
    """Files created inside are born 0600 (directories 0700); the previous umask comes back after."""
    with _UMASK_LOCK:
        previous = os.umask(0o077)
        try:
            yield
        finally:
            os.umask(previous)


def _tighten(path: Path, mode: int) -> None:
    """chmod to `mode` when looser; a file of another user is left as it is, with a warning."""
    try:
        current = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if current & ~mode:
        try:
            path.chmod(mode)
        except PermissionError:
            log.warning("cannot make %s private (mode %o): it belongs to another user", path, current)


def private_dir(path: str | Path) -> Path:
    """The data folder, created 0700, or tightened to 0700 when it exists and is ours."""
    folder = Path(path)
    if not folder.exists():
        folder.parent.mkdir(parents=True, exist_ok=True)
        folder.mkdir(mode=DIR_MODE, exist_ok=True)
        folder.chmod(DIR_MODE)  # mkdir's mode went through the umask
    elif hasattr(os, "getuid") and folder.stat().st_uid == os.getuid():
        _tighten(folder, DIR_MODE)
    return folder


_WHERE_USER = "platform = ? AND workspace = ? AND user = ?"


class Store:
    """SQLite store: one file under the data directory, WAL mode."""

    def __init__(self, path: str | Path, retention_days: int = 90) -> None:
        self.path = str(path)
        self.retention_days = retention_days
        on_disk = self.path != ":memory:"
        if on_disk and not Path(self.path).parent.exists():
            private_dir(Path(self.path).parent)
        self._lock = threading.RLock()
        if on_disk:
            self._tighten_files()
            # Born private: SQLite gives the -wal and -shm files it creates later the database's mode.
            with _private_umask():
                self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
                self._db.execute("PRAGMA journal_mode=WAL")
                # In WAL mode NORMAL survives a killed process (the WAL is in the OS
                # before a commit returns) and spares an fsync per commit: work is
                # written before each ack, so a burst of acks would queue behind them.
                self._db.execute("PRAGMA synchronous=NORMAL")
            self._tighten_files()
        else:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._migrate()

    @classmethod
    def in_data_dir(cls, data_dir: str | Path, retention_days: int = 90) -> Store:
        return cls(private_dir(data_dir) / "cm-coach.sqlite3", retention_days=retention_days)

    def _tighten_files(self) -> None:
        for suffix in DB_SUFFIXES:
            _tighten(Path(self.path + suffix), FILE_MODE)

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
                (_valid(platform), _valid(event_id), time.time()),
            )
            return cur.rowcount == 1

    # -- conversations -----------------------------------------------------

    def load_conversation(self, key: UserKey) -> dict[str, Any] | None:
        return self.load_conversation_versioned(key)[0]

    def load_conversation_versioned(self, key: UserKey) -> tuple[dict[str, Any] | None, int]:
        """(state, version); version 0 when there is no row yet. A damaged row gives no
        state but keeps its version, so that a fresh state can replace it."""
        with self._lock:
            row = self._db.execute(
                f"SELECT state, version FROM conversations WHERE {_WHERE_USER}", _who(key)
            ).fetchone()
        if row is None:
            return None, 0
        try:
            state = json.loads(row[0])
        except ValueError:  # a damaged row must not lock the user out: start afresh
            return None, int(row[1])
        return (state if isinstance(state, dict) else None), int(row[1])

    def save_conversation(self, key: UserKey, state: dict[str, Any], now: float | None = None,
                          expected_version: int | None = None) -> None:
        """Save the state; with `expected_version` (from load_conversation_versioned), only
        if nobody saved it since, else ConflictError. Without it, the last writer wins."""
        values = (_json(state), _now(now), *_who(key))
        with self._lock:
            if expected_version is None:
                self._db.execute(
                    "INSERT INTO conversations (state, updated_at, platform, workspace, user, version) "
                    "VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT (platform, workspace, user) "
                    "DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at, "
                    "version = conversations.version + 1",
                    values,
                )
                return
            if expected_version <= 0:  # there was no row: another instance's first save wins
                try:
                    self._db.execute(
                        "INSERT INTO conversations (state, updated_at, platform, workspace, user, version) "
                        "VALUES (?, ?, ?, ?, ?, 1)",
                        values,
                    )
                except sqlite3.IntegrityError as exc:
                    raise ConflictError("the conversation was started meanwhile") from exc
                return
            # A row deleted meanwhile (forget, purge) is a conflict too: never bring it back.
            changed = self._db.execute(
                "UPDATE conversations SET state = ?, updated_at = ?, version = version + 1 "
                f"WHERE {_WHERE_USER} AND version = ?",
                (*values, int(expected_version)),
            ).rowcount
            if changed != 1:
                raise ConflictError("the conversation changed meanwhile")

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
                    *_who(key), _valid(str(record.get("kind", "draft"))), _valid(str(record.get("draft", ""))),
                    None if record.get("context") is None else _valid(str(record["context"])),
                    _valid(str(record.get("language", "und"))),
                    _valid(str(record["verdict"])), int(record["risk"]),
                    _json(list(record.get("categories", []))),
                    _json(dict(record.get("scores", {}))), _now(now),
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
                (*_who(key), _valid(case_id), int(score), int(score), _now(now)),
            )
        return self.drill_progress(key)[_valid(case_id)]

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
                (*_who(key), _valid(action), _valid(detail), _now(now)),
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
                (review_id, *_who(key), _json(review), _now(now)),
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

    # -- durable work ------------------------------------------------------

    def submit_work(self, platform: str, key: UserKey, kind: str, payload: dict[str, Any],
                    event_id: str | None = None, now: float | None = None) -> str | None:
        """Write a request before it is acked; its id, or None when `event_id` was
        already recorded (a retry: the first delivery's work answers it).

        The event id and the work are one transaction, so a crash between them
        can neither drop the work of a recorded event nor answer an event twice.
        """
        work_id = "w" + secrets.token_hex(10)
        at = _now(now)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                if event_id is not None:
                    first = self._db.execute(
                        "INSERT OR IGNORE INTO processed_events (platform, event_id, seen_at) VALUES (?, ?, ?)",
                        (platform, event_id, at),
                    ).rowcount == 1
                    if not first:
                        self._db.execute("ROLLBACK")
                        return None
                self._db.execute(
                    "INSERT INTO work (id, platform, workspace, user, kind, payload, state, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)",
                    (work_id, platform, *_who(key)[1:], kind, _json(payload), at),
                )
                self._db.execute("COMMIT")
            except Exception:
                self._db.execute("ROLLBACK")
                raise
        return work_id

    def claim_work(self, work_id: str, worker: str, now: float | None = None) -> dict[str, Any] | None:
        """Take pending work for `worker`; None when another worker has it or it is done."""
        with self._lock:
            taken = self._db.execute(
                "UPDATE work SET state = 'taken', taken_by = ?, taken_at = ?, attempts = attempts + 1 "
                "WHERE id = ? AND state = 'pending'",
                (worker, _now(now), work_id),
            ).rowcount == 1
            if not taken:
                return None
            row = self._db.execute(
                "SELECT id, platform, workspace, user, kind, payload, attempts, created_at FROM work WHERE id = ?",
                (work_id,),
            ).fetchone()
        return {"id": row[0], "platform": row[1], "workspace": row[2], "user": row[3], "kind": row[4],
                "payload": json.loads(row[5]), "attempts": row[6], "created_at": row[7]}

    def finish_work(self, work_id: str, answer: str, now: float | None = None) -> None:
        """Mark work done with the id of its answer (a message ts, a response_url status)."""
        with self._lock:
            self._db.execute("UPDATE work SET state = 'done', answer = ?, done_at = ?, payload = '{}' WHERE id = ?",
                             (answer, _now(now), work_id))

    def release_work(self, platform: str, stale: list[str], lease: float, now: float | None = None) -> int:
        """Put back taken work whose worker is gone (`stale`) or whose lease ran out."""
        cutoff = _now(now) - lease
        marks = ", ".join("?" * len(stale)) or "NULL"
        with self._lock:
            return self._db.execute(
                f"UPDATE work SET state = 'pending' WHERE platform = ? AND state = 'taken' "
                f"AND (taken_at < ? OR taken_by IN ({marks}))",
                (platform, cutoff, *stale),
            ).rowcount

    def pending_work(self, platform: str, since: float = 0.0) -> list[dict[str, Any]]:
        """Work not yet taken, oldest first, and who holds taken work (id, state, taken_by)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, state, taken_by, created_at FROM work WHERE platform = ? AND state != 'done' "
                "AND created_at >= ? ORDER BY created_at", (platform, since),
            ).fetchall()
        return [{"id": r[0], "state": r[1], "taken_by": r[2], "created_at": r[3]} for r in rows]

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
                # Done work keeps no draft (finish_work empties it); unfinished work
                # older than the retention can no longer be answered.
                changed += self._db.execute(
                    "DELETE FROM work WHERE created_at < ? OR (state = 'done' AND done_at < ?)",
                    (cutoff, _now(now) - 86_400),
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
