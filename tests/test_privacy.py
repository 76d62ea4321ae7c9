"""Private by default: file modes, text that cannot be encoded, turns that must not
overwrite each other, Slack's signature checked before anything is parsed, secrets
kept out of logs and of `cm-coach doctor`, and user text that Slack leaves verbatim."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import logging
import os
import stat
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, ClientTimeout
from slack_sdk.web.async_client import AsyncWebClient

from bot.cli import main
from bot.coach import Coach, ConversationKey
from bot.config import LLMSection, ReviewSection, Settings, SlackSection, StoreSection
from bot.doctor import run as doctor
from bot.logsafe import install_log_redaction, redact
from bot.platforms.slack.app import build_app
from bot.platforms.slack.serve import start_http
from bot.render import slack as sr
from bot.review.models import Finding, Review, Rewrite, RuleScore, Span
from bot.review.reviewer import Reviewer
from bot.store import ConflictError, Store
from tests.slack_api_server import (
    BOT_TOKEN,
    SIGNING_SECRET,
    SignedSender,
    SlackAPIServer,
    free_port,
)

ANN = ConversationKey("slack", "T1", "U-ann")
EN_DRAFT = "Before we can investigate, could I ask you to remove the photograph & then DM us more info."
LONE = "\ud83d"  # half of a UTF-16 pair, as a broken client or paste can send


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@contextmanager
def umask(value: int) -> Iterator[None]:
    previous = os.umask(value)
    try:
        yield
    finally:
        os.umask(previous)


def record(draft: str = "Thanks, we're on it.", context: str | None = "It broke.") -> dict[str, Any]:
    return {"kind": "draft", "draft": draft, "context": context, "language": "en", "verdict": "post",
            "risk": 10, "categories": [], "scores": {"react": 7}}


# -- 1. file modes ---------------------------------------------------------------


def test_the_data_folder_is_0700_and_the_database_files_0600(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with umask(0o022):  # a usual umask: without care, everything would be readable by all
        store = Store.in_data_dir(data)
        try:
            store.add_review(ANN, record())
            store.save_conversation(ANN, {"lang": "en"})
            files = [data / f"cm-coach.sqlite3{suffix}" for suffix in ("", "-wal", "-shm")]
            existing = [f for f in files if f.exists()]
            assert mode(data) == 0o700
            assert files[0] in existing and len(existing) >= 2  # WAL mode: -wal and -shm while open
            assert {f.name: mode(f) for f in existing} == {f.name: 0o600 for f in existing}
        finally:
            store.close()
        assert os.umask(0o022) == 0o022  # the process's umask came back


def test_an_existing_folder_and_database_are_tightened_on_open(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    Store.in_data_dir(data).close()
    db = data / "cm-coach.sqlite3"
    db.chmod(0o644)
    data.chmod(0o755)
    store = Store.in_data_dir(data)
    try:
        assert mode(data) == 0o700
        assert mode(db) == 0o600
    finally:
        store.close()


# -- 2. code points that cannot be encoded -------------------------------------------


# Each test taking `store_url` runs on SQLite and on PostgreSQL (tests/conftest.py).


def test_the_store_replaces_lone_surrogates_instead_of_failing(store_url: str) -> None:
    store = Store(url=store_url)
    try:
        store.add_review(ANN, record(f"Sorry {LONE} about that", f"Broken {LONE}"))
        store.save_conversation(ANN, {"current": {"draft": f"x{LONE}y"}})
        kept = store.keep_review(ANN, {"draft": f"kept {LONE}"})
        store.audit(ANN, "review", f"detail {LONE}")
        store.record_drill(ANN, f"case{LONE}", 50)
        review = store.reviews(ANN)[0]
        assert review["draft"] == "Sorry \ufffd about that" and review["context"] == "Broken \ufffd"
        assert store.load_conversation(ANN) == {"current": {"draft": "x\ufffdy"}}
        found = store.kept_review(kept)
        assert found is not None and found[1] == {"draft": "kept \ufffd"}
        assert store.audit_trail(ANN)[0]["detail"] == "detail \ufffd"
        assert "case\ufffd" in store.drill_progress(ANN)
    finally:
        store.close()


def test_the_store_replaces_nul_and_keeps_it_in_json(store_url: str) -> None:
    """PostgreSQL refuses NUL in text: a column gets U+FFFD; JSON escapes it, so it comes back."""
    who = ConversationKey("slack", "T1", f"U{LONE}\x00x")
    store = Store(url=store_url)
    try:
        store.add_review(who, record("Sorry\x00 about that", "Broken\x00"))
        store.save_conversation(who, {"draft": "a\x00b"})
        work_id = store.submit_work("slack", who, "event\x00", {"text": "c\x00d"}, event_id="Ev\x00")
        assert work_id is not None
        review = store.reviews(who)[0]
        assert review["draft"] == "Sorry\ufffd about that" and review["context"] == "Broken\ufffd"
        assert store.load_conversation(who) == {"draft": "a\x00b"}
        assert store.mark_event("slack", "Ev\ufffd") is False
        taken = store.claim_work(work_id, "host:1")
        assert taken is not None and taken["user"] == "U\ufffd\ufffdx" and taken["payload"] == {"text": "c\x00d"}
        assert store.forget(who) == 3
    finally:
        store.close()


def test_the_review_command_replaces_lone_surrogates(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["review", "--engine", "offline", "--format", "json", "--context", f"Broken seat {LONE}",
                 f"Please delete the photo {LONE} and DM us."])
    out = capsys.readouterr()
    assert code in (0, 1), out.err
    assert "Traceback" not in out.err
    review = json.loads(out.out)
    assert review["draft"] == "Please delete the photo \ufffd and DM us."
    assert review["context"] == "Broken seat \ufffd"


async def test_a_coaching_turn_with_a_lone_surrogate_is_reviewed_and_kept(store_url: str) -> None:
    store = Store(url=store_url)
    coach = Coach(Reviewer(Settings(), engine="offline"), store)
    try:
        reply = await coach.handle(ANN, f"Please delete the photo {LONE} and DM us.")
        assert reply.kind == "review"
        assert store.reviews(ANN)[0]["draft"] == "Please delete the photo \ufffd and DM us."
    finally:
        store.close()


# -- 3. two instances on one database -----------------------------------------------


def test_a_save_on_a_version_another_instance_replaced_is_a_conflict(store_url: str) -> None:
    one, two = Store(url=store_url), Store(url=store_url)
    try:
        # Both start the conversation: the second insert is refused.
        (state_1, v1), (state_2, v2) = one.load_conversation_versioned(ANN), two.load_conversation_versioned(ANN)
        assert state_1 is state_2 is None and v1 == v2 == 0
        one.save_conversation(ANN, {"turns": ["a"]}, expected_version=v1)
        with pytest.raises(ConflictError):
            two.save_conversation(ANN, {"turns": ["b"]}, expected_version=v2)
        # Both load the same version; the first save wins, the second is refused.
        (state_1, v1), (state_2, v2) = one.load_conversation_versioned(ANN), two.load_conversation_versioned(ANN)
        assert v1 == v2 == 1 and state_1 == state_2 == {"turns": ["a"]}
        one.save_conversation(ANN, {"turns": ["a", "c"]}, expected_version=v1)
        with pytest.raises(ConflictError):
            two.save_conversation(ANN, {"turns": ["a", "d"]}, expected_version=v2)
        # Reloaded, the second applies its change on top.
        state, version = two.load_conversation_versioned(ANN)
        assert state is not None and version == 2
        two.save_conversation(ANN, {"turns": [*state["turns"], "d"]}, expected_version=version)
        assert one.load_conversation(ANN) == {"turns": ["a", "c", "d"]}
        # A conversation forgotten meanwhile is not brought back by a late save.
        _, version = two.load_conversation_versioned(ANN)
        one.forget(ANN)
        with pytest.raises(ConflictError):
            two.save_conversation(ANN, {"turns": ["late"]}, expected_version=version)
        assert one.load_conversation(ANN) is None
    finally:
        one.close()
        two.close()


class PausingStore(Store):
    """An instance's store that waits, after its first load, until the other instance has
    loaded too: both then work on the same version of the conversation."""

    def __init__(self, url: str, barrier: threading.Barrier) -> None:
        super().__init__(url=url)
        self.barrier = barrier
        self.loads = 0

    def load_conversation_versioned(self, key: Any) -> tuple[dict[str, Any] | None, int]:
        loaded = super().load_conversation_versioned(key)
        self.loads += 1
        if self.loads == 1:
            self.barrier.wait(timeout=20)
        return loaded


def test_two_instances_answering_follow_ups_at_once_keep_both(store_url: str) -> None:
    first = Store(url=store_url)
    try:
        start = asyncio.run(Coach(Reviewer(Settings(), engine="offline"), first).handle(ANN, EN_DRAFT))
        assert start.kind == "review"
    finally:
        first.close()
    barrier = threading.Barrier(2)
    stores = [PausingStore(store_url, barrier), PausingStore(store_url, barrier)]
    replies: dict[str, Any] = {}

    def instance(store: Store, words: str) -> None:
        coach = Coach(Reviewer(Settings(), engine="offline"), store)
        replies[words] = asyncio.run(coach.handle(ANN, words))

    threads = [threading.Thread(target=instance, args=(s, w))
               for s, w in zip(stores, ("shorter", "warmer"), strict=True)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert all(not t.is_alive() for t in threads)
        assert {w: r.kind for w, r in replies.items()} == {"shorter": "rewrite", "warmer": "rewrite"}
        assert sorted(s.loads for s in stores) == [1, 2]  # one instance had to apply its turn again
        state = stores[0].load_conversation(ANN)
        assert state is not None
        assert sorted(v["how"] for v in state["current"]["versions"]) == ["shorter", "warmer"]
    finally:
        for s in stores:
            s.close()


# -- 4. Slack HTTP mode: the signature before the body ---------------------------------


@dataclass
class Served:
    url: str
    api: SlackAPIServer


@asynccontextmanager
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    api = await SlackAPIServer().start()
    settings = Settings(review=ReviewSection(engine="offline"),
                        slack=SlackSection(api_url=api.api_url, review_processes=0),
                        store=StoreSection(data_dir=str(tmp_path)))
    store = Store(tmp_path / "slack.sqlite3")
    app = build_app(settings, client=AsyncWebClient(token=BOT_TOKEN, base_url=api.api_url), store=store,
                    signing_secret=SIGNING_SECRET)
    runner, port = await start_http(app, "127.0.0.1", 0)
    try:
        yield Served(f"http://127.0.0.1:{port}/slack/events", api)
    finally:
        await runner.cleanup()
        app.cm_coach.close()
        await api.stop()
        store.close()


def malformed(n: int) -> tuple[bytes, dict[str, str]]:
    """The n-th body and headers of a request that is neither signed nor well formed."""
    bodies = [bytes(range(256)) * (1 + n % 3), b"{not json", b'{"type": "url_verification", "challenge": ',
              b"payload=%7Bbroken", b"\xff\xfe\xfd", b"[1, 2, 3]", b"", b"a=%zz&&&=&payload"]
    headers = [{}, {"X-Slack-Request-Timestamp": "nonsense", "X-Slack-Signature": "v0=00"},
               {"X-Slack-Request-Timestamp": "1", "X-Slack-Signature": "v0=" + "0" * 64},
               {"X-Slack-Signature": "\u00e9\u00e9"}]
    types = ["application/json", "application/x-www-form-urlencoded", "text/plain; charset=klingon"]
    return bodies[n % len(bodies)], {"Content-Type": types[n % len(types)], **headers[n % len(headers)]}


async def test_unsigned_malformed_bodies_get_401_and_one_line_each(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    async with served(tmp_path) as server, ClientSession(timeout=ClientTimeout(total=10)) as http:
        caplog.clear()
        caplog.set_level(logging.DEBUG)
        statuses = []
        for n in range(50):
            body, headers = malformed(n)
            async with http.post(server.url, data=body, headers=headers) as resp:
                statuses.append(resp.status)
        records = list(caplog.records)
    assert statuses == [401] * 50
    assert "Traceback" not in caplog.text
    assert not [r for r in records if r.exc_info]
    assert len(records) <= 50
    assert all("\n" not in r.getMessage() for r in records)
    assert not server.api.calls  # nothing reached the app


async def test_a_signed_body_bolt_cannot_read_is_a_400_and_a_signed_good_one_goes_through(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    async with served(tmp_path) as server, SignedSender(server.url) as slack:
        caplog.set_level(logging.INFO)
        broken = await slack.post("{not json", "application/json")
        listed = await slack.post("[1, 2]", "application/json")
        verification = await slack.post(json.dumps({"type": "url_verification", "challenge": "c-123",
                                                    "token": "legacy"}), "application/json")
    assert broken.status == 400 and listed.status == 400
    assert verification.status == 200 and "c-123" in verification.text
    assert "Traceback" not in caplog.text and not [r for r in caplog.records if r.exc_info]


# -- 5. secrets out of logs and out of doctor -----------------------------------------------

RESPONSE_URL = "https://hooks.slack.com/commands/T0TEST/1234567890/AbCdEfGhIjKlMnOp"
TOKENS = ("xoxb-1234-5678-secretbot", "xapp-1-A0APP-1234-secretapp", "xoxp-9-secretuser",
          "sk-proj-secretopenai1234")


@contextmanager
def root_logging_to(stream: io.StringIO, *names: str) -> Iterator[None]:
    """The root logger writing to `stream` alone at DEBUG, as basicConfig would set it up, and
    the loggers `names` at DEBUG too (Bolt copies the root's level into its loggers when made)."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    saved_levels = {name: logging.getLogger(name).level for name in names}
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.handlers = [handler]
    for logger in (root, *map(logging.getLogger, names)):
        logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.handlers, root.level = saved_handlers, saved_level
        for name, level in saved_levels.items():
            logging.getLogger(name).setLevel(level)


def test_logs_from_any_library_carry_no_response_url_token_or_credentials() -> None:
    out = io.StringIO()
    form = (f"token=legacy-verification&team_id=T0TEST&response_url={RESPONSE_URL.replace('/', '%2F')}"
            "&text=hi")
    with root_logging_to(out, "slack_bolt.AsyncApp", "slack_bolt.lazy"):
        install_log_redaction()
        bolt = logging.getLogger("slack_bolt.AsyncApp")
        bolt.debug("Received: %s", form)
        bolt.debug("payload %s", {"response_url": RESPONSE_URL, "user": "U1"})
        logging.getLogger("slack_sdk.web.async_base_client").debug(
            "Sending a request - url: %s, headers: %s", RESPONSE_URL, {"Authorization": f"Bearer {TOKENS[0]}"})
        logging.getLogger("aiohttp.client").debug("tokens %s %s %s", *TOKENS[1:])
        logging.getLogger("openai").debug("POST https://ann:s3cret-pass@llm.example.com/v1/chat?api-key=k3y-value")
        logging.getLogger("cm_coach.slack").info("posting to /commands/T0TEST/1234567890/AbCdEfGhIjKlMnOp")
        try:
            raise RuntimeError(f"cannot post to {RESPONSE_URL}")
        except RuntimeError:
            logging.getLogger("slack_bolt.lazy").exception("lazy listener failed")
    text = out.getvalue()
    assert "Received:" in text and "lazy listener failed" in text and "RuntimeError" in text
    for secret in ("AbCdEfGhIjKlMnOp", "legacy-verification", "s3cret-pass", "k3y-value", *TOKENS):
        assert secret not in text, secret
    assert text.count("***") >= 8


def test_redact_leaves_ordinary_text_alone() -> None:
    text = ("Review 12: block risk 95 for draft sha256:abc; see Basic Information → App Credentials, "
            "https://api.slack.com/apps and ask the task-manager at ann@example.com")
    assert redact(text) == text


def test_doctor_shows_the_base_url_without_credentials_or_secret_parameters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("OPENAI_API_KEY", "CM_COACH_LLM_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    port = free_port()  # nothing listens there: doctor says it cannot reach it
    base = f"http://ann:s3cret-pass@127.0.0.1:{port}/v1?api-version=2024-06-01&api-key=az-s3cret-key"
    settings = Settings(llm=LLMSection(base_url=base, model="m", timeout=0.5, deadline=1.0,
                                       backoff_initial=0.01))
    out = io.StringIO()
    code = doctor(argparse.Namespace(config=None), settings, out=out)
    text = out.getvalue()
    assert code == 1 and "cannot reach" in text
    assert f"endpoint: http://***@127.0.0.1:{port}/v1?api-version=2024-06-01&api-key=***;" in text
    assert "s3cret" not in text and "ann:" not in text


# -- 6. user text stays verbatim in Slack ------------------------------------------------


def mrkdwn_objects(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn":
            yield node
        for value in node.values():
            yield from mrkdwn_objects(value)
    elif isinstance(node, list):
        for item in node:
            yield from mrkdwn_objects(item)


def test_slack_blocks_carrying_user_text_are_verbatim() -> None:
    draft = "Please delete the photo @channel and write to #support or https://example.com/dm"
    context = "Hey @here, look at this seat"
    at = draft.index("delete the photo")
    review = Review(
        verdict="block", risk=90, language="en", engine="offline",
        golden_rules=[RuleScore("react", 0, [])],
        findings=[Finding("deletion_demand", "high", "react", Span(at, at + 25, draft[at:at + 25]),
                          "You ask the person to delete their post.")],
        rewrites=[Rewrite("calm", "Sorry about that seat, @channel: DM us at #support.", "post", [])],
        draft=draft, context=context, platform="x",
    )
    blocks = [*sr.review_blocks(review, "en", ref="r1"),
              *sr.coach_blocks(f"Here is a shorter one:\n\n{draft}", None, None, "en"),
              *sr.notice_blocks("Too long", draft, "en")]
    carrying = [o for o in mrkdwn_objects(blocks) if any(w in o["text"] for w in ("@channel", "@here", "#support"))]
    assert len(carrying) >= 5  # context and draft, finding, rewrite, coaching reply, notice
    assert all(o.get("verbatim") is True for o in carrying), [o for o in carrying if not o.get("verbatim")]
    # Labels the bot writes itself keep Slack's formatting as before.
    header = blocks[0]
    assert header["type"] == "header" and "verbatim" not in header["text"]
