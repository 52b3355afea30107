"""PromiseBook: a collection of promises and their outcomes, as columns."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from promisekit._validation import check_aware
from promisekit._vectorized_calendar import as_instants
from promisekit.analysis._book_columns import BookColumns
from promisekit.analysis._book_records import (
    _KEPT,
    _LATE,
    _OVERDUE,
    _PENDING,
    _SHORT,
    _frame_columns,
    _ledger_records,
    _records_columns,
)
from promisekit.analysis._book_summary import (
    _score_rows,
    _Scored,
    _summary_rows,
)
from promisekit.analysis._book_views import (
    check_summary_args,
    compare_frame,
    outcomes_frame,
    repr_html,
    satisfaction_frame,
    summary_frame,
)
from promisekit.analysis._columns import (
    OutcomeColumns,
    _assess,
    require_pandas,
)
from promisekit.analysis._fairness import FairnessReport, permutation_fairness
from promisekit.buffering import BufferPolicy
from promisekit.calendar import BusinessCalendar
from promisekit.delivery import Delivery
from promisekit.errors import InvalidTypeError, InvalidValueError
from promisekit.impact import Impact
from promisekit.ledger import Ledger
from promisekit.promise import Promise
from promisekit.satisfaction import SatisfactionModel

if TYPE_CHECKING:
    import pandas as pd

    from promisekit.datasets import SampleHistory

__all__ = ["PromiseBook"]

_NAT = np.iinfo(np.int64).min
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_LABELS = ("kind", "segment", "owner")


class PromiseBook:
    """A book of promises and their outcomes, as columns: summaries and a fairness audit.

    Build one from domain objects (:meth:`from_records`, :meth:`from_history`), from a
    DataFrame or a mapping of columns (:meth:`from_frame`, e.g. a sample from
    :mod:`promisekit.datasets`' ``*_history`` functions), or directly from columns. Every promise is
    assessed at ``now`` (as :func:`~promisekit.delivery.assess` would) without a Python
    loop per row; with a calendar, lateness and response times are also measured in
    business time.

    Args:
        made_at: When each promise was made (``datetime64``, UTC instants).
        due: Its due date in force.
        completed_at: When it was completed, NaT when not (or ``None``: none were).
        now: The instant of the assessment (aware datetime or ``datetime64``).
        promise_id: Identifiers, or ``None`` for ``0 .. n-1``.
        kind: What was promised (``"callback"``…), or ``None``.
        segment: Customer segment / tier, or ``None``.
        owner: Who is responsible, or ``None``.
        short: Booleans: the completion missed a non-time term, or ``None``.
        revisions: Revision number in force, or ``None`` (all 0).
        score: A satisfaction score per promise (float, NaN where none), or ``None``.
        calendar: A :class:`~promisekit.calendar.BusinessCalendar`, or ``None``.
        customer: Who each promise was made to, or ``None``: with it, impact figures
            (customers lost) count customers, not promises.
        target: Internal target dates (NaT where none, each between made and due),
            or ``None``: the fever chart measures buffers from them.

    Raises:
        InvalidTypeError: a column has the wrong dtype.
        InvalidValueError: lengths differ, NaT where not allowed, or instants out of
            order (as for :func:`~promisekit.analysis.assess_columns`).

    Example:
        .. code-block:: python

            from promisekit.analysis import PromiseBook
            from promisekit.datasets import callback_centre_promises

            book = PromiseBook.from_history(callback_centre_promises(n=40))
            book.summary()

    .. versionadded:: 0.1.0
    """

    __slots__ = ("_calendar", "_cols", "_now", "_outcomes")

    def __init__(
        self,
        *,
        made_at: Any,
        due: Any,
        completed_at: Any = None,
        now: Any,
        promise_id: Any = None,
        kind: Any = None,
        segment: Any = None,
        owner: Any = None,
        short: Any = None,
        revisions: Any = None,
        score: Any = None,
        calendar: BusinessCalendar | None = None,
        customer: Any = None,
        target: Any = None,
    ) -> None:
        made = as_instants("made_at", made_at)
        if made.ndim != 1:
            raise InvalidValueError(
                f"'made_at' must be a one-dimensional column (got {made.shape})"
            )
        size = len(made)
        now_i = as_instants("now", now)
        if now_i.ndim != 0:
            raise InvalidValueError("'now' must be a single instant for a PromiseBook")
        if completed_at is None:
            completed_at = np.full(size, _NAT, dtype=np.int64).view("datetime64[us]")
        if calendar is not None and not isinstance(calendar, BusinessCalendar):
            raise InvalidTypeError(
                f"'calendar' must be a BusinessCalendar or None (got {type(calendar).__name__})"
            )
        outcomes = _assess(
            made_at, due, completed_at, now_i.view("datetime64[us]"), short, calendar, None
        )
        if len(outcomes) != size:
            raise InvalidValueError(
                f"'made_at' and the other columns must have the same length "
                f"(got {size} and {len(outcomes)})"
            )
        self._outcomes = outcomes
        self._now = int(now_i)
        self._calendar = calendar
        self._cols = BookColumns(
            outcomes,
            self._now,
            calendar,
            promise_id=promise_id,
            kind=kind,
            segment=segment,
            owner=owner,
            customer=customer,
            target=target,
            short=short,
            revisions=revisions,
            score=score,
        )

    # ----------------------------------------------------------------- constructors

    @classmethod
    def from_records(
        cls,
        promises: Iterable[Promise],
        deliveries: Iterable[Delivery] = (),
        *,
        now: datetime,
        calendar: BusinessCalendar | None = None,
    ) -> PromiseBook:
        """A book from domain objects: each promise assessed with its deliveries at ``now``.

        Each promise goes through :func:`~promisekit.delivery.assess` (so quantity
        terms, partial deliveries and revisions count exactly as there); the book keeps
        the due date in force, the completion instant, whether a term was missed and
        the revision number.

        Raises:
            InvalidTypeError: an item is not a Promise / Delivery.
            InconsistentRecordError: two promises share an id, or a delivery is for a
                promise not in ``promises`` (or dated before it was made).
            NaiveDatetimeError: ``now`` has no time zone.

        .. versionadded:: 0.1.0
        """
        return cls(**_records_columns(promises, deliveries, now), calendar=calendar)

    @classmethod
    def from_history(cls, history: SampleHistory) -> PromiseBook:
        """A book from a :class:`~promisekit.datasets.SampleHistory` (its calendar and now).

        .. versionadded:: 0.1.0
        """
        return cls.from_records(
            history.promises, history.deliveries, now=history.now, calendar=history.calendar
        )

    @classmethod
    def from_ledger(
        cls,
        ledger: Ledger,
        *,
        now: datetime,
        calendar: BusinessCalendar | None = None,
    ) -> PromiseBook:
        """A book of every promise of a ledger, replayed as of ``now``.

        Each promise of ``ledger`` (a :class:`~promisekit.ledger.PromiseLedger` or a
        :class:`~promisekit.store.SQLiteLedger`) is replayed with
        ``ledger.state(promise_id, at=now)``: its current
        :class:`~promisekit.promise.Promise` revision and its deliveries up to ``now``
        go to :meth:`from_records`, in promise-id order.

        Left out of the book:

        * promises cancelled at or before ``now`` (the book has no "cancelled" status);
          a cancellation after ``now`` is not yet replayed, so the promise is kept;
        * promises not yet made at ``now``, and promise ids whose events have no
          :class:`~promisekit.ledger.PromiseMade` event.

        Args:
            ledger: The ledger.
            now: The instant of the replay and of the assessment (aware).
            calendar: A business calendar, or ``None``.

        Raises:
            NaiveDatetimeError: ``now`` has no time zone.

        .. versionadded:: 0.1.0
        """
        check_aware("now", now)
        promises, deliveries = _ledger_records(ledger, now)
        return cls.from_records(promises, deliveries, now=now, calendar=calendar)

    @classmethod
    def from_frame(
        cls,
        frame: Any,
        *,
        now: Any = None,
        calendar: BusinessCalendar | None = None,
        columns: Mapping[str, str] | None = None,
    ) -> PromiseBook:
        """A book from a pandas DataFrame, or a mapping of column names to arrays.

        Columns are read by name: ``made_at`` and ``due`` (required), ``completed_at``,
        ``promise_id`` (default: the frame's index), ``kind``, ``segment``, ``owner``,
        ``short``, ``revisions``, ``score``, ``customer`` (default: a ``customer_id``
        column when there is one) and ``target`` (optional); ``columns`` maps these
        names to the frame's own. ``datetime64`` columns are UTC instants; pandas columns with
        a time zone are converted.

        Args:
            frame: A DataFrame or a mapping of columns (as returned by
                the ``*_history`` functions of :mod:`promisekit.datasets`).
            now: The assessment instant; default ``frame.attrs["now"]`` (DataFrame) or
                ``frame["now"]`` (mapping).
            calendar: Business calendar, or ``None``.
            columns: Names of the frame's columns, keyed by the names above.

        Raises:
            InvalidValueError: a required column or ``now`` is missing.

        .. versionadded:: 0.1.0
        """
        return cls(calendar=calendar, **_frame_columns(frame, now, columns))

    # ----------------------------------------------------------------- accessors

    def __len__(self) -> int:
        return len(self._outcomes)

    @property
    def calendar(self) -> BusinessCalendar | None:
        """The business calendar, or ``None``.

        .. versionadded:: 0.1.0
        """
        return self._calendar

    @property
    def now(self) -> datetime:
        """The instant of the assessment (in the calendar's zone, or UTC).

        .. versionadded:: 0.1.0
        """
        moment = _EPOCH + timedelta(microseconds=self._now)
        return moment if self._calendar is None else moment.astimezone(self._calendar.zone)

    @property
    def columns(self) -> OutcomeColumns:
        """The columnar outcomes (see :func:`~promisekit.analysis.assess_columns`).

        .. versionadded:: 0.1.0
        """
        return self._outcomes

    def __repr__(self) -> str:
        counts = np.bincount(self._outcomes.status, minlength=5)
        return (
            f"PromiseBook({len(self)} promises, kept={int(counts[_KEPT])}, "
            f"late={int(counts[_LATE])}, short={int(counts[_SHORT])}, "
            f"open={int(counts[_PENDING] + counts[_OVERDUE])}, now={self.now.isoformat()}"
            + (f", calendar={self._calendar.tz!r}" if self._calendar else "")
            + ")"
        )

    # ----------------------------------------------------------------- tables

    def _tz(self) -> str:
        return "UTC" if self._calendar is None else self._calendar.tz

    def outcomes(self) -> pd.DataFrame:
        """One row per promise: its labels, dates, status and lateness, indexed by id.

        Columns: ``kind``, ``segment``, ``owner`` (categoricals), ``made_at``, ``due``,
        ``completed_at`` (in the calendar's zone, or UTC), ``status`` (categorical of
        status values), ``kept``, ``lateness``, ``business_lateness``, ``response``
        (made to completed), ``business_response``, ``business_window`` (made to due, in
        business time), ``revisions``, ``short`` and ``score`` when present.

        Raises:
            MissingDependencyError: pandas is not installed.

        .. versionadded:: 0.1.0
        """
        return outcomes_frame(self)

    def to_pandas(self) -> pd.DataFrame:
        """The whole book as a DataFrame (same as :meth:`outcomes`, one row per promise).

        .. versionadded:: 0.1.0
        """
        return self.outcomes()

    def _lateness(self) -> tuple[NDArray[np.int64], bool]:
        if self._calendar is None:
            return self._outcomes.lateness.view(np.int64), False
        return self._outcomes.business_lateness.view(np.int64), True

    def _summary_rows(
        self,
        by: Sequence[str],
        quantiles: Sequence[float],
        scored: _Scored | None = None,
    ) -> list[dict[str, Any]]:
        lateness, _ = self._lateness()
        cols = self._cols
        business = self._calendar is not None
        response = cols.business_response if business else cols.response
        elapsed = cols.business_elapsed if business else cols.elapsed
        labels = [(name, cols.labels[name]) for name in by]
        return _summary_rows(
            self._outcomes.status,
            lateness,
            response,
            labels,
            cols.score,
            quantiles,
            scored,
            elapsed,
        )

    def summary(
        self,
        by: Sequence[str] = _LABELS,
        *,
        quantiles: Sequence[float] = (0.5, 0.9, 0.95),
        satisfaction: bool = False,
        model: SatisfactionModel | None = None,
        impact: Impact | None = None,
    ) -> pd.DataFrame:
        """Keep rates and lateness, overall and by kind, segment and owner.

        One row per group, indexed by ``(by, group)`` (the first row is ``("all",
        "all")``). Columns: ``promises``, ``open`` (pending + overdue), ``kept``,
        ``late``, ``short``, ``overdue``, ``keep_rate`` (kept / promises no longer
        pending — an overdue promise is already broken), ``lateness_p50``… (quantiles of
        the lateness of closed promises, in business time with a calendar — negative is
        early; inverted-CDF quantiles, so each is an observed value),
        ``median_response`` (made to completed, business time with a calendar; open
        promises count as censored at their elapsed time — a Kaplan–Meier median, the
        plain median when none is open, missing when more than half may still be
        running) and ``mean_score`` when the book has scores.

        With ``satisfaction=True``, each closed promise is also scored as in
        :meth:`satisfaction`, and the consequences weighed with
        :class:`~promisekit.impact.Impact`; more columns: ``scored`` (closed promises
        scored), ``share_very_dissatisfied`` … ``share_very_satisfied`` (share of the
        scored promises at each :class:`~promisekit.satisfaction.Level`),
        ``mean_csat`` (mean expected CSAT, 1–5), ``people_told_positive`` and
        ``people_told_negative`` (expected people told,
        :class:`~promisekit.impact.WordOfMouth`) and ``customers_lost`` (expected
        customers who leave, :class:`~promisekit.impact.ChurnRisk`). With a
        ``customer`` column, customers are counted, not promises: a ``customers``
        column (customers scored) is added and each customer's churn risk is taken over
        all their scored promises in the group, as ``Impact.summarize`` does with one
        experience per promise. Without one, each promise counts as a different customer.

        Args:
            by: Label columns to break down by, among ``"kind"``, ``"segment"``,
                ``"owner"``.
            quantiles: Lateness quantiles, each in ``[0, 1]``.
            satisfaction: Add the satisfaction and impact columns.
            model: The satisfaction model (default
                :class:`~promisekit.satisfaction.Disconfirmation`).
            impact: The consequence models (default :class:`~promisekit.impact.Impact`).

        Raises:
            InvalidValueError: unknown ``by`` or a quantile out of range.
            InvalidTypeError: ``model`` or ``impact`` has the wrong type.
            MissingDependencyError: pandas is not installed.

        .. versionadded:: 0.1.0
        """
        by, quantiles = check_summary_args(by, quantiles)
        require_pandas("PromiseBook.summary()")
        scored = self._scored(model, impact) if satisfaction else None
        return summary_frame(self._summary_rows(by, quantiles, scored))

    def _scored(self, model: Any, impact: Any) -> _Scored:
        customers = None if self._cols.customer is None else self._cols.customer.codes
        return _score_rows(model, impact, self._outcomes, self._calendar, self._kinds(), customers)

    def _kinds(self) -> list[str]:
        lab = self._cols.labels["kind"]
        names = ["promise" if n is None else n for n in lab.names]
        return [names[c] for c in lab.codes.tolist()]

    def satisfaction(self, model: SatisfactionModel | None = None) -> pd.DataFrame:
        """The satisfaction of every closed promise (kept, late or short), indexed by id.

        Each closed promise is scored with ``model`` as the completion, at
        ``completed_at``, of the expectation its promise set: made at ``made_at``, due at
        its due date in force, windows measured in the book's calendar (real time
        without one) — the same as scoring ``Expectation(kind=..., made_at=..., due=...,
        calendar=book.calendar)`` and its
        :meth:`~promisekit.satisfaction.Expectation.completed` outcome. The book keeps no
        revision history nor quantity, quality or cost terms, so no revision or term
        component is charged. Open promises are left out.

        Args:
            model: A satisfaction model (default
                :class:`~promisekit.satisfaction.Disconfirmation`).

        Returns:
            A DataFrame indexed by ``promise_id`` with columns ``value`` (the
            satisfaction value), ``label`` (ordered categorical of
            :class:`~promisekit.satisfaction.Level` names) and ``expected_csat`` (1–5).

        Raises:
            InvalidTypeError: ``model`` is not a satisfaction model.
            MissingDependencyError: pandas is not installed.

        .. versionadded:: 0.1.0
        """
        return satisfaction_frame(self, model)

    def compare(
        self,
        policies: BufferPolicy | Sequence[BufferPolicy] | Mapping[str, BufferPolicy],
        *,
        min_samples: int = 30,
        by_segment: bool = False,
        satisfaction: SatisfactionModel | None = None,
    ) -> pd.DataFrame:
        """Backtest buffer policies on the book's closed promises: the backtest table.

        Each closed promise (kept, late or short) is a
        :class:`~promisekit.buffering.HistoryRecord` — requested at ``made_at``,
        completed at ``completed_at``, with its ``segment`` and its due date in force as
        the historical promise — replayed by :func:`~promisekit.buffering.backtest`
        with the book's calendar (business time; real time without one). The
        :data:`~promisekit.buffering.HISTORICAL` row scores the book's own promises.

        Args:
            policies: A policy, a sequence of policies or a mapping name → policy.
            min_samples: Fewest prior completions to quote from (``>= 1``).
            by_segment: Also fit capabilities and report rows per segment.
            satisfaction: A satisfaction model (e.g.
                :class:`~promisekit.satisfaction.Disconfirmation`), or ``None``: with
                one, ``expected_satisfaction`` is filled with the mean expected CSAT
                (1–5) of each policy's quotes — each quoted promise scored as an
                expectation with the quoted window, completed when the history says
                (window and lateness in business time with a calendar), of the
                book's kind when it has one kind (``"promise"`` otherwise).

        Returns:
            ``BacktestResult.to_pandas()``: one row per policy (and segment), columns
            ``policy``, ``segment``, ``n_quoted``, ``n_skipped``, ``on_time_rate``,
            ``mean_window``, ``median_window``, ``mean_confidence``,
            ``expected_satisfaction`` (``None`` without ``satisfaction``),
            ``business_time``.

        Raises:
            InvalidTypeError: a policy has the wrong type.
            InvalidValueError: no policy, duplicate names, or a bad ``min_samples``.
            MissingDependencyError: pandas is not installed.

        .. versionadded:: 0.1.0
        """
        return compare_frame(
            self,
            policies,
            min_samples=min_samples,
            by_segment=by_segment,
            satisfaction=satisfaction,
        )

    def fairness(
        self,
        by: str = "segment",
        *,
        within: str | None = "kind",
        n_permutations: int = 999,
        seed: int | None = 0,
    ) -> FairnessReport:
        """Audit equal treatment across groups: response times and keep rates.

        "Same urgency for every customer": does one tier (segment) wait longer, or see
        its promises kept less often, beyond what chance explains? Two permutation tests
        (see :class:`~promisekit.analysis.FairnessReport`) shuffle the ``by`` labels
        within each ``within`` stratum (by default within each kind of promise, since a
        callback and a parcel have very different response times). Response times are
        from ``made_at`` to completion, in business time when the book has a calendar;
        open promises have none. Keep rates count every promise no longer pending.

        Args:
            by: The label column compared (``"segment"``, ``"owner"`` or ``"kind"``).
            within: The label column to stratify by, or ``None``.
            n_permutations: Number of permutations (p-values are at least
                ``1 / (n_permutations + 1)``).
            seed: Seed for reproducible p-values (``None``: fresh randomness).

        Returns:
            A :class:`~promisekit.analysis.FairnessReport`.

        Raises:
            InvalidValueError: unknown column, ``within == by``, or ``n_permutations < 1``.
            InsufficientDataError: fewer than two groups.

        .. versionadded:: 0.1.0
        """
        if by not in self._cols.labels:
            raise InvalidValueError(f"'by' must be one of {', '.join(_LABELS)} (got {by!r})")
        if within is not None and within not in self._cols.labels:
            raise InvalidValueError(
                f"'within' must be one of {', '.join(_LABELS)} or None (got {within!r})"
            )
        if within == by:
            raise InvalidValueError(f"'within' must differ from 'by' (got {by!r} for both)")
        status = self._outcomes.status
        business = self._calendar is not None
        labels = self._cols.labels[by]
        strata = None
        if within is not None and len(self._cols.labels[within].names) > 1:
            strata = self._cols.labels[within].codes
        return permutation_fairness(
            by=by,
            labels=labels.codes,
            names=labels.names,
            response=self._cols.business_response if business else self._cols.response,
            decided=status != _PENDING,
            kept=status == _KEPT,
            within=within,
            strata=strata,
            business_time=business,
            n_permutations=n_permutations,
            seed=seed,
        )

    # ----------------------------------------------------------------- display

    def _repr_html_(self) -> str:
        return repr_html(self)
