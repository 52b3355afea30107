"""Calibration reports: stated confidence against the realized on-time rate.

:func:`calibration_report` groups quotes by period (month, week, day or quarter in
the history's zone) and segment, and compares the mean stated confidence with the
realized rate of kept quotes, with a Wilson score interval. A well calibrated
policy's stated rate lies inside the interval; :meth:`CalibrationReport.to_text`
prints the table, :meth:`CalibrationReport.to_pandas` returns it as a DataFrame and
:meth:`CalibrationReport.plot` draws stated against realized per period.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import attrs

from promisekit._plotting import get_axes, label_axes
from promisekit._validation import describe
from promisekit.buffering._columns import HistoryColumns, QuoteColumns
from promisekit.buffering._features import (
    DAY_US,
    OPEN,
    check_history,
    check_level,
    local_us,
    numpy_module,
)
from promisekit.errors import InvalidTypeError, InvalidValueError, MissingDependencyError

_PERIODS = ("day", "week", "month", "quarter", "all")


def _wilson(kept: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of a rate ``kept / n`` (``(0, 1)`` when ``n`` is 0)."""
    if n <= 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(1.0 - (1.0 - confidence) / 2.0)
    p = kept / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(centre - half, 0.0), min(centre + half, 1.0)


@attrs.frozen
class CalibrationRow:
    """Stated against realized for one period and segment.

    Attributes:
        period: The period's label (``"2026-03"``, ``"2026-W11"``, ``"all"``).
        segment: The segment (``None``: every segment together).
        quotes: How many quotes were scored.
        stated: Their mean stated confidence.
        realized: The fraction kept.
        low: Lower bound of the Wilson interval of ``realized``.
        high: Upper bound.

    .. versionadded:: 0.1.0
    """

    period: str
    segment: Any
    quotes: int
    stated: float
    realized: float
    low: float
    high: float

    @property
    def gap(self) -> float:
        """``realized - stated`` (positive: more kept than stated).

        .. versionadded:: 0.1.0
        """
        return self.realized - self.stated


@attrs.frozen
class CalibrationReport:
    """Rows of :class:`CalibrationRow`, by period then segment.

    .. versionadded:: 0.1.0
    """

    rows: tuple[CalibrationRow, ...]
    confidence: float = 0.95

    def to_text(self) -> str:
        """A plain-text table.

        .. versionadded:: 0.1.0
        """
        head = ("period", "segment", "quotes", "stated", "realized", "interval")
        body = [
            (
                r.period,
                "all" if r.segment is None else str(r.segment),
                str(r.quotes),
                f"{r.stated:.1%}",
                f"{r.realized:.1%}",
                f"{r.low:.1%}–{r.high:.1%}",
            )
            for r in self.rows
        ]
        widths = [max([len(h)] + [len(b[i]) for b in body]) for i, h in enumerate(head)]

        def line(cells: tuple[str, ...]) -> str:
            return "  ".join(
                c.ljust(w) if i < 2 else c.rjust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            )

        lines = [line(head), "  ".join("-" * w for w in widths)]
        lines.extend(line(b) for b in body)
        return "\n".join(lines)

    def to_pandas(self) -> Any:
        """The rows as a pandas DataFrame (the ``analysis`` extra).

        .. versionadded:: 0.1.0
        """
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - pandas is in the test extra
            raise MissingDependencyError("pandas", "analysis", "CalibrationReport") from exc
        return pd.DataFrame([attrs.asdict(r) for r in self.rows])

    def plot(self, ax: Any = None, *, segment: Any = None) -> Any:
        """Stated and realized (with intervals) per period; returns the matplotlib Axes.

        .. versionadded:: 0.1.0
        """
        axes = get_axes(ax, feature="CalibrationReport.plot()")
        rows = [r for r in self.rows if r.segment == segment]
        if not rows:
            raise InvalidValueError(f"the report has no rows for segment {describe(segment)}")
        x = list(range(len(rows)))
        realized = [r.realized for r in rows]
        errors = [[r.realized - r.low for r in rows], [r.high - r.realized for r in rows]]
        axes.errorbar(x, realized, yerr=errors, fmt="o", label="realized (Wilson interval)")
        axes.plot(x, [r.stated for r in rows], "k--", label="stated")
        axes.set_xticks(x)
        axes.set_xticklabels([r.period for r in rows], rotation=45, ha="right")
        label_axes(axes, xlabel="period", ylabel="on-time rate", title="Calibration")
        return axes


def _period_labels(np: Any, requested_us: Any, zone: str, period: str) -> Any:
    if period == "all":
        return np.full(requested_us.shape[0], "all", dtype=object)
    days = (local_us(requested_us, zone) // DAY_US).astype("datetime64[D]")
    if period == "day":
        return days.astype(str).astype(object)
    if period == "month":
        return days.astype("datetime64[M]").astype(str).astype(object)
    if period == "quarter":
        months = days.astype("datetime64[M]").astype(np.int64)
        years = 1970 + months // 12
        quarters = [f"{y}-Q{m % 12 // 3 + 1}" for y, m in zip(years, months, strict=True)]
        return np.array(quarters, dtype=object)
    # ISO weeks
    return np.array(
        [f"{d.isocalendar()[0]}-W{d.isocalendar()[1]:02d}" for d in days.astype(object)],
        dtype=object,
    )


def calibration_report(
    history: HistoryColumns,
    quotes: QuoteColumns,
    *,
    period: str = "month",
    by_segment: bool = True,
    confidence: float = 0.95,
) -> CalibrationReport:
    """Compare stated and realized per period (and segment), with Wilson intervals.

    Args:
        history: The requests quoted, with their completions (open ones count late).
        quotes: One quote per request (window from the request time).
        period: ``"day"``, ``"week"``, ``"month"``, ``"quarter"`` or ``"all"``.
        by_segment: Also a row per segment in each period (after the "all" row).
        confidence: Confidence of the Wilson intervals.

    .. versionadded:: 0.1.0
    """
    np = numpy_module()
    history = check_history(history, "history")
    if not isinstance(quotes, QuoteColumns):
        raise InvalidTypeError(f"'quotes' must be QuoteColumns (got {type(quotes).__name__})")
    if period not in _PERIODS:
        raise InvalidValueError(f"'period' must be one of {_PERIODS} (got {describe(period)})")
    level = check_level("confidence", confidence)
    if quotes.window_us.shape[0] != len(history):
        raise InvalidValueError(
            f"'quotes' has {quotes.window_us.shape[0]} rows but 'history' has {len(history)}"
        )
    done = history.completed_us != OPEN
    kept = done & (history.completed_us - history.requested_us <= quotes.window_us)
    labels = _period_labels(np, history.requested_us, history.zone, period)
    segments = history.segment if by_segment and history.segment is not None else None
    rows: list[CalibrationRow] = []
    for label in sorted(set(labels.tolist())):
        in_period = labels == label
        groups: list[tuple[Any, Any]] = [(None, in_period)]
        if segments is not None:
            for seg in sorted(set(np.asarray(segments)[in_period].tolist()), key=str):
                groups.append((seg, in_period & (np.asarray(segments) == seg)))
        for seg, mask in groups:
            n = int(mask.sum())
            k = int(kept[mask].sum())
            low, high = _wilson(k, n, level)
            stated = float(quotes.confidence[mask].mean()) if n else float("nan")
            realized = k / n if n else float("nan")
            rows.append(CalibrationRow(label, seg, n, stated, realized, low, high))
    return CalibrationReport(tuple(rows), level)


__all__ = ["CalibrationReport", "CalibrationRow", "calibration_report"]
