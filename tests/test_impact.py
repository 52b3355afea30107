"""Trust, word of mouth and churn over a history (promisekit.impact)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from promisekit.errors import InvalidTypeError, InvalidValueError, PromiseKitError
from promisekit.impact import (
    ChurnRisk,
    CustomerImpact,
    Experience,
    Impact,
    ImpactReport,
    Told,
    TrustModel,
    WordOfMouth,
)
from promisekit.satisfaction import Labels, Level, Satisfaction


def satisfaction(value: float, scale: float | None = None) -> Satisfaction:
    labels = Labels(scale=scale)
    return Satisfaction(
        value=value,
        components={"time": value},
        label=labels.level(value),
        expected_csat=labels.expected_csat(value),
        probabilities=labels.probabilities(value),
    )


HAPPY = satisfaction(0.3)  # SATISFIED
DELIGHTED = satisfaction(0.9)  # VERY_SATISFIED
MEH = satisfaction(-0.1)  # NEUTRAL
UPSET = satisfaction(-1.0)  # DISSATISFIED


# --------------------------------------------------------------------------- trust


class TestTrust:
    def test_updates(self) -> None:
        model = TrustModel()
        assert model.loss == pytest.approx(0.225)
        assert model.update(0.5, True) == pytest.approx(0.55)
        assert model.update(0.5, False) == pytest.approx(0.3875)
        assert model.trajectory([]) == (0.5,)
        assert model.trajectory([True, False], start=1.0) == pytest.approx((1.0, 1.0, 0.775))

    def test_asymmetry(self) -> None:
        model = TrustModel()
        # a kept then a broken promise leaves the customer trusting less than before
        assert model.trajectory([True, False])[-1] < model.initial
        # building from 0.5 to 0.8 takes many kept promises; one broken one undoes a lot
        path = model.trajectory([True] * 9 + [False])
        assert path[9] > 0.8 > path[10] + 0.15

    def test_ratio_is_a_parameter(self) -> None:
        symmetric = TrustModel(gain=0.2, loss_ratio=1.0)
        assert symmetric.update(0.5, True) - 0.5 == pytest.approx(
            0.5 - symmetric.update(0.5, False)
        )

    @given(
        kept=st.lists(st.booleans(), max_size=30),
        gain=st.floats(min_value=0.01, max_value=0.4),
        start=st.floats(min_value=0.0, max_value=1.0),
    )
    def test_trust_stays_in_the_unit_interval(
        self, kept: list[bool], gain: float, start: float
    ) -> None:
        path = TrustModel(gain=gain).trajectory(kept, start=start)
        assert all(0.0 <= t <= 1.0 for t in path)
        assert len(path) == len(kept) + 1
        for before, after, ok in zip(path, path[1:], kept, strict=False):
            assert (after >= before) if ok else (after <= before)

    @pytest.mark.parametrize(
        ("kwargs", "error", "words"),
        [
            ({"gain": 0}, InvalidValueError, "'gain' must be in \\(0, 1\\]"),
            ({"gain": 1.5}, InvalidValueError, "'gain' must be in"),
            ({"gain": 0.5, "loss_ratio": 3}, InvalidValueError, "must not exceed 1"),
            ({"loss_ratio": 0}, InvalidValueError, "'loss_ratio' must be > 0"),
            ({"initial": 1.5}, InvalidValueError, "'initial' must be a probability"),
            ({"initial": "0.5"}, InvalidTypeError, "'initial' must be a number"),
        ],
    )
    def test_bad_parameters(self, kwargs: dict[str, object], error: type, words: str) -> None:
        with pytest.raises(error, match=words):
            TrustModel(**kwargs)  # type: ignore[arg-type]

    def test_bad_arguments(self) -> None:
        model = TrustModel()
        with pytest.raises(InvalidValueError, match="'trust' must be a probability"):
            model.update(1.2, True)
        with pytest.raises(InvalidTypeError, match="'kept' must be a bool"):
            model.update(0.5, 1)  # type: ignore[arg-type]
        with pytest.raises(InvalidTypeError, match="'kept' must be an iterable of bools"):
            model.trajectory(True)  # type: ignore[arg-type]
        with pytest.raises(InvalidValueError, match="'start' must be a probability"):
            model.trajectory([], start=-0.1)


# --------------------------------------------------------------------------- word of mouth


class TestWordOfMouth:
    def test_presets(self) -> None:
        assert WordOfMouth() == WordOfMouth.preset("3 vs 13") == WordOfMouth(3, 13)
        assert WordOfMouth.preset("3 vs 1") == WordOfMouth(3, 1)

    def test_told_by_label(self) -> None:
        wom = WordOfMouth()
        assert wom.told(HAPPY) == wom.told(DELIGHTED) == Told(3.0, 0.0)
        assert wom.told(MEH) == Told(0.0, 0.0)
        assert wom.told(UPSET) == wom.told(Level.VERY_DISSATISFIED) == Told(0.0, 13.0)
        assert wom.told(UPSET).net == -13.0

    def test_told_by_probabilities(self) -> None:
        calibrated = satisfaction(0.0, scale=0.4)
        p = calibrated.probabilities
        assert p is not None
        told = WordOfMouth().told(calibrated)
        assert told.positive == pytest.approx(3 * (p[3] + p[4]))
        assert told.negative == pytest.approx(13 * (p[0] + p[1]))

    def test_errors(self) -> None:
        with pytest.raises(InvalidValueError, match="'name' must be one of '3 vs 13', '3 vs 1'"):
            WordOfMouth.preset("3 vs 11")
        with pytest.raises(InvalidValueError, match="'negative' must be >= 0"):
            WordOfMouth(3, -1)
        with pytest.raises(
            InvalidTypeError, match="'satisfaction' must be a Satisfaction or a Level"
        ):
            WordOfMouth().told(4)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- churn


class TestChurn:
    def test_risk(self) -> None:
        churn = ChurnRisk()
        assert [churn.risk(n) for n in (0, 1, 2, 7)] == [0.0, 0.61, 0.76, 0.76]

    def test_expected_risk(self) -> None:
        churn = ChurnRisk()
        assert churn.expected_risk([HAPPY, HAPPY]) == 0.0
        assert churn.expected_risk([UPSET, HAPPY]) == 0.61
        assert churn.expected_risk([UPSET, UPSET, UPSET]) == 0.76
        assert churn.expected_risk([MEH]) == 0.0
        assert ChurnRisk(bad_at=Level.NEUTRAL).expected_risk([MEH]) == 0.61

    def test_expected_risk_with_probabilities(self) -> None:
        churn = ChurnRisk()
        a, b = satisfaction(-0.3, scale=0.4), satisfaction(0.1, scale=0.4)
        pa, pb = churn.bad_probability(a), churn.bad_probability(b)
        assert 0 < pb < pa < 1
        expected = (1 - pa) * (1 - pb) * 0 + (pa * (1 - pb) + pb * (1 - pa)) * 0.61 + pa * pb * 0.76
        assert churn.expected_risk([a, b]) == pytest.approx(expected)

    @pytest.mark.parametrize(
        ("kwargs", "error", "words"),
        [
            ({"after_one": 1.2}, InvalidValueError, "'after_one' must be a probability"),
            ({"after_two": 0.5}, InvalidValueError, "'after_two' must be >= 'after_one'"),
            ({"baseline": 0.7}, InvalidValueError, "'baseline' must be <= 'after_one'"),
            ({"bad_at": 2}, InvalidTypeError, "'bad_at' must be a Level"),
        ],
    )
    def test_bad_parameters(self, kwargs: dict[str, object], error: type, words: str) -> None:
        with pytest.raises(error, match=words):
            ChurnRisk(**kwargs)  # type: ignore[arg-type]

    def test_bad_arguments(self) -> None:
        churn = ChurnRisk()
        with pytest.raises(InvalidValueError, match="'bad_experiences' must be >= 0"):
            churn.risk(-1)
        with pytest.raises(InvalidTypeError, match="'bad_experiences' must be an int"):
            churn.risk(1.0)  # type: ignore[arg-type]
        with pytest.raises(InvalidTypeError, match="'satisfactions' must be an iterable"):
            churn.expected_risk(HAPPY)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- history


class TestImpact:
    def test_summarize(self) -> None:
        history = [
            Experience("C-2", UPSET, kept=False),
            Experience("C-1", HAPPY, kept=True),
            Experience("C-2", DELIGHTED, kept=True),
            Experience("C-2", UPSET, kept=False),
            Experience("C-3", MEH, kept=True),
        ]
        report = Impact().summarize(history)
        assert isinstance(report, ImpactReport)
        assert report.experiences == 5
        assert [c.customer_id for c in report.customers] == ["C-1", "C-2", "C-3"]
        assert report.people_told_positive == 6.0
        assert report.people_told_negative == 26.0
        assert report.net_word_of_mouth == -20.0
        assert report.customers_lost == pytest.approx(0.76)
        c2 = report.customer("C-2")
        assert isinstance(c2, CustomerImpact)
        assert c2.experiences == 3 and c2.bad_experiences == 2.0
        assert c2.trust == pytest.approx(TrustModel().trajectory([False, True, False]))
        assert report.mean_trust == pytest.approx((0.55 + c2.trust[-1] + 0.55) / 3)

    def test_parameters_are_overridable(self) -> None:
        impact = Impact(
            trust=TrustModel(gain=0.2),
            word_of_mouth=WordOfMouth.preset("3 vs 1"),
            churn=ChurnRisk(after_one=0.2, after_two=0.3),
        )
        report = impact.summarize([Experience("C", UPSET, kept=False)])
        assert report.people_told_negative == 1.0
        assert report.customers_lost == 0.2
        assert report.customers[0].trust == pytest.approx((0.5, 0.275))

    def test_empty_history(self) -> None:
        report = Impact().summarize([])
        assert report.experiences == 0 and report.customers == ()
        assert math.isnan(report.mean_trust)

    def test_errors(self) -> None:
        with pytest.raises(InvalidTypeError, match="'history' must be an iterable of Experience"):
            Impact().summarize(Experience("C", HAPPY, kept=True))  # type: ignore[arg-type]
        with pytest.raises(InvalidTypeError, match="'history' must contain only Experience"):
            Impact().summarize([HAPPY])  # type: ignore[list-item]
        with pytest.raises(InvalidValueError, match="'customer_id' must be a customer"):
            Impact().summarize([]).customer("C-9")
        with pytest.raises(InvalidTypeError, match="'trust' must be a TrustModel"):
            Impact(trust=WordOfMouth())  # type: ignore[arg-type]
        with pytest.raises(InvalidValueError, match="'customer_id' must be a non-empty"):
            Experience("", HAPPY, kept=True)
        with pytest.raises(InvalidTypeError, match="'satisfaction' must be a Satisfaction"):
            Experience("C", Level.SATISFIED, kept=True)  # type: ignore[arg-type]
        with pytest.raises(InvalidTypeError, match="'kept' must be a bool"):
            Experience("C", HAPPY, kept=None)  # type: ignore[arg-type]
        with pytest.raises(PromiseKitError):
            ChurnRisk(after_one=2)
