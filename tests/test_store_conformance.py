"""The ledger-store conformance suite on the three stores, and on stores that break it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from promisekit.errors import InvalidTypeError, InvalidValueError
from promisekit.ledger import Event, PromiseLedger, PromiseState
from promisekit.store import SQLiteLedger
from promisekit.testing import (
    MemoryStores,
    PostgresStores,
    SQLiteStores,
    StoreReport,
    check_ledger_store,
)

MULTI_PROCESS = ("concurrent writers", "crash recovery")


def _names(pairs: tuple[tuple[str, str], ...]) -> list[str]:
    return [name for name, _ in pairs]


def test_the_in_memory_ledger_conforms_and_says_what_it_skipped() -> None:
    report = check_ledger_store(MemoryStores())
    assert "checkpoints and leases" in _names(report.passed)
    skipped = dict(report.skipped)
    assert skipped["concurrent writers"].startswith("the store is process-local")
    assert skipped["crash recovery"].startswith("the store is process-local")
    assert skipped["states streaming"] == "the store has no states() method"
    assert "skipped concurrent writers: the store is process-local" in str(report)


def test_the_sqlite_ledger_conforms(tmp_path: Path) -> None:
    report = check_ledger_store(SQLiteStores(str(tmp_path)), processes=8, batches=100, kills=20)
    assert report.skipped == ()
    assert _names(report.passed)[-2:] == list(MULTI_PROCESS)
    print(report)
    assert list(tmp_path.iterdir()) == []  # the factory's discard() removed every store


def test_the_postgres_ledger_conforms(postgres_url: str) -> None:
    report = check_ledger_store(PostgresStores(postgres_url), processes=8, batches=100, kills=20)
    assert report.skipped == ()
    assert _names(report.passed)[-2:] == list(MULTI_PROCESS)
    print(report)


# --------------------------------------------------------------------------- broken stores


class _Reads(SQLiteLedger):
    """Builds every state before yielding the first."""

    def states(self, at: Any = None) -> Iterator[PromiseState]:
        return iter(list(super().states(at)))


@attrs.frozen
class ReadsEverything:
    directory: str

    def __call__(self, name: str) -> SQLiteLedger:
        return _Reads(Path(self.directory) / f"{name}.db")


class _OneByOne(PromiseLedger):
    """Appends a batch one event at a time: a bad item leaves the first ones behind."""

    def append_many(self, events: Iterable[Event], **kwargs: Any) -> int:
        return sum(self.append(event) for event in events)


class _Skips(PromiseLedger):
    """Its cursor loses the event after every tenth."""

    def events_since(self, position: int = 0, *, limit: int | None = None) -> Any:
        return [pair for pair in super().events_since(position, limit=limit) if pair[0] % 10 != 1]


def test_a_store_that_reads_everything_before_the_first_state_fails(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="breaks property 'states\\(\\) streaming'"):
        check_ledger_store(ReadsEverything(str(tmp_path)))


@pytest.mark.parametrize(
    ("store", "prop"),
    [(_OneByOne, "idempotent append"), (_Skips, "batch atomicity")],
)
def test_broken_stores_fail(store: type[PromiseLedger], prop: str) -> None:
    with pytest.raises(AssertionError, match=f"breaks property '{prop}'"):
        check_ledger_store(lambda name: store())


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(InvalidTypeError, match="'factory' must be callable"):
        check_ledger_store("not a factory")  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="'processes' must be >= 1"):
        check_ledger_store(MemoryStores(), processes=0)
    with pytest.raises(InvalidTypeError, match="'kills' must be an int"):
        check_ledger_store(MemoryStores(), kills=1.5)  # type: ignore[arg-type]
    directory = str(tmp_path)
    with pytest.raises(InvalidTypeError, match="'factory' must be picklable"):
        check_ledger_store(lambda name: SQLiteStores(directory)(name), kills=0)


def test_kills_zero_is_reported(tmp_path: Path) -> None:
    report = check_ledger_store(SQLiteStores(str(tmp_path)), processes=2, batches=5, kills=0)
    assert report.skipped == (("crash recovery", "kills=0"),)
    assert isinstance(report, StoreReport)
