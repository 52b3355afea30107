"""Columnar assessment: :func:`~promisekit.delivery.assess` over whole columns at once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, overload, runtime_checkable

import attrs
import numpy as np
from numpy.typing import NDArray

from promisekit._vectorized_calendar import as_instants, check_shapes, cum_at_many
from promisekit.calendar import BusinessCalendar
from promisekit.delivery import Status
from promisekit.errors import (
    InconsistentRecordError,
    InvalidTypeError,
    InvalidValueError,
    MissingDependencyError,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "STATUS_CODES",
    "ColumnScorer",
    "OutcomeColumns",
    "assess_columns",
]

#: The :class:`~promisekit.delivery.Status` of each code in ``OutcomeColumns.status``:
#: ``STATUS_CODES[code]``. Codes are stable: 0 pending, 1 overdue, 2 kept, 3 late, 4 short.
#:
#: .. versionadded:: 0.1.0
STATUS_CODES: tuple[Status, ...] = (
    Status.PENDING,
    Status.OVERDUE,
    Status.KEPT,
    Status.LATE,
    Status.SHORT,
)
_PENDING, _OVERDUE, _KEPT, _LATE, _SHORT = range(5)
_NAT = np.iinfo(np.int64).min
_COLUMNS = ("made_at", "due", "completed_at", "now", "short")

Instants = NDArray[np.datetime64]
Durations = NDArray[np.timedelta64]


def _dt(values: NDArray[np.int64]) -> Instants:
    out: Instants = np.ascontiguousarray(values, dtype=np.int64).view("datetime64[us]")
    return out


def _td(values: NDArray[np.int64]) -> Durations:
    out: Durations = np.ascontiguousarray(values, dtype=np.int64).view("timedelta64[us]")
    return out


def require_pandas(feature: str) -> Any:
    """Import pandas, or raise :class:`MissingDependencyError` naming the extra."""
    try:
        import pandas
    except ImportError:
        raise MissingDependencyError("pandas", "analysis", feature) from None
    return pandas


def to_pandas_instants(values: Instants, tz: str = "UTC") -> Any:
    """A tz-aware pandas column (in ``tz``) from UTC ``datetime64[us]`` instants."""
    pd = require_pandas("DataFrame output")
    index = pd.DatetimeIndex(values).tz_localize("UTC")
    return index if tz == "UTC" else index.tz_convert(tz)


@runtime_checkable
class ColumnScorer(Protocol):
    """The hook for scoring columnar outcomes (e.g. with a satisfaction model).

    Anything with a ``score_columns(outcomes) -> array of float`` method can be passed as
    ``scorer=`` to :func:`assess_columns`; its result becomes ``OutcomeColumns.score``
    (one float per row, ``nan`` where there is nothing to score). The satisfaction
    models will implement it.

    .. versionadded:: 0.1.0
    """

    def score_columns(self, outcomes: OutcomeColumns) -> NDArray[np.float64]:
        """One score per row of ``outcomes`` (``nan`` where there is nothing to score).

        .. versionadded:: 0.1.0
        """


@attrs.frozen(eq=False, repr=False)
class OutcomeColumns:
    """Columnar outcomes, as returned by :func:`assess_columns`: one row per promise.

    The columnar twin of :class:`~promisekit.delivery.Outcome`. All instants are
    ``datetime64[us]`` UTC instants, all durations ``timedelta64[us]``; NaT stands for
    ``None``.

    Attributes:
        made_at: When each promise was made.
        due: The due date each outcome is measured against.
        completed_at: The completion instant, NaT while open (completions after
            ``assessed_at`` have not happened yet and are NaT too).
        assessed_at: The ``now`` of each assessment.
        status: ``int8`` codes, see :data:`STATUS_CODES` (and :meth:`statuses`).
        kept: True exactly when the status is ``KEPT``.
        lateness: ``completed_at - due`` (``assessed_at - due`` while overdue), NaT while
            pending.
        business_lateness: The same in working time of the calendar, NaT while pending
            or without a calendar.
        score: One float per row from the ``scorer`` given to :func:`assess_columns`,
            or ``None``.

    .. versionadded:: 0.1.0
    """

    made_at: Instants
    due: Instants
    completed_at: Instants
    assessed_at: Instants
    status: NDArray[np.int8]
    kept: NDArray[np.bool_]
    lateness: Durations
    business_lateness: Durations
    score: NDArray[np.float64] | None = None

    def __len__(self) -> int:
        return len(self.status)

    def __repr__(self) -> str:
        counts = np.bincount(self.status, minlength=len(STATUS_CODES))
        parts = ", ".join(
            f"{status.value}={int(count)}"
            for status, count in zip(STATUS_CODES, counts, strict=True)
        )
        return f"OutcomeColumns({len(self)} rows: {parts})"

    def statuses(self) -> NDArray[np.object_]:
        """The status of each row as :class:`~promisekit.delivery.Status` members.

        .. versionadded:: 0.1.0
        """
        out: NDArray[np.object_] = np.array(STATUS_CODES, dtype=object)[self.status]
        return out

    def to_pandas(self, *, tz: str = "UTC", index: Any = None) -> pd.DataFrame:
        """A DataFrame of the outcome columns (``status`` as a categorical of status values).

        Args:
            tz: Time zone for the instants (they are UTC instants either way).
            index: An index for the rows, or ``None`` for a range index.

        Raises:
            MissingDependencyError: pandas is not installed.

        .. versionadded:: 0.1.0
        """
        pd = require_pandas("OutcomeColumns.to_pandas()")
        columns: dict[str, Any] = {
            "status": pd.Categorical.from_codes(
                self.status, categories=[s.value for s in STATUS_CODES]
            ),
            "kept": self.kept,
            "due": to_pandas_instants(self.due, tz),
            "completed_at": to_pandas_instants(self.completed_at, tz),
            "lateness": self.lateness,
            "business_lateness": self.business_lateness,
        }
        if self.score is not None:
            columns["score"] = self.score
        frame = pd.DataFrame(columns, index=index)
        return frame


def _bool_column(field: str, value: Any) -> NDArray[np.bool_]:
    array = np.asarray(value)
    if array.dtype != np.bool_:
        raise InvalidTypeError(f"{field!r} must be a column of booleans (got dtype {array.dtype})")
    return array


def _first(mask: NDArray[np.bool_]) -> int:
    return int(np.flatnonzero(mask)[0])


def _fmt(value: np.int64 | int) -> str:
    return str(np.int64(value).view("datetime64[us]"))


def _assess(
    made_at: Any,
    due: Any,
    completed_at: Any,
    now: Any,
    short: Any,
    calendar: BusinessCalendar | None,
    scorer: ColumnScorer | None,
) -> OutcomeColumns:
    made = as_instants("made_at", made_at)
    due_i = as_instants("due", due)
    done = as_instants("completed_at", completed_at, allow_nat=True)
    now_i = as_instants("now", now)
    short_b = np.asarray(False) if short is None else _bool_column("short", short)
    shape = check_shapes(made_at=made, due=due_i, completed_at=done, now=now_i, short=short_b)
    if len(shape) > 1:
        raise InvalidValueError(f"the columns must be one-dimensional (got shape {shape})")
    size = shape[0] if shape else 1
    made, due_i, done, now_i, short_b = (
        np.broadcast_to(x, (size,)) for x in (made, due_i, done, now_i, short_b)
    )
    if calendar is not None and not isinstance(calendar, BusinessCalendar):
        raise InvalidTypeError(
            f"'calendar' must be a BusinessCalendar (got {type(calendar).__name__} {calendar!r})"
        )

    bad = due_i < made
    if np.any(bad):
        i = _first(bad)
        raise InvalidValueError(
            f"'due' must not be before 'made_at' (got due {_fmt(due_i[i])} before made_at "
            f"{_fmt(made[i])} at row {i})"
        )
    bad = now_i < made
    if np.any(bad):
        i = _first(bad)
        raise InvalidValueError(
            f"'now' must not be before 'made_at' (got now {_fmt(now_i[i])} before made_at "
            f"{_fmt(made[i])} at row {i})"
        )
    has_done = done != _NAT
    bad = has_done & (done < made)
    if np.any(bad):
        i = _first(bad)
        raise InconsistentRecordError(
            f"'completed_at' must not be before 'made_at' (got completed_at {_fmt(done[i])} "
            f"before made_at {_fmt(made[i])} at row {i})"
        )

    completed = has_done & (done <= now_i)  # later completions have not happened yet
    reached = np.where(completed, done, now_i)
    late = reached - due_i
    pending = ~completed & (now_i <= due_i)
    status = np.where(
        completed,
        np.where(late > 0, _LATE, np.where(short_b, _SHORT, _KEPT)),
        np.where(pending, _PENDING, _OVERDUE),
    ).astype(np.int8)
    lateness = np.where(pending, _NAT, late)
    if calendar is None:
        business = np.full(size, _NAT, dtype=np.int64)
    else:
        business = np.where(
            pending, _NAT, cum_at_many(calendar, reached) - cum_at_many(calendar, due_i)
        )
    result = OutcomeColumns(
        made_at=_dt(made),
        due=_dt(due_i),
        completed_at=_dt(np.where(completed, done, _NAT)),
        assessed_at=_dt(now_i),
        status=status,
        kept=status == _KEPT,
        lateness=_td(lateness),
        business_lateness=_td(business),
    )
    if scorer is not None:
        score_columns = getattr(scorer, "score_columns", None)
        if not callable(score_columns):
            raise InvalidTypeError(
                f"'scorer' must have a score_columns(outcomes) method "
                f"(got {type(scorer).__name__} {scorer!r})"
            )
        score = np.asarray(score_columns(result), dtype=np.float64)
        if score.shape != (size,):
            raise InvalidValueError(
                f"'scorer' must return one score per row (got shape {score.shape} for {size} rows)"
            )
        result = attrs.evolve(result, score=score)
    return result


@overload
def assess_columns(
    frame: None = None,
    *,
    made_at: Any,
    due: Any,
    completed_at: Any,
    now: Any,
    short: Any = None,
    calendar: BusinessCalendar | None = None,
    scorer: ColumnScorer | None = None,
) -> OutcomeColumns: ...


@overload
def assess_columns(
    frame: pd.DataFrame,
    *,
    now: Any = None,
    calendar: BusinessCalendar | None = None,
    columns: Mapping[str, str] | None = None,
    scorer: ColumnScorer | None = None,
) -> pd.DataFrame: ...


def assess_columns(
    frame: Any = None,
    *,
    made_at: Any = None,
    due: Any = None,
    completed_at: Any = None,
    now: Any = None,
    short: Any = None,
    calendar: BusinessCalendar | None = None,
    columns: Mapping[str, str] | None = None,
    scorer: ColumnScorer | None = None,
) -> Any:
    """Assess whole columns of promises at once: :func:`~promisekit.delivery.assess` per row.

    Each row is one promise with a single completion instant. Row by row, the result
    equals ``assess(Promise(made_at=..., due=...), deliveries, now=now,
    calendar=calendar)`` where ``deliveries`` is one delivery at ``completed_at`` (none
    when NaT) that misses a non-time term when ``short`` is true: status, ``kept``,
    lateness and business lateness are the same. ``due`` is the due date in force (a
    revised promise's last date announced before completion). There is no Python loop
    per row.

    **Inputs.** ``datetime64`` values are **UTC instants** (numpy has no time zones; a
    pandas column with a time zone is converted to UTC); aware ``datetime`` scalars are
    accepted and broadcast (typically ``now``). ``completed_at`` may hold NaT (not
    completed); no other column may.

    **DataFrames.** Given a pandas DataFrame, the columns are read from it by name
    (``made_at``, ``due``, ``completed_at``, ``short`` when present, ``now`` when present
    and not given as an argument); ``columns`` maps these names to the frame's own. A
    DataFrame of the outcome columns is returned, with the frame's index.

    Args:
        frame: A pandas DataFrame to read the columns from, or ``None``.
        made_at: When each promise was made.
        due: The due date in force of each promise.
        completed_at: When each promise was completed, NaT when it was not.
        now: The instant of the assessment: a scalar or one per row.
        short: Booleans: the completing delivery missed a quantity, quality or cost
            term; ``None`` for "never".
        calendar: A :class:`~promisekit.calendar.BusinessCalendar` for business
            lateness, or ``None``.
        columns: With ``frame``: names of the frame's columns, keyed by the names above.
        scorer: A :class:`ColumnScorer` (a satisfaction model, later) to score each row,
            or ``None``.

    Returns:
        :class:`OutcomeColumns`, or a pandas DataFrame when ``frame`` is given.

    Raises:
        InvalidTypeError: A column has the wrong dtype, or ``calendar``/``scorer`` the
            wrong type.
        InvalidValueError: Lengths differ, NaT where not allowed, ``due`` or ``now``
            before ``made_at``, or a column is missing from ``frame``.
        InconsistentRecordError: ``completed_at`` before ``made_at``.
        NaiveDatetimeError: A naive ``datetime`` scalar.

    Example:
        >>> import numpy as np
        >>> out = assess_columns(
        ...     made_at=np.array(["2026-03-10T13:00", "2026-03-10T13:00"], dtype="datetime64[us]"),
        ...     due=np.array(["2026-03-10T14:00", "2026-03-10T14:00"], dtype="datetime64[us]"),
        ...     completed_at=np.array(["2026-03-10T13:59", "NaT"], dtype="datetime64[us]"),
        ...     now=np.datetime64("2026-03-10T15:00", "us"),
        ... )
        >>> [s.name for s in out.statuses()]
        ['KEPT', 'OVERDUE']
        >>> (out.lateness // np.timedelta64(1, "m")).tolist()  # minutes
        [-1, 60]

    .. versionadded:: 0.1.0
    """
    if frame is None:
        if columns is not None:
            raise InvalidValueError("'columns' is only used with a DataFrame 'frame'")
        missing = [
            name
            for name, value in (
                ("made_at", made_at),
                ("due", due),
                ("completed_at", completed_at),
                ("now", now),
            )
            if value is None
        ]
        if missing:
            raise InvalidValueError(
                f"assess_columns() needs the columns {', '.join(map(repr, missing))} "
                "(or a DataFrame as 'frame')"
            )
        return _assess(made_at, due, completed_at, now, short, calendar, scorer)
    if not hasattr(frame, "columns") or not hasattr(frame, "index"):
        raise InvalidTypeError(
            f"'frame' must be a pandas DataFrame (got {type(frame).__name__}); "
            "pass numpy columns as keyword arguments instead"
        )
    given = {"made_at": made_at, "due": due, "completed_at": completed_at, "short": short}
    passed = [name for name, value in given.items() if value is not None]
    if passed:
        raise InvalidValueError(
            f"with a DataFrame, columns are read from it (got {', '.join(map(repr, passed))} too); "
            "rename them with 'columns'"
        )
    names = _column_names(columns)
    data = {
        key: _frame_column(frame, names[key], required=key in ("made_at", "due", "completed_at"))
        for key in _COLUMNS
    }
    if now is None:
        now = data["now"]
        if now is None:
            raise InvalidValueError(
                f"'now' must be given, or be a column of the frame (looked for {names['now']!r})"
            )
    result = _assess(
        data["made_at"], data["due"], data["completed_at"], now, data["short"], calendar, scorer
    )
    return result.to_pandas(index=frame.index)


def _column_names(columns: Mapping[str, str] | None) -> dict[str, str]:
    names = {key: key for key in _COLUMNS}
    if columns is None:
        return names
    if not isinstance(columns, Mapping):
        raise InvalidTypeError(
            f"'columns' must be a mapping of names to column names (got {type(columns).__name__})"
        )
    unknown = sorted(set(columns) - set(names))
    if unknown:
        raise InvalidValueError(
            f"'columns' keys must be among {', '.join(_COLUMNS)} "
            f"(got {', '.join(map(repr, unknown))})"
        )
    names.update(columns)
    return names


def _frame_column(frame: Any, name: str, *, required: bool) -> Any:
    if name in frame.columns:
        return frame[name]
    if required:
        raise InvalidValueError(
            f"the DataFrame has no column {name!r} "
            f"(columns: {', '.join(map(str, frame.columns))}); map names with 'columns'"
        )
    return None
