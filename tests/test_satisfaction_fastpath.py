"""The columnar fast path of plain rows gives exactly the numbers of the general path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promisekit.errors import InconsistentRecordError, InvalidValueError
from promisekit.satisfaction import Disconfirmation, Expectation
from promisekit.satisfaction._design import _design, _rows
from promisekit.satisfaction._fastpath import design_of, plain_design

np = pytest.importorskip("numpy")

START = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")
FIELDS = ("d", "loss_mult", "breach_mult", "offset", "duration")

pair = st.tuples(
    st.integers(0, 10**7),  # made_at offset, seconds
    st.integers(1, 10**6),  # window, seconds
    st.integers(-(10**6), 10**6),  # completion relative to due, seconds
    st.integers(0, 999_999),  # microseconds
    st.booleans(),  # promise (else self-formed)
    st.booleans(),  # Paris time (else UTC)
)


def _pairs(specs: list[tuple[int, int, int, int, bool, bool]]) -> tuple[list[Any], list[Any]]:
    expectations, outcomes = [], []
    for i, (offset, window, late, micro, promise, paris) in enumerate(specs):
        made = START + timedelta(seconds=offset, microseconds=micro)
        if paris:
            made = made.astimezone(PARIS)
        due = made + timedelta(seconds=window)
        if promise:
            e = Expectation(kind="parcel", made_at=made, due=due, request_id=f"P-{i}")
        else:
            e = Expectation.from_norm("parcel", made, timedelta(seconds=window))
        done = max(made, due + timedelta(seconds=late, microseconds=micro))
        expectations.append(e)
        outcomes.append(e.completed(done))
    return expectations, outcomes


@settings(max_examples=60, deadline=None)
@given(st.lists(pair, min_size=1, max_size=30), st.booleans())
def test_fast_path_equals_the_general_path(
    specs: list[tuple[int, int, int, int, bool, bool]], relative: bool
) -> None:
    model = Disconfirmation(relative=relative, self_weight=0.7)
    expectations, outcomes = _pairs(specs)
    fast = plain_design(np, model, expectations, outcomes)
    assert fast is not None
    slow = _design(np, model, _rows(model, expectations, outcomes, None))
    for field in FIELDS:
        assert np.array_equal(getattr(fast, field), getattr(slow, field)), field


def test_rows_that_are_not_plain_take_the_general_path() -> None:
    expectations, outcomes = _pairs([(0, 3600, 60, 0, True, False)] * 3)
    revised = Expectation(
        kind="parcel", made_at=START, due=START + timedelta(hours=2), max_cost="10"
    )
    mixed_e = [*expectations, revised]
    mixed_o = [*outcomes, revised.completed(START + timedelta(hours=1), cost=12)]
    model = Disconfirmation()
    assert plain_design(np, model, mixed_e, mixed_o) is None
    design = design_of(np, model, mixed_e, mixed_o, None)
    assert design.offset[-1] < 0  # the cost term, from the general path


def test_errors_are_worded_by_the_general_path() -> None:
    e = Expectation(kind="parcel", made_at=START, due=START + timedelta(hours=1), request_id="A")
    other = Expectation(
        kind="parcel", made_at=START, due=START + timedelta(hours=1), request_id="B"
    )
    model = Disconfirmation()
    with pytest.raises(InconsistentRecordError, match="at index 1"):
        design_of(np, model, [e, e], [e.completed(e.due), other.completed(e.due)], None)
    early = Expectation(kind="parcel", made_at=START + timedelta(hours=1), due=e.due)
    with pytest.raises(InconsistentRecordError, match="before the expectation"):
        design_of(np, model, [early], [e.completed(START)], None)
    with pytest.raises(InvalidValueError, match="one entry per expectation"):
        design_of(np, model, [e, e], [e.completed(e.due)], None)
