"""Scale-out: :func:`~promisekit.analysis.assess_columns` over the partitions of a Dask DataFrame.

:func:`assess_columns` is row-wise — each output row depends only on its input row, ``now``
and the calendar — so it can be applied to each partition independently and the
concatenated result equals the in-memory result exactly. Dask is imported lazily, by
:func:`assess_partitions` only; :func:`outcome_meta` needs pandas alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from promisekit.analysis._columns import OutcomeColumns, assess_columns, require_pandas
from promisekit.calendar import BusinessCalendar
from promisekit.errors import InvalidTypeError, InvalidValueError, MissingDependencyError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["assess_partitions", "outcome_meta"]


def outcome_meta(*, index: Any = None, score: bool = False) -> pd.DataFrame:
    """An empty DataFrame with the columns and dtypes :func:`assess_columns` returns.

    Use it as ``meta=`` when mapping :func:`assess_columns` over partitions yourself
    (``ddf.map_partitions(assess_columns, now=..., meta=outcome_meta(...))``).

    Args:
        index: An empty index with the dtype and name of the input's index (for a Dask
            DataFrame: ``ddf.index._meta`` or ``pd.Index([], dtype=ddf.index.dtype)``),
            or ``None`` for an empty range index.
        score: Include the float ``score`` column (when a ``scorer`` is given).

    Raises:
        MissingDependencyError: pandas is not installed.

    .. versionadded:: 0.1.0
    """
    pandas = require_pandas("outcome_meta()")
    instants = np.empty(0, dtype="datetime64[us]")
    durations = np.empty(0, dtype="timedelta64[us]")
    empty = OutcomeColumns(
        made_at=instants,
        due=instants,
        completed_at=instants,
        assessed_at=instants,
        status=np.empty(0, dtype=np.int8),
        kept=np.empty(0, dtype=np.bool_),
        lateness=durations,
        business_lateness=durations,
        score=np.empty(0, dtype=np.float64) if score else None,
    )
    if index is None:
        index = pandas.RangeIndex(0)
    frame: pd.DataFrame = empty.to_pandas(index=index[:0])
    return frame


def _require_dask() -> Any:
    try:
        import dask.dataframe as dd
    except ImportError:
        raise MissingDependencyError("dask", "dask", "assess_partitions()") from None
    return dd


def assess_partitions(
    ddf: Any,
    *,
    now: Any = None,
    calendar: BusinessCalendar | None = None,
    columns: Mapping[str, str] | None = None,
    scorer: Any = None,
) -> Any:
    """:func:`assess_columns` on each partition of a Dask DataFrame (lazily).

    The result is a Dask DataFrame with the same partitions and index as ``ddf`` and the
    columns of ``assess_columns(frame, ...)``; computed, it equals ``assess_columns`` on
    the whole frame in memory, row for row. Nothing is computed here.

    ``now`` must be given, or be a column of ``ddf``: a Dask DataFrame does not carry
    ``frame.attrs["now"]`` of a sample history. A ``scorer`` must score each row on its
    own (as the satisfaction models do) for the result to match the in-memory one. Row
    numbers in error messages count within a partition.

    Args:
        ddf: A ``dask.dataframe.DataFrame`` with the columns read by
            :func:`assess_columns` (``made_at``, ``due``, ``completed_at``, optionally
            ``short`` and ``now``).
        now: The instant of the assessment (one scalar for every partition), or ``None``
            to read a ``now`` column.
        calendar: A :class:`~promisekit.calendar.BusinessCalendar` for business
            lateness, or ``None``. It is shipped to every task (it pickles).
        columns: Names of ``ddf``'s columns, keyed by the names above.
        scorer: A :class:`~promisekit.analysis.ColumnScorer`, or ``None``.

    Returns:
        A lazy ``dask.dataframe.DataFrame`` of outcomes.

    Raises:
        MissingDependencyError: dask (the ``dask`` extra) is not installed.
        InvalidTypeError: ``ddf`` is not a Dask DataFrame, or ``calendar`` is not a
            ``BusinessCalendar``.
        InvalidValueError: A needed column is missing, or ``now`` is neither given nor
            a column. Errors in the data itself are raised when computing.

    Example:
        >>> import numpy as np, pandas as pd, dask.dataframe as dd
        >>> frame = pd.DataFrame({
        ...     "made_at": np.array(["2026-03-10T13:00"] * 4, dtype="datetime64[us]"),
        ...     "due": np.array(["2026-03-10T14:00"] * 4, dtype="datetime64[us]"),
        ...     "completed_at": np.array(
        ...         ["2026-03-10T13:59", "2026-03-10T14:20", "NaT", "NaT"], dtype="datetime64[us]"
        ...     ),
        ... })
        >>> out = assess_partitions(
        ...     dd.from_pandas(frame, npartitions=2), now=np.datetime64("2026-03-10T15:00", "us")
        ... )
        >>> out.compute(scheduler="sync")["status"].tolist()
        ['kept', 'late', 'overdue', 'overdue']

    .. versionadded:: 0.1.0
    """
    dd = _require_dask()
    if not isinstance(ddf, dd.DataFrame):
        raise InvalidTypeError(
            f"'ddf' must be a dask DataFrame (got {type(ddf).__name__}); "
            "use assess_columns() for a pandas DataFrame"
        )
    if calendar is not None and not isinstance(calendar, BusinessCalendar):
        raise InvalidTypeError(
            f"'calendar' must be a BusinessCalendar (got {type(calendar).__name__} {calendar!r})"
        )
    names = {key: key for key in ("made_at", "due", "completed_at", "now")}
    if columns is not None:
        if not isinstance(columns, Mapping):
            raise InvalidTypeError(
                f"'columns' must be a mapping of names to column names "
                f"(got {type(columns).__name__})"
            )
        names.update({key: value for key, value in columns.items() if key in names})
    present = set(ddf.columns)
    needed = ["made_at", "due", "completed_at"] + (["now"] if now is None else [])
    missing = [names[key] for key in needed if names[key] not in present]
    if missing:
        if now is None and missing == [names["now"]]:
            raise InvalidValueError(
                f"'now' must be given, or be a column of the DataFrame (looked for "
                f"{names['now']!r}); a dask DataFrame does not keep frame.attrs['now']"
            )
        raise InvalidValueError(
            f"the DataFrame has no column {', '.join(map(repr, missing))} "
            f"(columns: {', '.join(map(str, ddf.columns))}); map names with 'columns'"
        )
    pandas = require_pandas("assess_partitions()")
    index = pandas.Index([], dtype=ddf.index.dtype, name=ddf.index.name)
    meta = outcome_meta(index=index, score=scorer is not None)
    return ddf.map_partitions(
        assess_columns,
        now=now,
        calendar=calendar,
        columns=columns,
        scorer=scorer,
        meta=meta,
        align_dataframes=False,
    )
