"""What every suite shares: failure reports, Hypothesis settings and small helpers."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from typing import Any, NoReturn, TypeVar, cast

import attrs
import hypothesis
from hypothesis import HealthCheck

from promisekit.errors import InvalidTypeError, InvalidValueError
from promisekit.satisfaction import Satisfaction

T = TypeVar("T")


_UTC = timezone.utc


# Instants within the years the calendars() strategy gives holidays and overrides for.
_START = datetime(2025, 1, 1, tzinfo=_UTC)


_END = datetime(2027, 12, 31, tzinfo=_UTC)


_DAY = 86_400


# Relative tolerance of "never lower": the arithmetic of a model is floating point.
_TOLERANCE = 1e-9


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

    def same(
        self,
        prop: str,
        first: object,
        others: Iterable[tuple[str, object]],
        what: str,
        *context: str,
    ) -> None:
        """Fail ``prop`` at the first ``(label, result)`` of ``others`` unequal to ``first``.

        The message reads ``"<label> gave <what>"``, then both results and ``context``.
        ``others`` may be a generator: each result is computed only when compared.
        """
        for label, other in others:
            if other != first:
                self.fail(
                    prop, f"{label} gave {what}", f"first: {first!r}", f"then:  {other!r}", *context
                )


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
