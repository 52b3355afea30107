"""Published commitments: check history before promising "within 2 minutes, 98 % of the time".

A published commitment (a website's "we call back within 60 minutes") must be known to
front-line staff and deliverable nearly every time. :meth:`Commitment.check` measures
how often the history met it, with a **Wilson score interval** around the achieved
rate, and calls it *publishable* only when the interval's lower bound reaches the
target rate — the evidence, not the point estimate, must clear the bar.
:func:`achievable_window` turns the question around: what window could be published
at a given rate?

Wilson score interval for ``k`` successes out of ``n`` at confidence ``c``, with
``p = k / n`` and ``z`` the ``1 - (1 - c) / 2`` quantile of the standard normal
(``statistics.NormalDist().inv_cdf``; ``z ≈ 1.96`` for ``c = 0.95``)::

    center = (p + z² / (2n)) / (1 + z² / n)
    half   = z / (1 + z² / n) * sqrt(p (1 - p) / n + z² / (4 n²))
    [lower, upper] = [center - half, center + half]

The interval is two-sided, so its lower bound at ``c = 0.95`` is a one-sided 97.5 %
lower confidence bound on the true rate. Unlike the normal approximation it stays
inside ``[0, 1]`` and behaves at rates near 100 %, where commitments live: with every
one of ``n`` requests kept, the lower bound is ``n / (n + z²)``, so demonstrating
99 % takes at least 381 records and 99.9 % at least 3,838.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import timedelta
from statistics import NormalDist
from typing import Any

import attrs

from promisekit._validation import check_duration, check_non_empty_str, describe
from promisekit.buffering._common import (
    Clock,
    check_calendar,
    check_probability,
    fmt_duration,
    fmt_rate,
    td_us,
    us_td,
)
from promisekit.buffering._history import HistoryRecord, _coerce_history
from promisekit.calendar import BusinessCalendar
from promisekit.errors import InsufficientDataError, InvalidTypeError, InvalidValueError

__all__ = ["Commitment", "CommitmentCheck", "achievable_window", "wilson_interval"]


def _z(confidence: float) -> float:
    return NormalDist().inv_cdf(1.0 - (1.0 - confidence) / 2.0)


def _wilson(successes: int, n: int, z: float) -> tuple[float, float]:
    p = successes / n
    z2 = z * z
    denominator = 1.0 + z2 / n
    center = (p + z2 / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1.0 - p) / n + z2 / (4 * n * n))
    lower = 0.0 if successes == 0 else max(0.0, center - half)
    upper = 1.0 if successes == n else min(1.0, center + half)
    return lower, upper


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The two-sided Wilson score interval for a proportion (formula in the module docstring).

    Args:
        successes: Number of successes, ``0 <= successes <= n``.
        n: Number of trials, ``>= 1``.
        confidence: Two-sided confidence level in ``(0, 1)``.

    Returns:
        ``(lower, upper)``, both within ``[0, 1]``.

    Raises:
        InvalidTypeError: ``successes`` or ``n`` is not an int.
        InvalidValueError: A count is out of range or ``confidence`` is not in ``(0, 1)``.

    Example:
        >>> lo, hi = wilson_interval(95, 100)
        >>> round(lo, 4), round(hi, 4)
        (0.8882, 0.9785)

    .. versionadded:: 0.1.0
    """
    for field, value in (("successes", successes), ("n", n)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidTypeError(
                f"{field!r} must be an int (got {type(value).__name__} {describe(value)})"
            )
    if n < 1:
        raise InvalidValueError(f"'n' must be >= 1 (got {describe(n)})")
    if not 0 <= successes <= n:
        raise InvalidValueError(
            f"'successes' must be between 0 and n={n} (got {describe(successes)})"
        )
    level = check_probability("confidence", confidence, allow_one=False)
    return _wilson(successes, n, _z(level))


def _durations(
    history: Any,
    calendar: BusinessCalendar | None,
    business_time: bool | None,
    relative_to: str = "request",
) -> list[int]:
    """Request (or promised due) → completion per record, µs; business time when asked.

    ``business_time=None`` means business time exactly when a calendar is given.
    Relative to the promised due, records without one are left out and the
    measure is signed (negative when the work was done before the promised due).
    """
    calendar = check_calendar(calendar)
    if business_time and calendar is None:
        raise InvalidValueError(
            "'calendar' must be given for a business-time commitment (got None); "
            "pass a BusinessCalendar, or use business_time=False for real time"
        )
    records: list[HistoryRecord] = _coerce_history(history)
    if not records:
        raise InsufficientDataError("'history' must contain at least one record (got none)")
    used = calendar if business_time is not False else None
    if relative_to == "promised_due":
        measured = [
            td_us(Clock(used, r.promised_due).between(r.promised_due, r.completed_at))
            for r in records
            if r.promised_due is not None
        ]
        if not measured:
            raise InsufficientDataError(
                "'history' has no record with a promised_due: a commitment relative to the "
                "promised due cannot be checked"
            )
        return measured
    return [
        td_us(Clock(used, r.requested_at).between(r.requested_at, r.completed_at)) for r in records
    ]


def _convert_window(value: Any) -> timedelta:
    return check_duration("window", value)


def _convert_rate(value: Any) -> float:
    return check_probability("target_rate", value)


def _check_name(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    check_non_empty_str(attribute.name, value)


def _check_bool(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, bool):
        raise InvalidTypeError(
            f"{attribute.name!r} must be a bool or None (got {type(value).__name__} "
            f"{describe(value)})"
        )


_RELATIVE = ("request", "promised_due")


def _check_relative(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value not in _RELATIVE:
        raise InvalidValueError(
            f"'relative_to' must be 'request' or 'promised_due' (got {describe(value)})"
        )


@attrs.frozen(slots=True)
class CommitmentCheck:
    """The result of :meth:`Commitment.check`.

    Attributes:
        commitment: The commitment checked.
        n: Number of records.
        n_kept: Records completed within the window.
        rate: ``n_kept / n``.
        lower: Lower bound of the Wilson interval.
        upper: Upper bound of the Wilson interval.
        confidence: Two-sided confidence level of the interval.
        publishable: ``lower >= commitment.target_rate``.
        verdict: One human sentence.

    .. versionadded:: 0.1.0
    """

    commitment: Commitment
    n: int
    n_kept: int
    rate: float
    lower: float
    upper: float
    confidence: float
    publishable: bool
    verdict: str

    def __str__(self) -> str:
        return self.verdict


@attrs.frozen(slots=True)
class Commitment:
    """A published promise template: "callback within 60 business minutes, 98 % of the time".

    Args:
        name: What is promised (``"callback"``).
        window: The promised window (``timedelta`` or seconds, ``>= 0``).
        target_rate: The share of requests that must be served within the window,
            in ``(0, 1]``.
        business_time: ``None`` (default): business time when :meth:`check` is
            given a calendar, real time otherwise. ``True``: business time (a
            calendar is then required); ``False``: real elapsed time.
        relative_to: ``"request"`` (default): the window runs from the request.
            ``"promised_due"``: from each record's promised due (a published
            schedule, an SLA target), so ``Commitment("arrival",
            timedelta(minutes=15), 0.9, relative_to="promised_due")`` is
            "arrival by the schedule + 15 min, 90 % of the time"; records without
            a promised due are left out of the check.

    Raises:
        InvalidTypeError: A field has the wrong type.
        InvalidValueError: A blank name, a negative window, or a rate outside ``(0, 1]``.

    Example:
        >>> from datetime import datetime, timedelta, timezone
        >>> t0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
        >>> history = [(t0, t0 + timedelta(minutes=20 + i % 30)) for i in range(500)]
        >>> c = Commitment("callback", timedelta(hours=1), 0.98, business_time=False)
        >>> c.check(history).publishable
        True

    .. versionadded:: 0.1.0
    """

    name: str = attrs.field(validator=_check_name)
    window: timedelta = attrs.field(converter=_convert_window)
    target_rate: float = attrs.field(converter=_convert_rate)
    business_time: bool | None = attrs.field(default=None, validator=_check_bool)
    relative_to: str = attrs.field(default="request", validator=_check_relative, kw_only=True)

    def __str__(self) -> str:
        within = fmt_duration(self.window, business=self.business_time is True)
        if self.relative_to == "promised_due":
            return (
                f"{self.name} by the promised due + {within}, "
                f"{fmt_rate(self.target_rate)} of the time"
            )
        return f"{self.name} within {within}, {fmt_rate(self.target_rate)} of the time"

    def check(
        self,
        history: Iterable[Any],
        calendar: BusinessCalendar | None = None,
        *,
        confidence: float = 0.95,
    ) -> CommitmentCheck:
        """How often the history met the commitment, and whether it can be published.

        Publishable iff the lower bound of the Wilson score interval of the
        achieved rate (two-sided, at ``confidence``) is ``>= target_rate``.

        Args:
            history: :class:`HistoryRecord` values or ``(requested_at, completed_at, …)``
                tuples.
            calendar: Business calendar; required when ``business_time`` is true,
                and used (business time) when ``business_time`` is ``None``.
            confidence: Two-sided confidence level of the interval, in ``(0, 1)``.

        Raises:
            InvalidValueError: No calendar for a business-time commitment, or a
                bad ``confidence``.
            InsufficientDataError: The history is empty.

        .. versionadded:: 0.1.0
        """
        level = check_probability("confidence", confidence, allow_one=False)
        durations = _durations(history, calendar, self.business_time, self.relative_to)
        limit = td_us(self.window)
        kept = sum(1 for d in durations if d <= limit)
        n = len(durations)
        lower, upper = _wilson(kept, n, _z(level))
        publishable = lower >= self.target_rate
        interval = f"{fmt_rate(level)} interval {fmt_rate(lower)}–{fmt_rate(upper)}"
        if publishable:
            verdict = (
                f"publishable: '{self}' was met {fmt_rate(kept / n)} of the time over {n} "
                f"requests ({interval}); the lower bound reaches the target"
            )
        else:
            verdict = (
                f"not publishable: '{self}' was met {fmt_rate(kept / n)} of the time over {n} "
                f"requests ({interval}); the lower bound {fmt_rate(lower)} is below the target "
                f"{fmt_rate(self.target_rate)}"
            )
        return CommitmentCheck(
            commitment=self,
            n=n,
            n_kept=kept,
            rate=kept / n,
            lower=lower,
            upper=upper,
            confidence=level,
            publishable=publishable,
            verdict=verdict,
        )


def achievable_window(
    history: Iterable[Any],
    rate: float,
    calendar: BusinessCalendar | None = None,
    *,
    business_time: bool | None = None,
    confidence: float = 0.95,
) -> timedelta:
    """The smallest window that history supports publishing at ``rate``.

    That is the smallest ``w`` such that a :class:`Commitment` with window ``w``
    and target ``rate`` is publishable: the Wilson lower bound of the share of
    records completed within ``w`` reaches ``rate``. It is always one of the
    observed durations.

    Args:
        history: :class:`HistoryRecord` values or tuples.
        rate: The rate to publish, in ``(0, 1]``.
        calendar: Required when ``business_time`` is true.
        business_time: Measure durations in business time; ``None`` (default):
            business time when a calendar is given, as :class:`Commitment`.
        confidence: Two-sided confidence level of the Wilson interval.

    Raises:
        InsufficientDataError: No window can be published at ``rate`` with this
            much history (even all-kept gives a lower bound ``n / (n + z²)`` below
            ``rate``); the message says how many records would be needed.
        InvalidValueError: No calendar for business time, or a bad ``rate``.

    Example:
        >>> from datetime import datetime, timedelta, timezone
        >>> t0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
        >>> history = [(t0, t0 + timedelta(minutes=1 + i % 60)) for i in range(600)]
        >>> achievable_window(history, 0.9, business_time=False)
        datetime.timedelta(seconds=3360)

    .. versionadded:: 0.1.0
    """
    target = check_probability("rate", rate)
    level = check_probability("confidence", confidence, allow_one=False)
    if business_time is not None and not isinstance(business_time, bool):
        raise InvalidTypeError(
            f"'business_time' must be a bool or None (got {type(business_time).__name__} "
            f"{describe(business_time)})"
        )
    durations = sorted(_durations(history, calendar, business_time))
    n = len(durations)
    z = _z(level)
    best_lower = _wilson(n, n, z)[0]
    if best_lower < target:
        if target >= 1.0:
            need = "no number of records can demonstrate a 100 % rate"
        else:
            needed = math.ceil(target * z * z / (1.0 - target))
            while _wilson(needed, needed, z)[0] < target:
                needed += 1
            need = f"at least {needed} records (all kept) are needed"
        raise InsufficientDataError(
            f"'rate' {fmt_rate(target)} cannot be published from {n} records: even with every "
            f"one kept, the {fmt_rate(level)} Wilson lower bound is {fmt_rate(best_lower)}; "
            f"{need}"
        )
    lo, hi = 1, n  # smallest k with lower(k) >= target; lower is increasing in k
    while lo < hi:
        mid = (lo + hi) // 2
        if _wilson(mid, n, z)[0] >= target:
            hi = mid
        else:
            lo = mid + 1
    return us_td(durations[lo - 1])
