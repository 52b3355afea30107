"""Between a book's columns and records: domain objects, a ledger, a frame, a backtest.

The :class:`~promisekit.analysis.PromiseBook` constructors delegate here: records are
assessed one promise at a time (:func:`_records_columns`), a ledger is replayed
(:func:`_ledger_records`), a frame's columns are looked up by name
(:func:`_frame_columns`); label columns are encoded once (:class:`_Labels`). The other
way, :func:`_closed_records` turns closed rows into history records for a backtest.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
from numpy.typing import NDArray

from promisekit.analysis._columns import OutcomeColumns
from promisekit.buffering import HistoryRecord
from promisekit.calendar import BusinessCalendar
from promisekit.delivery import Delivery, assess
from promisekit.errors import InconsistentRecordError, InvalidTypeError, InvalidValueError
from promisekit.ledger import Ledger, UnknownPromiseError
from promisekit.promise import Promise

_NAT = np.iinfo(np.int64).min
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_PENDING, _OVERDUE, _KEPT, _LATE, _SHORT = range(5)


_FRAME_COLUMNS = (
    "promise_id",
    "kind",
    "segment",
    "owner",
    "made_at",
    "due",
    "completed_at",
    "short",
    "revisions",
    "score",
    "customer",
    "target",
)


class _Labels:
    """A label column as integer codes and the names they stand for (``None`` = missing)."""

    __slots__ = ("codes", "names")

    def __init__(self, codes: NDArray[np.int32], names: tuple[str | None, ...]) -> None:
        self.codes = codes
        self.names = names

    def present(self) -> list[str]:
        """The names of actual values (the missing value, always last, excluded)."""
        return [n for n in self.names if n is not None]

    def pandas_codes(self) -> NDArray[np.int32]:
        """Codes for ``pandas.Categorical.from_codes``: ``-1`` for a missing value."""
        if self.names[-1] is None:
            return np.where(self.codes == len(self.names) - 1, -1, self.codes).astype(np.int32)
        return self.codes


def _encode(field: str, values: Any, size: int) -> _Labels:
    """Encode a label column (strings, categoricals, numbers; missing values allowed)."""
    if values is None:
        return _Labels(np.zeros(size, dtype=np.int32), (None,))
    cat = getattr(values, "cat", None)
    if cat is not None:  # a pandas categorical column: reuse its codes
        codes = np.asarray(cat.codes, dtype=np.int32)
        names: list[str | None] = [str(x) for x in cat.categories]
        if np.any(codes < 0):
            codes = np.where(codes < 0, len(names), codes).astype(np.int32)
            names.append(None)
        _check_length(field, codes, size)
        return _Labels(codes, tuple(names))
    array = np.asarray(values)
    if array.ndim != 1:
        raise InvalidValueError(f"{field!r} must be a one-dimensional column (got {array.shape})")
    _check_length(field, array, size)
    if array.dtype == object:
        try:
            import pandas as pd

            missing = np.asarray(pd.isna(array), dtype=bool)
        except ImportError:  # pragma: no cover - exercised without pandas only
            missing = np.fromiter(
                (v is None or (isinstance(v, float) and math.isnan(v)) for v in array),
                dtype=bool,
                count=len(array),
            )
        text = np.where(missing, "", array).astype(str)
    elif array.dtype.kind in "USiub":
        missing = np.zeros(len(array), dtype=bool)
        text = array.astype(str)
    else:
        raise InvalidTypeError(
            f"{field!r} must be a column of labels (strings or integers) (got dtype {array.dtype})"
        )
    uniques, inverse = np.unique(text, return_inverse=True)
    names = [str(x) for x in uniques]
    codes = inverse.astype(np.int32)
    if np.any(missing):
        present = np.unique(inverse[~missing])
        remap = np.full(len(uniques), -1, dtype=np.int32)
        remap[present] = np.arange(len(present), dtype=np.int32)
        names = [names[i] for i in present] + [None]
        codes = np.where(missing, len(names) - 1, remap[inverse]).astype(np.int32)
    return _Labels(codes, tuple(names))


def _check_length(field: str, array: Any, size: int) -> None:
    if len(array) != size:
        raise InvalidValueError(
            f"{field!r} must have one value per promise (got {len(array)} for {size} promises)"
        )


def _us(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _records_columns(
    promises: Iterable[Promise], deliveries: Iterable[Delivery], now: datetime
) -> dict[str, Any]:
    """The columns of a book of domain objects, each promise assessed at ``now``."""
    items = list(promises)
    by_id: dict[str, list[Delivery]] = {}
    for index, promise in enumerate(items):
        if not isinstance(promise, Promise):
            raise InvalidTypeError(
                f"'promises' must contain only Promise instances "
                f"(got {type(promise).__name__} at index {index})"
            )
        if promise.id in by_id:
            raise InconsistentRecordError(
                f"'promises' must have distinct ids (got {promise.id!r} twice)"
            )
        by_id[promise.id] = []
    for index, delivery in enumerate(deliveries):
        if not isinstance(delivery, Delivery):
            raise InvalidTypeError(
                f"'deliveries' must contain only Delivery instances "
                f"(got {type(delivery).__name__} at index {index})"
            )
        bucket = by_id.get(delivery.promise_id)
        if bucket is None:
            raise InconsistentRecordError(
                f"'deliveries' must be for the given promises (got delivery #{index} "
                f"for unknown promise {delivery.promise_id!r})"
            )
        bucket.append(delivery)
    size = len(items)
    made = np.empty(size, dtype=np.int64)
    due = np.empty(size, dtype=np.int64)
    done = np.full(size, _NAT, dtype=np.int64)
    short = np.zeros(size, dtype=bool)
    revisions = np.zeros(size, dtype=np.int64)
    target = np.full(size, _NAT, dtype=np.int64)
    for i, promise in enumerate(items):
        outcome = assess(promise, by_id[promise.id], now=now)
        made[i] = _us(promise.made_at)
        due[i] = _us(outcome.due)
        if outcome.completed_at is not None:
            done[i] = _us(outcome.completed_at)
        short[i] = outcome.shortfall.any
        if promise.target is not None and promise.target <= outcome.due:
            target[i] = _us(promise.target)
        revisions[i] = outcome.revision
    return {
        "made_at": made.view("datetime64[us]"),
        "due": due.view("datetime64[us]"),
        "completed_at": done.view("datetime64[us]"),
        "now": now,
        "promise_id": np.array([p.id for p in items], dtype=object),
        "kind": np.array([p.kind for p in items], dtype=object),
        "segment": np.array([p.segment for p in items], dtype=object),
        "owner": np.array([p.owner for p in items], dtype=object),
        "customer": np.array([p.customer_id for p in items], dtype=object),
        "target": target.view("datetime64[us]") if (target != _NAT).any() else None,
        "short": short,
        "revisions": revisions,
    }


def _ledger_records(ledger: Ledger, now: datetime) -> tuple[list[Promise], list[Delivery]]:
    """The promises of ``ledger`` replayed at ``now`` (not cancelled), with their deliveries."""
    promises: list[Promise] = []
    deliveries: list[Delivery] = []
    for promise_id in ledger.promise_ids():
        try:
            state = ledger.state(promise_id, at=now)
        except UnknownPromiseError:
            continue
        if state.cancelled:
            continue
        promises.append(state.promise)
        deliveries.extend(state.deliveries)
    return promises, deliveries


def _frame_columns(frame: Any, now: Any, columns: Mapping[str, str] | None) -> dict[str, Any]:
    """The constructor arguments (``now`` included) read from a DataFrame or mapping."""
    if not (isinstance(frame, Mapping) or hasattr(frame, "columns")):
        raise InvalidTypeError(
            f"'frame' must be a DataFrame or a mapping of columns (got {type(frame).__name__})"
        )
    names = {key: key for key in _FRAME_COLUMNS}
    if columns is not None:
        unknown = sorted(set(columns) - set(names))
        if unknown:
            raise InvalidValueError(
                f"'columns' keys must be among {', '.join(_FRAME_COLUMNS)} "
                f"(got {', '.join(map(repr, unknown))})"
            )
        names.update(columns)
    available = set(frame.columns) if hasattr(frame, "columns") else set(frame)
    data: dict[str, Any] = {}
    for key, name in names.items():
        if name in available:
            data[key] = frame[name]
        elif key in ("made_at", "due"):
            raise InvalidValueError(
                f"'frame' has no column {name!r} (required); map names with 'columns'"
            )
    if "customer" not in data and "customer_id" in available and "customer" not in (columns or {}):
        data["customer"] = frame["customer_id"]
    if "promise_id" not in data and hasattr(frame, "index"):
        data["promise_id"] = np.asarray(frame.index)
    if now is None:
        attrs = getattr(frame, "attrs", None)
        if isinstance(attrs, Mapping) and "now" in attrs:
            now = attrs["now"]
        elif isinstance(frame, Mapping) and "now" in frame:
            now = frame["now"]
        else:
            raise InvalidValueError(
                "'now' must be given (or be frame.attrs['now'] / a 'now' entry)"
            )
    for key in ("promise_id", "short", "revisions", "score"):
        if key in data:
            data[key] = np.asarray(data[key])
    return {"now": now, **data}


def _closed_records(
    outcomes: OutcomeColumns, segment: _Labels, calendar: BusinessCalendar | None
) -> list[HistoryRecord]:
    """The closed promises (kept, late, short) as history records, for a backtest."""
    out = outcomes
    closed = np.flatnonzero(np.isin(out.status, (_KEPT, _LATE, _SHORT)))
    made = out.made_at.view(np.int64)
    due = out.due.view(np.int64)
    done = out.completed_at.view(np.int64)
    lab = segment
    records = [
        HistoryRecord(
            _moment(int(made[i]), calendar),
            _moment(int(done[i]), calendar),
            lab.names[lab.codes[i]],
            _moment(int(due[i]), calendar),
        )
        for i in closed.tolist()
    ]
    return records


def _moment(us: int, calendar: BusinessCalendar | None) -> datetime:
    moment = _EPOCH + timedelta(microseconds=us)
    return moment if calendar is None else moment.astimezone(calendar.zone)
