"""The tables as SQLAlchemy Core sees them, for the queries. The migrations create
them; this mirrors what they leave (tests/test_store.py checks it on each backend)."""

from __future__ import annotations

from sqlalchemy import Column, Double, Integer, MetaData, Table, Text

metadata = MetaData()


def _person(*, key: bool) -> list[Column[str]]:
    return [Column("platform", Text, primary_key=key, nullable=False),
            Column("workspace", Text, primary_key=key, nullable=False),
            Column("user", Text, primary_key=key, nullable=False)]


processed_events = Table(
    "processed_events", metadata,
    Column("platform", Text, primary_key=True),
    Column("event_id", Text, primary_key=True),
    Column("seen_at", Double, nullable=False),
)

conversations = Table(
    "conversations", metadata,
    *_person(key=True),
    Column("state", Text, nullable=False),
    Column("updated_at", Double, nullable=False),
    Column("version", Integer, nullable=False, server_default="0"),
)

reviews = Table(
    "reviews", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    *_person(key=False),
    Column("kind", Text, nullable=False),
    Column("draft", Text, nullable=False),
    Column("context", Text),
    Column("language", Text, nullable=False),
    Column("verdict", Text, nullable=False),
    Column("risk", Integer, nullable=False),
    Column("categories", Text, nullable=False),
    Column("scores", Text, nullable=False),
    Column("created_at", Double, nullable=False),
)

drill_progress = Table(
    "drill_progress", metadata,
    *_person(key=True),
    Column("case_id", Text, primary_key=True),
    Column("attempts", Integer, nullable=False),
    Column("best_score", Integer, nullable=False),
    Column("last_score", Integer, nullable=False),
    Column("updated_at", Double, nullable=False),
)

audit = Table(
    "audit", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    *_person(key=False),
    Column("action", Text, nullable=False),
    Column("detail", Text, nullable=False),
    Column("created_at", Double, nullable=False),
)

kept_reviews = Table(
    "kept_reviews", metadata,
    Column("id", Text, primary_key=True),
    *_person(key=False),
    Column("review", Text, nullable=False),
    Column("created_at", Double, nullable=False),
)

work = Table(
    "work", metadata,
    Column("id", Text, primary_key=True),
    *_person(key=False),
    Column("kind", Text, nullable=False),
    Column("payload", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("taken_by", Text),
    Column("taken_at", Double),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("answer", Text),
    Column("created_at", Double, nullable=False),
    Column("done_at", Double),
)

channel_brands = Table(
    "channel_brands", metadata,
    Column("platform", Text, primary_key=True),
    Column("workspace", Text, primary_key=True),
    Column("channel", Text, primary_key=True),
    Column("brand", Text, nullable=False),
    Column("set_by", Text, nullable=False),
    Column("updated_at", Double, nullable=False),
)

approvals = Table(
    "approvals", metadata,
    Column("id", Text, primary_key=True),
    *_person(key=False),
    Column("channel", Text, nullable=False),
    Column("version", Text, nullable=False),
    Column("review", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("decided_by", Text),
    Column("note", Text),
    Column("message_channel", Text),
    Column("message_ts", Text),
    Column("created_at", Double, nullable=False),
    Column("decided_at", Double),
)

crisis = Table(
    "crisis", metadata,
    Column("scope", Text, primary_key=True),
    Column("until", Double, nullable=False),
    Column("started_by", Text, nullable=False),
    Column("started_at", Double, nullable=False),
)
