"""Crash test of the escalation runner: real processes, SIGKILLed at random moments.

Two runner processes compete for one store (SQLite, and PostgreSQL as runners on several
hosts would share it) while a writer process keeps recording promises and deliveries.
The test kills a random runner at a random moment at least 50 times, starting a new one
each time, then lets a last runner finish and checks:

* every escalation that should have fired (a fresh evaluation of the policy over each
  promise's final state) is recorded in the ledger exactly once, and nothing else is;
* every recorded action reached the sink at least once;
* no firing was recorded twice under two keys (two runners never both fired).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from promisekit.escalation import TrackedPromise
from promisekit.ledger import EscalationFired
from promisekit.runtime import EscalationRunner, JsonLinesSink
from promisekit.serialize import to_dict

HELPER = Path(__file__).with_name("helpers_runtime.py")
sys.path.insert(0, str(HELPER.parent))
import helpers_runtime  # noqa: E402

KILLS = 50


def _spawn(log: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    with log.open("ab") as errors:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, str(HELPER), *args],
            stdout=subprocess.DEVNULL,
            stderr=errors,
            env=env,
        )


def _action_type(event: EscalationFired) -> str:
    assert event.document is not None
    return str(event.document["escalation"]["action"]["type"])


@pytest.fixture(params=["sqlite", "postgresql"])
def store_spec(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where the processes' store is: an SQLite path, or ``URL|SCHEMA`` (PostgreSQL)."""
    if request.param == "sqlite":
        return str(tmp_path / "ledger.db")
    url: str = request.getfixturevalue("postgres_url")
    schema: str = request.getfixturevalue("pg_schema")
    return f"{url}|{schema}"


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_killed_runners_fire_exactly_once_and_deliver_at_least_once(
    tmp_path: Path, store_spec: str
) -> None:
    db = store_spec
    sink_path = str(tmp_path / "actions.jsonl")
    helpers_runtime.open_store(db).close()  # create the schema before the processes race
    start = time.time()
    rng = random.Random(2026)
    log = tmp_path / "stderr.log"
    writer = _spawn(log, "writer", db, repr(start), "400")
    alive: list[subprocess.Popen[bytes]] = []
    kills = 0
    try:
        while kills < KILLS:
            while len(alive) < 2:
                holder = f"runner-{kills}-{len(alive)}"
                alive.append(_spawn(log, "runner", db, sink_path, holder, repr(start)))
            time.sleep(rng.uniform(0.3, 1.2))
            victim = alive.pop(rng.randrange(len(alive)))
            if victim.poll() is not None:
                pytest.fail(f"a runner died by itself: {log.read_text('utf-8')[-2000:]}")
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            kills += 1
        assert writer.wait(timeout=120) == 0, log.read_text("utf-8")[-2000:]
    finally:
        for process in [*alive, writer]:
            if process.poll() is None:
                process.kill()
                process.wait()

    # A last runner finishes the work, well after every rule could have fired.
    with helpers_runtime.open_store(db) as store:
        final = helpers_runtime.virtual_now(start) + timedelta(hours=5)
        sink = JsonLinesSink(sink_path)
        runner = EscalationRunner(
            store, helpers_runtime.POLICY, sink, holder="final", lease_ttl=timedelta(minutes=2)
        )
        report = runner.step(final)
        while report.outbox:
            final += timedelta(minutes=10)
            report = runner.step(final)
        sink.close()

        recorded = [e for e in store.history() if isinstance(e, EscalationFired)]
        firings = Counter(
            (e.promise_id, e.rule, e.revision, e.occurrence, e.at, _action_type(e))
            for e in recorded
        )
        assert max(firings.values()) == 1, [f for f, n in firings.items() if n > 1][:5]

        expected: Counter[tuple[object, ...]] = Counter()
        for promise_id in store.promise_ids():
            state = store.state(promise_id)
            track = TrackedPromise.from_state(state)
            for escalation in helpers_runtime.POLICY.evaluate(track, final):
                expected[
                    (
                        escalation.promise_id,
                        escalation.rule,
                        escalation.revision,
                        escalation.occurrence,
                        escalation.triggered_at,
                        to_dict(escalation)["action"]["type"],
                    )
                ] += 1
        assert len(expected) > 300, "the scenario should fire plenty of rules"
        missing = set(expected) - set(firings)
        extra = set(firings) - set(expected)
        assert not missing and not extra, (sorted(missing)[:5], sorted(extra)[:5])

    keys = {e.key for e in recorded}
    seen = set()
    for line in Path(sink_path).read_text("utf-8").splitlines():
        try:
            seen.add(json.loads(line)["key"])
        except ValueError:
            continue  # a line cut by a kill
    assert keys <= seen, f"{len(keys - seen)} recorded actions never reached the sink"
