"""A review as a report for a terminal: ANSI colours, or plain text.

Verdict and risk first, then the draft with the flagged words highlighted, the
four golden rules as a scorecard, what to fix, what works, notes, rewrites.
Every piece of text that came from the user is passed through `printable`, so
a draft cannot move the cursor or recolour the terminal. Every line fits the
width given (the front ends pass the terminal's), colours and marks included:
a text is wrapped word by word with its styles, not as escape codes.
"""

from __future__ import annotations

import textwrap

from bot.render.highlight import draft_runs, placeholder_runs, printable
from bot.render.labels import category_name, colon, label, score_bar, style_name, ui_language
from bot.review.models import Finding, Review

Run = tuple[str, str | None]  # text and its style (None: plain)

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


def _wrap_runs(runs: list[Run], indent: str, width: int, paint: _Painter, hang: str | None = None) -> list[str]:
    """Styled text wrapped to `width` visible characters, word by word; the words of one
    style that share a line are painted together, so that a flagged phrase stays one mark."""
    room = max(20, width - len(indent))
    lines: list[list[Run]] = [[]]
    size = 0

    def add(word: str, style: str | None) -> None:
        nonlocal size
        gap = 1 if lines[-1] else 0
        if lines[-1] and size + gap + len(word) > room:
            lines.append([])
            size, gap = 0, 0
        if gap:
            previous = lines[-1][-1][1]
            lines[-1].append((" ", style if style == previous else None))
        lines[-1].append((word, style))
        size += gap + len(word)

    for text, style in runs:
        for n, paragraph in enumerate(printable(text).split("\n")):
            if n:
                lines.append([])
                size = 0
            for word in paragraph.split():
                while len(word) > room:  # a word longer than a line: cut, nothing else to do
                    add(word[:room], style)
                    word = word[room:]
                add(word, style)
    out: list[str] = []
    for i, line in enumerate(lines):
        groups: list[Run] = []
        for text, style in line:
            if groups and groups[-1][1] == style:
                groups[-1] = (groups[-1][0] + text, style)
            else:
                groups.append((text, style))
        body = "".join(paint(t, st) if st else t for t, st in groups)
        lead = indent if i == 0 or hang is None else hang
        out.append(lead + body if body else "")
    return out


def _marked_draft(review: Review, paint: _Painter, width: int) -> str:
    runs: list[Run] = []
    for text, severity in draft_runs(review.draft, review.findings):
        if severity is None:
            runs.append((text, None))
        elif paint.color:
            runs.append((text, MARK_STYLE[severity]))
        else:
            runs.append((f"»{text}«", None))
    return "\n".join(_wrap_runs(runs, INDENT, width, paint))


def _indent_block(text: str, indent: str = INDENT) -> str:
    return "\n".join(indent + line if line else "" for line in text.split("\n"))


def _finding_lines(f: Finding, lang: str, paint: _Painter, width: int) -> list[str]:
    severity = label(f"severity_{f.severity}", lang)
    runs: list[Run] = [(f"[{severity}]", SEVERITY_STYLE[f.severity]), (" ", None),
                       (category_name(f.category, lang), BOLD)]
    if f.span is not None:
        runs.append((f" — “{f.span.text}”", None))
    else:
        runs += [(" — ", None), (label("whole_draft", lang), DIM)]
    lines = [*_wrap_runs(runs, INDENT, width, paint, INDENT * 3), *_wrap(f.message, INDENT * 3, width)]
    if f.case:
        lines.extend(_wrap(f"{label('recalls', lang)}{colon(lang)}{f.case}", INDENT * 3, width))
    return lines


def _rewrite_text(text: str, paint: _Painter, width: int) -> str:
    runs: list[Run] = [(piece, PLACEHOLDER_STYLE if is_placeholder else None)
                       for piece, is_placeholder in placeholder_runs(text)]
    return "\n".join(_wrap_runs(runs, INDENT * 2, width, paint))


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
        out.extend(_wrap_runs([(review.context, None)], INDENT, width, paint))
        out.append("")
    out.append(paint(label("draft", lang), BOLD))
    out.append(_marked_draft(review, paint, width))
    if not color and any(f.span for f in review.findings):
        out.extend(_wrap(label("highlight_legend", lang), INDENT, width))
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
            quoted = f" — “{s.span.text}”" if s.span else ""
            out.extend(_wrap_runs([("✔", GOOD), (" " + s.message + quoted, None)], INDENT, width, paint,
                                  INDENT * 2))
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
            out.append(_rewrite_text(rw.text, paint, width))
        if any(is_ph for rw in review.rewrites for _, is_ph in placeholder_runs(rw.text)):
            out.extend(_wrap(label("placeholder_hint", lang), INDENT, width))
        out.append("")

    out.extend(_wrap_runs([(_engine_line(review, lang), DIM)], "", width, paint))
    return "\n".join(out)
