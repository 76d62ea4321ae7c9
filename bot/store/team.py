"""Statements for the team around the reply: approval requests and crisis mode,
built once per dialect like the rest (see queries.py)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Delete, Insert, Select, Update, bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.store import schema

# The states of an approval request; only a pending one can be decided.
PENDING, APPROVED, CHANGES = "pending", "approved", "changes"


@dataclass(frozen=True)
class TeamQueries:
    add_approval: Insert
    approval: Select[Any]
    decide_approval: Update
    set_approval_message: Update
    start_crisis: Insert
    end_crisis: Delete
    crises: Select[Any]
    purge_approvals: Delete


@cache
def team_queries(dialect: str) -> TeamQueries:
    upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    a, c = schema.approvals.c, schema.crisis.c
    started = upsert(schema.crisis)
    return TeamQueries(
        add_approval=insert(schema.approvals),
        approval=select(a.id, a.platform, a.workspace, a.user, a.channel, a.version, a.review, a.state,
                        a.decided_by, a.note, a.message_channel, a.message_ts, a.created_at, a.decided_at)
        .where(a.id == bindparam("approval_id")),
        # One statement decides: two approvers pressing at once, one wins.
        decide_approval=update(schema.approvals)
        .where(a.id == bindparam("approval_id"), a.state == PENDING)
        .values(state=bindparam("new_state"), decided_by=bindparam("by"), note=bindparam("new_note"),
                decided_at=bindparam("at")),
        set_approval_message=update(schema.approvals).where(a.id == bindparam("approval_id"))
        .values(message_channel=bindparam("new_channel"), message_ts=bindparam("new_ts")),
        start_crisis=started.on_conflict_do_update(
            index_elements=[c.scope],
            set_={"until": started.excluded.until, "started_by": started.excluded.started_by,
                  "started_at": started.excluded.started_at}),
        end_crisis=delete(schema.crisis).where(c.scope == bindparam("the_scope")),
        crises=select(c.scope, c.until, c.started_by, c.started_at)
        .where(c.scope.in_(bindparam("scopes", expanding=True))),
        purge_approvals=delete(schema.approvals).where(a.created_at < bindparam("cutoff")),
    )
