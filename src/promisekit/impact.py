"""Consequences of kept and broken promises: trust, word of mouth, churn.

Each consequence is a small frozen model whose parameters are documented, overridable
defaults with their source — several come from surveys or folklore, and promisekit says
so rather than hiding them as constants:

* :class:`TrustModel` — trust as a stock in ``[0, 1]``: a kept promise raises it by
  ``gain * (1 - T)``, a broken one lowers it by ``loss * T``, with ``loss / gain = 2.25``
  (trust is easier to destroy than to build: Slovic 1993).
* :class:`WordOfMouth` — how many people a customer tells, by satisfaction: the adage
  "a satisfied customer tells 3, a dissatisfied one 13" (preset ``"3 vs 13"``), or the
  research finding that positive word of mouth is about three times as frequent as
  negative (East, Hammond & Wright 2007; preset ``"3 vs 1"``).
* :class:`ChurnRisk` — the share of customers who would leave after one and after two
  bad experiences (61 % and 76 %, Zendesk CX Trends 2022).

:class:`Impact` aggregates them over a history of :class:`Experience` records: expected
people told, expected customers lost, and each customer's trust trajectory.

Example:
    >>> from promisekit.satisfaction import Labels
    >>> happy, unhappy = Labels()._score(0.3, {}), Labels()._score(-1.0, {})
    >>> report = Impact().summarize([
    ...     Experience("C-1", happy, kept=True),
    ...     Experience("C-2", unhappy, kept=False),
    ...     Experience("C-2", unhappy, kept=False),
    ... ])
    >>> report.people_told_positive, report.people_told_negative, report.customers_lost
    (3.0, 26.0, 0.76)
    >>> [round(t, 4) for t in report.customer("C-2").trust]
    [0.5, 0.3875, 0.3003]

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, ClassVar

import attrs

from promisekit._validation import check_finite, check_non_empty_str, tuple_of
from promisekit.errors import InvalidTypeError, InvalidValueError
from promisekit.satisfaction import Level, Satisfaction

__all__ = [
    "ChurnRisk",
    "CustomerImpact",
    "Experience",
    "Impact",
    "ImpactReport",
    "Told",
    "TrustModel",
    "WordOfMouth",
]


def _probability(field: str, value: Any) -> float:
    number = check_finite(field, value)
    if not 0.0 <= number <= 1.0:
        raise InvalidValueError(f"{field!r} must be a probability in [0, 1] (got {value!r})")
    return number


def _initial(value: Any) -> float:
    return _probability("initial", value)


def _after_one(value: Any) -> float:
    return _probability("after_one", value)


def _after_two(value: Any) -> float:
    return _probability("after_two", value)


def _baseline(value: Any) -> float:
    return _probability("baseline", value)


def _positive_people(value: Any) -> float:
    return check_finite("positive", value, minimum=0)


def _negative_people(value: Any) -> float:
    return check_finite("negative", value, minimum=0)


def _check_satisfaction(field: str, value: object) -> Satisfaction | Level:
    if not isinstance(value, (Satisfaction, Level)):
        raise InvalidTypeError(
            f"{field!r} must be a Satisfaction or a Level (got {type(value).__name__} {value!r})"
        )
    return value


def _level_shares(value: Satisfaction | Level) -> tuple[float, float, float, float, float]:
    """Probability of each level: the model's probabilities, else 1 on the label."""
    if isinstance(value, Satisfaction) and value.probabilities is not None:
        p = value.probabilities
        return (p[0], p[1], p[2], p[3], p[4])
    level = value.label if isinstance(value, Satisfaction) else value
    shares = [0.0] * 5
    shares[level - 1] = 1.0
    return (shares[0], shares[1], shares[2], shares[3], shares[4])


# --------------------------------------------------------------------------- trust


def _gain(value: Any) -> float:
    number = check_finite("gain", value)
    if not 0.0 < number <= 1.0:
        raise InvalidValueError(f"'gain' must be in (0, 1] (got {value!r})")
    return number


def _loss_ratio(value: Any) -> float:
    number = check_finite("loss_ratio", value)
    if number <= 0:
        raise InvalidValueError(f"'loss_ratio' must be > 0 (got {value!r})")
    return number


@attrs.frozen(slots=True)
class TrustModel:
    """Trust as a stock in ``[0, 1]``, raised by kept promises and lowered by broken ones.

    .. code-block:: text

        kept:    T <- T + gain * (1 - T)
        broken:  T <- T - loss * T          loss = gain * loss_ratio

    Trust approaches 1 slowly and falls fast: the *asymmetry principle* — trust is
    created slowly and destroyed in an instant (Slovic 1993, "Perceived risk, trust, and
    democracy", *Risk Analysis* 13(6)). Slovic documents the asymmetry, not a ratio: the
    default ``loss_ratio = 2.25`` borrows prospect theory's loss aversion (Tversky &
    Kahneman 1992). ``gain = 0.1`` and ``initial = 0.5`` are promisekit's choices: ten
    kept promises take a new customer from 0.5 to about 0.83; one broken promise then
    costs about a fifth of it.

    Args:
        gain: ``a+``, the share of the remaining distrust a kept promise removes
            (``0 < gain <= 1``).
        loss_ratio: ``a- / a+`` (``> 0``; ``gain * loss_ratio`` must not exceed 1).
        initial: Trust of a customer with no history (``[0, 1]``).

    Raises:
        InvalidTypeError: A parameter is not a number.
        InvalidValueError: A parameter is out of range.

    Example:
        >>> [round(t, 3) for t in TrustModel().trajectory([True, True, False])]
        [0.5, 0.55, 0.595, 0.461]

    .. versionadded:: 0.1.0
    """

    gain: float = attrs.field(default=0.1, converter=_gain)
    loss_ratio: float = attrs.field(default=2.25, converter=_loss_ratio)
    initial: float = attrs.field(default=0.5, converter=_initial)

    @loss_ratio.validator
    def _check_loss(self, attribute: attrs.Attribute[float], value: float) -> None:
        if self.gain * value > 1.0:
            raise InvalidValueError(
                f"'loss_ratio' times 'gain' ({self.gain!r}) must not exceed 1, or a broken "
                f"promise would take trust below 0 (got {value!r})"
            )

    @property
    def loss(self) -> float:
        """``a- = gain * loss_ratio``: the share of trust a broken promise destroys.

        .. versionadded:: 0.1.0
        """
        return self.gain * self.loss_ratio

    def update(self, trust: float, kept: bool) -> float:
        """Trust after one more promise, kept or broken.

        Raises:
            InvalidTypeError: ``kept`` is not a bool, or ``trust`` not a number.
            InvalidValueError: ``trust`` is outside ``[0, 1]``.

        .. versionadded:: 0.1.0
        """
        trust = _probability("trust", trust)
        if not isinstance(kept, bool):
            raise InvalidTypeError(f"'kept' must be a bool (got {type(kept).__name__} {kept!r})")
        if kept:
            return trust + self.gain * (1.0 - trust)
        return trust - self.loss * trust

    def trajectory(self, kept: Iterable[bool], *, start: float | None = None) -> tuple[float, ...]:
        """Trust before and after each promise, in order (``len(kept) + 1`` values).

        Args:
            kept: Whether each promise was kept, oldest first.
            start: Trust before the first one, by default ``initial``.

        Raises:
            InvalidTypeError: ``kept`` is not an iterable of bools.
            InvalidValueError: ``start`` is outside ``[0, 1]``.

        .. versionadded:: 0.1.0
        """
        if isinstance(kept, (str, bytes)) or not isinstance(kept, Iterable):
            raise InvalidTypeError(
                f"'kept' must be an iterable of bools (got {type(kept).__name__} {kept!r})"
            )
        trust = self.initial if start is None else _probability("start", start)
        values = [trust]
        for item in kept:
            trust = self.update(trust, item)
            values.append(trust)
        return tuple(values)


# --------------------------------------------------------------------------- word of mouth


@attrs.frozen(slots=True)
class Told:
    """Expected number of people told, positively and negatively.

    .. versionadded:: 0.1.0
    """

    positive: float
    negative: float

    @property
    def net(self) -> float:
        """``positive - negative``.

        .. versionadded:: 0.1.0
        """
        return self.positive - self.negative


@attrs.frozen(slots=True)
class WordOfMouth:
    """How many people a customer tells about an experience, by satisfaction.

    A SATISFIED or VERY_SATISFIED customer tells ``positive`` people, a DISSATISFIED or
    VERY_DISSATISFIED one tells ``negative`` people, a NEUTRAL one nobody. With a
    calibrated :class:`~promisekit.satisfaction.Satisfaction` the level probabilities are
    used (an expectation), otherwise its label.

    **Presets.** ``"3 vs 13"`` (the default): the customer-service adage "a satisfied
    customer tells 3 people, a dissatisfied one 13", commonly traced to the TARP studies
    of complaint handling (1970s–80s) and repeated ever since — folklore, not a measured
    constant. ``"3 vs 1"``: East, Hammond & Wright (2007), "The relative incidence of
    positive and negative word of mouth: a multi-category study", *International Journal
    of Research in Marketing* 24(2), found positive word of mouth about three times as
    frequent as negative — a ratio of frequencies, so read the numbers as relative.
    Social media can multiply either; scale the numbers for your channel.

    Args:
        positive: People told by a satisfied customer (``>= 0``).
        negative: People told by a dissatisfied customer (``>= 0``).

    Raises:
        InvalidTypeError: A parameter is not a number.
        InvalidValueError: A parameter is negative or not finite.

    Example:
        >>> from promisekit.satisfaction import Level
        >>> WordOfMouth.preset("3 vs 1").told(Level.DISSATISFIED)
        Told(positive=0.0, negative=1.0)

    .. versionadded:: 0.1.0
    """

    positive: float = attrs.field(default=3.0, converter=_positive_people)
    negative: float = attrs.field(default=13.0, converter=_negative_people)

    PRESETS: ClassVar[dict[str, tuple[float, float]]] = {
        "3 vs 13": (3.0, 13.0),
        "3 vs 1": (3.0, 1.0),
    }

    @classmethod
    def preset(cls, name: str) -> WordOfMouth:
        """A preset by name: ``"3 vs 13"`` or ``"3 vs 1"``.

        Raises:
            InvalidValueError: ``name`` is not a preset.

        .. versionadded:: 0.1.0
        """
        check_non_empty_str("name", name)
        if name not in cls.PRESETS:
            known = ", ".join(repr(k) for k in cls.PRESETS)
            raise InvalidValueError(f"'name' must be one of {known} (got {name!r})")
        positive, negative = cls.PRESETS[name]
        return cls(positive, negative)

    def told(self, satisfaction: Satisfaction | Level) -> Told:
        """Expected people told about one experience.

        Raises:
            InvalidTypeError: ``satisfaction`` is not a Satisfaction or Level.

        .. versionadded:: 0.1.0
        """
        p = _level_shares(_check_satisfaction("satisfaction", satisfaction))
        return Told(positive=self.positive * (p[3] + p[4]), negative=self.negative * (p[0] + p[1]))


# --------------------------------------------------------------------------- churn


def _check_bad_at(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, Level):
        raise InvalidTypeError(
            f"'bad_at' must be a Level member (got {type(value).__name__} {value!r})"
        )


@attrs.frozen(slots=True)
class ChurnRisk:
    """The probability that a customer leaves, by the number of bad experiences.

    ``risk(0) = baseline``, ``risk(1) = after_one``, ``risk(n >= 2) = after_two``. An
    experience is *bad* when its level is at or below ``bad_at`` (by default
    DISSATISFIED).

    Defaults: ``after_one = 0.61`` and ``after_two = 0.76`` — in Zendesk's *CX Trends
    2022* survey, 61 % of customers said they would switch to a competitor after one bad
    experience and 76 % after more than one. These are stated intentions, which overstate
    what customers actually do; lower them with your own retention data. ``baseline = 0``
    counts only the churn the experiences cause.

    Args:
        after_one: Risk after one bad experience (``[0, 1]``).
        after_two: Risk after two or more (``[after_one, 1]``).
        baseline: Risk with no bad experience (``[0, after_one]``).
        bad_at: The highest level that counts as bad.

    Raises:
        InvalidTypeError: A parameter has the wrong type.
        InvalidValueError: A probability is out of range or the risks are not
            increasing.

    Example:
        >>> ChurnRisk().risk(1), ChurnRisk().risk(5)
        (0.61, 0.76)

    .. versionadded:: 0.1.0
    """

    after_one: float = attrs.field(default=0.61, converter=_after_one)
    after_two: float = attrs.field(default=0.76, converter=_after_two)
    baseline: float = attrs.field(default=0.0, converter=_baseline)
    bad_at: Level = attrs.field(default=Level.DISSATISFIED, validator=_check_bad_at)

    @after_two.validator
    def _check_two(self, attribute: attrs.Attribute[float], value: float) -> None:
        if value < self.after_one:
            raise InvalidValueError(
                f"'after_two' must be >= 'after_one' ({self.after_one!r}) (got {value!r})"
            )

    @baseline.validator
    def _check_baseline(self, attribute: attrs.Attribute[float], value: float) -> None:
        if value > self.after_one:
            raise InvalidValueError(
                f"'baseline' must be <= 'after_one' ({self.after_one!r}) (got {value!r})"
            )

    def risk(self, bad_experiences: int) -> float:
        """The churn risk after ``bad_experiences`` bad experiences.

        Raises:
            InvalidTypeError: ``bad_experiences`` is not an int.
            InvalidValueError: It is negative.

        .. versionadded:: 0.1.0
        """
        if isinstance(bad_experiences, bool) or not isinstance(bad_experiences, int):
            raise InvalidTypeError(
                f"'bad_experiences' must be an int "
                f"(got {type(bad_experiences).__name__} {bad_experiences!r})"
            )
        if bad_experiences < 0:
            raise InvalidValueError(f"'bad_experiences' must be >= 0 (got {bad_experiences})")
        return (self.baseline, self.after_one, self.after_two)[min(bad_experiences, 2)]

    def bad_probability(self, satisfaction: Satisfaction | Level) -> float:
        """The probability that an experience counts as bad.

        .. versionadded:: 0.1.0
        """
        p = _level_shares(_check_satisfaction("satisfaction", satisfaction))
        return math.fsum(p[: self.bad_at])

    def expected_risk(self, satisfactions: Iterable[Satisfaction | Level]) -> float:
        """The churn risk after a customer's experiences, averaged over their uncertainty.

        The number of bad experiences follows a Poisson-binomial distribution (each
        experience bad with :meth:`bad_probability`); the risk is its expectation.

        Raises:
            InvalidTypeError: ``satisfactions`` is not an iterable of Satisfaction or Level.

        .. versionadded:: 0.1.0
        """
        if isinstance(satisfactions, (str, bytes)) or not isinstance(satisfactions, Iterable):
            raise InvalidTypeError(
                f"'satisfactions' must be an iterable of Satisfaction "
                f"(got {type(satisfactions).__name__} {satisfactions!r})"
            )
        # distribution of min(bad count, 2)
        zero, one, two = 1.0, 0.0, 0.0
        for item in satisfactions:
            p = self.bad_probability(item)
            zero, one, two = zero * (1 - p), one * (1 - p) + zero * p, two + one * p
        return zero * self.baseline + one * self.after_one + two * self.after_two


# --------------------------------------------------------------------------- history


def _customer(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    check_non_empty_str("customer_id", value)


def _satisfaction(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, Satisfaction):
        raise InvalidTypeError(
            f"'satisfaction' must be a Satisfaction (got {type(value).__name__} {value!r})"
        )


def _kept(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, bool):
        raise InvalidTypeError(f"'kept' must be a bool (got {type(value).__name__} {value!r})")


@attrs.frozen(slots=True)
class Experience:
    """One scored promise in a customer's history.

    Attributes:
        customer_id: Who it was for (non-empty).
        satisfaction: How they felt (a model's :class:`~promisekit.satisfaction.Satisfaction`).
        kept: Whether the promise was kept (``Outcome.kept``).

    Raises:
        InvalidTypeError: A value has the wrong type.
        InvalidValueError: ``customer_id`` is blank.

    .. versionadded:: 0.1.0
    """

    customer_id: str = attrs.field(validator=_customer)
    satisfaction: Satisfaction = attrs.field(validator=_satisfaction)
    kept: bool = attrs.field(kw_only=True, validator=_kept)


@attrs.frozen(slots=True)
class CustomerImpact:
    """The consequences for one customer.

    Attributes:
        customer_id: The customer.
        experiences: Number of experiences.
        bad_experiences: Expected number of bad experiences.
        trust: Trust before and after each experience (``experiences + 1`` values).
        churn_risk: Probability that the customer leaves.
        told: Expected people told, positively and negatively.

    .. versionadded:: 0.1.0
    """

    customer_id: str
    experiences: int
    bad_experiences: float
    trust: tuple[float, ...]
    churn_risk: float
    told: Told


@attrs.frozen(slots=True)
class ImpactReport:
    """The consequences of a history, in total and per customer (sorted by id).

    Attributes:
        experiences: Number of experiences.
        people_told_positive: Expected people told positively, in total.
        people_told_negative: Expected people told negatively, in total.
        customers_lost: Expected number of customers who leave (sum of churn risks).
        customers: Per-customer details, sorted by ``customer_id``.

    .. versionadded:: 0.1.0
    """

    experiences: int
    people_told_positive: float
    people_told_negative: float
    customers_lost: float
    customers: tuple[CustomerImpact, ...]

    @property
    def net_word_of_mouth(self) -> float:
        """Positive minus negative people told.

        .. versionadded:: 0.1.0
        """
        return self.people_told_positive - self.people_told_negative

    @property
    def mean_trust(self) -> float:
        """Mean final trust over the customers (``nan`` for an empty history).

        .. versionadded:: 0.1.0
        """
        if not self.customers:
            return math.nan
        return math.fsum(c.trust[-1] for c in self.customers) / len(self.customers)

    def customer(self, customer_id: str) -> CustomerImpact:
        """The details of one customer.

        Raises:
            InvalidValueError: The customer is not in the history.

        .. versionadded:: 0.1.0
        """
        for item in self.customers:
            if item.customer_id == customer_id:
                return item
        raise InvalidValueError(
            f"'customer_id' must be a customer of the history (got {customer_id!r})"
        )


def _trust_ok(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _instance(attribute.name, value, TrustModel)


def _wom_ok(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _instance(attribute.name, value, WordOfMouth)


def _churn_ok(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _instance(attribute.name, value, ChurnRisk)


def _instance(field: str, value: object, kind: type) -> None:
    if not isinstance(value, kind):
        raise InvalidTypeError(
            f"{field!r} must be a {kind.__name__} (got {type(value).__name__} {value!r})"
        )


@attrs.frozen(slots=True)
class Impact:
    """Trust, word of mouth and churn over a history of experiences.

    Args:
        trust: The trust model.
        word_of_mouth: The word-of-mouth model.
        churn: The churn model.

    Raises:
        InvalidTypeError: A model has the wrong type.

    .. versionadded:: 0.1.0
    """

    trust: TrustModel = attrs.field(factory=TrustModel, validator=_trust_ok)
    word_of_mouth: WordOfMouth = attrs.field(factory=WordOfMouth, validator=_wom_ok)
    churn: ChurnRisk = attrs.field(factory=ChurnRisk, validator=_churn_ok)

    def summarize(self, history: Iterable[Experience]) -> ImpactReport:
        """Aggregate a history (oldest first within each customer).

        Returns:
            Expected people told, expected customers lost, and per customer the trust
            trajectory, churn risk and word of mouth.

        Raises:
            InvalidTypeError: ``history`` is not an iterable of Experience.

        .. versionadded:: 0.1.0
        """
        by_customer: dict[str, list[Experience]] = {}
        count = 0
        for item in tuple_of(Experience, "history", history):
            by_customer.setdefault(item.customer_id, []).append(item)
            count += 1
        customers = []
        for customer_id in sorted(by_customer):
            items = by_customer[customer_id]
            told = [self.word_of_mouth.told(e.satisfaction) for e in items]
            satisfactions = [e.satisfaction for e in items]
            customers.append(
                CustomerImpact(
                    customer_id=customer_id,
                    experiences=len(items),
                    bad_experiences=math.fsum(self.churn.bad_probability(s) for s in satisfactions),
                    trust=self.trust.trajectory(e.kept for e in items),
                    churn_risk=self.churn.expected_risk(satisfactions),
                    told=Told(
                        positive=math.fsum(t.positive for t in told),
                        negative=math.fsum(t.negative for t in told),
                    ),
                )
            )
        return ImpactReport(
            experiences=count,
            people_told_positive=math.fsum(c.told.positive for c in customers),
            people_told_negative=math.fsum(c.told.negative for c in customers),
            customers_lost=math.fsum(c.churn_risk for c in customers),
            customers=tuple(customers),
        )
