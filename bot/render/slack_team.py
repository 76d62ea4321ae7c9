"""Block Kit for the team around the reply: a version sent to the approvers, their
decision, the note a request for changes carries, and crisis mode's banner."""

from __future__ import annotations

from typing import Any

from bot.render.labels import category_name, label
from bot.render.slack import (
    ACTION_APPROVE,
    ACTION_REQUEST_CHANGES,
    _context,
    _plain,
    _quote_lines,
    _sections,
    escape,
)
from bot.review.models import Review

Block = dict[str, Any]
CHANGES_MODAL = "cmc_changes_modal"
INPUT_NOTE = "note"


def crisis_banner(until: str, lang: str) -> str:
    return f":rotating_light: *{label('crisis_banner_title', lang)}*: {label('crisis_banner', lang, until=until)}"


def approval_request_blocks(approval_id: str, requester: str, version: str, review: Review, lang: str,
                            *, decided: str | None = None) -> list[Block]:
    """What the approvers see: who asks, the version to post, the review in brief, and
    Approve / Request changes (or, once decided, the decision in their place)."""
    blocks: list[Block] = [
        {"type": "section", "text": {"type": "mrkdwn",
                                     "text": label("approval_asked", lang, user=f"<@{requester}>")}},
        {"type": "section", "text": {"type": "mrkdwn", "verbatim": True,
                                     "text": "\n".join(_quote_lines(escape(version)))}},
    ]
    summary = f"{label(f'verdict_{review.verdict}', lang)} · {label('risk', lang)} {review.risk}/100"
    categories = ", ".join(dict.fromkeys(category_name(f.category, lang) for f in review.findings))
    blocks.append(_context(summary + (f" · {categories}" if categories else "")))
    if review.context:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "verbatim": True, "text":
                      f"*{label('context', lang)}*: {escape(review.context[:1500])}"}]})
    if decided:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": decided}})
    else:
        blocks.append({"type": "actions", "block_id": "approval", "elements": [
            {"type": "button", "action_id": ACTION_APPROVE, "value": approval_id, "style": "primary",
             "text": _plain(label("button_approve", lang))},
            {"type": "button", "action_id": ACTION_REQUEST_CHANGES, "value": approval_id,
             "text": _plain(label("button_request_changes", lang))},
        ]})
    return blocks


def decision_text(state: str, decider: str, note: str | None, lang: str) -> str:
    key = "approval_approved_by" if state == "approved" else "approval_changes_by"
    text = label(key, lang, user=f"<@{decider}>")
    if note:
        text += "\n" + "\n".join(_quote_lines(escape(note)))
    return text


def requester_blocks(state: str, decider: str, version: str, note: str | None, lang: str) -> list[Block]:
    """The requester's answer: approved, with the text ready to copy; or the changes asked."""
    if state == "approved":
        blocks: list[Block] = [_context(f":white_check_mark: {label('approval_you_approved', lang, user=f'<@{decider}>')}")]
        blocks.extend(_sections(version, kind="plain_text"))
        return blocks
    text = f":pencil2: {label('approval_you_changes', lang, user=f'<@{decider}>')}"
    if note:
        text += "\n" + "\n".join(_quote_lines(escape(note)))
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "verbatim": True, "text": text}}]
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "verbatim": True,
                                               "text": "\n".join(_quote_lines(escape(version)))}})
    return blocks


def changes_modal(approval_id: str, lang: str) -> dict[str, Any]:
    """The note a request for changes carries."""
    return {
        "type": "modal",
        "callback_id": CHANGES_MODAL,
        "private_metadata": approval_id,
        "title": _plain(label("changes_modal_title", lang), 24),
        "submit": _plain(label("changes_modal_submit", lang), 24),
        "close": _plain(label("slack_modal_close", lang), 24),
        "blocks": [
            {"type": "input", "block_id": INPUT_NOTE, "label": _plain(label("changes_modal_note", lang), 2000),
             "element": {"type": "plain_text_input", "action_id": INPUT_NOTE, "multiline": True,
                         "max_length": 2000}},
        ],
    }


def note_of(view: dict[str, Any]) -> str:
    values = (view.get("state") or {}).get("values") or {}
    return str(((values.get(INPUT_NOTE) or {}).get(INPUT_NOTE) or {}).get("value") or "").strip()
