"""Size of the LLM prompt and the reviewer's own overhead on the LLM path.

    python bench/llm_bench.py            # 200 reviews
    python bench/llm_bench.py -n 1000

Prompt size: the messages and the JSON schema of one review of a
tweet-length draft, as sent (taken from the request the local server
received). Tokens are estimated, since an exact tokenizer (tiktoken) would
need its encoding files from the network. The estimate is the larger of two
counts: characters / 4 (OpenAI's rule of thumb for English), and the pieces
a GPT-style pre-tokenizer cuts the text into (a word with its leading space,
a run of punctuation, up to three digits), a word of more than 8 letters
counting one more token per 8 letters. The second runs higher on JSON, whose
punctuation tokenizes poorly. Read the figure as ±15 %.

Overhead: the real reviewer and the real openai client against an
OpenAI-compatible server on 127.0.0.1 that answers at once with a full
review (findings, two rewrites to re-review). The cache is off so every
review makes its call. The time includes the offline review that serves as
the floor and the hints, building the prompt, the HTTP round trip on
loopback, validation, merging and the offline re-review of every rewrite.
The server runs in a child process, so it does not share this one's GIL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from llm_server import LLMServer, Reply, chat_completion, valid_review  # noqa: E402

from bot.config import LLMSection, Settings  # noqa: E402
from bot.review.reviewer import Reviewer  # noqa: E402

AIM_TOKENS = 2_000
AIM_P50_MS = 20.0

DRAFT = ("Avant que nous puissions enquêter sur le sujet, je vous demande de supprimer la "
         "photographie et de nous donner plus d'informations en messages privés.")
CONTEXT = "Un siège sans dossier dans un avion, comment cela peut-il être autorisé ?"
REWRITES = [
    {"style": "apology", "text": "Merci de nous l'avoir signalé : ce siège n'aurait jamais dû être "
     "proposé et nous vous présentons nos excuses. Nous enquêtons dès maintenant. Pouvez-vous "
     "nous écrire en MP avec votre référence de réservation ?"},
    {"style": "concise", "text": "Toutes nos excuses pour ce siège : nous enquêtons. Écrivez-nous "
     "en MP avec votre référence de réservation."},
]


_PIECES = re.compile(r"\s?[^\W\d_]+|\s?\d{1,3}|\s?[^\w\s]+|\s+")


def approx_tokens(text: str) -> int:
    """The larger of chars/4 and pre-tokenizer pieces (see the module docstring)."""
    pieces = sum(1 + max(0, len(p.strip()) - 1) // 8 for p in _PIECES.findall(text))
    return max(round(len(text) / 4), pieces)


def answer() -> dict[str, Any]:
    at = DRAFT.index("supprimer la photographie")
    review = valid_review(
        verdict="block", risk=90,
        findings=[{"category": "deletion_demand", "severity": "high",
                   "span": {"start": at, "end": at + 25, "text": "supprimer la photographie"},
                   "message": "Demander de supprimer la photo la fait circuler davantage.",
                   "case": "easyJet"}],
        rewrites=REWRITES,
    )
    return chat_completion(json.dumps(review, ensure_ascii=False))


def serve(port_out: Any, stop: Any) -> None:
    """The local endpoint, in a child process: answers every call at once."""
    with LLMServer() as server:
        server.fallback = Reply(200, answer())
        port_out.put(server.base_url)
        stop.wait()
        port_out.put(json.dumps(server.chat_requests[0].json if server.chat_requests else None))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def measure(base_url: str, n: int) -> tuple[list[float], list[float], str]:
    settings = Settings(llm=LLMSection(base_url=base_url, model="bench-model", cache_size=0,
                                       timeout=5.0, deadline=10.0))
    reviewer = Reviewer(settings, engine="llm")
    request = reviewer.request(DRAFT, context=CONTEXT, platform="x")
    for _ in range(10):  # warm up: imports, TLS context, language model, first connection
        review = await reviewer.review(request)
    engine = review.engine
    times = []
    for _ in range(n):
        t = time.perf_counter()
        await reviewer.review(request)
        times.append((time.perf_counter() - t) * 1000)
    # The cache, for comparison: identical requests make no call.
    cached = Reviewer(Settings(llm=LLMSection(base_url=base_url, model="bench-model")), engine="llm")
    await cached.review(request)
    hits = []
    for _ in range(n):
        t = time.perf_counter()
        await cached.review(request)
        hits.append((time.perf_counter() - t) * 1000)
    return times, hits, engine


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="reviews to time (default 200)")
    args = parser.parse_args()
    os.environ.setdefault("CM_COACH_LLM_API_KEY", "bench-not-a-key")

    ctx = multiprocessing.get_context("spawn")
    port_out, stop = ctx.Queue(), ctx.Event()
    child = ctx.Process(target=serve, args=(port_out, stop), daemon=True)
    child.start()
    try:
        base_url = port_out.get(timeout=30)
        times, hits, engine = asyncio.run(measure(base_url, args.n))
        stop.set()
        sent = json.loads(port_out.get(timeout=30))
    finally:
        stop.set()
        child.join(timeout=5)
    if engine != "llm" or not sent:
        print(f"the reviews did not come from the LLM path (engine {engine}); nothing measured")
        return 1

    system, user = (m["content"] for m in sent["messages"])
    schema = json.dumps(sent.get("response_format", {}), ensure_ascii=False)
    parts = {"system prompt": approx_tokens(system), "user message": approx_tokens(user),
             "JSON schema": approx_tokens(schema)}
    total = sum(parts.values())
    print(f"Prompt for a tweet-length draft ({len(DRAFT)} characters, with the customer's "
          "message and the offline hints):")
    for name, tokens in parts.items():
        print(f"  {name:<14} ~{tokens:>5} tokens")
    verdict = "ok" if total < AIM_TOKENS else "OVER"
    print(f"  {'total':<14} ~{total:>5} tokens (aim < {AIM_TOKENS:,}: {verdict}; "
          "estimate: max(chars/4, pre-tokenizer pieces))")
    p50, p99 = percentile(times, 50), percentile(times, 99)
    verdict = "ok" if p50 < AIM_P50_MS else "OVER"
    print(f"\nReviewer overhead over a local server that answers at once, {len(times)} reviews:")
    print(f"  p50 {p50:6.2f} ms   p99 {p99:6.2f} ms   mean {statistics.fmean(times):6.2f} ms "
          f"(aim p50 < {AIM_P50_MS:g} ms: {verdict})")
    print(f"  cache hit: p50 {percentile(hits, 50):6.3f} ms   p99 {percentile(hits, 99):6.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
