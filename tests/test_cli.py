"""The `cm-coach` command line, run as a real subprocess: outputs, exit codes, errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from bot.review.models import CATEGORIES, GOLDEN_RULES, PLATFORMS, SEVERITIES, VERDICTS

SCRIPT = Path(sys.executable).parent / "cm-coach"
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "bot.cli"]
PYCACHE = str(Path(tempfile.gettempdir()) / "cm-coach-test-pycache")

EASYJET_CONTEXT = "Un siège sans dossier dans un avion, comment cela peut-il être autorisé ?"
EASYJET_DRAFT = (
    "Avant que nous puissions enquêter sur le sujet, je vous demande de supprimer la "
    "photographie et de nous donner plus d'informations en messages privés."
)
EN_DELETE = "Please delete the photo of the seat and DM us your booking details."
EN_KIND = (
    "Thank you so much for your kind words about the crew on flight 2021, "
    "we're really glad you enjoyed the trip and hope to see you on board again soon!"
)
FR_KIND = "Merci beaucoup pour votre message, nous sommes ravis que le séjour vous ait plu !"
# Drafts of every kind, both languages, with and without the customer's message.
DRAFTS: list[tuple[str, str | None, str]] = [
    (EASYJET_DRAFT, EASYJET_CONTEXT, "x"),
    (EASYJET_DRAFT, None, "generic"),
    (EN_DELETE, "How can this be allowed? A seat with no backrest on my flight.", "x"),
    (EN_KIND, None, "x"),
    (FR_KIND, "Super séjour, merci à toute l'équipe !", "instagram"),
    ("C'EST LA DERNIÈRE FOIS QUE JE VOUS LE DIS, lisez la FAQ !!!", "Où est ma commande ?", "facebook"),
    ("We will remove any comment like this one. Our lawyers have been informed.", None, "linkedin"),
    ("Tu peux nous écrire en MP ? Nous allons vérifier votre commande.", None, "tiktok"),
    ("ok", None, "google-reviews"),
]


def _env(home: Path, **extra: str) -> dict[str, str]:
    """An environment where no user config, API key or override interferes."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CM_COACH_", "OPENAI_"))
           and k not in ("NO_COLOR", "PYTHONDONTWRITEBYTECODE")}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
               XDG_DATA_HOME=str(home / ".local/share"), PYTHONIOENCODING="utf-8",
               # Bytecode cached outside the tree, so each run starts as an installed tool does.
               PYTHONPYCACHEPREFIX=PYCACHE)
    env.update(extra)
    return env


@pytest.fixture
def cli(tmp_path: Path):
    """Run cm-coach in an empty directory; returns the CompletedProcess."""
    work = tmp_path / "work"
    work.mkdir()

    def run(*args: str, stdin: bytes | None = None, env: dict[str, str] | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [*COMMAND, *args], input=stdin if stdin is not None else b"",
            capture_output=True, env=_env(tmp_path, **(env or {})), cwd=cwd or work, timeout=30,
        )

    return run


def _out(proc: subprocess.CompletedProcess[bytes]) -> str:
    return proc.stdout.decode("utf-8")


def _review_json(cli, draft: str, *args: str) -> dict[str, Any]:
    proc = cli("review", "--format", "json", *args, draft)
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(_out(proc))


def assert_contract(data: dict[str, Any], draft: str) -> None:
    """The review contract (docs/review-contract.md), field by field."""
    for key in ("verdict", "risk", "language", "engine", "golden_rules", "findings", "rewrites"):
        assert key in data, key
    assert data["verdict"] in VERDICTS
    assert type(data["risk"]) is int and 0 <= data["risk"] <= 100
    assert isinstance(data["language"], str) and data["language"]
    assert data["engine"] in ("offline", "llm")
    assert [g["rule"] for g in data["golden_rules"]] == list(GOLDEN_RULES)
    for g in data["golden_rules"]:
        assert type(g["score"]) is int and 0 <= g["score"] <= 10
        assert isinstance(g["notes"], list) and all(isinstance(n, str) for n in g["notes"])
    for f in data["findings"]:
        for key in ("category", "severity", "rule", "span", "message", "case"):
            assert key in f, key
        assert f["category"] in CATEGORIES
        assert f["severity"] in SEVERITIES
        assert f["rule"] in GOLDEN_RULES
        assert isinstance(f["message"], str) and f["message"].strip()
        assert f["case"] is None or isinstance(f["case"], str)
        span = f["span"]
        if span is not None:
            assert set(span) >= {"start", "end", "text"}
            assert type(span["start"]) is int and type(span["end"]) is int
            assert 0 <= span["start"] < span["end"] <= len(draft)
            assert draft[span["start"]:span["end"]] == span["text"]
    for r in data["rewrites"]:
        assert isinstance(r["style"], str) and r["style"]
        assert isinstance(r["text"], str) and r["text"].strip()
        assert r["verdict"] == "post"
    if data["rewrites"]:
        assert data["verdict"] != "post"
    severities = {f["severity"] for f in data["findings"]}
    assert ("high" in severities) == (data["verdict"] == "block")


# --- review: the three formats -------------------------------------------------------


@pytest.fixture
def in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """bot.cli.main in this process, for the many-draft checks: (exit code, stdout)."""
    from bot.cli import main

    for key in list(os.environ):
        if key.startswith(("CM_COACH_", "OPENAI_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> tuple[int, str]:
        code = main(list(args))
        return code, capsys.readouterr().out

    return run


@pytest.mark.parametrize(("draft", "context", "platform"), DRAFTS)
def test_json_follows_the_contract(in_process, draft: str, context: str | None, platform: str) -> None:
    args = ["--platform", platform] + (["--context", context] if context else [])
    code, out = in_process("review", "--format", "json", *args, draft)
    assert code == 0
    data = json.loads(out)
    assert_contract(data, draft)
    assert data["draft"] == draft
    assert data["platform"] == platform
    assert data["context"] == context


def test_the_canonical_easyjet_case_is_blocked_with_its_findings(cli) -> None:
    data = _review_json(cli, EASYJET_DRAFT, "--context", EASYJET_CONTEXT, "--platform", "x")
    assert_contract(data, EASYJET_DRAFT)
    assert data["verdict"] == "block"
    assert data["language"] == "fr"
    categories = {f["category"] for f in data["findings"] if f["severity"] != "low"}
    assert "deletion_demand" in categories
    deletion = next(f for f in data["findings"] if f["category"] == "deletion_demand")
    assert "supprimer" in deletion["span"]["text"]
    assert deletion["case"] and "easyJet" in deletion["case"]


def test_text_report_marks_the_flagged_words_and_follows_the_language(cli) -> None:
    data = _review_json(cli, EASYJET_DRAFT, "--context", EASYJET_CONTEXT)
    proc = cli("review", "--context", EASYJET_CONTEXT, EASYJET_DRAFT)
    assert proc.returncode == 0, proc.stderr.decode()
    text = _out(proc)
    assert "\x1b[" not in text  # not a terminal: no colour codes
    assert "Brouillon" in text and "Les quatre règles d'or" in text
    assert f"Risque {data['risk']}/100" in text
    marked = re.findall(r"»(.*?)«", text, flags=re.S)
    spans = [f["span"]["text"] for f in data["findings"] if f["span"]]
    assert spans, "the easyJet draft must have findings that point at words"
    for words in spans:
        assert any(words in m for m in marked), words
    for f in data["findings"]:
        assert f["message"].split()[0] in text


def test_text_report_is_in_english_for_an_english_draft(cli) -> None:
    data = _review_json(cli, EN_DELETE)
    text = _out(cli("review", EN_DELETE))
    assert data["language"] == "en"
    assert "Draft" in text and "The four golden rules" in text
    for rule in ("Guard the reputation", "Produce", "Know how to react", "Federate"):
        assert re.search(rf"{rule}\s+[█░]{{10}}\s+\d+/10", text), rule


def test_colours_on_a_terminal_and_not_with_no_color(cli, tmp_path: Path) -> None:
    import pty

    def on_tty(*args: str, env: dict[str, str] | None = None) -> str:
        master, slave = pty.openpty()
        proc = subprocess.Popen([*COMMAND, "review", *args, EN_DELETE], stdout=slave,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                env=_env(tmp_path, **(env or {})))
        os.close(slave)
        chunks = []
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(master)
        assert proc.wait(timeout=30) == 0
        return b"".join(chunks).decode("utf-8")

    assert "\x1b[" in on_tty()
    assert "\x1b[" not in on_tty("--no-color")
    assert "\x1b[" not in on_tty(env={"NO_COLOR": "1"})


def test_markdown_report(cli) -> None:
    data = _review_json(cli, EASYJET_DRAFT, "--context", EASYJET_CONTEXT)
    proc = cli("review", "--format", "markdown", "--context", EASYJET_CONTEXT, EASYJET_DRAFT)
    assert proc.returncode == 0
    md = _out(proc)
    assert md.startswith("## ")
    assert "### Les quatre règles d'or" in md
    assert f"{data['risk']}/100" in md
    assert "> Un siège sans dossier" in md
    for f in data["findings"]:
        if f["span"] and f["severity"] != "low":
            assert f"**{f['span']['text']}" in md or f["span"]["text"] in md


def test_stdin_dash_and_no_argument_give_the_same_review(cli) -> None:
    by_arg = _review_json(cli, EN_DELETE)
    dash = cli("review", "--format", "json", "-", stdin=EN_DELETE.encode())
    piped = cli("review", "--format", "json", stdin=EN_DELETE.encode())
    for proc in (dash, piped):
        assert proc.returncode == 0, proc.stderr.decode()
        assert json.loads(_out(proc)) == by_arg


def test_stdin_keeps_line_breaks_and_drops_a_utf8_bom(cli) -> None:
    draft = "Merci pour votre message.\nNous regardons cela tout de suite."
    proc = cli("review", "--format", "json", "-", stdin=b"\xef\xbb\xbf" + draft.encode())
    assert proc.returncode == 0, proc.stderr.decode()
    assert json.loads(_out(proc))["draft"] == draft


# --- --fail-on ------------------------------------------------------------------------


@pytest.mark.parametrize(("draft", "context", "platform"), DRAFTS)
def test_fail_on_exit_code_matches_the_verdict(in_process, draft: str, context: str | None,
                                               platform: str) -> None:
    args = ["--platform", platform] + (["--context", context] if context else [])
    verdict = json.loads(in_process("review", "--format", "json", *args, draft)[1])["verdict"]
    for threshold, reached in (("revise", verdict in ("revise", "block")), ("block", verdict == "block")):
        code, out = in_process("review", "--fail-on", threshold, *args, draft)
        assert code == (1 if reached else 0), (threshold, verdict)
        assert out  # the report is printed either way


def test_fail_on_for_a_canned_reply_check(cli) -> None:
    assert cli("review", "--fail-on", "block", "--context", EASYJET_CONTEXT, EASYJET_DRAFT).returncode == 1
    assert cli("review", "--fail-on", "revise", EN_KIND).returncode == 0


def test_banned_term_from_the_config_fails_a_revise_check(cli, tmp_path: Path) -> None:
    config = tmp_path / "brand.toml"
    config.write_text('[brand]\nbanned_terms = ["cher client"]\n', encoding="utf-8")
    draft = "Bonjour cher client, merci pour votre message."
    proc = cli("review", "--config", str(config), "--format", "json", draft)
    data = json.loads(_out(proc))
    banned = [f for f in data["findings"] if f["span"] and f["span"]["text"].lower() == "cher client"]
    assert banned and banned[0]["severity"] == "medium"
    assert cli("review", "--config", str(config), "--fail-on", "revise", draft).returncode == 1


# --- errors: one line on stderr, exit 2, no traceback ----------------------------------


def _assert_usage_error(proc: subprocess.CompletedProcess[bytes], *words: str) -> str:
    err = proc.stderr.decode("utf-8")
    assert proc.returncode == 2, (proc.returncode, err)
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("cm-coach: ")
    for w in words:
        assert w.lower() in lines[0].lower(), (w, lines[0])
    assert proc.stdout == b""
    return lines[0]


def test_empty_and_blank_drafts_are_refused(cli) -> None:
    _assert_usage_error(cli("review", ""), "empty")
    _assert_usage_error(cli("review", "   \n\t  "), "empty")
    _assert_usage_error(cli("review", "-", stdin=b""), "empty")


def test_a_draft_over_the_limit_is_refused(cli, tmp_path: Path) -> None:
    _assert_usage_error(cli("review", "a" * 20_000), "20,000", "10,000")
    _assert_usage_error(cli("review", "-", stdin=b"word " * 4_000), "20,000")
    config = tmp_path / "short.toml"
    config.write_text("[review]\nmax_draft_chars = 50\n", encoding="utf-8")
    _assert_usage_error(cli("review", "--config", str(config), "x" * 60), "60", "50")
    _assert_usage_error(cli("review", "y" * 60, env={"CM_COACH_REVIEW_MAX_DRAFT_CHARS": "40"}), "40")


def test_undecodable_and_binary_stdin_is_refused(cli) -> None:
    _assert_usage_error(cli("review", "-", stdin=b"Merci \xff\xfe\xfa pour"), "UTF-8")
    _assert_usage_error(cli("review", "-", stdin=b"\x00\x01\x02binary\x00"), "binary")


def test_unknown_platform_and_language_are_refused(cli) -> None:
    _assert_usage_error(cli("review", "--platform", "myspace", "Hello"), "myspace", "instagram")
    _assert_usage_error(cli("review", "--lang", "de", "Hallo"), "de")


def test_config_problems_are_one_line_errors(cli, tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[brand\nname = 'Acme'\n", encoding="utf-8")
    _assert_usage_error(cli("review", "--config", str(broken), "Hello"), "broken.toml", "TOML")
    _assert_usage_error(cli("review", "--config", str(tmp_path / "missing.toml"), "Hello"),
                        "missing.toml", "not found")
    # A directory cannot be read as a file, whoever runs the tests (root included).
    _assert_usage_error(cli("review", "--config", str(tmp_path), "Hello"), "cannot be read")
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("[brand]\ncolour = 'blue'\n", encoding="utf-8")
    _assert_usage_error(cli("review", "--config", str(unknown), "Hello"), "colour")
    section = tmp_path / "section.toml"
    section.write_text("[branding]\nname = 'x'\n", encoding="utf-8")
    _assert_usage_error(cli("review", "--config", str(section), "Hello"), "branding")
    bad_value = tmp_path / "voice.toml"
    bad_value.write_text("[brand]\nvoice = 'shouty'\n", encoding="utf-8")
    _assert_usage_error(cli("review", "--config", str(bad_value), "Hello"), "voice")
    _assert_usage_error(cli("review", "Hello", env={"CM_COACH_REVIEW_MAX_DRAFT_CHARS": "many"}),
                        "CM_COACH_REVIEW_MAX_DRAFT_CHARS")


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads any file")
def test_a_config_without_read_permission(cli, tmp_path: Path) -> None:
    locked = tmp_path / "locked.toml"
    locked.write_text("[brand]\n", encoding="utf-8")
    locked.chmod(0)
    try:
        _assert_usage_error(cli("review", "--config", str(locked), "Hello"), "cannot be read")
    finally:
        locked.chmod(0o600)


def test_config_is_found_in_the_working_directory_and_user_dir(cli, tmp_path: Path) -> None:
    draft = "Bonjour cher client, merci pour votre message."
    user = tmp_path / ".config" / "cm-coach"
    user.mkdir(parents=True)
    (user / "config.toml").write_text("[brand]\nvoice = 'nope'\n", encoding="utf-8")
    _assert_usage_error(cli("review", draft), str(user / "config.toml"))
    local = tmp_path / "work" / "cm-coach.toml"
    local.write_text('[brand]\nbanned_terms = ["cher client"]\n', encoding="utf-8")
    data = json.loads(_out(cli("review", "--format", "json", draft)))  # the local file wins
    assert any(f["rule_id"] == "brand.banned_terms" for f in data["findings"])


def test_no_command_prints_help_and_exits_2(cli) -> None:
    proc = cli()
    assert proc.returncode == 2
    assert b"review" in proc.stdout and b"eval" in proc.stdout


# --- rules, eval, help ----------------------------------------------------------------


def test_rules_lists_the_french_rules(cli) -> None:
    proc = cli("rules", "--lang", "fr")
    assert proc.returncode == 0
    lines = [ln for ln in _out(proc).splitlines() if ln.strip()]
    rows = lines[:-1]
    assert len(rows) >= 14
    assert all(row.startswith("fr ") for row in rows)
    assert re.search(r"\d+ rules", lines[-1])
    data = json.loads(_out(cli("rules", "--lang", "fr", "--format", "json")))
    assert len(data) == len(rows)
    assert {r["lang"] for r in data} == {"fr"}
    assert {r["category"] for r in data if not r["category"].startswith("strength:")} >= {
        "deletion_demand", "private_redirect", "condescension"}


def _corpus(path: Path, cases: list[dict[str, Any]]) -> Path:
    path.write_text("\n".join(json.dumps(c, ensure_ascii=False) for c in cases) + "\n",
                    encoding="utf-8")
    return path


SMALL_CORPUS = [
    {"id": "easyjet", "lang": "fr", "platform": "x", "context": EASYJET_CONTEXT,
     "draft": EASYJET_DRAFT, "verdict": "block", "categories": ["deletion_demand"]},
    {"id": "kind", "lang": "en", "platform": "x", "context": None, "draft": EN_KIND,
     "verdict": "post", "categories": []},
    {"id": "mislabelled", "lang": "en", "platform": "generic", "context": None,
     "draft": EN_KIND, "verdict": "block", "categories": ["legal_threat"]},
]


def test_eval_on_a_small_corpus(cli, tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "small.jsonl", SMALL_CORPUS)
    proc = cli("eval", str(corpus), "--format", "json")
    assert proc.returncode == 0, proc.stderr.decode()
    report = json.loads(_out(proc))
    assert report["cases"] == 3
    legal = report["categories"]["legal_threat"]
    assert legal["fn"] == 1 and legal["tp"] == 0 and legal["recall"] == 0
    assert sum(sum(row.values()) for row in report["confusion"].values()) == 3
    assert report["confusion"]["block"]["post"] + report["confusion"]["block"]["revise"] + \
        report["confusion"]["block"]["block"] == 2
    judged = {d["id"]: d["verdict"] for d in report["details"]}
    assert report["risky_judged_post"] == [i for i in ("easyjet", "mislabelled") if judged[i] == "post"]
    assert "mislabelled" in {m["id"] for m in report["mismatches"]}

    text = _out(cli("eval", str(corpus)))
    assert re.search(r"^micro\s", text, flags=re.M)
    assert "verdict accuracy:" in text
    risky_line = [ln for ln in text.splitlines() if ln.startswith("risky cases judged post:")]
    assert len(risky_line) == 1
    assert ("mislabelled" in risky_line[0]) == (judged["mislabelled"] == "post")


def test_eval_errors_name_the_line(cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(SMALL_CORPUS[0]) + "\n{not json\n", encoding="utf-8")
    _assert_usage_error(cli("eval", str(bad)), "line 2", "JSON")
    wrong = _corpus(tmp_path / "wrong.jsonl", [{**SMALL_CORPUS[1], "verdict": "maybe"}])
    _assert_usage_error(cli("eval", str(wrong)), "line 1", "maybe")
    unknown = _corpus(tmp_path / "cat.jsonl", [{**SMALL_CORPUS[1], "categories": ["rudeness"]}])
    _assert_usage_error(cli("eval", str(unknown)), "rudeness")
    empty_draft = _corpus(tmp_path / "empty.jsonl", [SMALL_CORPUS[1], {**SMALL_CORPUS[0], "draft": " "}])
    _assert_usage_error(cli("eval", str(empty_draft)), "line 2", "empty")
    _assert_usage_error(cli("eval", str(tmp_path / "nowhere.jsonl")), "not found")


def test_eval_on_several_processes_gives_the_same_report(cli, tmp_path: Path) -> None:
    cases = [{**c, "id": f"{c['id']}-{i}"} for i in range(8) for c in SMALL_CORPUS]
    corpus = _corpus(tmp_path / "many.jsonl", cases)
    one = json.loads(_out(cli("eval", str(corpus), "--format", "json", "--jobs", "1")))
    two = json.loads(_out(cli("eval", str(corpus), "--format", "json", "--jobs", "2")))
    one.pop("seconds"), two.pop("seconds")
    assert one == two and one["cases"] == 24
    # A draft a worker cannot review is still named by its line.
    empty = _corpus(tmp_path / "empty.jsonl", [*cases[:5], {**SMALL_CORPUS[0], "id": "blank", "draft": " "}])
    _assert_usage_error(cli("eval", str(empty), "--jobs", "2"), "line 6", "empty")
    _assert_usage_error(cli("eval", str(corpus), "--jobs", "0"), "--jobs")


def test_help_texts(cli) -> None:
    top = _out(cli("--help"))
    for command in ("review", "eval", "rules", "doctor", "chat", "serve"):
        assert command in top
    review = _out(cli("review", "--help"))
    for option in ("--context", "--platform", "--lang", "--config", "--format", "--fail-on", "--no-color"):
        assert option in review
    for platform in PLATFORMS:
        assert platform in review
    assert "exit codes" in review and "--fail-on" in review
    assert "--format" in _out(cli("eval", "--help"))
    assert "--lang" in _out(cli("rules", "--help"))


def test_an_offline_review_loads_no_platform_library(tmp_path: Path) -> None:
    code = (
        "import sys, io, contextlib\n"
        "from bot.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['review', '--engine', 'offline', 'Please delete the photo.'])\n"
        "heavy = {'openai', 'slack_bolt', 'slack_sdk', 'discord', 'aiohttp', 'pydantic'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=_env(tmp_path), cwd=tmp_path, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_a_terminal_that_cannot_show_the_characters_gets_no_traceback(cli) -> None:
    proc = cli("review", "Merci 😀 pour votre retour, à bientôt !", env={"PYTHONIOENCODING": "ascii"})
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stderr == b""
    assert b"?" in proc.stdout


def test_a_closed_pipe_stops_quietly(tmp_path: Path) -> None:
    proc = subprocess.Popen([*COMMAND, "rules"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, env=_env(tmp_path), cwd=tmp_path)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the first line is written
    assert proc.wait(timeout=30) == 141
    assert proc.stderr.read() == b""
    proc.stderr.close()


def test_eval_with_the_llm_engine_uses_one_client_for_the_corpus(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """`eval --engine llm` against a local OpenAI-compatible server: every case goes over
    the wire, and the figures are the LLM's (here it says `post` to everything)."""
    from llm_server import LLMServer, chat_completion, valid_review

    from bot.config import LLMSection, Settings
    from bot.review.evaluation import evaluate_file

    for key in list(os.environ):
        if key.startswith(("CM_COACH_", "OPENAI_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("CM_COACH_LLM_API_KEY", "sk-test-not-a-real-key")
    corpus = _corpus(tmp_path / "small.jsonl", SMALL_CORPUS)
    with LLMServer() as server:
        for _ in SMALL_CORPUS:
            server.push(200, chat_completion(json.dumps(valid_review())))
        settings = Settings(llm=LLMSection(base_url=server.base_url, model="test-model",
                                           timeout=2.0, deadline=5.0, max_retries=0))
        report = evaluate_file(corpus, settings, engine="llm")
        assert len(server.chat_requests) == len(SMALL_CORPUS)
    assert report["engines"] == {"llm": 3}
    judged = {d["id"]: d["verdict"] for d in report["details"]}
    assert judged["kind"] == "post" and judged["mislabelled"] == "post"
    assert "mislabelled" in report["risky_judged_post"]


def test_eval_honours_accept_and_allowed(cli, tmp_path: Path) -> None:
    """A borderline draft: `revise` is acceptable beside `block`, and an extra
    `no_acknowledgement` is not a false alarm when allowed."""
    cases = [{**SMALL_CORPUS[0], "id": "lenient", "accept": ["revise", "block"],
              "allowed": ["no_acknowledgement", "private_redirect"]},
             {**SMALL_CORPUS[0], "id": "strict"}]
    report = json.loads(_out(cli("eval", str(_corpus(tmp_path / "c.jsonl", cases)), "--format", "json")))
    by_id = {d["id"]: d for d in report["details"]}
    assert by_id["lenient"]["acceptable"] and by_id["lenient"]["risky"]
    raised = set(by_id["strict"]["categories"])
    assert raised >= {"deletion_demand"}
    assert set(by_id["strict"]["false_alarms"]) == raised - {"deletion_demand"}
    assert set(by_id["lenient"]["false_alarms"]) == raised - {"deletion_demand", "no_acknowledgement",
                                                                "private_redirect"}
    assert report["risky"] == 2 and report["risky_caught"] == 1.0


def test_eval_reads_several_files_and_reports_the_two_worst_errors(cli, tmp_path: Path) -> None:
    one = _corpus(tmp_path / "one.jsonl", SMALL_CORPUS[:2])
    two = _corpus(tmp_path / "two.jsonl", [{**SMALL_CORPUS[1], "id": "kind-again"}])
    proc = cli("eval", str(one), str(two))
    text = _out(proc)
    assert proc.returncode == 0
    assert re.search(r"^risky caught 1\.00 \(1 risky\) · safe blocked 0\.00 \(2 safe\)", text, flags=re.M)
    assert "one.jsonl" in text and "two.jsonl" in text
    assert "safe cases judged block: none" in text
    again = _corpus(tmp_path / "again.jsonl", SMALL_CORPUS[:1])
    _assert_usage_error(cli("eval", str(one), str(again)), "easyjet", "also in")


def test_eval_held_back_gives_figures_but_no_case(cli) -> None:
    proc = cli("eval", "--held-back", "--format", "json")
    report = json.loads(_out(proc))
    assert report["split"] == "held-back" and 90 <= report["cases"] <= 115
    assert "details" not in report and "mismatches" not in report
    assert 0 <= report["risky_caught"] <= 1 and report["micro"]["tp"] + report["micro"]["fn"] > 0
    text = _out(cli("eval", "--held-back"))
    assert "mismatches" not in text and "risky caught" in text
    assert not re.search(r"\b(cs|br|np)-(fr|en)-\d+", text)


@pytest.mark.parametrize("argv", [
    ["review", "--engine", "offline", "--platform", "x", "--context", "Broken.", "DM us."],
    ["review", "-", "--format", "json", "--fail-on", "block"],
    ["eval", "--held-back", "--jobs", "1", "a.jsonl"],
    ["check", "replies.txt", "--fail-on", "revise", "--format", "github", "--limit", "0"],
    ["report", "--since", "12w", "--lang", "fr"],
    ["rules", "--lang", "fr"],
    ["doctor"],
    ["chat", "--user", "ana"],
    ["crisis", "on", "--hours", "2"],
    ["serve", "slack", "--http", "--port", "3000"],
])
def test_a_subcommand_alone_parses_as_the_whole_parser(argv: list[str]) -> None:
    from bot.cli import _parser

    assert vars(_parser(argv[0]).parse_args(argv)) == vars(_parser().parse_args(argv))
