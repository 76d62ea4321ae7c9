"""Load run for the Slack app: N `/review` commands at once over HTTP on loopback.

Starts a Slack Web API server on 127.0.0.1 (tests/slack_api_server.py), runs
`cm-coach serve slack --http` in its own process against it, warms it up with
one command, then sends N signed `/review` commands all at once. Every command
must be acked (HTTP 200 with the "reviewing…" reply) and answered exactly once
on its own response_url. Prints the ack latency (p50/p90/p99/max) and the time
until the review arrived.

    .venv/bin/python bench/slack_load.py            # 100 commands
    .venv/bin/python bench/slack_load.py -n 300
    .venv/bin/python bench/slack_load.py --dms 10   # while ten 10,000-character DMs are coached
    .venv/bin/python bench/slack_load.py --kill     # SIGKILL after the acks, restart, count answers

With --kill, "answered once" counts what the user sees: an answer sent again
after the crash takes the place of the first (replace_original), and the raw
number of repeats is printed beside it.

Exit code 0 when every command was acked and answered exactly once and the
p99 ack latency is under the target (300 ms by default), else 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from aiohttp import ClientSession, ClientTimeout, TCPConnector

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.slack_api_server import (  # noqa: E402
    SIGNING_SECRET,
    SignedSender,
    SlackAPIServer,
    free_port,
    serve_slack,
    stop,
    wait_listening,
)

DRAFTS = (
    "Please delete the photo and DM us.",
    "Avant que nous puissions enquêter, je vous demande de supprimer la photographie.",
    "We're sorry about the delay on flight 2021. We're checking with the crew now.",
    "Encore une fois, LISEZ LES CONDITIONS avant de râler.",
    "The delay was caused by the airport, not us.",
    "Merci pour votre message ! Nous regardons votre commande dès maintenant.",
)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def _is_reviewing_ack(body: str) -> bool:
    """The immediate answer: an ephemeral "reviewing…" line, in English or French."""
    try:
        data = json.loads(body)
    except ValueError:
        return False
    return data.get("response_type") == "ephemeral" and "…" in str(data.get("text", ""))


LONG_DM = " ".join(
    "Bonjour, nous sommes désolés pour le retard de votre commande et nous vérifions avec le transporteur."
    for _ in range(100))[:10_000]


def _dm(i: int) -> dict[str, object]:
    return {"type": "message", "channel_type": "im", "channel": f"D{i:05d}", "user": f"UDM{i:04d}",
            "text": LONG_DM, "ts": f"{1700000000 + i}.000100"}


async def run(n: int, target_ms: float, answer_timeout: float, dms: int = 0, kill: bool = False) -> int:
    api = await SlackAPIServer().start()
    port = free_port()
    data_dir = tempfile.mkdtemp(prefix="cm-coach-bench-")
    env = {"SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": SIGNING_SECRET,
           "CM_COACH_SLACK_HOST": "127.0.0.1", "CM_COACH_SLACK_USER_LIMIT": "0"}
    proc = serve_slack(api.api_url, data_dir, "--http", "--port", str(port), **env)
    killed_at = 0
    try:
        try:
            await wait_listening(port, proc, timeout=30.0)
        except RuntimeError as exc:
            raise SystemExit(str(exc)) from None
        url = f"http://127.0.0.1:{port}/slack/events"
        connector = TCPConnector(limit=0)  # every command on its own connection, all at once
        async with ClientSession(connector=connector, timeout=ClientTimeout(total=30)) as session:
            slack = SignedSender(url, session=session)
            warm = await slack.command(DRAFTS[0], response_url=api.response_url("warm-up"))
            if warm.status != 200:
                raise SystemExit(f"warm-up command failed: HTTP {warm.status} {warm.text[:200]}")
            await api.wait_for(lambda: api.posted_to("warm-up"), timeout=answer_timeout)

            sent_at: dict[str, float] = {}

            async def one(i: int) -> tuple[str, int, float, str]:
                name = f"cmd-{i}"
                sent_at[name] = time.monotonic()
                reply = await slack.command(DRAFTS[i % len(DRAFTS)], response_url=api.response_url(name),
                                            user=f"U{i:05d}", trigger_id=f"trigger.{i}")
                return name, reply.status, reply.latency, reply.text

            started = time.monotonic()
            coached = [asyncio.create_task(slack.event(_dm(i), event_id=f"EvDM{i}")) for i in range(dms)]
            if coached:
                await asyncio.sleep(0.05)  # the long DMs are being reviewed when the commands arrive
            results = await asyncio.gather(*(one(i) for i in range(n)))
            await asyncio.gather(*coached)
            names = {name for name, *_ in results}
            if kill:
                proc.kill()  # SIGKILL: no cleanup
                await asyncio.to_thread(proc.wait)
                killed_at = len({p.name for p in api.posted if p.name in names})
                proc = serve_slack(api.api_url, data_dir, "--http", "--port", str(port), **env)
                await wait_listening(port, proc, timeout=30.0)

            def all_answered() -> bool:
                return names <= {p.name for p in api.posted}

            with contextlib.suppress(AssertionError):  # counted below
                await api.wait_for(all_answered, timeout=answer_timeout)
            elapsed = time.monotonic() - started
            await api.settle(0.5)  # a second answer would arrive now
    finally:
        await stop(proc)
        await api.stop()

    acked = [r for r in results if r[1] == 200 and _is_reviewing_ack(r[3])]
    latencies_ms = [r[2] * 1000 for r in results]
    counts = {name: len(api.posted_to(name)) for name in names}
    replaced = {name: all(p.body.get("replace_original") for p in api.posted_to(name)) for name in names}
    # What the user sees: one message, since every repeat takes the place of the one before.
    once = sum(1 for name, c in counts.items() if c == 1 or (c > 1 and replaced[name]))
    missing = sum(1 for c in counts.values() if c == 0)
    twice = sum(1 for name, c in counts.items() if c > 1 and not replaced[name])
    repeats = sum(c - 1 for c in counts.values() if c > 1)
    arrival = {p.name: p.at for p in api.posted if p.name in sent_at}
    answer_ms = [(arrival[name] - sent_at[name]) * 1000 for name in arrival]
    p50, p90, p99 = (percentile(latencies_ms, q) for q in (50, 90, 99))

    print(f"{n} /review commands at once over HTTP on 127.0.0.1 (cm-coach serve slack --http, offline engine)"
          + (f", while {dms} DMs of {len(LONG_DM):,} characters are coached" if dms else ""))
    print(f"acked:     {len(acked)}/{n}")
    if kill:
        print(f"killed (SIGKILL) after the acks with {killed_at} answered; restarted on the same data")
    print(f"answered:  {once}/{n} exactly once as the user sees it ({missing} missing, {twice} shown twice;"
          f" {repeats} sent again in place of the first)")
    if dms:
        dm_answers = len(api.calls_to("chat.postMessage"))
        print(f"DMs answered: {dm_answers}/{dms}")
    print(f"ack latency ms:    p50 {p50:.1f}  p90 {p90:.1f}  p99 {p99:.1f}  max {max(latencies_ms):.1f}"
          f"  mean {statistics.fmean(latencies_ms):.1f}")
    if answer_ms:
        print(f"review arrived ms: p50 {percentile(answer_ms, 50):.1f}  p99 {percentile(answer_ms, 99):.1f}"
              f"  max {max(answer_ms):.1f}")
    print(f"all {n} answered in {elapsed:.2f} s")
    ok = len(acked) == n and once == n and p99 < target_ms
    print(f"target p99 < {target_ms:.0f} ms: {'met' if p99 < target_ms else 'MISSED'}")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--requests", type=int, default=100, help="commands sent at once (default 100)")
    parser.add_argument("--target-ms", type=float, default=300.0, help="p99 ack latency target (default 300)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for every review")
    parser.add_argument("--dms", type=int, default=0, help="10,000-character DMs sent just before the commands")
    parser.add_argument("--kill", action="store_true", help="SIGKILL the app after the acks, then restart it")
    args = parser.parse_args()
    if args.requests < 1:
        parser.error("--requests must be at least 1")
    return asyncio.run(run(args.requests, args.target_ms, args.timeout, args.dms, args.kill))


if __name__ == "__main__":
    sys.exit(main())
