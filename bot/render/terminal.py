"""A review as a report for a terminal: ANSI colours, or plain text.

Verdict and risk first, then the draft with the flagged words highlighted, the
four golden rules as a scorecard, what to fix, what works, notes, rewrites.
Every piece of text that came from the user is passed through `printable`, so
a draft cannot move the cursor or recolour the terminal.
"""

from __future__ import annotations

import textwrap

from bot.render.highlight import draft_runs, placeholder_runs, printable
from bot.render.labels import category_name, colon, label, score_bar, style_name, ui_language
from bot.review.models import Finding, Review

RESET = "\x1b[0m"
BOLD = "\x1b[1m"
DIM = "\x1b[2m"
VERDICT_STYLE = {"post": "\x1b[1;97;42m", "revise": "\x1b[1;30;43m", "block": "\x1b[1;97;41m"}
VERDICT_ICON = {"post": "✔", "revise": "✎", "block": "✖"}
SEVERITY_STYLE = {"high": "\x1b[1;31m", "medium": "\x1b[33m", "low": "\x1b[36m"}
# In the draft the flagged words are underlined as well, so they stand out in any palette.
MARK_STYLE = {"high": "\x1b[1;4;31m", "medium": "\x1b[4;33m", "low": "\x1b[4;36m"}
PLACEHOLDER_STYLE = "\x1b[1;35m"
GOOD, FAIR, POOR = "\x1b[32m", "\x1b[33m", "\x1b[31m"
INDENT = "  "


class _Painter:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, style: str) -> str:
        if not self.color or not text:
            return text
        # Styled line by line, so that the indent of the next line stays plain.
        return "\n".join(f"{style}{line}{RESET}" if line else "" for line in text.split("\n"))












def _score_style(score: int) -> str:
    return GOOD if score >= 7 else FAIR if score >= 4 else POOR


def _wrap(text: str, indent: str, width: int, bullet: str = "") -> list[str]:
    """Wrapped lines; with a bullet, the following lines hang under the text."""
    lines: list[str] = []
    hang = indent + " " * len(bullet)
    first = True
    for paragraph in printable(text).split("\n"):
        wrapped = textwrap.wrap(paragraph, width=max(20, width), break_long_words=True,
                                break_on_hyphens=False,
                                initial_indent=indent + bullet if first else hang,
                                subsequent_indent=hang)
        lines.extend(wrapped or [""])
        first = False
    return lines


def _marked_draft(review: Review, paint: _Painter) -> str:
    parts = []
    for text, severity in draft_runs(review.draft, review.findings):
        shown = printable(text)
        if severity is None:
            parts.append(shown)
        elif paint.color:
            parts.append(paint(shown, MARK_STYLE[severity]))
        else:
            parts.append(f"»{shown}«")
    return _indent_block("".join(parts))


def _indent_block(text: str, indent: str = INDENT) -> str:
    return "\n".join(indent + line if line else "" for line in text.split("\n"))


def _finding_lines(f: Finding, lang: str, paint: _Painter, width: int) -> list[str]:
    severity = label(f"severity_{f.severity}", lang)
    head = f"{INDENT}{paint(f'[{severity}]', SEVERITY_STYLE[f.severity])} {paint(category_name(f.category, lang), BOLD)}"
    if f.span is not None:
        head += f" — “{printable(f.span.text)}”"
    else:
        head += f" — {paint(label('whole_draft', lang), DIM)}"
    lines = [head, *_wrap(f.message, INDENT * 3, width)]
    if f.case:
        lines.extend(_wrap(f"{label('recalls', lang)}{colon(lang)}{f.case}", INDENT * 3, width))
    return lines


def _rewrite_text(text: str, paint: _Painter) -> str:
    parts = []
    for piece, is_placeholder in placeholder_runs(text):
        shown = printable(piece)
        parts.append(paint(shown, PLACEHOLDER_STYLE) if is_placeholder else shown)
    return _indent_block("".join(parts), INDENT * 2)


def _engine_line(review: Review, lang: str) -> str:
    if review.engine == "llm":
        engine = label("engine_llm", lang, model=review.model or "?")
    else:
        engine = label("engine_offline", lang)
    sep = colon(lang)
    parts = [engine]
    if review.prompt_version:
        parts.append(f"prompt {review.prompt_version}")
    if review.usage and review.usage.get("total_tokens"):
        parts.append(label("usage_tokens", lang, tokens=review.usage["total_tokens"]))
    parts.append(f"{label('platform', lang)}{sep}{review.platform}")
    parts.append(f"{label('language', lang)}{sep}{review.language}")
    return " · ".join(parts)


def render_terminal(review: Review, color: bool = True, width: int = 88) -> str:
    """The review as text for a terminal; `color=False` gives plain text (»…« marks)."""
    lang = ui_language(review.language)
    paint = _Painter(color)
    out: list[str] = []

    verdict = f" {VERDICT_ICON[review.verdict]} {label(f'verdict_{review.verdict}', lang)} "
    out.append(f"{paint(verdict, VERDICT_STYLE[review.verdict])}  {label('risk', lang)} {review.risk}/100")
    out.append("")

    if review.context:
        out.append(paint(label("context", lang), BOLD))
        out.append(_indent_block(printable(review.context)))
        out.append("")
    out.append(paint(label("draft", lang), BOLD))
    out.append(_marked_draft(review, paint))
    if not color and any(f.span for f in review.findings):
        out.append(INDENT + paint(label("highlight_legend", lang), DIM))
    out.append("")

    out.append(paint(label("golden_rules", lang), BOLD))
    names = {s.rule: label(f"rule_{s.rule}", lang) for s in review.golden_rules}
    name_width = max((len(n) for n in names.values()), default=0)
    for s in review.golden_rules:
        bar = paint(score_bar(s.score), _score_style(s.score))
        out.append(f"{INDENT}{names[s.rule]:<{name_width}}  {bar} {s.score:>2}/10")
        for note in s.notes:
            out.extend(_wrap(note, INDENT * 2, width, "· "))
    out.append("")

    out.append(paint(label("findings", lang), BOLD))
    if review.findings:
        for f in review.findings:
            out.extend(_finding_lines(f, lang, paint, width))
    else:
        out.append(INDENT + label("no_findings", lang))
    out.append("")

    if review.strengths:
        out.append(paint(label("strengths", lang), BOLD))
        for s in review.strengths:
            quoted = f" — “{printable(s.span.text)}”" if s.span else ""
            out.append(f"{INDENT}{paint('✔', GOOD)} {printable(s.message)}{quoted}")
        out.append("")

    if review.notes:
        out.append(paint(label("notes", lang), BOLD))
        for note in review.notes:
            out.extend(_wrap(note, INDENT, width, "· "))
        out.append("")

    if review.rewrites:
        out.append(paint(label("rewrites", lang), BOLD))
        for rw in review.rewrites:
            out.append(f"{INDENT}{paint(style_name(rw.style, lang), BOLD)}")
            out.append(_rewrite_text(rw.text, paint))
        if any(is_ph for rw in review.rewrites for _, is_ph in placeholder_runs(rw.text)):
            out.extend(_wrap(label("placeholder_hint", lang), INDENT, width))
        out.append("")

    out.append(paint(_engine_line(review, lang), DIM))
    return "\n".join(out)
