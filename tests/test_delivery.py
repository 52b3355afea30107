"""Tests for promisekit.delivery (Delivery, Status, Shortfall, Outcome, assess)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from promisekit.delivery import Delivery, Outcome, Shortfall, Status, assess
from promisekit.errors import (
    InconsistentRecordError,
    InvalidTypeError,
    InvalidValueError,
    NaiveDatetimeError,
)
from promisekit.promise import Promise, Terms
from promisekit.testing import aware_datetimes, deliveries_for, promises

UTC = timezone.utc
PARIS = ZoneInfo("Europe/Paris")
T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # a Tuesday
DUE = T0 + timedelta(hours=1)
SECOND = timedelta(seconds=1)
DOCS = Path(__file__).resolve().parents[1] / "docs" / "promises.md"


def make_promise(terms: Terms | None = None, **overrides: Any) -> Promise:
    fields: dict[str, Any] = {
        "id": "P-1",
        "customer_id": "C-1",
        "kind": "callback",
        "made_at": T0,
        "due": DUE,
        "terms": terms,
    }
    fields.update(overrides)
    return Promise(**fields)


def utc(value: datetime) -> datetime:
    # Real-time arithmetic and comparisons: datetime's own are wall-clock within a zone
    # (and adding a timedelta resets ``fold``).
    return value.astimezone(UTC)


def deliver(at: datetime, **kwargs: Any) -> Delivery:
    return Delivery("P-1", at, **kwargs)


class WorkingHoursCalendar:
    """A tiny stand-in for BusinessCalendar: 09:00-17:00 UTC, Monday to Friday."""

    def between(self, a: datetime, b: datetime) -> timedelta:
        if b < a:
            return -self.between(b, a)
        a, b = a.astimezone(UTC), b.astimezone(UTC)
        total = timedelta(0)
        day: date = a.date()
        while day <= b.date():
            if day.weekday() < 5:
                start = datetime.combine(day, time(9), tzinfo=UTC)
                end = datetime.combine(day, time(17), tzinfo=UTC)
                low, high = max(start, a), min(end, b)
                if high > low:
                    total += high - low
            day += timedelta(days=1)
        return total


class ElapsedCalendar:
    """A stand-in calendar where all time is working time."""

    def between(self, a: datetime, b: datetime) -> timedelta:
        return b.astimezone(UTC) - a.astimezone(UTC)


# --------------------------------------------------------------------------- Delivery


class TestDelivery:
    def test_minimal_and_full(self) -> None:
        d = Delivery("P-1", T0)
        assert (d.quantity, d.quality, d.cost, d.id, d.note) == (None,) * 5
        full = Delivery("P-1", T0, quantity=2, quality=4, cost="9.90", id="D-1", note="ok")
        assert full.quantity == 2.0
        assert isinstance(full.quantity, float)
        assert full.cost == Decimal("9.90")

    def test_frozen_hashable_keyword_only_extras(self) -> None:
        d = Delivery("P-1", T0, quantity=1)
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            d.quantity = 2  # type: ignore[misc]
        assert hash(d) == hash(Delivery("P-1", T0, quantity=1.0))
        with pytest.raises(TypeError):
            Delivery("P-1", T0, 1)  # type: ignore[misc]

    @pytest.mark.parametrize(
        ("kwargs", "error", "message"),
        [
            ({"promise_id": ""}, InvalidValueError, "'promise_id' must be a non-empty string"),
            ({"promise_id": 1}, InvalidTypeError, r"'promise_id' must be a string \(got int"),
            (
                {"at": datetime(2026, 3, 10, 9)},
                NaiveDatetimeError,
                r"'at' must be a timezone-aware datetime \(got naive 2026-03-10 09:00:00\)",
            ),
            ({"at": 0}, InvalidTypeError, r"'at' must be a timezone-aware datetime \(got int"),
            ({"quantity": -0.5}, InvalidValueError, r"'quantity' must be >= 0 \(got -0.5\)"),
            ({"quantity": float("inf")}, InvalidValueError, "'quantity' must be a finite"),
            ({"quantity": "x"}, InvalidTypeError, "'quantity' must be a number"),
            ({"quality": float("nan")}, InvalidValueError, "'quality' must be a finite"),
            ({"cost": -1}, InvalidValueError, r"'cost' must be >= 0 \(got -1\)"),
            ({"cost": "free"}, InvalidValueError, r"'cost' must be a decimal number \(got 'free'"),
            ({"cost": False}, InvalidTypeError, r"'cost' must be a decimal number .*bool"),
            ({"id": ""}, InvalidValueError, "'id' must be a non-empty string"),
            ({"note": 3}, InvalidTypeError, "'note' must be a string"),
        ],
    )
    def test_errors(self, kwargs: dict[str, Any], error: type[Exception], message: str) -> None:
        fields: dict[str, Any] = {"promise_id": "P-1", "at": T0}
        fields.update(kwargs)
        promise_id, at = fields.pop("promise_id"), fields.pop("at")
        with pytest.raises(error, match=message):
            Delivery(promise_id, at, **fields)


# --------------------------------------------------------------------------- Status/Shortfall


def test_status_values() -> None:
    assert [s.value for s in Status] == ["pending", "overdue", "kept", "late", "short"]
    assert Status("late") is Status.LATE


class TestShortfall:
    def test_empty(self) -> None:
        s = Shortfall()
        assert not s.any
        assert s.unmet == ()

    def test_met_terms_are_zero(self) -> None:
        s = Shortfall(quantity=0, quality=0, cost=0)
        assert not s.any
        assert s.cost == Decimal(0)

    def test_unmet(self) -> None:
        s = Shortfall(quantity=1, cost="0.5")
        assert s.any
        assert s.unmet == ("quantity", "cost")
        assert s.cost == Decimal("0.5")

    @pytest.mark.parametrize(
        ("kwargs", "error", "message"),
        [
            ({"quantity": -1}, InvalidValueError, r"'quantity' must be a number >= 0 \(got -1\)"),
            ({"quality": float("nan")}, InvalidValueError, "'quality' must be a number >= 0"),
            ({"quality": "1"}, InvalidTypeError, r"'quality' must be a number \(got str"),
            ({"cost": "-1"}, InvalidValueError, "'cost' must be >= 0"),
        ],
    )
    def test_errors(self, kwargs: dict[str, Any], error: type[Exception], message: str) -> None:
        with pytest.raises(error, match=message):
            Shortfall(**kwargs)


# --------------------------------------------------------------------------- Outcome


def outcome_fields(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "promise_id": "P-1",
        "revision": 0,
        "status": Status.KEPT,
        "kept": True,
        "due": DUE,
        "completed_at": DUE,
        "lateness": timedelta(0),
        "assessed_at": DUE,
    }
    fields.update(overrides)
    return fields


class TestOutcome:
    def test_direct_construction(self) -> None:
        o = Outcome(**outcome_fields(delivered_cost="3"))
        assert o.delivered_cost == Decimal(3)
        assert o.shortfall == Shortfall()
        assert o.on_time is True
        assert not o.is_open

    @pytest.mark.parametrize(
        ("overrides", "error", "message"),
        [
            ({"promise_id": ""}, InvalidValueError, "'promise_id' must be a non-empty"),
            ({"revision": -1}, InvalidValueError, r"'revision' must be >= 0 \(got -1\)"),
            ({"revision": 1.0}, InvalidTypeError, "'revision' must be an int"),
            ({"status": "kept"}, InvalidTypeError, r"'status' must be a Status member \(got str"),
            ({"kept": 1}, InvalidTypeError, r"'kept' must be a bool \(got int"),
            ({"due": datetime(2026, 3, 10)}, NaiveDatetimeError, "'due' must be a timezone-aware"),
            ({"completed_at": datetime(2026, 3, 10)}, NaiveDatetimeError, "'completed_at' must"),
            ({"assessed_at": datetime(2026, 3, 10)}, NaiveDatetimeError, "'assessed_at' must"),
            ({"lateness": 5}, InvalidTypeError, r"'lateness' must be a timedelta or None"),
            ({"business_lateness": 5.0}, InvalidTypeError, "'business_lateness' must be a"),
            ({"delivered_quantity": -1}, InvalidValueError, "'delivered_quantity' must be"),
            ({"delivered_quality": float("inf")}, InvalidValueError, "'delivered_quality' must"),
            ({"delivered_cost": "-2"}, InvalidValueError, "'delivered_cost' must be >= 0"),
            ({"shortfall": None}, InvalidTypeError, "'shortfall' must be a Shortfall instance"),
            (
                {"kept": False},
                InvalidValueError,
                r"'kept' must be True exactly when 'status' is KEPT \(got kept=False",
            ),
            (
                {"status": Status.LATE},
                InvalidValueError,
                "'kept' must be True exactly when 'status' is KEPT",
            ),
            (
                {"status": Status.OVERDUE, "kept": False},
                InvalidValueError,
                "'completed_at' must be None when 'status' is OVERDUE",
            ),
            (
                {"completed_at": None},
                InvalidValueError,
                "'completed_at' must be a datetime when 'status' is KEPT",
            ),
            (
                {"lateness": None},
                InvalidValueError,
                "'lateness' must be a timedelta when 'status' is KEPT",
            ),
            (
                {"status": Status.PENDING, "kept": False, "completed_at": None},
                InvalidValueError,
                "'lateness' must be None when 'status' is PENDING",
            ),
            (
                {
                    "status": Status.PENDING,
                    "kept": False,
                    "completed_at": None,
                    "lateness": None,
                    "business_lateness": timedelta(0),
                },
                InvalidValueError,
                "'business_lateness' must be None when 'status' is PENDING",
            ),
        ],
    )
    def test_errors(self, overrides: dict[str, Any], error: type[Exception], message: str) -> None:
        with pytest.raises(error, match=message):
            Outcome(**outcome_fields(**overrides))


# --------------------------------------------------------------------------- golden cases


class TestGolden:
    def test_delivered_exactly_at_due_is_kept(self) -> None:
        o = assess(make_promise(), [deliver(DUE)], now=DUE)
        assert o.status is Status.KEPT
        assert o.kept
        assert o.on_time is True
        assert o.lateness == timedelta(0)
        assert o.completed_at == DUE
        assert o.assessed_at == DUE
        assert o.revision == 0

    def test_one_second_late_is_late(self) -> None:
        o = assess(make_promise(), [deliver(DUE + SECOND)], now=DUE + timedelta(days=1))
        assert o.status is Status.LATE
        assert not o.kept
        assert o.on_time is False
        assert o.lateness == SECOND
        assert not o.shortfall.any

    def test_early_lateness_is_negative(self) -> None:
        o = assess(make_promise(), [deliver(T0 + timedelta(minutes=59))], now=DUE)
        assert o.status is Status.KEPT
        assert o.lateness == -timedelta(minutes=1)

    def test_partial_deliveries_completing_late(self) -> None:
        p = make_promise(Terms(quantity=10, unit="parcels"))
        ds = [
            deliver(T0 + timedelta(minutes=10), quantity=4, id="D-1"),
            deliver(DUE + timedelta(minutes=30), quantity=6, id="D-3"),
            deliver(T0 + timedelta(minutes=50), quantity=3, id="D-2"),
            deliver(DUE + timedelta(hours=2), quantity=5, id="D-4"),  # after completion
        ]
        o = assess(p, ds, now=DUE + timedelta(hours=3))
        assert o.status is Status.LATE
        assert o.completed_at == DUE + timedelta(minutes=30)
        assert o.lateness == timedelta(minutes=30)
        assert o.delivered_quantity == 13.0  # 4 + 3 + 6; D-4 came after completion
        assert o.shortfall == Shortfall(quantity=0)

    def test_partial_delivery_not_complete_yet(self) -> None:
        p = make_promise(Terms(quantity=10))
        ds = [deliver(T0 + timedelta(minutes=10), quantity=4)]
        pending = assess(p, ds, now=T0 + timedelta(minutes=30))
        assert pending.status is Status.PENDING
        assert pending.delivered_quantity == 4.0
        assert pending.shortfall.quantity == 6.0
        overdue = assess(p, ds, now=DUE + timedelta(minutes=5))
        assert overdue.status is Status.OVERDUE
        assert overdue.lateness == timedelta(minutes=5)
        assert overdue.completed_at is None

    def test_quantity_sums_are_exact(self) -> None:
        # In floats, 1e16 + 1 + 1 == 1e16: the promise would never complete.
        p = make_promise(Terms(quantity=1e16 + 2))
        ds = [deliver(T0, quantity=1e16), *(deliver(T0 + n * SECOND, quantity=1) for n in (1, 2))]
        o = assess(p, ds, now=DUE)
        assert o.status is Status.KEPT
        assert o.completed_at == T0 + 2 * SECOND
        assert o.shortfall.quantity == 0.0

    def test_quantity_term_ignores_unreported_quantities(self) -> None:
        p = make_promise(Terms(quantity=2))
        o = assess(p, [deliver(T0), deliver(T0 + SECOND)], now=DUE + SECOND)
        assert o.status is Status.OVERDUE
        assert o.delivered_quantity == 0.0
        assert o.shortfall.quantity == 2.0

    def test_zero_quantity_is_completed_by_first_delivery(self) -> None:
        p = make_promise(Terms(quantity=0))
        o = assess(p, [deliver(T0 + SECOND)], now=DUE)
        assert o.status is Status.KEPT
        assert o.completed_at == T0 + SECOND

    def test_without_quantity_term_first_delivery_completes(self) -> None:
        ds = [deliver(T0 + timedelta(minutes=20), quantity=1), deliver(DUE + SECOND, quantity=5)]
        o = assess(make_promise(), ds, now=DUE + timedelta(hours=1))
        assert o.status is Status.KEPT
        assert o.completed_at == T0 + timedelta(minutes=20)
        assert o.delivered_quantity == 1.0

    def test_without_terms_nothing_reported(self) -> None:
        o = assess(make_promise(), [deliver(T0)], now=DUE)
        assert (o.delivered_quantity, o.delivered_quality, o.delivered_cost) == (None,) * 3
        assert o.shortfall == Shortfall()

    def test_quality_below_promised_is_short(self) -> None:
        p = make_promise(Terms(quality=4))
        o = assess(p, [deliver(T0 + timedelta(minutes=30), quality=3.5)], now=DUE)
        assert o.status is Status.SHORT
        assert not o.kept
        assert o.on_time is True
        assert o.delivered_quality == 3.5
        assert o.shortfall.quality == 0.5
        assert o.shortfall.unmet == ("quality",)

    def test_quality_is_the_minimum_up_to_completion(self) -> None:
        p = make_promise(Terms(quantity=2, quality=4))
        ds = [
            deliver(T0 + SECOND, quantity=1, quality=5),
            deliver(T0 + 2 * SECOND, quantity=1, quality=4),
            deliver(T0 + 3 * SECOND, quantity=1, quality=1),  # after completion
        ]
        o = assess(p, ds, now=DUE)
        assert o.status is Status.KEPT
        assert o.delivered_quality == 4.0
        assert o.shortfall.quality == 0.0

    def test_quality_not_reported_is_not_counted_as_missed(self) -> None:
        o = assess(make_promise(Terms(quality=4)), [deliver(T0)], now=DUE)
        assert o.status is Status.KEPT
        assert o.shortfall.quality is None

    def test_cost_above_ceiling_is_short(self) -> None:
        p = make_promise(Terms(quantity=2, max_cost="20.00", currency="EUR"))
        ds = [
            deliver(T0 + SECOND, quantity=1, cost="10.10"),
            deliver(T0 + 2 * SECOND, quantity=1, cost=10),
        ]
        o = assess(p, ds, now=DUE)
        assert o.status is Status.SHORT
        assert o.delivered_cost == Decimal("20.10")
        assert o.shortfall.cost == Decimal("0.10")
        assert o.shortfall.unmet == ("cost",)

    def test_cost_at_ceiling_is_kept(self) -> None:
        p = make_promise(Terms(max_cost="20"))
        o = assess(p, [deliver(T0, cost="20.00")], now=DUE)
        assert o.status is Status.KEPT
        assert o.shortfall.cost == Decimal(0)

    def test_cost_sum_is_exact(self) -> None:
        p = make_promise(Terms(quantity=2, max_cost=Decimal("1E+30")))
        ds = [
            deliver(T0, quantity=1, cost=Decimal("1E+30")),
            deliver(T0 + SECOND, quantity=1, cost=Decimal("0.000001")),
        ]
        o = assess(p, ds, now=DUE)
        assert o.delivered_cost == Decimal("1000000000000000000000000000000.000001")
        assert o.shortfall.cost == Decimal("0.000001")
        assert o.status is Status.SHORT

    def test_late_and_short_is_late_with_shortfall(self) -> None:
        p = make_promise(Terms(quantity=1, quality=4, max_cost=5))
        o = assess(p, [deliver(DUE + SECOND, quantity=1, quality=2, cost=6)], now=DUE + SECOND)
        assert o.status is Status.LATE
        assert not o.kept
        assert o.shortfall.any
        assert o.shortfall.unmet == ("quality", "cost")
        assert o.lateness == SECOND

    def test_pending_vs_overdue(self) -> None:
        p = make_promise()
        pending = assess(p, [], now=DUE)
        assert pending.status is Status.PENDING
        assert pending.is_open
        assert pending.on_time is None
        assert pending.lateness is None
        assert pending.business_lateness is None
        assert pending.completed_at is None
        overdue = assess(p, [], now=DUE + SECOND)
        assert overdue.status is Status.OVERDUE
        assert overdue.is_open
        assert overdue.on_time is False
        assert overdue.lateness == SECOND
        assert not overdue.kept

    def test_assess_at_made_at(self) -> None:
        assert assess(make_promise(), [deliver(T0)], now=T0).status is Status.KEPT

    def test_future_deliveries_are_ignored(self) -> None:
        p = make_promise()
        later = deliver(T0 + timedelta(minutes=30))
        assert assess(p, [later], now=T0 + timedelta(minutes=29)).status is Status.PENDING
        assert assess(p, [later], now=T0 + timedelta(minutes=30)).status is Status.KEPT
        assert assess(p, [deliver(DUE + SECOND)], now=DUE + SECOND / 2).status is Status.OVERDUE

    def test_same_instant_deliveries_count_together(self) -> None:
        p = make_promise(Terms(quantity=2, quality=3))
        ds = [deliver(T0, quantity=1, quality=5), deliver(T0, quantity=1, quality=2)]
        for order in (ds, ds[::-1]):
            o = assess(p, order, now=DUE)
            assert o.delivered_quality == 2.0
            assert o.status is Status.SHORT

    def test_deliveries_in_other_zones(self) -> None:
        # 10:00:01 Paris is 09:00:01 UTC: before the 10:00 UTC due date.
        o = assess(
            make_promise(), [deliver(datetime(2026, 3, 10, 10, 0, 1, tzinfo=PARIS))], now=DUE
        )
        assert o.status is Status.KEPT
        assert o.completed_at is not None
        assert o.completed_at.tzinfo is UTC  # expressed in the zone of the due date
        assert o.lateness == -(timedelta(hours=1) - SECOND)

    def test_fold_delivery_an_hour_later_at_the_same_wall_time_is_late(self) -> None:
        # 01:30 happens twice in Toronto on 2026-11-01; fold=1 is an hour after fold=0.
        toronto = ZoneInfo("America/Toronto")
        due = datetime(2026, 11, 1, 1, 30, tzinfo=toronto)
        p = make_promise(made_at=due - timedelta(hours=2), due=due)
        delivered = due.replace(fold=1)
        o = assess(p, [deliver(delivered)], now=delivered)
        assert o.status is Status.LATE
        assert o.lateness == timedelta(hours=1)
        assert o.completed_at is not None
        assert o.completed_at.fold == 1

    def test_accepts_any_iterable(self) -> None:
        ds = (deliver(T0 + timedelta(minutes=m)) for m in (50, 20))
        assert assess(make_promise(), ds, now=DUE).completed_at == T0 + timedelta(minutes=20)


# --------------------------------------------------------------------------- revisions


class TestRevisionsInAssessment:
    def test_measured_against_the_revised_due(self) -> None:
        p = make_promise().revise(due=DUE + timedelta(hours=2), at=T0 + timedelta(minutes=30))
        o = assess(p, [deliver(DUE + timedelta(hours=1))], now=DUE + timedelta(hours=3))
        assert o.status is Status.KEPT
        assert o.revision == 1
        assert o.due == DUE + timedelta(hours=2)
        assert o.lateness == -timedelta(hours=1)

    def test_revision_after_now_is_ignored(self) -> None:
        p = make_promise().revise(due=DUE + timedelta(hours=2), at=DUE + timedelta(minutes=30))
        o = assess(p, [], now=DUE + timedelta(minutes=10))
        assert o.status is Status.OVERDUE
        assert o.revision == 0
        assert o.due == DUE
        later = assess(p, [], now=DUE + timedelta(minutes=40))
        assert later.status is Status.PENDING
        assert later.revision == 1

    def test_late_revision_reopens_an_overdue_promise(self) -> None:
        p = make_promise().revise(due=DUE + timedelta(hours=2), at=DUE + timedelta(minutes=30))
        assert p.revisions[0].late
        o = assess(p, [], now=DUE + timedelta(hours=1))
        assert o.status is Status.PENDING
        assert o.due == DUE + timedelta(hours=2)

    def test_revision_after_completion_cannot_rescue_a_late_promise(self) -> None:
        p = make_promise().revise(due=DUE + timedelta(hours=5), at=DUE + timedelta(hours=2))
        o = assess(p, [deliver(DUE + timedelta(hours=1))], now=DUE + timedelta(hours=6))
        assert o.status is Status.LATE
        assert o.revision == 0
        assert o.due == DUE
        assert o.lateness == timedelta(hours=1)

    def test_revision_at_the_instant_of_completion_counts(self) -> None:
        p = make_promise().revise(due=DUE + timedelta(hours=5), at=DUE + timedelta(hours=1))
        o = assess(p, [deliver(DUE + timedelta(hours=1))], now=DUE + timedelta(hours=6))
        assert o.status is Status.KEPT
        assert o.revision == 1


# --------------------------------------------------------------------------- business lateness


class TestBusinessLateness:
    def test_late_overnight(self) -> None:
        # Due Tuesday 16:00 UTC, delivered Wednesday 10:00: 18 h late, 2 working hours.
        p = make_promise(due=T0.replace(hour=16))
        o = assess(
            p,
            [deliver(T0.replace(day=11, hour=10))],
            now=T0.replace(day=12),
            calendar=WorkingHoursCalendar(),
        )
        assert o.status is Status.LATE
        assert o.lateness == timedelta(hours=18)
        assert o.business_lateness == timedelta(hours=2)

    def test_early_is_negative(self) -> None:
        p = make_promise(due=T0.replace(hour=16))
        o = assess(
            p,
            [deliver(T0.replace(hour=12))],
            now=T0.replace(hour=13),
            calendar=WorkingHoursCalendar(),
        )
        assert o.status is Status.KEPT
        assert o.business_lateness == -timedelta(hours=4)

    def test_overdue_so_far(self) -> None:
        p = make_promise(due=T0.replace(hour=16))
        o = assess(p, [], now=T0.replace(hour=20), calendar=WorkingHoursCalendar())
        assert o.status is Status.OVERDUE
        assert o.lateness == timedelta(hours=4)
        assert o.business_lateness == timedelta(hours=1)

    def test_none_when_pending_or_without_calendar(self) -> None:
        p = make_promise()
        assert assess(p, [], now=T0, calendar=WorkingHoursCalendar()).business_lateness is None
        assert assess(p, [deliver(DUE)], now=DUE).business_lateness is None

    def test_calendar_without_between(self) -> None:
        with pytest.raises(
            InvalidTypeError, match=r"'calendar' must be a BusinessCalendar .*\(got str"
        ):
            assess(make_promise(), [], now=DUE, calendar="Mon-Fri")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- errors


class TestAssessErrors:
    def test_promise_type(self) -> None:
        with pytest.raises(InvalidTypeError, match=r"'promise' must be a Promise \(got str"):
            assess("P-1", [], now=DUE)  # type: ignore[arg-type]

    def test_naive_now(self) -> None:
        with pytest.raises(
            NaiveDatetimeError,
            match=r"'now' must be a timezone-aware datetime \(got naive 2026-03-10 10:00:00\)",
        ):
            assess(make_promise(), [], now=datetime(2026, 3, 10, 10))

    def test_now_not_a_datetime(self) -> None:
        with pytest.raises(InvalidTypeError, match="'now' must be a timezone-aware datetime"):
            assess(make_promise(), [], now="2026-03-10")  # type: ignore[arg-type]

    def test_now_before_made_at(self) -> None:
        with pytest.raises(InvalidValueError, match="'now' must not be before the promise's"):
            assess(make_promise(), [], now=T0 - SECOND)

    def test_deliveries_not_iterable(self) -> None:
        with pytest.raises(InvalidTypeError, match="'deliveries' must be an iterable of Delivery"):
            assess(make_promise(), deliver(T0), now=DUE)  # type: ignore[arg-type]
        with pytest.raises(InvalidTypeError, match="'deliveries' must be an iterable of Delivery"):
            assess(make_promise(), 3, now=DUE)  # type: ignore[arg-type]

    def test_deliveries_wrong_items(self) -> None:
        with pytest.raises(
            InvalidTypeError, match=r"'deliveries' must contain only Delivery .*at index 1"
        ):
            assess(make_promise(), [deliver(T0), "D-2"], now=DUE)  # type: ignore[list-item]

    def test_delivery_for_another_promise(self) -> None:
        other = Delivery("P-2", T0, id="D-9")
        with pytest.raises(
            InconsistentRecordError,
            match=r"'deliveries' must all be for promise 'P-1' \(got delivery 'D-9' for "
            r"promise 'P-2'\)",
        ):
            assess(make_promise(), [other], now=DUE)

    def test_delivery_for_another_promise_in_the_future_is_still_refused(self) -> None:
        with pytest.raises(InconsistentRecordError, match=r"delivery #0 for promise 'P-2'"):
            assess(make_promise(), [Delivery("P-2", DUE + SECOND)], now=DUE)

    def test_delivery_before_made_at(self) -> None:
        with pytest.raises(
            InconsistentRecordError,
            match=r"'deliveries' must not be before the promise's 'made_at' "
            r"\(2026-03-10 09:00:00\+00:00\) \(got delivery #1 at 2026-03-10 08:59:59\+00:00\)",
        ):
            assess(make_promise(), [deliver(T0), deliver(T0 - SECOND)], now=DUE)

    def test_errors_are_value_errors(self) -> None:
        with pytest.raises(ValueError, match="'P-2'"):
            assess(make_promise(), [Delivery("P-2", T0)], now=DUE)


# --------------------------------------------------------------------------- properties


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Promise, list[Delivery], datetime]:
    promise = draw(promises())
    deliveries = draw(deliveries_for(promise))
    horizon = utc(promise.due) + max(promise.window, timedelta(hours=1)) * 2
    now = draw(st.just(promise.due) | aware_datetimes(promise.made_at, horizon))
    return promise, deliveries, now


@given(promises().flatmap(lambda p: st.tuples(st.just(p), deliveries_for(p, max_size=3))))
def test_deliveries_for_generates_valid_deliveries(case: tuple[Promise, list[Delivery]]) -> None:
    promise, deliveries = case
    assert len(deliveries) <= 3
    assert [d.id for d in deliveries] == [f"D-{i}" for i in range(len(deliveries))]
    late_by = max(promise.window, timedelta(hours=1))
    for d in deliveries:
        assert d.promise_id == promise.id
        assert utc(promise.made_at) <= utc(d.at) <= utc(promise.due) + late_by


def test_deliveries_for_argument_errors() -> None:
    with pytest.raises(InvalidTypeError, match=r"'promise' must be a Promise \(got str"):
        deliveries_for("P-1")  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="'late_by' must not be negative"):
        deliveries_for(make_promise(), late_by=-SECOND)


@given(scenarios())
def test_assess_is_deterministic(case: tuple[Promise, list[Delivery], datetime]) -> None:
    promise, deliveries, now = case
    first = assess(promise, deliveries, now=now)
    again = assess(attrs.evolve(promise), [attrs.evolve(d) for d in deliveries], now=now)
    assert first == again
    assert repr(first) == repr(again)


@given(scenarios(), st.randoms(use_true_random=False))
def test_order_of_deliveries_does_not_matter(
    case: tuple[Promise, list[Delivery], datetime], rnd: Any
) -> None:
    promise, deliveries, now = case
    shuffled = list(deliveries)
    rnd.shuffle(shuffled)
    expected = assess(promise, deliveries, now=now)
    actual = assess(promise, shuffled, now=now)
    assert actual == expected
    assert repr(actual) == repr(expected)


@given(scenarios(), st.data())
def test_delivery_after_completion_changes_nothing(
    case: tuple[Promise, list[Delivery], datetime], data: st.DataObject
) -> None:
    promise, deliveries, now = case
    outcome = assess(promise, deliveries, now=now)
    if outcome.completed_at is None:
        return
    at = data.draw(
        aware_datetimes(
            utc(outcome.completed_at) + timedelta(microseconds=1), utc(now) + timedelta(days=1)
        )
    )
    extra = Delivery(
        promise.id,
        at,
        quantity=data.draw(st.none() | st.floats(0, 1e6)),
        quality=data.draw(st.none() | st.floats(-1e6, 1e6)),
        cost=data.draw(st.none() | st.decimals(0, 10**6, places=2)),
    )
    assert assess(promise, [*deliveries, extra], now=now) == outcome


@given(scenarios(), st.data())
def test_closed_outcome_is_stable_over_time(
    case: tuple[Promise, list[Delivery], datetime], data: st.DataObject
) -> None:
    promise, deliveries, now = case
    outcome = assess(promise, deliveries, now=now)
    later = data.draw(aware_datetimes(now, utc(now) + timedelta(days=30)))
    again = assess(promise, deliveries, now=later)
    if outcome.is_open:
        # An overdue promise only becomes pending again when given a new date.
        revised_later = any(utc(r.at) > utc(now) for r in promise.revisions)
        if outcome.status is Status.OVERDUE and not revised_later:
            assert again.status in (Status.OVERDUE, Status.LATE)
    else:
        assert attrs.evolve(again, assessed_at=now) == outcome


@given(scenarios())
def test_lateness_sign_agrees_with_status(case: tuple[Promise, list[Delivery], datetime]) -> None:
    promise, deliveries, now = case
    outcome = assess(promise, deliveries, now=now, calendar=ElapsedCalendar())
    business = assess(promise, deliveries, now=now, calendar=WorkingHoursCalendar())
    zero = timedelta(0)
    if outcome.status is Status.PENDING:
        assert outcome.lateness is None
        assert outcome.business_lateness is None
        assert utc(now) <= utc(outcome.due)
    else:
        assert outcome.lateness is not None
        assert outcome.business_lateness == outcome.lateness
        assert business.business_lateness is not None
        if outcome.status in (Status.LATE, Status.OVERDUE):
            assert outcome.lateness > zero
            assert business.business_lateness >= zero
            assert outcome.on_time is False
        else:
            assert outcome.lateness <= zero
            assert business.business_lateness <= zero
            assert outcome.on_time is True
    assert outcome.kept == (outcome.status is Status.KEPT)
    assert outcome.kept <= (not outcome.shortfall.any)
    if outcome.status is Status.SHORT:
        assert outcome.shortfall.any


# --------------------------------------------------------------------------- docs


def test_docs_examples_run() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.DOTALL)
    assert blocks
    namespace: dict[str, Any] = {"__name__": "docs_promises"}
    for index, block in enumerate(blocks):
        exec(compile(block, f"{DOCS.name}[block {index}]", "exec"), namespace)


def test_shortfall_refuses_an_integer_too_large_for_a_float() -> None:
    # Issue 11: float() of such an integer raised OverflowError.
    with pytest.raises(InvalidValueError, match=r"'quantity' must be a number that fits a float"):
        Shortfall(quantity=10**5000)
