"""The satisfaction-model suite, :func:`check_satisfaction_model`, and its strategies."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import hypothesis
from hypothesis import given
from hypothesis import strategies as st

from promisekit.errors import InvalidTypeError
from promisekit.satisfaction import Expectation, Level, Satisfaction, SatisfactionModel
from promisekit.testing.contracts._data import _check_parameters
from promisekit.testing.contracts._suite import (
    _DAY,
    _END,
    _START,
    _TOLERANCE,
    _UTC,
    _fmt,
    _fresh,
    _has_value_eq,
    _score_text,
    _settings,
    _shift,
    _snapshot,
    _Suite,
)
from promisekit.testing.strategies import aware_datetimes, calendars, promises, terms

# Strategies are built once: a strategy made inside a draw is rebuilt (and its label
# recomputed) at every example, which makes generation and shrinking many times slower.
_MADE_AT = aware_datetimes(_START, _END)


_CALENDARS = st.none() | calendars()


_PROMISES = {
    (revised, with_terms): promises(
        made_at=_MADE_AT,
        max_window=timedelta(days=3),
        terms=(st.none() | terms()) if with_terms else st.none(),
        max_revisions=2 if revised else 0,
    )
    for revised in (False, True)
    for with_terms in (False, True)
}


def _draw_expectation(draw: st.DrawFn, *, revised: bool, with_terms: bool) -> Expectation:
    promise = draw(_PROMISES[revised, with_terms])
    calendar = draw(_CALENDARS)
    if draw(st.booleans()):
        return Expectation.from_promise(promise, calendar)
    window = timedelta(seconds=draw(st.integers(1, 3 * _DAY)))
    return Expectation.from_norm(
        promise.kind, promise.made_at, window, calendar=calendar, terms=promise.terms
    )


def _seconds_after(expectation: Expectation, moment: datetime) -> int:
    return int((moment.astimezone(_UTC) - expectation.made_at.astimezone(_UTC)).total_seconds())


def _draw_completion(draw: st.DrawFn, expectation: Expectation) -> datetime:
    """An instant from ``made_at`` to twice the latest due date (and an hour), often the due."""
    dues = [expectation.due, expectation.original_due, *(r.due for r in expectation.revisions)]
    span = max(_seconds_after(expectation, due) for due in dues)
    due = _seconds_after(expectation, expectation.due)
    offset = draw(st.integers(0, 2 * span + 3600) | st.sampled_from([due, due + 1]))
    return _shift(expectation.made_at, offset)


@st.composite
def _pair(draw: st.DrawFn) -> tuple[Expectation, Any]:
    expectation = _draw_expectation(draw, revised=True, with_terms=True)
    at = _draw_completion(draw, expectation)
    quantity = None
    if expectation.quantity is not None:
        quantity = draw(st.none() | st.floats(0, expectation.quantity))
    quality = draw(st.none() | st.floats(0, 10))
    cost = draw(st.none() | st.decimals(0, 1000, places=2))
    outcome = expectation.completed(at, quantity=quantity, quality=quality, cost=cost)
    return expectation, outcome


@st.composite
def _earliness(draw: st.DrawFn) -> tuple[Expectation, datetime, datetime]:
    """A simple expectation (no revision, no term) and two completions, earliest first."""
    made = draw(_MADE_AT)
    calendar = draw(_CALENDARS)
    window = timedelta(seconds=draw(st.integers(1, 3 * _DAY)))
    if draw(st.booleans()):
        expectation = Expectation(
            kind="callback",
            made_at=made,
            due=_shift(made, int(window.total_seconds())),
            calendar=calendar,
        )
    else:
        expectation = Expectation.from_norm("callback", made, window, calendar=calendar)
    first, second = _draw_completion(draw, expectation), _draw_completion(draw, expectation)
    return expectation, min(first, second), max(first, second)


@st.composite
def _symmetric(draw: st.DrawFn) -> tuple[Expectation, int]:
    made = draw(_MADE_AT)
    window = draw(st.integers(120, 7 * _DAY))
    gap = draw(st.integers(1, window))
    return Expectation(kind="callback", made_at=made, due=_shift(made, window)), gap


_PAIRS = _pair()


_PAIR_LISTS = st.lists(_PAIRS, max_size=4)


_EARLINESS = _earliness()


_SYMMETRIC = _symmetric()


def check_satisfaction_model(
    model: Any,
    *,
    max_examples: int = 100,
    loss_averse: bool | None = None,
    settings: hypothesis.settings | None = None,
) -> None:
    """Check that ``model`` keeps the satisfaction-model contract.

    Properties, each over ``max_examples`` generated expectations and closed outcomes
    (promised or self-formed, revised or not, with or without terms and a calendar):

    * ``protocol``: it has ``score`` and ``score_many``
      (:class:`~promisekit.satisfaction.SatisfactionModel`);
    * ``parameters round-trip``: an attrs model rebuilt from its fields (or a model from
      ``get_params()``), ``attrs.evolve``, pickle and — when its class is registered with
      :mod:`promisekit.serialize` — a JSON document give an equal model;
    * ``finite and well-formed``: ``score`` returns a
      :class:`~promisekit.satisfaction.Satisfaction` with a finite value and components;
    * ``deterministic and pure``: scoring again, on copies of the inputs, or with a copy of
      the model gives an equal result, and changes neither inputs nor model;
    * ``batch equals one by one``: ``score_many(pairs)`` (given an iterator) equals
      ``[score(e, o) for e, o in pairs]``;
    * ``monotone in earliness``: for an unrevised expectation without terms, completing
      earlier never gives a lower value nor a lower level;
    * ``loss averse`` (when claimed): late by ``d`` loses more than early by ``d`` gains,
      measured from an on-time completion of a promise.

    Args:
        model: The model instance to check.
        max_examples: Generated examples per property (``>= 1``).
        loss_averse: Whether to check loss aversion; ``None`` reads the model's
            ``loss_averse`` attribute (checked when it is true).
        settings: Hypothesis settings to start from (see the module docstring).

    Raises:
        AssertionError: A property does not hold; the message names it and gives the
            counterexample.

    Example:
        .. code-block:: python

            def test_contract():
                check_satisfaction_model(ParcelDeliveryCurve(), max_examples=50)

    .. versionadded:: 0.1.0
    """
    chosen = _settings(max_examples, settings)
    suite = _Suite("check_satisfaction_model", model)
    if not isinstance(model, SatisfactionModel):
        suite.fail(
            "protocol",
            "it lacks score(expectation, outcome) or score_many(pairs)",
            "see promisekit.typing.SatisfactionModel",
        )
    claimed = getattr(model, "loss_averse", False) if loss_averse is None else loss_averse
    if not isinstance(claimed, bool):
        raise InvalidTypeError(
            f"'loss_averse' must be a bool or None, and so must the model's loss_averse "
            f"attribute (got {type(claimed).__name__} {claimed!r})"
        )
    _check_parameters(suite, model)

    def score(prop: str, expectation: Expectation, outcome: Any) -> Satisfaction:
        result = suite.call(
            prop,
            "score()",
            lambda: model.score(expectation, outcome),
            f"expectation: {expectation!r}",
            f"outcome: {outcome!r}",
        )
        if not isinstance(result, Satisfaction):
            suite.fail(
                prop,
                f"score() returned {type(result).__name__}, not a Satisfaction",
                f"expectation: {expectation!r}",
            )
        return result

    @chosen
    @given(_PAIRS)
    def finite(pair: tuple[Expectation, Any]) -> None:
        expectation, outcome = pair
        result = score("finite and well-formed", expectation, outcome)
        bad = [
            f"{name}={amount!r}"
            for name, amount in (("value", result.value), *result.components.items())
            if not math.isfinite(amount)
        ]
        if bad or not isinstance(result.label, Level) or not 1 <= result.expected_csat <= 5:
            suite.fail(
                "finite and well-formed",
                f"score() returned {result!r}",
                f"not finite: {', '.join(bad) or 'none'}",
                f"expectation: {expectation!r}",
                f"outcome: {outcome!r}",
            )

    @chosen
    @given(_PAIRS)
    def deterministic(pair: tuple[Expectation, Any]) -> None:
        prop = "deterministic and pure"
        expectation, outcome = pair
        snapshot = (_fresh(expectation), _fresh(outcome))
        before = _snapshot(model)
        first = score(prop, expectation, outcome)
        again = score(prop, expectation, outcome)
        on_copies = score(prop, *snapshot)
        twin = suite.call(prop, "copying the model", lambda: _snapshot(model))
        by_twin = suite.call(prop, "score() of a copy", lambda: twin.score(expectation, outcome))
        suite.same(
            prop,
            first,
            (
                ("scoring again", again),
                ("scoring copies of the inputs", on_copies),
                ("a copy of the model", by_twin),
            ),
            "another result",
            f"expectation: {expectation!r}",
            f"outcome: {outcome!r}",
        )
        if (expectation, outcome) != snapshot:
            suite.fail(prop, "score() changed its inputs", f"expectation: {expectation!r}")
        if _has_value_eq(type(model)) and before != model:
            suite.fail(prop, "score() changed the model", f"before: {before!r}")

    @chosen
    @given(_PAIR_LISTS)
    def batch(pairs: list[tuple[Expectation, Any]]) -> None:
        prop = "batch equals one by one"
        singles = [score(prop, e, o) for e, o in pairs]
        many = suite.call(
            prop, "score_many()", lambda: model.score_many(iter(pairs)), f"pairs: {pairs!r}"
        )
        if not isinstance(many, list) or many != singles:
            suite.fail(
                prop,
                "score_many(pairs) differs from scoring each pair",
                f"score_many: {many!r}",
                f"one by one: {singles!r}",
                f"pairs: {pairs!r}",
            )

    @chosen
    @given(_EARLINESS)
    def monotone(case: tuple[Expectation, datetime, datetime]) -> None:
        prop = "monotone in earliness"
        expectation, early, late = case
        a = score(prop, expectation, expectation.completed(early))
        b = score(prop, expectation, expectation.completed(late))
        slack = _TOLERANCE * max(1.0, abs(b.value))
        if a.value < b.value - slack or a.label < b.label:
            suite.fail(
                prop,
                "finishing earlier must never score lower",
                f"expectation: {expectation!r}",
                f"completed at {_fmt(early)} -> {_score_text(a)}",
                f"completed later, at {_fmt(late)} -> {_score_text(b)}",
            )

    @chosen
    @given(_SYMMETRIC)
    def averse(case: tuple[Expectation, int]) -> None:
        prop = "loss averse"
        expectation, gap = case
        due = expectation.due
        on_time = score(prop, expectation, expectation.completed(due))
        early = score(prop, expectation, expectation.completed(_shift(due, -gap)))
        late = score(prop, expectation, expectation.completed(_shift(due, gap)))
        gain = early.value - on_time.value
        loss = on_time.value - late.value
        if not loss > gain:
            suite.fail(
                prop,
                f"late by {timedelta(seconds=gap)} must lose more than early by as much gains "
                f"(the model claims loss aversion)",
                f"expectation: {expectation!r}",
                f"on time -> {_score_text(on_time)}",
                f"early -> {_score_text(early)} (gain {gain!r})",
                f"late -> {_score_text(late)} (loss {loss!r})",
            )

    finite()
    deterministic()
    batch()
    monotone()
    if claimed:
        averse()
