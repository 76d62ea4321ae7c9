"""`cm-coach serve slack`: start-up checks that name what to fix, and the real
command serving HTTP mode against the Slack Web API server on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from tests.slack_api_server import (
    SIGNING_SECRET,
    SignedSender,
    SlackAPIServer,
    ThreadedSlackAPI,
    free_port,
    serve_slack,
    stop,
    wait_listening,
)

SECRET_BOT_TOKEN = "xoxb-1234-5678-secretvalue"
SECRET_APP_TOKEN = "xapp-1-A0APP-1234-secretvalue"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "CM_COACH_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no ./cm-coach.toml from elsewhere
    monkeypatch.setenv("CM_COACH_STORE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CM_COACH_REVIEW_ENGINE", "offline")
    return monkeypatch


def _serve(capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    code = main(["serve", "slack", *extra])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


@pytest.mark.parametrize(("variables", "args", "named", "hint"), [
    ({}, [], "SLACK_BOT_TOKEN is not set", "OAuth & Permissions"),
    ({"SLACK_BOT_TOKEN": "xoxp-user-token"}, [], "SLACK_BOT_TOKEN does not look like a Bot User OAuth Token",
     "start with xoxb-"),
    ({"SLACK_BOT_TOKEN": SECRET_BOT_TOKEN}, [], "SLACK_APP_TOKEN is not set", "App-Level Tokens"),
    ({"SLACK_BOT_TOKEN": SECRET_BOT_TOKEN, "SLACK_APP_TOKEN": "xoxb-wrong-kind"}, [],
     "SLACK_APP_TOKEN does not look like an App-Level Token",
     "start with xapp-"),
    ({"SLACK_BOT_TOKEN": SECRET_BOT_TOKEN}, ["--http"], "SLACK_SIGNING_SECRET is not set", "Signing Secret"),
    ({"SLACK_BOT_TOKEN": SECRET_BOT_TOKEN, "SLACK_SIGNING_SECRET": "not a secret!"}, ["--http"],
     "SLACK_SIGNING_SECRET does not look like a signing secret", "Signing Secret"),
    ({"SLACK_BOT_TOKEN": SECRET_BOT_TOKEN, "SLACK_APP_TOKEN": SECRET_APP_TOKEN}, ["--port", "3100"],
     "--port is for HTTP mode", "--http"),
])
def test_a_missing_or_malformed_setting_stops_start_up_with_what_to_do(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], variables: dict[str, str], args: list[str],
    named: str, hint: str,
) -> None:
    for name, value in variables.items():
        env.setenv(name, value)
    code, err = _serve(capsys, *args)
    assert code == 2
    assert named in err and hint in err
    assert "api.slack.com/apps" in err or "--http" in err
    assert "secretvalue" not in err


def _socket_mode_against(env: pytest.MonkeyPatch, api_url: str) -> None:
    """Well-formed tokens for Socket Mode, and the Web API at api_url."""
    env.setenv("CM_COACH_SLACK_API_URL", api_url)
    env.setenv("SLACK_BOT_TOKEN", SECRET_BOT_TOKEN)
    env.setenv("SLACK_APP_TOKEN", SECRET_APP_TOKEN)


def test_a_token_slack_refuses_stops_start_up(env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with ThreadedSlackAPI() as api:
        api.errors["auth.test"] = "invalid_auth"
        _socket_mode_against(env, api.api_url)
        code, err = _serve(capsys)
    assert code == 2
    assert "Slack refused SLACK_BOT_TOKEN (invalid_auth)" in err and "secretvalue" not in err
    assert [c.method for c in api.calls] == ["auth.test"]


def test_an_app_token_slack_refuses_stops_socket_mode(env: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    with ThreadedSlackAPI() as api:
        api.errors["apps.connections.open"] = "invalid_auth"
        _socket_mode_against(env, api.api_url)
        code, err = _serve(capsys)
    assert code == 2
    assert "Slack refused SLACK_APP_TOKEN (invalid_auth)" in err and "connections:write" in err
    opened = api.calls_to("apps.connections.open")
    assert opened and opened[0].token_kind == "xapp"


def test_an_unreachable_slack_api_stops_start_up(env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _socket_mode_against(env, f"http://127.0.0.1:{free_port()}/api/")
    code, err = _serve(capsys)
    assert code == 2 and "cannot reach the Slack Web API" in err and "slack.api_url" in err


async def test_serve_in_http_mode_answers_a_signed_review(tmp_path: Path) -> None:
    api = await SlackAPIServer().start()
    port = free_port()
    proc = serve_slack(api.api_url, tmp_path, "--http", "--port", str(port), SLACK_BOT_TOKEN=SECRET_BOT_TOKEN,
                       SLACK_SIGNING_SECRET=SIGNING_SECRET, CM_COACH_SLACK_HOST="127.0.0.1")
    try:
        await wait_listening(port, proc)
        async with SignedSender(f"http://127.0.0.1:{port}/slack/events") as slack:
            reply = await slack.command("Please delete the photo and DM us.", response_url=api.response_url("cli"))
            assert reply.status == 200 and "Reviewing" in reply.json()["text"]
            unsigned = await slack.command("x", response_url=api.response_url("no"), sign=False)
            assert unsigned.status == 401
        posted = await api.wait_for(lambda: api.posted_to("cli"), timeout=10)
        assert posted[0].body["blocks"][0]["text"]["text"].startswith("Do not post")
        assert api.calls_to("auth.test")
    finally:
        err = await stop(proc)
        await api.stop()
    text = err.decode()
    assert proc.returncode == 0, text  # SIGTERM is a clean stop
    assert "HTTP mode on http://127.0.0.1:" in text
    assert "secretvalue" not in text and SIGNING_SECRET not in text


async def test_serve_in_socket_mode_answers_a_review(tmp_path: Path) -> None:
    api = await SlackAPIServer().start()
    proc = serve_slack(api.api_url, tmp_path, SLACK_BOT_TOKEN=SECRET_BOT_TOKEN, SLACK_APP_TOKEN=SECRET_APP_TOKEN)
    try:
        await api.wait_for(lambda: api.sockets, timeout=20)
        command = {"team_id": "T0TEST", "channel_id": "C0TEAM", "user_id": "U0ALICE", "command": "/review",
                   "text": "Please delete the photo and DM us.", "api_app_id": "A0APP",
                   "response_url": api.response_url("socket"), "trigger_id": "t.9"}
        envelope = await api.push("slash_commands", command)
        acks = await api.wait_for(lambda: api.socket_acks.get(envelope), timeout=10)
        assert "Reviewing" in acks["payload"]["text"]
        posted = await api.wait_for(lambda: api.posted_to("socket"), timeout=10)
        assert posted[0].body["blocks"][0]["text"]["text"].startswith("Do not post")
        # apps.connections.open was asked with the app-level token; the review went through response_url.
        assert {c.token_kind for c in api.calls_to("apps.connections.open")} == {"xapp"}
    finally:
        err = await stop(proc)
        await api.stop()
    assert "Socket Mode connected" in err.decode()
    assert proc.returncode == 0
