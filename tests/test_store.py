"""The store's contract, held on every backend: each test taking `store_url` runs on a
SQLite file and on a PostgreSQL database (tests/conftest.py). Migrations, per-user
rows, retention, `forget` over every table, and what two instances on one
database may do at once. SQLite's own file format is checked at the end."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import Connection, create_engine, func, insert, inspect, select, text

from bot.app.services import open_store as open_settings_store
from bot.config import Settings, StoreSection, load_settings
from bot.store import DATABASE_NAME, MIGRATIONS, USER_TABLES, Store, open_store, parse_url
from bot.store import schema as tables
from tests import postgres

DAY = 86_400.0
NOW = 1_750_000_000.0
FIXTURES = Path(__file__).parent / "fixtures"
T = TypeVar("T")


@dataclass(frozen=True)
class Key:
    platform: str
    workspace: str
    user: str


ANN = Key("slack", "T1", "U-ann")
BOB = Key("slack", "T1", "U-bob")
ANN_ELSEWHERE = Key("discord", "G9", "U-ann")


def record(verdict: str = "post", risk: int = 10, categories: tuple[str, ...] = (), **scores: int) -> dict[str, Any]:
    return {"kind": "draft", "draft": "Thanks, we're on it.", "context": "It broke.", "language": "en",
            "verdict": verdict, "risk": risk, "categories": list(categories),
            "scores": scores or {"reputation": 7, "produce": 7, "react": 7, "federate": 7}}


@contextmanager
def raw(url: str) -> Iterator[Connection]:
    """A connection of its own to the store's database, in one transaction."""
    engine = create_engine(parse_url(url)[1])
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = Store(url=store_url, retention_days=30)
    yield s
    s.close()


def at_once(count: int, work: Callable[[int], T]) -> list[T]:
    """`work(i)` in `count` threads released together; their results, in order."""
    barrier = threading.Barrier(count)
    results: dict[int, T] = {}
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=20)
            results[i] = work(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    if errors:
        raise errors[0]
    assert len(results) == count
    return [results[i] for i in range(count)]


# -- migrations --------------------------------------------------------------------


def test_fresh_store_applies_every_migration_once(store_url: str) -> None:
    s = Store(url=store_url)
    assert s.schema_version == len(MIGRATIONS)
    assert set(USER_TABLES) | {"processed_events", "schema_version"} <= set(s.tables())
    s.close()
    again = Store(url=store_url)
    assert again.schema_version == len(MIGRATIONS)
    again.close()
    with raw(store_url) as conn:
        rows = conn.execute(text("SELECT version FROM schema_version ORDER BY version")).all()
    assert [r[0] for r in rows] == list(range(1, len(MIGRATIONS) + 1))


def test_instances_starting_together_apply_the_schema_once(store_url: str) -> None:
    stores = at_once(4, lambda _: Store(url=store_url))
    try:
        assert [s.schema_version for s in stores] == [len(MIGRATIONS)] * 4
        stores[0].save_conversation(ANN, {"lang": "fr"})
        assert stores[3].load_conversation(ANN) == {"lang": "fr"}
    finally:
        for s in stores:
            s.close()
    with raw(store_url) as conn:
        rows = conn.execute(text("SELECT version FROM schema_version ORDER BY version")).all()
    assert [r[0] for r in rows] == list(range(1, len(MIGRATIONS) + 1))


def test_an_older_database_is_upgraded_and_keeps_its_rows(store_url: str) -> None:
    with raw(store_url) as conn:
        conn.exec_driver_sql("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for statement in MIGRATIONS[0].statements(conn.dialect.name):
            conn.exec_driver_sql(statement)
        conn.execute(text("INSERT INTO schema_version VALUES (1)"))
        conn.execute(text("INSERT INTO processed_events VALUES ('slack', 'Ev1', 1.0)"))
    s = Store(url=store_url)
    assert s.schema_version == len(MIGRATIONS)
    assert s.mark_event("slack", "Ev1") is False  # the old row survived the upgrade
    s.save_conversation(ANN, {"lang": "fr"})
    assert s.load_conversation(ANN) == {"lang": "fr"}
    s.close()


def test_the_tables_the_queries_name_are_the_ones_the_migrations_made(store: Store, store_url: str) -> None:
    with raw(store_url) as conn:
        found = inspect(conn)
        for table in tables.metadata.sorted_tables:
            columns = {c["name"]: c for c in found.get_columns(table.name)}
            assert list(columns) == [c.name for c in table.columns], table.name
            assert {n for n, c in columns.items() if not c["nullable"]} - set(table.primary_key.columns.keys()) == {
                c.name for c in table.columns if not c.nullable and not c.primary_key}, table.name
            assert found.get_pk_constraint(table.name)["constrained_columns"] == [
                c.name for c in table.primary_key.columns], table.name


# -- rows and what comes back ------------------------------------------------------------


def test_conversations_are_kept_per_platform_workspace_and_user(store: Store) -> None:
    store.save_conversation(ANN, {"turn": 1})
    store.save_conversation(ANN, {"turn": 2})
    store.save_conversation(BOB, {"turn": 9})
    assert store.load_conversation(ANN) == {"turn": 2}
    assert store.load_conversation(BOB) == {"turn": 9}
    assert store.load_conversation(ANN_ELSEWHERE) is None
    assert store.load_conversation_versioned(ANN) == ({"turn": 2}, 2)
    assert store.load_conversation_versioned(ANN_ELSEWHERE) == (None, 0)


def test_a_damaged_conversation_row_starts_afresh(store: Store, store_url: str) -> None:
    with raw(store_url) as conn:
        conn.execute(insert(tables.conversations).values(
            platform=ANN.platform, workspace=ANN.workspace, user=ANN.user, state="{not json",
            updated_at=NOW, version=3))
    assert store.load_conversation_versioned(ANN) == (None, 3)
    store.save_conversation(ANN, {"fresh": True}, expected_version=3)
    assert store.load_conversation_versioned(ANN) == ({"fresh": True}, 4)


def test_reviews_come_back_oldest_first_with_their_fields(store: Store) -> None:
    first = store.add_review(ANN, record("block", 90, ("deletion_demand",), react=0), now=NOW + 2)
    second = store.add_review(ANN, record("post", 5), now=NOW + 1)
    store.add_review(BOB, record("revise", 40), now=NOW)
    assert isinstance(first, int) and 0 < first < second
    rows = store.reviews(ANN)
    assert [r["verdict"] for r in rows] == ["post", "block"]
    assert [r["id"] for r in rows] == [second, first]
    assert rows[1]["categories"] == ["deletion_demand"] and rows[1]["scores"] == {"react": 0}
    assert rows[1]["context"] == "It broke." and rows[1]["risk"] == 90
    assert rows[1]["created_at"] == NOW + 2 and isinstance(rows[1]["created_at"], float)
    assert [r["verdict"] for r in store.reviews(BOB)] == ["revise"]


def test_times_keep_every_digit(store: Store) -> None:
    """A timestamp in seconds with microseconds needs a double: PostgreSQL's REAL would
    round it to the nearest 128 seconds."""
    exact = 1_750_000_123.456789
    store.add_review(ANN, record(), now=exact)
    store.audit(ANN, "review", "r", now=exact)
    assert store.reviews(ANN)[0]["created_at"] == exact
    assert store.audit_trail(ANN)[0]["created_at"] == exact
    assert store.record_drill(ANN, "sncf", 50, now=exact)["updated_at"] == exact


def test_drill_progress_counts_attempts_and_keeps_the_best(store: Store) -> None:
    assert store.record_drill(ANN, "easyjet", 40, now=NOW)["attempts"] == 1
    progress = store.record_drill(ANN, "easyjet", 85, now=NOW + 1)
    progress = store.record_drill(ANN, "easyjet", 60, now=NOW + 2)
    assert progress == {"attempts": 3, "best_score": 85, "last_score": 60, "updated_at": NOW + 2}
    store.record_drill(ANN, "sncf", 10, now=NOW + 3)
    assert list(store.drill_progress(ANN)) == ["easyjet", "sncf"]
    assert store.drill_progress(BOB) == {}


def test_audit_trail_records_who_did_what_and_when(store: Store) -> None:
    store.audit(ANN, "review", "review 1: offline post", now=NOW)
    store.audit(BOB, "review", "review 2: offline block", now=NOW + 1)
    store.audit(ANN, "lesson", "react", now=NOW - 5)  # in the order written, whatever the clock says
    assert store.audit_trail(ANN) == [{"action": "review", "detail": "review 1: offline post", "created_at": NOW},
                                      {"action": "lesson", "detail": "react", "created_at": NOW - 5}]


def test_processed_events_are_answered_once(store: Store) -> None:
    assert store.mark_event("slack", "Ev42") is True
    assert store.mark_event("slack", "Ev42") is False
    assert store.mark_event("discord", "Ev42") is True


def test_kept_reviews_come_back_by_id_until_the_retention_ends(store_url: str) -> None:
    store = Store(url=store_url, retention_days=1)
    review_id = store.keep_review(ANN, {"verdict": "block", "rewrites": [{"text": "x"}]}, now=1000.0)
    assert store.kept_review(review_id, now=1000.0 + 3600) == (
        (ANN.platform, ANN.workspace, ANN.user), {"verdict": "block", "rewrites": [{"text": "x"}]})
    assert store.kept_review("unknown") is None
    assert store.kept_review(review_id, now=1000.0 + 2 * 86_400) is None
    store.purge(now=1000.0 + 2 * 86_400)
    store.close()
    with raw(store_url) as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM kept_reviews")).scalar() == 0


# -- retention and erasure -----------------------------------------------------------


def test_purge_erases_old_drafts_but_keeps_the_stats(store: Store) -> None:
    store.add_review(ANN, record(), now=NOW - 40 * DAY)
    store.add_review(ANN, record(), now=NOW - 1 * DAY)
    store.save_conversation(BOB, {"idle": True}, now=NOW - 31 * DAY)
    store.save_conversation(ANN, {"active": True}, now=NOW - 1 * DAY)
    changed = store.purge(NOW)
    assert changed == 2
    old, recent = store.reviews(ANN)
    assert old["draft"] == "" and old["context"] is None and old["verdict"] == "post"
    assert old["scores"]["react"] == 7
    assert recent["draft"] == "Thanks, we're on it." and recent["context"] == "It broke."
    assert store.load_conversation(BOB) is None
    assert store.load_conversation(ANN) == {"active": True}
    assert store.purge(NOW) == 0  # nothing left to purge


def test_purge_reaches_events_kept_reviews_and_work(store: Store) -> None:
    store.submit_work("slack", ANN, "event", {"text": "old"}, event_id="Ev-old", now=NOW - 31 * DAY)
    store.keep_review(ANN, {"verdict": "post"}, now=NOW - 31 * DAY)
    done = store.submit_work("slack", BOB, "command", {"text": "done"}, now=NOW - 2 * DAY)
    assert done is not None and store.claim_work(done, "host:1", now=NOW - 2 * DAY)
    store.finish_work(done, "ts-1", now=NOW - 2 * DAY)
    kept = store.submit_work("slack", BOB, "command", {"text": "recent"}, now=NOW - 1 * DAY)
    assert store.purge(NOW) == 4  # the event id, the kept review, the old work, the done work
    assert [w["id"] for w in store.pending_work("slack")] == [kept]
    assert store.mark_event("slack", "Ev-old") is True


def test_retention_zero_keeps_everything(store_url: str) -> None:
    s = Store(url=store_url, retention_days=0)
    s.add_review(ANN, record(), now=NOW - 4000 * DAY)
    assert s.purge(NOW) == 0
    assert s.reviews(ANN)[0]["draft"]
    s.close()


def rows_mentioning(url: str, value: str) -> dict[str, int]:
    """Every table, every column: how many rows hold this value."""
    found: dict[str, int] = {}
    with raw(url) as conn:
        quote = conn.dialect.identifier_preparer.quote
        for table in inspect(conn).get_table_names():
            columns = [c["name"] for c in inspect(conn).get_columns(table)]
            where = " OR ".join(f"CAST({quote(c)} AS TEXT) = :value" for c in columns)
            count = conn.execute(text(f"SELECT COUNT(*) FROM {quote(table)} WHERE {where}"),
                                 {"value": value}).scalar()
            if count:
                found[table] = int(count)
    return found


def test_forget_deletes_every_row_about_the_user_and_nobody_else(store: Store, store_url: str) -> None:
    for key in (ANN, BOB, ANN_ELSEWHERE):
        store.save_conversation(key, {"lang": "en"})
        store.add_review(key, record())
        store.record_drill(key, "sncf", 50)
        store.audit(key, "review", "review")
        store.keep_review(key, {"verdict": "post"})
        store.submit_work(key.platform, key, "command", {"text": "a draft"})
        store.add_approval(key, "C0TEAM", "Sorry about that, we are on it.", {"verdict": "post"})
    before = rows_mentioning(store_url, ANN.user)
    assert set(before) == set(USER_TABLES)
    deleted = store.forget(ANN)
    assert deleted == len(USER_TABLES)
    # ANN on Discord is another conversation: still there; BOB untouched.
    reviews = tables.reviews.c
    with raw(store_url) as conn:
        remaining = conn.execute(select(reviews.id).where(reviews.platform == "slack",
                                                          reviews.user == ANN.user)).all()
    assert remaining == []
    assert store.reviews(ANN_ELSEWHERE) and store.reviews(BOB)
    store.forget(ANN_ELSEWHERE)
    assert rows_mentioning(store_url, ANN.user) == {}
    assert rows_mentioning(store_url, BOB.user) == {t: 1 for t in USER_TABLES}


# -- durable work, and two instances at once ----------------------------------------------


def test_work_is_taken_by_one_worker_and_done_once(store_url: str) -> None:
    first, second = Store(url=store_url), Store(url=store_url)
    try:
        work_id = first.submit_work("slack", ANN, "command", {"text": "Delete that photo."}, now=NOW)
        assert work_id
        assert first.pending_work("slack") == [{"id": work_id, "state": "pending", "taken_by": None,
                                                "created_at": NOW}]
        taken = second.claim_work(work_id, "host:2", now=NOW + 1)
        assert taken == {"id": work_id, "platform": "slack", "workspace": ANN.workspace, "user": ANN.user,
                         "kind": "command", "payload": {"text": "Delete that photo."}, "attempts": 1,
                         "created_at": NOW}
        assert first.claim_work(work_id, "host:1") is None  # never twice
        assert first.pending_work("slack")[0]["taken_by"] == "host:2"
        second.finish_work(work_id, "response_url", now=NOW + 2)
        assert first.claim_work(work_id, "host:1") is None and first.pending_work("slack") == []
    finally:
        first.close()
        second.close()


def test_taken_work_comes_back_when_its_worker_is_gone_or_its_lease_ran_out(store: Store) -> None:
    ids = [store.submit_work("slack", ANN, "command", {"n": n}, now=NOW + n) for n in range(3)]
    assert all(ids)
    store.claim_work(ids[0], "host:dead", now=NOW)
    store.claim_work(ids[1], "host:alive", now=NOW)
    store.claim_work(ids[2], "elsewhere:1", now=NOW - 1000)
    assert store.release_work("slack", ["host:dead"], lease=300, now=NOW + 10) == 2
    assert store.release_work("slack", [], lease=300, now=NOW + 10) == 0
    states = {w["id"]: w["state"] for w in store.pending_work("slack")}
    assert states == {ids[0]: "pending", ids[1]: "taken", ids[2]: "pending"}
    again = store.claim_work(ids[0], "host:new", now=NOW + 20)
    assert again is not None and again["attempts"] == 2
    assert [w["id"] for w in store.pending_work("slack", since=NOW + 1)] == ids[1:]
    assert store.pending_work("discord") == []


def test_work_is_claimed_once_where_sqlite_has_no_returning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite before 3.35 has no UPDATE ... RETURNING: the claim reads its row in the same transaction."""
    store = Store(tmp_path / "s.sqlite3")
    try:
        monkeypatch.setattr(store._engine.dialect, "update_returning", False)
        work_id = store.submit_work("slack", ANN, "command", {"text": "x"}, now=NOW)
        assert work_id is not None
        taken = store.claim_work(work_id, "host:1", now=NOW)
        assert taken is not None and taken["payload"] == {"text": "x"} and taken["attempts"] == 1
        assert store.claim_work(work_id, "host:2") is None
    finally:
        store.close()


def test_one_claim_wins_when_instances_claim_at_once(store_url: str) -> None:
    stores = [Store(url=store_url) for _ in range(4)]
    try:
        work_ids = [stores[0].submit_work("slack", ANN, "command", {"n": n}) for n in range(5)]
        for work_id in work_ids:
            claims = at_once(4, lambda i, w=work_id: stores[i].claim_work(w, f"host:{i}"))
            assert len([c for c in claims if c is not None]) == 1, claims
    finally:
        for s in stores:
            s.close()


def test_a_retried_event_adds_no_work_even_when_deliveries_race(store_url: str) -> None:
    stores = [Store(url=store_url) for _ in range(4)]
    try:
        assert stores[0].submit_work("slack", ANN, "event", {"n": 1}, event_id="Ev1")
        assert stores[1].submit_work("slack", ANN, "event", {"n": 2}, event_id="Ev1") is None
        for n in range(3):
            results = at_once(4, lambda i, n=n: stores[i].submit_work("slack", ANN, "event", {"i": i},
                                                                      event_id=f"Race{n}"))
            assert len([r for r in results if r is not None]) == 1, results
        assert len(stores[0].pending_work("slack")) == 4
        assert stores[2].mark_event("slack", "Ev1") is False  # the same record the middleware reads
    finally:
        for s in stores:
            s.close()


def test_concurrent_saves_on_one_version_let_exactly_one_through(store_url: str) -> None:
    stores = [Store(url=store_url) for _ in range(4)]
    try:
        stores[0].save_conversation(ANN, {"turns": []}, expected_version=0)

        def save(i: int) -> bool:
            try:
                stores[i].save_conversation(ANN, {"turns": [i]}, expected_version=1)
            except Exception as exc:  # ConflictError is the only one expected
                assert type(exc).__name__ == "ConflictError", exc
                return False
            return True

        assert sum(at_once(4, save)) == 1
        state, version = stores[3].load_conversation_versioned(ANN)
        assert version == 2 and state is not None and len(state["turns"]) == 1
    finally:
        for s in stores:
            s.close()


def test_a_failed_write_leaves_nothing_behind(store: Store) -> None:
    """Transactions are the store's own (SQLite's driver is in autocommit): a rollback is whole."""
    with pytest.raises(RuntimeError), store._write() as conn:
        conn.execute(insert(tables.processed_events).values(platform="slack", event_id="E", seen_at=1.0))
        raise RuntimeError("interrupted")
    assert store.mark_event("slack", "E") is True


# -- choosing the store by URL ---------------------------------------------------------


def test_the_url_setting_defaults_to_empty_and_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert StoreSection().url == ""
    monkeypatch.setenv("CM_COACH_STORE_URL", "postgresql://cm:secret@db:5432/cm")
    assert load_settings(None).store.url == "postgresql://cm:secret@db:5432/cm"


def test_an_empty_url_is_the_sqlite_file_in_the_data_folder(tmp_path: Path) -> None:
    for url in (None, "", "  "):
        store = open_store(url, tmp_path / "data", retention_days=7)
        assert isinstance(store, Store) and store.retention_days == 7
        assert store.dialect == "sqlite" and Path(store.path) == tmp_path / "data" / DATABASE_NAME
        store.close()
    settings = Settings(store=StoreSection(data_dir=str(tmp_path / "data")))
    store = open_settings_store(settings)
    assert isinstance(store, Store) and Path(store.path) == tmp_path / "data" / DATABASE_NAME
    store.close()


def test_a_sqlite_url_names_the_file(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/elsewhere/db.sqlite3", tmp_path / "unused", retention_days=3)
    assert isinstance(store, Store) and store.path == str(tmp_path / "elsewhere" / "db.sqlite3")
    store.close()
    assert not (tmp_path / "unused").exists()
    memory = Store(url="sqlite://")
    assert memory.path == ":memory:" and memory.schema_version == len(MIGRATIONS)
    memory.close()


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+psycopg"])
def test_every_postgresql_spelling_opens_the_same_database(postgres_url: str, scheme: str,
                                                           tmp_path: Path) -> None:
    url = scheme + postgres_url.removeprefix("postgresql")
    store = open_store(url, tmp_path, retention_days=5)
    assert isinstance(store, Store) and store.dialect == "postgresql" and store.retention_days == 5
    store.mark_event("slack", "Ev1")
    store.close()
    settings = Settings(store=StoreSection(url=url, data_dir=str(tmp_path)))
    again = open_settings_store(settings)
    assert again.mark_event("slack", "Ev1") is False
    again.close()
    assert not list(tmp_path.iterdir())  # no SQLite file on the side


def test_an_unknown_database_is_refused_without_showing_the_password(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unsupported database 'mysql'") as refused:
        open_store("mysql://cm:s3cret@db/cm", tmp_path)
    assert "s3cret" not in str(refused.value)
    with pytest.raises(ValueError, match="not a database URL"):
        open_store("not a url", tmp_path)


# -- SQLite's own file --------------------------------------------------------------------


def sqlite_schema(path: Path) -> list[tuple[str, str, str]]:
    db = sqlite3.connect(path)
    try:
        return sorted(db.execute("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL").fetchall())
    finally:
        db.close()


def test_a_database_from_before_postgresql_opens_unchanged(tmp_path: Path) -> None:
    """tests/fixtures/store_v5.sql: a store at schema version 5 with a row in every table."""
    old = tmp_path / "old.sqlite3"
    db = sqlite3.connect(old)
    db.executescript((FIXTURES / "store_v5.sql").read_text(encoding="utf-8"))
    db.close()
    before = sqlite_schema(old)
    store = Store(old, retention_days=0)
    try:
        assert store.schema_version == len(MIGRATIONS)  # the later migrations applied on open
        assert store.load_conversation_versioned(ANN) == ({"lang": "fr", "turns": ["a"]}, 1)
        assert [r["draft"] for r in store.reviews(ANN)] == ["Merci, on s'en occupe."]
        assert store.drill_progress(ANN)["sncf"]["best_score"] == 70
        assert store.audit_trail(ANN)[0]["detail"] == "review 1: offline post"
        assert store.kept_review("abc123def456") == ((ANN.platform, ANN.workspace, ANN.user), {"verdict": "post"})
        assert [w["id"] for w in store.pending_work("slack")] == ["w0001"]
        assert store.mark_event("slack", "Ev1") is False
        assert store.add_review(ANN, record()) == 2 and store.audit_trail(ANN)
    finally:
        store.close()
    after = sqlite_schema(old)
    assert set(before) <= set(after)  # what version 5 made is untouched
    fresh = Store(tmp_path / "fresh.sqlite3")
    fresh.close()
    assert sqlite_schema(tmp_path / "fresh.sqlite3") == after  # new files are made as upgraded ones are


def test_sqlite_runs_in_wal_mode_with_normal_sync(tmp_path: Path) -> None:
    store = Store.in_data_dir(tmp_path)
    try:
        assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert store._db.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
    finally:
        store.close()




# -- the PostgreSQL the tests start ------------------------------------------------------


def test_without_postgresql_its_tests_skip_here_and_fail_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postgres, "find_binaries", lambda: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        postgres.start_server()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI runs every PostgreSQL test"):
        postgres.start_server()


def test_a_channels_brand_is_chosen_changed_and_given_back_to_the_settings(store: Store) -> None:
    assert store.channel_brand("slack", "T1", "C1") is None
    store.set_channel_brand("slack", "T1", "C1", "lea", set_by="U-admin")
    store.set_channel_brand("slack", "T2", "C1", "maison")  # same channel id, another workspace
    assert store.channel_brand("slack", "T1", "C1") == "lea"
    store.set_channel_brand("slack", "T1", "C1", "maison")
    assert store.channel_brand("slack", "T1", "C1") == "maison"
    store.set_channel_brand("slack", "T1", "C1", None)
    assert store.channel_brand("slack", "T1", "C1") is None
    assert store.channel_brand("slack", "T2", "C1") == "maison"
    store.forget(ANN)  # a person's erasure leaves the channels' settings alone
    assert store.channel_brand("slack", "T2", "C1") == "maison"


def test_an_approval_is_decided_once_whoever_presses_first(store: Store) -> None:
    approval_id = store.add_approval(ANN, "C0TEAM", "Sorry, we are on it.", {"verdict": "post"}, now=10.0)
    found = store.approval(approval_id)
    assert found is not None and found["state"] == "pending" and found["version"] == "Sorry, we are on it."
    assert found["review"] == {"verdict": "post"} and found["user"] == ANN.user
    store.set_approval_message(approval_id, "C0APPROVERS", "1700000000.000100")
    results: list[bool] = []
    barrier = threading.Barrier(4)

    def decide(who: str) -> None:
        barrier.wait()
        results.append(store.decide_approval(approval_id, "approved", who, now=20.0))

    threads = [threading.Thread(target=decide, args=(f"U-{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, False, False, True]
    decided = store.approval(approval_id)
    assert decided is not None and decided["state"] == "approved" and decided["decided_at"] == 20.0
    assert decided["message_ts"] == "1700000000.000100"
    assert not store.decide_approval(approval_id, "changes", "U-late", note="too late")
    assert store.approval("unknown") is None


def test_a_crisis_is_kept_by_scope_until_it_is_ended(store: Store) -> None:
    assert store.crises(["*", "slack:T1"]) == []
    store.start_crisis("slack:T1", until=1000.0, started_by="U-admin", now=10.0)
    store.start_crisis("slack:T1", until=2000.0, started_by="U-other", now=20.0)  # extended
    assert store.crises(["*", "slack:T1"]) == [
        {"scope": "slack:T1", "until": 2000.0, "started_by": "U-other", "started_at": 20.0}]
    assert store.crises(["slack:T2"]) == []
    assert store.end_crisis("slack:T1") and not store.end_crisis("slack:T1")
    assert store.crises(["slack:T1"]) == []


def workspace_counts(url: str, platform: str, workspace: str) -> dict[str, int]:
    """Rows of one workspace in each table that names workspaces."""
    with raw(url) as conn:
        return {name: int(conn.execute(select(func.count()).select_from(table).where(
                    table.c.platform == platform, table.c.workspace == workspace)).scalar() or 0)
                for name, table in tables.metadata.tables.items() if "workspace" in table.c}


def test_forget_workspace_deletes_every_row_of_that_workspace_and_nothing_else(store: Store, store_url: str) -> None:
    cat, dan = Key("slack", "T2", "U-cat"), Key("discord", "T1", "U-dan")  # another workspace; T1 elsewhere
    for key in (ANN, BOB, cat, dan):
        store.save_conversation(key, {"lang": "en"})
        store.add_review(key, record())
        store.record_drill(key, "sncf", 50)
        store.audit(key, "review", "review")
        store.keep_review(key, {"verdict": "post"})
        store.submit_work(key.platform, key, "command", {"text": "a draft"})
        store.add_approval(key, "C0TEAM", "Sorry about that, we are on it.", {"verdict": "post"})
        store.set_channel_brand(key.platform, key.workspace, "C0TEAM", "lea")
    store.start_crisis("slack:T1", until=10**12, started_by="U-ann")
    store.start_crisis("slack:T2", until=10**12, started_by="U-cat")
    named = set(USER_TABLES) | {"channel_brands"}
    assert {t for t, n in workspace_counts(store_url, "slack", "T1").items() if n} == named
    assert store.forget_workspace("slack", "T1") == 2 * len(USER_TABLES) + 2  # its crisis too
    assert not any(workspace_counts(store_url, "slack", "T1").values())
    assert store.crises(["slack:T1"]) == [] and store.crises(["slack:T2"])
    for other in (cat, dan):
        left = workspace_counts(store_url, other.platform, other.workspace)
        assert {t for t, n in left.items() if n} == named
        assert store.reviews(other) and store.channel_brand(other.platform, other.workspace, "C0TEAM") == "lea"
    assert store.forget_workspace("slack", "T1") == 0
