"""Synthetic sample histories."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone

import pytest

import promisekit.datasets as datasets
from promisekit.datasets import callback_centre_promises, montreal_calendar
from promisekit.delivery import Status, assess
from promisekit.errors import InvalidTypeError, InvalidValueError, NaiveDatetimeError


def test_same_seed_same_history() -> None:
    assert callback_centre_promises(30, seed=5) == callback_centre_promises(30, seed=5)
    assert callback_centre_promises(30, seed=5) != callback_centre_promises(30, seed=6)


def test_history_is_consistent() -> None:
    history = callback_centre_promises(200, seed=1)
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
    history = callback_centre_promises(50, seed=2)
    cal = montreal_calendar()
    assert all(cal.is_open(p.made_at) for p in history.promises)


def test_bad_arguments() -> None:
    with pytest.raises(InvalidValueError, match="'n' must be at least 1"):
        callback_centre_promises(0)
    with pytest.raises(InvalidTypeError, match="'n' must be an int"):
        callback_centre_promises(2.5)  # type: ignore[arg-type]
    with pytest.raises(NaiveDatetimeError, match="'start'"):
        callback_centre_promises(3, start=datetime(2026, 3, 2, 9))
    assert callback_centre_promises(3, start=datetime(2026, 3, 2, 14, tzinfo=timezone.utc)).promises


def test_old_name_is_a_deprecated_alias() -> None:
    with pytest.warns(DeprecationWarning, match=r"promisekit\.datasets\.callback_centre_promises"):
        history = datasets.callback_centre(20, seed=3)
    assert history == callback_centre_promises(20, seed=3)


def test_import_stays_light() -> None:
    code = (
        "import sys, promisekit.datasets; "
        "print(sorted(m for m in ('numpy', 'pandas', 'promisekit.analysis') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_columnar_histories_need_numpy() -> None:
    code = (
        "import sys; sys.modules['numpy'] = None\n"
        "from promisekit.errors import MissingDependencyError\n"
        "from promisekit.datasets import parcels_history\n"
        "try:\n"
        "    parcels_history(10)\n"
        "except MissingDependencyError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "numpy" in out and "promisekit[analysis]" in out


@pytest.mark.parametrize(
    "name", ["callback_centre_history", "field_repairs_history", "parcels_history"]
)
def test_columnar_histories_share_their_documented_arguments(name: str) -> None:
    doc = getattr(datasets, name).__doc__
    assert "score_model:" in doc and "Returns:" in doc and ".. versionadded:: 0.1.0" in doc
