"""Human time units for tables and plots: minutes, hours or days, one per column or axis.

A column of durations is shown in one unit chosen from its typical magnitude (never
mixed within a column); a plot of lateness uses the unit of the promises' typical
window, so a book of promises days long is drawn in days. Business time stops at
hours: a "business day" has no fixed length.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

_MINUTE_US = 60_000_000
_HOUR_US = 60 * _MINUTE_US
_DAY_US = 24 * _HOUR_US
_NAT = np.iinfo(np.int64).min


class Unit(NamedTuple):
    """A unit of duration: its name (plural), its symbol and its length in µs."""

    name: str
    symbol: str
    us: int

    def label(self, business: bool) -> str:
        """The unit in a label: ``"business hours"``, ``"days"``…"""
        return f"business {self.name}" if business else self.name

    def text(self, value_us: float, *, signed: bool = False) -> str:
        """One value in this unit, e.g. ``"1.5 h"``, ``"+3 d"``, ``"n/a"`` for NaN."""
        if value_us != value_us:
            return "n/a"
        return f"{number(value_us / self.us, signed=signed)} {self.symbol}"


MINUTES = Unit("minutes", "min", _MINUTE_US)
HOURS = Unit("hours", "h", _HOUR_US)
DAYS = Unit("days", "d", _DAY_US)


def unit_for(magnitude_us: float, *, business: bool = False) -> Unit:
    """The unit for durations of about ``magnitude_us``: minutes under an hour, hours
    under two days (always in business time), days beyond."""
    if magnitude_us != magnitude_us or magnitude_us < _HOUR_US:
        return MINUTES
    if business or magnitude_us < 2 * _DAY_US:
        return HOURS
    return DAYS


def typical(values_us: Iterable[float | int | None], q: float = 0.5) -> float:
    """The ``q`` quantile (default the median) of the absolute values of the known
    durations (NaN when none)."""
    known = [abs(float(v)) for v in values_us if v is not None and v == v and v != _NAT]
    return float(np.quantile(known, q)) if known else math.nan


def column_unit(values_us: Iterable[float | int | None], *, business: bool = False) -> Unit:
    """The one unit of a column of durations (µs; ``None``/NaN/NaT are missing).

    Chosen from the upper quartile of the absolute values, so that a column of mostly
    short durations with a few long ones reads ``7.7 h`` rather than ``460 min``.
    """
    return unit_for(typical(values_us, 0.75), business=business)


def in_unit(values_us: NDArray[np.int64], unit: Unit) -> NDArray[np.float64]:
    """µs (NaT → NaN) as floats in ``unit``."""
    values = np.asarray(values_us, dtype=np.int64)
    return np.where(values == _NAT, np.nan, values / unit.us)


def number(value: float, *, signed: bool = False) -> str:
    """A short number: ``12``, ``3.5``, ``0.25`` (``+`` when ``signed`` and positive)."""
    size = abs(value)
    text = f"{value:.0f}" if size >= 10 else f"{value:.1f}" if size >= 1 else f"{value:.2f}"
    if text.endswith(".0"):
        text = text[:-2]
    if float(text) == 0:
        text = "0"
    if signed and value > 0 and text != "0":
        return f"+{text}"
    return text
