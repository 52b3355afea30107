"""Contract suites for plugin authors: call one from a pytest test, and it checks the rules.

Each suite drives a plugin object with Hypothesis-generated promises, outcomes, calendars,
capabilities and tracked promises, and checks the properties every promisekit extension
keeps (see :mod:`promisekit.typing` for the contracts in words):

* :func:`check_satisfaction_model` — finite, well-formed scores; deterministic and pure;
  ``score_many`` equal to scoring one by one; finishing earlier never scores lower; loss
  aversion where the model claims it; parameters that rebuild an equal model;
* :func:`check_buffer_policy` — a due never before the internal target, aware and in the
  context's zone; deterministic; a slower capability never gives an earlier due;
  immutable value;
* :func:`check_trigger` — deterministic and pure; ``becomes_true`` consistent with
  ``is_true`` and with the engine; frozen, hashable data equal by value;
* :func:`check_action` — frozen, hashable data equal by value; carried unchanged and
  deterministically through the escalation engine.

A broken property raises an :class:`AssertionError` whose message names the suite, the
object, the property and the counterexample (shrunk by Hypothesis), e.g.::

    check_satisfaction_model: Curve() breaks property 'monotone in earliness':
    finishing earlier must never score lower
      expectation: Expectation(kind='callback', ...)
      completed at 2025-01-01 00:00:00+00:00 -> value -1.0 (DISSATISFIED)
      completed later, at 2025-01-01 00:00:01+00:00 -> value 0.5 (VERY_SATISFIED)

Call a suite from a plain test function, not from inside a ``@given`` test (Hypothesis
does not nest). ``max_examples`` sets the number of generated examples per property.
``settings`` (a :class:`hypothesis.settings`) is the base for the rest — e.g.
``settings(derandomize=True)`` for reproducible CI runs, or
``settings(phases=[Phase.generate])`` to report the first failure found without shrinking
it; whatever it says, the suites use no deadline and report one failure. Without it, they
keep no example database.
Needs the ``testing`` extra: ``pip install 'promisekit[testing]'``.

Example:
    .. code-block:: python

        from promisekit.testing.contracts import check_satisfaction_model

        def test_my_model_keeps_the_contract():
            check_satisfaction_model(MyModel(), max_examples=200)

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import contextlib
import copy
import datetime as _datetime_module
import decimal
import functools
import math
import pickle
import sys
import zoneinfo
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any, NoReturn, TypeVar, cast

import attrs

from promisekit import serialize
from promisekit.buffering import (
    BufferPolicy,
    Capability,
    EmpiricalCapability,
    PointCapability,
    QuoteContext,
    quote,
)
from promisekit.calendar import BusinessCalendar
from promisekit.errors import InsufficientDataError, InvalidTypeError, InvalidValueError
from promisekit.escalation import (
    Action,
    CustomerUpdate,
    EscalationPolicy,
    NotifyOwner,
    OverdueBy,
    Pause,
    ProgressReport,
    Rule,
    TrackedPromise,
    Trigger,
)
from promisekit.satisfaction import Expectation, Level, Satisfaction, SatisfactionModel
from promisekit.testing.strategies import aware_datetimes, calendars, promises, terms

try:
    import hypothesis
    from hypothesis import HealthCheck, given, reject
    from hypothesis import strategies as st
except ImportError as exc:  # pragma: no cover - depends on the environment
    from promisekit.errors import MissingDependencyError

    raise MissingDependencyError("hypothesis", "testing", "promisekit.testing") from exc

__all__ = [
    "check_action",
    "check_buffer_policy",
    "check_satisfaction_model",
    "check_trigger",
]

T = TypeVar("T")

_UTC = timezone.utc
# Instants within the years the calendars() strategy gives holidays and overrides for.
_START = datetime(2025, 1, 1, tzinfo=_UTC)
_END = datetime(2027, 12, 31, tzinfo=_UTC)
_DAY = 86_400
# Relative tolerance of "never lower": the arithmetic of a model is floating point.
_TOLERANCE = 1e-9


# --------------------------------------------------------------------------- reporting


class _Suite:
    """Names the suite and the object under test in every failure message."""

    def __init__(self, check: str, subject: object) -> None:
        self.check = check
        self.subject = subject

    def fail(self, prop: str, summary: str, *lines: str) -> NoReturn:
        """Raise the readable :class:`AssertionError` of a broken property."""
        text = f"{self.check}: {self.subject!r} breaks property {prop!r}: {summary}"
        if lines:
            text += "\n" + "\n".join(f"  {line}" for line in lines)
        raise AssertionError(text)

    def call(self, prop: str, what: str, func: Callable[[], T], *context: str) -> T:
        """Run ``func``; an exception it raises becomes a failure of ``prop``."""
        try:
            return func()
        except AssertionError:
            raise
        except Exception as exc:
            self.fail(prop, f"{what} raised {type(exc).__name__}: {exc}", *context)


_HEALTH_CHECKS = (HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large)


def _settings(max_examples: object, base: object) -> hypothesis.settings:
    """The suite's settings: ``base`` (or none), ``max_examples``, no deadline, one failure."""
    if isinstance(max_examples, bool) or not isinstance(max_examples, int):
        raise InvalidTypeError(
            f"'max_examples' must be an int (got {type(max_examples).__name__} {max_examples!r})"
        )
    if max_examples < 1:
        raise InvalidValueError(f"'max_examples' must be >= 1 (got {max_examples!r})")
    if base is not None and not isinstance(base, hypothesis.settings):
        raise InvalidTypeError(
            f"'settings' must be a hypothesis.settings or None (got {type(base).__name__} {base!r})"
        )
    if base is None:
        base = hypothesis.settings(database=None)
    return hypothesis.settings(
        base,
        max_examples=max_examples,
        deadline=None,
        report_multiple_bugs=False,
        suppress_health_check=sorted(
            {*base.suppress_health_check, *_HEALTH_CHECKS}, key=lambda check: check.value
        ),
    )


def _fmt(moment: datetime | None) -> str:
    return "None" if moment is None else moment.isoformat(" ")


def _shift(moment: datetime, seconds: int) -> datetime:
    """Real seconds after ``moment``, in its zone."""
    return (moment.astimezone(_UTC) + timedelta(seconds=seconds)).astimezone(moment.tzinfo)


def _score_text(score: Satisfaction) -> str:
    return f"value {score.value!r} ({score.label.name})"


def _is_attrs(cls: type) -> bool:
    """Whether ``cls`` itself is an attrs class (not merely a subclass of one)."""
    return attrs.has(cls) and "__attrs_attrs__" in vars(cls)


def _has_value_eq(cls: type) -> bool:
    """Whether ``cls`` compares by value (it does not inherit ``object.__eq__``)."""
    return bool(vars(object)["__eq__"] is not cls.__eq__)


def _fields(cls: type) -> tuple[attrs.Attribute[Any], ...]:
    return tuple(attrs.fields(cast(Any, cls)))


def _snapshot(obj: T) -> T:
    """A deep copy, or a shallow one when some part cannot be deep-copied."""
    try:
        return copy.deepcopy(obj)
    except Exception:
        return copy.copy(obj)


def _fresh(obj: T) -> T:
    """An equal, separate instance: ``attrs.evolve`` for attrs classes, else a copy."""
    return attrs.evolve(obj) if _is_attrs(type(obj)) else _snapshot(obj)  # type: ignore[misc]


# --------------------------------------------------------------------------- data checks


def _repr_namespace(obj: object) -> dict[str, Any]:
    module = sys.modules.get(type(obj).__module__)
    namespace: dict[str, Any] = dict(vars(module)) if module is not None else {}
    namespace.update(
        {
            "datetime": _datetime_module,
            "decimal": decimal,
            "Decimal": decimal.Decimal,
            "zoneinfo": zoneinfo,
            type(obj).__name__: type(obj),
        }
    )
    return namespace


def _check_data(suite: _Suite, obj: object) -> None:
    """Immutable, hashable data compared by value, whose repr reads back (or attrs)."""
    cls = type(obj)
    try:
        first = hash(obj)
    except TypeError as exc:
        suite.fail("hashable", f"hash() raised TypeError: {exc}", "make it a frozen attrs class")
    if _is_attrs(cls):
        names = [field.name for field in _fields(cls)]
    else:
        names = [name for name in getattr(obj, "__dict__", {}) if not name.startswith("__")]
    name = names[0] if names else "_promisekit_contract_probe"
    try:
        setattr(obj, name, getattr(obj, name, None))
    except AttributeError:
        pass  # frozen (or slotted without that attribute)
    else:
        if not names:
            with contextlib.suppress(AttributeError):
                delattr(obj, name)
        suite.fail(
            "frozen",
            f"setting attribute {name!r} succeeded; plugin objects must be immutable",
            "use @attrs.frozen (or raise AttributeError from __setattr__)",
        )
    twin = suite.call("equal by value", "copy.copy()", lambda: copy.copy(obj))
    if twin != obj:
        suite.fail(
            "equal by value",
            "a copy is not equal to the original (identity equality?)",
            f"copy: {twin!r}",
            "use an attrs class, or define __eq__ and __hash__ on the parameters",
        )
    if hash(twin) != first:
        suite.fail("equal by value", "an equal copy has another hash")
    text = repr(obj)
    try:
        rebuilt = eval(text, _repr_namespace(obj))  # the object's own repr, in its module
    except Exception:
        if not _is_attrs(cls):
            suite.fail(
                "repr round-trip or attrs equality",
                f"its repr {text!r} does not read back and it is not an attrs class",
                "make it an attrs class, or give it a repr that evaluates to an equal object",
            )
    else:
        if rebuilt != obj:
            suite.fail(
                "repr round-trip or attrs equality",
                f"its repr {text!r} reads back as an unequal object",
                f"read back: {rebuilt!r}",
            )


def _check_parameters(suite: _Suite, model: object) -> None:
    """Parameters -> dict -> an equal model; and pickle round-trips."""
    prop = "parameters round-trip"
    cls = type(model)
    params: dict[str, Any]
    if _is_attrs(cls):
        fields = [field for field in _fields(cls) if field.init]
        params = {field.alias or field.name: getattr(model, field.name) for field in fields}
        how = "the attrs fields"
        evolved = suite.call(prop, "attrs.evolve(model)", lambda: attrs.evolve(cast(Any, model)))
        if evolved != model:
            suite.fail(prop, "attrs.evolve(model) is not equal to the model", f"got {evolved!r}")
    elif callable(getattr(model, "get_params", None)):
        params = suite.call(prop, "model.get_params()", model.get_params)  # type: ignore[attr-defined]
        how = "get_params()"
        if not isinstance(params, dict):
            suite.fail(prop, f"get_params() returned {type(params).__name__}, not a dict")
    else:
        suite.fail(
            prop,
            "its parameters cannot be read back: it is not an attrs class and has no get_params()",
            "make it a frozen attrs class whose fields are its parameters",
        )
    rebuilt = suite.call(
        prop, f"{cls.__name__}(**parameters)", lambda: cls(**params), f"parameters: {params!r}"
    )
    if not _has_value_eq(cls):
        suite.fail(prop, "the class compares by identity, so parameters cannot be checked")
    if rebuilt != model:
        suite.fail(
            prop,
            f"rebuilding from {how} gives an unequal model",
            f"parameters: {params!r}",
            f"rebuilt: {rebuilt!r}",
        )
    copied = suite.call(prop, "pickle", lambda: pickle.loads(pickle.dumps(model)))
    if copied != model:
        suite.fail(prop, "a pickle round-trip gives an unequal model", f"got {copied!r}")
    if cls in serialize.registered_types().values():
        document = suite.call(prop, "serialize.to_dict()", lambda: serialize.to_dict(model))
        back = suite.call(
            prop, "serialize.from_dict()", lambda: serialize.from_dict(document, cls), str(document)
        )
        if back != model:
            suite.fail(
                prop, "a promisekit.serialize round-trip gives an unequal model", str(document)
            )


# --------------------------------------------------------------------------- strategies


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


# --------------------------------------------------------------------------- satisfaction


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
        for label, other in (
            ("scoring again", again),
            ("scoring copies of the inputs", on_copies),
            ("a copy of the model", by_twin),
        ):
            if other != first:
                suite.fail(
                    prop,
                    f"{label} gave another result",
                    f"first: {first!r}",
                    f"then:  {other!r}",
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


# --------------------------------------------------------------------------- buffer policies


def _draw_capabilities(draw: st.DrawFn) -> tuple[Capability, Capability]:
    """A capability and a slower one (every duration as long or longer)."""
    if not draw(st.booleans()):
        base = draw(st.integers(0, 3 * _DAY))
        extra = draw(st.integers(0, _DAY))
        return (
            PointCapability(timedelta(seconds=base)),
            PointCapability(timedelta(seconds=base + extra)),
        )
    size = draw(st.integers(1, 29) | st.integers(30, 60))
    durations = draw(st.lists(st.integers(60, 3 * _DAY), min_size=size, max_size=size))
    extras = draw(st.lists(st.integers(0, _DAY), min_size=size, max_size=size))
    return (
        EmpiricalCapability.from_durations([timedelta(seconds=d) for d in durations]),
        EmpiricalCapability.from_durations(
            [timedelta(seconds=d + e) for d, e in zip(durations, extras, strict=True)]
        ),
    )


_Case = tuple[datetime, BusinessCalendar | None, Capability, Capability]


@st.composite
def _quote_case(draw: st.DrawFn) -> _Case:
    start = draw(_MADE_AT)
    calendar = draw(_CALENDARS)
    fast, slow = _draw_capabilities(draw)
    return start, calendar, fast, slow


_QUOTE_CASES = _quote_case()


def check_buffer_policy(
    policy: Any,
    *,
    max_examples: int = 100,
    monotone: bool = True,
    settings: hypothesis.settings | None = None,
) -> None:
    """Check that ``policy`` keeps the buffer-policy contract.

    Properties, over ``max_examples`` generated starts, calendars (or none) and
    capabilities (point estimates, and samples of 1 to 60 durations):

    * ``type``: it subclasses :class:`promisekit.buffering.BufferPolicy`;
    * ``immutable value``: frozen, hashable, equal by value, its repr reads back (or it is
      an attrs class);
    * ``due never before target`` and ``aware in the context zone``: ``apply(context,
      context.target)`` is an aware datetime in ``context.zone``, not before the target;
    * ``deterministic``: applying it in a fresh context, or quoting twice, gives the same
      result;
    * ``monotone in capability`` (unless ``monotone=False``): a slower capability (every
      duration as long or longer) never gives an earlier due.

    A policy that raises :class:`~promisekit.errors.InsufficientDataError` (too little
    history for it) skips that example.

    Args:
        policy: The policy instance to check.
        max_examples: Generated examples per property (``>= 1``).
        monotone: Whether to check monotonicity in the capability.
        settings: Hypothesis settings to start from (see the module docstring).

    Raises:
        AssertionError: A property does not hold; the message names it and gives the
            counterexample.

    .. versionadded:: 0.1.0
    """
    chosen = _settings(max_examples, settings)
    suite = _Suite("check_buffer_policy", policy)
    if not isinstance(policy, BufferPolicy):
        suite.fail(
            "type",
            f"it is a {type(policy).__name__}, not a promisekit.buffering.BufferPolicy",
            "subclass promisekit.buffering.BufferPolicy and implement apply(context, due)",
        )
    _check_data(suite, policy)

    def context_text(context: QuoteContext) -> str:
        return (
            f"start {_fmt(context.start)}, target {_fmt(context.target)}, "
            f"capability {context.capability!r}, calendar {context.calendar!r}"
        )

    def apply(prop: str, context: QuoteContext) -> datetime:
        try:
            due = policy.apply(context, context.target)
        except InsufficientDataError:
            reject()
        except Exception as exc:
            suite.fail(prop, f"apply() raised {type(exc).__name__}: {exc}", context_text(context))
        if not isinstance(due, datetime):
            suite.fail(
                prop,
                f"apply() returned {type(due).__name__}, not a datetime",
                context_text(context),
            )
        return due

    def make(prop: str, start: datetime, capability: Capability, calendar: Any) -> QuoteContext:
        return suite.call(prop, "QuoteContext()", lambda: QuoteContext(start, capability, calendar))

    @chosen
    @given(_QUOTE_CASES)
    def bounds(case: _Case) -> None:
        start, calendar, capability, _ = case
        context = make("due never before target", start, capability, calendar)
        due = apply("due never before target", context)
        if due.tzinfo is None or due.utcoffset() is None:
            suite.fail(
                "aware in the context zone",
                f"apply() returned the naive datetime {_fmt(due)}",
                context_text(context),
            )
        if due.tzinfo != context.zone:
            suite.fail(
                "aware in the context zone",
                f"apply() returned {_fmt(due)} in zone {due.tzinfo!r}, not in the context's "
                f"zone {context.zone!r}",
                context_text(context),
                "use context.at / context.advance / context.later, or .astimezone(context.zone)",
            )
        if due.astimezone(_UTC) < context.target.astimezone(_UTC):
            suite.fail(
                "due never before target",
                f"apply() returned {_fmt(due)}, before the internal target {_fmt(context.target)}",
                context_text(context),
            )

    @chosen
    @given(_QUOTE_CASES)
    def deterministic(case: _Case) -> None:
        prop = "deterministic"
        start, calendar, capability, _ = case
        first = apply(prop, make(prop, start, capability, calendar))
        second = apply(prop, make(prop, start, capability, calendar))
        if first != second or first.tzinfo != second.tzinfo:
            suite.fail(
                prop,
                "apply() gave two different dues for the same start, capability and calendar",
                f"first: {_fmt(first)}, then: {_fmt(second)}",
                context_text(make(prop, start, capability, calendar)),
            )
        quotes = []
        for _ in range(2):
            try:
                quotes.append(quote(start, capability, policy, calendar))
            except InsufficientDataError:
                reject()
            except Exception as exc:
                suite.fail(prop, f"quote() raised {type(exc).__name__}: {exc}")
        if quotes[0] != quotes[1]:
            suite.fail(
                prop,
                "quoting twice gave two different quotes",
                f"first: {quotes[0]!r}",
                f"then:  {quotes[1]!r}",
            )

    @chosen
    @given(_QUOTE_CASES)
    def increasing(case: _Case) -> None:
        prop = "monotone in capability"
        start, calendar, fast, slow = case
        quick = apply(prop, make(prop, start, fast, calendar))
        slower = apply(prop, make(prop, start, slow, calendar))
        if slower.astimezone(_UTC) < quick.astimezone(_UTC):
            suite.fail(
                prop,
                "a slower capability must never give an earlier due",
                f"start {_fmt(start)}, calendar {calendar!r}",
                f"capability {fast!r} -> due {_fmt(quick)}",
                f"slower capability {slow!r} -> due {_fmt(slower)}",
                "pass monotone=False if the policy is not meant to be monotone",
            )

    bounds()
    deterministic()
    if monotone:
        increasing()


# --------------------------------------------------------------------------- escalation


@st.composite
def _track_case(draw: st.DrawFn, contact: bool) -> tuple[TrackedPromise, datetime]:
    """A tracked promise with pauses, updates, progress, maybe completion; and an instant."""
    promise = draw(_PROMISES[True, False])
    made = promise.made_at
    latest = max(
        [promise.due, promise.original_due, *(r.at for r in promise.revisions)],
        key=lambda moment: moment.astimezone(_UTC),
    )
    horizon = max(int((latest.astimezone(_UTC) - made.astimezone(_UTC)).total_seconds()), 3600)
    horizon *= 2
    cuts = sorted(draw(st.lists(st.integers(1, horizon), max_size=4, unique=True)))
    pauses = [
        Pause(_shift(made, cuts[i]), _shift(made, cuts[i + 1]) if i + 1 < len(cuts) else None)
        for i in range(0, len(cuts), 2)
    ]
    updates = [
        CustomerUpdate(_shift(made, offset))
        for offset in draw(st.lists(st.integers(0, horizon), max_size=2))
    ]
    progress = [
        ProgressReport(_shift(made, offset), fraction)
        for offset, fraction in draw(
            st.lists(st.tuples(st.integers(0, horizon), st.floats(0, 1)), max_size=2)
        )
    ]
    completed = draw(st.none() | st.integers(0, horizon))
    track = TrackedPromise(
        promise=promise,
        calendar=draw(_CALENDARS),
        contact_hours=draw(_CALENDARS) if contact else None,
        pauses=pauses,
        updates=updates,
        progress=progress,
        completed_at=None if completed is None else _shift(made, completed),
    )
    return track, _shift(made, draw(st.integers(-3600, horizon + 3600)))


_TRACK_CASES = _track_case(contact=False)
_CONTACT_TRACK_CASES = _track_case(contact=True)


def _check_describe(suite: _Suite, obj: Trigger | Action) -> None:
    first = suite.call("describe", "describe()", obj.describe)
    if not isinstance(first, str) or not first.strip():
        suite.fail("describe", f"describe() must return a non-empty string (got {first!r})")
    if suite.call("describe", "describe()", obj.describe) != first:
        suite.fail("describe", "describe() gave two different texts")


def check_trigger(
    trigger: Any, *, max_examples: int = 100, settings: hypothesis.settings | None = None
) -> None:
    """Check that ``trigger`` keeps the escalation-trigger contract.

    Properties, over ``max_examples`` generated tracked promises (revised or not, with
    pauses, customer updates, progress reports, completion, a calendar or none) and
    instants:

    * ``type``: it subclasses :class:`promisekit.escalation.Trigger`;
    * ``hashable``, ``frozen``, ``equal by value``, ``repr round-trip or attrs equality``:
      it is immutable data;
    * ``describe``: a non-empty, stable text;
    * ``deterministic and pure``: ``is_true`` and ``becomes_true`` give the same answers
      again, on a fresh copy of the track, and change neither the track nor the trigger;
    * ``consistent``: ``becomes_true(track, after)`` is ``None`` or an aware instant not
      before ``after`` at which ``is_true`` holds;
    * ``engine``: a rule on it fires at the instant ``becomes_true`` reports, and
      evaluating twice gives the same result.

    Args:
        trigger: The trigger instance to check.
        max_examples: Generated examples per property (``>= 1``).
        settings: Hypothesis settings to start from (see the module docstring).

    Raises:
        AssertionError: A property does not hold; the message names it and gives the
            counterexample.

    .. versionadded:: 0.1.0
    """
    chosen = _settings(max_examples, settings)
    suite = _Suite("check_trigger", trigger)
    if not isinstance(trigger, Trigger):
        suite.fail(
            "type",
            f"it is a {type(trigger).__name__}, not a promisekit.escalation.Trigger",
            "subclass promisekit.escalation.Trigger (a frozen attrs class) and implement truth()",
        )
    _check_data(suite, trigger)
    _check_describe(suite, trigger)

    def answers(
        prop: str, track: TrackedPromise, at: datetime
    ) -> tuple[bool, datetime | None, datetime | None]:
        context = (f"track: {track!r}", f"at: {_fmt(at)}")
        now = suite.call(prop, "is_true()", lambda: trigger.is_true(track, at), *context)
        first = suite.call(prop, "becomes_true()", lambda: trigger.becomes_true(track), *context)
        after = suite.call(
            prop, "becomes_true(after)", lambda: trigger.becomes_true(track, at), *context
        )
        return now, first, after

    @chosen
    @given(_TRACK_CASES)
    def deterministic(case: tuple[TrackedPromise, datetime]) -> None:
        prop = "deterministic and pure"
        track, at = case
        snapshot = _fresh(track)
        before = _snapshot(trigger)
        first = answers(prop, track, at)
        for label, other in (("asking again", track), ("a fresh copy of the track", snapshot)):
            again = answers(prop, other, at)
            if again != first:
                suite.fail(
                    prop,
                    f"{label} gave other answers (is_true, becomes_true(), becomes_true(at))",
                    f"first: {first!r}",
                    f"then:  {again!r}",
                    f"track: {track!r}",
                    f"at: {_fmt(at)}",
                )
        if track != snapshot:
            suite.fail(prop, "the trigger changed the track", f"track before: {snapshot!r}")
        if trigger != before:
            suite.fail(prop, "evaluating changed the trigger", f"before: {before!r}")

    @chosen
    @given(_TRACK_CASES)
    def consistent(case: tuple[TrackedPromise, datetime]) -> None:
        prop = "consistent"
        track, at = case
        _, first, after = answers(prop, track, at)
        for label, moment, floor in (
            ("becomes_true()", first, None),
            ("becomes_true(at)", after, at),
        ):
            if moment is None:
                continue
            if not isinstance(moment, datetime) or moment.utcoffset() is None:
                suite.fail(prop, f"{label} returned {moment!r}, not an aware datetime")
            if floor is not None and moment.astimezone(_UTC) < floor.astimezone(_UTC):
                suite.fail(
                    prop,
                    f"{label} returned {_fmt(moment)}, before {_fmt(floor)}",
                    f"track: {track!r}",
                )
            holds = suite.call(prop, "is_true()", functools.partial(trigger.is_true, track, moment))
            if not holds:
                suite.fail(
                    prop,
                    f"{label} returned {_fmt(moment)}, but is_true() is False at that instant",
                    f"track: {track!r}",
                    f"at: {_fmt(at)}",
                )

    @chosen
    @given(_TRACK_CASES)
    def engine(case: tuple[TrackedPromise, datetime]) -> None:
        prop = "engine"
        track, now = case
        policy = EscalationPolicy([Rule("contract", trigger, [NotifyOwner()])])
        context = (f"track: {track!r}", f"now: {_fmt(now)}")
        first = suite.call(prop, "evaluate()", lambda: policy.evaluate(track, now), *context)
        again = suite.call(prop, "evaluate()", lambda: policy.evaluate(track, now), *context)
        if first != again:
            suite.fail(prop, "evaluating twice gave different results", *context)
        fired = list(first)
        expected = suite.call(prop, "becomes_true()", lambda: trigger.becomes_true(track))
        if fired and (expected is None or fired[0].triggered_at != expected):
            suite.fail(
                prop,
                f"the rule fired at {_fmt(fired[0].triggered_at)}, but becomes_true() says "
                f"{_fmt(expected)}",
                *context,
            )

    deterministic()
    consistent()
    engine()


def check_action(
    action: Any, *, max_examples: int = 100, settings: hypothesis.settings | None = None
) -> None:
    """Check that ``action`` keeps the escalation-action contract.

    Properties:

    * ``type``: it subclasses :class:`promisekit.escalation.Action`;
    * ``hashable``, ``frozen``, ``equal by value``, ``repr round-trip or attrs equality``:
      it is immutable data;
    * ``describe``: a non-empty, stable text; ``customer_facing`` is a bool;
    * ``engine`` (over ``max_examples`` generated tracked promises, with contact hours or
      none, and evaluation instants): a rule firing it gives the same escalations when
      evaluated twice, each carrying an action equal to it, and leaves it unchanged.

    Args:
        action: The action instance to check.
        max_examples: Generated examples (``>= 1``).
        settings: Hypothesis settings to start from (see the module docstring).

    Raises:
        AssertionError: A property does not hold; the message names it and gives the
            counterexample.

    .. versionadded:: 0.1.0
    """
    chosen = _settings(max_examples, settings)
    suite = _Suite("check_action", action)
    if not isinstance(action, Action):
        suite.fail(
            "type",
            f"it is a {type(action).__name__}, not a promisekit.escalation.Action",
            "subclass promisekit.escalation.Action with a frozen attrs class",
        )
    _check_data(suite, action)
    _check_describe(suite, action)
    if not isinstance(action.customer_facing, bool):
        suite.fail("describe", f"customer_facing must be a bool (got {action.customer_facing!r})")
    snapshot = _snapshot(action)
    fingerprint = hash(action)

    @chosen
    @given(_CONTACT_TRACK_CASES)
    def engine(case: tuple[TrackedPromise, datetime]) -> None:
        prop = "engine"
        track, now = case
        policy = EscalationPolicy([Rule("contract", OverdueBy(0), [action])])
        context = (f"track: {track!r}", f"now: {_fmt(now)}")
        first = suite.call(prop, "evaluate()", lambda: policy.evaluate(track, now), *context)
        again = suite.call(prop, "evaluate()", lambda: policy.evaluate(track, now), *context)
        if first != again:
            suite.fail(prop, "evaluating twice gave different results", *context)
        for escalation in _escalations(first):
            if escalation.action != action:
                suite.fail(
                    prop,
                    f"the engine returned the action as {escalation.action!r}",
                    *context,
                )
        if action != snapshot or hash(action) != fingerprint:
            suite.fail(prop, "evaluating changed the action", f"before: {snapshot!r}")

    engine()


def _escalations(evaluation: Any) -> Iterator[Any]:
    yield from evaluation
    yield from getattr(evaluation.memory, "pending", ())
