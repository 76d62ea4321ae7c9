"""The coaching conversation, platform-neutral: a message in, a reply out.

Slack, Discord and the terminal all call `Coach.handle(key, text)`. The coach
understands the message (intents.py), reviews drafts through the Reviewer,
adjusts the last reply on request (followups.py), teaches (teaching.py) and
keeps each user's state in the store. A message that is an instruction
(one follow-up, several chained, or the user's own words) is never reviewed as
a draft. Every version it proposes, whatever wrote it, passes the one fact
guard (`facts.guard`: the user is told which facts became [placeholders] or
why a version was left out), keeps the language and form of address of the
conversation, and is reviewed again: it is shown only when it passes.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from bot.coach import followups, teaching
from bot.coach.intents import FOLLOW_UPS, Intent, confirmation, parse, rule_named
from bot.coach.texts import (
    category_name,
    has_message,
    language_name,
    rule_name,
    say,
    severity_name,
)
from bot.render.labels import label
from bot.render.stats import UserStats, history_record, user_stats
from bot.review.facts import Fact, guard, shown
from bot.review.language import detect_language
from bot.review.models import Review, ReviewRequest, Rewrite
from bot.review.offline import review_checked
from bot.review.reviewer import Reviewer
from bot.review.rewrites import fact_labels
from bot.review.taxonomy import LANGUAGES
from bot.review.validation import DraftError, valid_text
from bot.store import ConflictError, Storage

log = logging.getLogger(__name__)
STATE_VERSION = 1
# Kinds of stored reviews that count in a user's figures: what they wrote themselves.
OWN_KINDS = ("draft", "drill")
# How many candidate versions a follow-up may re-review before giving up.
MAX_CANDIDATES = 8
# How many times a turn is applied again when another instance saved the conversation meanwhile.
SAVE_ATTEMPTS = 5
TRANSFORMS: dict[str, Callable[[str, str], list[str]]] = {
    "shorter": followups.shorter,
    "longer": followups.longer,
    "formal": followups.formal,
    "warmer": followups.warmer,
    "tu": lambda text, lang: followups.address(text, "tu"),
    "vous": lambda text, lang: followups.address(text, "vous"),
}


@dataclass(frozen=True)
class ConversationKey:
    """One conversation: a user in a workspace (Slack team, Discord guild) of a platform."""

    platform: str
    workspace: str
    user: str


@dataclass
class CoachReply:
    text: str  # what to say, plain text with light Markdown (*bold*), in the user's language
    review: Review | None = None  # when the turn produced a (new) review, the renderer shows it
    # review | rewrite | explanation | lesson | drill | stats | help | confirm | forgotten | error
    kind: str = "message"
    language: str = "en"  # interface language (fr|en)


class Coach:
    """One coach for every conversation; state lives in the store, not here."""

    def __init__(self, reviewer: Reviewer, store: Storage, clock: Callable[[], float] = time.time) -> None:
        self.reviewer = reviewer
        self.store = store
        self.clock = clock
        self._locks: dict[ConversationKey, asyncio.Lock] = {}

    async def handle(self, key: ConversationKey, text: str) -> CoachReply:
        """Answer one message; one turn at a time per conversation. When another instance
        saved the conversation meanwhile, the turn is applied again to what it saved."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        text = valid_text(text or "")
        async with lock:
            attempt = 0
            while True:
                attempt += 1
                loaded, version = self.store.load_conversation_versioned(key)
                state = loaded or self._new_state()
                try:
                    reply = await self._dispatch(key, state, text)
                except DraftError as exc:
                    reply = CoachReply(say("error_draft", state["lang"], message=str(exc)), kind="error",
                                       language=state["lang"])
                except Exception:  # the user must get an answer, and their text back
                    log.exception("coaching turn failed")
                    excerpt = " ".join(text.split())[:300]
                    return CoachReply(say("error_internal", state["lang"], excerpt=excerpt), kind="error",
                                      language=state["lang"])
                if reply.kind == "forgotten":
                    return reply
                # The last attempt saves regardless: the user must see what is kept.
                expected = version if attempt < SAVE_ATTEMPTS else None
                try:
                    self.store.save_conversation(key, state, now=self.clock(), expected_version=expected)
                except ConflictError:
                    log.info("conversation saved elsewhere meanwhile; applying the message again")
                    continue
                return reply

    # -- dispatch ----------------------------------------------------------

    def _new_state(self) -> dict[str, Any]:
        configured = self.reviewer.settings.review.language
        return {"v": STATE_VERSION, "lang": configured if configured in LANGUAGES else "en",
                "current": None, "drill": None, "pending_context": None, "confirm": None}

    async def _dispatch(self, key: ConversationKey, state: dict[str, Any], text: str) -> CoachReply:
        if state.get("confirm") == "forget":
            state["confirm"] = None
            answer = confirmation(text)
            if answer is not None:
                lang = answer[1] or state["lang"]
                if answer[0] == "yes":
                    count = self.store.forget(key)
                    self._locks.pop(key, None)
                    return CoachReply(say("forget_done", lang, count=count), kind="forgotten", language=lang)
                return self._say(state, "forget_cancelled", "confirm", lang)
        intent = parse(text)
        if intent.language in LANGUAGES:
            state["lang"] = intent.language
        name = intent.name
        if name == "help":
            return self._say(state, "help", "help")
        if name == "stats":
            body = teaching.stats_text(self.stats(key), state["lang"])
            return CoachReply(body, kind="stats", language=state["lang"])
        if name == "forget":
            state["confirm"] = "forget"
            return self._say(state, "forget_confirm", "confirm")
        if name == "lesson":
            return self._lesson(key, state, intent)
        if name == "practice":
            return self._practice(key, state, intent)
        if name == "stop":
            had = state.get("drill") is not None
            state["drill"] = None
            return self._say(state, "drill_stopped" if had else "drill_none", "drill")
        if name == "context":
            return await self._context(key, state, intent)
        if name == "combo":
            return await self._combo(key, state, intent, text)
        if name == "instruction":
            if state.get("current") and not state.get("drill"):
                return await self._instruction(key, state, intent, text)
            if not intent.weak:  # an instruction with nothing to apply it to: never a draft
                return self._say(state, "need_review", "message")
        if name in FOLLOW_UPS:
            return await self._follow_up(key, state, name)
        return await self._draft(key, state, text)

    def _say(self, state: dict[str, Any], message: str, kind: str, lang: str | None = None) -> CoachReply:
        lang = lang or state["lang"]
        return CoachReply(say(message, lang), kind=kind, language=lang)

    # -- reviews -----------------------------------------------------------

    async def _draft(self, key: ConversationKey, state: dict[str, Any], text: str) -> CoachReply:
        draft = text.strip()
        detected = detect_language(draft)
        if detected in LANGUAGES:
            state["lang"] = detected
        drill = state.get("drill")
        if drill:
            return await self._drill_answer(key, state, draft, drill)
        context = state.pop("pending_context", None)
        state["pending_context"] = None
        review = await self._review(key, state, draft, context, "draft")
        return self._review_reply(state, review, say("review_intro", state["lang"]), hint=context is None)

    async def _review(self, key: ConversationKey, state: dict[str, Any], draft: str,
                      context: str | None, kind: str, platform: str | None = None) -> Review:
        fields: dict[str, Any] = {"context": context}
        if platform:
            fields["platform"] = platform
        until = self._crisis_until(key)
        if until is not None:  # reputation risks weigh more, and the impertinent voice is off
            fields["crisis"] = True
            profile = self.reviewer.settings.profile
            if profile.voice == "impertinent":
                fields["profile"] = replace(profile, voice="neutral")
        request = self.reviewer.request(draft, **fields)
        review = await self.reviewer.review(request)
        if until is not None:
            lang = review.language if review.language in LANGUAGES else state["lang"]
            when = datetime.fromtimestamp(until, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
            review.notes.insert(0, f"🚨 {label('crisis_banner_title', lang)}: {label('crisis_banner', lang, until=when)}")
        record = history_record(review, kind) | {"draft": draft, "context": context}
        now = self.clock()
        review_id = self.store.add_review(key, record, now=now)
        digest = hashlib.sha256(draft.encode("utf-8")).hexdigest()[:12]
        self.store.audit(key, kind if kind != "draft" else "review",
                         f"review {review_id}: {review.engine} {review.verdict} risk {review.risk} "
                         f"draft sha256:{digest}", now=now)
        first = _first_version(review)
        state["current"] = {
            "draft": draft, "context": context, "platform": request.platform,
            "lang": review.language, "review": review.to_dict(),
            "text": first, "shown": 0, "versions": [],
            "form": self._form_of(first or draft, review.language),
        }
        return review

    def _form_of(self, text: str, lang: str) -> str | None:
        """The French form of address a conversation keeps: the brand's, else the text's."""
        if lang != "fr":
            return None
        profile = self.reviewer.settings.profile.address
        return profile if profile in ("tu", "vous") else followups.address_of(text) or "vous"

    def _review_reply(self, state: dict[str, Any], review: Review, intro: str, hint: bool) -> CoachReply:
        lang = state["lang"]
        if review.verdict == "post":
            follow = say("review_next_post", lang)
        elif state["current"]["text"]:
            follow = say("review_next_fix", lang)
        else:
            follow = say("review_next_norewrite", lang)
        lines = [intro, follow]
        if hint:
            lines.append(say("no_context_hint", lang))
        return CoachReply("\n".join(lines), review=review, kind="review", language=lang)

    async def _context(self, key: ConversationKey, state: dict[str, Any], intent: Intent) -> CoachReply:
        context = intent.argument
        if intent.draft:  # "the customer wrote: … my reply: …": that reply, with that message
            state["pending_context"] = context
            return await self._draft(key, state, intent.draft)
        current = state.get("current")
        if not current:
            state["pending_context"] = context
            return self._say(state, "pending_context", "message")
        # It attaches to the draft being worked on, and to the version made of it so far.
        review = await self._review(key, state, current["draft"], context, "recheck",
                                    platform=current.get("platform"))
        lines = [say("review_intro_context", state["lang"])]
        kept = current.get("text") if current.get("versions") else None
        if kept and self._recheck(state["current"], kept).verdict == "post":
            state["current"].update(text=kept, versions=current["versions"], form=current.get("form"))
            lines.append(say("context_version_kept", state["lang"]))
        reply = self._review_reply(state, review, "\n".join(lines), hint=False)
        return reply

    def _crisis_until(self, key: ConversationKey) -> float | None:
        """When a crisis on for this person's workspace (or everywhere) ends, or None.
        Only read here: its end is written by the surfaces' desk."""
        crises = getattr(self.store, "crises", None)
        if crises is None:
            return None
        try:
            rows = crises(["*", f"{key.platform}:{key.workspace}"])
        except Exception as exc:  # coaching goes on without it
            log.warning("could not read crisis mode: %s", type(exc).__name__)
            return None
        now = self.clock()
        return max((r["until"] for r in rows if r["until"] > now), default=None)

    def stats(self, key: ConversationKey) -> UserStats:
        """The user's figures, for every front end: their own drafts and drill
        answers (not re-checks with context, nor teammates' messages they had reviewed)."""
        own = [r for r in self.store.reviews(key) if r["kind"] in OWN_KINDS]
        return user_stats(own, self.store.drill_progress(key))

    # -- follow-ups on the last review -------------------------------------

    async def _follow_up(self, key: ConversationKey, state: dict[str, Any], name: str) -> CoachReply:
        lang = state["lang"]
        current = state.get("current")
        if not current:
            return self._say(state, "need_review", "message")
        review = Review.from_dict(current["review"])
        if name == "why":
            return CoachReply(explain(review, lang), kind="explanation", language=lang)
        if name == "another":
            base = current.get("text") or current["draft"]
            llm_text, refused = await self._llm_follow_up(current, base, name,
                                                          current.get("lang") or review.language)
            if llm_text:
                before = current.get("text")
                reply = self._first_passing(key, state, current, [llm_text], name)
                if current.get("text") != before:
                    return reply
            return self._another(key, state, current, review, refused)
        if name in ("english", "french"):
            target = "en" if name == "english" else "fr"
            llm_text, refused = await self._llm_follow_up(current, current.get("text") or current["draft"],
                                                          name, target)
            return self._translate(key, state, current, review, target, first=llm_text, refused=refused)
        base = current.get("text")
        if not base:
            return self._say(state, "need_version", "message")
        draft_lang = _language_of(base, current.get("lang") or review.language)
        if name in ("tu", "vous") and draft_lang != "fr":
            return CoachReply(say("address_not_french", lang, language=language_name(draft_lang, lang)),
                              kind="message", language=lang)
        candidates = TRANSFORMS[name](base, draft_lang)
        llm_text, refused = await self._llm_follow_up(current, base, name, draft_lang)
        if llm_text:
            candidates.insert(0, llm_text)
        form = name if name in ("tu", "vous") else "vous" if name == "formal" and draft_lang == "fr" else None
        return self._first_passing(key, state, current, candidates, name, refused=refused, form=form)

    async def _combo(self, key: ConversationKey, state: dict[str, Any], intent: Intent, words: str) -> CoachReply:
        """Several follow-ups in one message: the model gets the words as they are; offline,
        each step is applied in turn, every step's version passing before the next."""
        current = state.get("current")
        if not current:
            return self._say(state, "need_review", "message")
        base = current.get("text")
        if not base:
            return self._say(state, "need_version", "message")
        review = Review.from_dict(current["review"])
        lang = _language_of(base, current.get("lang") or review.language)
        target = "en" if "english" in intent.steps else "fr" if "french" in intent.steps else lang
        # The form the last step that sets one asks for (formal French says « vous »).
        forms = {"tu": "tu", "vous": "vous", "formal": "vous"}
        form = next((forms[s] for s in reversed(intent.steps) if s in forms), None) if target == "fr" else None
        llm_text, refused = await self._llm_follow_up(current, base, " ".join(words.split()), target)
        candidates = [llm_text] if llm_text else []
        chained, done, stuck = self._chain(current, review, base, intent.steps, lang)
        if chained:
            candidates.append(chained)
        label = " + ".join(say(f"label_{s}", state["lang"]) for s in (done if chained and not llm_text
                                                                      else intent.steps))
        if not candidates and stuck:
            ui = state["lang"]
            body = say("rewrite_none", ui, how=say(f"how_{stuck}", ui))
            return CoachReply(f"{body}\n\n{base}", kind="rewrite", language=ui)
        return self._first_passing(key, state, current, candidates, "combo", lang=target if target != lang else None,
                                   label=label, refused=refused, form=form)

    def _chain(self, current: dict[str, Any], review: Review, base: str, steps: tuple[str, ...],
               lang: str) -> tuple[str | None, list[str], str | None]:
        """The offline steps in turn: (the version, the steps that changed it, None), or
        (None, [], the step none of whose versions passed). A step with nothing to change
        (« tutoie » on a reply that says « tu ») is passed over."""
        text, form = base, current.get("form")
        done: list[str] = []
        for step in steps:
            if step in ("english", "french"):
                target = "en" if step == "english" else "fr"
                if _language_of(text, lang) == target:
                    continue  # already in that language
                options = [r.text for r in _rewrites_in(current, review, target, form or "vous")]
                lang = target
            elif step in ("tu", "vous"):
                if lang != "fr":
                    return None, [], step
                options, form = TRANSFORMS[step](text, lang), step
            else:
                options = TRANSFORMS[step](text, lang)
                form = "vous" if step == "formal" and lang == "fr" else form
            if not options:
                continue
            passing = next((o for o in options if self._unfaithful(o, lang, form) is None
                            and self._recheck(current, o, lang).verdict == "post"), None)
            if passing is None:
                return None, [], step
            text = passing
            done.append(step)
        return (text if text != base else None), done, None

    async def _instruction(self, key: ConversationKey, state: dict[str, Any], intent: Intent,
                           words: str) -> CoachReply:
        """The user's own instruction: verbatim to the model when there is one; offline, an
        addition or a removal where the tables can, else what can be done offline."""
        ui = state["lang"]
        current = state["current"]
        base = current.get("text")
        if not base:
            return self._say(state, "need_version", "message")
        review = Review.from_dict(current["review"])
        lang = _language_of(base, current.get("lang") or review.language)
        instruction = " ".join(words.split())
        llm_text, refused = await self._llm_follow_up(current, base, instruction, lang)
        candidates = [llm_text] if llm_text else []
        if intent.kind == "add":
            candidates += followups.add_sentence(base, intent.argument, lang, current.get("form"))
        elif intent.kind == "remove":
            candidates += followups.remove_about(base, intent.argument, lang)
        if not candidates:
            lines = [say("instruction_offline", ui, instruction=instruction)]
            if refused:
                lines.append(say("llm_invented", ui, facts=shown(refused)))
            return CoachReply("\n".join(lines) + f"\n\n{base}", kind="rewrite", language=ui)
        return self._first_passing(key, state, current, candidates, "instruction", refused=refused,
                                   extra_sources=(instruction,))

    def _recheck(self, current: dict[str, Any], text: str, lang: str | None = None) -> Review:
        """A proposed version reviewed again, offline, with the same context and platform
        (whether it answers the customer included)."""
        request = self.reviewer.request(text, context=current.get("context"),
                                        platform=current.get("platform") or "generic",
                                        lang=lang or current.get("lang"))
        return review_checked(self.reviewer.prepare(request), rewrite=False)

    def _unfaithful(self, text: str, lang: str | None, form: str | None) -> str | None:
        """Why a version does not keep the conversation's language or form of address, if it does not."""
        detected = detect_language(text)
        if lang in LANGUAGES and detected in LANGUAGES and detected != lang:
            return "language"
        if lang == "fr" and form and followups.address_of(text) not in (None, form):
            return "form"
        return None

    def _guarded(self, current: dict[str, Any], text: str, lang: str, extra: tuple[str, ...]) -> Any:
        profile = self.reviewer.settings.profile
        sources = (current.get("draft"), current.get("context"), current.get("text"), *extra)
        return guard(text, sources, (profile.name, profile.signature), fact_labels(lang))

    def _first_passing(self, key: ConversationKey, state: dict[str, Any], current: dict[str, Any],
                       candidates: list[str], how: str, lang: str | None = None, *, label: str | None = None,
                       refused: list[Fact] | None = None, form: str | None = None,
                       extra_sources: tuple[str, ...] = ()) -> CoachReply:
        """The first candidate that passes the fact guard, keeps the language and the form of
        address, and is reviewed `post`; else why not, with the current version kept."""
        ui = state["lang"]
        base = current.get("text") or ""
        notes = [say("llm_invented", ui, facts=shown(refused))] if refused else []
        if not candidates:
            body = say(f"none_{how}", ui) if has_message(f"none_{how}") else say(
                "rewrite_none", ui, how=say(f"how_{how}", ui))
            return CoachReply("\n".join([body, *notes]) + f"\n\n{base}", kind="rewrite", language=ui)
        target = lang or _language_of(base, current.get("lang") or "en")
        form = form or (current.get("form") if target == "fr" else None)
        failed: Review | None = None
        unfaithful: str | None = None
        for text in candidates[:MAX_CANDIDATES]:
            guarded = self._guarded(current, text, target, extra_sources)
            if guarded.text is None:
                notes.append(say("facts_dropped", ui, facts=shown(list(guarded.invented))))
                continue
            text = guarded.text
            why = self._unfaithful(text, target, form)
            if why:
                unfaithful = unfaithful or why
                continue
            checked = self._recheck(current, text, lang)
            if checked.verdict == "post":
                current["text"] = text
                if lang:
                    current["lang"] = lang
                if target == "fr":
                    current["form"] = form or followups.address_of(text) or current.get("form")
                current["versions"].append({"how": how, "text": text})
                self.store.audit(key, "followup", f"{how}: post risk {checked.risk}", now=self.clock())
                head = say("rewrite_shown", ui, label=label or say(f"label_{how}", ui),
                           verdict=say("verdict_post", ui), risk=checked.risk)
                if guarded.changed:
                    notes.append(say("facts_replaced", ui, facts=shown(list(guarded.invented))))
                return CoachReply("\n".join([head, *notes]) + f"\n\n{text}", kind="rewrite", language=ui)
            failed = failed or checked
        reason = say(f"verdict_{failed.verdict}", ui) if failed else ""
        if failed and failed.findings:
            top = failed.findings[0]
            reason = f"{category_name(top.category, ui)}: {top.message}"
        elif unfaithful:
            reason = say(f"unfaithful_{unfaithful}", ui)
        elif not failed and notes:
            reason = say("reason_facts", ui)
        body = say("rewrite_failed", ui, how=say(f"how_{how}", ui), reason=reason)
        return CoachReply("\n".join([body, *notes]) + f"\n\n{base}", kind="rewrite", language=ui)

    def _another(self, key: ConversationKey, state: dict[str, Any], current: dict[str, Any], review: Review,
                 refused: list[Fact] | None = None) -> CoachReply:
        """The next suggested style, in the form of address the conversation keeps."""
        ui = state["lang"]
        lang = current.get("lang") or review.language
        form = current.get("form") if lang == "fr" else None
        # After a translation, the other styles come in the language asked for.
        pool = review.rewrites if lang == review.language else _rewrites_in(current, review, lang, form)
        passing = [r for r in pool if r.verdict == "post"]
        if len(passing) < 2 and not (passing and passing[0].text != current.get("text")):
            return CoachReply(say("no_other_version", ui), kind="message", language=ui)
        start = int(current.get("shown", 0)) if lang == review.language else -1
        for step in range(1, len(passing) + 1):
            index = (start + step) % len(passing)
            rewrite = passing[index]
            text = rewrite.text
            if form and followups.address_of(text) not in (None, form):
                text = (followups.address(text, form) or [text])[0]
            if text == current.get("text") or self._unfaithful(text, lang, form):
                continue
            checked = self._recheck(current, text, lang)
            if checked.verdict != "post":
                continue
            current.update(shown=index, text=text, lang=lang)
            current["versions"].append({"how": "another", "text": text})
            self.store.audit(key, "followup", f"another: post risk {checked.risk}", now=self.clock())
            head = say("rewrite_shown", ui, label=_style_label(rewrite, ui), verdict=say("verdict_post", ui),
                       risk=checked.risk)
            notes = [say("llm_invented", ui, facts=shown(refused))] if refused else []
            return CoachReply("\n".join([head, *notes]) + f"\n\n{text}", kind="rewrite", language=ui)
        return CoachReply(say("no_other_version", ui), kind="message", language=ui)

    def _translate(self, key: ConversationKey, state: dict[str, Any], current: dict[str, Any],
                   review: Review, target: str, first: str | None = None,
                   refused: list[Fact] | None = None) -> CoachReply:
        """The version in the other language: the LLM's translation when there is one,
        else the rewrite templates of that language for the same findings, in the
        conversation's form of address."""
        ui = state["lang"]
        if _language_of(current.get("text") or current["draft"], review.language) == target:
            return CoachReply(say("already_language", ui, language=language_name(target, ui)),
                              kind="message", language=ui)
        form = (current.get("form") or "vous") if target == "fr" else None
        candidates = ([first] if first else []) + [r.text for r in _rewrites_in(current, review, target, form)]
        candidates = [c for c in candidates if detect_language(c) == target]
        if not candidates:
            return CoachReply(say("cannot_translate", ui, language=language_name(target, ui)),
                              kind="message", language=ui)
        how = "english" if target == "en" else "french"
        return self._first_passing(key, state, current, candidates, how, lang=target, refused=refused, form=form)

    async def _llm_follow_up(self, current: dict[str, Any], text: str, how: str,
                             lang: str) -> tuple[str | None, list[Fact]]:
        """With an LLM configured, ask it first, with the conversation so far; offline
        tables remain the fallback, and its answer is re-reviewed like any other. The
        facts of an answer refused for inventing them come back, for the user to be told."""
        refused: list[Fact] = []
        settings = self.reviewer.settings
        if not (self.reviewer.use_llm() and settings.llm_configured):
            return None, refused
        client = self.reviewer.llm_client()
        if client is None:
            return None, refused
        try:
            answer = await client.follow_up(text, instruction=how, lang=lang,
                                            context=current.get("context"),
                                            history=current.get("versions") or [],
                                            draft=current.get("draft"), refused=refused)
        except Exception as exc:  # the offline follow-up answers instead
            log.warning("LLM follow-up failed (%s); using the offline tables", type(exc).__name__)
            return None, refused
        return (answer.strip() if isinstance(answer, str) and answer.strip() else None), refused

    # -- teaching ----------------------------------------------------------

    def _lesson(self, key: ConversationKey, state: dict[str, Any], intent: Intent) -> CoachReply:
        lang = state["lang"]
        if not intent.argument:
            return self._say(state, "lesson_menu", "lesson")
        rule = rule_named(intent.argument)
        if rule is None:
            return CoachReply(say("lesson_unknown", lang, name=intent.argument), kind="lesson", language=lang)
        body, exercise = teaching.lesson(rule, lang)
        if exercise:
            state["drill"] = {"case": exercise, "source": f"lesson:{rule}"}
        self.store.audit(key, "lesson", rule, now=self.clock())
        return CoachReply(body, kind="lesson", language=lang)

    def _practice(self, key: ConversationKey, state: dict[str, Any], intent: Intent) -> CoachReply:
        lang = state["lang"]
        progress = self.store.drill_progress(key)
        if intent.argument:
            chosen = teaching.find_case(intent.argument)
            if chosen is None:
                names = ", ".join(c.id for c in teaching.cases())
                return CoachReply(say("drill_unknown", lang, name=intent.argument, cases=names),
                                  kind="drill", language=lang)
        else:
            chosen = teaching.next_case(progress)
        state["drill"] = {"case": chosen.id, "source": "practice"}
        body = say("drill_start", lang, title=chosen.text("title", lang), done=len(progress),
                   total=len(teaching.cases()), situation=chosen.text("situation", lang),
                   customer=chosen.text("customer", lang))
        return CoachReply(body, kind="drill", language=lang)

    async def _drill_answer(self, key: ConversationKey, state: dict[str, Any], draft: str,
                            drill: dict[str, Any]) -> CoachReply:
        lang = state["lang"]
        case = teaching.case(str(drill.get("case")))
        if case is None:  # a case removed from the data since: start afresh
            state["drill"] = None
            return await self._draft(key, state, draft)
        customer = case.text("customer", lang)
        review = await self._review(key, state, draft, customer, "drill", platform=case.platform)
        state["drill"] = None
        score = teaching.drill_score(review)
        progress = self.store.record_drill(key, case.id, score, now=self.clock())
        self.store.audit(key, "drill", f"{case.id}: {score}/100", now=self.clock())
        scores = {s.rule: s.score for s in review.golden_rules}
        lines = [
            say("drill_score", lang, score=score, verdict=say(f"verdict_{review.verdict}", lang),
                best=progress["best_score"], attempts=progress["attempts"]),
            say("drill_rules", lang, scores=teaching.scores_line(scores, lang)),
            "",
            say("drill_better", lang),
            *[f"• {m}" for m in case.text("moves", lang)],
            "",
            say("drill_example", lang, example=case.text("example", lang)),
            say("drill_next", lang),
        ]
        return CoachReply("\n".join(lines), review=review, kind="drill", language=lang)


# -- helpers ---------------------------------------------------------------

def _first_version(review: Review) -> str | None:
    """What follow-ups work on: the first rewrite that passes, or the draft if it passes."""
    for rewrite in review.rewrites:
        if rewrite.verdict == "post":
            return rewrite.text
    return review.draft if review.verdict == "post" else None


def _language_of(text: str, fallback: str) -> str:
    detected = detect_language(text)
    return detected if detected in LANGUAGES else fallback


def _style_label(rewrite: Rewrite, lang: str) -> str:
    return label(f"rewrite_style_{rewrite.style}", lang)


def _rewrites_in(current: dict[str, Any], review: Review, target: str, form: str | None = None) -> list[Rewrite]:
    """The offline rewrite templates of another language for the same findings, in `form`."""
    from bot.review.packs import pack as pack_of
    from bot.review.rewrites import propose

    pack = pack_of(target)
    if pack is None or (review.verdict == "post" and not review.findings):
        return []
    request = ReviewRequest(draft=current["draft"], context=current.get("context"),
                            platform=current.get("platform") or "generic", lang=target)
    try:
        return propose(request, replace(review, language=target, rewrites=[], notes=[]), pack, form=form)
    except Exception as exc:  # templates keyed to the other language's spans may not apply
        log.info("no %s rewrite for this review (%s)", target, type(exc).__name__)
        return []


def explain(review: Review, lang: str) -> str:
    """Why the review says what it says: each finding, its golden rule and its real case."""
    if not review.findings:
        lines = [say("why_nothing", lang)]
        if review.strengths:
            lines.append(say("why_strengths", lang, strengths="; ".join(
                dict.fromkeys(s.message.rstrip(" .") for s in review.strengths))))
    else:
        lines = [say("why_intro", lang)]
        told: set[str] = set()
        for f in review.findings:
            lines.append(say("why_finding", lang, category=category_name(f.category, lang),
                             severity=severity_name(f.severity, lang), rule=rule_name(f.rule, lang),
                             message=f.message))
            if f.span is not None:
                lines[-1] += f" (« {f.span.text} »)"
            story = teaching.story_for(f.case, lang)
            if story and story not in told:
                told.add(story)
                lines.append(say("why_case", lang, story=story))
            elif f.case and not story:
                lines.append(say("why_case", lang, story=f.case))
    scores = {s.rule: s.score for s in review.golden_rules}
    lines.append(say("why_scores", lang, scores=teaching.scores_line(scores, lang)))
    return "\n".join(lines)
