"""A sector-specific satisfaction model: parcel deliveries, counted in days.

Parcel customers think in days, not in shares of a window: a parcel a day late is a day
late whether it was promised for tomorrow or for next week. Arriving early pleases a
little, and soon not at all (nobody is home to receive it); arriving late breaks the
promise and hurts more with every day.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta, timezone
from typing import Any

import attrs
from promisekit.delivery import Outcome, Status
from promisekit.errors import InvalidTypeError, InvalidValueError
from promisekit.satisfaction import Expectation, Labels, Satisfaction

__all__ = ["ParcelDeliveryCurve"]


def _non_negative(field: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidTypeError(f"{field!r} must be a number (got {type(value).__name__} {value!r})")
    number = float(value)
    if not 0 <= number < float("inf"):
        raise InvalidValueError(f"{field!r} must be a finite number >= 0 (got {value!r})")
    return number


def _gain(value: Any) -> float:
    return _non_negative("gain", value)


def _gain_cap(value: Any) -> float:
    return _non_negative("gain_cap", value)


def _loss(value: Any) -> float:
    return _non_negative("loss", value)


def _breach(value: Any) -> float:
    return _non_negative("breach", value)


def _unit(value: Any) -> timedelta:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise InvalidValueError(f"'unit' must be a positive timedelta (got {value!r})")
    return value


def _labels(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, Labels):
        raise InvalidTypeError(f"'labels' must be a Labels (got {type(value).__name__})")


@attrs.frozen(slots=True)
class ParcelDeliveryCurve:
    """Satisfaction with a parcel delivery, from the days early or late.

    With ``days`` the time from completion to the due date in force, in ``unit`` (positive
    when early)::

        value = min(gain * days, gain_cap)                 days >= 0 (on time or early)
        value = loss * days - breach                       days <  0 (late, promised)
        value = loss * days                                days <  0 (late, self-formed)

    The value is labelled with ``labels`` (promisekit's default cut points: on time is
    SATISFIED, two days early VERY_SATISFIED, any late parcel at most DISSATISFIED).
    Durations are real time: carriers deliver on weekends, so the expectation's business
    calendar is not used.

    Args:
        gain: Value per day early (``>= 0``).
        gain_cap: The most an early delivery adds (``>= 0``).
        loss: Value lost per day late (``>= 0``).
        breach: Penalty of a broken promise (``>= 0``).
        unit: The unit of ``days`` (default one day).
        labels: Cut points and CSAT mapping.

    Example:
        >>> from datetime import datetime, timedelta, timezone
        >>> ordered = datetime(2026, 3, 9, 10, 0, tzinfo=timezone.utc)
        >>> promise = Expectation(kind="parcel", made_at=ordered, due=ordered + timedelta(days=3))
        >>> curve = ParcelDeliveryCurve()
        >>> curve.score(promise, promise.completed(ordered + timedelta(days=2))).label.name
        'SATISFIED'
        >>> curve.score(promise, promise.completed(ordered + timedelta(days=4))).label.name
        'DISSATISFIED'

    .. versionadded:: 0.1.0
    """

    gain: float = attrs.field(default=0.25, converter=_gain)
    gain_cap: float = attrs.field(default=0.5, converter=_gain_cap)
    loss: float = attrs.field(default=1.0, converter=_loss)
    breach: float = attrs.field(default=0.75, converter=_breach)
    unit: timedelta = attrs.field(default=timedelta(days=1), converter=_unit)
    labels: Labels = attrs.field(factory=Labels, validator=_labels)

    @property
    def loss_averse(self) -> bool:
        """Whether a day late always costs more than a day early earns.

        The contract suite (``check_satisfaction_model``) checks the claim.

        .. versionadded:: 0.1.0
        """
        return self.breach > 0 or self.loss > self.gain

    def score(self, expectation: Expectation, outcome: Outcome) -> Satisfaction:
        """Score a closed (or overdue) outcome against its expectation.

        Raises:
            InvalidTypeError: An argument has the wrong type.
            InvalidValueError: The outcome is still pending.

        .. versionadded:: 0.1.0
        """
        if not isinstance(expectation, Expectation):
            raise InvalidTypeError(
                f"'expectation' must be an Expectation (got {type(expectation).__name__})"
            )
        if not isinstance(outcome, Outcome):
            raise InvalidTypeError(f"'outcome' must be an Outcome (got {type(outcome).__name__})")
        if outcome.status is Status.PENDING:
            raise InvalidValueError("'outcome' must be complete or overdue to be scored")
        end = outcome.completed_at if outcome.completed_at is not None else outcome.assessed_at
        utc = timezone.utc
        days = (outcome.due.astimezone(utc) - end.astimezone(utc)) / self.unit
        if days >= 0:
            value = min(self.gain * days, self.gain_cap)
        else:
            value = self.loss * days - (self.breach if expectation.source == "promise" else 0.0)
        return Satisfaction(
            value=value,
            components={"time": value},
            label=self.labels.level(value),
            expected_csat=self.labels.expected_csat(value),
        )

    def score_many(self, pairs: Iterable[tuple[Expectation, Outcome]]) -> list[Satisfaction]:
        """Score ``(expectation, outcome)`` pairs, in order.

        .. versionadded:: 0.1.0
        """
        return [self.score(expectation, outcome) for expectation, outcome in pairs]
