"""Speed of the offline engine and of the command line's cold start.

    python bench/run.py              # measure, print a table, write bench/results.md
    python bench/run.py --profile    # also the functions that take the time (cProfile)

Throughput runs in this one process, pinned to one core, on tweet-length
drafts in French and English, safe and risky. Worst case reviews long and
adversarial inputs once each (drafts up to the cap, customer messages of 100,000
and 1,000,000 characters) and names the slowest. Cold start runs `cm-coach review`
as a fresh process, as a user would.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import os
import platform
import pstats
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.config import Settings  # noqa: E402
from bot.review.evaluation import default_files, read_corpora  # noqa: E402
from bot.review.models import Review, ReviewRequest  # noqa: E402
from bot.review.offline import review_offline  # noqa: E402
from bot.review.reviewer import Reviewer  # noqa: E402
from bot.review.taxonomy import VERDICTS  # noqa: E402

AIM_RATE = 8_000  # judgement only (rules and second reading), one core
AIM_COLD = 0.15
AIM_WORST = 0.5  # seconds for any one review below, a 100,000-character customer message included

# (draft, context, platform): tweet-length, both languages, about half of them risky.
DRAFTS: list[tuple[str, str | None, str]] = [
    ("Avant que nous puissions enquêter sur le sujet, je vous demande de supprimer la photographie "
     "et de nous donner plus d'informations en messages privés.",
     "Un siège sans dossier dans un avion, comment cela peut-il être autorisé ?", "x"),
    ("Même débat et je pense que c'est compréhensible même pour les gens qui n'ont pas bac +7.",
     "Comment les \"pauvres\" pourront prendre le TGV ?", "x"),
    ("Notre objectif est simple : proposer un produit sportif adapté, sans jugement.",
     "Un hijab de running, c'est une honte.", "x"),
    ("Bonjour Julie, nous sommes désolés pour ce retard de livraison. Votre colis part demain "
     "matin, vous recevrez le suivi par e-mail.", "Toujours pas reçu ma commande !!", "x"),
    ("Merci pour votre message ! Nous transmettons vos remarques à l'équipe du magasin de Lyon.",
     None, "instagram"),
    ("Nous supprimerons tous les commentaires de ce type.", None, "facebook"),
    ("Le retard est dû à la SNCF, pas à nous. Lisez les conditions générales.",
     "3 heures de retard et aucune info, merci pour rien", "x"),
    ("C'EST LA DERNIÈRE FOIS QUE JE VOUS LE DIS : LISEZ LA FAQ !!!", "Où est mon remboursement ?", "x"),
    ("Tu peux nous envoyer ton numéro de commande en MP ? On regarde ça tout de suite 🙏",
     "Commande 4512 jamais arrivée", "x"),
    ("Nos avocats vont se pencher sur vos propos diffamatoires.", "Cette marque nous arnaque", "x"),
    ("Merci à toutes et à tous pour vos messages, ils nous touchent beaucoup ❤️", None, "x"),
    ("Bonne question ! Le magasin ouvre à 9 h du lundi au samedi, et à 10 h le dimanche.",
     "Vous ouvrez à quelle heure dimanche ?", "x"),
    ("Before we can investigate, could I ask you to remove the photograph & then DM us more info.",
     "How can this be allowed? A seat with no backrest on flight 2021.", "x"),
    ("The delay was caused by the airport, not us.", "Four hours stuck at the gate, no info at all.", "x"),
    ("We're so sorry about the wait, Sam. Your refund was issued today and should reach your card "
     "within 5 days.", "Still waiting for my refund after a month.", "x"),
    ("Thanks for the kind words! We'll pass them on to the crew of flight 2021 ✈️", None, "x"),
    ("We reserve the right to remove any negative comments from this page.", None, "facebook"),
    ("Maybe try reading the instructions before complaining? It's not rocket science.",
     "Your app keeps crashing, useless.", "x"),
    ("Please post your full name, phone number and booking reference here so we can check.",
     "My booking vanished from the app", "x"),
    ("Our lawyers will be in touch about these false claims.", "This brand scams people", "x"),
    ("Great question! The store opens at 9am Monday to Saturday and 10am on Sundays.",
     "What time do you open on Sunday?", "x"),
    ("Hi Alex, thanks for flagging this. Our team is looking into the app crash now and we'll "
     "update you here by tonight.", "Your app keeps crashing!", "x"),
    ("LOL this is the best thing we've read all day 😂 #Monday", None, "x"),
    ("Everyone is welcome here, whoever they love. That's not up for debate.",
     "Gay characters aren't needed in your shows.", "x"),
]


def pin_to_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        return f"pinned to core {core}"
    return "not pinned (no sched_setaffinity here)"


def percentile(sorted_values: list[float], q: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def throughput(review: Callable[[ReviewRequest], object], requests: list[ReviewRequest],
               seconds: float) -> dict[str, float]:
    """Reviews per second and latency percentiles over `seconds` of back-to-back reviews."""
    for request in requests:  # warm up: packs read, regexes compiled, model loaded
        review(request)
    latencies: list[int] = []
    clock = time.perf_counter_ns
    deadline = clock() + int(seconds * 1e9)
    started = clock()
    cpu_started = time.process_time()
    n = len(requests)
    i = 0
    while clock() < deadline:
        t0 = clock()
        review(requests[i % n])
        latencies.append(clock() - t0)
        i += 1
    elapsed = (clock() - started) / 1e9
    cpu = time.process_time() - cpu_started
    latencies.sort()
    return {
        "reviews": len(latencies),
        "per_second": len(latencies) / elapsed,
        # Per second of this process's own CPU time: what one core gives when others share it.
        "per_cpu_second": len(latencies) / cpu if cpu else 0.0,
        "p50_ms": percentile(latencies, 0.50) / 1e6,
        "p99_ms": percentile(latencies, 0.99) / 1e6,
        "max_ms": latencies[-1] / 1e6,
    }


# Worst case: what one review costs on long and adversarial text. Each unit is repeated to
# the length wanted: runs of one letter, of digits, of "a@", of ". ", of spaces, of short
# words, real words with and without spaces, and the shapes that made patterns backtrack
# (e-mail and phone look-alikes, a '?' nowhere, a disaster or a promo word repeated); a
# pair is a beginning, then its unit repeated.
WORST_UNITS: dict[str, str | tuple[str, str]] = {
    "letter": "a", "digits": "1", "a@": "a@", "dots": ". ", "spaces": " ", "short words": "aaaa ",
    "letter-dot": "a.", "letter-dash": "a-", "digit-dash": "1-", "digit-dot": "1.", "phone-ish": "+33 6",
    "mail-ish": "a.b@c", "exclamations": "!", "quotes": "« a ", "apostrophes": "a'", "hashtags": "#a",
    "capitals": "AAAAAA ", "links": "http://a/", "disaster word": "tempete.", "promo words": "promos ",
    "storm word": "storm.", "deal words": "deals ",
    "French words": "Bonjour, nous sommes désolés pour ce retard de livraison, supprimez la photo. ",
    "English words": "Sorry for the delay, please delete the photo and DM us your phone number. ",
    "French, no spaces": "Bonjournoussommesdésoléspourceretardsupprimezlaphoto",
    "English, no spaces": "Sorryforthedelaypleasedeletethephotoanddmus",
    "a reference, then spaces": ("Supprimez la photo du vol", " "),
    "a disaster word, then digits": ("Même la tempête", "1"),
    "a place word, then letters": ("Les gens de banlieue", "e"),
}
WORST_CONTEXT_LENGTHS = (100_000, 1_000_000)


def _repeat(unit: str | tuple[str, str], length: int) -> str:
    head, unit = unit if isinstance(unit, tuple) else ("", unit)
    return head + (unit * (length // len(unit) + 1))[:length - len(head)]


def worst_case(reviewer: Reviewer) -> list[tuple[str, float]]:
    """Seconds of one review (with rewrites, as the CLI runs) for each long or adversarial
    input: drafts up to the cap with a short context, and customer messages of 100,000 and
    1,000,000 characters with a short draft. Slowest first."""
    cap = reviewer.settings.review.max_draft_chars
    cases: list[tuple[str, str, str | None]] = []
    for name, unit in WORST_UNITS.items():
        draft = _repeat(unit, cap)
        if draft.strip():
            cases.append((f"draft of {cap:,} chars: {name}", draft, "Toujours pas reçu ma commande !"))
        for length in WORST_CONTEXT_LENGTHS:
            for draft in ("Nous supprimerons tous les commentaires de ce type.",
                          "Maybe try reading the instructions before complaining?"):
                cases.append((f"context of {length:,} chars: {name}", draft, _repeat(unit, length)))
    found: dict[str, float] = {}
    for label, draft, context in cases:
        request = reviewer.request(draft, context=context, platform="facebook")
        t0 = time.perf_counter()
        reviewer.review_sync(request)
        found[label] = max(found.get(label, 0.0), time.perf_counter() - t0)
    return sorted(found.items(), key=lambda kv: -kv[1])


def _clean_env() -> dict[str, str]:
    """No config override or API key; bytecode cached as on a normal install (kept in the
    temp folder, so that measuring leaves nothing in the tree)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CM_COACH_", "OPENAI_")) and k != "PYTHONDONTWRITEBYTECODE"}
    env["NO_COLOR"] = "1"
    env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "cm-coach-bench-pycache")
    return env


def _cm_coach() -> list[str]:
    script = Path(sys.executable).parent / "cm-coach"
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]


def cold_start(runs: int) -> dict[str, float]:
    """Wall time of `cm-coach review "…"` in a fresh process, and of a bare interpreter."""
    draft = DRAFTS[0][0]

    def wall(cmd: list[str]) -> float:
        t0 = time.perf_counter()
        child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_clean_env())
        # A blocking wait sees the exit when it happens; `wait(timeout=…)` polls, in steps
        # that grow to 50 ms, and read a 125 ms start as 165 ms. The timer guards a hang.
        guard = threading.Timer(60, child.kill)
        guard.start()
        try:
            child.wait()
        finally:
            guard.cancel()
        return time.perf_counter() - t0

    review_cmd = [*_cm_coach(), "review", "--engine", "offline", draft]
    wall(review_cmd)  # the first run fills the OS file cache; cold here means a new process
    times = sorted(wall(review_cmd) for _ in range(runs))
    bare = sorted(wall([sys.executable, "-c", "pass"]) for _ in range(runs))
    return {"p50_s": statistics.median(times), "min_s": times[0], "max_s": times[-1],
            "python_s": statistics.median(bare)}


def phases() -> dict[str, float]:
    """Where a cold review spends its time, measured in a fresh interpreter."""
    code = r"""
import time, json
t0 = time.perf_counter()
from bot.cli import main
import bot.review.reviewer, bot.render.terminal
t1 = time.perf_counter()
from bot.review.packs import packs
packs()
t2 = time.perf_counter()
from bot.review.language import _load_model
_load_model()
t3 = time.perf_counter()
from bot.config import load_settings
from bot.review.reviewer import Reviewer
from bot.render.terminal import render_terminal
s = load_settings()
r = Reviewer(s, engine="offline")
render_terminal(r.review_sync(r.request(DRAFT)), color=False)
t4 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "rule packs": t2 - t1, "language model": t3 - t2,
                  "first review + render": t4 - t3}))
""".replace("DRAFT", repr(DRAFTS[0][0]))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=_clean_env(), check=True, timeout=60)
    import json

    return json.loads(out.stdout)


def import_offenders(top: int = 8) -> list[tuple[str, float, float]]:
    """`python -X importtime` of a review: the modules with the most cumulative time."""
    code = f"from bot.cli import main; main(['review', '--engine', 'offline', {DRAFTS[0][0]!r}])"
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True,
                         text=True, env=_clean_env(), check=False, timeout=60)
    rows = []
    for line in out.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)", line)
        if m and len(m.group(3)) <= 3:  # top-level imports only: their cumulative time is whole
            rows.append((m.group(4), int(m.group(1)) / 1e3, int(m.group(2)) / 1e3))
    rows.sort(key=lambda r: -r[2])
    return rows[:top]


def profile(review: Callable[[ReviewRequest], object], requests: list[ReviewRequest],
            n: int = 3000, top: int = 15) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(n):
        review(requests[i % len(requests)])
    profiler.disable()
    stream = io.StringIO()
    pstats.Stats(profiler, stream=stream).sort_stats("tottime").print_stats(top)
    return stream.getvalue()


def rule_costs(requests: list[ReviewRequest], top: int = 10, rounds: int = 20) -> list[tuple[str, float]]:
    """Microseconds per draft spent scanning each rule's patterns (no prefilter, no negation)."""
    from bot.review.packs import packs
    from bot.review.text import fold

    texts = [fold(r.draft).text for r in requests]
    costs = []
    for lang, pack in packs().items():
        for rule in pack.rules:
            patterns = list(rule.patterns) + [p for v in rule.params.values()
                                              if isinstance(v, tuple) for p in v]
            t0 = time.perf_counter()
            for _ in range(rounds):
                for text in texts:
                    for pattern in patterns:
                        for _m in pattern.finditer(text):
                            pass
            costs.append((f"{lang} {rule.id} ({len(patterns)} patterns)",
                          (time.perf_counter() - t0) / (rounds * len(texts)) * 1e6))
    costs.sort(key=lambda c: -c[1])
    total = sum(c for _, c in costs)
    return [("all rules", total), *costs[:top]]


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=3.0, help="time per throughput run")
    p.add_argument("--runs", type=int, default=10, help="cold-start runs")
    p.add_argument("--profile", action="store_true", help="print the top functions (cProfile)")
    p.add_argument("--no-write", action="store_true", help="do not write bench/results.md")
    args = p.parse_args()

    pinned = pin_to_one_core()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    reviewer = Reviewer(Settings(), engine="offline")
    requests = [reviewer.request(d, context=c, platform=pf) for d, c, pf in DRAFTS]
    longest = max(len(d) for d, _, _ in DRAFTS)

    def without_rewrites(request: ReviewRequest) -> Review:
        return review_offline(reviewer.prepare(request), rewrite=False)

    with_rw = throughput(reviewer.review_sync, requests, args.seconds)
    without_rw = throughput(without_rewrites, requests, args.seconds)
    # The corpus's 351 drafts, each different: what the scan and the caches do on text they
    # have not seen (the 24 drafts above come round again and again).
    corpus = [reviewer.request(c.draft, context=c.context, platform=c.platform)
              for c in read_corpora(default_files())]
    on_corpus = throughput(without_rewrites, corpus, args.seconds)
    # The same, each customer's message new to the engine, as in a chat where every review
    # answers a new message: what is kept per message (its flags, language, topics and
    # features) is read again. The message gains a number, which changes no judgement.
    numbers = itertools.count()

    def with_a_new_message(request: ReviewRequest) -> object:
        if request.context:
            request = replace(request, context=f"{request.context} ({next(numbers)})")
        return without_rewrites(request)

    new_messages = throughput(with_a_new_message, corpus, args.seconds)
    # Ceilings: the same judgement with parts of it taken away, which the aim does not allow.
    # They tell how far the rest alone is from the aim: the language given (as if telling
    # it cost nothing), no second reading, and both (the rules and the review's assembly).
    languages = [without_rewrites(r).language for r in requests]
    given = [replace(r, lang=lang) for r, lang in zip(requests, languages, strict=True)]
    ceilings = {
        "the language given": throughput(without_rewrites, given, args.seconds),
        "no second reading": throughput(without_rewrites, [replace(r, second_reading=False)
                                                           for r in requests], args.seconds),
        "neither: the rules and the review's assembly alone": throughput(
            without_rewrites, [replace(r, second_reading=False) for r in given], args.seconds),
    }
    verdicts = [reviewer.review_sync(r).verdict for r in requests]
    worst = worst_case(reviewer)
    worst_100k = max(secs for label, secs in worst if label.startswith("context of 100,000"))
    cold = cold_start(args.runs)  # its first run also fills the bytecode cache
    where = phases()
    offenders = import_offenders()

    ok_rate = "✓" if without_rw["per_second"] >= AIM_RATE else "✗"
    ok_cold = "✓" if cold["p50_s"] <= AIM_COLD else "✗"
    rows = [
        ("reviews/s, judgement only (rules and second reading)", f"{without_rw['per_second']:,.0f}",
         f"≥ {AIM_RATE:,} {ok_rate}"),
        ("  per CPU second", f"{without_rw['per_cpu_second']:,.0f}", ""),
        ("  latency p50 / p99", f"{without_rw['p50_ms']:.3f} / {without_rw['p99_ms']:.3f} ms", ""),
        (f"  on the corpus's {len(corpus)} drafts, each different", f"{on_corpus['per_second']:,.0f}", ""),
        ("    latency p50 / p99", f"{on_corpus['p50_ms']:.3f} / {on_corpus['p99_ms']:.3f} ms", ""),
        ("  the same, each customer's message new", f"{new_messages['per_second']:,.0f}", ""),
        ("    latency p50 / p99", f"{new_messages['p50_ms']:.3f} / {new_messages['p99_ms']:.3f} ms", ""),
        *((f"  ceiling, {name}", f"{figures['per_second']:,.0f}", "")
          for name, figures in ceilings.items()),
        ("reviews/s, with rewrites (as the CLI)", f"{with_rw['per_second']:,.0f}", ""),
        ("  per CPU second", f"{with_rw['per_cpu_second']:,.0f}", ""),
        ("  latency p50 / p99", f"{with_rw['p50_ms']:.3f} / {with_rw['p99_ms']:.3f} ms", ""),
        (f"cold `cm-coach review`, p50 of {args.runs}", f"{cold['p50_s'] * 1000:.0f} ms",
         f"< {AIM_COLD * 1000:.0f} ms {ok_cold}"),
        ("  min / max", f"{cold['min_s'] * 1000:.0f} / {cold['max_s'] * 1000:.0f} ms", ""),
        ("  bare `python -c pass`", f"{cold['python_s'] * 1000:.0f} ms", ""),
        (f"worst review of {len(worst)} long or adversarial inputs", f"{worst[0][1] * 1000:.0f} ms",
         f"< {AIM_WORST * 1000:.0f} ms {'✓' if worst[0][1] < AIM_WORST else '✗'}"),
        ("  worst 100,000-character input (a customer message)", f"{worst_100k * 1000:.0f} ms",
         f"< {AIM_WORST * 1000:.0f} ms {'✓' if worst_100k < AIM_WORST else '✗'}"),
    ]
    mix = f"{len(DRAFTS)} drafts (FR and EN, ≤ {longest} characters; verdicts: " + ", ".join(
        f"{verdicts.count(v)} {v}" for v in VERDICTS) + ")"
    width = max(len(r[0]) for r in rows)
    print(f"offline engine, {mix}, {pinned}, load average {load:.2f} on {os.cpu_count()} CPUs")
    for name, value, aim in rows:
        print(f"  {name:<{width}}  {value:>20}  {aim}")
    print(f"\nworst case, slowest of {len(worst)} long or adversarial inputs (one review each, with rewrites):")
    for label, secs in worst[:5]:
        print(f"  {secs * 1000:7.1f} ms  {label}")
    print("\ncold review, where the time goes:")
    for name, secs in where.items():
        print(f"  {name:<24} {secs * 1000:7.1f} ms")
    print("\nslowest imports (cumulative, -X importtime):")
    for name, self_ms, cum_ms in offenders:
        print(f"  {name:<32} {cum_ms:7.1f} ms (self {self_ms:.1f})")

    if args.profile:
        print("\ncProfile, reviews with rewrites, by own time:")
        print(profile(reviewer.review_sync, requests))
        print("regular expressions, cost per draft of each rule's patterns:")
        for name, micros in rule_costs(requests):
            print(f"  {micros:8.1f} µs  {name}")

    if not args.no_write:
        lines = [
            "# Benchmark results",
            "",
            f"Measured {date.today().isoformat()} with `python bench/run.py` on {cpu_name()}, "
            f"Python {platform.python_version()}, {pinned}; load average {load:.2f} on "
            f"{os.cpu_count()} CPUs when it started (other work on the machine slows every figure).",
            f"Offline engine on {mix}.",
            "",
            "| measure | value | aim |",
            "|---|---|---|",
            *(f"| {name.strip()} | {value} | {aim} |" for name, value, aim in rows),
            "",
            f"Worst case: the slowest of {len(worst)} long or adversarial inputs (drafts up to the cap, "
            "customer messages of 100,000 and 1,000,000 characters; one review each, with rewrites):",
            "",
            "| input | ms |",
            "|---|---|",
            *(f"| {label} | {secs * 1000:.1f} |" for label, secs in worst[:5]),
            "",
            "Cold review, where the time goes (fresh interpreter):",
            "",
            "| phase | ms |",
            "|---|---|",
            *(f"| {name} | {secs * 1000:.1f} |" for name, secs in where.items()),
            "",
            "Slowest imports (`python -X importtime`, cumulative):",
            "",
            "| module | ms |",
            "|---|---|",
            *(f"| `{name}` | {cum:.1f} |" for name, _, cum in offenders),
            "",
        ]
        (ROOT / "bench" / "results.md").write_text("\n".join(lines), encoding="utf-8")
        print("\nwritten to bench/results.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
