"""What the database stores share: reading events and states back from their rows.

Private to :mod:`promisekit.store` and :mod:`promisekit.postgres`: :class:`RowStore` is
the base of :class:`~promisekit.store.SQLiteLedger` and
:class:`~promisekit.postgres.PostgresLedger`. A store gives the rows (its SQL), this
class turns them into events and states: rows the store wrote itself are read back on
the trusted path of :mod:`promisekit._store_rows`, any other row is validated.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from types import TracebackType
from typing import TypeVar

from promisekit._ledger_events import Event
from promisekit._ledger_replay import _replay_sorted, _select
from promisekit._ledger_state import PromiseState, UnknownPromiseError, _StateSource
from promisekit._store_cursor import micros
from promisekit._store_rows import ReplayRow, decode_row, stream_states
from promisekit._validation import check_aware, check_non_empty_str, describe

_Store = TypeVar("_Store", bound="RowStore")
#: What an event is read from: ``(type, at_us, document, digest)``.
EventRow = tuple[str, int, str, int | None]


class RowStore(_StateSource):
    """The reading methods both database stores share (a subclass gives the rows)."""

    #: How messages name the store (its path, or its server and schema).
    _where: str

    def close(self) -> None:
        raise NotImplementedError  # pragma: no cover - every store gives it

    def _rows_of(self, promise_id: str | None) -> list[EventRow]:
        """The rows of one promise's events (of every event for ``None``), any order."""
        raise NotImplementedError  # pragma: no cover - every store gives it

    def _replay_rows(self) -> Iterator[ReplayRow]:
        """Every row ``(promise_id, type, at_us, document, digest)``, by promise id."""
        raise NotImplementedError  # pragma: no cover - every store gives it

    def __enter__(self: _Store) -> _Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _decode_row(self, event_type: str, at_us: int, document: str, digest: int | None) -> Event:
        """The event of a row: trusted if the store wrote it, otherwise validated."""
        return decode_row(event_type, at_us, document, digest, self._where)

    def state(
        self, promise_id: str, at: datetime | None = None, *, known_at: datetime | None = None
    ) -> PromiseState:
        """The state of a promise, replaying its stored events (as :meth:`PromiseLedger.state
        <promisekit.ledger.PromiseLedger.state>`).

        Args:
            promise_id: Id of the promise.
            at: Replay only what happened at or before this instant, or ``None``.
            known_at: Replay only what was recorded at or before this instant, or
                ``None``.

        Returns:
            The :class:`~promisekit.ledger.PromiseState`.

        Raises:
            NaiveDatetimeError: ``at`` or ``known_at`` has no time zone.
            UnknownPromiseError: No event for ``promise_id``, or no promise-made event
                among those replayed.
            StoreError: The database cannot be read.

        .. versionadded:: 0.1.0
        """
        check_non_empty_str("promise_id", promise_id)
        if at is not None:
            check_aware("at", at)
        if known_at is not None:
            check_aware("known_at", known_at)
        rows = self._rows_of(promise_id)
        if not rows:
            raise UnknownPromiseError(
                promise_id,
                f"promise {describe(promise_id)} has no event in the store {self._where}",
            )
        events = [self._decode_row(*row) for row in rows]
        return _replay_sorted(promise_id, _select(events, at, known_at), at, known_at)

    def _states(self, at: datetime | None) -> Iterator[PromiseState]:
        """``states(at)``: the arguments checked now, the rows read as the states are."""
        limit = None if at is None else micros(check_aware("at", at))

        def untrusted(promise_id: str, rows: list[ReplayRow]) -> PromiseState:
            events = [self._decode_row(*row[1:]) for row in rows]
            return _replay_sorted(promise_id, _select(events, at, None), at, None)

        return stream_states(self._replay_rows(), at, limit, untrusted)

    def _made_states(self, at: datetime) -> Iterator[PromiseState]:
        return self._states(at)

    def history(self, promise_id: str | None = None) -> tuple[Event, ...]:
        """Every stored event (of one promise, or of all), in replay order.

        Args:
            promise_id: A promise id, or ``None`` for the whole store.

        Returns:
            The events, ordered by occurrence; empty for an unknown promise.

        Raises:
            StoreError: The database cannot be read.

        .. versionadded:: 0.1.0
        """
        rows = self._rows_of(promise_id)
        return tuple(sorted((self._decode_row(*row) for row in rows), key=Event.order_key))
