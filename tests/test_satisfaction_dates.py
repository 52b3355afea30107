"""Due dates that are calendar dates: a due at midnight read as the end of that day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from promisekit.delivery import Delivery, assess
from promisekit.errors import InvalidTypeError, InvalidValueError, NaiveDatetimeError
from promisekit.promise import Promise
from promisekit.satisfaction import Disconfirmation, Expectation, Level
from promisekit.satisfaction._dates import end_of_day

PARIS = ZoneInfo("Europe/Paris")
MADE = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
DATE = datetime(2026, 3, 5, tzinfo=UTC)  # "estimated delivery: 5 March"


def test_end_of_day_in_the_dues_zone_and_across_daylight_saving() -> None:
    assert end_of_day(DATE) == datetime(2026, 3, 5, 23, 59, 59, 999_999, tzinfo=UTC)
    # 29 March 2026 in Paris has 23 hours: its end is still 23:59:59.999999 local
    spring = datetime(2026, 3, 29, tzinfo=PARIS)
    last = end_of_day(spring)
    assert (last.hour, last.minute, last.microsecond) == (23, 59, 999_999)
    assert last.utcoffset() == timedelta(hours=2)
    elapsed = last.astimezone(UTC) - spring.astimezone(UTC)  # real time, not wall time
    assert elapsed == timedelta(hours=23) - timedelta(microseconds=1)
    # a zone given by name: midnight in Sao Paulo, stored in UTC
    stored = datetime(2026, 3, 5, 3, 0, tzinfo=UTC)
    local = end_of_day(stored, "America/Sao_Paulo")
    assert local.isoformat() == "2026-03-05T23:59:59.999999-03:00"


def test_same_day_delivery_is_on_time() -> None:
    stated = Expectation(kind="parcel", made_at=MADE, due=DATE, request_id="P-1")
    dated = stated.end_of_day()
    assert dated.stated_due == DATE and dated.due > DATE
    afternoon = stated.completed(DATE + timedelta(hours=15))  # assessed against midnight
    model = Disconfirmation(relative=False, unit=timedelta(days=1))
    as_instant = model.score(stated, afternoon)
    as_date = model.score(dated, afternoon)
    assert as_instant.value < 0 and as_date.value > 0
    assert as_date.label >= Level.SATISFIED
    next_day = stated.completed(DATE + timedelta(days=1, hours=1))
    assert model.score(dated, next_day).value < 0
    assert dated.end_of_day() is dated  # already read as a date


def test_from_promise_with_due_is_date_and_assessed_outcomes() -> None:
    promise = Promise(id="P-7", customer_id="C", kind="parcel", made_at=MADE, due=DATE)
    expectation = Expectation.from_promise(promise, due_is_date=True)
    assert expectation.due == end_of_day(DATE) and expectation.stated_due == DATE
    delivered = DATE + timedelta(hours=18)
    outcome = assess(promise, [Delivery("P-7", delivered)], now=delivered)
    model = Disconfirmation(relative=False, unit=timedelta(days=1))
    assert model.score(expectation, outcome).value > 0
    # the columnar fit path reads the same rows the same way
    np = pytest.importorskip("numpy")
    from promisekit.satisfaction._design import _design, _rows
    from promisekit.satisfaction._fastpath import plain_design

    fast = plain_design(np, model, [expectation], [outcome])
    slow = _design(np, model, _rows(model, [expectation], [outcome], None))
    assert fast is not None
    assert fast.d.tolist() == slow.d.tolist() and fast.breach_mult.tolist() == [0.0]


def test_errors() -> None:
    with pytest.raises(InvalidValueError, match="'due' must be at midnight"):
        Expectation(kind="parcel", made_at=MADE, due=DATE + timedelta(hours=9)).end_of_day()
    with pytest.raises(InvalidValueError, match="'due' must be at midnight"):
        end_of_day(DATE, "America/Sao_Paulo")  # midnight UTC is 21:00 there
    with pytest.raises(InvalidValueError, match="zone"):
        end_of_day(DATE, "Mars/Olympus_Mons")
    with pytest.raises(InvalidTypeError, match="'zone'"):
        end_of_day(DATE, 3)  # type: ignore[arg-type]
    with pytest.raises(NaiveDatetimeError):
        end_of_day(datetime(2026, 3, 5))
    promise = Promise(id="P-8", customer_id="C", kind="parcel", made_at=MADE, due=DATE)
    revised = promise.revise(due=DATE + timedelta(days=2), at=MADE + timedelta(hours=1))
    with pytest.raises(InvalidValueError, match="'revisions' must be empty"):
        Expectation.from_promise(revised, due_is_date=True)
    with pytest.raises(InvalidTypeError, match="'due_is_date' must be a bool"):
        Expectation.from_promise(promise, due_is_date="yes")  # type: ignore[arg-type]
    with pytest.raises(NaiveDatetimeError):
        Expectation(kind="parcel", made_at=MADE, due=DATE, stated_due=datetime(2026, 3, 5))
