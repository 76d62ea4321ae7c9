"""Reviews per second with one and with two instances on one PostgreSQL database.

Starts a throwaway PostgreSQL server (tests/postgres.py, as the tests do) and a
Slack Web API server on 127.0.0.1 (tests/slack_api_server.py), then, for one and
then two `cm-coach serve slack --http` processes sharing a fresh database, warms
each up with a command and sends N signed `/review` commands (distinct users,
the offline engine, a mix of French and English drafts), spread evenly over the
instances as a load balancer would, at most C at a time. A review counts once it
has arrived on its response_url; the rate is N over the time from the first
command sent to the last review received. Every command must be acked and
answered exactly once.

    .venv/bin/python bench/instances_bench.py               # 300 commands, 3 runs each
    .venv/bin/python bench/instances_bench.py -n 600 --runs 5 --concurrency 50

Every process shares the machine's CPUs: the client, the local Slack, PostgreSQL
and the instances with their review processes (`slack.review_processes`, -1 by
default: one per CPU but one, in each instance). Exit code 0 when every command
was answered exactly once in every run, else 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from aiohttp import ClientSession, ClientTimeout, TCPConnector

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.slack_load import DRAFTS  # noqa: E402  (the same drafts as the one-instance load run)
from tests.postgres import PostgresServer, start_server  # noqa: E402
from tests.slack_api_server import (  # noqa: E402
    SIGNING_SECRET,
    SignedSender,
    SlackAPIServer,
    free_port,
    serve_slack,
    stop,
    wait_listening,
)


async def burst(api: SlackAPIServer, senders: list[SignedSender], n: int, concurrency: int,
                tag: str, timeout: float) -> tuple[float, int, int]:
    """(reviews per second, acked, answered exactly once) for n commands over the senders."""
    gate = asyncio.Semaphore(concurrency)
    names = [f"{tag}-{i}" for i in range(n)]

    async def one(i: int) -> bool:
        async with gate:
            reply = await senders[i % len(senders)].command(
                DRAFTS[i % len(DRAFTS)], response_url=api.response_url(names[i]), user=f"U{tag}{i:05d}",
                trigger_id=f"trigger.{tag}.{i}")
            body = reply.json() if reply.status == 200 else None  # the ephemeral "Reviewing…" line
            return isinstance(body, dict) and body.get("response_type") == "ephemeral" and "…" in str(body.get("text"))

    wanted = set(names)
    started = time.monotonic()
    acked = sum(await asyncio.gather(*(one(i) for i in range(n))))
    with contextlib.suppress(AssertionError):  # counted below
        await api.wait_for(lambda: wanted <= {p.name for p in api.posted}, timeout=timeout)
    arrivals = [p.at for p in api.posted if p.name in wanted]
    elapsed = (max(arrivals) if arrivals else time.monotonic()) - started
    await api.settle(0.5)  # a second answer would arrive now
    once = sum(1 for name in names if len(api.posted_to(name)) == 1)
    return len({p.name for p in api.posted if p.name in wanted}) / elapsed, acked, once


async def configuration(pg: PostgresServer, api: SlackAPIServer, instances: int, n: int, runs: int,
                        concurrency: int, timeout: float) -> tuple[list[float], bool]:
    """Rates of `runs` bursts with `instances` processes on a fresh database; whether all went right."""
    database = pg.create_database()
    env = {"SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": SIGNING_SECRET,
           "CM_COACH_SLACK_HOST": "127.0.0.1", "CM_COACH_SLACK_USER_LIMIT": "0",
           "CM_COACH_STORE_URL": pg.url(database)}
    ports = [free_port() for _ in range(instances)]
    procs = [serve_slack(api.api_url, tempfile.mkdtemp(prefix="cm-coach-bench-"), "--http", "--port", str(port),
                         **env) for port in ports]
    rates: list[float] = []
    ok = True
    try:
        await asyncio.gather(*(wait_listening(port, proc, timeout=60.0) for port, proc in zip(ports, procs,
                                                                                             strict=True)))
        connector = TCPConnector(limit=0)
        async with ClientSession(connector=connector, timeout=ClientTimeout(total=60)) as session:
            senders = [SignedSender(f"http://127.0.0.1:{port}/slack/events", session=session) for port in ports]
            for k, sender in enumerate(senders):  # the first review of each instance loads what it needs
                await sender.command(DRAFTS[0], response_url=api.response_url(f"warm-{instances}-{k}"))
                await api.wait_for(lambda k=k: api.posted_to(f"warm-{instances}-{k}"), timeout=timeout)
            for run in range(runs):
                rate, acked, once = await burst(api, senders, n, concurrency, f"i{instances}r{run}", timeout)
                rates.append(rate)
                ok = ok and acked == n and once == n
                print(f"  {instances} instance(s), run {run + 1}: {rate:6.1f} reviews/s "
                      f"(acked {acked}/{n}, answered once {once}/{n})", flush=True)
    finally:
        for proc in procs:
            await stop(proc)
        pg.drop_database(database)
    return rates, ok


async def run(n: int, runs: int, concurrency: int, timeout: float) -> int:
    try:
        pg = start_server()
    except BaseException as exc:  # pytest's skip when PostgreSQL is not installed
        raise SystemExit(f"cannot start PostgreSQL: {exc}") from None
    api = await SlackAPIServer().start()
    results: dict[int, list[float]] = {}
    ok = True
    try:
        for instances in (1, 2):
            results[instances], fine = await configuration(pg, api, instances, n, runs, concurrency, timeout)
            ok = ok and fine
    finally:
        await api.stop()
        pg.stop()
    print(f"\n{n} signed /review commands per run, at most {concurrency} at a time, offline engine, "
          f"{os.cpu_count()} CPUs, one PostgreSQL database per configuration")
    print("instances  reviews/s (median of runs)  runs")
    for instances, rates in results.items():
        print(f"{instances:>9}  {statistics.median(rates):>26.1f}  "
              + ", ".join(f"{r:.1f}" for r in rates))
    one, two = statistics.median(results[1]), statistics.median(results[2])
    print(f"two instances / one: {two / one:.2f}x")
    print("every command acked and answered exactly once" if ok else "SOME COMMANDS WERE NOT ANSWERED EXACTLY ONCE")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--requests", type=int, default=300, help="commands per run (default 300)")
    parser.add_argument("--runs", type=int, default=3, help="runs per configuration (default 3)")
    parser.add_argument("--concurrency", type=int, default=100, help="commands in flight at most (default 100)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for every review")
    args = parser.parse_args()
    if args.requests < 1 or args.runs < 1 or args.concurrency < 1:
        parser.error("--requests, --runs and --concurrency must be at least 1")
    return asyncio.run(run(args.requests, args.runs, args.concurrency, args.timeout))


if __name__ == "__main__":
    sys.exit(main())
