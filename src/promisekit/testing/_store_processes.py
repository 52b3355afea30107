"""The multi-process checks of :func:`promisekit.testing.check_ledger_store`.

Writers run in other interpreters (``python -m promisekit._store_worker``),
each reopening the store from the pickled factory; this process reads the store
with ``events_since`` meanwhile.
"""

from __future__ import annotations

import base64
import os
import pickle
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any, NoReturn

from promisekit._ledger_events import Event
from promisekit._store_worker import batch_events

Fail = Callable[[str, str], NoReturn]

#: A hang guard, not a speed limit: a writer still running after this long has hung.
_HANG_SECONDS = 900.0


def _spawn(job: bytes, out: Any = subprocess.PIPE) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(path for path in sys.path if path)
    env["PROMISEKIT_STORE_JOB"] = base64.b64encode(job).decode("ascii")
    return subprocess.Popen(
        [sys.executable, "-m", "promisekit._store_worker"],
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=out if out is not subprocess.PIPE else subprocess.PIPE,
        env=env,
    )


def _acks(out: bytes) -> list[list[str]]:
    """The batches acknowledged in a writer's output (a cut last line is not one)."""
    lines = out.decode("utf-8", "replace").split("\n")[:-1]
    return [line.split()[1:] for line in lines if line.startswith("ack ")]


def _read_all(store: Any) -> list[tuple[int, Event]]:
    return list(store.events_since(0))


def _check_log(fail: Fail, prop: str, log: list[tuple[int, Event]], store: Any) -> None:
    """Positions 1..n, unique ids, and ``len`` / ``last_position`` agree."""
    positions = [position for position, _ in log]
    if positions != list(range(1, len(log) + 1)):
        gaps = [p for i, p in enumerate(positions, start=1) if p != i][:5]
        fail(prop, f"events_since(0) positions are not 1..{len(log)} (first off: {gaps})")
    ids = [event.id for _, event in log]
    if len(set(ids)) != len(ids):
        dupes = sorted({i for i in ids if ids.count(i) > 1})[:5]
        fail(prop, f"an event is stored twice: {dupes}")
    if len(store) != len(log) or store.last_position != len(log):
        fail(
            prop,
            f"len() is {len(store)} and last_position {store.last_position}, but "
            f"events_since(0) gives {len(log)} events",
        )


def concurrent_writers(
    fail: Fail, factory: Any, name: str, processes: int, batches: int, open_store: Any
) -> str:
    """``processes`` writers × ``batches`` batches while this process reads the log."""
    prop = "concurrent writers"
    reader = open_store(name)
    outputs = [tempfile.TemporaryFile() for _ in range(processes)]  # noqa: SIM115
    writers: list[subprocess.Popen[bytes]] = []
    try:
        writers += [
            _spawn(pickle.dumps((factory, name, f"w{index}", batches, 10)), outputs[index])
            for index in range(processes)
        ]
        seen: list[tuple[int, str]] = []
        rng = random.Random(14)
        start = time.monotonic()
        polls = 0
        while True:
            running = any(writer.poll() is None for writer in writers)
            position = seen[-1][0] if seen else 0
            page = reader.events_since(position, limit=rng.choice((1, 7, 50, None)))
            polls += 1
            expected = list(range(position + 1, position + 1 + len(page)))
            if [p for p, _ in page] != expected:
                fail(
                    prop,
                    f"a reader polling events_since({position}) got positions "
                    f"{[p for p, _ in page][:10]}, expected {expected[:10]}: it skipped or "
                    "re-read an event while writers were appending",
                )
            seen.extend((p, event.id) for p, event in page)
            if not running and not page:
                break
            if not page:
                time.sleep(0.002)  # let the writers have the CPU
            if time.monotonic() - start > _HANG_SECONDS:
                for writer in writers:
                    writer.kill()
                fail(prop, f"writers still running after {_HANG_SECONDS:g} s (hung?)")
        acked: list[list[str]] = []
        for index, writer in enumerate(writers):
            writer.wait()
            outputs[index].seek(0)
            out = outputs[index].read()
            if writer.returncode != 0 or not out.endswith(b"done\n"):
                fail(
                    prop,
                    f"writer {index} failed (exit {writer.returncode}): "
                    f"{out.decode('utf-8', 'replace')[-2000:]}",
                )
            batches_done = _acks(out)
            if len(batches_done) != batches:
                fail(prop, f"writer {index} acknowledged {len(batches_done)} of {batches} batches")
            acked.extend(batches_done)
        log = _read_all(reader)
        _check_log(fail, prop, log, reader)
        stored = {event.id: position for position, event in log}
        wanted = {event_id for batch in acked for event_id in batch}
        if set(stored) != wanted:
            lost = sorted(wanted - set(stored))[:5]
            extra = sorted(set(stored) - wanted)[:5]
            fail(prop, f"acknowledged events lost: {lost}; events nobody wrote: {extra}")
        if seen != [(position, event.id) for position, event in log][: len(seen)]:
            fail(prop, "what the reader saw while writers ran differs from the final log")
        for batch in acked:
            own = [stored[event_id] for event_id in batch if not event_id.startswith("shared-")]
            if own != list(range(own[0], own[0] + len(own))):
                fail(prop, f"the events of one batch are interleaved with others: {batch}")
        return f"{processes} writers x {batches} batches, {len(log)} events, {polls} reads"
    finally:
        for writer in writers:  # a failed check leaves no writer behind
            if writer.poll() is None:
                writer.kill()
            writer.wait()
        _close(reader)
        for output in outputs:
            output.close()


def crash_recovery(fail: Fail, factory: Any, name: str, kills: int, open_store: Any) -> str:
    """SIGKILL a writer ``kills`` times: every acknowledged event is there exactly once."""
    prop = "crash recovery"
    rng = random.Random(20)
    acked: list[str] = []
    for run in range(kills):
        writer = _spawn(pickle.dumps((factory, name, f"k{run}", -1, 0)))
        assert writer.stdout is not None
        first = writer.stdout.readline()
        if not first.startswith(b"ack "):
            writer.kill()
            _, err = writer.communicate()
            fail(prop, f"writer {run} acknowledged nothing: {err.decode('utf-8', 'replace')}")
        time.sleep(rng.uniform(0.0, 0.1))
        writer.kill()  # SIGKILL on POSIX: no cleanup, no rollback by the client
        out, _ = writer.communicate()
        done = [event_id for batch in _acks(first + out) for event_id in batch]
        acked.extend(done)
        store = open_store(name)
        try:
            missing = [event_id for event_id in done if event_id not in store]
            if missing:
                fail(prop, f"kill {run}: acknowledged events lost: {missing[:5]}")
            # The killed writer's lock is gone: another writer gets through.
            store.append_many(_marker(run))
        finally:
            _close(store)
    store = open_store(name)
    try:
        log = _read_all(store)
        _check_log(fail, prop, log, store)
        stored = {event.id for _, event in log}
        lost = sorted(set(acked) - stored)[:5]
        if lost:
            fail(prop, f"acknowledged events lost: {lost}")
    finally:
        _close(store)
    return f"{kills} writers killed, {len(acked)} acknowledged events, {len(log)} stored"


def _marker(run: int) -> list[Event]:
    return batch_events(f"after-kill{run}", 0, 0)


def _close(store: object) -> None:
    close = getattr(store, "close", None)
    if callable(close):
        close()
