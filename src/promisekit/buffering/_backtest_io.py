"""Building and checking :class:`HistoryColumns` from DataFrames and records."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from promisekit._validation import check_aware, check_non_empty_str, describe, load_zone
from promisekit.buffering._common import check_segment, to_us
from promisekit.buffering._history import _coerce_history
from promisekit.errors import (
    InconsistentRecordError,
    InvalidTypeError,
    InvalidValueError,
    MissingDependencyError,
)

if TYPE_CHECKING:  # pragma: no cover
    from promisekit.buffering._columns import HistoryColumns

OPEN = 2**63 - 1
NO_REFERENCE = -(2**63)


def _numpy(feature: str) -> Any:
    try:
        import numpy as np
    except ImportError:
        raise MissingDependencyError("numpy", "analysis", feature) from None
    return np


def _zone_name(tzinfo: Any) -> str | None:
    if isinstance(tzinfo, ZoneInfo):
        return tzinfo.key
    name = getattr(tzinfo, "key", None) or getattr(tzinfo, "zone", None)
    if isinstance(name, str):
        try:
            load_zone(name)
        except (ValueError, TypeError):
            return None
        return name
    text = str(tzinfo) if tzinfo is not None else None
    return "UTC" if text in ("UTC", "UTC+00:00") else None


def _instants(pd: Any, np: Any, frame: Any, column: str, tz: str | None, missing: int) -> Any:
    if column not in frame.columns:
        raise InvalidValueError(
            f"column {describe(column)} is not in the frame (columns: "
            f"{describe(list(frame.columns))})"
        )
    series = frame[column]
    if not (pd.api.types.is_datetime64_any_dtype(series.dtype)):
        try:
            series = pd.to_datetime(series)
        except (ValueError, TypeError):
            raise InvalidTypeError(
                f"column {describe(column)} must hold datetimes (got dtype {series.dtype})"
            ) from None
    if getattr(series.dt, "tz", None) is None:
        if tz is None:
            raise InvalidValueError(
                f"column {describe(column)} holds naive datetimes: pass tz= (the IANA zone "
                f"they are local times in)"
            )
        series = series.dt.tz_localize(tz, ambiguous="raise", nonexistent="raise")
    utc = series.dt.tz_convert("UTC").dt.tz_localize(None)
    values = utc.to_numpy().astype("datetime64[us]").astype(np.int64)
    nat = np.isnat(utc.to_numpy())
    if nat.any():
        values = np.where(nat, missing, values)
    return values


def history_from_frame(
    cls: type[HistoryColumns],
    frame: Any,
    *,
    requested_at: str,
    completed_at: str,
    segment: str | None,
    reference: str | None,
    features: Sequence[str],
    tz: str | None,
) -> HistoryColumns:
    """See :meth:`HistoryColumns.from_frame`."""
    try:
        import pandas as pd
    except ImportError:
        raise MissingDependencyError("pandas", "analysis", "HistoryColumns.from_frame()") from None
    np = _numpy("HistoryColumns.from_frame()")
    if not isinstance(frame, pd.DataFrame):
        raise InvalidTypeError(
            f"'frame' must be a pandas DataFrame (got {type(frame).__name__} {describe(frame)})"
        )
    if tz is not None:
        load_zone(tz, field="tz")
    zone = tz
    if zone is None and requested_at in frame.columns:
        column_tz = getattr(getattr(frame[requested_at], "dt", None), "tz", None)
        zone = _zone_name(column_tz) if column_tz is not None else None
    requested = _instants(pd, np, frame, requested_at, tz, NO_REFERENCE)
    if (requested == NO_REFERENCE).any():
        row = int(np.argmax(requested == NO_REFERENCE))
        raise InvalidValueError(f"column {describe(requested_at)} is missing at row {row}")
    completed = _instants(pd, np, frame, completed_at, tz, OPEN)
    segments = None
    if segment is not None:
        check_non_empty_str("segment", segment)
        if segment not in frame.columns:
            raise InvalidValueError(f"column {describe(segment)} is not in the frame")
        segments = frame[segment].to_numpy()
    references = None
    if reference is not None:
        references = _instants(pd, np, frame, reference, tz, NO_REFERENCE)
    columns = {}
    for name in features:
        if name not in frame.columns:
            raise InvalidValueError(f"feature column {describe(name)} is not in the frame")
        columns[name] = frame[name].to_numpy(dtype=np.float64)
    return check_columns(cls(requested, completed, zone or "UTC", segments, references, columns))


def history_from_records(
    cls: type[HistoryColumns], history: Iterable[Any], *, zone: str | None
) -> HistoryColumns:
    """See :meth:`HistoryColumns.from_records`."""
    np = _numpy("HistoryColumns.from_records()")
    records = _coerce_history(history)
    if zone is not None:
        load_zone(zone, field="zone")
    elif records:
        zone = _zone_name(records[0].requested_at.tzinfo)
    requested = np.array([to_us(r.requested_at) for r in records], dtype=np.int64)
    completed = np.array([to_us(r.completed_at) for r in records], dtype=np.int64)
    segments = None
    if any(r.segment is not None for r in records):
        segments = np.empty(len(records), dtype=object)
        segments[:] = [r.segment for r in records]
    references = None
    if any(r.promised_due is not None for r in records):
        references = np.array(
            [NO_REFERENCE if r.promised_due is None else to_us(r.promised_due) for r in records],
            dtype=np.int64,
        )
    return cls(requested, completed, zone or "UTC", segments, references)


def check_columns(columns: HistoryColumns) -> HistoryColumns:
    """Check a :class:`HistoryColumns` (shapes, dtypes, order of instants, zone)."""
    np = _numpy("columnar backtests")
    load_zone(columns.zone, field="history.zone")
    n = None
    for name in ("requested_us", "completed_us", "reference_us"):
        values = getattr(columns, name)
        if values is None:
            continue
        if not isinstance(values, np.ndarray) or values.dtype != np.int64 or values.ndim != 1:
            raise InvalidTypeError(
                f"'history.{name}' must be a 1-d int64 numpy array (got {describe(values)})"
            )
        if n is None:
            n = values.shape[0]
        elif values.shape[0] != n:
            raise InvalidValueError(
                f"'history.{name}' must have {n} entries like requested_us (got {values.shape[0]})"
            )
    if columns.segment is not None and len(columns.segment) != n:
        raise InvalidValueError(
            f"'history.segment' must have {n} entries (got {len(columns.segment)})"
        )
    for name, values in columns.features.items():
        if len(values) != n:
            raise InvalidValueError(f"feature {describe(name)} must have {n} entries")
    early = columns.completed_us < columns.requested_us
    if early.any():
        row = int(np.argmax(early))
        raise InconsistentRecordError(
            f"'history' row {row} is completed before it is requested "
            f"(requested_us={int(columns.requested_us[row])}, "
            f"completed_us={int(columns.completed_us[row])})"
        )
    if columns.segment is not None and columns.segment.dtype == object:
        for index, value in enumerate(columns.segment[:1]):
            check_segment(f"history.segment[{index}]", value)
    return columns


def history_from_ledger(
    cls: type[HistoryColumns],
    ledger: Any,
    *,
    now: datetime,
    zone: str | None,
    segment: str | Callable[[Any], Any] | None,
) -> HistoryColumns:
    """See :meth:`HistoryColumns.from_ledger`."""
    np = _numpy("HistoryColumns.from_ledger()")
    check_aware("now", now)
    if segment is not None and segment != "kind" and not callable(segment):
        raise InvalidTypeError(
            f"'segment' must be 'kind', a callable state -> label or None (got {describe(segment)})"
        )
    if zone is not None:
        load_zone(zone, field="zone")
    states_of = getattr(ledger, "states", None)
    if callable(states_of):
        states: Iterable[Any] = states_of(at=now)
    elif callable(getattr(ledger, "promise_ids", None)):

        def made_by_now() -> Iterator[Any]:
            for promise_id in ledger.promise_ids():
                try:
                    yield ledger.state(promise_id, now)
                except LookupError:  # UnknownPromiseError: made after `now`
                    continue

        states = made_by_now()
    else:
        raise InvalidTypeError(
            f"'ledger' must be a promise ledger or a ledger store (got {describe(ledger)})"
        )
    rows: list[tuple[int, int, int, Any]] = []
    for state in states:
        promise = state.promise
        if state.cancellation is not None:
            done = to_us(state.cancellation.at)
        else:
            completed = state.assess(now).completed_at
            done = OPEN if completed is None else to_us(completed)
        label: Any = None
        if callable(segment):
            label = segment(state)
        elif segment == "kind":
            label = promise.kind
        rows.append((to_us(promise.made_at), done, to_us(promise.due), label))
        if zone is None:
            zone = _zone_name(promise.made_at.tzinfo)
    rows.sort(key=lambda row: row[0])
    segments = None
    if segment is not None:
        segments = np.empty(len(rows), dtype=object)
        segments[:] = [row[3] for row in rows]
    return cls(
        np.array([row[0] for row in rows], dtype=np.int64),
        np.array([row[1] for row in rows], dtype=np.int64),
        zone or "UTC",
        segments,
        np.array([row[2] for row in rows], dtype=np.int64),
    )
