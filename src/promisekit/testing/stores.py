"""A conformance suite for ledger stores: :func:`check_ledger_store`.

Any :class:`~promisekit.ledger.LedgerStore` — :class:`~promisekit.ledger.PromiseLedger`,
:class:`~promisekit.store.SQLiteLedger`, :class:`~promisekit.postgres.PostgresLedger`
or a third-party store — can be checked against the guarantees the escalation runner
and every other reader rely on::

    from promisekit.testing import SQLiteStores, check_ledger_store

    def test_my_store_conforms(tmp_path):
        report = check_ledger_store(SQLiteStores(str(tmp_path)))
        assert report.skipped == ()

A **factory** opens stores by name: ``factory(name)`` returns the store called
``name`` — a new, empty one the first time, the same one again afterwards, in this
process *and in other processes*. The multi-process checks send the factory to writer
processes with :mod:`pickle`, so it must be picklable by reference: a module-level
function, a :func:`functools.partial` of one, or an instance of a module-level class
(like :class:`SQLiteStores`, :class:`PostgresStores`, :class:`MemoryStores`), whose
module the writer processes can import (they get this process's ``sys.path``). A
factory may also have a ``discard(name)`` method: the suite calls it when done with a
store, to delete it.

A store that cannot be shared between processes (the in-memory ledger, or any store
with a true ``process_local`` attribute) passes the single-process checks only: the
multi-process ones are **skipped and listed** in :attr:`StoreReport.skipped`, with
the reason.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import pickle
import uuid
from collections.abc import Callable
from typing import Any, NoReturn

import attrs

from promisekit._store_factories import MemoryStores, PostgresStores, SQLiteStores
from promisekit._validation import describe
from promisekit.errors import InvalidTypeError, InvalidValueError
from promisekit.ledger import LedgerStore, PromiseLedger
from promisekit.testing._store_checks import SINGLE_PROCESS_CHECKS
from promisekit.testing._store_processes import concurrent_writers, crash_recovery

__all__ = [
    "MemoryStores",
    "PostgresStores",
    "SQLiteStores",
    "StoreReport",
    "check_ledger_store",
]


@attrs.frozen
class StoreReport:
    """What :func:`check_ledger_store` checked.

    Attributes:
        store: The ``repr`` of the first store the factory opened.
        passed: ``(check, detail)`` for every check that ran and passed.
        skipped: ``(check, reason)`` for every check that did not run.

    .. versionadded:: 0.1.0
    """

    store: str
    passed: tuple[tuple[str, str], ...]
    skipped: tuple[tuple[str, str], ...]

    def __str__(self) -> str:
        lines = [f"ledger store conformance of {self.store}:"]
        lines += [f"  passed  {check}: {detail}" for check, detail in self.passed]
        lines += [f"  skipped {check}: {reason}" for check, reason in self.skipped]
        return "\n".join(lines)


# --------------------------------------------------------------------------- the suite


def _count(field: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(
            f"{field!r} must be an int (got {type(value).__name__} {describe(value)})"
        )
    if value < minimum:
        raise InvalidValueError(f"{field!r} must be >= {minimum} (got {describe(value)})")
    return value


def _close(store: object) -> None:
    close = getattr(store, "close", None)
    if callable(close):
        close()


class _Run:
    """One run of the suite: fresh store names, failures naming the store."""

    def __init__(self, factory: Callable[[str], Any]) -> None:
        self.factory = factory
        self.subject = "?"
        self.names: list[str] = []

    def fail(self, prop: str, summary: str) -> NoReturn:
        raise AssertionError(
            f"check_ledger_store: {self.subject} breaks property {prop!r}: {summary}"
        )

    def fresh(self, check: str) -> str:
        name = f"{check[:12]}_{uuid.uuid4().hex[:12]}"
        self.names.append(name)
        return name

    def open(self, name: str) -> Any:
        try:
            store = self.factory(name)
        except AssertionError:
            raise
        except Exception as exc:
            self.fail("opens", f"factory({name!r}) raised {type(exc).__name__}: {exc}")
        if not isinstance(store, LedgerStore):
            self.fail(
                "opens", f"factory({name!r}) returned {type(store).__name__}, not a LedgerStore"
            )
        return store

    def discard_all(self) -> None:
        discard = getattr(self.factory, "discard", None)
        if callable(discard):
            for name in self.names:
                discard(name)


def check_ledger_store(
    factory: Callable[[str], Any],
    *,
    processes: int = 8,
    batches: int = 100,
    kills: int = 20,
    process_local: bool | None = None,
) -> StoreReport:
    """Check that the stores ``factory`` opens keep every ``LedgerStore`` guarantee.

    Raise :class:`AssertionError` at the first guarantee of
    :class:`~promisekit.ledger.LedgerStore` broken.

    Single-process checks (on a fresh store each): idempotent appends (the same event
    is a no-op, the same id with another payload raises
    :class:`~promisekit.errors.InconsistentRecordError` and writes nothing); batch
    atomicity (a batch with one bad item, one conflicting id, a generator that raises
    or a checkpoint past the end writes nothing, and takes no position);
    ``expected_position`` (when ``append_many`` takes it); the same answers as
    :class:`~promisekit.ledger.PromiseLedger` (``state``, ``history``,
    ``open_promises``…); the cursor (``events_since``, ``last_position``);
    checkpoints, leases and fencing (also through a second handle on the same store);
    and ``states()`` streaming: the work done before the first state arrives — Python
    calls counted with :func:`sys.setprofile`, not time — does not grow with the store
    (a store ten times larger costs less than twice as much).

    Multi-process checks (skipped for process-local stores): ``processes`` writer
    processes append ``batches`` batches each (some events shared by all writers)
    while this process polls ``events_since``: nothing lost, nothing duplicated,
    positions 1..n, a batch's events consecutive, and the reader never skips or
    re-reads a position. Then a writer is killed with SIGKILL ``kills`` times: every
    event it acknowledged is stored exactly once, and the next writer gets through.

    Args:
        factory: Opens the store called ``name``: ``factory(name)`` (see the module
            documentation; picklable for the multi-process checks).
        processes: Concurrent writer processes (``>= 1``).
        batches: Batches each writer appends (``>= 1``).
        kills: Writers killed (``>= 0``; 0 skips the crash check).
        process_local: Whether the stores cannot be shared between processes;
            ``None`` (the default) asks the store (``PromiseLedger``, or a true
            ``process_local`` attribute of the store or the factory).

    Returns:
        The :class:`StoreReport`: checks passed, and checks skipped with the reason.

    Raises:
        AssertionError: A guarantee is broken (the message names the store and the
            property).
        InvalidTypeError: ``factory`` is not callable or (for the multi-process
            checks) not picklable, or a count is not an int.
        InvalidValueError: A count is out of range.

    .. versionadded:: 0.1.0
    """
    if not callable(factory):
        raise InvalidTypeError(
            f"'factory' must be callable (got {type(factory).__name__} {describe(factory)})"
        )
    processes = _count("processes", processes, 1)
    batches = _count("batches", batches, 1)
    kills = _count("kills", kills, 0)
    run = _Run(factory)
    passed: list[tuple[str, str]] = []
    skipped: list[tuple[str, str]] = []
    try:
        first = run.open(run.fresh("probe"))
        run.subject = repr(first)
        if process_local is None:
            process_local = bool(
                isinstance(first, PromiseLedger)
                or getattr(first, "process_local", False) is True
                or getattr(factory, "process_local", False) is True
            )
        _close(first)
        for check, function in SINGLE_PROCESS_CHECKS:
            outcome = function(run, run.fresh(check), not process_local)
            if outcome.startswith("skipped: "):
                skipped.append((check, outcome.removeprefix("skipped: ")))
            else:
                passed.append((check, outcome))
        if process_local:
            reason = "the store is process-local: it cannot be opened by another process"
            skipped += [("concurrent writers", reason), ("crash recovery", reason)]
            return StoreReport(run.subject, tuple(passed), tuple(skipped))
        try:
            pickle.dumps(factory)
        except Exception as exc:
            raise InvalidTypeError(
                "'factory' must be picklable to open the store in writer processes (a "
                "module-level function, a functools.partial of one, or an instance of a "
                f"module-level class); pickling {describe(factory)} raised "
                f"{type(exc).__name__}: {exc}"
            ) from None
        detail = concurrent_writers(
            run.fail, factory, run.fresh("writers"), processes, batches, run.open
        )
        passed.append(("concurrent writers", detail))
        if kills:
            detail = crash_recovery(run.fail, factory, run.fresh("crashes"), kills, run.open)
            passed.append(("crash recovery", detail))
        else:
            skipped.append(("crash recovery", "kills=0"))
        return StoreReport(run.subject, tuple(passed), tuple(skipped))
    finally:
        run.discard_all()
