"""The one grammar of duration text: policy files, conditions and the command line.

``2w``, ``3d``, ``2h``, ``30m``, ``90min``, ``45s``, ``1h30m``, ``1.5d`` (units ``w``,
``d``, ``h``, ``m`` or ``min``, ``s``; spaces and case ignored), or ISO 8601 in weeks,
days, hours, minutes and seconds: ``PT1H30M``, ``P2W``, ``P1DT12H``, ``PT0.5S``
(years and months are refused: they are not fixed lengths of time). Durations are
never negative. The arithmetic is exact (decimal), rounded to the microsecond.

Used by :func:`promisekit.escalation._time.parse_duration` (policy files) and by the
``promisekit`` command (``--window``, ``--interval``…), so a duration written in one
place is understood in all of them.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

from promisekit._validation import describe
from promisekit.errors import InvalidTypeError, InvalidValueError

__all__ = ["GRAMMAR", "MAX_DURATION_US", "UNIT_US", "parse_duration"]

#: How the grammar is described in error messages.
GRAMMAR = "a duration such as '2h', '30m', '90min', '1h30m', '1d', '2w' or ISO 8601 'PT1H30M'"

#: Microseconds in one of each unit of the short form.
UNIT_US = {
    "w": 7 * 86_400_000_000,
    "d": 86_400_000_000,
    "h": 3_600_000_000,
    "m": 60_000_000,
    "min": 60_000_000,
    "s": 1_000_000,
}
#: The longest duration accepted (``timedelta.max``, about 2.7 million years), in µs.
MAX_DURATION_US = timedelta.max // timedelta(microseconds=1)
_PART = re.compile(r"(\d+(?:\.\d+)?)(min|w|d|h|m|s)")
_WHOLE = re.compile(r"^(?:\d+(?:\.\d+)?(?:min|w|d|h|m|s))+$")
_NUMBER = r"(\d{1,20}(?:[.,]\d{1,9})?)"
_ISO = re.compile(
    rf"p(?:{_NUMBER}w)?(?:{_NUMBER}d)?(?:t(?:{_NUMBER}h)?(?:{_NUMBER}m)?(?:{_NUMBER}s)?)?"
)
_ISOUNIT_US = ("w", "d", "h", "m", "s")


def parse_duration(text: str) -> timedelta:
    """Parse duration text in the shared grammar (see the module documentation).

    Raises:
        InvalidTypeError: ``text`` is not a string.
        InvalidValueError: The text is not a duration in that grammar, or is longer
            than ``timedelta.max`` (about 2.7 million years).
    """
    if not isinstance(text, str):
        raise InvalidTypeError(
            f"expected a duration string such as '2h' (got {type(text).__name__} {describe(text)})"
        )
    cleaned = text.strip().lower().replace(" ", "")
    total = Decimal(0)
    if len(cleaned) <= 200 and _WHOLE.match(cleaned):
        for number, unit in _PART.findall(cleaned):
            total += Decimal(number) * UNIT_US[unit]
    else:
        match = _ISO.fullmatch(cleaned) if len(cleaned) <= 200 else None
        if match is None or not any(match.groups()) or cleaned.endswith("t"):
            raise InvalidValueError(
                f"expected {GRAMMAR} (units w, d, h, m or min, s), got {describe(text)}"
            )
        for number, unit in zip(match.groups(), _ISOUNIT_US, strict=True):
            if number is not None:
                total += Decimal(number.replace(",", ".")) * UNIT_US[unit]
    us = int(total.to_integral_value())
    if us > MAX_DURATION_US:
        raise InvalidValueError(
            f"expected a duration of at most {timedelta.max.days} days, got {describe(text)}"
        )
    return timedelta(microseconds=us)
