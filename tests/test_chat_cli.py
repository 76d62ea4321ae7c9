"""`cm-coach chat` as a real process, driven through a pipe like a user would type."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

FR_DRAFT = "Avant de pouvoir enquêter, merci de supprimer la photo et de nous écrire en MP."
EN_DRAFT = "Before we can investigate, could I ask you to remove the photograph & then DM us more info."


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items()
            if not k.startswith(("CM_COACH_", "OPENAI_")) and k != "NO_COLOR"}
    keep.update({
        "CM_COACH_STORE_DATA_DIR": str(tmp_path / "data"),
        "CM_COACH_REVIEW_ENGINE": "offline",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "HOME": str(tmp_path),
    })
    return keep


def chat(env: dict[str, str], cwd: Path, *lines: str, user: str = "ann", raw: bytes | None = None,
         close: bool = True) -> tuple[int, list[str]]:
    """Run one chat process; return its exit code and one block of output per message."""
    data = raw if raw is not None else ("\n".join(lines) + ("\n" if close else "")).encode("utf-8")
    proc = subprocess.run([sys.executable, "-m", "bot.cli", "chat", "--user", user], input=data,
                          capture_output=True, env=env, cwd=cwd, timeout=30)
    assert proc.stderr.decode() == "", proc.stderr.decode()
    out = proc.stdout.decode("utf-8")
    assert "\x1b[" not in out  # a pipe gets plain text
    return proc.returncode, out


def test_french_session_draft_shorter_why_then_quit(env, tmp_path):
    code, out = chat(env, tmp_path, FR_DRAFT, "plus court", "pourquoi ?", "quit", "stats")
    assert code == 0
    review, rest = out.split("Demandez pourquoi ?", 1)
    assert review.startswith("Voici ma relecture.")
    assert "Ne pas publier" in review
    assert re.search(r"»[^«]*supprim[^«]*«", review)  # the flagged words, marked
    assert "Plus court — relue à nouveau : prêt à publier" in rest
    shorter = rest.split("Plus court — relue à nouveau", 1)[1].split("\n\n")[1]
    assert "[" in shorter and len(shorter) < 200
    assert "Pourquoi :" in rest and "savoir réagir" in rest and "easyJet 2019" in rest
    assert "Vos stats" not in out  # `quit` ended the session before it


def test_english_session_and_practice_to_a_score(env, tmp_path):
    code, out = chat(env, tmp_path, EN_DRAFT, "shorter", "why?", "practice",
                     "We're so sorry: that seat should never have been on board. We're investigating "
                     "this flight now. Could you DM us your booking reference so we can look after you?")
    assert code == 0  # end of input leaves cleanly
    assert out.startswith("Here is my review.") and "Do not post" in out
    assert "Shorter — reviewed again: ready to post" in out
    assert "know how to react" in out and "easyJet 2019" in out
    assert "Practice — easyJet 2019: the seat with no backrest" in out
    score = int(re.search(r"Score: (\d+)/100", out).group(1))
    assert score >= 70 and "What a better reply does" in out


def test_stopped_mid_conversation_and_started_again(env, tmp_path):
    # First process: a draft, a drill started, then the process ends (EOF).
    chat(env, tmp_path, FR_DRAFT, "Nous sommes désolés pour ce retard, nous vérifions votre commande.",
         "entraînement")
    # Second: the drill is answered, the last review is still there to explain.
    code, out = chat(env, tmp_path, GOOD := (
        "Merci de nous l'avoir signalé : ce siège n'aurait jamais dû être proposé et nous vous "
        "présentons nos excuses. Nous enquêtons sur ce vol. Pouvez-vous nous écrire en MP avec "
        "votre référence de réservation ?"), "pourquoi ?")
    assert code == 0
    assert re.search(r"Note : \d+/100", out) and "meilleure note sur ce cas" in out
    assert "Pourquoi :" in out or "Rien de risqué" in out
    # Third: the stats count all three reviews and the practised case.
    _, out = chat(env, tmp_path, "mes stats")
    assert "3 relecture(s)" in out and "Entraînement : 1/7 cas" in out and "easyJet" in out
    assert GOOD  # the drill answer above was a real reply, reviewed in process two


def test_each_user_has_their_own_conversation(env, tmp_path):
    chat(env, tmp_path, FR_DRAFT, user="ann")
    _, out = chat(env, tmp_path, "why?", "stats", user="bob")
    assert "no review yet" in out.lower() and "No reviews yet" in out
    _, out = chat(env, tmp_path, "pourquoi ?", user="ann")
    assert "Demande de suppression" in out


def test_forget_over_the_pipe_leaves_no_row(env, tmp_path):
    chat(env, tmp_path, FR_DRAFT, "plus court", "practice", "Sorry, we're on it.", user="ann")
    chat(env, tmp_path, EN_DRAFT, user="bob")
    _, out = chat(env, tmp_path, "oublie-moi", "oui", user="ann")
    assert "tout ce qui vous concerne a été effacé" in out
    db = sqlite3.connect(Path(env["CM_COACH_STORE_DATA_DIR"]) / "cm-coach.sqlite3")
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        columns = [r[1] for r in db.execute(f"PRAGMA table_info({table})")]
        where = " OR ".join(f"CAST({c} AS TEXT) = 'ann'" for c in columns)
        assert db.execute(f"SELECT COUNT(*) FROM {table} WHERE {where}").fetchone()[0] == 0, table
    assert db.execute("SELECT COUNT(*) FROM reviews WHERE user = 'bob'").fetchone()[0] == 1
    db.close()


def test_bad_input_is_answered_and_the_session_goes_on(env, tmp_path):
    raw = b"\xff\xfe broken\nhelp\n"
    code, out = chat(env, tmp_path, raw=raw)
    assert code == 0
    assert "not UTF-8" in out and "I coach your replies" in out


def test_a_draft_can_span_lines_with_a_backslash(env, tmp_path):
    _, out = chat(env, tmp_path, "We're sorry for the wait. \\", "We're checking your order now.", "stats")
    assert "1 review(s)" in out


def test_unwritable_data_dir_is_a_one_line_error(env, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    env["CM_COACH_STORE_DATA_DIR"] = str(blocker / "data")
    proc = subprocess.run([sys.executable, "-m", "bot.cli", "chat"], input=b"help\n",
                          capture_output=True, env=env, cwd=tmp_path, timeout=30)
    assert proc.returncode == 2
    err = proc.stderr.decode().strip()
    assert err.count("\n") == 0 and "CM_COACH_STORE_DATA_DIR" in err


def test_escape_sequences_sent_by_a_user_are_shown_not_obeyed():
    from bot.coach import CoachReply
    from bot.platforms.console import format_reply

    shown = format_reply(CoachReply("*Why:* « delete\x1b[2J the photo »"), color=True)
    assert "\x1b[2J" not in shown and "\\x1b[2J" in shown
    assert shown.startswith("\x1b[1mWhy:\x1b[0m")
    assert format_reply(CoachReply("*Why:* ok"), color=False) == "Why: ok"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs a Linux pseudo-terminal")
def test_a_terminal_gets_line_editing_and_colours(env, tmp_path):
    import pty
    import select
    import time

    env["TERM"] = "xterm"
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "chat", "--user", "tty"], stdin=slave,
                            stdout=slave, stderr=slave, env=env, cwd=tmp_path, close_fds=True)
    os.close(slave)
    seen = b""

    def read_until(marker: bytes, timeout: float = 10.0) -> None:
        nonlocal seen
        deadline = time.monotonic() + timeout
        while marker not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    seen += os.read(master, 65536)
                except OSError:
                    return

    try:
        read_until("›".encode())
        os.write(master, b"Merci de supprimer la photo.\r")
        read_until(b"Demandez")
        os.write(master, b"pourquoi ?\r")
        read_until(b"Streisand")
        os.write(master, b"quit\r")
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    text = seen.decode("utf-8", "replace")
    assert "\x1b[1m" in text  # colours and bold on a terminal
    assert "Demande de suppression" in text and "easyJet 2019" in text
