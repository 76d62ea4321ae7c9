"""The services every surface shares: opened once, retention applied at start
and then on a schedule, by `serve slack` as by the others."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from bot.app.limits import RateLimit
from bot.app.services import Services, StoreUnavailable
from bot.coach import ConversationKey
from bot.config import Settings, StoreSection
from bot.store import Store
from tests.slack_api_server import (
    SIGNING_SECRET,
    SlackAPIServer,
    free_port,
    serve_slack,
    stop,
    wait_listening,
)

KEY = ConversationKey("slack", "T0TEAM", "U0ALICE")
OLD = time.time() - 40 * 86_400


def _old_review(store: Store) -> None:
    store.add_review(KEY, {"kind": "draft", "draft": "Supprimez la photo.", "language": "fr", "verdict": "block",
                           "risk": 80, "categories": ["deletion_demand"], "scores": {}}, now=OLD)


def _drafts(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT draft FROM reviews")]


def test_services_apply_the_retention_when_they_open_and_on_schedule(tmp_path: Path) -> None:
    settings = Settings(store=StoreSection(data_dir=str(tmp_path), retention_days=30))
    store = Store.in_data_dir(tmp_path, retention_days=30)
    _old_review(store)
    services = Services.open(settings, store=store)
    assert store.reviews(KEY)[0]["draft"] == ""  # erased at start, verdict kept for the figures
    assert store.reviews(KEY)[0]["verdict"] == "block"

    _old_review(store)

    async def one_period() -> None:
        task = asyncio.create_task(services.keep_applying_retention(every=0.05))
        await asyncio.sleep(0.3)
        task.cancel()

    asyncio.run(one_period())
    assert [r["draft"] for r in store.reviews(KEY)] == ["", ""]
    services.close()


def test_an_unwritable_data_folder_says_what_to_change(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreUnavailable, match=r"store\.data_dir"):
        Services.open(Settings(store=StoreSection(data_dir=str(blocker / "data"))))


async def test_serve_slack_applies_the_retention_at_start(tmp_path: Path) -> None:
    store = Store.in_data_dir(tmp_path, retention_days=30)
    _old_review(store)
    store.close()
    api = await SlackAPIServer().start()
    port = free_port()
    proc = serve_slack(api.api_url, tmp_path, "--http", "--port", str(port), SLACK_BOT_TOKEN="xoxb-1-2-retention",
                       SLACK_SIGNING_SECRET=SIGNING_SECRET, CM_COACH_SLACK_HOST="127.0.0.1",
                       CM_COACH_STORE_RETENTION_DAYS="30")
    try:
        await wait_listening(port, proc)
    finally:
        await stop(proc)
        await api.stop()
    assert _drafts(tmp_path / "cm-coach.sqlite3") == [""]


def test_a_rate_limit_counts_each_person_apart_and_says_how_long_to_wait() -> None:
    now = [0.0]
    limit = RateLimit(2, 60.0, clock=lambda: now[0])
    assert limit.retry_after("ann") == 0 and limit.retry_after("ann") == 0
    assert limit.retry_after("ann") == pytest.approx(60.0)
    assert limit.retry_after("bob") == 0
    now[0] = 30.0
    assert limit.retry_after("ann") == pytest.approx(30.0)
    now[0] = 60.0
    assert limit.retry_after("ann") == 0
    assert RateLimit(0, 60.0).retry_after("ann") == 0  # no limit


def test_a_database_out_of_reach_says_what_to_check_and_hides_its_password(tmp_path: Path) -> None:
    url = "postgresql://cm:s3cret-pass@127.0.0.1:1/cm"  # nothing listens on port 1
    with pytest.raises(StoreUnavailable) as caught:
        Services.open(Settings(store=StoreSection(data_dir=str(tmp_path), url=url)))
    assert "store.url" in str(caught.value) and "s3cret-pass" not in str(caught.value)
