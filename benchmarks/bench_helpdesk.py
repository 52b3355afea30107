"""Helpdesk SLA clocks benchmark: three named clocks per ticket against the main SLA clock.

A book of tickets (default 20,000), each with a few customer messages, agent replies and a
pending span, is advanced hour by hour through two simulated weeks by an
:class:`promisekit.escalation.Escalator` under a 3-rule policy on named clocks
(``first_response``, ``next_response``, ``resolution``). The reference, timed in the same
run on the same book (interleaved, so both see the same machine load), is the same
scheduler under a 3-rule policy on the main SLA clock (``elapsed``, ``remaining``,
``overdue``): the ratio says what the named clocks cost over the built-in triggers.

Usage::

    python benchmarks/bench_helpdesk.py [--n 20000] [--seed 0]
"""

from __future__ import annotations

import argparse
import gc
import platform
import random
import sys
import time
from datetime import datetime, timedelta, timezone

from promisekit.calendar import BusinessCalendar
from promisekit.escalation import EscalationPolicy, Escalator, TrackedPromise
from promisekit.helpdesk import SlaClock, SlaPlan
from promisekit.promise import Promise

UTC = timezone.utc
START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # a Monday
HOUR = timedelta(hours=1)
OFFICE = BusinessCalendar("UTC", hours={"mon-fri": "08:00-18:00"})
PLAN = SlaPlan(
    [
        SlaClock("first_response", "first_response", "2h", pauses=False),
        SlaClock("next_response", "next_response", "4h"),
        SlaClock("resolution", "resolution", "24h"),
    ]
)
CLOCKS = EscalationPolicy.from_toml(
    """
[[rules]]
name = "first"
when = "first_response breached"
do = ["notify_owner"]

[[rules]]
name = "reply"
when = "next_response remaining <= 30m"
do = ["notify_owner"]

[[rules]]
name = "resolution"
when = "resolution elapsed >= 75%"
do = ["escalate:lead"]
""",
    bindings={"sla": PLAN},
)
REFERENCE = EscalationPolicy.from_toml(
    """
[[rules]]
name = "half"
when = "elapsed >= 50%"
do = ["notify_owner"]

[[rules]]
name = "last-hours"
when = "remaining <= 4h"
do = ["notify_owner"]

[[rules]]
name = "overdue"
when = "overdue"
do = ["escalate:lead"]
"""
)


def make_book(n: int, seed: int) -> list[TrackedPromise]:
    rng = random.Random(seed)
    book = []
    for i in range(n):
        made = START + timedelta(minutes=rng.randrange(5 * 24 * 60))
        promise = Promise(
            id=f"T-{i}", customer_id=f"C-{i}", kind="ticket", made_at=made, due=made + 3 * 24 * HOUR
        )
        track = TrackedPromise(promise=promise, calendar=OFFICE).receive(made)
        at = made
        for _ in range(rng.randrange(4)):
            at += timedelta(minutes=rng.randrange(30, 600))
            track = track.notify(at)
            at += timedelta(minutes=rng.randrange(30, 900))
            track = track.receive(at)
        if rng.random() < 0.3:
            at += timedelta(minutes=rng.randrange(10, 120))
            track = track.pause(at)
            at += timedelta(minutes=rng.randrange(60, 2000))
            track = track.receive(at, resume=True)
        book.append(track)
    return book


def run(policy: EscalationPolicy, book: list[TrackedPromise], ticks: int) -> tuple[float, int]:
    gc.collect()
    started = time.perf_counter()
    escalator = Escalator(policy)
    for track in book:
        escalator.add(track)
    fired = 0
    for tick in range(1, ticks + 1):
        fired += len(escalator.advance(START + tick * HOUR))
    return time.perf_counter() - started, fired


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    book = make_book(args.n, args.seed)
    ticks = 14 * 24
    clock_time = ref_time = 0.0
    clock_fired = ref_fired = 0
    for _ in range(2):  # interleaved: reference, clocks, reference, clocks
        seconds, ref_fired = run(REFERENCE, book, ticks)
        ref_time += seconds
        seconds, clock_fired = run(CLOCKS, book, ticks)
        clock_time += seconds
    rows = [
        ("python", platform.python_version()),
        ("tickets", f"{args.n:,}"),
        ("ticks (hourly, two weeks)", f"{ticks}"),
        ("reference: main-clock policy, s (2 runs)", f"{ref_time:.2f}"),
        ("reference escalations per run", f"{ref_fired:,}"),
        ("named clocks policy, s (2 runs)", f"{clock_time:.2f}"),
        ("named clocks escalations per run", f"{clock_fired:,}"),
        ("ratio per ticket (clocks / reference)", f"{clock_time / ref_time:.2f}x"),
        (
            "ratio per escalation (clocks / reference)",
            f"{(clock_time / max(clock_fired, 1)) / (ref_time / max(ref_fired, 1)):.2f}x",
        ),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
