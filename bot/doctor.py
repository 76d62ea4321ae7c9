"""`cm-coach doctor`: is the configuration usable, and does the LLM endpoint answer?

Prints one line per check and says exactly what failed (wrong key, unknown
model, unreachable host) and what to do. Once the model answers, it tries a
real review in JSON and a coaching follow-up, as the bot would. The API key is
never printed, not even in part, nor credentials written in a URL (user:password@,
?api-key=…). Exit code 0
when every check passes, 1 when one fails.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from bot.logsafe import redact

if TYPE_CHECKING:
    import openai

    from bot.config import Settings

OK, FAIL, INFO = "ok  ", "FAIL", "--  "
SHOWN_MODELS = 8
# user:password@ in any URL a line may quote (the base URL, a server's message).
_URL_CREDENTIALS = re.compile(r"(?<=//)[^/\s@]+@")
# The easyJet case: what the review and the follow-up checks send.
PROBE_CONTEXT = "Un siège sans dossier dans un avion, comment cela peut-il être autorisé ?"
PROBE_DRAFT = ("Avant que nous puissions enquêter, je vous demande de supprimer la photographie "
               "et de nous donner plus d'informations en messages privés.")
PROBE_VERSION = ("Merci de nous l'avoir signalé : ce siège n'aurait jamais dû être proposé, et nous "
                 "vous présentons nos excuses. [ce que nous faisons]. Pouvez-vous nous écrire en MP "
                 "avec votre référence de réservation ?")


class Report:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.failures = 0

    def line(self, status: str, text: str) -> None:
        if status == FAIL:
            self.failures += 1
        print(f"[{status}] {redact(_URL_CREDENTIALS.sub('***@', text))}", file=self.out)


def _key_source() -> str:
    for var in ("CM_COACH_LLM_API_KEY", "OPENAI_API_KEY"):
        if os.environ.get(var):
            return var
    return ""


def _check_settings(settings: Settings, report: Report, engine: str) -> bool:
    """Static checks; True when the endpoint should be reached."""
    from bot.review.llm import endpoint_host
    from bot.review.llm.prompts import PromptError, load_prompts

    cfg = settings.llm
    report.line(INFO, f"configuration: {settings.source}; review engine: {engine}")
    configured = settings.llm_configured
    if not configured:
        if engine == "llm":
            report.line(FAIL, "review.engine is 'llm' but no endpoint is configured: set "
                              "OPENAI_API_KEY, or [llm] base_url for a local server")
        else:
            report.line(OK, f"no LLM configured: reviews use the offline engine (engine {engine})")
        return False
    from bot.review.llm.transport import safe_url

    base = safe_url(settings.llm_base_url) or "https://api.openai.com/v1 (default)"
    report.line(INFO, f"endpoint: {base}; model: {cfg.model}; timeout {cfg.timeout:g} s a call, "
                      f"deadline {cfg.deadline:g} s a review, {cfg.max_concurrency} at a time")
    source = _key_source()
    if source:
        report.line(OK, f"API key: set in {source} (not shown)")
    elif endpoint_host(settings.llm_base_url) == "api.openai.com":
        report.line(FAIL, "API key: not set; OpenAI needs one in OPENAI_API_KEY")
    else:
        report.line(OK, "API key: not set (local servers such as Ollama or llama.cpp need none)")
    try:
        prompts = load_prompts(cfg.prompts_dir)
        report.line(OK, f"prompts: version {prompts.version}")
    except PromptError as exc:
        report.line(FAIL, f"prompts: {exc}")
    if engine == "offline":
        report.line(INFO, "review.engine is 'offline': the LLM is checked but not used")
    return True


async def _reach(settings: Settings, report: Report) -> None:
    import openai

    from bot.review.llm import endpoint_host, make_client
    from bot.review.llm.transport import server_message

    cfg = settings.llm
    host = endpoint_host(settings.llm_base_url)
    secret = settings.llm_api_key

    def said(exc: BaseException) -> str:
        return server_message(exc, secret)

    async with make_client(settings) as client:
        models: list[str] | None = None
        try:
            page = await asyncio.wait_for(client.models.list(), cfg.timeout)
            models = sorted(m.id for m in page.data)
            shown = ", ".join(models[:SHOWN_MODELS]) + (", …" if len(models) > SHOWN_MODELS else "")
            report.line(OK, f"reached {host}: {len(models)} model(s): {shown or 'none listed'}")
        except openai.AuthenticationError:
            report.line(FAIL, f"{host} refused the API key (401 Unauthorized): check OPENAI_API_KEY "
                              "or CM_COACH_LLM_API_KEY")
            return
        except openai.PermissionDeniedError as exc:
            report.line(FAIL, f"{host} denied access (403 Forbidden: {said(exc)}): check the key's "
                              "permissions")
            return
        except openai.NotFoundError:
            report.line(INFO, f"reached {host}, which does not list its models (404 on /models); "
                              "asking the model directly")
        except (openai.APITimeoutError, TimeoutError):
            report.line(FAIL, f"{host} did not answer within {cfg.timeout:g} s: is the server up? "
                              "Raise [llm] timeout for a slow server")
            return
        except openai.APIConnectionError as exc:
            cause = exc.__cause__ or exc
            report.line(FAIL, f"cannot reach {host} ({type(cause).__name__}: {said(cause)}): check "
                              "[llm] base_url (or OPENAI_BASE_URL) and that the server is running")
            return
        except openai.APIStatusError as exc:
            report.line(FAIL, f"{host} answered {exc.status_code} to the list of models: {said(exc)}")
            return
        if models is not None and cfg.model in models:
            report.line(OK, f"model '{cfg.model}' is served")
        elif not await _probe_model(client, settings, report, models, said):
            return
    await _try_review(settings, report)


async def _probe_model(client: openai.AsyncOpenAI, settings: Settings, report: Report,
                       models: list[str] | None, said: Callable[[BaseException], str]) -> bool:
    """A one-token completion: Azure deployments and some servers answer for unlisted names.

    True when the model answered.
    """
    import openai

    cfg = settings.llm
    try:
        await asyncio.wait_for(client.chat.completions.create(
            model=cfg.model, messages=[{"role": "user", "content": "ping"}], max_tokens=1,
        ), cfg.timeout)
        note = " (not in the list: a deployment name?)" if models is not None else ""
        report.line(OK, f"model '{cfg.model}' answers{note}")
        return True
    except openai.NotFoundError:
        known = f"; this endpoint serves: {', '.join(models[:SHOWN_MODELS])}" if models else ""
        report.line(FAIL, f"unknown model '{cfg.model}'{known}. Set [llm] model "
                          "(or CM_COACH_LLM_MODEL)")
    except openai.APIStatusError as exc:
        report.line(FAIL, f"model '{cfg.model}' could not answer ({exc.status_code}: "
                          f"{said(exc)})")
    except (openai.APIConnectionError, TimeoutError) as exc:
        report.line(FAIL, f"model '{cfg.model}' did not answer ({type(exc).__name__}) within "
                          f"{cfg.timeout:g} s")
    return False


class _Warnings(logging.Handler):
    """What the LLM reviewer logs while doctor tries it: why a follow-up was not used."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


async def _try_review(settings: Settings, report: Report) -> None:
    """A real review in JSON and a real follow-up, through the reviewer the bot uses."""
    from bot.review.llm import LLMReviewer
    from bot.review.models import ReviewRequest

    reviewer = LLMReviewer(settings)
    started = time.monotonic()
    review = await reviewer.review(ReviewRequest(PROBE_DRAFT, context=PROBE_CONTEXT, platform="x",
                                                 profile=settings.profile))
    seconds = time.monotonic() - started
    if review.engine != "llm":
        why = next((n for n in review.notes if n.startswith("LLM review unavailable")), "")
        report.line(FAIL, "a review in JSON: " + (why.removeprefix("LLM review unavailable: ")
                                                    .split(". The offline")[0] or "not given"))
        return
    usage = review.usage or {}
    report.line(OK, f"a review in JSON ({reviewer.mode()} mode): verdict {review.verdict}, "
                    f"{usage.get('total_tokens', 0)} tokens ({usage.get('cached_tokens', 0)} cached), "
                    f"{seconds:.1f} s")
    watcher = _Warnings()
    logger = logging.getLogger("bot.review.llm")
    logger.addHandler(watcher)
    try:
        text = await reviewer.follow_up(PROBE_VERSION, instruction="shorter", lang="fr",
                                        context=PROBE_CONTEXT, draft=PROBE_DRAFT)
    finally:
        logger.removeHandler(watcher)
    if text is None:
        why = watcher.messages[-1] if watcher.messages else "no answer"
        report.line(FAIL, f"a coaching follow-up: {why}")
    else:
        report.line(OK, f"a coaching follow-up ('shorter'): {len(PROBE_VERSION)} → {len(text)} characters")


def run(args: argparse.Namespace, settings: Settings, out: TextIO | None = None) -> int:
    report = Report(out or sys.stdout)
    engine = getattr(args, "engine", None) or settings.review.engine
    if _check_settings(settings, report, engine):
        try:
            asyncio.run(_reach(settings, report))
        except ImportError as exc:
            report.line(FAIL, f"the openai package is missing ({exc.name}); reinstall with "
                              "`pip install -e .`")
    if report.failures:
        print(f"cm-coach doctor: {report.failures} problem(s) found; see the FAIL lines above",
              file=sys.stderr)
        return 1
    print("All checks passed.", file=report.out)
    return 0
