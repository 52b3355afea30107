"""The buffer-policy suite, :func:`check_buffer_policy`, and its strategies."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import hypothesis
from hypothesis import given, reject
from hypothesis import strategies as st

from promisekit.buffering import (
    BufferPolicy,
    Capability,
    EmpiricalCapability,
    PointCapability,
    QuoteContext,
    quote,
)
from promisekit.calendar import BusinessCalendar
from promisekit.errors import InsufficientDataError
from promisekit.testing.contracts._data import _check_data
from promisekit.testing.contracts._satisfaction import _CALENDARS, _MADE_AT
from promisekit.testing.contracts._suite import (
    _DAY,
    _UTC,
    _fmt,
    _settings,
    _Suite,
)


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
        suite.same(prop, quotes[0], [("quoting twice", quotes[1])], "two different quotes")

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
