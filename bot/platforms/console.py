"""`cm-coach chat`: the coaching core in a terminal, as a direct message would get it.

Line editing and history (prompt_toolkit) when standard input is a terminal;
plain line reading otherwise, so that scripts and tests drive it through a
pipe. One line is one message; end a line with a backslash to continue a
draft on the next line. `quit`, `exit` or end of input leaves.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import re
import shutil
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TextIO

from bot.coach import Coach, CoachReply, ConversationKey

if TYPE_CHECKING:
    from bot.config import Settings

PLATFORM, WORKSPACE = "console", "local"
QUIT = {"quit", "exit", "quitter", ":q", "/quit", "/exit"}
BOLD, RESET = "\x1b[1m", "\x1b[0m"
_BOLD_MARK = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")


def format_text(text: str, color: bool) -> str:
    """Light Markdown (*bold*) for a terminal: ANSI bold, or the words alone.
    Control characters a user sent (escape sequences) are shown, never obeyed."""
    from bot.render.highlight import printable

    text = printable(text)
    return _BOLD_MARK.sub((lambda m: f"{BOLD}{m.group(1)}{RESET}") if color else (lambda m: m.group(1)), text)


def format_reply(reply: CoachReply, color: bool) -> str:
    """The reply as the terminal shows it: its first line, the review if any, the rest."""
    text = format_text(reply.text, color)
    if reply.review is None:
        return text
    from bot.render.terminal import render_terminal

    head, _, rest = text.partition("\n")
    width = shutil.get_terminal_size((88, 24)).columns if color else 88
    parts = [head, render_terminal(reply.review, color=color, width=min(width, 120))]
    if rest.strip():
        parts.append(rest)
    return "\n\n".join(parts)


def _user(args: argparse.Namespace) -> str:
    if getattr(args, "user", None):
        return str(args.user)
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "me"


Reader = Callable[[str], Awaitable[str | None]]


def _plain_reader(stream: TextIO) -> Reader:
    async def read(_prompt: str) -> str | None:
        # Blocking is fine: nothing else runs while the user types.
        line = stream.buffer.readline() if hasattr(stream, "buffer") else stream.readline().encode()
        if not line:
            return None
        try:
            return line.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            return "\x00not-utf8"

    return read


def _tty_reader() -> Reader:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import InMemoryHistory

    # History stays in memory: drafts are kept only in the store, where
    # retention and `forget` apply to them.
    session: PromptSession[str] = PromptSession(history=InMemoryHistory())

    async def read(prompt: str) -> str | None:
        while True:
            try:
                return await session.prompt_async(prompt)
            except KeyboardInterrupt:  # Ctrl-C clears the line, Ctrl-D leaves
                continue
            except EOFError:
                return None

    return read


async def _messages(read: Reader, prompt: str) -> list[str] | None:
    """The next message (lines joined when they end with a backslash), None at the end."""
    lines: list[str] = []
    while True:
        line = await read(prompt if not lines else "… ")
        if line is None:
            return lines or None
        if line.endswith("\\"):
            lines.append(line[:-1])
            continue
        lines.append(line)
        return lines


def run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app.services import Services, StoreUnavailable

    try:
        services = Services.open(settings)  # the retention applied as it opens
    except StoreUnavailable as exc:
        print(f"cm-coach: {exc}", file=sys.stderr)
        return 2
    store, coach = services.store, services.coach
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    color = interactive and "NO_COLOR" not in os.environ
    key = ConversationKey(PLATFORM, WORKSPACE, _user(args))
    read = _tty_reader() if interactive else _plain_reader(sys.stdin)
    if interactive:
        print(format_text("*cm-coach* — send a draft reply, or *help* / *aide*. *quit* to leave.", color))
    try:
        return asyncio.run(_loop(coach, key, read, color))
    finally:
        store.close()


async def _loop(coach: Coach, key: ConversationKey, read: Reader, color: bool) -> int:
    while True:
        lines = await _messages(read, "› ")
        if lines is None:
            return 0
        text = "\n".join(lines).strip()
        if not text:
            continue
        if text.lower() in QUIT:
            return 0
        if "\x00not-utf8" in text:
            print("This line is not UTF-8 text; send it again as UTF-8.\n", flush=True)
            continue
        reply = await coach.handle(key, text)
        print(format_reply(reply, color) + "\n", flush=True)


def crisis(args: argparse.Namespace, settings: Settings) -> int:
    """`cm-coach crisis on [--hours H] | off | status`: crisis mode everywhere, audited."""
    from datetime import datetime

    from bot.app.desk import EVERYWHERE, Desk
    from bot.app.services import Services, StoreUnavailable

    if args.hours is not None and not 0 < args.hours <= 24 * 30:
        print("cm-coach: --hours must be above 0 and at most 720 (30 days)", file=sys.stderr)
        return 2
    try:
        services = Services.open(settings, purge=False)
    except StoreUnavailable as exc:
        print(f"cm-coach: {exc}", file=sys.stderr)
        return 2
    try:
        desk = Desk(services)
        key = ConversationKey("cli", EVERYWHERE, _user(args))
        if args.state == "on":
            started = desk.start_crisis(key, args.hours, everywhere=True)
            until = datetime.fromtimestamp(started.until).astimezone().strftime("%Y-%m-%d %H:%M %Z")
            print(f"Crisis mode is on everywhere until {until}: every review shows it, reputation risks weigh "
                  "one step more, the impertinent voice is off and every reply needs approval. It ends by "
                  "itself; `cm-coach crisis off` ends it sooner.")
        elif args.state == "off":
            ended = desk.end_crisis(key, everywhere=True)
            print("Crisis mode is off." if ended else "Crisis mode was not on everywhere; nothing to end "
                  "(a workspace's own crisis ends with `/review crisis off` there).")
        else:
            on = desk.crisis("cli", EVERYWHERE)
            if on is None:
                print("Crisis mode is off. `cm-coach crisis on --hours 48` starts it everywhere.")
            else:
                until = datetime.fromtimestamp(on.until).astimezone().strftime("%Y-%m-%d %H:%M %Z")
                print(f"Crisis mode is on everywhere until {until} (started by {on.started_by}).")
        return 0
    finally:
        services.close()
