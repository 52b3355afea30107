"""negotiate(), propose_revision() and the optimal quote (newsvendor golden case)."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promisekit.buffering import (
    Cap,
    Decision,
    EmpiricalCapability,
    LinearLatenessCost,
    OptimalBuffer,
    ParametricCapability,
    PointCapability,
    QuantileBuffer,
    RoundUp,
    SegmentedCapability,
    negotiate,
    optimal_quote,
    propose_revision,
    quote,
)
from promisekit.calendar import BusinessCalendar
from promisekit.errors import (
    InsufficientDataError,
    InvalidTypeError,
    InvalidValueError,
    NaiveDatetimeError,
    PromiseKitError,
)

UTC = timezone.utc
PARIS = ZoneInfo("Europe/Paris")
M = timedelta(minutes=1)
H = timedelta(hours=1)
T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
OFFICE = BusinessCalendar("Europe/Paris", hours={"mon-fri": ["09:00-12:30", "13:30-18:00"]})


def hundred() -> EmpiricalCapability:
    """Durations of 1, 2, …, 100 minutes."""
    return EmpiricalCapability.from_durations([timedelta(minutes=m) for m in range(1, 101)])


def minutes_of(delta: timedelta) -> float:
    return delta.total_seconds() / 60


# --------------------------------------------------------------------------- negotiate


def test_negotiate_accepts_a_safe_date() -> None:
    n = negotiate(T0 + 95 * M, start=T0, capability=hundred(), min_confidence=0.9)
    assert n.decision is Decision.ACCEPT
    assert n.accepted
    assert n.due == T0 + 95 * M
    assert n.confidence == n.requested_confidence == 0.95
    assert n.min_confidence == 0.9
    assert str(n) == "accept: 10:35 UTC is kept with 95 % confidence (>= the required 90 %)"


def test_negotiate_counter_offers_the_earliest_safe_date() -> None:
    n = negotiate(T0 + 30 * M, start=T0, capability=hundred(), min_confidence=0.9)
    assert n.decision is Decision.COUNTER_OFFER
    assert not n.accepted
    assert n.due == T0 + 90 * M
    assert n.confidence == 0.9
    assert n.requested_confidence == 0.3
    assert n.requested_due == T0 + 30 * M
    assert "09:30 UTC is kept with only 30 % confidence" in n.reason
    assert "10:30 UTC is the earliest due with >= 90 %" in n.reason
    # The counter-offer is the earliest: one minute earlier misses the confidence.
    earlier = negotiate(T0 + 89 * M, start=T0, capability=hundred(), min_confidence=0.9)
    assert earlier.decision is Decision.COUNTER_OFFER
    again = negotiate(n.due, start=T0, capability=hundred(), min_confidence=0.9)
    assert again.decision is Decision.ACCEPT


def test_negotiate_a_date_before_the_start() -> None:
    n = negotiate(T0 - H, start=T0, capability=hundred(), min_confidence=0.5)
    assert n.decision is Decision.COUNTER_OFFER
    assert n.requested_confidence == 0.0
    assert n.due == T0 + 50 * M


def test_negotiate_declines_what_the_sample_cannot_support() -> None:
    n = negotiate(T0 + 10 * H, start=T0, capability=hundred(), min_confidence=0.995)
    assert n.decision is Decision.DECLINE
    assert n.due is None and n.confidence is None
    assert "longest of the 100 observed durations" in n.reason
    assert "99 %" in n.reason  # 100/101
    assert "at least 199 past durations are needed" in n.reason
    exact = negotiate(T0 + 10 * H, start=T0, capability=hundred(), min_confidence=1.0)
    assert exact.decision is Decision.DECLINE
    assert "no sample can" in exact.reason


def test_negotiate_declines_past_max_due() -> None:
    n = negotiate(T0 + 30 * M, start=T0, capability=hundred(), min_confidence=0.9, max_due=T0 + H)
    assert n.decision is Decision.DECLINE
    assert "10:30" in n.reason and "after the latest acceptable date (10:00 UTC)" in n.reason
    ok = negotiate(
        T0 + 30 * M, start=T0, capability=hundred(), min_confidence=0.9, max_due=T0 + 2 * H
    )
    assert ok.decision is Decision.COUNTER_OFFER


def test_negotiate_with_a_parametric_capability() -> None:
    cap = ParametricCapability.exponential(20 * M)
    n = negotiate(T0 + 30 * M, start=T0, capability=cap, min_confidence=0.95)
    assert n.decision is Decision.COUNTER_OFFER
    assert n.due is not None and minutes_of(n.due - T0) == pytest.approx(59.9146, abs=1e-3)
    assert n.confidence is not None and n.confidence >= 0.95
    never = negotiate(T0 + 30 * M, start=T0, capability=cap, min_confidence=1.0)
    assert never.decision is Decision.DECLINE
    assert "no finite due" in never.reason


def test_negotiate_in_business_time_and_by_segment() -> None:
    start = datetime(2026, 3, 10, 17, 30, tzinfo=PARIS)
    seg = SegmentedCapability({"callback": hundred()})
    n = negotiate(
        datetime(2026, 3, 10, 17, 45, tzinfo=PARIS),
        start=start,
        capability=seg,
        segment="callback",
        min_confidence=0.9,
        calendar=OFFICE,
    )
    assert n.decision is Decision.COUNTER_OFFER
    assert n.due == datetime(2026, 3, 11, 10, 0, tzinfo=PARIS)  # 30 min today + 60 tomorrow
    assert n.due.tzinfo is OFFICE.zone


def test_negotiate_refuses_a_point_estimate() -> None:
    with pytest.raises(InsufficientDataError, match="distribution"):
        negotiate(T0 + H, start=T0, capability=PointCapability(H), min_confidence=0.9)


# --------------------------------------------------------------------------- revision


def test_propose_revision_uses_the_residual_distribution() -> None:
    now = T0 + H  # 60 minutes spent: durations 61..100 remain, residuals 1..40
    q = propose_revision(T0, now, hundred(), 0.95)
    assert q.start == now
    assert q.due == now + 38 * M
    assert q.confidence == 0.95
    assert q.target == now + 20 * M
    assert q.explanation == (
        "new due by 10:38 UTC (p95 of the 40 of 100 past jobs still running after 1 h = 38 min)"
    )
    # A naive fresh quote would promise the p95 from scratch: an "imaginary" date.
    assert quote(T0, hundred(), QuantileBuffer(0.95)).due == T0 + 95 * M < q.due


def test_propose_revision_with_a_rounding_policy_and_a_cap() -> None:
    now = T0 + H
    rounded = propose_revision(T0, now, hundred(), 0.95, policy=RoundUp("quarter-hour"))
    assert rounded.due == now + 45 * M
    capped = propose_revision(T0, now, hundred(), 0.95, policy=Cap(5 * M))
    assert capped.due == now + 38 * M  # never below the residual quantile


def test_propose_revision_needs_enough_longer_durations() -> None:
    now = T0 + 80 * M  # only 20 durations are longer than 80 minutes
    with pytest.raises(InsufficientDataError) as info:
        propose_revision(T0, now, hundred(), 0.9)
    assert "refuses to quote from 20 past durations" in str(info.value)
    assert "min_samples=30" in str(info.value)
    q = propose_revision(T0, now, hundred(), 0.9, min_samples=20)
    assert q.due == now + 18 * M


def test_propose_revision_in_business_time() -> None:
    start = datetime(2026, 3, 10, 12, 0, tzinfo=PARIS)
    now = datetime(2026, 3, 10, 14, 0, tzinfo=PARIS)  # 30 + 30 business minutes
    q = propose_revision(start, now, hundred(), 0.5, OFFICE)
    assert q.due == datetime(2026, 3, 10, 14, 20, tzinfo=PARIS)  # residuals 1..40, median 20
    assert "still running after 1 business h" in q.explanation


def test_propose_revision_with_a_parametric_capability() -> None:
    cap = ParametricCapability.exponential(20 * M)
    q = propose_revision(T0, T0 + 3 * H, cap, 0.9)
    assert q.window == cap.quantile(0.9)  # memoryless


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.integers(0, 4 * 3600), min_size=1, max_size=60),
    st.integers(0, 5 * 3600),
    st.floats(0.05, 1.0),
    st.sampled_from([None, OFFICE]),
)
def test_revision_is_never_before_now_nor_below_the_residual_quantile(
    values: list[int], elapsed_s: int, confidence: float, calendar: BusinessCalendar | None
) -> None:
    cap = EmpiricalCapability.from_durations(values)
    start = datetime(2026, 3, 10, 10, 0, tzinfo=PARIS)
    now = start + timedelta(seconds=elapsed_s)
    try:
        q = propose_revision(start, now, cap, confidence, calendar, policy=Cap(M), min_samples=1)
    except InsufficientDataError:
        elapsed = calendar.between(start, now) if calendar else now - start
        assert cap.n_longer_than(elapsed) == 0
        return
    assert q.due.timestamp() >= now.timestamp()
    elapsed = calendar.between(start, now) if calendar else now - start
    residual = cap.residual_quantile(confidence, elapsed, min_samples=1)
    assert q.window >= residual


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (
            lambda: propose_revision(T0, T0 - M, hundred()),
            InvalidValueError,
            ["'now'", "before 'promise_start'", "08:59"],
        ),
        (
            lambda: propose_revision(T0, datetime(2026, 3, 10, 10), hundred()),
            NaiveDatetimeError,
            ["'now'"],
        ),
        (lambda: propose_revision(T0, T0, hundred(), 0), InvalidValueError, ["'confidence'", "0"]),
        (
            lambda: propose_revision(T0, T0, hundred(), policy="round"),
            InvalidTypeError,
            ["'policy'", "'round'"],
        ),
        (
            lambda: propose_revision(T0, T0, hundred(), min_samples=0),
            InvalidValueError,
            ["'min_samples'"],
        ),
        (
            lambda: propose_revision(T0, T0 + M, PointCapability(H)),
            InsufficientDataError,
            ["distribution", "point"],
        ),
        (
            lambda: negotiate(
                datetime(2026, 3, 10), start=T0, capability=hundred(), min_confidence=0.9
            ),
            NaiveDatetimeError,
            ["'requested_due'"],
        ),
        (
            lambda: negotiate(T0, start=T0, capability=hundred(), min_confidence=1.5),
            InvalidValueError,
            ["'min_confidence'", "1.5"],
        ),
        (
            lambda: negotiate(
                T0,
                start=T0,
                capability=hundred(),
                min_confidence=0.9,
                max_due=datetime(2026, 3, 11),
            ),
            NaiveDatetimeError,
            ["'max_due'"],
        ),
        (
            lambda: negotiate(T0, start=T0, capability=[60], min_confidence=0.9),
            InvalidTypeError,
            ["'capability'", "[60]"],
        ),
    ],
)
def test_negotiation_and_revision_errors(
    call: object, error: type[Exception], words: list[str]
) -> None:
    with pytest.raises(error) as info:
        call()  # type: ignore[operator]
    assert isinstance(info.value, PromiseKitError)
    for word in words:
        assert word in str(info.value)


# --------------------------------------------------------------------------- optimal quote


def test_newsvendor_golden_case() -> None:
    """Exponential delivery (rate 0.05/min), c_late/c_quote = 20: d* = p95 ≈ 59.91 min.

    "Callback within 60 minutes" is the 95th percentile of a 20-minute average.
    """
    cap = ParametricCapability.exponential(mean=timedelta(minutes=1 / 0.05))
    cost = LinearLatenessCost(c_late=20, c_quote=1)
    assert cost.service_level == 0.95
    window = OptimalBuffer(cost).optimal_window(cap)
    assert minutes_of(window) == pytest.approx(59.91, abs=0.01)
    assert minutes_of(window) == pytest.approx(-20 * math.log(0.05), abs=1e-6)
    q = optimal_quote(T0, cap, cost, what="callback")
    assert minutes_of(q.window) == pytest.approx(59.91, abs=0.01)
    assert q.confidence is not None and q.confidence == pytest.approx(0.95, abs=1e-9)
    assert q.explanation.startswith("callback by 09:59:55 UTC (median of exponential durations")
    assert "newsvendor optimum p95 = 1 h" in q.explanation


def test_newsvendor_on_20000_exponential_draws() -> None:
    """The same case from a seeded sample of 20,000 draws.

    Tolerance: 2 minutes. The standard error of a sample p95 of an exponential with
    mean 20 min is sqrt(0.95 * 0.05 / n) / f(p95) ≈ 0.62 min for n = 20,000, so 2 min
    is about 3.2 standard errors (the seeded sample lands much closer).
    """
    rng = random.Random(20260310)
    draws = [timedelta(minutes=rng.expovariate(0.05)) for _ in range(20_000)]
    cap = EmpiricalCapability.from_durations(draws)
    window = OptimalBuffer(LinearLatenessCost(20, 1)).optimal_window(cap)
    assert minutes_of(window) == pytest.approx(59.91, abs=2.0)
    assert window == cap.quantile(0.95)  # the inverted-CDF quantile of the sample


def test_generic_satisfaction_callable_matches_the_newsvendor() -> None:
    cap = ParametricCapability.exponential(20 * M)

    def linear(lateness: timedelta, window: timedelta) -> float:
        return -(20 * max(lateness.total_seconds(), 0.0) + window.total_seconds()) / 3600

    window = OptimalBuffer(linear).optimal_window(cap)
    assert minutes_of(window) == pytest.approx(59.91, abs=0.5)
    q = optimal_quote(T0, cap, linear)
    assert "optimal window" in q.explanation


def test_generic_optimum_beats_every_observed_duration() -> None:
    rng = random.Random(7)
    cap = EmpiricalCapability.from_durations(
        [timedelta(minutes=rng.lognormvariate(3, 0.7)) for _ in range(300)]
    )

    def satisfaction(lateness: timedelta, window: timedelta) -> float:
        late = lateness.total_seconds() / 60
        bonus = 0.5 if late <= -10 else 0.0  # delight when 10+ minutes early
        return bonus - (3.0 if late > 0 else 0.0) - 0.02 * window.total_seconds() / 60

    policy = OptimalBuffer(satisfaction)
    best = policy.objective(cap, policy.optimal_window(cap))
    for candidate in cap.durations[::7]:
        assert best >= policy.objective(cap, candidate) - 1e-12


def test_quote_cost_and_degenerate_costs() -> None:
    cap = hundred()
    # quote_cost adds to c_quote (same units): 1 - (1 + 1) / 20 = 0.9
    folded = OptimalBuffer(LinearLatenessCost(20, 1), quote_cost=1)
    assert folded.optimal_window(cap) == 90 * M
    # Waiting costs more than lateness: promise nothing beyond the target.
    q = optimal_quote(T0, cap, LinearLatenessCost(1, 2))
    assert q.due == q.target == T0 + 50 * M
    # Generic path with a separate quote cost.
    point = PointCapability(30 * M)
    flat = OptimalBuffer(lambda late, window: 0.0, quote_cost=1.0)
    assert flat.objective(point, H) == pytest.approx(-1.0)
    assert flat.optimal_window(point) <= 30 * M


def test_optimal_quote_composes_with_rounding_and_calendar() -> None:
    start = datetime(2026, 3, 10, 11, 45, tzinfo=PARIS)
    cap = ParametricCapability.exponential(20 * M)
    q = optimal_quote(
        start, cap, LinearLatenessCost(20, 1), calendar=OFFICE, policy=RoundUp("quarter-hour")
    )
    # 45 business minutes before lunch, then 15 more: 13:45 (then already on the quarter).
    assert q.due == datetime(2026, 3, 10, 13, 45, tzinfo=PARIS)
    assert str(OptimalBuffer(LinearLatenessCost(20, 1))).startswith("OptimalBuffer(")


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda: LinearLatenessCost(0, 1), InvalidValueError, ["'c_late'", "> 0", "0"]),
        (lambda: LinearLatenessCost(20, -1), InvalidValueError, ["'c_quote'", "-1"]),
        (lambda: LinearLatenessCost("a", 1), InvalidTypeError, ["'c_late'", "'a'"]),
        (lambda: LinearLatenessCost(20, 1, unit=0), InvalidValueError, ["'unit'", "positive"]),
        (lambda: OptimalBuffer("max"), InvalidTypeError, ["'satisfaction'", "'max'"]),
        (
            lambda: OptimalBuffer(LinearLatenessCost(2, 1), quote_cost=-1),
            InvalidValueError,
            ["'quote_cost'", "-1"],
        ),
        (
            lambda: OptimalBuffer(LinearLatenessCost(2, 1), points=5),
            InvalidValueError,
            ["'points'", "10", "5"],
        ),
        (
            lambda: OptimalBuffer(LinearLatenessCost(2, 1), cost_unit=-H),
            InvalidValueError,
            ["'cost_unit'"],
        ),
        (
            lambda: OptimalBuffer(lambda late, window: float("nan")).optimal_window(hundred()),
            InvalidValueError,
            ["'satisfaction'", "finite", "nan"],
        ),
        (
            lambda: OptimalBuffer(LinearLatenessCost(2, 1)).optimal_window(60),
            InvalidTypeError,
            ["'capability'", "int"],
        ),
        (
            lambda: optimal_quote(T0, hundred(), LinearLatenessCost(2, 1), policy="hour"),
            InvalidTypeError,
            ["'policy'", "'hour'"],
        ),
    ],
)
def test_optimal_errors(call: object, error: type[Exception], words: list[str]) -> None:
    with pytest.raises(error) as info:
        call()  # type: ignore[operator]
    assert isinstance(info.value, PromiseKitError)
    for word in words:
        assert word in str(info.value)


def test_revision_and_negotiation_answer_in_the_start_zone_with_its_label() -> None:
    # Regression (issue 15): propose_revision answered in now's zone, negotiate in start's.
    start = datetime(2026, 3, 10, 9, 0, tzinfo=PARIS)
    now = (start + H).astimezone(ZoneInfo("America/Toronto"))
    q = propose_revision(start, now, hundred(), 0.95)
    assert q.due.tzinfo is PARIS and q.start.tzinfo is PARIS and q.zone == "Europe/Paris"
    assert q.explanation.startswith("new due by 10:38 Europe/Paris (")
    asked = (start + 30 * M).astimezone(UTC)
    n = negotiate(asked, start=start, capability=hundred(), min_confidence=0.9)
    assert n.due is not None and n.due.tzinfo is PARIS and n.requested_due.tzinfo is PARIS
    assert "09:30 Europe/Paris is kept" in n.reason
    assert "10:30 Europe/Paris is the earliest" in n.reason
    with_calendar = propose_revision(start, now, hundred(), 0.95, OFFICE)
    assert with_calendar.due.tzinfo is OFFICE.zone
    assert quote(start, hundred(), QuantileBuffer(0.9)).zone == "Europe/Paris"
    assert quote(T0, hundred(), QuantileBuffer(0.9)).zone == "UTC"
