"""The store: migrations, per-user rows, retention, and `forget` over every table."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import pytest

from bot.store import MIGRATIONS, USER_TABLES, Store

DAY = 86_400.0
NOW = 1_750_000_000.0


@dataclass(frozen=True)
class Key:
    platform: str
    workspace: str
    user: str


ANN = Key("slack", "T1", "U-ann")
BOB = Key("slack", "T1", "U-bob")
ANN_ELSEWHERE = Key("discord", "G9", "U-ann")


def record(verdict: str = "post", risk: int = 10, categories: tuple[str, ...] = (), **scores: int) -> dict:
    return {"kind": "draft", "draft": "Thanks, we're on it.", "context": "It broke.", "language": "en",
            "verdict": verdict, "risk": risk, "categories": list(categories),
            "scores": scores or {"reputation": 7, "produce": 7, "react": 7, "federate": 7}}


@pytest.fixture
def store(tmp_path):
    s = Store.in_data_dir(tmp_path, retention_days=30)
    yield s
    s.close()


def test_fresh_store_applies_every_migration_once(tmp_path):
    s = Store(tmp_path / "a.sqlite3")
    assert s.schema_version == len(MIGRATIONS)
    assert set(USER_TABLES) | {"processed_events", "schema_version"} <= set(s.tables())
    s.close()
    again = Store(tmp_path / "a.sqlite3")
    rows = again._db.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
    assert [r[0] for r in rows] == list(range(1, len(MIGRATIONS) + 1))
    again.close()


def test_an_older_database_is_upgraded_and_keeps_its_rows(tmp_path):
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    db.executescript(MIGRATIONS[0])
    db.execute("INSERT INTO schema_version VALUES (1)")
    db.execute("INSERT INTO processed_events VALUES ('slack', 'Ev1', 1.0)")
    db.commit()
    db.close()
    s = Store(path)
    assert s.schema_version == len(MIGRATIONS)
    assert s.mark_event("slack", "Ev1") is False  # the old row survived the upgrade
    s.save_conversation(ANN, {"lang": "fr"})
    assert s.load_conversation(ANN) == {"lang": "fr"}
    s.close()


def test_conversations_are_kept_per_platform_workspace_and_user(store):
    store.save_conversation(ANN, {"turn": 1})
    store.save_conversation(ANN, {"turn": 2})
    store.save_conversation(BOB, {"turn": 9})
    assert store.load_conversation(ANN) == {"turn": 2}
    assert store.load_conversation(BOB) == {"turn": 9}
    assert store.load_conversation(ANN_ELSEWHERE) is None


def test_a_damaged_conversation_row_starts_afresh(store):
    store._db.execute(
        "INSERT INTO conversations (platform, workspace, user, state, updated_at) VALUES (?, ?, ?, ?, ?)",
        (ANN.platform, ANN.workspace, ANN.user, "{not json", NOW),
    )
    assert store.load_conversation(ANN) is None


def test_reviews_come_back_oldest_first_with_their_fields(store):
    store.add_review(ANN, record("block", 90, ("deletion_demand",), react=0), now=NOW + 2)
    store.add_review(ANN, record("post", 5), now=NOW + 1)
    store.add_review(BOB, record("revise", 40), now=NOW)
    rows = store.reviews(ANN)
    assert [r["verdict"] for r in rows] == ["post", "block"]
    assert rows[1]["categories"] == ["deletion_demand"] and rows[1]["scores"] == {"react": 0}
    assert rows[1]["context"] == "It broke." and rows[1]["risk"] == 90
    assert [r["verdict"] for r in store.reviews(BOB)] == ["revise"]


def test_drill_progress_counts_attempts_and_keeps_the_best(store):
    assert store.record_drill(ANN, "easyjet", 40, now=NOW)["attempts"] == 1
    progress = store.record_drill(ANN, "easyjet", 85, now=NOW + 1)
    progress = store.record_drill(ANN, "easyjet", 60, now=NOW + 2)
    assert progress == {"attempts": 3, "best_score": 85, "last_score": 60, "updated_at": NOW + 2}
    assert store.drill_progress(BOB) == {}


def test_audit_trail_records_who_did_what_and_when(store):
    store.audit(ANN, "review", "review 1: offline post", now=NOW)
    store.audit(BOB, "review", "review 2: offline block", now=NOW + 1)
    assert store.audit_trail(ANN) == [{"action": "review", "detail": "review 1: offline post",
                                       "created_at": NOW}]


def test_processed_events_are_answered_once(store):
    assert store.mark_event("slack", "Ev42") is True
    assert store.mark_event("slack", "Ev42") is False
    assert store.mark_event("discord", "Ev42") is True


def test_purge_erases_old_drafts_but_keeps_the_stats(store):
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


def test_retention_zero_keeps_everything(tmp_path):
    s = Store(tmp_path / "keep.sqlite3", retention_days=0)
    s.add_review(ANN, record(), now=NOW - 4000 * DAY)
    assert s.purge(NOW) == 0
    assert s.reviews(ANN)[0]["draft"]
    s.close()


def rows_mentioning(store: Store, value: str) -> dict[str, int]:
    """Every table, every column: how many rows hold this value."""
    found: dict[str, int] = {}
    for table in store.tables():
        columns = [r[1] for r in store._db.execute(f"PRAGMA table_info({table})")]
        where = " OR ".join(f"CAST({c} AS TEXT) = ?" for c in columns)
        count = store._db.execute(f"SELECT COUNT(*) FROM {table} WHERE {where}",
                                  [value] * len(columns)).fetchone()[0]
        if count:
            found[table] = count
    return found


def test_forget_deletes_every_row_about_the_user_and_nobody_else(store):
    for key in (ANN, BOB, ANN_ELSEWHERE):
        store.save_conversation(key, {"lang": "en"})
        store.add_review(key, record())
        store.record_drill(key, "sncf", 50)
        store.audit(key, "review", "review")
        store.keep_review(key, {"verdict": "post"})
        store.submit_work(key.platform, key, "command", {"text": "a draft"})
    before = rows_mentioning(store, ANN.user)
    assert set(before) == set(USER_TABLES)
    deleted = store.forget(ANN)
    assert deleted == len(USER_TABLES)
    # ANN on Discord is another conversation: still there; BOB untouched.
    remaining = store._db.execute(
        "SELECT COUNT(*) FROM reviews WHERE platform = 'slack' AND user = ?", (ANN.user,)
    ).fetchone()[0]
    assert remaining == 0
    assert store.reviews(ANN_ELSEWHERE) and store.reviews(BOB)
    store.forget(ANN_ELSEWHERE)
    assert rows_mentioning(store, ANN.user) == {}
    assert rows_mentioning(store, BOB.user) == {t: 1 for t in USER_TABLES}


def test_kept_reviews_come_back_by_id_until_the_retention_ends(tmp_path):
    store = Store(tmp_path / "kept.sqlite3", retention_days=1)
    review_id = store.keep_review(ANN, {"verdict": "block", "rewrites": [{"text": "x"}]}, now=1000.0)
    assert store.kept_review(review_id, now=1000.0 + 3600) == (
        (ANN.platform, ANN.workspace, ANN.user), {"verdict": "block", "rewrites": [{"text": "x"}]})
    assert store.kept_review("unknown") is None
    assert store.kept_review(review_id, now=1000.0 + 2 * 86_400) is None
    store.purge(now=1000.0 + 2 * 86_400)
    assert store._db.execute("SELECT COUNT(*) FROM kept_reviews").fetchone()[0] == 0
    store.close()
