"""parse_datetime against the reading it had before it was made faster (kept here).

The faster parse builds datetimes with the constructor instead of ``replace()`` and
remembers fixed zones by their offset text; the result must be the same datetime (wall
time, fold, zone object class and identity of the zone name or offset) for every text,
and every refused text refused with the same error class and message.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import example, given, settings
from hypothesis import strategies as st

from promisekit._serialize_codecs import (
    _DATETIME_RE,
    _coerce_zone,
    _fmt_offset,
    _parse_offset,
    _zone_named,
)
from promisekit._validation import check_in_range, describe
from promisekit.errors import InvalidTypeError, InvalidValueError, NaiveDatetimeError
from promisekit.serialize import parse_datetime


def _reference_localize(field: str, wall: datetime, zone: tzinfo, text: str) -> datetime:
    first = wall.replace(tzinfo=zone, fold=0)
    second = wall.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first
    name = getattr(zone, "key", None) or str(zone)
    check_in_range(field, first)
    back = first.astimezone(timezone.utc).astimezone(zone).replace(tzinfo=None)
    if back != wall:
        raise InvalidValueError(
            f"{field!r} is a local time that does not exist in {name} (skipped by a "
            f"daylight-saving change): {describe(text)}; give the UTC offset"
        )
    raise InvalidValueError(
        f"{field!r} is an ambiguous local time in {name} (it happens twice at a "
        f"daylight-saving change): {describe(text)}; give the UTC offset"
    )


def _reference(text: Any, field: str, tz: str | tzinfo | None) -> datetime:
    """The parse as it was written before (named groups, ``replace()``)."""
    if not isinstance(text, str):
        raise InvalidTypeError(
            f"{field!r} must be a timestamp string (got {type(text).__name__} {describe(text)})"
        )
    match = _DATETIME_RE.fullmatch(text)
    if match is None:
        raise InvalidValueError(
            f"{field!r} must be an ISO 8601 / RFC 3339 timestamp such as "
            f"'2026-03-10T09:00:00-04:00' (got {describe(text)})"
        )
    try:
        wall = datetime(
            int(match["year"]),
            int(match["month"]),
            int(match["day"]),
            int(match["hour"]),
            int(match["minute"]),
            int(match["second"] or 0),
            int((match["fraction"] or "0").ljust(6, "0")),
        )
    except ValueError as exc:
        raise InvalidValueError(
            f"{field!r} is not a valid date and time: {exc} (got {describe(text)})"
        ) from None
    offset_text, zone_text = match["offset"], match["zone"]
    zone = None if zone_text is None else _zone_named(field, zone_text)
    if offset_text is None:
        if zone is not None:
            return check_in_range(field, _reference_localize(field, wall, zone, text))
        if tz is None:
            raise NaiveDatetimeError(field, wall)
        return check_in_range(field, _reference_localize(field, wall, _coerce_zone("tz", tz), text))
    offset = _parse_offset(field, offset_text)
    if zone is None:
        fixed = timezone(offset) if offset else timezone.utc
        return check_in_range(field, wall.replace(tzinfo=fixed))
    for fold in (0, 1):
        candidate = wall.replace(tzinfo=zone, fold=fold)
        if candidate.utcoffset() == offset:
            return check_in_range(field, candidate)
    expected = wall.replace(tzinfo=zone).utcoffset()
    raise InvalidValueError(
        f"{field!r} has offset {offset_text} that {zone_text} never has at "
        f"{wall.isoformat()} (expected {_fmt_offset(expected)}) (got {describe(text)})"
    )


def _outcome(call: Any) -> Any:
    try:
        value = call()
    except Exception as exc:
        return ("raised", type(exc), str(exc))
    zone = value.tzinfo
    return (
        type(value),
        value.isoformat(),
        value.fold,
        type(zone),
        getattr(zone, "key", None) or repr(zone),
        value.utcoffset(),
    )


def _two(n: int) -> st.SearchStrategy[str]:
    return st.integers(0, n).map(lambda v: f"{v:02d}")


# Dates near the DST changes of Toronto (2026-03-08, 2026-11-01), Lord Howe (half
# an hour) and Apia, ordinary ones, impossible ones and the ends of the range.
DATES = st.one_of(
    st.sampled_from(
        [
            "2026-03-08",
            "2026-11-01",
            "2026-04-05",
            "2026-10-04",
            "2026-02-28",
            "2024-02-29",
            "2026-02-29",
            "2026-02-30",
            "2026-13-01",
            "2026-00-10",
            "0001-01-01",
            "9999-12-31",
            "2011-12-30",
        ]
    ),
    st.builds(
        lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}",
        st.integers(1, 9999),
        st.integers(1, 12),
        st.integers(1, 28),
    ),
    st.builds(
        lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}",
        st.integers(1, 9999),
        st.integers(0, 13),
        st.integers(0, 32),
    ),
)
TIMES = st.builds(
    lambda h, m, s: f"{h}:{m}" + s,
    st.one_of(_two(23), _two(23), _two(25)),
    st.one_of(_two(59), _two(59), _two(61)),
    st.one_of(
        st.just(""),
        st.builds(
            lambda s, sep, frac: f":{s}" + (f"{sep}{frac}" if frac else ""),
            st.one_of(_two(59), _two(61)),
            st.sampled_from([".", ","]),
            st.text("0123456789", min_size=0, max_size=7),
        ),
    ),
)
OFFSETS = st.one_of(
    st.sampled_from(["", "", "Z", "z", "+00:00", "-00:00", "-05:00", "-04:00", "+10:30"]),
    st.builds(
        lambda sign, h, rest: f"{sign}{h}{rest}",
        st.sampled_from(["+", "-"]),
        _two(25),
        st.sampled_from(["", ":00", "30", ":30:15", ":00:00.5", ":59:59.123456", ":60", "0"]),
    ),
)
ZONES = st.sampled_from(
    [
        "",
        "",
        "[America/Toronto]",
        "[!Europe/Paris]",
        "[Australia/Lord_Howe]",
        "[Pacific/Apia]",
        "[UTC]",
        "[+02:00]",
        "[-05:00]",
        "[Z]",
        "[Nowhere/Land]",
        "[America]",
    ]
)
TZS = st.sampled_from(
    [None, "America/Toronto", ZoneInfo("Australia/Lord_Howe"), timezone.utc, "Nope", 5]
)
TEXTS = st.builds(
    lambda d, sep, t, o, z: f"{d}{sep}{t}{o}{z}",
    DATES,
    st.sampled_from(["T", "T", "t", " ", "_"]),
    TIMES,
    OFFSETS,
    ZONES,
)


@settings(max_examples=1500, deadline=None)
@given(st.one_of(TEXTS, TEXTS, TEXTS, st.text(max_size=40)), TZS)
@example("2026-11-01T01:30:00-04:00[America/Toronto]", None)
@example("2026-11-01T01:30:00-05:00[America/Toronto]", None)
@example("2026-11-01T01:30:00-06:00[America/Toronto]", None)
@example("2026-11-01T01:30:00", "America/Toronto")
@example("2026-03-08T02:30:00", "America/Toronto")
@example("2026-03-08T02:30:00[America/Toronto]", None)
@example("9999-12-31T23:30:00-01:00", None)
@example("0001-01-01T00:30:00+01:00", None)
@example("9999-12-31T23:30:00", "Pacific/Kiritimati")
@example("2026-03-10T09:00:00.1234567Z", None)
def test_parse_datetime_reads_as_before(text: str, tz: Any) -> None:
    for field in ("value", "at"):
        # Twice: the second time, the zones and offsets met are remembered.
        for _ in range(2):
            got = _outcome(lambda name=field: parse_datetime(text, field=name, tz=tz))
            assert got == _outcome(lambda name=field: _reference(text, name, tz))


@given(st.sampled_from([None, 3, 2.5, b"2026-03-10T09:00:00Z"]))
def test_parse_datetime_refuses_non_text_as_before(value: Any) -> None:
    got = _outcome(lambda: parse_datetime(value, field="at"))
    assert got == _outcome(lambda: _reference(value, "at", None))


def test_fixed_offsets_give_the_same_zone_object_each_time() -> None:
    first = parse_datetime("2026-03-10T09:00:00-03:00")
    second = parse_datetime("2026-03-11T09:00:00-03:00")
    third = parse_datetime("2026-03-12T09:00:00-0300")
    assert first.tzinfo is second.tzinfo is third.tzinfo
    assert first.tzinfo == timezone(timedelta(hours=-3))
    assert parse_datetime("2026-03-10T09:00:00Z").tzinfo is timezone.utc
    assert parse_datetime("2026-03-10T09:00:00+00:00").tzinfo is timezone.utc
