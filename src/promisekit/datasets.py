"""Deterministic synthetic promise histories, for demos, docs and tests.

Nothing here is downloaded: every history is generated from a seed with the
standard library's :mod:`random`, so the same arguments always give the same
records, on every machine.

Example:
    >>> history = callback_centre(n=5, seed=1)
    >>> len(history.promises)
    5

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal

import attrs

from promisekit._validation import check_aware
from promisekit.calendar import BusinessCalendar
from promisekit.delivery import Delivery
from promisekit.errors import InvalidTypeError, InvalidValueError
from promisekit.promise import Promise, Terms

__all__ = ["SampleHistory", "callback_centre", "montreal_calendar"]


def montreal_calendar() -> BusinessCalendar:
    """The sample histories' calendar: Montréal office hours with Quebec statutory holidays.

    Monday to Friday 08:30–12:00 and 13:00–17:00 in ``America/Toronto``
    (Montréal's zone), the Fête nationale every 24 June and Canada Day every
    1 July as recurrence rules, and an early close on 24 December 2026.

    .. versionadded:: 0.1.0
    """
    return BusinessCalendar(
        "America/Toronto",
        hours={"mon-fri": ["08:30-12:00", "13:00-17:00"]},
        holiday_rules=[
            "DTSTART:20000101T000000\nRRULE:FREQ=YEARLY;BYMONTH=6;BYMONTHDAY=24",
            "DTSTART:20000101T000000\nRRULE:FREQ=YEARLY;BYMONTH=7;BYMONTHDAY=1",
        ],
        holidays=[date(2026, 12, 25), date(2026, 12, 26)],
        overrides={date(2026, 12, 24): "08:30-12:00"},
    )


@attrs.frozen
class SampleHistory:
    """A generated history: promises, their deliveries, the calendar and the "now" of the data.

    Attributes:
        calendar: the business calendar the promises were made under.
        promises: the promises, ordered by ``made_at``.
        deliveries: every delivery, ordered by promise then time.
        now: the instant the history was "exported" (after every delivery).

    .. versionadded:: 0.1.0
    """

    calendar: BusinessCalendar
    promises: tuple[Promise, ...]
    deliveries: tuple[Delivery, ...]
    now: datetime

    def deliveries_for(self, promise: Promise) -> tuple[Delivery, ...]:
        """The deliveries recorded against ``promise``."""
        return tuple(d for d in self.deliveries if d.promise_id == promise.id)

    def __iter__(self) -> Iterator[tuple[Promise, tuple[Delivery, ...]]]:
        """Iterate over ``(promise, deliveries)`` pairs."""
        by_id: dict[str, list[Delivery]] = {}
        for delivery in self.deliveries:
            by_id.setdefault(delivery.promise_id, []).append(delivery)
        for promise in self.promises:
            yield promise, tuple(by_id.get(promise.id, ()))


def callback_centre(
    n: int = 12,
    *,
    seed: int = 16,
    start: datetime | None = None,
    calendar: BusinessCalendar | None = None,
) -> SampleHistory:
    """A callback centre's history: "we'll call you back within 60 minutes", and repairs.

    Most records are callbacks promised within 60 business minutes (some "by end
    of day"); every fourth is a repair visit with a cost ceiling and a
    first-visit-fix quality term (quality 1 = fixed at the first visit).
    Durations are right-skewed (log-normal, median about 33 business minutes
    for callbacks), so most promises are kept and a few are late; one promise
    in eight is still open at ``now``.

    Args:
        n: number of promises (>= 1).
        seed: random seed; the same seed gives the same history.
        start: first request instant (aware); default Monday 2026-03-02 08:45 Montréal.
        calendar: business calendar; default :func:`montreal_calendar`.

    Raises:
        InvalidValueError: ``n`` is not positive.

    .. versionadded:: 0.1.0
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise InvalidTypeError(f"'n' must be an int (got {type(n).__name__} {n!r})")
    if n < 1:
        raise InvalidValueError(f"'n' must be at least 1 (got {n})")
    cal = calendar if calendar is not None else montreal_calendar()
    zone = cal.zone
    first = datetime(2026, 3, 2, 8, 45, tzinfo=zone) if start is None else start
    check_aware("start", first)
    rng = random.Random(seed)
    promises: list[Promise] = []
    deliveries: list[Delivery] = []
    clock = cal.next_open(first)
    last_event = clock
    for index in range(n):
        clock = cal.add(clock, timedelta(minutes=rng.randint(10, 90)))
        made_at = clock
        pid = f"P{index + 1:04d}"
        customer = f"C{rng.randint(1, max(3, n // 2)):03d}"
        segment = rng.choice(["standard", "standard", "gold"])
        if index % 4 == 3:
            window = timedelta(hours=rng.choice([8, 16]))
            due = cal.end_of_day(cal.add(made_at, window))
            work = timedelta(minutes=int(rng.lognormvariate(6.2, 0.45)))
            terms = Terms(max_cost=Decimal(200), currency="CAD", quality=1.0)
            kind = "repair"
        else:
            end_of_day = rng.random() < 0.2
            due = cal.end_of_day(made_at) if end_of_day else cal.add(made_at, timedelta(hours=1))
            work = timedelta(seconds=int(rng.lognormvariate(7.6, 0.75)))
            terms = None
            kind = "callback"
        promise = Promise(
            id=pid,
            customer_id=customer,
            kind=kind,
            segment=segment,
            made_at=made_at,
            due=due,
            terms=terms,
            owner=rng.choice(["ana", "ben", "chloé"]),
            commitment="callback-60" if kind == "callback" else None,
        )
        promises.append(promise)
        if index % 8 == 7:
            continue  # still open at `now`
        at = cal.add(made_at, work)
        if kind == "repair":
            cost = Decimal(rng.randint(90, 240))
            quality = 1.0 if rng.random() < 0.8 else 0.0
            deliveries.append(Delivery(pid, at, cost=cost, quality=quality, id=f"D{pid}"))
        else:
            deliveries.append(Delivery(pid, at, id=f"D{pid}"))
        last_event = max(last_event, at)
    now = cal.add(max(last_event, clock), timedelta(minutes=30))
    return SampleHistory(cal, tuple(promises), tuple(deliveries), now)
