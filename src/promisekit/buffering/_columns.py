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

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import attrs

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


@attrs.frozen(eq=False)
class QuoteColumns:
    """Quotes for a block of requests, as columns.

    Attributes:
        window_us: Promised window per request (``int64`` µs from the request time,
            or from the reference due for policies relative to a reference).
        confidence: Stated probability of keeping each quote (``float64`` in [0, 1]).

    .. versionadded:: 0.1.0
    """

    window_us: IntArray
    confidence: FloatArray


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
