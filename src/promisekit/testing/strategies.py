"""Hypothesis strategies for promisekit's domain objects.

For promisekit's own property tests and for plugin authors testing their models and
policies against arbitrary (but valid) promises and deliveries. Needs the ``testing``
extra: ``pip install 'promisekit[testing]'``.

Every strategy here only generates valid objects, and shrinks towards the simplest one
(the earliest instant, in UTC, with no optional parts), so a failing example is short.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from promisekit._validation import check_aware, check_duration
from promisekit.calendar import BusinessCalendar
from promisekit.delivery import Delivery
from promisekit.errors import (
    InvalidTypeError,
    InvalidValueError,
    MissingDependencyError,
    UnknownTimeZoneError,
)
from promisekit.promise import Promise, Terms

try:
    from hypothesis import strategies as st
    from hypothesis.strategies import SearchStrategy
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise MissingDependencyError("hypothesis", "testing", "promisekit.testing") from exc

__all__ = [
    "DEFAULT_TIMEZONES",
    "aware_datetimes",
    "calendars",
    "deliveries_for",
    "promises",
    "terms",
]

#: Zones used by :func:`aware_datetimes` by default: UTC first (what failures shrink
#: to), two zones with daylight-saving time on different dates, one with a half-hour
#: offset.
DEFAULT_TIMEZONES: tuple[str, ...] = ("UTC", "America/Toronto", "Europe/Paris", "Asia/Kolkata")

_MIN = datetime(2000, 1, 1, tzinfo=timezone.utc)
_MAX = datetime(2050, 1, 1, tzinfo=timezone.utc)
_UNITS = ("units", "parcels", "kg")
_CURRENCIES = ("EUR", "USD", "CAD", "INR")
_KINDS = ("callback", "repair", "parcel", "refund")
_SEGMENTS = ("standard", "premium")
_OWNERS = ("agent-1", "team-b")
_COMMITMENTS = ("callback-60min", "parcel-48h")
_REASONS = ("technician delayed", "part out of stock", "customer request")


def _zones(timezones: Iterable[str | tzinfo]) -> list[tzinfo]:
    if isinstance(timezones, (str, tzinfo)) or not isinstance(timezones, Iterable):
        raise InvalidTypeError(
            f"'timezones' must be an iterable of zone names or tzinfo objects "
            f"(got {type(timezones).__name__} {timezones!r})"
        )
    zones: list[tzinfo] = []
    for zone in timezones:
        if isinstance(zone, tzinfo):
            zones.append(zone)
        elif isinstance(zone, str):
            try:
                zones.append(ZoneInfo(zone))
            except (ZoneInfoNotFoundError, ValueError):
                raise UnknownTimeZoneError(
                    f"'timezones' must contain IANA zone names (got unknown zone {zone!r})"
                ) from None
        else:
            raise InvalidTypeError(
                f"'timezones' must contain zone names or tzinfo objects "
                f"(got {type(zone).__name__} {zone!r})"
            )
    if not zones:
        raise InvalidValueError("'timezones' must not be empty (got no zone)")
    return zones


def _in_zone(instant: datetime, zone: tzinfo) -> datetime:
    return instant.astimezone(zone)


def aware_datetimes(
    min_value: datetime = _MIN,
    max_value: datetime = _MAX,
    timezones: Iterable[str | tzinfo] = DEFAULT_TIMEZONES,
) -> SearchStrategy[datetime]:
    """Timezone-aware datetimes between two instants, in one of several zones.

    The instant is drawn first (uniformly in real time, microsecond resolution), then
    expressed in one of ``timezones``. So every generated datetime exists (none falls in
    a daylight-saving gap), and the second occurrence of an ambiguous wall time comes out
    with ``fold=1``.

    Shrinks towards 2000-01-01 00:00 UTC (or the closest bound), in the first zone.

    Args:
        min_value: Earliest instant (aware), by default 2000-01-01 00:00 UTC.
        max_value: Latest instant (aware), by default 2050-01-01 00:00 UTC.
        timezones: IANA zone names or ``tzinfo`` objects, by default
            :data:`DEFAULT_TIMEZONES`.

    Returns:
        A strategy generating aware datetimes.

    Raises:
        NaiveDatetimeError: A bound has no time zone.
        InvalidValueError: ``min_value`` is after ``max_value``, or no zone is given.
        UnknownTimeZoneError: A zone name is unknown.

    Example:
        .. code-block:: python

            @given(aware_datetimes(timezones=["Europe/Paris"]))
            def test_something(when): ...

    .. versionadded:: 0.1.0
    """
    low = check_aware("min_value", min_value).astimezone(timezone.utc)
    high = check_aware("max_value", max_value).astimezone(timezone.utc)
    if low > high:
        raise InvalidValueError(
            f"'max_value' must not be before 'min_value' ({low.isoformat(' ')}) "
            f"(got {high.isoformat(' ')})"
        )
    zones = _zones(timezones)
    instants = st.datetimes(
        min_value=low.replace(tzinfo=None), max_value=high.replace(tzinfo=None)
    ).map(lambda naive: naive.replace(tzinfo=timezone.utc))
    return st.builds(_in_zone, instants, st.sampled_from(zones))


@st.composite
def _terms(draw: st.DrawFn) -> Terms:
    quantity = draw(
        st.none() | st.floats(min_value=0, max_value=1000, allow_nan=False, allow_infinity=False)
    )
    unit = None if quantity is None else draw(st.none() | st.sampled_from(_UNITS))
    quality = draw(st.none() | st.floats(min_value=0, max_value=10))
    max_cost = draw(st.none() | st.decimals(min_value=0, max_value=10_000, places=2))
    currency = None if max_cost is None else draw(st.none() | st.sampled_from(_CURRENCIES))
    return Terms(
        quantity=quantity, unit=unit, quality=quality, max_cost=max_cost, currency=currency
    )


def terms() -> SearchStrategy[Terms]:
    """Valid :class:`~promisekit.promise.Terms`, each term present or not.

    Quantities are floats in ``[0, 1000]``, qualities in ``[0, 10]``, cost ceilings
    decimals with two places in ``[0, 10000]``.

    Shrinks towards ``Terms()`` (no term at all), then towards zero values.

    Returns:
        A strategy generating terms.

    .. versionadded:: 0.1.0
    """
    return _terms()


def _seconds(field: str, value: timedelta) -> int:
    delta = check_duration(field, value)
    return int(delta.total_seconds())


def promises(
    *,
    made_at: SearchStrategy[datetime] | None = None,
    max_window: timedelta = timedelta(days=7),
    terms: SearchStrategy[Terms | None] | None = None,
    max_revisions: int = 2,
) -> SearchStrategy[Promise]:
    """Valid :class:`~promisekit.promise.Promise` objects, possibly revised.

    The due date is up to ``max_window`` after ``made_at``, in the same zone; each
    revision is announced up to ``max_window`` after the previous one (so some are late,
    announced after the due date they replace) and moves the due date up to
    ``max_window`` after the announcement.

    Shrinks towards an unrevised promise ``"P-0"`` due at the instant it was made, with
    no target, terms, segment, owner, commitment, metadata or predecessor.

    Args:
        made_at: Strategy for ``made_at``, by default :func:`aware_datetimes`.
        max_window: Longest time from ``made_at`` (or a revision) to ``due``.
        terms: Strategy for ``terms``, by default ``None`` or :func:`terms`.
        max_revisions: Largest number of revisions (``0`` for unrevised promises).

    Returns:
        A strategy generating promises.

    Raises:
        InvalidTypeError: An argument has the wrong type.
        InvalidValueError: ``max_window`` or ``max_revisions`` is negative.

    .. versionadded:: 0.1.0
    """
    window = _seconds("max_window", max_window)
    if isinstance(max_revisions, bool) or not isinstance(max_revisions, int):
        raise InvalidTypeError(
            f"'max_revisions' must be an int (got {type(max_revisions).__name__} {max_revisions!r})"
        )
    if max_revisions < 0:
        raise InvalidValueError(f"'max_revisions' must be >= 0 (got {max_revisions!r})")
    made_ats = aware_datetimes() if made_at is None else made_at
    all_terms: SearchStrategy[Terms | None] = (st.none() | _terms()) if terms is None else terms

    @st.composite
    def build(draw: st.DrawFn) -> Promise:
        made = draw(made_ats)
        window_seconds = draw(st.integers(0, window))
        offset = draw(st.none() | st.integers(0, window_seconds))
        number = draw(st.integers(0, 9999))
        promise = Promise(
            id=f"P-{number}",
            customer_id=f"C-{draw(st.integers(0, 9999))}",
            kind=draw(st.sampled_from(_KINDS)),
            made_at=made,
            due=_shift(made, window_seconds),
            target=None if offset is None else _shift(made, offset),
            terms=draw(all_terms),
            segment=draw(st.none() | st.sampled_from(_SEGMENTS)),
            owner=draw(st.none() | st.sampled_from(_OWNERS)),
            commitment=draw(st.none() | st.sampled_from(_COMMITMENTS)),
            metadata=draw(st.dictionaries(st.text(max_size=5), st.text(max_size=10), max_size=3)),
            supersedes=draw(st.none() | st.just(f"P-{number}-previous")),
        )
        for _ in range(draw(st.integers(0, max_revisions))):
            last_at = promise.revisions[-1].at if promise.revisions else promise.made_at
            at = _shift(last_at, draw(st.integers(0, window)))
            new_due = _shift(at, draw(st.integers(0, window)))
            if new_due.astimezone(timezone.utc) == promise.due.astimezone(timezone.utc):
                new_due = _shift(new_due, 1)
            promise = promise.revise(
                due=new_due, at=at, reason=draw(st.none() | st.sampled_from(_REASONS))
            )
        return promise

    return build()


def _shift(value: datetime, seconds: int) -> datetime:
    """Add real (not wall-clock) seconds to an aware datetime, keeping its zone."""
    return (value.astimezone(timezone.utc) + timedelta(seconds=seconds)).astimezone(value.tzinfo)


def deliveries_for(
    promise: Promise,
    *,
    min_size: int = 0,
    max_size: int = 5,
    late_by: timedelta | None = None,
) -> SearchStrategy[list[Delivery]]:
    """Lists of valid :class:`~promisekit.delivery.Delivery` records for ``promise``.

    Deliveries fall between ``promise.made_at`` and ``late_by`` after its due date
    (with extra weight exactly at the due date and one second after), in any of
    :data:`DEFAULT_TIMEZONES`. Their quantities, qualities and costs are drawn around
    the promise's terms, so the promise is sometimes kept and sometimes not. Each gets a
    distinct id ``"D-0"``, ``"D-1"``…

    Shrinks towards an empty list (or ``min_size`` deliveries at ``made_at`` that report
    nothing).

    Args:
        promise: The promise the deliveries are for.
        min_size: Fewest deliveries.
        max_size: Most deliveries.
        late_by: How long after ``due`` deliveries may still come, by default the
            promise's window, at least one hour.

    Returns:
        A strategy generating lists of deliveries.

    Raises:
        InvalidTypeError: An argument has the wrong type.
        InvalidValueError: ``late_by`` is negative.

    .. versionadded:: 0.1.0
    """
    if not isinstance(promise, Promise):
        raise InvalidTypeError(
            f"'promise' must be a Promise (got {type(promise).__name__} {promise!r})"
        )
    if late_by is None:
        late_by = max(promise.window, timedelta(hours=1))
    micro = timedelta(microseconds=1)
    late = check_duration("late_by", late_by) // micro
    made = promise.made_at.astimezone(timezone.utc)
    due_offset = (promise.due.astimezone(timezone.utc) - made) // micro
    span = due_offset + late
    one_second_late = min(due_offset + 1_000_000, span)
    offsets = st.integers(0, span) | st.sampled_from([due_offset, one_second_late])
    zones = _zones(DEFAULT_TIMEZONES)
    terms_ = promise.terms or Terms()

    def floats(low: float, high: float) -> SearchStrategy[float | None]:
        return st.none() | st.floats(min_value=low, max_value=high)

    quantities = floats(0.0, 10.0 if terms_.quantity is None else terms_.quantity)
    qualities = (
        floats(0.0, 10.0)
        if terms_.quality is None
        else floats(terms_.quality - 2.0, terms_.quality + 2.0)
    )
    ceiling = Decimal(100) if terms_.max_cost is None else terms_.max_cost
    costs = st.none() | st.decimals(min_value=0, max_value=ceiling, places=2)

    @st.composite
    def one(draw: st.DrawFn) -> Delivery:
        instant = made + draw(offsets) * micro
        return Delivery(
            promise.id,
            instant.astimezone(draw(st.sampled_from(zones))),
            quantity=draw(quantities),
            quality=draw(qualities),
            cost=draw(costs),
        )

    def with_ids(deliveries: list[Delivery]) -> list[Delivery]:
        return [
            Delivery(
                d.promise_id,
                d.at,
                quantity=d.quantity,
                quality=d.quality,
                cost=d.cost,
                id=f"D-{index}",
            )
            for index, d in enumerate(deliveries)
        ]

    return st.lists(one(), min_size=min_size, max_size=max_size).map(with_ids)


_CALENDAR_ZONES: tuple[str, ...] = (
    "America/Toronto",
    "Europe/Paris",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "UTC",
)


@st.composite
def _day_hours(draw: st.DrawFn) -> list[str]:
    cuts = sorted(draw(st.sets(st.integers(0, 96), max_size=6)))  # quarter hours
    out = []
    for i in range(0, len(cuts) - 1, 2):
        start, end = cuts[i] * 15, cuts[i + 1] * 15
        out.append(f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}")
    return out


@st.composite
def _calendars(
    draw: st.DrawFn, timezones: tuple[str, ...], years: tuple[int, int]
) -> BusinessCalendar:
    tz = draw(st.sampled_from(sorted(timezones, key=lambda z: z != "America/Toronto")))
    style = draw(st.sampled_from(["office", "always", "night", "random"]))
    hours: dict[str | int, Any]
    if style == "office":
        hours = {"mon-fri": ["08:30-12:00", "13:00-17:00"]}
    elif style == "always":
        hours = {"daily": "00:00-24:00"}
    elif style == "night":
        hours = {"daily": ["00:00-06:00", "18:00-24:00"]}
    else:
        week = [draw(_day_hours()) for _ in range(7)]
        if not any(week):
            week[0] = ["09:00-17:00"]
        hours = dict(enumerate(week))
    days = st.dates(date(years[0], 1, 1), date(years[1], 12, 31))
    holidays = draw(st.lists(days, max_size=8))
    overrides = draw(st.dictionaries(days, _day_hours(), max_size=3))
    return BusinessCalendar(tz, hours=hours, holidays=holidays, overrides=overrides)


def calendars(
    *,
    timezones: Iterable[str] = _CALENDAR_ZONES,
    years: tuple[int, int] = (2025, 2027),
) -> SearchStrategy[BusinessCalendar]:
    """Valid :class:`~promisekit.calendar.BusinessCalendar` objects.

    Office hours, 24/7, night shifts or random quarter-hour intervals per weekday, in
    zones with unusual DST (Lord Howe's 30-minute shift) by default, with up to eight
    holidays and three overrides within ``years``. Shrinks towards an office-hours
    calendar in America/Toronto without holidays or overrides.

    .. versionadded:: 0.1.0
    """
    return _calendars(tuple(timezones), years)
