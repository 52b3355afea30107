"""Columnar histories and quotes: the arrays shared by columnar backtests and models.

A :class:`HistoryColumns` holds a history as numpy arrays in integer microseconds
since the Unix epoch (UTC), so that a replay or a model fit never builds a
``datetime`` per row. A policy that can quote many requests at once implements
:class:`ColumnarPolicy`: ``fit_columns(past)`` learns from the records completed
before a moment and returns a :class:`ColumnarQuoter`, whose ``quote_columns``
answers a block of requests with a :class:`QuoteColumns` (a window and a stated
confidence per request).

numpy is imported lazily (the ``analysis`` extra).

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import attrs

from promisekit.buffering._backtest_io import (
    history_from_frame,
    history_from_ledger,
    history_from_records,
)

__all__ = ["ColumnarPolicy", "ColumnarQuoter", "HistoryColumns", "QuoteColumns"]

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import numpy.typing as npt

    IntArray = npt.NDArray[np.int64]
    FloatArray = npt.NDArray[np.float64]
    AnyArray = npt.NDArray[Any]

__all__ = ["ColumnarPolicy", "ColumnarQuoter", "HistoryColumns", "QuoteColumns"]


@attrs.frozen(eq=False)
class HistoryColumns:
    """A history as columns: one entry per request, instants in UTC microseconds.

    Attributes:
        requested_us: When each request was made (``int64`` µs since the epoch, UTC).
        completed_us: When each was completed (``int64``; for requests still open
            or not known, ``np.iinfo(np.int64).max``).
        zone: IANA zone name in which hour of day, weekday and season are read.
        segment: Optional segment label per request (any array of hashable values).
        reference_us: Optional reference due per request (a published schedule, an
            SLA target, the business's own promise), ``int64`` µs; requests without
            one hold ``np.iinfo(np.int64).min``.
        features: Caller-supplied numeric features per request (name → ``float64``
            array), such as queue length or open work at request time.

    .. versionadded:: 0.1.0
    """

    requested_us: IntArray
    completed_us: IntArray
    zone: str = "UTC"
    segment: AnyArray | None = None
    reference_us: IntArray | None = None
    features: Mapping[str, FloatArray] = attrs.field(factory=dict)

    def __len__(self) -> int:
        return int(self.requested_us.shape[0])

    @classmethod
    def from_frame(
        cls,
        frame: Any,
        *,
        requested_at: str = "requested_at",
        completed_at: str = "completed_at",
        segment: str | None = None,
        reference: str | None = None,
        features: Sequence[str] = (),
        tz: str | None = None,
    ) -> HistoryColumns:
        """Columns from a pandas ``DataFrame`` (needs the ``analysis`` extra).

        Datetime columns with a time zone are read as instants; naive ones are
        local times in ``tz`` (required then; a wall time that does not exist or
        is ambiguous raises). Missing completions (``NaT``) are open requests and
        missing references have none (see the attributes).

        Args:
            frame: The ``DataFrame``.
            requested_at: Column of request times.
            completed_at: Column of completion times.
            segment: Optional column of segment labels.
            reference: Optional column of reference dues (published schedule,
                SLA target, past promise).
            features: Numeric feature columns to keep (as ``float64``).
            tz: IANA zone of naive columns and of :attr:`zone`; by default the
                zone of the request column, else ``"UTC"``.

        Raises:
            MissingDependencyError: pandas is not installed.
            InvalidTypeError: ``frame`` is not a DataFrame or a column is not datetimes.
            InvalidValueError: A column is missing, or naive datetimes come without ``tz``.
            UnknownTimeZoneError: ``tz`` is not an IANA zone.

        .. versionadded:: 0.1.0
        """
        return history_from_frame(
            cls,
            frame,
            requested_at=requested_at,
            completed_at=completed_at,
            segment=segment,
            reference=reference,
            features=features,
            tz=tz,
        )

    @classmethod
    def from_records(cls, history: Iterable[Any], *, zone: str | None = None) -> HistoryColumns:
        """Columns from :class:`HistoryRecord` values or tuples (needs numpy).

        ``segment`` is kept when any record has one; ``promised_due`` becomes
        ``reference_us``. ``zone`` defaults to the first request's zone when it is
        an IANA zone, else ``"UTC"``.

        .. versionadded:: 0.1.0
        """
        return history_from_records(cls, history, zone=zone)

    @classmethod
    def from_ledger(
        cls,
        ledger: Any,
        *,
        now: datetime,
        zone: str | None = None,
        segment: str | Callable[[Any], Any] | None = "kind",
    ) -> HistoryColumns:
        """Columns from the promises of a ledger or ledger store, as known at ``now``.

        One row per promise made by ``now``: requested at its ``made_at``, completed
        when its terms were met (or when it was cancelled; still open otherwise),
        its current ``due`` as the reference. This feeds the queue-aware predictors
        from the open promises of a live ledger (:func:`open_promises`,
        :func:`head_of_line_wait`, :func:`queue_features`) and every columnar model.

        Args:
            ledger: A :class:`~promisekit.ledger.PromiseLedger`, ``SQLiteLedger`` or
                ``PostgresLedger``.
            now: The instant the ledger is read at (aware).
            zone: IANA zone of :attr:`zone`; default the first promise's zone, else UTC.
            segment: ``"kind"`` (the promise's kind), a callable ``state -> label``,
                or ``None`` for no segments.

        Raises:
            NaiveDatetimeError: ``now`` has no time zone.
            InvalidTypeError: ``ledger`` or ``segment`` has the wrong type.
            MissingDependencyError: numpy is not installed.

        .. versionadded:: 0.1.0
        """
        return history_from_ledger(cls, ledger, now=now, zone=zone, segment=segment)

    def take(self, index: Any) -> HistoryColumns:
        """The rows selected by ``index`` (an integer or boolean numpy array).

        .. versionadded:: 0.1.0
        """
        return HistoryColumns(
            self.requested_us[index],
            self.completed_us[index],
            self.zone,
            None if self.segment is None else self.segment[index],
            None if self.reference_us is None else self.reference_us[index],
            {name: values[index] for name, values in self.features.items()},
        )


@attrs.frozen(eq=False)
class QuoteColumns:
    """Quotes for a block of requests, as columns.

    Attributes:
        window_us: Promised window per request (``int64`` µs from the request time,
            or from the reference due for policies relative to a reference).
        confidence: Stated probability of keeping each quote (``float64`` in [0, 1]).
            ``NaN`` means the request is not quoted (a columnar backtest counts it
            as skipped).
        relative_to_reference: ``False`` (default): each due is ``requested +
            window``. ``True``: each due is ``reference + window`` (the request's
            ``reference_us``; the window may then be negative, a signed deviation
            from the reference) and requests without a reference are skipped.

    .. versionadded:: 0.1.0
    """

    window_us: IntArray
    confidence: FloatArray
    relative_to_reference: bool = False


@runtime_checkable
class ColumnarQuoter(Protocol):
    """A fitted columnar policy: quotes a block of requests at once.

    .. versionadded:: 0.1.0
    """

    def quote_columns(self, requests: HistoryColumns) -> QuoteColumns:
        """Quote every request of ``requests`` (only request-time columns may be read).

        .. versionadded:: 0.1.0
        """
        ...


@runtime_checkable
class ColumnarPolicy(Protocol):
    """A policy that learns from a columnar history and quotes in blocks.

    ``fit_columns(past)`` must use only ``past`` (records completed before the
    moment of fitting): a columnar backtest calls it once per refit period.

    .. versionadded:: 0.1.0
    """

    def fit_columns(self, past: HistoryColumns) -> ColumnarQuoter:
        """Learn from ``past`` and return a quoter.

        .. versionadded:: 0.1.0
        """
        ...
