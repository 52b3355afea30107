"""Tests for promisekit.promise (Promise, Terms, Revision) and the Hypothesis strategies."""

from __future__ import annotations

import copy
import pickle
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from promisekit.errors import (
    InconsistentRecordError,
    InvalidTypeError,
    InvalidValueError,
    NaiveDatetimeError,
    PromiseKitError,
    UnknownTimeZoneError,
)
from promisekit.promise import Promise, Revision, Terms
from promisekit.testing import DEFAULT_TIMEZONES, aware_datetimes, promises, terms

UTC = timezone.utc
PARIS = ZoneInfo("Europe/Paris")
TORONTO = ZoneInfo("America/Toronto")
T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def make_promise(**overrides: Any) -> Promise:
    fields: dict[str, Any] = {
        "id": "P-1",
        "customer_id": "C-1",
        "kind": "callback",
        "made_at": T0,
        "due": T0 + HOUR,
    }
    fields.update(overrides)
    return Promise(**fields)


def make_revision(**overrides: Any) -> Revision:
    fields: dict[str, Any] = {
        "number": 1,
        "at": T0 + HOUR / 2,
        "previous_due": T0 + HOUR,
        "due": T0 + 2 * HOUR,
    }
    fields.update(overrides)
    return Revision(**fields)


# --------------------------------------------------------------------------- Terms


class TestTerms:
    def test_defaults_are_empty(self) -> None:
        empty = Terms()
        assert empty.is_empty
        assert (empty.quantity, empty.unit, empty.quality, empty.max_cost) == (None,) * 4
        assert empty.currency is None

    def test_conversions(self) -> None:
        t = Terms(quantity=3, unit="parcels", quality=4, max_cost=19.99, currency="EUR")
        assert t.quantity == 3.0
        assert isinstance(t.quantity, float)
        assert isinstance(t.quality, float)
        assert t.max_cost == Decimal("19.99")
        assert not t.is_empty

    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            (Decimal("12.50"), Decimal("12.50")),
            (12, Decimal(12)),
            ("12.50", Decimal("12.50")),
            (" 7 ", Decimal(7)),
            (0.1, Decimal("0.1")),
            (0, Decimal(0)),
        ],
    )
    def test_max_cost_is_converted_to_decimal(self, raw: Any, expected: Decimal) -> None:
        t = Terms(max_cost=raw)
        assert isinstance(t.max_cost, Decimal)
        assert t.max_cost == expected

    def test_zero_quantity_is_allowed(self) -> None:
        assert Terms(quantity=0).quantity == 0.0

    def test_negative_quality_is_allowed(self) -> None:
        assert Terms(quality=-2).quality == -2.0

    def test_frozen_and_hashable(self) -> None:
        t = Terms(quantity=1)
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            t.quantity = 2  # type: ignore[misc]
        assert hash(t) == hash(Terms(quantity=1.0))

    def test_keyword_only(self) -> None:
        with pytest.raises(TypeError):
            Terms(1)  # type: ignore[misc]

    @pytest.mark.parametrize(
        ("kwargs", "error", "message"),
        [
            ({"quantity": -1}, InvalidValueError, r"'quantity' must be >= 0 \(got -1\)"),
            ({"quantity": float("nan")}, InvalidValueError, "'quantity' must be a finite number"),
            ({"quantity": float("inf")}, InvalidValueError, "'quantity' must be a finite number"),
            ({"quantity": "many"}, InvalidTypeError, r"'quantity' must be a number \(got str"),
            ({"quantity": [1]}, InvalidTypeError, r"'quantity' must be a number \(got list"),
            ({"quality": float("nan")}, InvalidValueError, "'quality' must be a finite number"),
            ({"quality": object()}, InvalidTypeError, "'quality' must be a number"),
            ({"max_cost": -1}, InvalidValueError, r"'max_cost' must be >= 0 \(got -1\)"),
            ({"max_cost": "-0.01"}, InvalidValueError, "'max_cost' must be >= 0"),
            ({"max_cost": "abc"}, InvalidValueError, r"'max_cost' must be a decimal number"),
            ({"max_cost": "NaN"}, InvalidValueError, "'max_cost' must be a finite decimal"),
            ({"max_cost": Decimal("Infinity")}, InvalidValueError, "'max_cost' must be a finite"),
            ({"max_cost": float("inf")}, InvalidValueError, "'max_cost' must be a finite"),
            ({"max_cost": float("nan")}, InvalidValueError, "'max_cost' must be a finite"),
            ({"max_cost": True}, InvalidTypeError, r"'max_cost' must be a decimal number .*bool"),
            ({"max_cost": [1]}, InvalidTypeError, r"'max_cost' must be a decimal number .*list"),
            (
                {"unit": "kg"},
                InvalidValueError,
                r"'unit' must be None when 'quantity' is None \(got 'kg'\)",
            ),
            (
                {"currency": "EUR"},
                InvalidValueError,
                "'currency' must be None when 'max_cost' is None",
            ),
            ({"quantity": 1, "unit": " "}, InvalidValueError, "'unit' must be a non-empty string"),
            ({"quantity": 1, "unit": 3}, InvalidTypeError, r"'unit' must be a string \(got int"),
            (
                {"max_cost": 1, "currency": ""},
                InvalidValueError,
                "'currency' must be a non-empty string",
            ),
        ],
    )
    def test_errors(self, kwargs: dict[str, Any], error: type[Exception], message: str) -> None:
        with pytest.raises(error, match=message):
            Terms(**kwargs)

    def test_errors_are_promisekit_and_builtin_errors(self) -> None:
        with pytest.raises(PromiseKitError):
            Terms(quantity=-1)
        with pytest.raises(ValueError, match="'quantity'"):
            Terms(quantity=-1)
        with pytest.raises(TypeError, match="'max_cost'"):
            Terms(max_cost=[1])  # type: ignore[arg-type]


# --------------------------------------------------------------------------- Revision


class TestRevision:
    def test_fields_and_properties(self) -> None:
        r = make_revision(reason="technician delayed")
        assert r.number == 1
        assert r.reason == "technician delayed"
        assert not r.late
        assert r.shift == HOUR

    def test_late_when_announced_after_previous_due(self) -> None:
        r = make_revision(at=T0 + HOUR + timedelta(seconds=1), due=T0 + 3 * HOUR)
        assert r.late

    def test_not_late_when_announced_exactly_at_previous_due(self) -> None:
        assert not make_revision(at=T0 + HOUR).late

    def test_earlier_due_has_negative_shift(self) -> None:
        r = make_revision(at=T0, due=T0 + HOUR / 2)
        assert r.shift == -HOUR / 2

    def test_due_equal_to_at_is_allowed(self) -> None:
        assert make_revision(at=T0 + 2 * HOUR, due=T0 + 2 * HOUR).late

    def test_compares_instants_across_zones(self) -> None:
        # 11:00 Paris (UTC+1 in March before DST) is 10:00 UTC == previous due: not late.
        r = make_revision(at=datetime(2026, 3, 10, 11, 0, tzinfo=PARIS))
        assert not r.late

    @pytest.mark.parametrize(
        ("kwargs", "error", "message"),
        [
            ({"number": 0}, InvalidValueError, r"'number' must be >= 1 \(got 0\)"),
            ({"number": True}, InvalidTypeError, r"'number' must be an int \(got bool"),
            ({"number": "1"}, InvalidTypeError, r"'number' must be an int \(got str"),
            (
                {"at": datetime(2026, 3, 10, 9, 30)},
                NaiveDatetimeError,
                "'at' must be a timezone-aware datetime",
            ),
            (
                {"previous_due": datetime(2026, 3, 10, 10)},
                NaiveDatetimeError,
                "'previous_due' must be a timezone-aware",
            ),
            (
                {"due": datetime(2026, 3, 10, 11)},
                NaiveDatetimeError,
                "'due' must be a timezone-aware",
            ),
            ({"due": "tomorrow"}, InvalidTypeError, r"'due' must be a timezone-aware .*got str"),
            (
                {"due": T0},
                InvalidValueError,
                r"'due' must not be before 'at' .* cannot be in the past",
            ),
            ({"due": T0 + HOUR}, InvalidValueError, "'due' must differ from 'previous_due'"),
            ({"reason": ""}, InvalidValueError, "'reason' must be a non-empty string"),
            ({"reason": 5}, InvalidTypeError, "'reason' must be a string"),
        ],
    )
    def test_errors(self, kwargs: dict[str, Any], error: type[Exception], message: str) -> None:
        with pytest.raises(error, match=message):
            make_revision(**kwargs)


# --------------------------------------------------------------------------- Promise


class TestPromise:
    def test_minimal(self) -> None:
        p = make_promise()
        assert p.revision == 0
        assert not p.is_revised
        assert p.revisions == ()
        assert p.original_due == p.due
        assert p.window == HOUR
        assert p.buffer is None
        assert p.terms is None
        assert dict(p.metadata) == {}
        assert p.supersedes is None

    def test_all_fields(self) -> None:
        p = make_promise(
            target=T0 + timedelta(minutes=45),
            terms=Terms(quantity=1),
            segment="premium",
            owner="agent-7",
            commitment="callback-60min",
            metadata={"channel": "phone"},
            supersedes="P-0",
        )
        assert p.buffer == timedelta(minutes=15)
        assert p.metadata["channel"] == "phone"
        assert p.supersedes == "P-0"

    def test_due_equal_to_made_at_is_allowed(self) -> None:
        assert make_promise(due=T0).window == timedelta(0)

    def test_target_bounds_are_inclusive(self) -> None:
        assert make_promise(target=T0).buffer == HOUR
        assert make_promise(target=T0 + HOUR).buffer == timedelta(0)

    def test_window_is_real_time_across_dst(self) -> None:
        # Toronto springs forward on 2026-03-08: "same time tomorrow" is 23 hours away.
        p = make_promise(
            made_at=datetime(2026, 3, 7, 12, tzinfo=TORONTO),
            due=datetime(2026, 3, 8, 12, tzinfo=TORONTO),
        )
        assert p.window == timedelta(hours=23)

    def test_fold_is_respected(self) -> None:
        # 01:30 happens twice in Toronto on 2026-11-01; fold=1 is the later one.
        first = datetime(2026, 11, 1, 1, 30, tzinfo=TORONTO)
        second = first.replace(fold=1)
        p = make_promise(made_at=first, due=second)
        assert p.window == HOUR
        with pytest.raises(InvalidValueError, match="'due' must not be before 'made_at'"):
            make_promise(made_at=second, due=first)

    def test_mixed_zones(self) -> None:
        p = make_promise(made_at=T0, due=datetime(2026, 3, 10, 11, 0, tzinfo=PARIS))
        assert p.window == HOUR

    def test_metadata_is_a_read_only_copy(self) -> None:
        source = {"channel": "phone"}
        p = make_promise(metadata=source)
        source["channel"] = "email"
        assert p.metadata["channel"] == "phone"
        with pytest.raises(TypeError):
            p.metadata["channel"] = "chat"  # type: ignore[index]

    def test_metadata_in_eq_not_in_hash(self) -> None:
        a = make_promise(metadata={"k": "v"})
        b = make_promise(metadata={"k": "other"})
        assert a != b
        assert hash(a) == hash(b)
        assert a == make_promise(metadata={"k": "v"})
        assert len({a, b, make_promise(metadata={"k": "v"})}) == 2

    def test_frozen(self) -> None:
        p = make_promise()
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            p.due = T0  # type: ignore[misc]
        assert not hasattr(p, "__dict__")

    def test_keyword_only(self) -> None:
        with pytest.raises(TypeError):
            Promise("P", "C", "callback", T0, T0)  # type: ignore[misc]

    def test_repr_is_attrs_default(self) -> None:
        r = repr(make_promise(metadata={"a": "b"}))
        assert r.startswith("Promise(id='P-1', customer_id='C-1', kind='callback', made_at=")
        assert "metadata=mappingproxy({'a': 'b'})" in r

    def test_pickle_copy_and_deepcopy(self) -> None:
        p = make_promise(metadata={"a": "b"}, terms=Terms(max_cost="1.5")).revise(
            due=T0 + 2 * HOUR, at=T0
        )
        for clone in (pickle.loads(pickle.dumps(p)), copy.copy(p), copy.deepcopy(p)):
            assert clone == p
            assert hash(clone) == hash(p)
            with pytest.raises(TypeError):
                clone.metadata["a"] = "c"  # type: ignore[index]

    def test_evolve_revalidates(self) -> None:
        with pytest.raises(InvalidValueError, match="'target' must be between"):
            attrs.evolve(make_promise(), target=T0 + 2 * HOUR)

    def test_revisions_accept_any_iterable(self) -> None:
        p = make_promise(due=T0 + 2 * HOUR, revisions=iter([make_revision()]))
        assert p.revisions == (make_revision(),)
        assert p.original_due == T0 + HOUR

    @pytest.mark.parametrize("field", ["id", "customer_id", "kind"])
    def test_required_strings(self, field: str) -> None:
        with pytest.raises(InvalidValueError, match=f"'{field}' must be a non-empty string"):
            make_promise(**{field: "  "})
        with pytest.raises(InvalidTypeError, match=rf"'{field}' must be a string \(got int 7\)"):
            make_promise(**{field: 7})

    @pytest.mark.parametrize("field", ["segment", "owner", "commitment", "supersedes"])
    def test_optional_strings(self, field: str) -> None:
        with pytest.raises(InvalidValueError, match=f"'{field}' must be a non-empty string"):
            make_promise(**{field: ""})
        with pytest.raises(InvalidTypeError, match=f"'{field}' must be a string"):
            make_promise(**{field: 1.5})

    @pytest.mark.parametrize("field", ["made_at", "due", "target"])
    def test_naive_datetimes(self, field: str) -> None:
        naive = datetime(2026, 3, 10, 9, 30)
        with pytest.raises(NaiveDatetimeError, match=f"'{field}' must be a timezone-aware"):
            make_promise(**{field: naive})

    @pytest.mark.parametrize("field", ["made_at", "due", "target"])
    def test_non_datetimes(self, field: str) -> None:
        with pytest.raises(InvalidTypeError, match=f"'{field}' must be a timezone-aware .*got"):
            make_promise(**{field: "2026-03-10"})

    def test_due_before_made_at(self) -> None:
        with pytest.raises(
            InvalidValueError, match=r"'due' must not be before 'made_at' \(2026-03-10 09:00"
        ):
            make_promise(due=T0 - timedelta(seconds=1))

    @pytest.mark.parametrize(
        "target", [T0 - timedelta(seconds=1), T0 + HOUR + timedelta(seconds=1)]
    )
    def test_target_out_of_range(self, target: datetime) -> None:
        with pytest.raises(InvalidValueError, match="'target' must be between 'made_at'"):
            make_promise(target=target)

    def test_terms_type(self) -> None:
        with pytest.raises(InvalidTypeError, match=r"'terms' must be a Terms instance .*got dict"):
            make_promise(terms={"quantity": 1})

    def test_metadata_errors(self) -> None:
        with pytest.raises(InvalidTypeError, match="'metadata' must be a mapping of str to str"):
            make_promise(metadata=[("a", "b")])
        with pytest.raises(InvalidTypeError, match=r"'metadata' keys must be strings \(got int"):
            make_promise(metadata={1: "b"})
        with pytest.raises(
            InvalidTypeError, match=r"'metadata' values must be strings \(got int 2 for key 'a'\)"
        ):
            make_promise(metadata={"a": 2})

    def test_revisions_type_errors(self) -> None:
        with pytest.raises(InvalidTypeError, match="'revisions' must be an iterable of Revision"):
            make_promise(revisions=make_revision())
        with pytest.raises(
            InvalidTypeError, match=r"'revisions' must contain only Revision .*at index 0"
        ):
            make_promise(revisions=[{"number": 1}])

    def test_supersedes_itself(self) -> None:
        with pytest.raises(InvalidValueError, match="'supersedes' must be the id of another"):
            make_promise(supersedes="P-1")

    @pytest.mark.parametrize(
        ("revisions", "due", "message"),
        [
            (
                [make_revision(number=2)],
                T0 + 2 * HOUR,
                r"'revisions' must be numbered 1, 2, 3.* \(got number 2 at index 0\)",
            ),
            (
                [make_revision(at=T0 - HOUR)],
                T0 + 2 * HOUR,
                "'revisions' must not be announced before 'made_at'",
            ),
            (
                [make_revision(previous_due=T0 - HOUR, at=T0 - 2 * HOUR)],
                T0 + 2 * HOUR,
                "'revisions' must not be announced before 'made_at'",
            ),
            (
                [make_revision(previous_due=T0 - HOUR)],
                T0 + 2 * HOUR,
                "'revisions' must start from an original due not before 'made_at'",
            ),
            (
                [
                    make_revision(),
                    make_revision(number=2, previous_due=T0 + 3 * HOUR, due=T0 + 4 * HOUR),
                ],
                T0 + 4 * HOUR,
                "'revisions' must form a chain: revision 2 must start from the due of revision 1",
            ),
            (
                [
                    make_revision(at=T0 + HOUR),
                    make_revision(number=2, at=T0, previous_due=T0 + 2 * HOUR, due=T0 + 3 * HOUR),
                ],
                T0 + 3 * HOUR,
                "'revisions' must be in the order they were announced",
            ),
            ([make_revision()], T0 + 3 * HOUR, r"'revisions' must end at 'due' \(2026-03-10 12:00"),
        ],
    )
    def test_inconsistent_revisions(
        self, revisions: list[Revision], due: datetime, message: str
    ) -> None:
        with pytest.raises(InconsistentRecordError, match=message):
            make_promise(due=due, revisions=revisions)


# --------------------------------------------------------------------------- revise


class TestRevise:
    def test_chain(self) -> None:
        p0 = make_promise(target=T0 + HOUR / 2, metadata={"k": "v"}, terms=Terms(quantity=2))
        p1 = p0.revise(due=T0 + 2 * HOUR, at=T0 + HOUR / 2, reason="delayed")
        p2 = p1.revise(due=T0 + 5 * HOUR, at=T0 + 3 * HOUR)

        assert p2.id == p1.id == p0.id
        assert (p0.revision, p1.revision, p2.revision) == (0, 1, 2)
        assert p2.is_revised
        assert p2.due == T0 + 5 * HOUR
        assert p2.original_due == T0 + HOUR
        assert p2.window == 5 * HOUR
        assert [r.number for r in p2.revisions] == [1, 2]
        assert p2.revisions[0] == Revision(
            number=1, at=T0 + HOUR / 2, previous_due=T0 + HOUR, due=T0 + 2 * HOUR, reason="delayed"
        )
        assert p2.revisions[1].previous_due == p1.due
        assert [r.late for r in p2.revisions] == [False, True]
        # Everything else carries over; the original is untouched.
        assert (p2.terms, dict(p2.metadata), p2.made_at) == (p0.terms, {"k": "v"}, T0)
        assert p0.due == T0 + HOUR
        assert p0.revisions == ()

    def test_target_resets_unless_given(self) -> None:
        p0 = make_promise(target=T0 + HOUR / 2)
        assert p0.revise(due=T0 + 2 * HOUR, at=T0).target is None
        p1 = p0.revise(due=T0 + 2 * HOUR, at=T0, target=T0 + HOUR)
        assert p1.target == T0 + HOUR
        assert p1.buffer == HOUR

    def test_revision_to_an_earlier_date(self) -> None:
        p = make_promise().revise(due=T0 + HOUR / 2, at=T0 + HOUR / 4)
        assert p.revisions[0].shift == -HOUR / 2

    def test_revise_to_the_other_side_of_a_fold(self) -> None:
        first = datetime(2026, 11, 1, 1, 30, tzinfo=TORONTO)
        p = make_promise(made_at=first - HOUR, due=first).revise(
            due=first.replace(fold=1), at=first - HOUR
        )
        assert p.revisions[0].shift == HOUR
        assert p.window == 2 * HOUR

    def test_late_revision_is_recorded(self) -> None:
        p = make_promise().revise(due=T0 + 3 * HOUR, at=T0 + 2 * HOUR)
        assert p.revisions[0].late

    def test_revise_at_the_same_instant_as_made(self) -> None:
        assert make_promise().revise(due=T0, at=T0).window == timedelta(0)

    def test_into_the_past_is_refused(self) -> None:
        with pytest.raises(
            InvalidValueError, match=r"'due' must not be before 'at' .*cannot be in the past"
        ):
            make_promise().revise(due=T0 + HOUR / 2, at=T0 + 2 * HOUR)

    def test_same_due_is_refused(self) -> None:
        same_instant = (T0 + HOUR).astimezone(PARIS)
        with pytest.raises(InvalidValueError, match="'due' must differ from 'previous_due'"):
            make_promise().revise(due=same_instant, at=T0)

    def test_at_before_made_at_is_refused(self) -> None:
        with pytest.raises(
            InvalidValueError, match=r"'at' must not be before the promise's 'made_at'"
        ):
            make_promise().revise(due=T0 + 2 * HOUR, at=T0 - timedelta(seconds=1))

    def test_at_before_previous_revision_is_refused(self) -> None:
        p = make_promise().revise(due=T0 + 2 * HOUR, at=T0 + HOUR / 2)
        with pytest.raises(
            InvalidValueError, match=r"'at' must not be before the previous revision's 'at'"
        ):
            p.revise(due=T0 + 3 * HOUR, at=T0 + HOUR / 4)

    def test_naive_arguments(self) -> None:
        p = make_promise()
        with pytest.raises(NaiveDatetimeError, match="'due' must be a timezone-aware"):
            p.revise(due=datetime(2026, 3, 10, 12), at=T0)
        with pytest.raises(NaiveDatetimeError, match="'at' must be a timezone-aware"):
            p.revise(due=T0 + 2 * HOUR, at=datetime(2026, 3, 10, 9))
        with pytest.raises(NaiveDatetimeError, match="'target' must be a timezone-aware"):
            p.revise(due=T0 + 2 * HOUR, at=T0, target=datetime(2026, 3, 10, 10))

    def test_target_out_of_range(self) -> None:
        with pytest.raises(InvalidValueError, match="'target' must be between"):
            make_promise().revise(due=T0 + 2 * HOUR, at=T0, target=T0 + 3 * HOUR)

    def test_blank_reason(self) -> None:
        with pytest.raises(InvalidValueError, match="'reason' must be a non-empty string"):
            make_promise().revise(due=T0 + 2 * HOUR, at=T0, reason="")

    def test_keyword_only(self) -> None:
        with pytest.raises(TypeError):
            make_promise().revise(T0 + 2 * HOUR, T0)  # type: ignore[misc]


# --------------------------------------------------------------------------- strategies


@given(aware_datetimes())
def test_aware_datetimes_are_aware_and_in_range(value: datetime) -> None:
    assert value.utcoffset() is not None
    assert datetime(2000, 1, 1, tzinfo=UTC) <= value <= datetime(2050, 1, 1, tzinfo=UTC)
    assert getattr(value.tzinfo, "key", "UTC") in DEFAULT_TIMEZONES


@given(
    aware_datetimes(
        min_value=datetime(2026, 11, 1, 5, tzinfo=UTC),
        max_value=datetime(2026, 11, 1, 7, tzinfo=UTC),
        timezones=["America/Toronto"],
    )
)
def test_aware_datetimes_round_trip_through_utc(value: datetime) -> None:
    # Every generated wall time exists and names its instant unambiguously (fold set).
    round_trip = value.astimezone(UTC).astimezone(TORONTO)
    assert (round_trip, round_trip.fold) == (value, value.fold)
    assert value.tzinfo is TORONTO


def test_aware_datetimes_argument_errors() -> None:
    with pytest.raises(NaiveDatetimeError, match="'min_value' must be a timezone-aware"):
        aware_datetimes(min_value=datetime(2020, 1, 1))
    with pytest.raises(InvalidValueError, match="'max_value' must not be before 'min_value'"):
        aware_datetimes(min_value=T0, max_value=T0 - HOUR)
    with pytest.raises(UnknownTimeZoneError, match="unknown zone 'Mars/Olympus'"):
        aware_datetimes(timezones=["Mars/Olympus"])
    with pytest.raises(InvalidValueError, match="'timezones' must not be empty"):
        aware_datetimes(timezones=[])
    with pytest.raises(InvalidTypeError, match="'timezones' must be an iterable"):
        aware_datetimes(timezones="UTC")
    with pytest.raises(InvalidTypeError, match="'timezones' must contain zone names"):
        aware_datetimes(timezones=[3])  # type: ignore[list-item]


def test_promises_argument_errors() -> None:
    with pytest.raises(InvalidValueError, match="'max_window' must not be negative"):
        promises(max_window=-HOUR)
    with pytest.raises(InvalidValueError, match="'max_revisions' must be >= 0"):
        promises(max_revisions=-1)
    with pytest.raises(InvalidTypeError, match="'max_revisions' must be an int"):
        promises(max_revisions=1.5)  # type: ignore[arg-type]


@given(terms())
def test_terms_strategy_generates_valid_terms(t: Terms) -> None:
    assert attrs.evolve(t) == t
    assert (t.unit is None) or (t.quantity is not None)
    assert (t.currency is None) or (t.max_cost is not None)


@given(promises())
def test_promises_strategy_generates_valid_promises(p: Promise) -> None:
    # Re-running every validator on a generated promise must not raise.
    assert attrs.evolve(p) == p
    assert p.window >= timedelta(0)
    assert p.revision == len(p.revisions) <= 2
    assert pickle.loads(pickle.dumps(p)) == p


@given(promises(max_revisions=0, terms=st.none()))
def test_promises_strategy_options(p: Promise) -> None:
    assert p.revisions == ()
    assert p.terms is None


@given(promises(), st.data())
def test_revise_keeps_the_chain_consistent(p: Promise, data: st.DataObject) -> None:
    last_at = p.revisions[-1].at if p.revisions else p.made_at
    at = data.draw(aware_datetimes(last_at, last_at.astimezone(UTC) + timedelta(days=3)))
    due = data.draw(aware_datetimes(at, at.astimezone(UTC) + timedelta(days=3)))
    if due.astimezone(UTC) == p.due.astimezone(UTC):
        due = due.astimezone(UTC) + timedelta(seconds=1)
    revised = p.revise(due=due, at=at)

    assert revised.revision == p.revision + 1
    assert revised.revisions[:-1] == p.revisions
    assert revised.revisions[-1].previous_due == p.due
    assert revised.revisions[-1].late == (at.astimezone(UTC) > p.due.astimezone(UTC))
    assert revised.original_due == p.original_due
    assert revised.due == due
    assert attrs.evolve(revised) == revised
