"""The store itself: one class, one code path through SQLAlchemy Core, for SQLite
(one private file, WAL mode) and PostgreSQL (several instances on one database).

The statements are in bot/store/queries.py. What differs between the databases
is how they are reached: a SQLite store keeps one connection and serialises its
calls on it, its driver in autocommit so that the store begins each transaction
itself (writes with `BEGIN IMMEDIATE`); a PostgreSQL store draws connections
from a pool, one transaction per call.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from bot.store.base import ConflictError, Storage, UserKey, as_json, now_or, valid, who
from bot.store.files import private_dir, private_umask, tighten_database
from bot.store.migrations import current_version, migrate
from bot.store.queries import person, queries
from bot.store.team import PENDING, team_queries

DATABASE_NAME = "cm-coach.sqlite3"
POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")
SQLITE_SCHEMES = ("sqlite", "sqlite+pysqlite")
# Execution option of a connection whose transaction writes (SQLite begins it IMMEDIATE).
_WRITE = "cm_coach_write"
# An INSERT ... ON CONFLICT DO NOTHING tells whether it wrote by its rowcount, which
# SQLAlchemy keeps for UPDATE and DELETE only unless asked.
_OPTIONS = {"preserve_rowcount": True}


def parse_url(url: str) -> tuple[str, URL]:
    """("sqlite", URL) or ("postgresql", URL naming the psycopg driver); ValueError for
    anything else. The error never shows the password."""
    scheme = url.partition("://")[0].strip().lower()
    try:
        parsed = make_url(url.strip())
    except ArgumentError as exc:
        raise ValueError("store.url is not a database URL; expected sqlite:///PATH or "
                         "postgresql://USER:PASSWORD@HOST:PORT/DATABASE") from exc
    if scheme in SQLITE_SCHEMES:
        return "sqlite", parsed
    if scheme in POSTGRES_SCHEMES:
        return "postgresql", parsed.set(drivername="postgresql+psycopg")
    raise ValueError(f"store.url: unsupported database {scheme!r} in "
                     f"{parsed.render_as_string(hide_password=True)}; expected sqlite:///PATH or "
                     "postgresql://USER:PASSWORD@HOST:PORT/DATABASE")


def sqlite_path(parsed: URL) -> str:
    """The file a sqlite:// URL names; sqlite:// alone is a database in memory."""
    database = parsed.database or ":memory:"
    return database if database == ":memory:" else str(Path(database).expanduser())


def open_store(url: str | None, data_dir: str | Path, retention_days: int = 90) -> Storage:
    """The store `url` names; empty: the SQLite file in `data_dir`, as always."""
    if not url or not url.strip():
        return Store.in_data_dir(data_dir, retention_days=retention_days)
    return Store(url=url, retention_days=retention_days)


def _begin_sqlite(conn: Connection) -> None:
    # A write takes the write lock at once: two instances never both hold a read lock
    # they then cannot upgrade; busy_timeout makes the second one wait. Sent to the
    # driver directly: this runs for every call.
    driver = cast(sqlite3.Connection, conn.connection.driver_connection)
    driver.execute("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")


class Store:
    """SQLite (`Store(path)`, one file under the data directory, WAL mode) or any
    supported database by URL (`Store(url=...)`)."""

    def __init__(self, path: str | Path | None = None, retention_days: int = 90, *,
                 url: str | None = None) -> None:
        if (path is None) == (url is None):
            raise TypeError("Store needs a path or a url, not both")
        self.retention_days = retention_days
        self._raw: sqlite3.Connection | None = None
        self._conn: Connection | None = None
        if url is not None:
            self.dialect, parsed = parse_url(url)
            if self.dialect == "sqlite":
                path = sqlite_path(parsed)
        self._lock: contextlib.AbstractContextManager[Any]
        if path is not None:
            self.dialect = "sqlite"
            self.path = str(path)
            self.url = "sqlite://" if self.path == ":memory:" else f"sqlite:///{self.path}"
            # One connection, so one caller at a time, as SQLite itself would have it.
            self._lock = threading.RLock()
            self._engine = self._open_sqlite()
        else:
            self.path = ""
            self.url = parsed.render_as_string(hide_password=True)
            self._lock = contextlib.nullcontext()
            defaults = {"application_name": "cm-coach", "connect_timeout": 10}
            self._engine = create_engine(
                parsed, pool_pre_ping=True, execution_options=_OPTIONS,
                connect_args={k: v for k, v in defaults.items() if k not in parsed.query},
            )
        self._q = queries(self.dialect)
        self._t = team_queries(self.dialect)
        try:
            with self._write() as conn:
                migrate(conn)
        except BaseException:
            self.close()
            raise

    @classmethod
    def in_data_dir(cls, data_dir: str | Path, retention_days: int = 90) -> Store:
        return cls(private_dir(data_dir) / DATABASE_NAME, retention_days=retention_days)

    # -- connections and transactions ----------------------------------------

    def _open_sqlite(self) -> Engine:
        on_disk = self.path != ":memory:"
        if on_disk and not Path(self.path).parent.exists():
            private_dir(Path(self.path).parent)
        if on_disk:
            tighten_database(self.path)
        engine = create_engine("sqlite://", creator=self._connect_sqlite, poolclass=StaticPool,
                               execution_options=_OPTIONS)
        event.listen(engine, "begin", _begin_sqlite)
        self._conn = engine.connect()  # the file and its WAL companions are created now, privately
        if on_disk:
            tighten_database(self.path)
        return engine

    def _connect_sqlite(self) -> sqlite3.Connection:
        on_disk = self.path != ":memory:"
        # Born private: SQLite gives the -wal and -shm files it creates later the database's mode.
        with private_umask() if on_disk else contextlib.nullcontext():
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            if on_disk:
                db.execute("PRAGMA journal_mode=WAL")
                # In WAL mode NORMAL survives a killed process (the WAL is in the OS
                # before a commit returns) and spares an fsync per commit: work is
                # written before each ack, so a burst of acks would queue behind them.
                db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("PRAGMA busy_timeout=5000")
        self._raw = db
        return db

    @property
    def _db(self) -> sqlite3.Connection:
        """A SQLite store's connection itself, for inspection (driver SQL, `?` parameters)."""
        if self._raw is None:
            raise AttributeError("only a SQLite store has a sqlite3 connection")
        return self._raw

    @contextlib.contextmanager
    def _transaction(self, write: bool) -> Iterator[Connection]:
        with self._lock:
            if self._conn is not None:  # SQLite: its one connection, kept open
                self._conn.execution_options(**{_WRITE: write})
                with self._conn.begin():
                    yield self._conn
                return
            with self._engine.connect() as conn, conn.begin():
                yield conn

    def _read(self) -> contextlib.AbstractContextManager[Connection]:
        return self._transaction(write=False)

    def _write(self) -> contextlib.AbstractContextManager[Connection]:
        return self._transaction(write=True)

    @property
    def schema_version(self) -> int:
        with self._read() as conn:
            return current_version(conn)

    def tables(self) -> list[str]:
        with self._read() as conn:
            return sorted(inspect(conn).get_table_names())

    def ping(self) -> bool:
        """One trivial query: whether the database answers (a health check)."""
        with self._read() as conn:
            return conn.exec_driver_sql("SELECT 1").scalar() == 1

    # -- tables of other libraries, in the same database ---------------------------

    @property
    def engine(self) -> Engine:
        """The engine, for libraries that bring their own tables (slack_sdk's OAuth stores).
        Run their statements inside `exclusive()`."""
        return self._engine

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Held around statements run on `engine` directly: a SQLite store has one
        connection, which serves one caller at a time (PostgreSQL: no wait)."""
        with self._lock:
            yield

    @contextlib.contextmanager
    def write_transaction(self) -> Iterator[Connection]:
        """A write transaction of the store's own (SQLite: begun IMMEDIATE), for DDL that
        must not race another instance's (PostgreSQL: take an advisory lock in it)."""
        with self._write() as conn:
            yield conn

    # -- platform events ---------------------------------------------------

    def mark_event(self, platform: str, event_id: str) -> bool:
        """Record an event id; True the first time it is seen, False for a retry."""
        row = {"platform": valid(platform), "event_id": valid(event_id), "seen_at": time.time()}
        with self._write() as conn:
            return conn.execute(self._q.mark_event, row).rowcount == 1

    # -- conversations -----------------------------------------------------

    def load_conversation(self, key: UserKey) -> dict[str, Any] | None:
        return self.load_conversation_versioned(key)[0]

    def load_conversation_versioned(self, key: UserKey) -> tuple[dict[str, Any] | None, int]:
        """(state, version); version 0 when there is no row yet. A damaged row gives no
        state but keeps its version, so that a fresh state can replace it."""
        with self._read() as conn:
            row = conn.execute(self._q.load_conversation, person(key)).first()
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
        platform, workspace, user = who(key)
        text, at = as_json(state), now_or(now)
        row = {"platform": platform, "workspace": workspace, "user": user, "state": text, "updated_at": at,
               "version": 1}
        with self._write() as conn:
            if expected_version is None:
                conn.execute(self._q.save_conversation, row)
                return
            if expected_version <= 0:  # there was no row: another instance's first save wins
                if conn.execute(self._q.start_conversation, row).rowcount != 1:
                    raise ConflictError("the conversation was started meanwhile")
                return
            # A row deleted meanwhile (forget, purge) is a conflict too: never bring it back.
            changed = conn.execute(self._q.update_conversation, {
                **person(key), "new_state": text, "new_updated_at": at, "expected": int(expected_version),
            }).rowcount
            if changed != 1:
                raise ConflictError("the conversation changed meanwhile")

    # -- reviews -----------------------------------------------------------

    def add_review(self, key: UserKey, record: dict[str, Any], now: float | None = None) -> int:
        """Keep one review: draft, context, verdict, risk, categories, scores.

        `record` keys: kind, draft, context, language, verdict, risk,
        categories (list of ids), scores ({rule: 0-10}).
        """
        platform, workspace, user = who(key)
        row = {
            "platform": platform, "workspace": workspace, "user": user,
            "kind": valid(str(record.get("kind", "draft"))), "draft": valid(str(record.get("draft", ""))),
            "context": None if record.get("context") is None else valid(str(record["context"])),
            "language": valid(str(record.get("language", "und"))),
            "verdict": valid(str(record["verdict"])), "risk": int(record["risk"]),
            "categories": as_json(list(record.get("categories", []))),
            "scores": as_json(dict(record.get("scores", {}))), "created_at": now_or(now),
        }
        with self._write() as conn:
            inserted = conn.execute(self._q.add_review, row).inserted_primary_key
        return int((inserted[0] if inserted else None) or 0)

    def reviews(self, key: UserKey) -> list[dict[str, Any]]:
        """The user's reviews, oldest first."""
        with self._read() as conn:
            rows = conn.execute(self._q.reviews, person(key)).all()
        return [
            {"id": r[0], "kind": r[1], "draft": r[2], "context": r[3], "language": r[4],
             "verdict": r[5], "risk": r[6], "categories": json.loads(r[7]),
             "scores": json.loads(r[8]), "created_at": r[9]}
            for r in rows
        ]

    def reviews_since(self, platform: str | None, since: float) -> list[dict[str, Any]]:
        """Everyone's reviews from `since` on (one platform, or all for None), oldest
        first, without their draft or context: the team's figures need neither."""
        with self._read() as conn:
            if platform is None:
                rows = conn.execute(self._q.reviews_since, {"since": float(since)}).all()
            else:
                rows = conn.execute(self._q.platform_reviews_since,
                                    {"since": float(since), "review_platform": valid(platform)}).all()
        return [
            {"id": r[0], "platform": r[1], "workspace": r[2], "user": r[3], "kind": r[4], "language": r[5],
             "verdict": r[6], "risk": r[7], "categories": json.loads(r[8]), "scores": json.loads(r[9]),
             "created_at": r[10]}
            for r in rows
        ]

    # -- drills ------------------------------------------------------------

    def record_drill(self, key: UserKey, case_id: str, score: int, now: float | None = None) -> dict[str, Any]:
        """Count one attempt at a drill case; returns the case's progress."""
        platform, workspace, user = who(key)
        with self._write() as conn:
            conn.execute(self._q.record_drill, {
                "platform": platform, "workspace": workspace, "user": user, "case_id": valid(case_id),
                "attempts": 1, "best_score": int(score), "last_score": int(score), "updated_at": now_or(now),
            })
        return self.drill_progress(key)[valid(case_id)]

    def drill_progress(self, key: UserKey) -> dict[str, dict[str, Any]]:
        with self._read() as conn:
            rows = conn.execute(self._q.drill_progress, person(key)).all()
        return {
            r[0]: {"attempts": r[1], "best_score": r[2], "last_score": r[3], "updated_at": r[4]}
            for r in rows
        }

    # -- audit trail -------------------------------------------------------

    def audit(self, key: UserKey, action: str, detail: str, now: float | None = None) -> None:
        """Who did what and when; `detail` never holds the draft itself."""
        platform, workspace, user = who(key)
        with self._write() as conn:
            conn.execute(self._q.audit, {"platform": platform, "workspace": workspace, "user": user,
                                         "action": valid(action), "detail": valid(detail),
                                         "created_at": now_or(now)})

    def audit_trail(self, key: UserKey) -> list[dict[str, Any]]:
        with self._read() as conn:
            rows = conn.execute(self._q.audit_trail, person(key)).all()
        return [{"action": r[0], "detail": r[1], "created_at": r[2]} for r in rows]

    def audit_since(self, since: float, actions: Sequence[str]) -> list[dict[str, Any]]:
        """Everyone's audit rows with one of `actions` from `since` on, oldest first."""
        if not actions:
            return []
        with self._read() as conn:
            rows = conn.execute(self._q.audit_since,
                                {"since": float(since), "actions": [valid(a) for a in actions]}).all()
        return [{"platform": r[0], "workspace": r[1], "user": r[2], "action": r[3], "detail": r[4],
                 "created_at": r[5]} for r in rows]

    # -- whole reviews, for buttons that must work after a restart ------------

    def keep_review(self, key: UserKey, review: dict[str, Any], now: float | None = None) -> str:
        """Keep a whole review (JSON of the contract); returns the short id a button carries."""
        review_id = secrets.token_hex(6)
        platform, workspace, user = who(key)
        with self._write() as conn:
            conn.execute(self._q.keep_review, {"id": review_id, "platform": platform, "workspace": workspace,
                                               "user": user, "review": as_json(review), "created_at": now_or(now)})
        return review_id

    def kept_review(
        self, review_id: str, now: float | None = None
    ) -> tuple[tuple[str, str, str], dict[str, Any]] | None:
        """((platform, workspace, user), review), or None when unknown or past the retention."""
        with self._read() as conn:
            row = conn.execute(self._q.kept_review, {"review_id": valid(review_id)}).first()
        if row is None:
            return None
        if self.retention_days > 0 and row[4] < now_or(now) - self.retention_days * 86_400:
            return None
        return (row[0], row[1], row[2]), json.loads(row[3])

    # -- the team: approvals and crisis mode ---------------------------------

    def add_approval(self, key: UserKey, channel: str, version: str, review: dict[str, Any],
                     now: float | None = None) -> str:
        """A request for a teammate's approval of `version`; its id."""
        approval_id = "a" + secrets.token_hex(8)
        platform, workspace, user = who(key)
        with self._write() as conn:
            conn.execute(self._t.add_approval, {
                "id": approval_id, "platform": platform, "workspace": workspace, "user": user,
                "channel": valid(channel), "version": valid(version), "review": as_json(review),
                "state": PENDING, "created_at": now_or(now)})
        return approval_id

    def approval(self, approval_id: str) -> dict[str, Any] | None:
        with self._read() as conn:
            row = conn.execute(self._t.approval, {"approval_id": valid(approval_id)}).first()
        if row is None:
            return None
        names = ("id", "platform", "workspace", "user", "channel", "version", "review", "state", "decided_by",
                 "note", "message_channel", "message_ts", "created_at", "decided_at")
        found = dict(zip(names, row, strict=True))
        found["review"] = json.loads(found["review"])
        return found

    def decide_approval(self, approval_id: str, state: str, decided_by: str, note: str | None = None,
                        now: float | None = None) -> bool:
        """Approve or ask for changes; False when it was already decided (someone was faster)."""
        with self._write() as conn:
            return conn.execute(self._t.decide_approval, {
                "approval_id": valid(approval_id), "new_state": valid(state), "by": valid(decided_by),
                "new_note": valid(note) if note is not None else None, "at": now_or(now)}).rowcount == 1

    def set_approval_message(self, approval_id: str, channel: str, ts: str) -> None:
        """Where the request was posted for the approvers, to update it with the decision."""
        with self._write() as conn:
            conn.execute(self._t.set_approval_message, {"approval_id": valid(approval_id),
                                                        "new_channel": valid(channel), "new_ts": valid(ts)})

    def start_crisis(self, scope: str, until: float, started_by: str, now: float | None = None) -> None:
        with self._write() as conn:
            conn.execute(self._t.start_crisis, {"scope": valid(scope), "until": until,
                                                "started_by": valid(started_by), "started_at": now_or(now)})

    def end_crisis(self, scope: str) -> bool:
        """True when a crisis of that scope was on record."""
        with self._write() as conn:
            return conn.execute(self._t.end_crisis, {"the_scope": valid(scope)}).rowcount > 0

    def crises(self, scopes: list[str]) -> list[dict[str, Any]]:
        """The crises on record for these scopes, ended or not: the caller compares `until`."""
        with self._read() as conn:
            rows = conn.execute(self._t.crises, {"scopes": [valid(s) for s in scopes]}).all()
        return [{"scope": r[0], "until": r[1], "started_by": r[2], "started_at": r[3]} for r in rows]

    # -- channels ------------------------------------------------------------

    def channel_brand(self, platform: str, workspace: str, channel: str) -> str | None:
        """The brand an admin chose for this channel, or None."""
        where = {"platform": valid(platform), "workspace": valid(workspace), "channel": valid(channel)}
        with self._read() as conn:
            return conn.execute(self._q.channel_brand, where).scalar()

    def set_channel_brand(self, platform: str, workspace: str, channel: str, brand: str | None,
                          set_by: str = "", now: float | None = None) -> None:
        """Choose the channel's brand; None removes the choice (the settings decide again)."""
        where = {"platform": valid(platform), "workspace": valid(workspace), "channel": valid(channel)}
        with self._write() as conn:
            if brand is None:
                conn.execute(self._q.clear_channel_brand, where)
            else:
                conn.execute(self._q.set_channel_brand, where | {"brand": valid(brand), "set_by": valid(set_by),
                                                                 "updated_at": now_or(now)})

    # -- durable work ------------------------------------------------------

    def submit_work(self, platform: str, key: UserKey, kind: str, payload: dict[str, Any],
                    event_id: str | None = None, now: float | None = None) -> str | None:
        """Write a request before it is acked; its id, or None when `event_id` was
        already recorded (a retry: the first delivery's work answers it).

        The event id and the work are one transaction, so a crash between them
        can neither drop the work of a recorded event nor answer an event twice.
        """
        work_id = "w" + secrets.token_hex(10)
        at = now_or(now)
        _, workspace, user = who(key)
        with self._write() as conn:
            if event_id is not None:
                event = {"platform": valid(platform), "event_id": valid(event_id), "seen_at": at}
                if conn.execute(self._q.mark_event, event).rowcount != 1:
                    return None  # a retry; nothing was written
            conn.execute(self._q.add_work, {
                "id": work_id, "platform": valid(platform), "workspace": workspace, "user": user,
                "kind": valid(kind), "payload": as_json(payload), "state": "pending", "created_at": at,
            })
        return work_id

    def claim_work(self, work_id: str, worker: str, now: float | None = None) -> dict[str, Any] | None:
        """Take pending work for `worker`; None when another worker has it or it is done."""
        values = {"work_id": valid(work_id), "worker": valid(worker), "at": now_or(now)}
        with self._write() as conn:
            if conn.dialect.update_returning:
                row = conn.execute(self._q.claim_work, values).first()
            else:  # SQLite before 3.35: the same transaction reads what it took
                taken = conn.execute(self._q.take_work, values).rowcount == 1
                row = conn.execute(self._q.claimed_work, values).first() if taken else None
        if row is None:
            return None
        return {"id": row[0], "platform": row[1], "workspace": row[2], "user": row[3], "kind": row[4],
                "payload": json.loads(row[5]), "attempts": row[6], "created_at": row[7]}

    def finish_work(self, work_id: str, answer: str, now: float | None = None) -> None:
        """Mark work done with the id of its answer (a message ts, a response_url status)."""
        with self._write() as conn:
            conn.execute(self._q.finish_work, {"work_id": valid(work_id), "new_answer": valid(answer),
                                               "at": now_or(now)})

    def release_work(self, platform: str, stale: list[str], lease: float, now: float | None = None) -> int:
        """Put back taken work whose worker is gone (`stale`) or whose lease ran out."""
        values = {"work_platform": valid(platform), "cutoff": now_or(now) - lease,
                  "stale": [valid(s) for s in stale]}
        with self._write() as conn:
            return conn.execute(self._q.release_work, values).rowcount

    def pending_work(self, platform: str, since: float = 0.0) -> list[dict[str, Any]]:
        """Work not yet taken, oldest first, and who holds taken work (id, state, taken_by)."""
        with self._read() as conn:
            rows = conn.execute(self._q.pending_work, {"work_platform": valid(platform), "since": since}).all()
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
        at = now_or(now)
        values = {"cutoff": at - self.retention_days * 86_400, "done_before": at - 86_400}
        with self._write() as conn:
            changed = sum(conn.execute(statement, values).rowcount for statement in self._q.purge)
            return changed + conn.execute(self._t.purge_approvals, values).rowcount

    def forget(self, key: UserKey) -> int:
        """Delete every row about this user, in every table; returns the count."""
        with self._write() as conn:
            return sum(conn.execute(statement, person(key)).rowcount for statement in self._q.forget)

    def forget_workspace(self, platform: str, workspace: str) -> int:
        """Delete every row of one workspace (the app was uninstalled there): each of its
        people's rows in every table, and its channels' brands; returns the count."""
        where = {"the_platform": valid(platform), "the_workspace": valid(workspace)}
        with self._write() as conn:
            deleted = sum(conn.execute(statement, where).rowcount for statement in self._q.forget_workspace)
            # Its crisis too (a crisis's scope is "platform:workspace").
            return deleted + conn.execute(self._t.end_crisis, {"the_scope": f"{valid(platform)}:{valid(workspace)}"}
                                          ).rowcount

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
            self._engine.dispose()
