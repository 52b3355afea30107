"""The single-process checks of :func:`promisekit.testing.check_ledger_store`.

Each check takes the run (``run.open(name)``, ``run.fail(prop, summary)``), the name of
a fresh store, and whether the store may be opened a second time (a second handle on
the same data); it returns a short detail, or ``"skipped: <reason>"``.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta, timezone
from types import FrameType
from typing import Any

import attrs

from promisekit._ledger_events import (
    CustomerNotified,
    DeliveryRecorded,
    Event,
    PromiseCancelled,
    PromiseMade,
    PromiseRevised,
)
from promisekit._ledger_state import UnknownPromiseError
from promisekit.errors import (
    InconsistentRecordError,
    InvalidTypeError,
    InvalidValueError,
    LeaseLostError,
    PositionConflictError,
)
from promisekit.ledger import Checkpoint, PromiseLedger

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)
H = timedelta(hours=1)


def made(promise_id: str, at: datetime = T0, **extra: Any) -> PromiseMade:
    """A promise made at ``at``, due an hour later."""
    return PromiseMade(
        id=f"made-{promise_id}",
        promise_id=promise_id,
        at=at,
        recorded_at=at,
        customer_id="C-1",
        kind="callback",
        due=at + H,
        **extra,
    )


def note(event_id: str, promise_id: str = "P-1", at: datetime = T0) -> CustomerNotified:
    """A notification."""
    return CustomerNotified(
        id=event_id, promise_id=promise_id, at=at, recorded_at=at, channel="sms"
    )


@contextlib.contextmanager
def _opened(run: Any, name: str) -> Iterator[Any]:
    store = run.open(name)
    try:
        yield store
    finally:
        close = getattr(store, "close", None)
        if callable(close):
            close()


def _raises(
    run: Any, prop: str, kind: type[BaseException], what: str, call: Callable[[], object]
) -> None:
    try:
        call()
    except kind:
        return
    except Exception as exc:
        run.fail(prop, f"{what} raised {type(exc).__name__} ({exc}), not {kind.__name__}")
    run.fail(prop, f"{what} raised nothing, not {kind.__name__}")


def _expect(run: Any, prop: str, ok: bool, summary: str) -> None:
    if not ok:
        run.fail(prop, summary)


def idempotent_append(run: Any, name: str, shared: bool) -> str:
    prop = "idempotent append"
    with _opened(run, name) as store:
        event = made("P-1")
        _expect(run, prop, store.append(event) is True, "a new event's append is not True")
        _expect(run, prop, store.append(event) is False, "a repeated append is not False")
        _expect(run, prop, len(store) == 1 and store.last_position == 1, "a repeat was stored")
        _expect(run, prop, event.id in store and store.get(event.id) == event, "get() differs")
        for other in (
            attrs.evolve(event, kind="visit"),
            attrs.evolve(event, at=T0.astimezone(timezone(H))),  # same instant, other zone
        ):
            _raises(
                run,
                prop,
                InconsistentRecordError,
                "a different payload",
                functools.partial(store.append, other),
            )
        _expect(run, prop, store.get(event.id) == event, "a conflicting append changed the event")
        first, second = note("N-1"), note("N-2")
        added = store.append_many([event, first, first])
        _expect(run, prop, added == 1, f"append_many of 1 new event + repeats returned {added}")
        clash = [second, attrs.evolve(second, channel="email")]
        _raises(
            run,
            prop,
            InconsistentRecordError,
            "a batch repeating an id",
            lambda: store.append_many(clash),
        )
        _expect(run, prop, second.id not in store and len(store) == 2, "a refused batch wrote")
        _expect(run, prop, "nope" not in store and 42 not in store, "__contains__ is wrong")
        _expect(run, prop, store.get("nope") is None, "get() of an unknown id is not None")
    return "repeats are no-ops; a different payload (even another zone) writes nothing"


def _exploding(events: Sequence[Event]) -> Iterator[Event]:
    yield from events
    raise KeyboardInterrupt


def batch_atomicity(run: Any, name: str, shared: bool) -> str:
    prop = "batch atomicity"
    with _opened(run, name) as store:
        store.append_many([made("P-1"), note("N-0")])
        good = [note(f"N-{i}", promise_id=f"P-{i % 7}") for i in range(1, 2501)]
        conflicting = attrs.evolve(note("N-0"), channel="email")
        past_end = Checkpoint(name="c", position=13)
        bad_batches: list[tuple[str, type[BaseException], Callable[[], object]]] = [
            (
                "a batch with one non-event",
                InvalidTypeError,
                lambda: store.append_many([*good[:3], "E", *good[3:]]),
            ),
            (
                "a batch ending with a conflicting id",
                InconsistentRecordError,
                lambda: store.append_many([*good, conflicting]),
            ),
            (
                "a batch whose iterator raises",
                KeyboardInterrupt,
                lambda: store.append_many(_exploding(good[:50])),
            ),
            (
                "a batch with a checkpoint past its end",
                InvalidValueError,
                lambda: store.append_many(good[:10], checkpoint=past_end),
            ),
            (
                "a batch with a bad checkpoint",
                InvalidTypeError,
                lambda: store.append_many(good[:10], checkpoint="c"),
            ),
        ]
        for what, kind, call in bad_batches:
            _raises(run, prop, kind, what, call)
            _expect(run, prop, len(store) == 2 and store.last_position == 2, f"{what} wrote events")
            _expect(run, prop, store.checkpoint("c") is None, f"{what} wrote its checkpoint")
        added = store.append_many(good[:10])
        positions = [position for position, _ in store.events_since(2)]
        _expect(
            run,
            prop,
            added == 10 and positions == list(range(3, 13)),
            "refused batches took positions",
        )
        parameters = inspect.signature(store.append_many).parameters
        if "expected_position" not in parameters:
            return "bad batches write nothing (expected_position: not supported)"
        late = note("N-late")
        _raises(
            run,
            prop,
            PositionConflictError,
            "expected_position=2 at 12",
            lambda: store.append_many([late], expected_position=2),
        )
        _expect(run, prop, late.id not in store, "a position conflict wrote")
        _expect(
            run,
            prop,
            store.append_many([late], expected_position=12) == 1,
            "expected_position=last refused",
        )
        if "expected_positions" not in parameters:
            return "bad batches write nothing (expected_positions: not supported)"
        # Per promise: P-1's last event is N-late (13); have none; Q-1's
        # writer appending at 14 does not conflict with P-1's.
        other = note("N-other", promise_id="Q-1")
        _expect(
            run,
            prop,
            store.append_many([other], expected_positions={"Q-1": 0}) == 1,
            "expected_positions={'Q-1': 0} refused for a promise without events",
        )
        stale = note("N-stale")
        _raises(
            run,
            prop,
            PositionConflictError,
            "expected_positions={'P-1': 12} with P-1's last event at 13",
            lambda: store.append_many([stale], expected_positions={"P-1": 12, "Q-1": 14}),
        )
        _expect(run, prop, stale.id not in store, "a promise's position conflict wrote")
        _expect(
            run,
            prop,
            store.append_many([stale], expected_positions={"P-1": 13, "Q-2": 0}) == 1,
            "expected_positions at each promise's last event refused (another promise's "
            "append in between must not conflict)",
        )
    return "a bad item, a conflict, a raising iterator, a bad checkpoint write nothing"


def _history() -> list[Event]:
    events: list[Event] = []
    for index in range(1, 6):
        events.append(made(f"P-{index}", at=T0 + index * H / 2))
    events += [
        DeliveryRecorded(id="D-1", promise_id="P-1", at=T0 + H, recorded_at=T0 + H),
        PromiseCancelled(id="X-2", promise_id="P-2", at=T0 + H, recorded_at=T0 + 2 * H),
        PromiseRevised(id="R-3", promise_id="P-3", at=T0 + H, recorded_at=T0 + H, due=T0 + 9 * H),
        note("N-3", promise_id="P-3", at=T0 + 3 * H),
        note("N-orphan", promise_id="P-orphan"),
        attrs.evolve(made("P-1", at=T0 + 5 * H), id="made-again"),
    ]
    return events


def _asking(method: str, *args: Any, **kwargs: Any) -> Callable[[Any], object]:
    """A question for a ledger: ``ledger.<method>(*args, **kwargs)``."""
    return lambda ledger: getattr(ledger, method)(*args, **kwargs)


def _outcome(ask: Callable[[Any], object], ledger: Any) -> object:
    """What ``ask(ledger)`` returns, or the type of the promisekit error it raises."""
    try:
        return ask(ledger)
    except (InvalidValueError, InvalidTypeError) as exc:
        return type(exc)


def same_answers(run: Any, name: str, shared: bool) -> str:
    prop = "same answers as PromiseLedger"
    events = _history()
    memory = PromiseLedger(events)
    with _opened(run, name) as store:
        store.append_many(events[::2])
        store.append_many(events)
        pairs: list[tuple[str, Callable[[Any], object]]] = [
            ("len()", len),
            ("promise_ids()", lambda s: s.promise_ids()),
            ("history()", lambda s: s.history()),
            ("history('P-3')", lambda s: s.history("P-3")),
            ("history('P-none')", lambda s: s.history("P-none")),
            ("get('R-3')", lambda s: s.get("R-3")),
        ]
        for index in range(1, 6):
            pid = f"P-{index}"
            pairs.append((f"state({pid!r})", _asking("state", pid)))
            pairs.append((f"state({pid!r}, at=)", _asking("state", pid, at=T0 + 2 * H)))
            pairs.append((f"state({pid!r}, known_at=)", _asking("state", pid, known_at=T0 + H)))
        for hours in (0, 1, 3, 12):
            instant = T0 + hours * H
            pairs.append((f"open_promises(T0 + {hours}h)", _asking("open_promises", instant)))
        for what, ask in pairs:
            got, want = _outcome(ask, store), _outcome(ask, memory)
            _expect(run, prop, got == want, f"{what} is {got!r}, PromiseLedger's {want!r}")
        for pid in ("P-orphan", "P-none"):
            _raises(
                run,
                prop,
                UnknownPromiseError,
                f"state({pid!r})",
                functools.partial(store.state, pid),
            )
        if hasattr(store, "states"):
            expected = [memory.state(p) for p in memory.promise_ids() if p != "P-orphan"]
            _expect(run, prop, list(store.states()) == expected, "states() differs")
    return f"{len(pairs) + 2} queries agree"


def cursor(run: Any, name: str, shared: bool) -> str:
    prop = "cursor"
    with _opened(run, name) as store:
        _expect(run, prop, store.last_position == 0 and store.events_since(0) == [], "empty store")
        events = [note(f"N-{i}") for i in range(10)]
        store.append_many(events[:4])
        store.append(events[0])
        store.append_many(events)
        log = store.events_since(0)
        _expect(
            run, prop, log == list(enumerate(events, start=1)), f"events_since(0) is {log[:3]}…"
        )
        _expect(run, prop, store.events_since(3, limit=2) == log[3:5], "limit= is wrong")
        _expect(run, prop, store.events_since(4, limit=0) == [], "limit=0 is not empty")
        _expect(
            run, prop, store.events_since(10) == [] and store.events_since(99) == [], "past the end"
        )
        _raises(run, prop, InvalidValueError, "events_since(-1)", lambda: store.events_since(-1))
        _raises(run, prop, InvalidTypeError, "events_since(True)", lambda: store.events_since(True))
        _raises(run, prop, InvalidValueError, "limit=-1", lambda: store.events_since(0, limit=-1))
    return "positions 1..n in append order, repeats take none, limit"


def checkpoints_and_leases(run: Any, name: str, shared: bool) -> str:
    prop = "checkpoints, leases and fencing"
    ttl = timedelta(seconds=10)
    with _opened(run, name) as store:
        _expect(run, prop, store.checkpoint("r") is None and store.lease("L") is None, "not empty")
        store.append_many([note("N-1"), note("N-2")], checkpoint=Checkpoint(name="r", position=2))
        _expect(run, prop, store.checkpoint("r") == Checkpoint(name="r", position=2), "not saved")
        store.append_many([], checkpoint=Checkpoint(name="r", position=1))
        _expect(run, prop, store.checkpoint("r").position == 1, "an empty batch's checkpoint")
        store.append(note("N-1"), checkpoint=Checkpoint(name="r", position=2))
        _expect(run, prop, store.checkpoint("r").position == 2, "a repeat's checkpoint")
        _expect(run, prop, store.acquire_lease("L", "A", now=T0, ttl=ttl), "a free lease refused")
        lease = store.lease("L")
        _expect(
            run,
            prop,
            lease is not None and (lease.holder, lease.expires_at) == ("A", T0 + ttl),
            f"lease is {lease}",
        )
        other = run.open(name) if shared else store
        try:
            _expect(
                run,
                prop,
                not other.acquire_lease("L", "B", now=T0 + ttl / 2, ttl=ttl),
                "a held lease given away",
            )
            _expect(
                run,
                prop,
                store.acquire_lease("L", "A", now=T0 + ttl / 2, ttl=ttl),
                "a renewal refused",
            )
            fenced = Checkpoint(name="L", position=3, holder="A")
            store.append_many([note("N-3")], checkpoint=fenced)
            _expect(run, prop, other.checkpoint("L") == fenced, "a fenced checkpoint by the holder")
            _expect(
                run,
                prop,
                other.acquire_lease("L", "B", now=T0 + 2 * ttl, ttl=ttl),
                "an expired lease not taken over",
            )
            lost = Checkpoint(name="L", position=4, holder="A")
            _raises(
                run,
                prop,
                LeaseLostError,
                "a fenced write after a takeover",
                lambda: store.append_many([note("N-4")], checkpoint=lost),
            )
            _expect(
                run,
                prop,
                "N-4" not in store and store.checkpoint("L") == fenced,
                "a fenced write wrote",
            )
            store.release_lease("L", "A")
            _expect(run, prop, store.lease("L").holder == "B", "a release by a non-holder")
            other.release_lease("L", "B")
            _expect(run, prop, store.lease("L") is None, "a release by the holder")
            nobody = Checkpoint(name="L", position=3, holder="B")
            _raises(
                run,
                prop,
                LeaseLostError,
                "a fenced write without a lease",
                lambda: store.append_many([], checkpoint=nobody),
            )
            _raises(
                run,
                prop,
                InvalidValueError,
                "a blank lease name",
                lambda: store.acquire_lease(" ", "A", now=T0, ttl=ttl),
            )
            _raises(
                run,
                prop,
                InvalidValueError,
                "ttl=0",
                lambda: store.acquire_lease("L", "A", now=T0, ttl=timedelta(0)),
            )
        finally:
            if other is not store:
                close = getattr(other, "close", None)
                if callable(close):
                    close()
    return "transactional checkpoints; leases exclusive" + (" across two handles" if shared else "")


def _calls(store: Any) -> int:
    """Python and builtin calls made until ``store.states()`` yields its first state."""
    count = 0

    def profile(frame: FrameType, event: str, arg: object) -> None:
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(profile)
    try:
        stream = store.states()
        next(stream)
    finally:
        sys.setprofile(None)
    close = getattr(stream, "close", None)
    if callable(close):
        close()
    return count


def states_streaming(run: Any, name: str, shared: bool) -> str:
    prop = "states() streaming"
    costs = []
    for scale in (1, 10):
        scaled = f"{name}_{scale}"
        run.names.append(scaled)
        with _opened(run, scaled) as store:
            if not hasattr(store, "states"):
                return "skipped: the store has no states() method"
            count = 30 * scale
            store.append_many(
                event
                for i in range(count)
                for event in (made(f"P-{i:05}"), note(f"N-{i}", f"P-{i:05}"))
            )
            costs.append(min(_calls(store) for _ in range(3)))
    small, large = costs
    _expect(
        run,
        prop,
        large < 2 * small,
        f"the first state of a store of 300 promises costs {large} calls, of 30 promises "
        f"{small}: states() reads the whole store before its first state",
    )
    return f"{small} calls to the first state with 30 promises, {large} with 300"


SINGLE_PROCESS_CHECKS: tuple[tuple[str, Callable[[Any, str, bool], str]], ...] = (
    ("idempotent append", idempotent_append),
    ("batch atomicity", batch_atomicity),
    ("same answers", same_answers),
    ("cursor", cursor),
    ("checkpoints and leases", checkpoints_and_leases),
    ("states streaming", states_streaming),
)
