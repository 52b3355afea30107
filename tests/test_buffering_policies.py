"""Buffer policies, combinators, quote(): golden cases, errors and Hypothesis properties."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promisekit.buffering import (
    BufferPolicy,
    Cap,
    Capability,
    Chain,
    EmpiricalCapability,
    FixedBuffer,
    Floor,
    Later,
    NoBuffer,
    ParametricCapability,
    PointCapability,
    ProportionalBuffer,
    QuantileBuffer,
    Quote,
    QuoteContext,
    RoundUp,
    SegmentedCapability,
    quote,
)
from promisekit.buffering._common import round_up_wall
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
TORONTO = ZoneInfo("America/Toronto")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
KATHMANDU = ZoneInfo("Asia/Kathmandu")
M = timedelta(minutes=1)
H = timedelta(hours=1)

OFFICE = BusinessCalendar("Europe/Paris", hours={"mon-fri": ["09:00-12:30", "13:30-18:00"]})
TORONTO_OFFICE = BusinessCalendar("America/Toronto", hours={"mon-fri": "09:00-17:00"})


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)  # type: ignore[misc]


def callbacks() -> EmpiricalCapability:
    """212 past callbacks: median 20 min, p90 exactly 37 min (the 191st)."""
    durations = [20 * M] * 190 + [37 * M] + [60 * M] * 21
    return EmpiricalCapability.from_durations(durations, label="callbacks")


def utc_us(moment: datetime) -> float:
    return moment.astimezone(UTC).timestamp()


# --------------------------------------------------------------------------- golden


def test_golden_explanation_in_business_time() -> None:
    start = paris(2026, 3, 10, 12, 20)  # Tuesday, 10 minutes before lunch
    policy = QuantileBuffer(0.9) + FixedBuffer(15 * M) + RoundUp("half-hour")
    q = quote(start, callbacks(), policy, OFFICE, what="callback")
    assert q.explanation == (
        "callback by 14:30 Europe/Paris (p90 of 212 past callbacks = 37 business min, "
        "+15 min buffer, "
        "rounded up to the half-hour)"
    )
    assert str(q) == q.explanation
    assert q.start == start
    assert q.target == paris(2026, 3, 10, 13, 40)  # 10 min + lunch + 10 min
    assert q.due == paris(2026, 3, 10, 14, 30)
    assert q.buffer == 50 * M
    assert q.business_buffer == 50 * M
    assert q.window == 70 * M
    assert q.confidence == 1.0
    assert q.policy is policy
    assert q.due.tzinfo is OFFICE.zone


def test_quote_without_calendar_uses_real_time_in_the_start_zone() -> None:
    start = paris(2026, 3, 29, 1, 30)  # 30 minutes before the spring DST gap
    q = quote(start, PointCapability(H), NoBuffer())
    assert q.due == datetime(2026, 3, 29, 1, 30, tzinfo=UTC).astimezone(PARIS)
    assert q.due.hour == 3 and q.due.minute == 30
    assert q.due.tzinfo is PARIS
    assert q.window == H
    assert q.business_buffer is None
    assert q.confidence is None  # a point estimate states no confidence
    assert q.explanation == "due by 03:30 Europe/Paris (estimate 1 h, no buffer)"


def test_quote_explanation_on_another_day() -> None:
    start = paris(2026, 3, 10, 17, 50)
    q = quote(start, callbacks(), QuantileBuffer(0.9), OFFICE)
    assert q.due == paris(2026, 3, 11, 9, 27)
    assert q.explanation.startswith("due by Wed 2026-03-11 09:27 Europe/Paris (p90 of 212")


def test_quote_business_buffer_differs_from_real_buffer_over_a_night() -> None:
    start = paris(2026, 3, 10, 17, 0)
    q = quote(start, PointCapability(30 * M), FixedBuffer(H), OFFICE)
    assert q.target == paris(2026, 3, 10, 17, 30)
    assert q.due == paris(2026, 3, 11, 9, 30)
    assert q.business_buffer == H
    assert q.buffer == timedelta(hours=16)
    assert q.window == 90 * M


def test_quote_with_segmented_capability() -> None:
    seg = SegmentedCapability({"callback": PointCapability(20 * M), "repair": PointCapability(H)})
    start = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    assert quote(start, seg, NoBuffer(), segment="repair").due == start + H
    assert NoBuffer().quote(start, seg, segment="callback").due == start + 20 * M


def test_policy_quote_method_matches_function() -> None:
    start = paris(2026, 3, 10, 10, 0)
    policy = QuantileBuffer(0.9) + RoundUp("hour")
    assert policy.quote(start, callbacks(), OFFICE) == quote(start, callbacks(), policy, OFFICE)


# --------------------------------------------------------------------------- policies


def test_fixed_buffer_adds_business_time() -> None:
    start = paris(2026, 3, 10, 12, 0)
    q = quote(start, PointCapability(20 * M), FixedBuffer(20 * M), OFFICE)
    assert q.target == paris(2026, 3, 10, 12, 20)
    assert q.due == paris(2026, 3, 10, 13, 40)  # 10 min before lunch, 10 after
    assert "+20 min buffer" in q.explanation
    assert FixedBuffer(0).note(QuoteContext(start, PointCapability(M), None), start, start) is None


def test_proportional_buffer_scales_the_target_window() -> None:
    start = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    q = quote(start, PointCapability(30 * M), ProportionalBuffer(0.2))
    assert q.due == start + 36 * M
    assert "+20 % buffer (6 min)" in q.explanation
    assert quote(start, PointCapability(30 * M), ProportionalBuffer(0)).due == start + 30 * M


def test_quantile_buffer_picks_the_quantile_and_states_confidence() -> None:
    start = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    cap = EmpiricalCapability.from_durations([timedelta(minutes=m) for m in range(1, 101)])
    q = quote(start, cap, QuantileBuffer(0.8))
    assert q.due == start + 80 * M
    assert q.confidence == 0.8
    assert quote(start, cap, QuantileBuffer(1.0)).due == start + 100 * M
    low = quote(start, cap, QuantileBuffer(0.3))  # below the median: never before the target
    assert low.due == low.target == start + 50 * M


def test_quantile_buffer_already_covered_note() -> None:
    start = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    cap = EmpiricalCapability.from_durations([timedelta(minutes=m) for m in range(1, 101)])
    q = quote(start, cap, FixedBuffer(2 * H) + QuantileBuffer(0.9))
    assert q.due == start + 50 * M + 2 * H
    assert "(already covered)" in q.explanation
    assert q.explanation.startswith("due by 11:50 UTC (median of 100 past jobs = 50 min")


def test_quantile_buffer_refuses_too_few_samples() -> None:
    start = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    cap = EmpiricalCapability.from_durations([60] * 12, label="repairs")
    with pytest.raises(InsufficientDataError) as info:
        quote(start, cap, QuantileBuffer(0.9))
    message = str(info.value)
    assert "QuantileBuffer(0.9)" in message
    assert "12 past durations" in message
    assert "min_samples=30" in message
    assert quote(start, cap, QuantileBuffer(0.9, min_samples=12)).due == start + M


def test_quantile_buffer_refuses_a_point_estimate() -> None:
    start = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    with pytest.raises(InsufficientDataError, match="point estimate"):
        quote(start, PointCapability(M), QuantileBuffer(0.9))


def test_quantile_buffer_on_a_parametric_capability() -> None:
    start = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    cap = ParametricCapability.exponential(20 * M)
    q = quote(start, cap, QuantileBuffer(0.95))
    assert q.window.total_seconds() / 60 == pytest.approx(59.9146, abs=1e-3)
    assert q.confidence is not None and q.confidence >= 0.95
    assert "p95 of exponential durations (mean 20 min) = 1 h)" in q.explanation


@pytest.mark.parametrize(
    ("to", "due", "expected"),
    [
        ("hour", paris(2026, 3, 10, 14, 12), paris(2026, 3, 10, 15, 0)),
        ("hour", paris(2026, 3, 10, 15, 0), paris(2026, 3, 10, 15, 0)),
        ("half-hour", paris(2026, 3, 10, 14, 12), paris(2026, 3, 10, 14, 30)),
        ("half-hour", paris(2026, 3, 10, 14, 30, 0, 1), paris(2026, 3, 10, 15, 0)),
        ("quarter-hour", paris(2026, 3, 10, 14, 12), paris(2026, 3, 10, 14, 15)),
        ("end-of-day", paris(2026, 3, 10, 14, 12), paris(2026, 3, 10, 18, 0)),
        ("end-of-day", paris(2026, 3, 10, 18, 0), paris(2026, 3, 10, 18, 0)),
        ("end-of-day", paris(2026, 3, 13, 19, 0), paris(2026, 3, 16, 18, 0)),
        # next-business-day: the close of the first business day after the start's date...
        ("next-business-day", paris(2026, 3, 10, 14, 12), paris(2026, 3, 11, 18, 0)),
        # ... or the close of the due's own day when the due is later than that.
        ("next-business-day", paris(2026, 3, 12, 10, 0), paris(2026, 3, 12, 18, 0)),
    ],
)
def test_round_up_with_calendar(to: str, due: datetime, expected: datetime) -> None:
    start = paris(2026, 3, 10, 10, 0)  # Tuesday
    context = QuoteContext(start, PointCapability(M), OFFICE)
    assert RoundUp(to).apply(context, due) == expected  # type: ignore[arg-type]


def test_round_up_next_business_day_over_a_weekend() -> None:
    friday = paris(2026, 3, 13, 16, 0)
    saturday = paris(2026, 3, 14, 11, 0)
    for start in (friday, saturday):
        q = quote(start, PointCapability(30 * M), RoundUp("next-business-day"), OFFICE)
        assert q.due == paris(2026, 3, 16, 18, 0)
        assert "rounded up to the end of the next business day" in q.explanation


def test_round_up_without_calendar() -> None:
    start = paris(2026, 3, 10, 10, 0)
    context = QuoteContext(start, PointCapability(M), None)
    due = paris(2026, 3, 10, 14, 12)
    assert RoundUp("end-of-day").apply(context, due) == paris(2026, 3, 11, 0, 0)
    assert RoundUp("end-of-day").apply(context, paris(2026, 3, 11)) == paris(2026, 3, 11)
    assert RoundUp("next-business-day").apply(context, due) == paris(2026, 3, 12, 0, 0)
    q = quote(start, PointCapability(M), RoundUp("end-of-day"))
    assert "rounded up to the end of the day" in q.explanation
    q = quote(start, PointCapability(M), RoundUp("next-business-day"))
    assert "rounded up to the end of the next day" in q.explanation


def test_round_up_across_dst_changes() -> None:
    # Spring forward in Toronto: 02:00 EST jumps to 03:00 EDT (07:00 UTC).
    before_gap = datetime(2026, 3, 8, 6, 50, tzinfo=UTC).astimezone(TORONTO)  # 01:50 EST
    for step in (60, 30, 15):
        rounded, instant = round_up_wall(before_gap, TORONTO, step)
        assert rounded == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
        assert (rounded.hour, rounded.minute) == (3, 0)
        assert instant == int(rounded.timestamp()) * 1_000_000
    # Fall back: 02:00 EDT becomes 01:00 EST (06:00 UTC); 01:00-02:00 happens twice.
    first_pass = datetime(2026, 11, 1, 5, 10, tzinfo=UTC).astimezone(TORONTO)  # 01:10 EDT
    second_pass = datetime(2026, 11, 1, 6, 10, tzinfo=UTC).astimezone(TORONTO)  # 01:10 EST
    assert utc_us(round_up_wall(first_pass, TORONTO, 30)[0]) == utc_us(
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    )
    assert utc_us(round_up_wall(second_pass, TORONTO, 30)[0]) == utc_us(
        datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    )
    # 01:40 EDT: the next instant on an hour boundary is 01:00 EST, 20 minutes later.
    late_first = datetime(2026, 11, 1, 5, 40, tzinfo=UTC).astimezone(TORONTO)
    rounded = round_up_wall(late_first, TORONTO, 60)[0]
    assert utc_us(rounded) == utc_us(datetime(2026, 11, 1, 6, 0, tzinfo=UTC))
    assert (rounded.hour, rounded.minute, rounded.fold) == (1, 0, 1)
    # Lord Howe moves by 30 minutes: 02:00 -> 02:30 on 2026-10-04.
    lord_howe = datetime(2026, 10, 4, 1, 50, tzinfo=LORD_HOWE)
    rounded = round_up_wall(lord_howe, LORD_HOWE, 30)[0]
    assert utc_us(rounded) - utc_us(lord_howe) == 600
    assert (rounded.hour, rounded.minute) == (2, 30)


def test_cap_and_floor() -> None:
    start = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    cap = PointCapability(30 * M)
    q = quote(start, cap, FixedBuffer(2 * H) + Cap(H))
    assert q.due == start + H
    assert "capped at 1 h" in q.explanation
    q = quote(start, cap, FixedBuffer(10 * M) + Cap(20 * M))  # never below the target
    assert q.due == q.target == start + 30 * M
    assert "capped at 20 min (not below the target)" in q.explanation
    assert quote(start, cap, Cap(H)).due == start + 30 * M  # not binding
    q = quote(start, cap, Floor(2 * H))
    assert q.due == start + 2 * H
    assert "raised to the 2 h floor" in q.explanation
    assert quote(start, cap, Floor(M)).due == start + 30 * M


def test_cap_in_business_time() -> None:
    start = paris(2026, 3, 10, 17, 30)
    q = quote(start, PointCapability(20 * M), FixedBuffer(3 * H) + Cap(H), OFFICE)
    assert q.due == paris(2026, 3, 11, 9, 30)
    assert q.window == H
    assert "capped at 1 business h" in q.explanation


# --------------------------------------------------------------------------- combinators


def test_chain_flattens_prints_and_reads_back() -> None:
    a, b, c = QuantileBuffer(0.9), FixedBuffer(15 * M), RoundUp("half-hour")
    chained = a + b + c
    assert chained == Chain(a, b, c) == Chain(Chain(a, b), c) == Chain(a, Chain(b, c))
    assert chained.policies == (a, b, c)
    assert str(chained) == "QuantileBuffer(0.9) + FixedBuffer(15 min) + RoundUp('half-hour')"
    namespace: dict[str, Any] = {
        "Chain": Chain,
        "QuantileBuffer": QuantileBuffer,
        "FixedBuffer": FixedBuffer,
        "RoundUp": RoundUp,
        "datetime": __import__("datetime"),
    }
    assert eval(repr(chained), namespace) == chained
    assert sum([a, b, c]) == chained
    assert hash(chained) == hash(Chain(a, b, c))
    assert str(Chain()) == "Chain()"


def test_later_flattens_prints_and_reads_back() -> None:
    a, b, c = QuantileBuffer(0.9), FixedBuffer(H), Floor(2 * H)
    either = a | b | c
    assert either == Later(a, b, c) == Later(a, Later(b, c))
    assert str(either) == "(QuantileBuffer(0.9) | FixedBuffer(1 h) | Floor(2 h))"
    namespace = {
        "Later": Later,
        "QuantileBuffer": QuantileBuffer,
        "FixedBuffer": FixedBuffer,
        "Floor": Floor,
        "datetime": __import__("datetime"),
    }
    assert eval(repr(either), namespace) == either
    mixed = (a | b) + RoundUp("hour")
    assert str(mixed) == "(QuantileBuffer(0.9) | FixedBuffer(1 h)) + RoundUp('hour')"


def test_later_takes_the_latest_and_explains_the_winner() -> None:
    start = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    cap = EmpiricalCapability.from_durations([timedelta(minutes=m) for m in range(1, 101)])
    q = quote(start, cap, QuantileBuffer(0.9) | FixedBuffer(H))
    assert q.due == start + 110 * M  # median 50 + 1 h beats p90 = 90 min
    assert "+1 h buffer" in q.explanation and "p90" not in q.explanation
    q = quote(start, cap, QuantileBuffer(0.9) | FixedBuffer(10 * M))
    assert q.due == start + 90 * M
    assert q.explanation == "due by 10:30 UTC (p90 of 100 past jobs = 1 h 30 min)"


def test_combinator_errors() -> None:
    with pytest.raises(InvalidTypeError, match="right operand of \\+"):
        FixedBuffer(M) + 5  # type: ignore[operator]
    with pytest.raises(InvalidTypeError, match="left operand of \\+"):
        "x" + FixedBuffer(M)  # type: ignore[operator]
    with pytest.raises(InvalidTypeError, match="right operand of \\|"):
        FixedBuffer(M) | None  # type: ignore[operator]
    with pytest.raises(InvalidTypeError, match="left operand of \\|"):
        3 | FixedBuffer(M)  # type: ignore[operator]
    with pytest.raises(InvalidTypeError, match="'policies\\[1\\]'"):
        Chain(FixedBuffer(M), "RoundUp")  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match=r"'policies'.*at least one"):
        Later()


class EndOfShift(BufferPolicy):
    """A plugin policy: promise by 18:00 UTC at the latest-possible."""

    def apply(self, context: QuoteContext, due: datetime) -> datetime:
        shift_end = context.start.astimezone(UTC).replace(hour=18, minute=0)
        return context.later(due, shift_end)


class Broken(BufferPolicy):
    def __init__(self, result: object) -> None:
        self.result = result

    def apply(self, context: QuoteContext, due: datetime) -> datetime:
        return self.result  # type: ignore[return-value]

    def __repr__(self) -> str:
        return "Broken()"


def test_plugin_policy_composes_with_builtins() -> None:
    start = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    q = quote(start, PointCapability(H), EndOfShift() + FixedBuffer(M))
    assert q.due == datetime(2026, 3, 10, 18, 1, tzinfo=UTC)
    assert "EndOfShift" in q.explanation  # default note describes the change


def test_plugin_policy_contract_is_checked() -> None:
    start = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    cap = PointCapability(H)
    with pytest.raises(InvalidTypeError, match="must return a datetime"):
        quote(start, cap, Broken("tomorrow"))
    with pytest.raises(NaiveDatetimeError, match="due returned by"):
        quote(start, cap, Broken(datetime(2026, 3, 10, 12, 0)))
    with pytest.raises(InvalidValueError, match="before the internal target"):
        quote(start, cap, Broken(start))


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda: FixedBuffer(-M), InvalidValueError, ["'delta'", "negative", "-1 day"]),
        (lambda: FixedBuffer("15m"), InvalidTypeError, ["'delta'", "'15m'"]),
        (lambda: ProportionalBuffer(-0.1), InvalidValueError, ["'factor'", "-0.1"]),
        (lambda: ProportionalBuffer("big"), InvalidTypeError, ["'factor'", "'big'"]),
        (lambda: ProportionalBuffer(float("inf")), InvalidValueError, ["'factor'", "inf"]),
        (lambda: QuantileBuffer(0), InvalidValueError, ["'q'", "(0, 1]", "0"]),
        (lambda: QuantileBuffer(1.1), InvalidValueError, ["'q'", "1.1"]),
        (lambda: QuantileBuffer(0.9, min_samples=0), InvalidValueError, ["'min_samples'", "0"]),
        (lambda: QuantileBuffer(0.9, min_samples=2.5), InvalidTypeError, ["'min_samples'", "2.5"]),
        (lambda: RoundUp("minute"), InvalidValueError, ["'to'", "'minute'", "'half-hour'"]),
        (lambda: Cap(-H), InvalidValueError, ["'max'", "negative"]),
        (lambda: Floor("1h"), InvalidTypeError, ["'min'", "'1h'"]),
        (
            lambda: quote(datetime(2026, 3, 10, 9), PointCapability(H), NoBuffer()),
            NaiveDatetimeError,
            ["'start'", "naive"],
        ),
        (
            lambda: quote(datetime(2026, 3, 10, 9, 0, tzinfo=UTC), PointCapability(H), "p90"),
            InvalidTypeError,
            ["'policy'", "'p90'"],
        ),
        (
            lambda: quote(datetime(2026, 3, 10, 9, 0, tzinfo=UTC), 3600, NoBuffer()),
            InvalidTypeError,
            ["'capability'", "3600"],
        ),
        (
            lambda: quote(
                datetime(2026, 3, 10, 9, 0, tzinfo=UTC),
                PointCapability(H),
                NoBuffer(),
                "Europe/Paris",
            ),
            InvalidTypeError,
            ["'calendar'", "'Europe/Paris'"],
        ),
        (
            lambda: quote(
                datetime(2026, 3, 10, 9, 0, tzinfo=UTC),
                PointCapability(H),
                NoBuffer(),
                segment="vip",
            ),
            InvalidValueError,
            ["'segment'", "'vip'"],
        ),
        (
            lambda: quote(
                datetime(2026, 3, 10, 9, 0, tzinfo=UTC),
                SegmentedCapability({"a": PointCapability(H)}),
                NoBuffer(),
            ),
            InvalidValueError,
            ["'segment'", "None"],
        ),
        (
            lambda: quote(
                datetime(2026, 3, 10, 9, 0, tzinfo=UTC), PointCapability(H), NoBuffer(), what=" "
            ),
            InvalidValueError,
            ["'what'", "' '"],
        ),
    ],
)
def test_policy_and_quote_errors(call: object, error: type[Exception], words: list[str]) -> None:
    with pytest.raises(error) as info:
        call()  # type: ignore[operator]
    assert isinstance(info.value, PromiseKitError)
    for word in words:
        assert word in str(info.value)


# --------------------------------------------------------------------------- properties

ZONES: list[tzinfo] = [UTC, PARIS, TORONTO, LORD_HOWE, KATHMANDU]
CALENDARS: list[BusinessCalendar | None] = [
    None,
    OFFICE,
    TORONTO_OFFICE,
    BusinessCalendar.always_open("Australia/Lord_Howe"),
    BusinessCalendar("Asia/Kathmandu", hours={"sun-thu": "10:00-17:00"}),
]

starts = st.datetimes(
    min_value=datetime(2025, 1, 1),
    max_value=datetime(2027, 12, 31),
    timezones=st.sampled_from(ZONES),
    allow_imaginary=False,
)
calendars = st.sampled_from(CALENDARS)
seconds = st.integers(min_value=0, max_value=6 * 3600)


@st.composite
def capabilities(draw: st.DrawFn) -> Capability:
    kind = draw(st.sampled_from(["point", "empirical", "exponential", "lognormal"]))
    if kind == "point":
        return PointCapability(draw(seconds))
    if kind == "empirical":
        return EmpiricalCapability(draw(st.lists(seconds, min_size=1, max_size=80)))
    if kind == "exponential":
        return ParametricCapability.exponential(draw(st.integers(1, 4 * 3600)))
    return ParametricCapability.lognormal(
        draw(st.integers(1, 4 * 3600)), draw(st.floats(0.05, 1.5))
    )


base_policies: st.SearchStrategy[BufferPolicy] = st.one_of(
    st.builds(NoBuffer),
    st.builds(FixedBuffer, seconds),
    st.builds(ProportionalBuffer, st.floats(0, 2)),
    st.builds(QuantileBuffer, st.floats(0.01, 0.99), min_samples=st.just(1)),
    st.builds(
        RoundUp,
        st.sampled_from(["hour", "half-hour", "quarter-hour", "end-of-day", "next-business-day"]),
    ),
    st.builds(Cap, seconds),
    st.builds(Floor, seconds),
)
policies = st.recursive(
    base_policies,
    lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=3).map(lambda ps: Chain(*ps)),
        st.lists(children, min_size=1, max_size=3).map(lambda ps: Later(*ps)),
    ),
    max_leaves=5,
)

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _safe_quote(
    start: datetime,
    capability: Capability,
    policy: BufferPolicy,
    calendar: BusinessCalendar | None,
) -> Quote | None:
    try:
        return quote(start, capability, policy, calendar)
    except InsufficientDataError:  # a QuantileBuffer on a point estimate
        return None


@PROPERTY
@given(starts, capabilities(), policies, calendars)
def test_due_is_never_before_target_and_is_aware_in_zone(
    start: datetime, capability: Capability, policy: BufferPolicy, calendar: BusinessCalendar | None
) -> None:
    q = _safe_quote(start, capability, policy, calendar)
    if q is None:
        return
    assert utc_us(q.due) >= utc_us(q.target) >= utc_us(q.start) - 1e-6
    zone = calendar.zone if calendar is not None else start.tzinfo
    for moment in (q.start, q.target, q.due):
        assert moment.tzinfo is zone
        assert moment.utcoffset() is not None
    assert q.buffer >= timedelta(0)
    if q.business_buffer is not None:
        assert q.business_buffer >= timedelta(0)
    if capability.is_distribution:
        assert q.confidence is not None and 0.0 <= q.confidence <= 1.0
    else:
        assert q.confidence is None


@PROPERTY
@given(
    starts,
    capabilities().filter(lambda c: c.is_distribution),
    st.floats(0.01, 0.99),
    st.floats(0.01, 0.99),
    st.one_of(st.none(), policies),
    calendars,
)
def test_higher_q_never_gives_an_earlier_due(
    start: datetime,
    capability: Capability,
    q1: float,
    q2: float,
    suffix: BufferPolicy | None,
    calendar: BusinessCalendar | None,
) -> None:
    low, high = sorted((q1, q2))
    rest: list[BufferPolicy] = [] if suffix is None else [suffix]
    a = quote(start, capability, Chain(QuantileBuffer(low, min_samples=1), *rest), calendar)
    b = quote(start, capability, Chain(QuantileBuffer(high, min_samples=1), *rest), calendar)
    assert utc_us(b.due) >= utc_us(a.due)
    if suffix is None:
        assert b.confidence is not None and b.confidence >= high - 1e-9


@PROPERTY
@given(
    starts,
    st.integers(0, 3 * 24 * 3600 * 10**6),
    st.sampled_from(["hour", "half-hour", "quarter-hour", "end-of-day", "next-business-day"]),
    calendars,
)
def test_round_up_never_moves_a_due_earlier(
    start: datetime, offset_us: int, to: str, calendar: BusinessCalendar | None
) -> None:
    context = QuoteContext(start, PointCapability(0), calendar)
    due = (start.astimezone(UTC) + timedelta(microseconds=offset_us)).astimezone(start.tzinfo)
    rounded = RoundUp(to).apply(context, due)  # type: ignore[arg-type]
    assert utc_us(rounded) >= utc_us(due)
    assert rounded.tzinfo is context.zone
    if to in ("hour", "half-hour", "quarter-hour"):
        step = {"hour": 60, "half-hour": 30, "quarter-hour": 15}[to]
        # At most one step later, plus a DST gap (at most an hour).
        assert utc_us(rounded) - utc_us(due) <= step * 60 + 3600
        local = rounded.astimezone(context.zone)
        if local.utcoffset() == due.astimezone(context.zone).utcoffset():
            assert local.minute % step == 0 and local.second == local.microsecond == 0


@PROPERTY
@given(starts, capabilities(), policies, seconds, seconds, calendars)
def test_cap_and_floor_bound_the_window(
    start: datetime,
    capability: Capability,
    policy: BufferPolicy,
    low_s: int,
    high_s: int,
    calendar: BusinessCalendar | None,
) -> None:
    low, high = sorted((timedelta(seconds=low_s), timedelta(seconds=high_s)))
    capped = _safe_quote(start, capability, policy + Cap(high), calendar)
    if capped is None:
        return
    assert capped.window <= high or capped.due == capped.target
    floored = quote(start, capability, policy + Floor(low), calendar)
    assert floored.window >= low
    bounded = quote(start, capability, policy + Floor(low) + Cap(high), calendar)
    assert bounded.window <= high or bounded.due == bounded.target


@pytest.mark.parametrize(
    ("zone", "label"),
    [
        (UTC, "UTC"),
        (PARIS, "Europe/Paris"),
        (ZoneInfo("America/Toronto"), "America/Toronto"),
        (timezone(timedelta(hours=-3)), "UTC-03:00"),
    ],
)
def test_quote_explanation_names_the_zone_like_negotiation(zone: tzinfo, label: str) -> None:
    from promisekit.buffering import negotiate

    start = datetime(2026, 3, 10, 9, 0, tzinfo=UTC).astimezone(zone)
    cap = EmpiricalCapability.from_durations([timedelta(minutes=m) for m in range(1, 101)])
    q = quote(start, cap, QuantileBuffer(0.9), what="callback")
    assert q.zone == label
    moment = f"{q.due:%H:%M} {label}"
    assert q.explanation.startswith(f"callback by {moment} (p90 of 100 past jobs")
    answer = negotiate(start + M, start=start, capability=cap, min_confidence=0.9)
    assert answer.due == q.due
    assert f"{moment} is the earliest due" in answer.reason  # the same label, same place
