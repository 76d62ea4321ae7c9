"""The terminal and Markdown reports: marks, colours, escaping, both languages."""

from __future__ import annotations

import re

from bot.render.highlight import draft_runs, placeholder_runs, printable
from bot.render.markdown import escape, render_markdown
from bot.render.terminal import render_terminal
from bot.review.models import Finding, Review, Rewrite, RuleScore, Span, Strength

SGR = re.compile(r"\x1b\[[0-9;]*m")


def _review(draft: str, lang: str = "en", **kw) -> Review:
    def span(words: str) -> Span:
        i = draft.index(words)
        return Span(i, i + len(words), words)

    findings = [Finding(c, sev, "react", span(w) if w else None, f"message {c}", case)
                for c, sev, w, case in kw.pop("findings", [])]
    return Review(
        verdict=kw.pop("verdict", "block"), risk=kw.pop("risk", 88), language=lang, engine="offline",
        golden_rules=[RuleScore("reputation", 2, ["low reputation"]), RuleScore("produce", 7, []),
                      RuleScore("react", 0, ["no apology"]), RuleScore("federate", 10, [])],
        findings=findings, draft=draft, **kw,
    )


EN = "Please delete the photo and DM us.\nThanks."
EN_REVIEW = _review(
    EN,
    findings=[("deletion_demand", "high", "delete the photo", "easyJet 2019"),
              ("private_redirect", "medium", "DM us", None),
              ("no_acknowledgement", "medium", None, None),
              ("aggressive_tone", "low", "photo", None)],
    rewrites=[Rewrite("apology", "Sorry about the seat. [what we are doing]. DM us [your reference]?"),
              Rewrite("calm", "Thanks for telling us.")],
    strengths=[Strength("thanks", "federate", Span(35, 41, "Thanks"), "Thanks the person.")],
    notes=["No customer message given."],
    context="How can this be allowed?",
)


def test_runs_take_the_worst_severity_where_spans_overlap() -> None:
    runs = draft_runs(EN, EN_REVIEW.findings)
    assert "".join(t for t, _ in runs) == EN
    assert ("delete the photo", "high") in runs  # the low "photo" inside it does not split it
    assert ("DM us", "medium") in runs
    assert all(sev is None for t, sev in runs if t.startswith("Please"))


def test_placeholder_runs() -> None:
    runs = placeholder_runs("Sorry. [what we do]. DM [ref]")
    assert [t for t, ph in runs if ph] == ["[what we do]", "[ref]"]
    assert "".join(t for t, _ in runs) == "Sorry. [what we do]. DM [ref]"


def test_plain_report_has_every_part_and_no_escape_codes() -> None:
    text = render_terminal(EN_REVIEW, color=False)
    assert "\x1b" not in text
    lines = text.splitlines()
    assert "Do not post" in lines[0] and "Risk 88/100" in lines[0]
    assert "»delete the photo«" in text and "»DM us«" in text
    assert "»…« marks" in text
    assert re.search(r"Guard the reputation\s+██░░░░░░░░\s+2/10", text)
    assert re.search(r"Know how to react\s+░{10}\s+0/10", text)
    assert re.search(r"Federate\s+█{10}\s+10/10", text)
    for part in ("[high] Deletion demand — “delete the photo”", "message deletion_demand",
                 "Recalls: easyJet 2019", "[medium] No acknowledgement — the draft as a whole",
                 "Thanks the person.", "No customer message given.", "Apology", "Calm",
                 "[what we are doing]", "Fill in the [bracketed] parts", "offline engine",
                 "Customer's message", "How can this be allowed?"):
        assert part in text, part
    # Order: verdict, draft, scorecard, findings, strengths, notes, rewrites, engine.
    order = ["Do not post", "Draft", "The four golden rules", "What to fix", "What works",
             "Notes", "Suggested rewrites", "offline engine"]
    positions = [text.index(p) for p in order]
    assert positions == sorted(positions)


def test_colour_report_paints_verdict_marks_and_placeholders() -> None:
    text = render_terminal(EN_REVIEW, color=True)
    assert text.startswith("\x1b[1;97;41m")  # red badge for block
    assert "\x1b[1;4;31mdelete the photo\x1b[0m" in text
    assert "\x1b[4;33mDM us\x1b[0m" in text
    assert "\x1b[1;35m[what we are doing]\x1b[0m" in text
    assert "»" not in SGR.sub("", text).split("Draft")[1].split("The four")[0]
    post = render_terminal(_review("Thanks!", verdict="post", risk=0), color=True)
    assert post.startswith("\x1b[1;97;42m") and "Nothing risky found." in post


def test_french_report() -> None:
    review = _review("Supprimez la photo, merci.", lang="fr",
                     findings=[("deletion_demand", "high", "Supprimez la photo", "easyJet 2019")])
    text = render_terminal(review, color=False)
    for part in ("Ne pas publier", "Risque 88/100", "Brouillon", "Les quatre règles d'or",
                 "Veiller sur la réputation", "À corriger", "[élevée] Demande de suppression",
                 "Rappelle : easyJet 2019", "moteur hors ligne"):
        assert part in text, part
    md = render_markdown(review)
    assert md.startswith("## ⛔ Ne pas publier — Risque 88/100")
    assert "**Supprimez la photo**" in md


def test_a_draft_cannot_drive_the_terminal() -> None:
    draft = "Hello\x1b[2J\x1b]0;title\x07 world \u202eevil\r\n"
    review = _review(draft, verdict="post", risk=0)
    for color in (True, False):
        text = render_terminal(review, color=color)
        assert SGR.sub("", text).count("\x1b") == 0
        assert "\x07" not in text and "\u202e" not in text and "\r" not in text
        assert "\\x1b[2J" in text and "\\u202e" in text
    assert printable("tab\tand\nnewline") == "tab\tand\nnewline"


def test_markdown_report_structure_and_escaping() -> None:
    md = render_markdown(EN_REVIEW)
    assert md.startswith("## ⛔ Do not post — Risk 88/100")
    assert "> Please **delete the photo** and **DM us**.\\\n> Thanks." in md
    assert "| Guard the reputation | `██░░░░░░░░` 2/10 | low reputation |" in md
    assert "1. **Deletion demand** (high) — “delete the photo”" in md
    assert "_Recalls: easyJet 2019_" in md
    assert "**\\[what we are doing\\]**" in md
    assert "### Suggested rewrites" in md and "### What works" in md and "### Notes" in md

    hostile = "# Heading\n- item | cell\n1. [link](http://x) <b>*bold*</b> &amp;"
    md = render_markdown(_review(hostile, verdict="post", risk=0, context="| a | b |"))
    quoted = [ln for ln in md.splitlines() if ln.startswith(">")]
    assert quoted[0] == "> \\| a \\| b \\|"
    assert "> \\# Heading\\" in quoted
    assert "> \\- item \\| cell\\" in quoted
    assert "> 1\\. \\[link\\](http://x) \\<b\\>\\*bold\\*\\</b\\> &amp;amp;" in quoted
    assert escape("3.5 ok - fine!") == "3.5 ok - fine!"  # nothing escaped that needs no escape
