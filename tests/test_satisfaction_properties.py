"""Property tests of the satisfaction models (Hypothesis).

Strategies come from :mod:`promisekit.testing` (promises, with revisions and terms);
the helpers below only turn a promise and an instant into an outcome.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import attrs
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from promisekit.calendar import BusinessCalendar
from promisekit.delivery import Delivery, Outcome, assess
from promisekit.promise import Promise
from promisekit.satisfaction import (
    Disconfirmation,
    Expectation,
    ProspectValue,
    Satisfaction,
    ZoneOfTolerance,
)
from promisekit.testing import deliveries_for, promises, terms

OFFICE = BusinessCalendar("Europe/Paris", hours={"mon-fri": ["09:00-12:00", "13:00-17:00"]})
CALENDARS = st.sampled_from([None, OFFICE])
MODELS = st.sampled_from(
    [
        Disconfirmation(),
        Disconfirmation(relative=False, unit=timedelta(hours=4)),
        Disconfirmation(value=ProspectValue(0.5, 0.3, 3.0, gain_cap=0.5, loss_cap=2.0)),
        ZoneOfTolerance(-0.1, 0.5),
        ZoneOfTolerance(0.0, 0.3, breach=0.4),
    ]
)
WINDOW = timedelta(days=2)

PROPERTY = settings(max_examples=100, deadline=None)
BATCH = settings(max_examples=30, deadline=None)


def utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc)


def completed(promise: Promise, at: datetime) -> Outcome:
    quantity = None if promise.terms is None else promise.terms.quantity
    return assess(promise, [Delivery(promise.id, at, quantity=quantity)], now=at)


def start_of_history(promise: Promise) -> datetime:
    """After the promise and its every revision were announced."""
    moments = [promise.made_at, *(r.at for r in promise.revisions)]
    return max(moments, key=utc)


def score(
    model: Disconfirmation | ZoneOfTolerance,
    promise: Promise,
    at: datetime,
    cal: BusinessCalendar | None,
) -> Satisfaction:
    return model.score(Expectation.from_promise(promise, cal), completed(promise, at))


seconds = st.integers(min_value=0, max_value=int(3 * WINDOW.total_seconds()))


@PROPERTY
@given(
    promise=promises(max_window=WINDOW, terms=st.none() | terms()),
    a=seconds,
    b=seconds,
    cal=CALENDARS,
    model=MODELS,
)
def test_delivering_earlier_never_lowers_satisfaction(
    promise: Promise, a: int, b: int, cal: BusinessCalendar | None, model: Disconfirmation
) -> None:
    start = start_of_history(promise)
    early = score(model, promise, start + timedelta(seconds=min(a, b)), cal)
    late = score(model, promise, start + timedelta(seconds=max(a, b)), cal)
    assert early.value >= late.value - 1e-12
    assert early.label >= late.label
    assert early.expected_csat >= late.expected_csat - 1e-12


@PROPERTY
@given(
    promise=promises(max_window=WINDOW, max_revisions=0, terms=st.none() | terms()),
    extra=st.integers(min_value=0, max_value=int(WINDOW.total_seconds())),
    at=seconds,
    cal=CALENDARS,
    model=MODELS,
)
def test_a_longer_promise_never_lowers_satisfaction(
    promise: Promise, extra: int, at: int, cal: BusinessCalendar | None, model: Disconfirmation
) -> None:
    longer = attrs.evolve(promise, due=promise.due + timedelta(seconds=extra), target=None)
    when = promise.made_at + timedelta(seconds=at)
    assert score(model, longer, when, cal).value >= score(model, promise, when, cal).value - 1e-12


@PROPERTY
@given(
    promise=promises(max_window=WINDOW, max_revisions=0),
    share=st.floats(min_value=1e-6, max_value=1.0),
    relative=st.booleans(),
)
def test_a_loss_hurts_more_than_an_equal_gain_pleases(
    promise: Promise, share: float, relative: bool
) -> None:
    assume(promise.window >= timedelta(seconds=1))
    model = Disconfirmation(relative=relative)
    gap = timedelta(seconds=round(promise.window.total_seconds() * share))
    assume(gap > timedelta(0))
    gain = score(model, promise, promise.due - gap, None).value
    loss = score(model, promise, promise.due + gap, None).value
    assert gain > 0 > loss
    assert -loss > gain
    # also without the breach penalty: the value function alone is loss averse
    plain = Disconfirmation(relative=relative, breach=0.0)
    assert -score(plain, promise, promise.due + gap, None).value > gain


@st.composite
def scored_cases(draw: st.DrawFn) -> tuple[Promise, Outcome]:
    promise = draw(promises(max_window=WINDOW, terms=st.none() | terms()))
    deliveries = draw(deliveries_for(promise, min_size=1, max_size=4))
    later = max((utc(d.at) for d in deliveries), default=utc(promise.made_at))
    now = later + timedelta(seconds=draw(st.integers(0, int(WINDOW.total_seconds()))))
    outcome = assess(promise, deliveries, now=now)
    assume(outcome.status.value != "pending")
    return promise, outcome


@PROPERTY
@given(case=scored_cases(), cal=CALENDARS, model=MODELS)
def test_scores_are_finite_and_deterministic(
    case: tuple[Promise, Outcome], cal: BusinessCalendar | None, model: Disconfirmation
) -> None:
    promise, outcome = case
    expectation = Expectation.from_promise(promise, cal)
    first = model.score(expectation, outcome)
    again = model.score(Expectation.from_promise(promise, cal), outcome)
    assert first == again
    assert math.isfinite(first.value)
    assert all(math.isfinite(v) for v in first.components.values())
    assert math.fsum(first.components.values()) == first.value
    assert 1.0 <= first.expected_csat <= 5.0
    assert first.label == model.labels.level(first.value)


@BATCH
@given(cases=st.lists(scored_cases(), max_size=4), model=MODELS)
def test_batch_equals_one_by_one(
    cases: list[tuple[Promise, Outcome]], model: Disconfirmation
) -> None:
    pairs = [(Expectation.from_promise(p), o) for p, o in cases]
    assert model.score_many(pairs) == [model.score(e, o) for e, o in pairs]


@PROPERTY
@given(
    promise=promises(max_window=WINDOW, max_revisions=0, terms=st.none() | terms()),
    announce=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
    postpone=st.integers(min_value=1, max_value=int(WINDOW.total_seconds())),
    deliver=st.floats(min_value=0.0, max_value=1.0, exclude_min=True),
    cal=CALENDARS,
)
def test_an_honest_early_update_never_scores_worse_than_silence(
    promise: Promise, announce: float, postpone: int, deliver: float, cal: BusinessCalendar | None
) -> None:
    """Announced before the due date, with a realistic new date (the delivery keeps it)."""
    assume(promise.window >= timedelta(seconds=2))
    at = promise.made_at + timedelta(seconds=int(promise.window.total_seconds() * announce))
    new_due = promise.due + timedelta(seconds=postpone)
    when = promise.due + timedelta(seconds=max(1, round(postpone * deliver)))
    assume(utc(at) < utc(promise.due) and utc(when) <= utc(new_due))
    honest = promise.revise(due=new_due, at=at, reason="technician delayed")
    assert not honest.revisions[0].late
    model = Disconfirmation()
    updated = score(model, honest, when, cal)
    silent = score(model, promise, when, cal)
    assert updated.value >= silent.value
    assert updated.label >= silent.label
