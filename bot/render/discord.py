"""Review → Discord messages: embeds as API dictionaries, plus button specs.

Pure functions, no import of the discord library: the adapter turns the
dictionaries into `discord.Embed` objects and the button specs into its
persistent buttons. Every message fits Discord's limits; long text is split at
paragraph, line, sentence or word boundaries, never in the middle of a word.
The quoted draft shows its flagged words in bold; the four golden rules are
laid out two by two (Discord puts three inline fields on a row: a blank third
keeps the pairs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.render.highlight import draft_runs
from bot.render.labels import category_name, label, style_name, ui_language
from bot.review.models import GOLDEN_RULES, Finding, Review, Rewrite

# Discord's limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits).
MESSAGE_CHARS = 2000
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
EMBED_FIELDS = 25
FIELD_NAME = 256
FIELD_VALUE = 1024
EMBED_FOOTER = 2048
EMBED_TOTAL = 6000  # all embeds of one message together
EMBEDS_PER_MESSAGE = 10
BUTTON_LABEL = 80
CUSTOM_ID = 100

COLOURS = {"post": 0x2ECC71, "revise": 0xE67E22, "block": 0xE74C3C}
VERDICT_ICONS = {"post": "✅", "revise": "✏️", "block": "🛑"}
SEVERITY_ICONS = {"high": "🔴", "medium": "🟠", "low": "🟡"}

# A blank inline field: the third of a row, so that the scorecard reads two by two.
SPACER: dict[str, Any] = {"name": "\u200b", "value": "\u200b", "inline": True}

# Button actions; the adapter maps each to a persistent button.
USE, ANOTHER, WHY, ASK = "use", "next", "why", "ask"
CUSTOM_ID_PREFIX = "cmc"
# The approvers' buttons: `cma:<decision>:<approval id>`.
APPROVAL_PREFIX = "cma"
APPROVE, CHANGES = "approve", "changes"


@dataclass(frozen=True)
class Button:
    label: str
    custom_id: str
    style: str = "secondary"  # primary | secondary | success


@dataclass
class DiscordMessage:
    """One message to send: text content, embeds (API dictionaries), buttons."""

    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)


def dlen(text: str) -> int:
    """Length as Discord may count it: UTF-16 code units, never less than code points."""
    return len(text.encode("utf-16-le")) // 2


# ---------------------------------------------------------------- escaping

_MENTION = re.compile(r"@(everyone|here)|<(@[!&]?|#)(\d+)>")
_MARKDOWN = re.compile(r"([\\*_~`|])")
_LINE_START = re.compile(r"^(\s*)([>#-])", re.MULTILINE)
_MASKED_LINK = re.compile(r"\]\(")


def escape_mentions(text: str) -> str:
    """Neutralise @everyone, @here and <@id>/<@&id> so that echoed text pings no one.

    A zero-width space keeps the text readable; allowed_mentions is the
    guarantee, this is the belt to its braces.
    """

    def fix(m: re.Match[str]) -> str:
        if m.group(1):
            return "@\u200b" + m.group(1)
        return "<" + m.group(2)[0] + "\u200b" + m.group(2)[1:] + m.group(3) + ">"

    return _MENTION.sub(fix, text)


def escape_markdown(text: str) -> str:
    """Show the user's words as typed, not as Discord formatting."""
    text = _MARKDOWN.sub(r"\\\1", text)
    text = _MASKED_LINK.sub(r"]\\(", text)
    return _LINE_START.sub(r"\1\\\2", text)


def echo(text: str) -> str:
    """User text shown back: markdown and mentions neutralised."""
    return escape_mentions(escape_markdown(text))


def quote_block(text: str) -> str:
    """A Markdown block quote of user text, line by line."""
    return "\n".join("> " + (echo(line) if line.strip() else "\u200b") for line in text.splitlines() or [""])


def _bold(line: str) -> str:
    core = line.strip()
    if not core:
        return line
    return line[: len(line) - len(line.lstrip())] + f"**{core}**" + line[len(line.rstrip()):]


def quote_marked(text: str, findings: list[Finding]) -> str:
    """User text as a block quote, the words a medium or high finding points at in bold;
    markdown and mentions neutralised as in `echo`."""
    serious = [f for f in findings if f.severity != "low"]
    pieces: list[str] = []
    for run, severity in draft_runs(text, serious):
        shown = _MASKED_LINK.sub(r"]\\(", _MARKDOWN.sub(r"\\\1", run))
        pieces.append("\n".join(_bold(line) for line in shown.split("\n")) if severity else shown)
    marked = escape_mentions(_LINE_START.sub(r"\1\\\2", "".join(pieces)))
    return "\n".join("> " + (line if line.strip() else "\u200b") for line in marked.splitlines() or [""])


# ---------------------------------------------------------------- splitting

_SENTENCE_END = re.compile(r"[.!?…:;](?=\s)")


def _cut_point(text: str, limit: int) -> int:
    """Where to cut `text` so the head is at most `limit` long, at the safest boundary."""
    head = text[:limit]
    while dlen(head) > limit:  # astral characters count twice
        head = head[:-1]
    window = len(head)
    for sep in ("\n\n", "\n"):
        at = head.rfind(sep)
        if at > window // 3:
            return at + len(sep)
    ends = [m.end() for m in _SENTENCE_END.finditer(head)]
    if ends and ends[-1] > window // 3:
        return ends[-1]
    at = max(head.rfind(" "), head.rfind("\t"), head.rfind("\n"))
    if at > 0:
        return at + 1
    return max(1, window)  # one word longer than the limit: nothing else to do


def split_text(text: str, limit: int) -> list[str]:
    """Split text into parts of at most `limit` (Discord units), never mid-word.

    Whitespace at a cut is dropped; joining the parts with a space or a newline
    gives the text back word for word.
    """
    if limit < 1:
        raise ValueError("limit must be positive")
    parts: list[str] = []
    rest = text
    while dlen(rest) > limit:
        cut = _cut_point(rest, limit)
        head = rest[:cut].rstrip()
        if head:
            parts.append(head)
        rest = rest[cut:].lstrip()
    if rest.strip() or not parts:
        parts.append(rest)
    return parts


def _pack_blocks(blocks: list[str], limit: int, sep: str = "\n\n") -> list[str]:
    """Join blocks into pages of at most `limit`; a block too long on its own is split."""
    pages: list[str] = []
    current = ""
    for block in blocks:
        for piece in split_text(block, limit):
            candidate = piece if not current else current + sep + piece
            if dlen(candidate) <= limit:
                current = candidate
            else:
                pages.append(current)
                current = piece
    if current or not pages:
        pages.append(current)
    return pages


def embed_length(embed: dict[str, Any]) -> int:
    """What Discord counts against the 6,000 characters of a message's embeds."""
    total = dlen(embed.get("title", "")) + dlen(embed.get("description", ""))
    total += dlen(embed.get("footer", {}).get("text", ""))
    total += dlen(embed.get("author", {}).get("name", ""))
    for f in embed.get("fields", []):
        total += dlen(f["name"]) + dlen(f["value"])
    return total


def pack_embeds(embeds: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Group embeds into messages: at most 10 per message and 6,000 characters together."""
    groups: list[list[dict[str, Any]]] = []
    size = 0
    for embed in embeds:
        n = embed_length(embed)
        if not groups or len(groups[-1]) >= EMBEDS_PER_MESSAGE or size + n > EMBED_TOTAL:
            groups.append([])
            size = 0
        groups[-1].append(embed)
        size += n
    return groups


def text_messages(text: str, limit: int = MESSAGE_CHARS) -> list[DiscordMessage]:
    """Plain text as as many messages as it takes."""
    return [DiscordMessage(content=part) for part in split_text(text, limit)]


# ---------------------------------------------------------------- labels


def _label(key: str, lang: str, fallback: str, **values: Any) -> str:
    text = label(key, lang)
    if text == key:
        text = fallback
    return text.format(**values) if values else text


def _colon(word: str, lang: str) -> str:
    """French puts a space before a colon."""
    return f"{word} :" if lang == "fr" else f"{word}:"






def _clip_title(text: str, limit: int = EMBED_TITLE) -> str:
    """Titles are ours (labels, style names); keep them whole words within the limit."""
    return text if dlen(text) <= limit else split_text(text, limit - 1)[0] + "…"


def _score_bar(score: int) -> str:
    score = max(0, min(10, score))
    return "▰" * score + "▱" * (10 - score)


def _engine_text(review: Review, lang: str) -> str:
    if review.engine == "llm":
        return label("engine_llm", lang, model=review.model or "?")
    return label("engine_offline", lang)


# ---------------------------------------------------------------- the review


def custom_id(action: str, owner: str, key: str, index: int) -> str:
    """State carried by a button, so that it keeps working after a restart."""
    value = f"{CUSTOM_ID_PREFIX}:{action}:{owner}:{key}:{index}"
    if len(value) > CUSTOM_ID:
        raise ValueError("custom_id too long")
    return value


def _finding_block(review: Review, index: int, lang: str) -> str:
    f = review.findings[index]
    head = (
        f"{SEVERITY_ICONS.get(f.severity, '•')} **{category_name(f.category, lang)}** · "
        f"{label('severity_' + f.severity, lang)} · *{label('rule_' + f.rule, lang)}*"
    )
    lines = [head]
    if f.span is not None and f.span.text.strip():
        lines.append(quote_block(f.span.text))
    if f.message:
        lines.append(escape_mentions(f.message))
    if f.case:
        lines.append(f"*{_colon(label('recalls', lang), lang)}* {escape_mentions(f.case)}")
    return "\n".join(lines)


def _findings_blocks(review: Review, lang: str) -> list[str]:
    """The heading rides with the first finding, so that they are never split apart."""
    heading = f"**{label('findings', lang)}**"
    if not review.findings:
        return [heading + "\n" + label("no_findings", lang)]
    blocks = [_finding_block(review, i, lang) for i in range(len(review.findings))]
    blocks[0] = heading + "\n" + blocks[0]
    return blocks


def _review_blocks(review: Review, lang: str, show_draft: bool) -> list[str]:
    blocks: list[str] = []
    if show_draft and review.context and review.context.strip():
        blocks.append(f"**{label('context', lang)}**\n{quote_block(review.context)}")
    if show_draft and review.draft.strip():
        blocks.append(f"**{label('draft', lang)}**\n{quote_marked(review.draft, review.findings)}")
    blocks.extend(_findings_blocks(review, lang))
    if review.strengths:
        items = "\n".join(f"• {escape_mentions(s.message)}" for s in review.strengths)
        blocks.append(f"**{label('strengths', lang)}**\n{items}")
    if review.notes:
        items = "\n".join(f"• {escape_mentions(n)}" for n in review.notes)
        blocks.append(f"**{label('notes', lang)}**\n{items}")
    return blocks


def review_embeds(review: Review, *, show_draft: bool = False) -> list[dict[str, Any]]:
    """The review itself: verdict and risk, the four golden rules, findings with cases."""
    lang = ui_language(review.language)
    colour = COLOURS.get(review.verdict, 0x95A5A6)
    title = _clip_title(
        f"{VERDICT_ICONS.get(review.verdict, '')} {label('verdict_' + review.verdict, lang)} · "
        f"{label('risk', lang)} {review.risk}/100"
    )
    fields: list[dict[str, Any]] = []
    for n, rule in enumerate(GOLDEN_RULES):
        fields.append({"name": label(f"rule_{rule}", lang),
                       "value": f"{review.score_of(rule)}/10 {_score_bar(review.score_of(rule))}", "inline": True})
        if n % 2:
            fields.append(dict(SPACER))
    footer = {"text": f"{_engine_text(review, lang)} · {review.language} · {review.platform}"}
    # The first embed also carries title, fields and footer: leave them room.
    head_room = EMBED_TOTAL - dlen(title) - sum(dlen(f["name"]) + dlen(f["value"]) for f in fields)
    head_room -= dlen(footer["text"]) + 100
    pages = _pack_blocks(_review_blocks(review, lang, show_draft), min(EMBED_DESCRIPTION, head_room))
    embeds: list[dict[str, Any]] = []
    for n, page in enumerate(pages):
        embed: dict[str, Any] = {"type": "rich", "color": colour, "description": page}
        if n == 0:
            embed["title"] = title
            embed["fields"] = fields
        else:
            embed["title"] = _clip_title(f"{label('verdict_' + review.verdict, lang)} · "
                                         f"{_label('discord_continued', lang, '(continued)')}")
        embeds.append(embed)
    embeds[-1]["footer"] = footer
    return embeds


def rewrite_embeds(review: Review, index: int) -> list[dict[str, Any]]:
    """The selected rewrite, whole, with the other styles named in the footer."""
    lang = ui_language(review.language)
    if not review.rewrites:
        return []
    index %= len(review.rewrites)
    rewrite = review.rewrites[index]
    title = _clip_title(
        f"{label('rewrites', lang)} · {style_name(rewrite.style, lang)} "
        f"({index + 1}/{len(review.rewrites)})"
    )
    body = echo_rewrite(rewrite)
    if rewrite.placeholders:
        body += "\n\n*" + label("placeholder_hint", lang) + "*"
    others = [style_name(r.style, lang) for i, r in enumerate(review.rewrites) if i != index]
    embeds = []
    for n, page in enumerate(split_text(body, EMBED_DESCRIPTION)):
        embed: dict[str, Any] = {"type": "rich", "color": 0x5865F2, "description": page}
        embed["title"] = title if n == 0 else _clip_title(
            f"{title} {_label('discord_continued', lang, '(continued)')}")
        embeds.append(embed)
    if others:
        embeds[-1]["footer"] = {
            "text": _label("discord_other_styles", lang, "Other styles: {styles}",
                           styles=", ".join(others))[:EMBED_FOOTER]
        }
    return embeds


def echo_rewrite(rewrite: Rewrite) -> str:
    """A rewrite as shown: mentions neutralised, [placeholders] in bold so they stand out."""
    text = escape_mentions(rewrite.text)
    for ph in sorted(set(rewrite.placeholders), key=len, reverse=True):
        text = text.replace(ph, f"**{ph}**")
    return text


def review_buttons(review: Review, owner: str, key: str, index: int, approval: bool = False) -> list[Button]:
    lang = ui_language(review.language)
    buttons: list[Button] = []
    if review.rewrites:
        buttons.append(Button(label("button_use", lang)[:BUTTON_LABEL],
                              custom_id(USE, owner, key, index), "success"))
        if len(review.rewrites) > 1:
            buttons.append(Button(label("button_another", lang)[:BUTTON_LABEL],
                                  custom_id(ANOTHER, owner, key, index)))
    buttons.append(Button(label("button_why", lang)[:BUTTON_LABEL],
                          custom_id(WHY, owner, key, index)))
    if approval:  # the rewrite shown (or the draft, without one) goes to the approvers
        buttons.append(Button(label("button_approval", lang)[:BUTTON_LABEL],
                              custom_id(ASK, owner, key, index), "primary"))
    return buttons


def approval_custom_id(decision: str, approval_id: str) -> str:
    return f"{APPROVAL_PREFIX}:{decision}:{approval_id}"


def render_approval_request(approval_id: str, requester: str, version: str, review: Review, lang: str,
                            *, decided: str | None = None) -> DiscordMessage:
    """What the approvers see: who asks, the version, the review in brief, and Approve /
    Request changes (or, once decided, the decision in their place)."""
    summary = f"{label(f'verdict_{review.verdict}', lang)} · {label('risk', lang)} {review.risk}/100"
    categories = ", ".join(dict.fromkeys(category_name(f.category, lang) for f in review.findings))
    embed: dict[str, Any] = {
        "type": "rich", "color": COLOURS.get(review.verdict, 0x95A5A6),
        "title": _clip_title(label("approval_request_title", lang)),
        "description": (label("approval_asked", lang, user=f"<@{requester}>") + "\n"
                        + quote_block(escape_mentions(version)))[:EMBED_DESCRIPTION],
        "footer": {"text": (summary + (f" · {categories}" if categories else ""))[:EMBED_FOOTER]},
    }
    if decided:
        embed["fields"] = [{"name": "\u200b", "value": decided[:FIELD_VALUE], "inline": False}]
        return DiscordMessage(embeds=[embed])
    return DiscordMessage(embeds=[embed], buttons=[
        Button(label("button_approve", lang)[:BUTTON_LABEL], approval_custom_id(APPROVE, approval_id), "success"),
        Button(label("button_request_changes", lang)[:BUTTON_LABEL], approval_custom_id(CHANGES, approval_id)),
    ])


def render_decision_for_requester(state: str, decider: str, version: str, note: str | None,
                                  lang: str) -> list[DiscordMessage]:
    """The requester's DM: approved, with the text alone ready to copy; or the changes asked."""
    if state == APPROVED_STATE:
        return [DiscordMessage(content=label("approval_you_approved", lang, user=f"<@{decider}>")),
                *text_messages(escape_mentions(version))]
    body = label("approval_you_changes", lang, user=f"<@{decider}>")
    if note:
        body += "\n" + quote_block(escape_mentions(note))
    body += "\n\n" + quote_block(escape_mentions(version))
    return text_messages(body)


APPROVED_STATE = "approved"


def render_review(
    review: Review, *, owner: str, key: str, index: int = 0, show_draft: bool = False, approval: bool = False,
) -> list[DiscordMessage]:
    """The messages of one review; the last carries the selected rewrite and the buttons.

    The rewrite shares the last review message only when the longest rewrite
    would fit there too, so that "Another style" can edit that one message and
    the layout never moves.
    """
    groups = pack_embeds(review_embeds(review, show_draft=show_draft))
    if review.rewrites:
        index %= len(review.rewrites)
        shown = rewrite_embeds(review, index)
        widest = max((rewrite_embeds(review, i) for i in range(len(review.rewrites))),
                     key=lambda es: (len(es), sum(embed_length(e) for e in es)))
        last = groups[-1]
        fits = (len(last) + len(widest) <= EMBEDS_PER_MESSAGE
                and sum(embed_length(e) for e in last + widest) <= EMBED_TOTAL)
        if fits:
            last.extend(shown)
        else:
            groups.extend(pack_embeds(shown))
    messages = [DiscordMessage(embeds=g) for g in groups]
    messages[-1].buttons = review_buttons(review, owner, key, index, approval)
    return messages


def render_rewrite_choice(review: Review, *, owner: str, key: str, index: int,
                          approval: bool = False) -> DiscordMessage:
    """The last message of a review with another rewrite selected ("Another style")."""
    return render_review(review, owner=owner, key=key, index=index, approval=approval)[-1]


def render_use(review: Review, index: int) -> list[DiscordMessage]:
    """'Use this': the rewrite alone, ready to copy, then the placeholder reminder."""
    lang = ui_language(review.language)
    rewrite = review.rewrites[index % len(review.rewrites)]
    messages = text_messages(escape_mentions(rewrite.text))
    if rewrite.placeholders:
        messages.append(DiscordMessage(content="*" + label("placeholder_hint", lang) + "*"))
    return messages


def render_why(review: Review) -> list[DiscordMessage]:
    """'Why?': each golden rule with its notes, each finding with its reason and case."""
    lang = ui_language(review.language)
    blocks = [f"**{label('golden_rules', lang)}**"]
    for rule in GOLDEN_RULES:
        score = next((s for s in review.golden_rules if s.rule == rule), None)
        lines = [f"**{label('rule_' + rule, lang)}** · {review.score_of(rule)}/10"]
        if score is not None:
            lines.extend(f"• {escape_mentions(note)}" for note in score.notes)
        blocks.append("\n".join(lines))
    if review.findings:
        blocks.extend(_findings_blocks(review, lang))
    if review.notes:
        blocks.append(f"**{label('notes', lang)}**\n" + "\n".join(f"• {escape_mentions(n)}" for n in review.notes))
    colour = COLOURS.get(review.verdict, 0x95A5A6)
    title = _label("discord_why_title", lang, "Why this verdict")
    embeds = [
        {"type": "rich", "color": colour, "description": page,
         **({"title": title} if n == 0 else {})}
        for n, page in enumerate(_pack_blocks(blocks, EMBED_DESCRIPTION))
    ]
    return [DiscordMessage(embeds=g) for g in pack_embeds(embeds)]


def render_notice(text: str, lang: str | None = None, *, draft: str | None = None) -> list[DiscordMessage]:
    """A one-line notice (error, refusal), with the user's draft given back when there is one."""
    body = text
    if draft and draft.strip():
        body += "\n\n" + quote_block(draft)
    return text_messages(body)
