"""Shared numpy helpers of the conditional models: calendar features, checks, row selection.

* :func:`numpy_module` imports numpy or explains which extra to install;
* :func:`calendar_features` reads hour of day, weekday, month and season of instants
  (UTC microseconds) in a zone, vectorized (one ``zoneinfo`` call per distinct hour,
  each instant of an hour holding a transition read on its own);
* :func:`select_rows` selects rows of a :class:`HistoryColumns`.

Everything here is private; numpy is imported lazily.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from promisekit._validation import describe, load_zone
from promisekit.buffering._columns import HistoryColumns
from promisekit.errors import InvalidTypeError, InvalidValueError, MissingDependencyError

if TYPE_CHECKING:  # pragma: no cover
    from promisekit.buffering._columns import IntArray

HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US
#: The calendar features every conditional model can read from the request time.
CALENDAR_FEATURES = ("hour", "weekday", "month", "season")
#: ``int64`` sentinel of a missing reference due (see ``HistoryColumns.reference_us``).
NO_REFERENCE = -(2**63)
OPEN = 2**63 - 1


def numpy_module(feature: str = "Conditional quotes") -> Any:
    """The numpy module, or :class:`MissingDependencyError` naming the extra."""
    try:
        import numpy
    except ImportError as exc:  # pragma: no cover - numpy is in the test extra
        raise MissingDependencyError("numpy", "analysis", feature) from exc
    return numpy


def local_us(instants_us: IntArray, zone: str) -> IntArray:
    """Wall-clock microseconds (as if UTC) of UTC instants read in ``zone``."""
    np = numpy_module()
    tz = load_zone(zone, field="zone")
    instants = np.asarray(instants_us, dtype=np.int64)
    if instants.size == 0:
        empty: IntArray = instants.copy()
        return empty
    hours, inverse = np.unique(instants // HOUR_US, return_inverse=True)
    inverse = inverse.reshape(-1)
    starts = [_offset_us(tz, h * HOUR_US) for h in hours.tolist()]
    ends = [_offset_us(tz, (h + 1) * HOUR_US - 1) for h in hours.tolist()]
    offsets = np.asarray(starts, dtype=np.int64)[inverse]
    # An hour holding a transition (at any minute): read each of its instants.
    changing = np.flatnonzero(np.asarray(starts) != np.asarray(ends))
    if changing.size:
        rows = np.flatnonzero(np.isin(inverse, changing))
        offsets[rows] = [_offset_us(tz, int(v)) for v in instants[rows].tolist()]
    result: IntArray = instants + offsets
    return result


def _offset_us(tz: Any, instant_us: int) -> int:
    seconds, micros = divmod(instant_us, 1_000_000)
    moment = datetime.fromtimestamp(seconds, tz=timezone.utc).replace(microsecond=micros)
    offset = moment.astimezone(tz).utcoffset()
    return 0 if offset is None else (offset.days * 86_400 + offset.seconds) * 1_000_000


def calendar_features(instants_us: IntArray, zone: str) -> dict[str, IntArray]:
    """Hour of day (0–23), weekday (Monday 0), month (1–12), season (0 winter … 3 autumn)."""
    np = numpy_module()
    wall = local_us(instants_us, zone)
    days = wall // DAY_US
    month = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12 + 1
    return {
        "hour": (wall // HOUR_US) % 24,
        "weekday": (days + 3) % 7,  # 1970-01-01 was a Thursday
        "month": month,
        "season": (month % 12) // 3,
    }


def check_history(value: Any, field: str = "past") -> HistoryColumns:
    """``value`` itself when it is a :class:`HistoryColumns`."""
    if not isinstance(value, HistoryColumns):
        raise InvalidTypeError(
            f"{field!r} must be a HistoryColumns (got {type(value).__name__} {describe(value)})"
        )
    return value


def check_level(field: str, value: Any) -> float:
    """A probability in ``[0, 1]``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidTypeError(
            f"{field!r} must be a probability (got {type(value).__name__} {describe(value)})"
        )
    number = float(value)
    if not 0.0 <= number <= 1.0:
        raise InvalidValueError(
            f"{field!r} must be a probability in [0, 1] (got {describe(value)})"
        )
    return number


def check_positive(field: str, value: Any, *, allow_zero: bool = False) -> float:
    """A finite number ``> 0`` (or ``>= 0``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidTypeError(
            f"{field!r} must be a number (got {type(value).__name__} {describe(value)})"
        )
    number = float(value)
    ok = number >= 0.0 if allow_zero else number > 0.0
    if not ok or number != number or number == float("inf"):
        bound = ">= 0" if allow_zero else "> 0"
        raise InvalidValueError(f"{field!r} must be finite and {bound} (got {describe(value)})")
    return number


def feature_columns(
    history: HistoryColumns, names: tuple[str, ...], bins: Mapping[str, Any]
) -> dict[str, IntArray]:
    """Integer codes of the named request-time features of ``history``."""
    np = numpy_module()
    wanted = [n for n in names if n in CALENDAR_FEATURES]
    out: dict[str, IntArray] = {}
    if wanted:
        cal = calendar_features(history.requested_us, history.zone)
        out.update({n: cal[n] for n in wanted})
    for name in names:
        if name in CALENDAR_FEATURES or name == "segment":
            continue
        if name not in history.features:
            raise InvalidValueError(
                f"'by' names the feature {describe(name)}, which the history does not have "
                f"(features: {describe(sorted(history.features))})"
            )
        values = np.asarray(history.features[name], dtype=np.float64)
        edges = bins.get(name)
        if edges is None:
            out[name] = np.nan_to_num(values, nan=-1.0).astype(np.int64)
        else:
            out[name] = np.digitize(values, np.asarray(edges, dtype=np.float64)).astype(np.int64)
    return out


def select_rows(history: HistoryColumns, mask: Any) -> HistoryColumns:
    """The rows of ``history`` selected by a boolean mask or an index array."""
    return HistoryColumns(
        history.requested_us[mask],
        history.completed_us[mask],
        zone=history.zone,
        segment=None if history.segment is None else history.segment[mask],
        reference_us=None if history.reference_us is None else history.reference_us[mask],
        features={k: v[mask] for k, v in history.features.items()},
    )


__all__: list[str] = []
