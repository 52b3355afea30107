"""Under-promise, over-deliver: buffered due dates derived from history.

A **capability** says how long the work takes (:class:`PointCapability`,
:class:`EmpiricalCapability`, :class:`ParametricCapability`, per segment with
:class:`SegmentedCapability`). A **buffer policy** turns it into a promise: the
internal *target* is the start plus the median, and small composable policies move
the external *due* from there (:class:`QuantileBuffer`, :class:`FixedBuffer`,
:class:`ProportionalBuffer`, :class:`RoundUp`, :class:`Cap`, :class:`Floor`,
:class:`OptimalBuffer`; ``a + b`` chains, ``a | b`` takes the later). :func:`quote`
returns a :class:`Quote` with the confidence of keeping it and a one-line
explanation.

Around it: :func:`negotiate` answers a requested date frankly (accept, counter-offer,
decline), :func:`propose_revision` gives a realistic new date for late work,
:func:`optimal_quote` balances lateness against long promises, and :func:`backtest`
replays a history under several policies without look-ahead —
:func:`backtest_columns` does the same over arrays (:class:`HistoryColumns`) at numpy
speed, and refits :class:`ColumnarPolicy` models block by block.

With a :class:`~promisekit.calendar.BusinessCalendar`, every duration is business
time and every datetime is in the calendar's zone; without one, real (UTC) time in
the start's zone.

Example:
    >>> from datetime import datetime, timedelta, timezone
    >>> cap = EmpiricalCapability.from_durations(
    ...     [timedelta(minutes=m) for m in range(10, 50)], label="callbacks")
    >>> policy = QuantileBuffer(0.9) + FixedBuffer(timedelta(minutes=15)) + RoundUp("half-hour")
    >>> q = policy.quote(datetime(2026, 3, 10, 13, 30, tzinfo=timezone.utc), cap, what="callback")
    >>> print(q)
    callback by 14:30 UTC (p90 of 40 past callbacks = 45 min, +15 min buffer)
    >>> round(q.confidence, 3)
    1.0

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from promisekit.buffering._backtest import (
    HISTORICAL,
    BacktestQuote,
    BacktestResult,
    BacktestRow,
    backtest,
)
from promisekit.buffering._backtest_columns import backtest_columns
from promisekit.buffering._budget import BudgetBuffer, BudgetQuoter, allocate_budget
from promisekit.buffering._calibration import (
    CalibrationReport,
    CalibrationRow,
    calibration_report,
)
from promisekit.buffering._capability import (
    Capability,
    EmpiricalCapability,
    ParametricCapability,
    PointCapability,
    SegmentedCapability,
    UnknownSegmentError,
)
from promisekit.buffering._columns import (
    ColumnarPolicy,
    ColumnarQuoter,
    HistoryColumns,
    QuoteColumns,
)
from promisekit.buffering._conditional import ConditionalQuantileBuffer, ConditionalQuoter
from promisekit.buffering._conformal import (
    AdaptiveConformalBuffer,
    AdaptiveQuoter,
    ConformalBuffer,
    ConformalQuoter,
)
from promisekit.buffering._gbm import GradientBoostedQuantileBuffer, GradientBoostedQuoter
from promisekit.buffering._grid import GridDistributions
from promisekit.buffering._grid_capability import GridCapability
from promisekit.buffering._history import HistoryRecord
from promisekit.buffering._negotiation import Decision, Negotiation, negotiate, propose_revision
from promisekit.buffering._optimal import (
    LinearLatenessCost,
    OptimalBuffer,
    SatisfactionFunction,
    StepSatisfaction,
    optimal_quote,
)
from promisekit.buffering._policies import (
    BufferPolicy,
    Cap,
    Chain,
    FixedBuffer,
    Floor,
    Later,
    NoBuffer,
    ProportionalBuffer,
    QuantileBuffer,
    Quote,
    QuoteContext,
    ReferenceQuantile,
    RoundUp,
    quote,
)
from promisekit.buffering._queue_predictors import (
    HeadOfLinePredictor,
    QueueLengthPredictor,
    QueueQuoter,
    head_of_line_wait,
    open_promises,
    queue_features,
    rase,
)

__all__ = [
    "HISTORICAL",
    "AdaptiveConformalBuffer",
    "AdaptiveQuoter",
    "BacktestQuote",
    "BacktestResult",
    "BacktestRow",
    "BudgetBuffer",
    "BudgetQuoter",
    "BufferPolicy",
    "CalibrationReport",
    "CalibrationRow",
    "Cap",
    "Capability",
    "Chain",
    "ColumnarPolicy",
    "ColumnarQuoter",
    "ConditionalQuantileBuffer",
    "ConditionalQuoter",
    "ConformalBuffer",
    "ConformalQuoter",
    "Decision",
    "EmpiricalCapability",
    "FixedBuffer",
    "Floor",
    "GradientBoostedQuantileBuffer",
    "GradientBoostedQuoter",
    "GridCapability",
    "GridDistributions",
    "HeadOfLinePredictor",
    "HistoryColumns",
    "HistoryRecord",
    "Later",
    "LinearLatenessCost",
    "Negotiation",
    "NoBuffer",
    "OptimalBuffer",
    "ParametricCapability",
    "PointCapability",
    "ProportionalBuffer",
    "QuantileBuffer",
    "QueueLengthPredictor",
    "QueueQuoter",
    "Quote",
    "QuoteColumns",
    "QuoteContext",
    "ReferenceQuantile",
    "RoundUp",
    "SatisfactionFunction",
    "SegmentedCapability",
    "StepSatisfaction",
    "UnknownSegmentError",
    "allocate_budget",
    "backtest",
    "backtest_columns",
    "calibration_report",
    "head_of_line_wait",
    "negotiate",
    "open_promises",
    "optimal_quote",
    "propose_revision",
    "queue_features",
    "quote",
    "rase",
]
