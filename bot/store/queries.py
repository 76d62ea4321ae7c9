"""Every statement the store runs, built once per dialect with named parameters, so
that a call only binds values: building a statement on each call would cost
several times what SQLite takes to run it.

Dialect-neutral Core constructs throughout; the one difference is the INSERT that
takes ON CONFLICT, for which each dialect has its own construct. SQLite's
two-argument MAX (PostgreSQL's GREATEST) is written as CASE, which both read.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Delete,
    Insert,
    Select,
    Table,
    Update,
    and_,
    bindparam,
    case,
    delete,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from bot.store import schema
from bot.store.base import USER_TABLES, UserKey, who

# The person a statement is about: parameters of their own, apart from the columns'.
_PERSON = ("who_platform", "who_workspace", "who_user")


def person(key: UserKey) -> dict[str, str]:
    """The parameters of `_mine`, for this person."""
    return dict(zip(_PERSON, who(key), strict=True))


def _mine(table: Table) -> ColumnElement[bool]:
    """The rows of `table` about the person `person()` gives the parameters of."""
    return and_(*(table.c[column] == bindparam(name)
                  for column, name in zip(("platform", "workspace", "user"), _PERSON, strict=True)))


@dataclass(frozen=True)
class Queries:
    mark_event: Insert
    load_conversation: Select[Any]
    save_conversation: Insert
    start_conversation: Insert
    update_conversation: Update
    add_review: Insert
    reviews: Select[Any]
    reviews_since: Select[Any]
    platform_reviews_since: Select[Any]
    record_drill: Insert
    drill_progress: Select[Any]
    audit: Insert
    audit_trail: Select[Any]
    audit_since: Select[Any]
    keep_review: Insert
    kept_review: Select[Any]
    add_work: Insert
    claim_work: Update
    take_work: Update
    claimed_work: Select[Any]
    finish_work: Update
    release_work: Update
    pending_work: Select[Any]
    channel_brand: Select[Any]
    set_channel_brand: Insert
    clear_channel_brand: Delete
    purge: tuple[Update | Delete, ...]
    forget: tuple[Delete, ...]
    forget_workspace: tuple[Delete, ...]


@cache
def queries(dialect: str) -> Queries:
    upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    c, r, d = schema.conversations.c, schema.reviews.c, schema.drill_progress.c
    a, k, w = schema.audit.c, schema.kept_reviews.c, schema.work.c

    saved = upsert(schema.conversations)
    save_conversation = saved.on_conflict_do_update(
        index_elements=[c.platform, c.workspace, c.user],
        set_={"state": saved.excluded.state, "updated_at": saved.excluded.updated_at, "version": c.version + 1},
    )
    drilled = upsert(schema.drill_progress)
    record_drill = drilled.on_conflict_do_update(
        index_elements=[d.platform, d.workspace, d.user, d.case_id],
        set_={"attempts": d.attempts + 1,
              "best_score": case((drilled.excluded.best_score > d.best_score, drilled.excluded.best_score),
                                 else_=d.best_score),
              "last_score": drilled.excluded.last_score, "updated_at": drilled.excluded.updated_at},
    )
    take_work = (
        update(schema.work)
        .where(w.id == bindparam("work_id"), w.state == "pending")
        .values(state="taken", taken_by=bindparam("worker"), taken_at=bindparam("at"), attempts=w.attempts + 1)
    )
    claimed = (w.id, w.platform, w.workspace, w.user, w.kind, w.payload, w.attempts, w.created_at)
    cutoff = bindparam("cutoff")
    team_review = (r.id, r.platform, r.workspace, r.user, r.kind, r.language, r.verdict, r.risk, r.categories,
                   r.scores, r.created_at)
    b = schema.channel_brands.c
    the_channel = and_(b.platform == bindparam("platform"), b.workspace == bindparam("workspace"),
                       b.channel == bindparam("channel"))
    chosen = upsert(schema.channel_brands)
    set_channel_brand = chosen.on_conflict_do_update(
        index_elements=[b.platform, b.workspace, b.channel],
        set_={"brand": chosen.excluded.brand, "set_by": chosen.excluded.set_by,
              "updated_at": chosen.excluded.updated_at},
    )
    return Queries(
        channel_brand=select(b.brand).where(the_channel),
        set_channel_brand=set_channel_brand,
        clear_channel_brand=delete(schema.channel_brands).where(the_channel),
        mark_event=upsert(schema.processed_events).on_conflict_do_nothing(),
        load_conversation=select(c.state, c.version).where(_mine(schema.conversations)),
        save_conversation=save_conversation,
        start_conversation=upsert(schema.conversations).on_conflict_do_nothing(),
        update_conversation=(
            update(schema.conversations)
            .where(_mine(schema.conversations), c.version == bindparam("expected"))
            .values(state=bindparam("new_state"), updated_at=bindparam("new_updated_at"), version=c.version + 1)
        ),
        add_review=insert(schema.reviews),
        reviews=(
            select(r.id, r.kind, r.draft, r.context, r.language, r.verdict, r.risk, r.categories, r.scores,
                   r.created_at)
            .where(_mine(schema.reviews)).order_by(r.created_at, r.id)
        ),
        # The team's figures: never the draft nor the customer's message.
        reviews_since=select(*team_review).where(r.created_at >= bindparam("since")).order_by(r.created_at, r.id),
        platform_reviews_since=(
            select(*team_review)
            .where(r.created_at >= bindparam("since"), r.platform == bindparam("review_platform"))
            .order_by(r.created_at, r.id)
        ),
        record_drill=record_drill,
        drill_progress=(
            select(d.case_id, d.attempts, d.best_score, d.last_score, d.updated_at)
            .where(_mine(schema.drill_progress)).order_by(d.updated_at)
        ),
        audit=insert(schema.audit),
        audit_trail=select(a.action, a.detail, a.created_at).where(_mine(schema.audit)).order_by(a.id),
        audit_since=(
            select(a.platform, a.workspace, a.user, a.action, a.detail, a.created_at)
            .where(a.created_at >= bindparam("since"), a.action.in_(bindparam("actions", expanding=True)))
            .order_by(a.created_at, a.id)
        ),
        keep_review=insert(schema.kept_reviews),
        kept_review=(
            select(k.platform, k.workspace, k.user, k.review, k.created_at).where(k.id == bindparam("review_id"))
        ),
        add_work=insert(schema.work),
        # One statement takes the work: under concurrency, one instance's UPDATE finds it
        # pending, the others' find it taken.
        claim_work=take_work.returning(*claimed),
        take_work=take_work,
        claimed_work=select(*claimed).where(w.id == bindparam("work_id")),
        finish_work=(
            update(schema.work).where(w.id == bindparam("work_id"))
            .values(state="done", answer=bindparam("new_answer"), done_at=bindparam("at"), payload="{}")
        ),
        release_work=(
            update(schema.work)
            .where(w.platform == bindparam("work_platform"), w.state == "taken",
                   or_(w.taken_at < cutoff, w.taken_by.in_(bindparam("stale", expanding=True))))
            .values(state="pending")
        ),
        pending_work=(
            select(w.id, w.state, w.taken_by, w.created_at)
            .where(w.platform == bindparam("work_platform"), w.state != "done", w.created_at >= bindparam("since"))
            .order_by(w.created_at)
        ),
        purge=(
            # Old reviews keep their verdict and scores, not the draft or the customer's message.
            update(schema.reviews)
            .where(r.created_at < cutoff, or_(r.draft != "", r.context.is_not(None)))
            .values(draft="", context=None),
            delete(schema.conversations).where(c.updated_at < cutoff),
            delete(schema.processed_events).where(schema.processed_events.c.seen_at < cutoff),
            delete(schema.kept_reviews).where(k.created_at < cutoff),
            # Done work keeps no draft (finish_work empties it); unfinished work
            # older than the retention can no longer be answered.
            delete(schema.work).where(or_(w.created_at < cutoff,
                                          and_(w.state == "done", w.done_at < bindparam("done_before")))),
        ),
        forget=tuple(delete(schema.metadata.tables[t]).where(_mine(schema.metadata.tables[t])) for t in USER_TABLES),
        # Everyone's rows in one workspace, and its channels' settings (an uninstalled app).
        forget_workspace=tuple(
            delete(table).where(table.c.platform == bindparam("the_platform"),
                                table.c.workspace == bindparam("the_workspace"))
            for table in (*(schema.metadata.tables[t] for t in USER_TABLES), schema.channel_brands)),
    )
