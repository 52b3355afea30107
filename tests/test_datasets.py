"""Synthetic sample histories."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from promisekit.datasets import callback_centre, montreal_calendar
from promisekit.delivery import Status, assess
from promisekit.errors import InvalidTypeError, InvalidValueError, NaiveDatetimeError


def test_same_seed_same_history() -> None:
    assert callback_centre(30, seed=5) == callback_centre(30, seed=5)
    assert callback_centre(30, seed=5) != callback_centre(30, seed=6)


def test_history_is_consistent() -> None:
    history = callback_centre(200, seed=1)
    assert len(history.promises) == 200
    statuses = set()
    for promise, deliveries in history:
        assert all(d.at >= promise.made_at for d in deliveries)
        assert all(d.at <= history.now for d in deliveries)
        statuses.add(assess(promise, deliveries, now=history.now).status)
    assert {Status.KEPT, Status.LATE, Status.SHORT} <= statuses
    assert history.deliveries_for(history.promises[0]) == tuple(
        d for d in history.deliveries if d.promise_id == history.promises[0].id
    )


def test_promises_are_made_in_working_time() -> None:
    history = callback_centre(50, seed=2)
    cal = montreal_calendar()
    assert all(cal.is_open(p.made_at) for p in history.promises)


def test_bad_arguments() -> None:
    with pytest.raises(InvalidValueError, match="'n' must be at least 1"):
        callback_centre(0)
    with pytest.raises(InvalidTypeError, match="'n' must be an int"):
        callback_centre(2.5)  # type: ignore[arg-type]
    with pytest.raises(NaiveDatetimeError, match="'start'"):
        callback_centre(3, start=datetime(2026, 3, 2, 9))
    assert callback_centre(3, start=datetime(2026, 3, 2, 14, tzinfo=timezone.utc)).promises
