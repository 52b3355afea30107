"""Deterministic synthetic promise histories, for demos, docs, tests and benchmarks.

Nothing here is downloaded: every history is generated from a seed, so the same
arguments always give the same records, on every machine. Two kinds, named by what they
return:

* **domain objects** — :func:`callback_centre_promises` returns a :class:`SampleHistory`
  of :class:`~promisekit.promise.Promise` and :class:`~promisekit.delivery.Delivery`
  records (pure Python, the standard library's :mod:`random`);
* **columnar histories** — :func:`callback_centre_history`, :func:`field_repairs_history`
  and :func:`parcels_history` return one row per promise, from 100 to 10,000,000 rows, as
  a pandas DataFrame or a dict of numpy arrays. They need the ``analysis`` extra; numpy
  is imported when one is called, so importing this module stays light. How their rows
  and scores are drawn: :mod:`promisekit.analysis.datasets`.

Every history is in business time of :func:`montreal_calendar` unless another calendar
is given.

Example:
    >>> history = callback_centre_promises(n=5, seed=1)
    >>> len(history.promises)
    5

.. versionchanged:: 0.1.0
   ``callback_centre`` is now :func:`callback_centre_promises` (the old name is a
   deprecated alias), beside the columnar ``*_history`` functions.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final, TypeVar

import attrs

from promisekit._validation import check_aware
from promisekit.calendar import BusinessCalendar
from promisekit.delivery import Delivery
from promisekit.errors import InvalidTypeError, InvalidValueError
from promisekit.promise import Promise, Terms

if TYPE_CHECKING:
    from promisekit.satisfaction import SatisfactionModel

__all__ = [
    "SCORE_SCALE",
    "SLOW_TIER_FACTOR",
    "TIERS",
    "SampleHistory",
    "callback_centre",
    "callback_centre_history",
    "callback_centre_promises",
    "field_repairs_history",
    "montreal_calendar",
    "parcels_history",
]

#: Customer tiers of the columnar histories and their shares of the requests.
#:
#: .. versionadded:: 0.1.0
TIERS: tuple[tuple[str, float], ...] = (("bronze", 0.5), ("silver", 0.35), ("gold", 0.15))
#: How much slower the ``"bronze"`` tier is served with ``slow_tier=True`` (median
#: business duration multiplied by this).
#:
#: .. versionadded:: 0.1.0
SLOW_TIER_FACTOR = 1.5
#: Logistic scale of the ordered logit that draws the ``score`` column from an unfitted
#: satisfaction model (a fitted model's own scale is used instead); the same scale as the
#: satisfaction tests' simulated surveys.
#:
#: .. versionadded:: 0.1.0
SCORE_SCALE = 0.4


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


def callback_centre_promises(
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

    Returns:
        A :class:`SampleHistory` of domain objects (for columns at scale, see
        :func:`callback_centre_history`).

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


def callback_centre(
    n: int = 12,
    *,
    seed: int = 16,
    start: datetime | None = None,
    calendar: BusinessCalendar | None = None,
) -> SampleHistory:
    """Deprecated alias of :func:`callback_centre_promises` (same arguments, same result).

    .. deprecated:: 0.1.0
       Use :func:`callback_centre_promises` (domain objects) or
       :func:`callback_centre_history` (columns); this alias warns.

    .. versionadded:: 0.1.0
    """
    _deprecated("promisekit.datasets.callback_centre", "callback_centre_promises")
    return callback_centre_promises(n, seed=seed, start=start, calendar=calendar)


def _deprecated(old: str, new: str) -> None:
    """Warn that ``old`` is a deprecated alias of ``promisekit.datasets.<new>``."""
    warnings.warn(
        f"{old} is deprecated: use promisekit.datasets.{new} (same arguments, same result)",
        DeprecationWarning,
        stacklevel=3,
    )


# --------------------------------------------------------------------------- columnar histories


class _DefaultModel:
    """The default ``score_model``: a fresh ``Disconfirmation()`` for every call.

    (A shared default instance could be fitted in place by a caller.)
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "Disconfirmation()"


_DISCONFIRMATION: Final = _DefaultModel()

_F = TypeVar("_F", bound=Callable[..., Any])

_HISTORY_ARGS = """
    Args:
        n: Number of promises (rows), 1 to 100,000,000 (100 to 10,000,000 is typical).
        seed: Random seed; the same arguments give the same rows.
        slow_tier: Serve the ``"bronze"`` tier :data:`SLOW_TIER_FACTOR` times slower.
        start: First instant of the period (aware); default Monday 2026-01-05 08:30
            in the calendar's zone.
        days: Length of the period in calendar days; ``now`` is its end.
        calendar: Business calendar; default :func:`montreal_calendar`.
        as_frame: ``True`` for a DataFrame, ``False`` for a dict of numpy arrays
            (with a ``"now"`` entry), ``None`` for a DataFrame when pandas is installed.
        score_model: The satisfaction model the ``score`` column is drawn from
            (default: a fresh :class:`~promisekit.satisfaction.Disconfirmation`), or
            ``None`` for :func:`~promisekit.analysis.datasets.satisfaction_proxy`; see
            :mod:`promisekit.analysis.datasets`.

    Returns:
        A pandas DataFrame (``frame.attrs["now"]`` is the export instant) or a dict of
        numpy arrays; see :mod:`promisekit.analysis.datasets` for the columns.

    Raises:
        InvalidTypeError: an argument has the wrong type (``score_model`` without a
            ``score`` method).
        InvalidValueError: ``n`` or ``days`` is out of range.
        MissingDependencyError: numpy is not installed, or ``as_frame=True`` without
            pandas.

    .. versionadded:: 0.1.0
"""


def _history_doc(func: _F) -> _F:
    """Complete a columnar history's docstring with the arguments all three share."""
    func.__doc__ = (func.__doc__ or "").rstrip() + "\n" + _HISTORY_ARGS
    return func


def _histories() -> ModuleType:
    """The numpy generators, :mod:`promisekit.analysis._histories`, imported on first use.

    The one function-level import of this module: it keeps ``import promisekit.datasets``
    free of numpy (the ``analysis`` extra). The generators depend on this module (its
    calendar and constants), never the other way round at import time.
    """
    from promisekit.analysis import _histories  # numpy, on demand: see the docstring

    return _histories


@_history_doc
def callback_centre_history(
    n: int = 10_000,
    *,
    seed: int = 0,
    slow_tier: bool = False,
    start: datetime | None = None,
    days: int = 365,
    calendar: BusinessCalendar | None = None,
    as_frame: bool | None = None,
    score_model: SatisfactionModel | _DefaultModel | None = _DISCONFIRMATION,
) -> Any:
    """A callback centre's columns: "we'll call you back within 60 minutes" (business minutes).

    Callbacks take a median of 33 business minutes (log-normal, σ = 0.6), so about one
    in six is late; a late-running callback is revised with probability 0.15. No
    non-time terms (``short`` is always false).

    Example:
        >>> rows = callback_centre_history(1_000, seed=1, as_frame=False)
        >>> len(rows["made_at"]), sorted(set(rows["segment"]))
        (1000, ['bronze', 'gold', 'silver'])
    """
    return _histories().callback_centre(
        n, seed, slow_tier, start, days, calendar, as_frame, score_model
    )


@_history_doc
def field_repairs_history(
    n: int = 10_000,
    *,
    seed: int = 0,
    slow_tier: bool = False,
    start: datetime | None = None,
    days: int = 365,
    calendar: BusinessCalendar | None = None,
    as_frame: bool | None = None,
    score_model: SatisfactionModel | _DefaultModel | None = _DISCONFIRMATION,
) -> Any:
    """Field repairs' columns: a visit within one or two business days, first-visit fix.

    The window is one business day (7.5 business hours, 60 %) or two; the visit takes
    a median of 60 % of it (log-normal, σ = 0.5). A repair is ``short`` when it is not
    fixed at the first visit (15 %) or costs more than its ceiling (``max_cost`` of
    150, 200 or 250; costs are log-normal around 150). Late-running repairs are revised
    with probability 0.5.
    """
    return _histories().field_repairs(
        n, seed, slow_tier, start, days, calendar, as_frame, score_model
    )


@_history_doc
def parcels_history(
    n: int = 10_000,
    *,
    seed: int = 0,
    slow_tier: bool = False,
    start: datetime | None = None,
    days: int = 365,
    calendar: BusinessCalendar | None = None,
    as_frame: bool | None = None,
    score_model: SatisfactionModel | _DefaultModel | None = _DISCONFIRMATION,
) -> Any:
    """Parcels' columns: delivery within 2, 3 or 5 business days, with a number of parcels.

    Delivery takes a median of 60 % of the window (log-normal, σ = 0.4). An order of
    1–5 parcels is ``short`` when one is missing (3 %). Late-running deliveries are
    revised with probability 0.5.
    """
    return _histories().parcels(n, seed, slow_tier, start, days, calendar, as_frame, score_model)
