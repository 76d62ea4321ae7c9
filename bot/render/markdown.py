"""A review as Markdown, to paste into a ticket, a wiki page or a pull request.

Same content as the terminal report. User text is escaped so that a draft
cannot turn into a heading, a link or a table cell of its own.
"""

from __future__ import annotations

import re

from bot.render.highlight import draft_runs, placeholder_runs, printable
from bot.render.labels import category_name, colon, label, score_bar, style_name, ui_language
from bot.review.models import Review

VERDICT_ICON = {"post": "✅", "revise": "✏️", "block": "⛔"}
_INLINE = re.compile(r"([\\`*_\[\]<>|~])")
_ENTITY = re.compile(r"&(?=#?\w+;)")
# What only means something at the start of a line: headings, quotes, list items, rules.
_LINE_START = re.compile(r"^(\s*)(#|>|[-+](?=\s)|[=-]+\s*$)", re.MULTILINE)
_ORDERED = re.compile(r"^(\s*\d+)(?=[.)](?:\s|$))", re.MULTILINE)


def escape(text: str) -> str:
    """Markdown-inert text: what Markdown could read as syntax is escaped, nothing more."""
    text = _INLINE.sub(r"\\\1", printable(text))
    text = _ENTITY.sub("&amp;", text)
    text = _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), text)
    return _ORDERED.sub(r"\1\\", text)


def _quote(text: str) -> str:
    """A blockquote whose line breaks survive: a trailing backslash is a visible hard break."""
    lines = text.split("\n")
    out = []
    for i, line in enumerate(lines):
        follows = i + 1 < len(lines) and lines[i + 1].strip() != ""
        out.append(f"> {line}\\" if line.strip() and follows else f"> {line}" if line else ">")
    return "\n".join(out)


def _cell(text: str) -> str:
    return escape(text).replace("\n", " ")


def _marked(review: Review) -> str:
    parts = []
    for text, severity in draft_runs(review.draft, review.findings):
        lines = escape(text).split("\n")
        if severity is None:
            parts.append("\n".join(lines))
        else:
            # Emphasis cannot cross a line break: mark each line of the run.
            mark = "_" if severity == "low" else "**"
            parts.append("\n".join(f"{mark}{ln}{mark}" if ln.strip() else ln for ln in lines))
    return "".join(parts)


def _rewrite(text: str) -> str:
    return "".join(f"**{escape(piece)}**" if is_placeholder else escape(piece)
                   for piece, is_placeholder in placeholder_runs(text))


def render_markdown(review: Review) -> str:
    lang = ui_language(review.language)
    sep = colon(lang)
    out: list[str] = []
    verdict = label(f"verdict_{review.verdict}", lang)
    out.append(f"## {VERDICT_ICON[review.verdict]} {verdict} — {label('risk', lang)} {review.risk}/100")
    out.append("")
    if review.context:
        out += [f"**{label('context', lang)}**", "", _quote(escape(review.context)), ""]
    out += [f"**{label('draft', lang)}**", "", _quote(_marked(review)), ""]

    out += [f"### {label('golden_rules', lang)}", ""]
    out.append(f"| {label('rule', lang)} | {label('score', lang)} | {label('notes', lang)} |")
    out.append("|---|---|---|")
    for s in review.golden_rules:
        notes = "; ".join(_cell(n) for n in s.notes)
        out.append(f"| {label(f'rule_{s.rule}', lang)} | `{score_bar(s.score)}` {s.score}/10 | {notes} |")
    out.append("")

    out += [f"### {label('findings', lang)}", ""]
    if review.findings:
        for i, f in enumerate(review.findings, 1):
            where = f"“{escape(f.span.text)}”" if f.span else f"_{label('whole_draft', lang)}_"
            severity = label(f"severity_{f.severity}", lang)
            out.append(f"{i}. **{category_name(f.category, lang)}** ({severity}) — {where}  ")
            line = f"   {escape(f.message)}"
            if f.case:
                line += f"  \n   _{label('recalls', lang)}{sep}{escape(f.case)}_"
            out.append(line)
    else:
        out.append(label("no_findings", lang))
    out.append("")

    if review.strengths:
        out += [f"### {label('strengths', lang)}", ""]
        for st in review.strengths:
            quoted = f" — “{escape(st.span.text)}”" if st.span else ""
            out.append(f"- {escape(st.message)}{quoted}")
        out.append("")

    if review.notes:
        out += [f"### {label('notes', lang)}", ""]
        out += [f"- {escape(n)}" for n in review.notes]
        out.append("")

    if review.rewrites:
        out += [f"### {label('rewrites', lang)}", ""]
        for rw in review.rewrites:
            out += [f"**{style_name(rw.style, lang)}**", "", _quote(_rewrite(rw.text)), ""]
        if any(is_ph for rw in review.rewrites for _, is_ph in placeholder_runs(rw.text)):
            out += [f"_{escape(label('placeholder_hint', lang))}_", ""]

    engine = (label("engine_llm", lang, model=review.model or "?") if review.engine == "llm"
              else label("engine_offline", lang))
    out.append(f"<sub>{escape(engine)} · "
               f"{label('platform', lang)}{sep}{escape(review.platform)} · "
               f"{label('language', lang)}{sep}{escape(review.language)}</sub>")
    return "\n".join(out)
