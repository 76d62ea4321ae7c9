"""Reviews and coaching replies as Slack Block Kit: pure functions, no I/O.

Slack's limits shape everything here: a section's text is at most 3,000
characters (longer text is split across sections, never rejected), a message
is at most 50 blocks (the quoted draft, then the findings are cut, with a line
saying so), a header is at most 150 characters. Text that came from a user is
escaped (`&`, `<`, `>`) and the mrkdwn that carries it is `verbatim`, so a
draft can never ping `@channel`, link `#channel` or a bare URL, or forge a link.

The layout is compact: the quoted messages in one section with the flagged
words in bold, every finding in one section, the scorecard, then each rewrite
as one section and its buttons, with a single "Another style" under the last;
engine, strengths and notes share the closing context line. A one-line draft
with three findings and three rewrites takes 12 blocks.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from bot.render.highlight import draft_runs, placeholder_runs
from bot.render.labels import category_name, colon, label, style_name, ui_language
from bot.render.labels import score_bar as _bar
from bot.render.stats import UserStats, user_stats
from bot.render.team_stats import TeamBrief
from bot.review.models import (
    GOLDEN_RULES,
    PLATFORMS,
    VOICES,
    BrandProfile,
    Finding,
    Review,
    Rewrite,
)
from bot.review.taxonomy import LANGUAGES

Block = dict[str, Any]

MAX_SECTION_CHARS = 3000
MAX_BLOCKS = 50
MAX_HEADER_CHARS = 150
MAX_FIELD_CHARS = 2000
MAX_BUTTON_VALUE = 2000

# Action and callback ids: the adapter routes on these.
ACTION_COPY = "cmc_copy"
ACTION_SHARE = "cmc_share"
ACTION_ANOTHER = "cmc_another"
# The team: a version sent to the approvers' channel, and their two answers.
ACTION_REQUEST_APPROVAL = "request_approval"
ACTION_APPROVE = "approve"
ACTION_REQUEST_CHANGES = "request_changes"
DRAFT_ITSELF = -1  # the index a button gives to the draft as written (not a rewrite)
MODAL_CALLBACK = "cmc_review_modal"
SHORTCUT_CALLBACK = "cmc_review_message"
# Block and action ids of the modal's inputs.
INPUT_DRAFT = "draft"
INPUT_CONTEXT = "context"
INPUT_PLATFORM = "platform"
INPUT_VOICE = "voice"

VERDICT_EMOJI = {"post": ":white_check_mark:", "revise": ":warning:", "block": ":no_entry:"}
SEVERITY_EMOJI = {"high": ":red_circle:", "medium": ":large_orange_circle:", "low": ":large_blue_circle:"}


# -- text helpers -------------------------------------------------------------


def escape(text: str) -> str:
    """User text made inert in mrkdwn: no mention, no link, no channel ping."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def split_text(text: str, limit: int = MAX_SECTION_CHARS) -> list[str]:
    """Cut text into pieces of at most `limit` characters, after a line end
    where possible, else after a space, else inside a word. Lossless:
    "".join(pieces) == text."""
    if limit < 2:
        raise ValueError("limit must be at least 2")
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = window.rfind("\n") + 1
        if cut <= limit // 2:
            cut = window.rfind(" ") + 1
        if cut <= limit // 2:
            cut = limit
        pieces.append(rest[:cut])
        rest = rest[cut:]
    if rest or not pieces:
        pieces.append(rest)
    return pieces


def quote(text: str) -> str:
    """Escaped text as a Slack block quote, line by line."""
    return "\n".join(f"&gt; {line}" if line else "&gt;" for line in escape(text).split("\n"))


# The user's own marks inside an emphasised run, shown as look-alikes that cannot end it.
_INERT_MARK = {"*": "\u2217", "_": "\uff3f"}


def _marked(line: str, mark: str) -> str:
    """`*words*` around a line's words: Slack's emphasis needs no space inside the marks."""
    core = line.strip()
    if not core:
        return line
    lead, trail = line[: len(line) - len(line.lstrip())], line[len(line.rstrip()):]
    return f"{lead}{mark}{core.replace(mark, _INERT_MARK[mark])}{mark}{trail}"


def emphasised(text: str, findings: Sequence[Finding]) -> str:
    """Escaped text with the words a finding points at in bold (medium, high) or
    italics (low), line by line so that no emphasis spans a line end."""
    out: list[str] = []
    for run, severity in draft_runs(text, findings):
        shown = escape(run)
        if severity is not None:
            mark = "_" if severity == "low" else "*"
            shown = "\n".join(_marked(line, mark) for line in shown.split("\n"))
        out.append(shown)
    return "".join(out)


def _quote_lines(mrkdwn: str) -> list[str]:
    return [f"&gt; {line}" if line else "&gt;" for line in mrkdwn.split("\n")]


def _packed(lines: Sequence[str], sep: str = "\n") -> list[Block]:
    """Lines (or paragraphs) packed into as few sections as 3,000 characters allow; a
    line too long alone is split, each piece of a quote staying a quote."""
    blocks: list[Block] = []
    current = ""
    for line in lines:
        pieces = [line]
        if len(line) > MAX_SECTION_CHARS:
            quoted = line.startswith("&gt;")
            room = MAX_SECTION_CHARS - (len("&gt; ") if quoted else 0)
            pieces = [p if i == 0 or not quoted else "&gt; " + p for i, p in enumerate(split_text(line, room))]
        for piece in pieces:
            candidate = piece if not current else current + sep + piece
            if len(candidate) <= MAX_SECTION_CHARS:
                current = candidate
            else:
                blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": current}})
                current = piece
    if current.strip():
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": current}})
    return blocks


def _sections(text: str, kind: str = "mrkdwn") -> list[Block]:
    return [{"type": "section", "text": {"type": kind, "text": piece}}
            for piece in split_text(text) if piece.strip()]


def _quoted_sections(text: str) -> list[Block]:
    """A quote split on line boundaries, so that every piece stays a quote."""
    blocks: list[Block] = []
    # Room for the quote mark a piece cut inside a long line gets back.
    for chunk in split_text(quote(text), MAX_SECTION_CHARS - len("&gt; ")):
        chunk = chunk.rstrip("\n")
        if not chunk.strip():
            continue
        if not chunk.startswith("&gt;"):
            chunk = "&gt; " + chunk
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": chunk}})
    return blocks


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": split_text(text)[0]}]}


def _verbatim(blocks: list[Block]) -> list[Block]:
    """Blocks whose mrkdwn carries user text, marked verbatim: Slack then leaves `@channel`,
    `#channel` and bare URLs as they are written, instead of making mentions and links."""
    for block in blocks:
        objects = [block.get("text"), *(block.get("elements", []) if block.get("type") == "context" else [])]
        for obj in objects:
            if isinstance(obj, dict) and obj.get("type") == "mrkdwn":
                obj["verbatim"] = True
    return blocks


def _header(text: str) -> Block:
    if len(text) > MAX_HEADER_CHARS:
        text = text[: MAX_HEADER_CHARS - 1] + "…"
    return {"type": "header", "text": {"type": "plain_text", "text": text, "emoji": True}}


def _plain(text: str, limit: int = 75) -> dict[str, Any]:
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return {"type": "plain_text", "text": text, "emoji": True}












def review_language(review: Review, fallback: str | None = None) -> str:
    """The interface language for a review: the draft's when it is fr or en,
    else the user's locale when known, else English."""
    if review.language in LANGUAGES:
        return review.language
    return ui_language(fallback)


# -- button values ------------------------------------------------------------


def button_value(ref: str, index: int) -> str:
    value = json.dumps({"ref": ref, "i": index}, separators=(",", ":"))
    if len(value) > MAX_BUTTON_VALUE:
        raise ValueError("review reference too long for a button value")
    return value


def parse_button_value(value: str | None) -> tuple[str, int] | None:
    """(review reference, rewrite index) from a button's value; None if unreadable."""
    try:
        data = json.loads(value or "")
        return str(data["ref"]), int(data["i"])
    except (ValueError, TypeError, KeyError):
        return None


# -- the review ---------------------------------------------------------------


def summary_text(review: Review, lang: str) -> str:
    """One line for notifications and screen readers (a message's `text`)."""
    return f"{label(f'verdict_{review.verdict}', lang)} · {label('risk', lang)} {review.risk}/100"


def _scorecard(review: Review, lang: str) -> Block:
    fields = []
    for rule in GOLDEN_RULES:
        score = review.score_of(rule)
        fields.append({"type": "mrkdwn",
                       "text": f"*{label(f'rule_{rule}', lang)}*\n`{score_bar(score)}` {score}/10"})
    return {"type": "section", "fields": fields}


def finding_text(finding: Finding, lang: str) -> str:
    head = (f"{SEVERITY_EMOJI.get(finding.severity, '')} *{category_name(finding.category, lang)}*"
            f" · {label(f'severity_{finding.severity}', lang)}"
            f" · _{label(f'rule_{finding.rule}', lang)}_")
    lines = [head]
    if finding.span is not None and finding.span.text.strip():
        words = escape(finding.span.text.strip()).replace("\n", " ")
        lines.append(f"&gt; « {words} »" if lang == "fr" else f"&gt; “{words}”")
    if finding.message:
        lines.append(escape(finding.message))
    if finding.case:
        lines.append(f"_{label('recalls', lang)}{colon(lang)}{escape(finding.case)}_")
    return "\n".join(lines)


def _findings(review: Review, lang: str) -> list[Block]:
    """The title and every finding, in as few sections as their length allows."""
    title = f"*{escape(label('findings', lang))}*"
    if not review.findings:
        return _packed([title, label("no_findings", lang)])
    texts = [finding_text(f, lang) for f in review.findings]
    return _verbatim(_packed([f"{title}\n{texts[0]}", *texts[1:]], "\n\n"))  # they quote the draft


def _section_title(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": f"*{escape(text)}*"}}


def _rewrite_mrkdwn(text: str) -> str:
    """A rewrite, escaped, its [placeholders] in bold so that they are filled in."""
    return "".join(_marked(escape(piece), "*") if is_placeholder else escape(piece)
                   for piece, is_placeholder in placeholder_runs(text))


def approval_button(ref: str, index: int, lang: str) -> dict[str, Any]:
    label_key = "button_approval_draft" if index == DRAFT_ITSELF else "button_approval"
    return {"type": "button", "action_id": ACTION_REQUEST_APPROVAL, "value": button_value(ref, index),
            "text": _plain(label(label_key, lang))}


def rewrite_blocks(rewrite: Rewrite, index: int, ref: str | None, lang: str, *, hint: bool = True,
                   another: bool = True, approval: bool = False) -> list[Block]:
    """One rewrite, its style and its quoted text in one section, then its buttons when
    `ref` names a review to act on (`another`: with the one "Another style");
    `hint` adds the line about [placeholders] when it has some."""
    title = f"*{escape(style_name(rewrite.style, lang))}*"
    if rewrite.verdict != "post":
        title += f" · {label(f'verdict_{rewrite.verdict}', lang)}"
    blocks = _verbatim(_packed([title, *_quote_lines(_rewrite_mrkdwn(rewrite.text))]))
    if rewrite.placeholders and hint:
        blocks.append(_context(f":pencil2: {label('placeholder_hint', lang)}"))
    if ref is not None:
        value = button_value(ref, index)
        elements = [
            {"type": "button", "action_id": ACTION_COPY, "value": value,
             "text": _plain(label("button_copy", lang)), "style": "primary"},
            {"type": "button", "action_id": ACTION_SHARE, "value": value,
             "text": _plain(label("button_share", lang))},
        ]
        if another:
            elements.append({"type": "button", "action_id": ACTION_ANOTHER, "value": value,
                             "text": _plain(label("button_another", lang))})
        if approval:
            elements.append(approval_button(ref, index, lang))
        blocks.append({"type": "actions", "block_id": f"rewrite_{index}", "elements": elements})
    return blocks


@dataclass
class _Parts:
    head: list[Block]
    draft: list[Block]
    findings: list[Block]
    tail: list[Block]
    rewrites: list[Block]
    footer: list[Block]

    def blocks(self) -> list[Block]:
        return [*self.head, *self.draft, *self.findings, *self.tail, *self.rewrites, *self.footer]


def review_blocks(
    review: Review,
    lang: str | None = None,
    *,
    ref: str | None = None,
    rewrites: Sequence[tuple[int, Rewrite]] | None = None,
    intro: str | None = None,
    max_blocks: int = MAX_BLOCKS,
    approval: bool = False,
    banner: str | None = None,
) -> list[Block]:
    """The whole review: verdict and risk, the customer's message and the draft (its
    flagged words in bold), every finding (quoted words, why, the case it recalls), the
    four golden rules as a scorecard, then the rewrites, each with its buttons when `ref`
    is given and one "Another style" under the last; engine, strengths and notes close it.

    `rewrites` picks which rewrites to show, as (index in review.rewrites, rewrite);
    `intro` is an mrkdwn line put first (already escaped by the caller); `banner` a
    warning above everything (crisis mode); `approval` adds "Ask for approval" buttons,
    for the draft as written and under each rewrite.
    """
    lang = ui_language(lang or review_language(review))
    head: list[Block] = []
    if banner:
        head.append({"type": "section", "text": {"type": "mrkdwn", "text": split_text(banner)[0]}})
    if intro:
        head.append({"type": "section", "text": {"type": "mrkdwn", "text": split_text(intro)[0]}})
    head.append(_header(f"{label(f'verdict_{review.verdict}', lang)} · {label('risk', lang)} {review.risk}/100"))

    lines: list[str] = []
    if review.context:
        lines += [f"*{label('context', lang)}*", *_quote_lines(escape(review.context))]
    if review.draft:
        lines += [f"*{label('draft', lang)}*", *_quote_lines(emphasised(review.draft, review.findings))]
    draft = _verbatim(_packed(lines))
    if approval and ref is not None and review.draft:
        draft.append({"type": "actions", "block_id": "draft_approval",
                      "elements": [approval_button(ref, DRAFT_ITSELF, lang)]})

    scorecard = _scorecard(review, lang)
    scorecard["text"] = {"type": "mrkdwn", "text": f"*{escape(label('golden_rules', lang))}*"}
    tail: list[Block] = [scorecard]

    chosen = list(enumerate(review.rewrites)) if rewrites is None else list(rewrites)
    rewrite_part: list[Block] = []
    if chosen:
        title = f"*{escape(label('rewrites', lang))}*"
        if any(r.placeholders for _, r in chosen):  # said once, not under every rewrite
            title += f"\n_:pencil2: {label('placeholder_hint', lang)}_"
        rewrite_part.append({"type": "section", "text": {"type": "mrkdwn", "text": title}})
        for n, (index, rewrite) in enumerate(chosen):
            rewrite_part.extend(rewrite_blocks(rewrite, index, ref, lang, hint=False,
                                               another=n == len(chosen) - 1, approval=approval))

    engine = (label("engine_llm", lang, model=review.model or "?") if review.engine == "llm"
              else label("engine_offline", lang))
    elements = [f"{VERDICT_EMOJI.get(review.verdict, '')} cm-coach · {escape(engine)}"]
    if review.strengths:
        items = [escape(s.message.rstrip(" .")) + (f" (“{escape(s.span.text)}”)" if s.span else "")
                 for s in review.strengths if s.message]
        if items:
            elements.append(f"*{label('strengths', lang)}*{colon(lang)}" + " · ".join(dict.fromkeys(items)))
    if review.notes:
        elements.append(f"*{label('notes', lang)}*{colon(lang)}" + " ".join(escape(n) for n in review.notes))
    footer: list[Block] = _verbatim([_footer(elements)])  # strengths quote the draft

    parts = _Parts(head, draft, _findings(review, lang), tail, rewrite_part, footer)
    return _fit(parts, lang, max_blocks)


def _footer(elements: list[str]) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": split_text(e)[0]} for e in elements[:10]]}


def _fit(parts: _Parts, lang: str, max_blocks: int) -> list[Block]:
    """Keep the message within Slack's block budget, losing the least first: shorten the
    quoted draft, then cut findings; the notice rides in the closing context line."""
    if len(parts.blocks()) <= max_blocks:
        return parts.blocks()
    notice = label("slack_truncated", lang)
    footer = parts.footer[0]
    footer["elements"] = [*footer["elements"][:9], {"type": "mrkdwn", "text": notice}]
    if len(parts.draft) > 1:  # the quoted draft shortened; its approval button kept
        parts.draft = [parts.draft[0], *(b for b in parts.draft[1:] if b.get("type") == "actions")]
    if len(parts.blocks()) <= max_blocks:
        return parts.blocks()
    budget = max_blocks - len(parts.head) - len(parts.draft) - len(parts.tail) - len(parts.rewrites) - 1
    if budget >= 1:
        parts.findings = parts.findings[:budget]
        return parts.blocks()
    return [*parts.blocks()[: max_blocks - 1], footer]


# -- buttons' answers ---------------------------------------------------------


def copy_blocks(rewrite: Rewrite, lang: str) -> list[Block]:
    """The rewrite alone, as plain text, ready to copy."""
    blocks: list[Block] = [_context(f":clipboard: {label('slack_copy_intro', lang)}")]
    blocks.extend(_sections(rewrite.text, kind="plain_text"))
    if rewrite.placeholders:
        blocks.append(_context(f":pencil2: {label('placeholder_hint', lang)}"))
    return blocks


def share_blocks(review: Review, index: int, user_id: str, lang: str) -> list[Block]:
    """What teammates see: who shared it, the draft's review, the chosen rewrite; no buttons."""
    intro = label("slack_shared_by", lang, user=f"<@{escape(user_id)}>")
    return review_blocks(review, lang, rewrites=[(index, review.rewrites[index])], intro=intro)


def another_blocks(review: Review, index: int, ref: str, lang: str) -> list[Block]:
    """A new rewrite in another style, with its own buttons (and "Another style" again)."""
    rewrite = review.rewrites[index]
    return [_context(f":arrows_counterclockwise: {label('slack_another_intro', lang)}"),
            *rewrite_blocks(rewrite, index, ref, lang)]


# -- other messages -------------------------------------------------------------


def notice_blocks(text: str, draft: str | None = None, lang: str = "en") -> list[Block]:
    """A message for the user (an error, a limit), with their draft kept below it."""
    blocks: list[Block] = _verbatim(_sections(f":information_source: {escape(text)}"))
    if draft and draft.strip():
        blocks.append(_context(f"*{label('draft', lang)}*"))
        blocks.extend(_verbatim(_quoted_sections(draft)))
    return blocks[:MAX_BLOCKS]


def error_blocks(draft: str | None, lang: str, detail: str | None = None) -> list[Block]:
    text = label("error_generic", lang)
    if detail:
        text = f"{text} ({detail})"
    return notice_blocks(text, draft, lang)


def help_text(lang: str) -> str:
    return label("slack_help", lang)


def help_blocks(lang: str) -> list[Block]:
    return [_header(label("slack_help_title", lang)), *_sections(help_text(lang)),
            _context(label("slack_help_footer", lang))]


def reviewing_text(lang: str) -> str:
    return f":hourglass_flowing_sand: {label('reviewing', lang)}"


def coach_blocks(text: str, review: Review | None, ref: str | None, lang: str) -> list[Block]:
    """A coaching reply: its words, then the review when there is one."""
    # A coaching reply quotes the user's words and the versions made of them.
    blocks: list[Block] = _verbatim(_sections(escape(text))) if text.strip() else []
    if review is None:
        return blocks[:MAX_BLOCKS]
    budget = MAX_BLOCKS - len(blocks[:5])
    return [*blocks[:5], *review_blocks(review, lang, ref=ref, max_blocks=budget)]


# -- the modal ---------------------------------------------------------------


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": _plain(text), "value": value}


def platform_name(platform: str, lang: str) -> str:
    from bot.review.platforms import spec

    if platform == "generic":
        return label("slack_platform_generic", lang)
    return spec(platform).name


def review_modal(lang: str, metadata: str, *, platform: str = "generic", voice: str = "neutral",
                 draft: str = "", context: str = "") -> dict[str, Any]:
    """The /review form: the draft, the customer's message (optional), platform, voice."""
    platforms = [_option(platform_name(p, lang), p) for p in PLATFORMS]
    voices = [_option(label(f"slack_voice_{v}", lang), v) for v in VOICES]
    initial_platform = next((o for o in platforms if o["value"] == platform), platforms[-1])
    initial_voice = next((o for o in voices if o["value"] == voice), voices[0])
    draft_input: dict[str, Any] = {"type": "plain_text_input", "action_id": INPUT_DRAFT,
                                   "multiline": True, "max_length": MAX_SECTION_CHARS,
                                   "placeholder": _plain(label("slack_modal_draft_hint", lang), 150)}
    if draft:
        draft_input["initial_value"] = draft[:MAX_SECTION_CHARS]
    context_input: dict[str, Any] = {"type": "plain_text_input", "action_id": INPUT_CONTEXT,
                                     "multiline": True, "max_length": MAX_SECTION_CHARS}
    if context:
        context_input["initial_value"] = context[:MAX_SECTION_CHARS]
    return {
        "type": "modal",
        "callback_id": MODAL_CALLBACK,
        "private_metadata": metadata,
        "title": _plain(label("slack_modal_title", lang), 24),
        "submit": _plain(label("slack_modal_submit", lang), 24),
        "close": _plain(label("slack_modal_close", lang), 24),
        "blocks": [
            {"type": "input", "block_id": INPUT_DRAFT, "label": _plain(label("slack_modal_draft", lang), 2000),
             "element": draft_input},
            {"type": "input", "block_id": INPUT_CONTEXT, "optional": True,
             "label": _plain(label("slack_modal_context", lang), 2000), "element": context_input},
            {"type": "input", "block_id": INPUT_PLATFORM, "label": _plain(label("slack_modal_platform", lang), 2000),
             "element": {"type": "static_select", "action_id": INPUT_PLATFORM, "options": platforms,
                         "initial_option": initial_platform}},
            {"type": "input", "block_id": INPUT_VOICE, "label": _plain(label("slack_modal_voice", lang), 2000),
             "element": {"type": "static_select", "action_id": INPUT_VOICE, "options": voices,
                         "initial_option": initial_voice}},
        ],
    }


def modal_values(view: dict[str, Any]) -> dict[str, str]:
    """The submitted form as {draft, context, platform, voice}; missing ones are ''."""
    state = (view.get("state") or {}).get("values") or {}
    out: dict[str, str] = {}
    for key in (INPUT_DRAFT, INPUT_CONTEXT, INPUT_PLATFORM, INPUT_VOICE):
        element = (state.get(key) or {}).get(key) or {}
        if element.get("type") == "static_select":
            out[key] = ((element.get("selected_option") or {}).get("value")) or ""
        else:
            out[key] = element.get("value") or ""
    return out


# -- App Home -----------------------------------------------------------------


# The Home tab shows the coach's figures (Coach.stats); it computes none of its own.
HomeStats = UserStats


def home_view(lang: str, profile: BrandProfile, stats: HomeStats | None,
              team: TeamBrief | None = None) -> dict[str, Any]:
    """The Home tab: the four golden rules, how to use the bot, the brand
    profile in force, the user's own figures, and the team's week in brief."""
    blocks: list[Block] = [_header(label("slack_home_title", lang)),
                           *_sections(label("slack_home_intro", lang)),
                           {"type": "divider"},
                           _section_title(label("golden_rules", lang))]
    for number, rule in enumerate(GOLDEN_RULES, start=1):
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text":
                       f"*{number}. {label(f'rule_{rule}', lang)}*\n{label(f'slack_rule_{rule}', lang)}"}})
    blocks.append(_context(label("slack_rules_source", lang)))
    blocks += [{"type": "divider"}, _section_title(label("slack_home_howto_title", lang)),
               *_sections(label("slack_home_howto", lang))]
    blocks += [{"type": "divider"}, _section_title(label("slack_home_profile_title", lang)),
               *_sections(_profile_text(profile, lang))]
    blocks += [{"type": "divider"}, _section_title(label("slack_home_stats_title", lang)),
               *_sections(_stats_text(stats, lang))]
    if team is not None:
        blocks += [{"type": "divider"}, _section_title(label("slack_home_team_title", lang)),
                   *_sections(_team_text(team, lang))]
    return {"type": "home", "blocks": blocks[:MAX_BLOCKS]}


def _team_text(team: TeamBrief, lang: str) -> str:
    """This week's reviews by verdict and the risk that recurs most, for the whole team."""
    if not team.reviews:
        return label("slack_home_team_none", lang)
    verdicts = " · ".join(f"{label(f'verdict_{v}', lang)}{colon(lang)}{n}" for v, n in team.verdicts)
    text = label("slack_home_team_reviews", lang, count=team.reviews) + f"\n{verdicts}"
    if team.top_category:
        text += "\n" + label("slack_home_team_top", lang, category=category_name(team.top_category, lang),
                              count=team.top_count)
    return text


def _profile_text(profile: BrandProfile, lang: str) -> str:
    sep = colon(lang)
    name = escape(profile.name) if profile.name else label("slack_profile_unnamed", lang)
    address = {"tu": "tu", "vous": "vous"}.get(profile.address, label("slack_address_auto", lang))
    lines = [
        f"*{label('slack_profile_brand', lang)}*{sep}{name}",
        f"*{label('slack_modal_voice', lang)}*{sep}{label(f'slack_voice_{profile.voice}', lang)}",
        f"*{label('slack_profile_address', lang)}*{sep}{address}",
        f"*{label('slack_modal_platform', lang)}*{sep}{platform_name(profile.platform, lang)}",
    ]
    if profile.signature:
        lines.append(f"*{label('slack_profile_signature', lang)}*{sep}{escape(profile.signature)}")
    if profile.banned_terms:
        lines.append(f"*{label('slack_profile_banned', lang)}*{sep}"
                     + ", ".join(escape(t) for t in profile.banned_terms))
    if profile.extra_rules:
        lines.append(label("slack_profile_extra_rules", lang, count=len(profile.extra_rules)))
    lines.append(f"_{label('slack_profile_where', lang)}_")
    return "\n".join(lines)


def _stats_text(stats: HomeStats | None, lang: str) -> str:
    if stats is None:
        return label("slack_stats_unavailable", lang)
    if stats.reviews == 0:
        return label("slack_stats_none", lang)
    sep = colon(lang)
    lines = [label("slack_stats_reviews", lang, count=stats.reviews)]
    if stats.verdicts:
        lines.append(" · ".join(f"{VERDICT_EMOJI.get(v, '')} {label(f'verdict_{v}', lang)}{sep}{n}"
                                for v, n in stats.verdicts))
    if stats.average_risk is not None:
        lines.append(f"{label('slack_stats_average_risk', lang)}{sep}{stats.average_risk}/100")
    if stats.top_categories:
        lines.append(f"{label('slack_stats_top', lang)}{sep}"
                     + ", ".join(category_name(c, lang) for c in stats.top_categories))
    if stats.drills:
        lines.append(label("slack_stats_drills", lang, count=stats.drills))
    return "\n".join(lines)


def stats_from_reviews(records: Iterable[dict[str, Any]], drills: int = 0) -> HomeStats:
    """Figures from the store's review records, as the coach computes them."""
    return replace(user_stats(records), drills=drills)


def score_bar(score: int, width: int = 10) -> str:
    return _bar(score, width, "▰", "▱")
