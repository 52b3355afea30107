"""What the plots read from a book: its outcomes frame, lateness and response in units.

Durations are taken in business time when the book has a calendar (its
``business_lateness`` column is filled), real time otherwise, and expressed in the
unit of the promises' typical window (see :mod:`promisekit.analysis._units`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from promisekit.analysis._book import PromiseBook
from promisekit.analysis._columns import require_pandas
from promisekit.analysis._units import Unit, typical, unit_for
from promisekit.errors import InvalidTypeError, InvalidValueError

if TYPE_CHECKING:
    import pandas as pd

_CLOSED = ("kept", "late", "short")
_NAT = np.iinfo(np.int64).min


def outcomes_frame(data: Any, feature: str) -> pd.DataFrame:
    """The outcomes DataFrame of a book (or the DataFrame itself)."""
    pandas = require_pandas(feature)
    if isinstance(data, PromiseBook):
        return data.outcomes()
    if isinstance(data, pandas.DataFrame):
        missing = [c for c in ("status", "lateness", "due") if c not in data.columns]
        if missing:
            raise InvalidValueError(
                f"'book' must be a PromiseBook or its outcomes() DataFrame "
                f"(missing columns: {', '.join(missing)})"
            )
        return data
    raise InvalidTypeError(
        f"'book' must be a PromiseBook or its outcomes() DataFrame (got {type(data).__name__})"
    )


def _micros(column: Any) -> Any:
    raw = column.to_numpy(dtype="timedelta64[us]")
    return np.where(np.isnat(raw), _NAT, raw.astype(np.int64))


def is_business(frame: pd.DataFrame) -> bool:
    """Whether the frame's lateness is measured in business time."""
    business = frame["business_lateness"] if "business_lateness" in frame.columns else None
    return business is not None and bool(business.notna().any())


def window_unit(frame: pd.DataFrame, business: bool) -> Unit:
    """The unit of the promises' typical window (made to due): days for days-long ones."""
    if business and "business_window" in frame.columns:
        windows = _micros(frame["business_window"])
    elif "made_at" in frame.columns:
        made = frame["made_at"].to_numpy(dtype="datetime64[us]").astype(np.int64)
        due = frame["due"].to_numpy(dtype="datetime64[us]").astype(np.int64)
        windows = due - made
    else:
        windows = _micros(frame["lateness"])
    return unit_for(typical(windows[windows != _NAT].tolist()), business=business)


def lateness_in(frame: pd.DataFrame) -> tuple[Any, Unit, bool]:
    """Lateness (NaN when open) in the window unit, the unit, and whether business time."""
    business = is_business(frame)
    column = frame["business_lateness"] if business else frame["lateness"]
    unit = window_unit(frame, business)
    values = _micros(column)
    return np.where(values == _NAT, np.nan, values / unit.us), unit, business


def response_us(frame: pd.DataFrame) -> tuple[Any, bool]:
    """Response time in µs (NaN when none; business when available) and whether business."""
    for name, business in (("business_response", True), ("response", False)):
        if name in frame.columns:
            values = _micros(frame[name])
            if business and not (values != _NAT).any():
                continue
            return np.where(values == _NAT, np.nan, values.astype(float)), business
    return np.full(len(frame), np.nan), False


def closed_mask(frame: pd.DataFrame) -> Any:
    """Which rows are closed (kept, late or short)."""
    return frame["status"].astype(str).isin(_CLOSED).to_numpy()
