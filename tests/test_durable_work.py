"""Durable work: what Slack was told is being handled is answered, once, even
when the process dies in the middle (SIGKILL) and starts again; the books of
work in the store that make it so; and retries of events."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

import pytest

from bot.app.work import DurableWork
from bot.coach import ConversationKey
from bot.store import Store
from tests.slack_api_server import (
    SIGNING_SECRET,
    SignedSender,
    SlackAPIServer,
    free_port,
    serve_slack,
    stop,
    wait_listening,
)

BOT_TOKEN = "xoxb-1234-5678-durable"
KEY = ConversationKey("slack", "T0TEAM", "U0ALICE")


# -- the books ------------------------------------------------------------------


def test_work_is_taken_by_one_worker_and_done_once(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    first, second = Store(db), Store(db)  # two instances on one database
    a, b = DurableWork(first, "slack", worker="host:1"), DurableWork(second, "slack", worker="host:2")
    work_id = a.submit(KEY, "command", {"text": "Delete that photo."})
    assert work_id
    taken = b.claim(work_id)
    assert taken is not None and taken.payload == {"text": "Delete that photo."} and taken.attempts == 1
    assert a.claim(work_id) is None  # never twice
    b.done(work_id, "response_url")
    assert a.claim(work_id) is None and b.resumable(3600) == []
    first.close()
    second.close()


def test_an_event_id_is_recorded_with_its_work_so_a_retry_adds_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3")
    work = DurableWork(store, "slack", worker="host:1")
    assert work.submit(KEY, "event", {"n": 1}, event_id="Ev1")
    assert work.submit(KEY, "event", {"n": 2}, event_id="Ev1") is None
    assert len(work.resumable(3600)) == 1
    assert store.mark_event("slack", "Ev1") is False  # the same record the middleware reads


def test_work_held_by_a_dead_process_on_this_host_comes_back_and_a_live_ones_does_not(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3")
    host = socket.gethostname()
    dead, live = f"{host}:999999991", f"{host}:{os.getppid()}"
    alive = {999999991: False}
    for worker in (dead, live):
        books = DurableWork(store, "slack", worker=worker)
        books.claim(books.submit(KEY, "command", {"by": worker}))
    restarted = DurableWork(store, "slack", worker=f"{host}:{os.getpid()}",
                            alive=lambda pid: alive.get(pid, True))
    back = restarted.resumable(3600)
    assert len(back) == 1
    assert restarted.claim(back[0]).payload == {"by": dead}  # type: ignore[union-attr]


def test_work_past_its_lease_comes_back_whoever_held_it(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3")
    now = [1000.0]
    other_host = DurableWork(store, "slack", worker="elsewhere:42", clock=lambda: now[0])
    other_host.claim(other_host.submit(KEY, "command", {}))
    here = DurableWork(store, "slack", worker="here:1", lease=300, clock=lambda: now[0])
    assert here.resumable(3600) == []
    now[0] += 301
    assert len(here.resumable(3600)) == 1


def test_forget_and_retention_reach_the_work(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3", retention_days=1)
    work = DurableWork(store, "slack", worker="host:1", clock=lambda: 0.0)
    work.submit(KEY, "command", {"text": "old"})
    assert store.purge(now=2 * 86_400) >= 1 and work.resumable(10**9) == []
    work.submit(KEY, "command", {"text": "mine"})
    assert store.forget(KEY) >= 1 and work.resumable(10**9) == []


# -- a real server killed in the middle ------------------------------------------------


async def _burst(port: int, api: SlackAPIServer, count: int) -> list[str]:
    """`count` signed /review commands at once, from different people; the names of those acked."""
    async with SignedSender(f"http://127.0.0.1:{port}/slack/events") as slack:
        async def one(i: int) -> str | None:
            reply = await slack.command(f"Supprimez cette photo tout de suite, numéro {i}.",
                                        response_url=api.response_url(f"c{i}"), user=f"U{i:04d}")
            acked = reply.status == 200 and ("Relecture" in reply.text or "Reviewing" in reply.text)
            return f"c{i}" if acked else None

        names = await asyncio.gather(*(one(i) for i in range(count)))
    return [n for n in names if n]


@pytest.mark.parametrize("answered_first", [0, 40])
async def test_acked_commands_are_answered_once_after_sigkill_and_restart(tmp_path: Path, answered_first: int) -> None:
    """Killed right after the acks (all pending), or while answers are being sent."""
    api = await SlackAPIServer().start()
    env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
           "CM_COACH_SLACK_HOST": "127.0.0.1"}
    port = free_port()
    proc = serve_slack(api.api_url, tmp_path, "--http", "--port", str(port), **env)
    try:
        await wait_listening(port, proc)
        acked = await _burst(port, api, 150)
        if answered_first:
            await api.wait_for(lambda: len(api.posted) >= answered_first, timeout=60)
        proc.kill()  # SIGKILL: no cleanup, no goodbye
        await asyncio.to_thread(proc.wait, 10)
        await api.settle(0.3)  # what the dead process had already written reaches the server
        answered_before = {p.name for p in api.posted}
        assert len(acked) == 150
        assert len(answered_before) < len(acked), "the kill came too late to test anything"

        proc = serve_slack(api.api_url, tmp_path, "--http", "--port", str(port), **env)
        await wait_listening(port, proc)
        await api.wait_for(lambda: all(api.posted_to(name) for name in acked), timeout=60)
        await api.settle(0.5)
    finally:
        await stop(proc)
        await api.stop()
    for name in acked:
        posts = api.posted_to(name)
        assert posts, name
        # Every answer takes the place of the ack's "Reviewing…" (replace_original): one sent
        # again because the crash came between its sending and its mark is still one message.
        assert all(p.body["replace_original"] is True and p.body["blocks"] for p in posts), name
        headers = {p.body["blocks"][0]["text"]["text"] for p in posts}
        assert len(headers) == 1 and "Something went wrong" not in next(iter(headers)), (name, headers)
        if name not in answered_before:
            assert len(posts) == 1, name  # work nobody had answered is answered once
    assert not [p for p in api.posted if p.name not in acked]


@pytest.fixture(autouse=True)
def _no_config_from_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CM_COACH_CONFIG", raising=False)
