"""Scoring with the built-in satisfaction models: golden cases, terms, revisions, errors."""

from __future__ import annotations

import itertools
import math
import pickle
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import attrs
import pytest

from promisekit.calendar import BusinessCalendar
from promisekit.delivery import Delivery, Outcome, Status, assess
from promisekit.errors import (
    InconsistentRecordError,
    InvalidTypeError,
    InvalidValueError,
    NaiveDatetimeError,
    PromiseKitError,
)
from promisekit.promise import Promise, Revision, Terms
from promisekit.satisfaction import (
    DEFAULT_CUTPOINTS,
    CompensationCurve,
    Disconfirmation,
    Expectation,
    Labels,
    Level,
    Norms,
    ProspectValue,
    Recovery,
    Satisfaction,
    SatisfactionModel,
    TermWeights,
    ToleranceValue,
    ZoneOfTolerance,
)

PARIS = ZoneInfo("Europe/Paris")
OFFICE = BusinessCalendar("Europe/Paris", hours={"mon-fri": "09:00-17:00"})
MADE = datetime(2026, 3, 10, 9, 0, tzinfo=PARIS)  # a Tuesday, at opening
UTC0 = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)


def minutes(m: float, start: datetime = MADE) -> datetime:
    return start + timedelta(minutes=m)


def promise(due: datetime, **kwargs: object) -> Promise:
    return Promise(id="P-1", customer_id="C-1", kind="callback", made_at=MADE, due=due, **kwargs)


def delivered(p: Promise, at: datetime, **kwargs: object) -> Outcome:
    return assess(p, [Delivery(p.id, at, **kwargs)], now=at)  # type: ignore[arg-type]


def score(p: Promise, at: datetime, model: Disconfirmation | None = None) -> Satisfaction:
    return (model or Disconfirmation()).score_promise(p, delivered(p, at), calendar=OFFICE)


# --------------------------------------------------------------------------- golden case


class TestFoundingGoldenCase:
    """Same delivery, different promise, different satisfaction (the design brief's case)."""

    def test_callback_within_the_hour_after_59_minutes_is_satisfied(self) -> None:
        s = score(promise(minutes(60)), minutes(59))
        assert s.label is Level.SATISFIED
        assert s.value == pytest.approx((1 / 60) ** 0.88)

    def test_callback_by_end_of_day_after_59_minutes_is_very_satisfied(self) -> None:
        end_of_day = OFFICE.end_of_day(MADE)
        assert OFFICE.between(MADE, end_of_day) == timedelta(hours=8)
        s = score(promise(end_of_day), minutes(59))
        assert s.label is Level.VERY_SATISFIED
        assert s.value == pytest.approx((421 / 480) ** 0.88)

    def test_one_minute_late_is_dissatisfied(self) -> None:
        s = score(promise(minutes(60)), minutes(61))
        assert s.label is Level.DISSATISFIED
        assert s.value == pytest.approx(-2.25 * (1 / 60) ** 0.88 - 0.5)

    def test_three_hours_late_is_very_dissatisfied(self) -> None:
        s = score(promise(minutes(60)), minutes(60 + 180))
        assert s.label is Level.VERY_DISSATISFIED
        assert s.value == pytest.approx(-2.25 * 3**0.88 - 0.5)

    def test_kept_to_the_minute_is_satisfied(self) -> None:
        s = score(promise(minutes(60)), minutes(60))
        assert s.label is Level.SATISFIED
        assert s.value == 0.0

    def test_same_delivery_scores_higher_under_the_longer_promise(self) -> None:
        hour = score(promise(minutes(60)), minutes(59))
        day = score(promise(OFFICE.end_of_day(MADE)), minutes(59))
        assert day.value > hour.value
        assert day.expected_csat > hour.expected_csat

    def test_golden_case_in_real_time_too(self) -> None:
        model = Disconfirmation()
        for window, at, level in [
            (60, 59, Level.SATISFIED),
            (480, 59, Level.VERY_SATISFIED),
            (60, 61, Level.DISSATISFIED),
            (60, 240, Level.VERY_DISSATISFIED),
        ]:
            e = Expectation(kind="callback", made_at=UTC0, due=minutes(window, UTC0))
            assert model.score(e, e.completed(minutes(at, UTC0))).label is level

    def test_business_time_ignores_the_night(self) -> None:
        evening = datetime(2026, 3, 10, 16, 30, tzinfo=PARIS)
        p = Promise(
            id="P-1",
            customer_id="C-1",
            kind="callback",
            made_at=evening,
            due=OFFICE.add(evening, timedelta(hours=1)),  # 09:30 the next morning
        )
        next_morning = datetime(2026, 3, 11, 9, 29, tzinfo=PARIS)
        s = score(p, next_morning)
        assert s.label is Level.SATISFIED
        assert s.value == pytest.approx((1 / 60) ** 0.88)


# --------------------------------------------------------------------------- value functions


class TestProspectValue:
    @pytest.mark.parametrize(
        ("x", "expected"),
        [(1.0, 1.0), (-1.0, -2.25), (10.0, 7.5858), (-10.0, -17.068), (0.0, 0.0)],
    )
    def test_golden_values(self, x: float, expected: float) -> None:
        assert ProspectValue()(x) == pytest.approx(expected, abs=5e-4)

    def test_loss_aversion(self) -> None:
        v = ProspectValue()
        for x in (0.01, 0.5, 1.0, 3.0):
            assert -v(-x) > v(x)

    def test_caps_saturate_and_reduce_to_prospect_theory_for_small_values(self) -> None:
        capped = ProspectValue(gain_cap=0.5, loss_cap=2.0)
        assert capped(1e6) == pytest.approx(0.5)
        assert capped(-1e6) == pytest.approx(-4.5)
        assert capped(1e-6) == pytest.approx(ProspectValue()(1e-6), rel=1e-4)
        assert repr(capped) == (
            "ProspectValue(alpha=0.88, beta=0.88, lam=2.25, gain_cap=0.5, loss_cap=2.0)"
        )

    @pytest.mark.parametrize(
        ("kwargs", "error", "words"),
        [
            ({"alpha": 0}, InvalidValueError, "'alpha' must be > 0"),
            ({"beta": -1}, InvalidValueError, "'beta' must be > 0"),
            ({"lam": "2"}, InvalidTypeError, "'lam' must be a number"),
            ({"lam": math.inf}, InvalidValueError, "'lam' must be a finite"),
            ({"gain_cap": 0}, InvalidValueError, "'gain_cap' must be > 0"),
        ],
    )
    def test_bad_parameters(self, kwargs: dict[str, object], error: type, words: str) -> None:
        with pytest.raises(error, match=words):
            ProspectValue(**kwargs)  # type: ignore[arg-type]

    def test_bad_argument(self) -> None:
        with pytest.raises(InvalidTypeError, match="'x' must be a number"):
            ProspectValue()("1")  # type: ignore[arg-type]


class TestToleranceValue:
    def test_shape(self) -> None:
        zone = ToleranceValue(-0.1, 0.5, below=3.0, inside=0.1, above=1.0)
        assert zone(-0.1) == 0.0
        assert zone(-0.2) == pytest.approx(-0.3)
        assert zone(0.5) == pytest.approx(0.06)
        assert zone(0.7) == pytest.approx(0.26)
        # continuous at both breakpoints
        for edge in (-0.1, 0.5):
            assert zone(edge - 1e-9) == pytest.approx(zone(edge + 1e-9), abs=1e-8)

    def test_steep_below_flat_inside_rising_above(self) -> None:
        zone = ToleranceValue(0.0, 0.5)
        below = zone(-0.1) - zone(-0.2)
        inside = zone(0.3) - zone(0.2)
        above = zone(0.8) - zone(0.7)
        assert below > above > inside > 0

    def test_bad_order(self) -> None:
        with pytest.raises(InvalidValueError, match="'desired' must be >= 'adequate'"):
            ToleranceValue(0.5, 0.0)

    def test_bad_slope(self) -> None:
        with pytest.raises(InvalidValueError, match="'inside' must be >= 0"):
            ToleranceValue(0.0, 0.5, inside=-1)


# --------------------------------------------------------------------------- labels


class TestLabels:
    def test_default_cutpoints(self) -> None:
        assert Labels().cutpoints == DEFAULT_CUTPOINTS == (-2.75, -0.25, 0.0, 0.5)

    @pytest.mark.parametrize(
        ("value", "level"),
        [
            (-3.0, Level.VERY_DISSATISFIED),
            (-2.75, Level.DISSATISFIED),
            (-0.26, Level.DISSATISFIED),
            (-0.25, Level.NEUTRAL),
            (-0.01, Level.NEUTRAL),
            (0.0, Level.SATISFIED),
            (0.49, Level.SATISFIED),
            (0.5, Level.VERY_SATISFIED),
        ],
    )
    def test_levels(self, value: float, level: Level) -> None:
        assert Labels().level(value) is level

    def test_uncalibrated_csat_rounds_to_the_label(self) -> None:
        labels = Labels()
        for i in range(-400, 120):
            value = i / 100
            csat = labels.expected_csat(value)
            assert 1.0 <= csat <= 5.0
            assert min(5, max(1, math.floor(csat + 0.5))) == labels.level(value)
        assert labels.probabilities(0.3) is None

    def test_calibrated_probabilities(self) -> None:
        labels = Labels(scale=0.4)
        probabilities = labels.probabilities(0.1)
        assert probabilities is not None
        assert sum(probabilities) == pytest.approx(1.0)
        assert labels.expected_csat(0.1) == pytest.approx(
            sum(k * p for k, p in enumerate(probabilities, 1))
        )
        assert labels.expected_csat(-100) == pytest.approx(1.0)
        assert labels.expected_csat(100) == pytest.approx(5.0)

    @pytest.mark.parametrize(
        ("kwargs", "error", "words"),
        [
            ({"cutpoints": (1, 2, 3)}, InvalidValueError, "exactly 4 values"),
            ({"cutpoints": (1, 0, 2, 3)}, InvalidValueError, "strictly increasing"),
            ({"cutpoints": "abcd"}, InvalidTypeError, "sequence of 4 numbers"),
            ({"cutpoints": (0, 1, 2, math.nan)}, InvalidValueError, "'cutpoints\\[3\\]'"),
            ({"scale": 0}, InvalidValueError, "'scale' must be > 0"),
        ],
    )
    def test_bad_labels(self, kwargs: dict[str, object], error: type, words: str) -> None:
        with pytest.raises(error, match=words):
            Labels(**kwargs)  # type: ignore[arg-type]


class TestSatisfaction:
    def test_is_frozen_hashable_and_picklable(self) -> None:
        s = score(promise(minutes(60)), minutes(61))
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            s.value = 1.0  # type: ignore[misc]
        with pytest.raises(TypeError):
            s.components["time"] = 0.0  # type: ignore[index]
        assert pickle.loads(pickle.dumps(s)) == s
        assert hash(s) == hash(pickle.loads(pickle.dumps(s)))
        assert "DISSATISFIED" in str(s)
        assert s.probability(Level.SATISFIED) is None

    @pytest.mark.parametrize(
        ("kwargs", "error", "words"),
        [
            ({"value": math.nan}, InvalidValueError, "'value' must be a finite"),
            ({"components": {1: 0.0}}, InvalidTypeError, "'components' keys must be strings"),
            ({"components": []}, InvalidTypeError, "'components' must be a mapping"),
            ({"components": {"time": "0"}}, InvalidTypeError, "'components' values must be"),
            ({"components": {"time": math.inf}}, InvalidValueError, "for key 'time'"),
            ({"label": 4}, InvalidTypeError, "'label' must be a Level"),
            ({"expected_csat": 6.0}, InvalidValueError, "'expected_csat' must be within"),
            ({"probabilities": (0.5, 0.5)}, InvalidValueError, "5 values"),
            ({"probabilities": (0.5,) * 5}, InvalidValueError, "sum to 1"),
        ],
    )
    def test_bad_values(self, kwargs: dict[str, object], error: type, words: str) -> None:
        base: dict[str, object] = {
            "value": 0.1,
            "components": {"time": 0.1},
            "label": Level.SATISFIED,
            "expected_csat": 3.7,
        }
        base.update(kwargs)
        with pytest.raises(error, match=words):
            Satisfaction(**base)  # type: ignore[arg-type]

    def test_probability_needs_a_level(self) -> None:
        s = score(promise(minutes(60)), minutes(59))
        with pytest.raises(InvalidTypeError, match="'level' must be a Level"):
            s.probability(4)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- expectations


class TestExpectation:
    def test_from_promise(self) -> None:
        p = promise(minutes(60), terms=Terms(quantity=3, quality=4, max_cost="25"))
        e = Expectation.from_promise(p, OFFICE)
        assert (e.kind, e.source, e.request_id) == ("callback", "promise", "P-1")
        assert (e.quantity, e.quality, e.max_cost) == (3.0, 4.0, Decimal(25))
        assert e.window == timedelta(hours=1)
        assert e.original_due == e.due == minutes(60)

    def test_from_norm_in_business_time(self) -> None:
        norms = Norms({"callback": timedelta(hours=4)}, calendar=OFFICE)
        afternoon = datetime(2026, 3, 10, 15, 0, tzinfo=PARIS)
        e = Expectation.from_norm("callback", afternoon, norms)
        assert e.source == "self"
        assert e.due == datetime(2026, 3, 11, 11, 0, tzinfo=PARIS)
        assert e.window == timedelta(hours=4)
        assert norms.expect("callback", afternoon) == e

    def test_from_norm_in_real_time(self) -> None:
        e = Expectation.from_norm("repair", UTC0, timedelta(days=2))
        assert e.due == UTC0 + timedelta(days=2)
        assert e.calendar is None

    def test_norms_mapping(self) -> None:
        norms = Norms({"repair": timedelta(days=3), "callback": timedelta(hours=4)})
        assert list(norms) == ["callback", "repair"]
        assert len(norms) == 2 and "repair" in norms and "parcel" not in norms
        with pytest.raises(InvalidValueError, match="'kind' must be one of the kinds"):
            norms["parcel"]
        assert Norms({"a": timedelta(1)}, default=timedelta(2))["zzz"] == timedelta(2)

    def test_self_expectation_outcome_and_score(self) -> None:
        e = Expectation.from_norm("callback", UTC0, timedelta(hours=1))
        late = e.completed(minutes(61, UTC0))
        assert late.status is Status.LATE and late.promise_id == "callback"
        s = Disconfirmation().score(e, late)
        # no promise broken: no breach penalty, losses weighted by self_weight
        assert s.value == pytest.approx(0.5 * -2.25 * (1 / 60) ** 0.88)
        assert s.label is Level.NEUTRAL

    def test_self_expectation_lateness_hurts_less_than_a_broken_promise(self) -> None:
        model = Disconfirmation()
        own = Expectation.from_norm("callback", UTC0, timedelta(hours=1))
        promised = attrs.evolve(own, source="promise")
        at = minutes(90, UTC0)
        assert (
            model.score(own, own.completed(at)).value
            > model.score(promised, promised.completed(at)).value
        )

    def test_due_in_force_and_revisions(self) -> None:
        p = promise(minutes(60)).revise(due=minutes(120), at=minutes(30))
        e = Expectation.from_promise(p)
        assert e.due_in_force(0) == minutes(60)
        assert e.due_in_force(1) == minutes(120)
        with pytest.raises(InconsistentRecordError, match="'revision' must be between 0 and 1"):
            e.due_in_force(2)
        with pytest.raises(InvalidTypeError, match="'revision' must be an int"):
            e.due_in_force(True)

    def test_completed_builds_closed_outcomes(self) -> None:
        e = Expectation.from_promise(promise(minutes(60), terms=Terms(quantity=4, max_cost=10)))
        kept = e.completed(minutes(50), cost=9)
        short = e.completed(minutes(50), quantity=3)
        over = e.completed(minutes(50), cost="12.5")
        assert (kept.status, short.status, over.status) == (Status.KEPT, Status.SHORT, Status.SHORT)
        assert over.shortfall.cost == Decimal("2.5")
        with pytest.raises(InconsistentRecordError, match="'at' must not be before"):
            e.completed(minutes(-1))
        with pytest.raises(NaiveDatetimeError, match="'at' must be a timezone-aware"):
            e.completed(datetime(2026, 3, 10, 10, 0))

    @pytest.mark.parametrize(
        ("kwargs", "error", "words"),
        [
            ({"kind": ""}, InvalidValueError, "'kind' must be a non-empty string"),
            ({"made_at": datetime(2026, 3, 10)}, NaiveDatetimeError, "'made_at'"),
            ({"due": minutes(-5)}, InvalidValueError, "'due' must not be before 'made_at'"),
            ({"source": "customer"}, InvalidValueError, "'source' must be 'promise' or 'self'"),
            ({"quantity": -1}, InvalidValueError, "'quantity' must be >= 0"),
            ({"max_cost": "abc"}, InvalidValueError, "'max_cost' must be a decimal"),
            ({"calendar": "office"}, InvalidTypeError, "'calendar' must be a BusinessCalendar"),
            ({"revisions": [1]}, InvalidTypeError, "'revisions' must contain only Revision"),
            ({"request_id": " "}, InvalidValueError, "'request_id' must be a non-empty"),
        ],
    )
    def test_bad_fields(self, kwargs: dict[str, object], error: type, words: str) -> None:
        base: dict[str, object] = {"kind": "callback", "made_at": MADE, "due": minutes(60)}
        base.update(kwargs)
        with pytest.raises(error, match=words):
            Expectation(**base)  # type: ignore[arg-type]

    def test_revisions_only_for_promises(self) -> None:
        revision = Revision(number=1, at=minutes(10), previous_due=minutes(60), due=minutes(90))
        with pytest.raises(InvalidValueError, match="'revisions' must be empty when 'source'"):
            Expectation(
                kind="c", made_at=MADE, due=minutes(90), source="self", revisions=[revision]
            )

    def test_revision_chain_is_checked(self) -> None:
        revision = Revision(number=1, at=minutes(10), previous_due=minutes(60), due=minutes(90))
        with pytest.raises(InconsistentRecordError, match="'revisions' must end at 'due'"):
            Expectation(kind="c", made_at=MADE, due=minutes(80), revisions=[revision])
        second = Revision(number=3, at=minutes(20), previous_due=minutes(90), due=minutes(95))
        with pytest.raises(InconsistentRecordError, match="numbered 1, 2, 3"):
            Expectation(kind="c", made_at=MADE, due=minutes(95), revisions=[revision, second])
        broken = Revision(number=2, at=minutes(20), previous_due=minutes(70), due=minutes(95))
        with pytest.raises(InconsistentRecordError, match="must form a chain"):
            Expectation(kind="c", made_at=MADE, due=minutes(95), revisions=[revision, broken])
        early = Revision(number=1, at=minutes(-10), previous_due=minutes(60), due=minutes(90))
        with pytest.raises(InconsistentRecordError, match="not before 'made_at'"):
            Expectation(kind="c", made_at=MADE, due=minutes(90), revisions=[early])

    @pytest.mark.parametrize(
        ("call", "error", "words"),
        [
            (lambda: Expectation.from_promise("P-1"), InvalidTypeError, "'promise' must be a"),
            (
                lambda: Expectation.from_norm("c", MADE, timedelta(0)),
                InvalidValueError,
                "'norm' must be a positive duration",
            ),
            (
                lambda: Expectation.from_norm("c", MADE, 60),
                InvalidTypeError,
                "'norm' must be a timedelta",
            ),
            (
                lambda: Expectation.from_norm("c", MADE, timedelta(1), terms={"quantity": 1}),
                InvalidTypeError,
                "'terms' must be a Terms",
            ),
            (lambda: Norms({}), InvalidValueError, "'windows' must not be empty"),
            (lambda: Norms([("a", 1)]), InvalidTypeError, "'windows' must be a mapping"),
            (
                lambda: Norms({"a": timedelta(-1)}),
                InvalidValueError,
                "'windows' must map each kind to a positive timedelta",
            ),
        ],
    )
    def test_bad_constructions(self, call: object, error: type, words: str) -> None:
        with pytest.raises(error, match=words):
            call()  # type: ignore[operator]


# --------------------------------------------------------------------------- terms


class TestNonTimeTerms:
    def test_weighted_components(self) -> None:
        p = promise(minutes(60), terms=Terms(quantity=10, quality=4, max_cost="50"))
        o = delivered(p, minutes(60), quantity=10, quality=3.5, cost="55")
        s = Disconfirmation().score_promise(p, o)
        assert s.components == {"time": 0.0, "quantity": 0.0, "quality": -0.25, "cost": -0.2}
        assert s.value == pytest.approx(-0.45)
        assert s.label is Level.DISSATISFIED

    def test_quantity_short_while_overdue(self) -> None:
        p = promise(minutes(60), terms=Terms(quantity=10))
        o = assess(p, [Delivery("P-1", minutes(30), quantity=5)], now=minutes(60))
        assert o.status is Status.PENDING
        with pytest.raises(InvalidValueError, match="must be complete or overdue"):
            Disconfirmation().score_promise(p, o)
        overdue = assess(p, [Delivery("P-1", minutes(30), quantity=5)], now=minutes(70))
        s = Disconfirmation().score_promise(p, overdue)
        assert s.components["quantity"] == pytest.approx(-1.0)
        assert s.components["time"] < -0.5

    def test_weights_are_parameters(self) -> None:
        p = promise(minutes(60), terms=Terms(quantity=10))
        o = delivered(p, minutes(60), quantity=10)
        model = Disconfirmation(weights=TermWeights(quantity=0.0, quality=1.0, cost=3.0))
        assert model.score_promise(p, o).components["quantity"] == 0.0
        e = Expectation.from_promise(promise(minutes(60), terms=Terms(max_cost=0)))
        charged = e.completed(minutes(60), cost=5)
        assert model.score(e, charged).components["cost"] == -3.0

    @pytest.mark.parametrize("field", ["quantity", "quality", "cost"])
    def test_bad_weights(self, field: str) -> None:
        with pytest.raises(InvalidValueError, match=f"'{field}' must be >= 0"):
            TermWeights(**{field: -1})


# --------------------------------------------------------------------------- revisions


class TestRevisionsAndRecovery:
    def test_proactive_revision_moves_the_reference_with_a_small_penalty(self) -> None:
        revised = promise(minutes(60)).revise(due=minutes(120), at=minutes(50))
        s = score(revised, minutes(115))
        assert s.components["revision"] == pytest.approx(-0.1)
        assert s.components["time"] == pytest.approx((5 / 120) ** 0.88)
        assert s.label is Level.NEUTRAL

    def test_honest_update_beats_silence_and_a_late_update(self) -> None:
        silence = score(promise(minutes(60)), minutes(115))
        early = score(promise(minutes(60)).revise(due=minutes(120), at=minutes(50)), minutes(115))
        late = score(promise(minutes(60)).revise(due=minutes(120), at=minutes(90)), minutes(115))
        assert early.value > late.value > silence.value
        assert late.components["revision"] == pytest.approx(-(0.5 + 2.25 * 0.5**0.88))
        assert early.value - late.value > 1.0  # a late revision weighs much more

    def test_second_broken_promise_weighs_double(self) -> None:
        first = score(promise(minutes(60)), minutes(70))
        revised = promise(minutes(60)).revise(due=minutes(120), at=minutes(50))
        second = score(revised, minutes(140))
        loss = -2.25 * (20 / 120) ** 0.88 - 0.5
        assert second.components["time"] == pytest.approx(2 * loss)
        assert first.components["time"] == pytest.approx(-2.25 * (10 / 60) ** 0.88 - 0.5)
        model = Disconfirmation(recovery=Recovery(repeat=1.0))
        assert score(revised, minutes(140), model).components["time"] == pytest.approx(loss)

    def test_recovery_paradox_after_one_failure_not_two(self) -> None:
        model = Disconfirmation()
        once = promise(minutes(60)).revise(due=minutes(120), at=minutes(50))
        twice = once.revise(due=minutes(180), at=minutes(110))
        compensation = {"compensation": 20, "price": 25}
        one = model.score(
            Expectation.from_promise(once), delivered(once, minutes(100)), **compensation
        )
        two = model.score(
            Expectation.from_promise(twice), delivered(twice, minutes(160)), **compensation
        )
        kept = score(promise(minutes(60)), minutes(59))
        assert one.value > kept.value  # recovered beyond a plain kept promise
        assert two.value < one.value
        assert two.components["revision"] == pytest.approx(-0.3)

    def test_revision_after_completion_does_not_count(self) -> None:
        p = promise(minutes(60))
        o = delivered(p, minutes(59))
        later = p.revise(due=minutes(120), at=minutes(65))
        s = Disconfirmation().score_promise(later, o)
        assert "revision" not in s.components
        assert s.label is Level.SATISFIED

    def test_bad_recovery(self) -> None:
        with pytest.raises(InvalidValueError, match="'repeat' must be >= 1"):
            Recovery(repeat=0.5)
        with pytest.raises(InvalidValueError, match="'proactive' must be >= 0"):
            Recovery(proactive=-0.1)


# --------------------------------------------------------------------------- compensation


class TestCompensation:
    def test_saturating_curve(self) -> None:
        curve = CompensationCurve()
        assert curve.gain(0.0) == 0.0
        assert curve.gain(1.5) == curve.gain(2.0) == curve.gain(10.0) == 1.0
        ratios = [i / 20 for i in range(41)]
        gains = [curve.gain(r) for r in ratios]
        assert gains == sorted(gains)
        steps = [b - a for a, b in itertools.pairwise(gains)]
        assert max(range(len(steps)), key=steps.__getitem__) in (17, 18)  # steepest near 0.9

    def test_smallest_compensation(self) -> None:
        curve = CompensationCurve()
        amount = curve.smallest_compensation(0.5, Decimal("79.90"))
        assert amount is not None and amount.as_tuple().exponent == -2
        assert curve.gain_for(amount, Decimal("79.90")) >= 0.5
        assert curve.gain_for(amount - Decimal("0.01"), Decimal("79.90")) < 0.5
        assert curve.smallest_compensation(0.0, 80) == 0
        assert curve.smallest_compensation(1.0, 80) == 120
        assert curve.smallest_compensation(1.01, 80) is None  # not at any cost
        assert curve.smallest_compensation(0.5, 80, quantum=5) == 75

    def test_score_with_compensation(self) -> None:
        e = Expectation.from_promise(promise(minutes(60), terms=Terms(max_cost=25)))
        late = e.completed(minutes(61))
        model = Disconfirmation()
        plain = model.score(e, late)
        helped = model.score(e, late, compensation=25)
        assert helped.components["compensation"] == pytest.approx(CompensationCurve().gain(1.0))
        assert helped.value > plain.value
        with pytest.raises(InvalidValueError, match="'price' must be given"):
            model.score(Expectation.from_promise(promise(minutes(60))), late, compensation=5)

    @pytest.mark.parametrize(
        ("call", "error", "words"),
        [
            (lambda c: c.gain(-0.1), InvalidValueError, "'ratio' must be >= 0"),
            (lambda c: c.gain_for(5, 0), InvalidValueError, "'price' must be > 0"),
            (lambda c: c.gain_for(-5, 10), InvalidValueError, "'compensation' must be >= 0"),
            (lambda c: c.ratio_for(-1), InvalidValueError, "'target_gain' must be >= 0"),
            (lambda c: c.smallest_compensation(0.5, 10, quantum=0), InvalidValueError, "'quantum'"),
            (lambda c: attrs.evolve(c, cap=0), InvalidValueError, "'cap' must be > 0"),
        ],
    )
    def test_errors(self, call: object, error: type, words: str) -> None:
        with pytest.raises(error, match=words):
            call(CompensationCurve())  # type: ignore[operator]


# --------------------------------------------------------------------------- models


class TestModels:
    def test_protocol(self) -> None:
        assert isinstance(Disconfirmation(), SatisfactionModel)
        assert isinstance(ZoneOfTolerance(-0.1, 0.5), SatisfactionModel)
        assert not isinstance(object(), SatisfactionModel)

    def test_zone_of_tolerance_scores(self) -> None:
        zone = ZoneOfTolerance(-0.1, 0.5)
        e = Expectation(kind="callback", made_at=UTC0, due=minutes(60, UTC0))
        assert zone.score(e, e.completed(minutes(63, UTC0))).value == pytest.approx(0.1 * 0.05)
        assert zone.score(e, e.completed(minutes(66, UTC0))).value == 0.0
        assert zone.score(e, e.completed(minutes(90, UTC0))).value == pytest.approx(-2.25 * 0.4)
        assert zone.value == ToleranceValue(-0.1, 0.5)

    def test_absolute_disconfirmation(self) -> None:
        model = Disconfirmation(relative=False, unit=timedelta(days=1))
        e = Expectation(kind="parcel", made_at=UTC0, due=UTC0 + timedelta(days=5))
        s = model.score(e, e.completed(UTC0 + timedelta(days=7)))
        assert s.components["time"] == pytest.approx(-2.25 * 2**0.88 - 0.5)

    def test_due_immediately_uses_min_window(self) -> None:
        e = Expectation(kind="callback", made_at=UTC0, due=UTC0)
        s = Disconfirmation().score(e, e.completed(minutes(1, UTC0)))
        assert s.components["time"] == pytest.approx(-2.25 - 0.5)

    def test_repr_and_equality(self) -> None:
        assert repr(Disconfirmation()) == (
            "Disconfirmation(value=ProspectValue(alpha=0.88, beta=0.88, lam=2.25), unfitted)"
        )
        assert repr(ZoneOfTolerance(0, 1, breach=0.2)) == (
            "ZoneOfTolerance(adequate=0.0, desired=1.0, breach=0.2, unfitted)"
        )
        assert Disconfirmation() == Disconfirmation()
        assert hash(Disconfirmation()) == hash(Disconfirmation())
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            Disconfirmation().breach = 1.0  # type: ignore[misc]

    def test_score_many_equals_one_by_one(self) -> None:
        model = Disconfirmation()
        e = Expectation(kind="callback", made_at=UTC0, due=minutes(60, UTC0))
        pairs = [(e, e.completed(minutes(m, UTC0))) for m in (10, 59, 61, 200)]
        assert model.score_many(pairs) == [model.score(*pair) for pair in pairs]
        assert model.score_many(iter(pairs)) == model.score_many(pairs)

    @pytest.mark.parametrize(
        ("kwargs", "error", "words"),
        [
            ({"value": ToleranceValue(0, 1)}, InvalidTypeError, "'value' must be a ProspectValue"),
            ({"relative": 1}, InvalidTypeError, "'relative' must be a bool"),
            ({"unit": timedelta(0)}, InvalidValueError, "'unit' must be a positive duration"),
            ({"min_window": 60}, InvalidTypeError, "'min_window' must be a timedelta"),
            ({"breach": -0.5}, InvalidValueError, "'breach' must be >= 0"),
            ({"self_weight": "x"}, InvalidTypeError, "'self_weight' must be a number"),
            ({"weights": {}}, InvalidTypeError, "'weights' must be a TermWeights"),
            ({"recovery": None}, InvalidTypeError, "'recovery' must be a Recovery"),
            ({"labels": (0, 1, 2, 3)}, InvalidTypeError, "'labels' must be a Labels"),
            ({"compensation": 1.0}, InvalidTypeError, "'compensation' must be a Compensation"),
        ],
    )
    def test_bad_hyperparameters(self, kwargs: dict[str, object], error: type, words: str) -> None:
        with pytest.raises(error, match=words):
            Disconfirmation(**kwargs)  # type: ignore[arg-type]

    def test_bad_zone(self) -> None:
        with pytest.raises(InvalidValueError, match="'desired' must be >= 'adequate'"):
            ZoneOfTolerance(0.5, 0.0)
        with pytest.raises(InvalidValueError, match="'below' must be > 0"):
            ZoneOfTolerance(0.0, 0.5, below=0)

    def test_scoring_errors(self) -> None:
        model = Disconfirmation()
        p = promise(minutes(60))
        e = Expectation.from_promise(p)
        o = delivered(p, minutes(30))
        with pytest.raises(InvalidTypeError, match="'expectation' must be an Expectation"):
            model.score(p, o)  # type: ignore[arg-type]
        with pytest.raises(InvalidTypeError, match="'outcome' must be an Outcome"):
            model.score(e, minutes(30))  # type: ignore[arg-type]
        other = attrs.evolve(o, promise_id="P-2")
        with pytest.raises(InconsistentRecordError, match="must be for promise 'P-1'"):
            model.score(e, other)
        moved = attrs.evolve(o, due=minutes(90))
        with pytest.raises(InconsistentRecordError, match="due date in force at revision 0"):
            model.score(e, moved)
        later = Expectation(kind="callback", made_at=minutes(45), due=minutes(60), request_id="P-1")
        with pytest.raises(InconsistentRecordError, match="must not complete before"):
            model.score(later, o)
        revised = attrs.evolve(o, revision=1)
        with pytest.raises(InconsistentRecordError, match="'revision' must be between"):
            model.score(e, revised)
        with pytest.raises(InvalidTypeError, match="'pairs' must be an iterable"):
            model.score_many(e)  # type: ignore[arg-type]
        with pytest.raises(InvalidTypeError, match="'pairs' must contain"):
            model.score_many([e])  # type: ignore[list-item]
        with pytest.raises(InvalidTypeError, match="at index 1"):
            model.score_many([(e, o), (o, e)])  # type: ignore[list-item]

    def test_every_error_is_a_promisekit_error(self) -> None:
        with pytest.raises(PromiseKitError):
            Disconfirmation(breach=-1)
        with pytest.raises(ValueError, match="breach"):
            Disconfirmation(breach=-1)
