"""JSON documents for every promisekit value: one cattrs converter, a versioned schema.

Every value type (promises, terms, revisions, deliveries, outcomes, ledger events and
states, business calendars — and the types other modules register) has one JSON form:

* :func:`to_dict` / :func:`from_dict` — a JSON-ready ``dict`` (only ``str``, ``int``,
  ``float``, ``bool``, ``None``, ``list`` and ``dict``);
* :func:`to_json` / :func:`from_json` — the same as text.

A **document** (what these functions write and read) is a JSON object with two more
keys before the value's fields: ``"schema": "promisekit/1"`` (the version of this
format) and ``"type"`` (the document type, ``"promise"``, ``"delivery_recorded"``…)::

    {"schema": "promisekit/1", "type": "delivery_recorded", "id": "E-2",
     "promise_id": "P-1", "at": "2026-03-10T09:59:00-04:00[America/Toronto]",
     "recorded_at": "2026-03-10T14:00:02+00:00", "quantity": 2.0}

Encodings (exact: reading a document back gives an equal value that writes the
same document):

* **Datetimes** are RFC 3339 strings with their UTC offset; a ``zoneinfo`` zone is
  kept as an RFC 9557 suffix: ``"2026-11-01T01:30:00-05:00[America/Toronto]"``. The
  offset keeps the ``fold`` (the second 01:30 of that night has offset ``-05:00``, the
  first ``-04:00``); a fixed-offset ``datetime.timezone`` has no suffix. Other
  ``tzinfo`` classes are refused (they would not come back the same). Naive datetimes
  are refused when reading.
* **Decimals** are strings (``"19.99"``), never JSON numbers.
* **Durations** are ISO 8601 strings in days, hours, minutes and seconds
  (``"-PT1H30M"``, ``"P2DT0.5S"``).
* **Floats** are JSON numbers; the infinities some results can hold are the strings
  ``"Infinity"`` and ``"-Infinity"``. Enums are their string values.
* Optional fields at their default are left out; a reader treats a missing optional
  field as its default.

**Strict reading.** A document with an unknown field, a missing required field, a
wrong type (no coercion: ``"2"`` is not a number, ``1`` is not a string), an unknown
``type`` or enum value, or a newer schema version raises :class:`SchemaError` naming
the JSON path (``$.terms.quantity``), what was expected and what was received. With
``unknown="keep"``, unknown fields (and a newer version) are accepted: the value is
returned in a :class:`Decoded` with the unknown fields in :attr:`Decoded.extra`.

**Extension point.** :func:`register_type` makes another class serializable (an attrs
class needs only a name; others give their hooks). promisekit modules that cannot
import this module eagerly (it builds the cattrs converter) register themselves
lazily: when a value of an unregistered class is written, or an unknown document type
is read, the modules in :data:`PROVIDERS` that are already imported or importable are
asked, through a module-level function ``_register_serialization(register_type)``.

:func:`event_json_schema` exports a JSON Schema (draft 2020-12) of the event documents,
for CRM developers in other languages (also in ``docs/schema/events.schema.json``).

cattrs is imported when the converter is first needed, not when this module is.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import collections.abc
import decimal
import enum
import importlib
import importlib.util
import json
import re
import sys
import threading
import types
import typing
from collections.abc import Callable, Collection, Iterator, Mapping
from datetime import date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, overload
from zoneinfo import ZoneInfo

import attrs

from promisekit import _json
from promisekit._validation import check_aware, check_in_range, describe, load_zone
from promisekit.errors import (
    InvalidTypeError,
    InvalidValueError,
    MissingDependencyError,
    NaiveDatetimeError,
    PromiseKitError,
)
from promisekit.ledger import EVENT_TYPES, Event

if TYPE_CHECKING:
    import cattrs

__all__ = [
    "PROVIDERS",
    "SCHEMA",
    "SCHEMA_VERSION",
    "Decoded",
    "SchemaError",
    "event_json_schema",
    "format_datetime",
    "format_decimal",
    "format_duration",
    "from_dict",
    "from_json",
    "get_converter",
    "parse_datetime",
    "parse_decimal",
    "parse_duration",
    "register_type",
    "registered_types",
    "to_dict",
    "to_json",
]

T = TypeVar("T")

#: The schema version this promisekit writes (and the newest it reads).
#:
#: .. versionadded:: 0.1.0
SCHEMA_VERSION = 1

#: The value of the ``"schema"`` key of every document written.
#:
#: .. versionadded:: 0.1.0
SCHEMA = f"promisekit/{SCHEMA_VERSION}"

#: Modules asked (lazily) to register their types, through a module-level
#: ``_register_serialization(register_type)`` function, when a value of an unknown
#: class is written or an unknown document type is read.
#:
#: .. versionadded:: 0.1.0
PROVIDERS: tuple[str, ...] = (
    "promisekit.buffering",
    "promisekit.commitments",
    "promisekit.escalation",
    "promisekit.satisfaction",
    "promisekit.impact",
)

_SCHEMA_RE = re.compile(r"promisekit/([0-9]{1,9})")
_ENVELOPE = ("schema", "type")


class SchemaError(InvalidValueError):
    """A document does not follow the promisekit JSON schema, or a value cannot be written.

    Attributes:
        path: JSON path of the (first) problem, like ``"$.terms.quantity"``, or ``None``
            for a problem that is not in a JSON document (a CSV header, a TOML file…).
        errors: Every problem found, as ``"path: message"`` strings.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self, message: str, *, path: str | None = "$", errors: Collection[str] = ()
    ) -> None:
        self.path = path
        text = message if path is None else f"{path}: {message}"
        self.errors: tuple[str, ...] = tuple(errors) or (text,)
        super().__init__(text)


def _describe(value: object) -> str:
    """A short description of a received value for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {'true' if value else 'false'}"
    if isinstance(value, (int, float)):
        return f"number {describe(value)}"
    if isinstance(value, str):
        return f"string {describe(value)}"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return f"{type(value).__name__} {describe(value)}"


# =========================================================================== text forms

_DATETIME_RE = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})[Tt ]"
    r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})"
    r"(?::(?P<second>[0-9]{2})(?:[.,](?P<fraction>[0-9]{1,6}))?)?"
    r"(?P<offset>[Zz]|[+-][0-9]{2}(?::?[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?)?)?"
    r"(?:\[(?P<critical>!?)(?P<zone>[^\[\]]{1,255})\])?"
)
_OFFSET_RE = re.compile(
    r"(?P<sign>[+-])(?P<h>[0-9]{2})(?::?(?P<m>[0-9]{2})"
    r"(?::(?P<s>[0-9]{2})(?:\.(?P<us>[0-9]{1,6}))?)?)?"
)
_ZONES: dict[str, tzinfo] = {}
_OFFSETS: dict[str, timedelta] = {}
_FIXED: dict[timedelta, timezone] = {}


def _zone_named(field: str, name: str) -> tzinfo:
    zone = _ZONES.get(name)
    if zone is not None:
        return zone
    if _OFFSET_RE.fullmatch(name) is not None:
        offset = _parse_offset(field, name)
        zone = timezone(offset) if offset else timezone.utc
    else:
        zone = load_zone(name, field=field)
    if len(_ZONES) < 1024:
        _ZONES[name] = zone
    return zone


def _parse_offset(field: str, text: str) -> timedelta:
    cached = _OFFSETS.get(text)
    if cached is not None:
        return cached
    delta = _compute_offset(field, text)
    if len(_OFFSETS) < 1024:
        _OFFSETS[text] = delta
    return delta


def _compute_offset(field: str, text: str) -> timedelta:
    if text in ("Z", "z"):
        return timedelta(0)
    match = _OFFSET_RE.fullmatch(text)
    if match is None:  # pragma: no cover - the caller's regex only lets offsets through
        raise InvalidValueError(f"{field!r} has a malformed UTC offset (got {describe(text)})")
    hours, minutes = int(match["h"]), int(match["m"] or 0)
    seconds = int(match["s"] or 0)
    micros = int((match["us"] or "0").ljust(6, "0"))
    if hours > 23 or minutes > 59 or seconds > 59:
        raise InvalidValueError(
            f"{field!r} must have a UTC offset between -23:59 and +23:59 (got {describe(text)})"
        )
    delta = timedelta(hours=hours, minutes=minutes, seconds=seconds, microseconds=micros)
    return -delta if match["sign"] == "-" else delta


def _coerce_zone(field: str, tz: str | tzinfo) -> tzinfo:
    if isinstance(tz, tzinfo):
        return tz
    if isinstance(tz, str):
        return _zone_named(field, tz)
    raise InvalidTypeError(
        f"{field!r} must be an IANA zone name or a tzinfo (got {type(tz).__name__} {describe(tz)})"
    )


def _localize(field: str, wall: datetime, zone: tzinfo, text: str) -> datetime:
    """Attach ``zone`` to a naive wall time, refusing DST gaps and folds (no guessing)."""
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


def parse_datetime(text: str, *, field: str = "value", tz: str | tzinfo | None = None) -> datetime:
    """Parse an RFC 3339 / RFC 9557 timestamp into an aware datetime, exactly.

    Accepted: ``YYYY-MM-DDTHH:MM[:SS[.ffffff]]`` (``T``, ``t`` or a space between date
    and time), then an offset (``Z``, ``+HH:MM``, ``+HHMM``, ``+HH``) and/or a zone in
    brackets (``[America/Toronto]``, ``[!Europe/Paris]``, ``[+02:00]``).

    * Offset and zone: the datetime is in the zone, with the ``fold`` that gives that
      offset; an offset the zone never has at that wall time is an error.
    * Offset only: a fixed-offset ``datetime.timezone`` (``timezone.utc`` for zero).
    * Zone only, or neither but ``tz`` given: the wall time in that zone; a wall time
      that a daylight-saving change skips or repeats is an error (no guessing).
    * Neither and no ``tz``: :class:`~promisekit.errors.NaiveDatetimeError`.

    Args:
        text: The timestamp.
        field: Field name for error messages.
        tz: Zone of timestamps without offset or zone (IANA name or ``tzinfo``), or
            ``None`` to refuse them.

    Returns:
        The aware datetime.

    Raises:
        InvalidTypeError: ``text`` is not a string.
        InvalidValueError: The text is not such a timestamp, a date is impossible, or
            its UTC instant is before 0001-01-01 or after 9999-12-31.
        NaiveDatetimeError: No offset, no zone and no ``tz``.
        UnknownTimeZoneError: The zone is unknown.

    Example:
        >>> parse_datetime("2026-11-01T01:30:00-05:00[America/Toronto]").fold
        1

    .. versionadded:: 0.1.0
    """
    return check_in_range(field, _parse_datetime(text, field, tz))


def _parse_datetime(text: str, field: str, tz: str | tzinfo | None) -> datetime:
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
            return _localize(field, wall, zone, text)
        if tz is None:
            raise NaiveDatetimeError(field, wall)
        return _localize(field, wall, _coerce_zone("tz", tz), text)
    offset = _parse_offset(field, offset_text)
    if zone is None:
        fixed = _FIXED.get(offset)
        if fixed is None:
            fixed = timezone(offset) if offset else timezone.utc
            if len(_FIXED) < 1024:
                _FIXED[offset] = fixed
        return wall.replace(tzinfo=fixed)
    for fold in (0, 1):
        candidate = wall.replace(tzinfo=zone, fold=fold)
        if candidate.utcoffset() == offset:
            return candidate
    expected = wall.replace(tzinfo=zone).utcoffset()
    raise InvalidValueError(
        f"{field!r} has offset {offset_text} that {zone_text} never has at "
        f"{wall.isoformat()} (expected {_fmt_offset(expected)}) (got {describe(text)})"
    )


def _fmt_offset(delta: timedelta | None) -> str:
    if delta is None:  # pragma: no cover - aware zones always have an offset
        return "none"
    return datetime(2000, 1, 1, tzinfo=timezone(delta)).isoformat()[19:] or "+00:00"


def format_datetime(value: datetime, *, field: str = "value") -> str:
    """Write an aware datetime as RFC 3339 text, with an RFC 9557 zone suffix if it has one.

    Args:
        value: An aware datetime whose ``tzinfo`` is a ``zoneinfo.ZoneInfo`` (written
            as ``...-04:00[America/Toronto]``) or a ``datetime.timezone`` without a
            custom name (written as ``...-04:00``).
        field: Field name for error messages.

    Returns:
        The text; :func:`parse_datetime` reads it back exactly.

    Raises:
        InvalidTypeError: Not a datetime, or another ``tzinfo`` class.
        NaiveDatetimeError: ``value`` has no time zone.

    Example:
        >>> from zoneinfo import ZoneInfo
        >>> format_datetime(datetime(2026, 3, 10, 9, 0, tzinfo=ZoneInfo("America/Toronto")))
        '2026-03-10T09:00:00-04:00[America/Toronto]'

    .. versionadded:: 0.1.0
    """
    check_aware(field, value)
    zone = value.tzinfo
    if isinstance(zone, ZoneInfo):
        if zone.key is None:
            raise InvalidTypeError(
                f"{field!r} has a ZoneInfo without a key (loaded from a file), which "
                f"cannot be written by name (got {describe(value)})"
            )
        return f"{value.isoformat()}[{zone.key}]"
    if type(zone) is timezone:
        offset = zone.utcoffset(None)
        if zone.tzname(None) != timezone(offset).tzname(None):
            raise InvalidTypeError(
                f"{field!r} has a datetime.timezone with a custom name "
                f"{describe(zone.tzname(None))}, which the JSON form cannot keep; use a "
                f"zoneinfo.ZoneInfo or an unnamed timezone (got {describe(value)})"
            )
        return value.isoformat()
    raise InvalidTypeError(
        f"{field!r} must have a zoneinfo.ZoneInfo or datetime.timezone tzinfo to be "
        f"written exactly (got {type(zone).__name__}); convert it with "
        f".astimezone(ZoneInfo(...))"
    )


_DURATION_RE = re.compile(
    r"(?P<sign>[+-])?P(?:(?P<days>[0-9]{1,9})D)?"
    r"(?:T(?:(?P<hours>[0-9]{1,12})H)?(?:(?P<minutes>[0-9]{1,14})M)?"
    r"(?:(?P<seconds>[0-9]{1,16})(?:[.,](?P<fraction>[0-9]{1,6}))?S)?)?"
)


def format_duration(value: timedelta, *, field: str = "value") -> str:
    """Write a duration as an ISO 8601 string in days, hours, minutes and seconds.

    Args:
        value: A ``timedelta`` (negative allowed: ``"-PT5M"``).
        field: Field name for error messages.

    Returns:
        The text, e.g. ``"P1DT2H0.5S"`` or ``"PT0S"``.

    Raises:
        InvalidTypeError: ``value`` is not a timedelta.

    .. versionadded:: 0.1.0
    """
    if not isinstance(value, timedelta):
        raise InvalidTypeError(
            f"{field!r} must be a timedelta (got {type(value).__name__} {describe(value)})"
        )
    sign = "-" if value < timedelta(0) else ""
    total = -value if sign else value
    hours, rest = divmod(total.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"{sign}P" + (f"{total.days}D" if total.days else "")
    clock = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    if seconds or total.microseconds:
        clock += str(seconds)
        if total.microseconds:
            clock += f".{total.microseconds:06d}".rstrip("0")
        clock += "S"
    if clock or not total.days:
        text += "T" + (clock or "0S")
    return text


def parse_duration(text: str, *, field: str = "value") -> timedelta:
    """Parse an ISO 8601 duration in days, hours, minutes and seconds.

    Years, months and weeks are refused: they are not fixed lengths of time.

    Args:
        text: Such as ``"PT1H30M"``, ``"-P1DT0.25S"``.
        field: Field name for error messages.

    Returns:
        The ``timedelta``.

    Raises:
        InvalidTypeError: ``text`` is not a string.
        InvalidValueError: The text is not such a duration, or is out of range.

    .. versionadded:: 0.1.0
    """
    if not isinstance(text, str):
        raise InvalidTypeError(
            f"{field!r} must be an ISO 8601 duration string (got {type(text).__name__} "
            f"{describe(text)})"
        )
    match = _DURATION_RE.fullmatch(text)
    if match is None or not any(
        match[name] is not None for name in ("days", "hours", "minutes", "seconds")
    ):
        raise InvalidValueError(
            f"{field!r} must be an ISO 8601 duration such as 'PT1H30M' or '-P1DT2S' "
            f"(got {describe(text)})"
        )
    try:
        delta = timedelta(
            days=int(match["days"] or 0),
            hours=int(match["hours"] or 0),
            minutes=int(match["minutes"] or 0),
            seconds=int(match["seconds"] or 0),
            microseconds=int((match["fraction"] or "0").ljust(6, "0")),
        )
    except OverflowError:
        raise InvalidValueError(
            f"{field!r} is too long a duration (got {describe(text)})"
        ) from None
    return -delta if match["sign"] == "-" else delta


_DECIMAL_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,18})?")


def parse_decimal(text: str, *, field: str = "value") -> Decimal:
    """Parse a decimal number written as a string (``"19.99"``, ``"-1.5E+3"``), exactly.

    Args:
        text: The string (no spaces, no ``NaN`` or ``Infinity``).
        field: Field name for error messages.

    Returns:
        The ``Decimal``.

    Raises:
        InvalidTypeError: ``text`` is not a string.
        InvalidValueError: The text is not a finite decimal number.

    .. versionadded:: 0.1.0
    """
    if not isinstance(text, str):
        raise InvalidTypeError(
            f'{field!r} must be a decimal number written as a string such as "19.99" '
            f"(got {_describe(text)})"
        )
    if len(text) > 1000 or _DECIMAL_RE.fullmatch(text) is None:
        raise InvalidValueError(
            f'{field!r} must be a decimal number such as "19.99" (got {describe(text)})'
        )
    try:
        return Decimal(text)
    except (decimal.InvalidOperation, ValueError):  # pragma: no cover - the regex guards
        raise InvalidValueError(
            f"{field!r} must be a decimal number (got {describe(text)})"
        ) from None


def format_decimal(value: Decimal, *, field: str = "value") -> str:
    """Write a finite ``Decimal`` as its exact string (``str(value)``).

    Raises:
        InvalidTypeError: ``value`` is not a Decimal.
        InvalidValueError: ``value`` is not finite.

    .. versionadded:: 0.1.0
    """
    if not isinstance(value, Decimal):
        raise InvalidTypeError(
            f"{field!r} must be a Decimal (got {type(value).__name__} {describe(value)})"
        )
    if not value.is_finite():
        raise InvalidValueError(f"{field!r} must be a finite Decimal (got {describe(value)})")
    return str(value)


_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _parse_date(text: object, field: str) -> date:
    if not isinstance(text, str) or _DATE_RE.fullmatch(text) is None:
        raise InvalidValueError(
            f'{field!r} must be a date string such as "2026-12-25" (got {_describe(text)})'
        )
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidValueError(
            f"{field!r} is not a valid date: {exc} (got {describe(text)})"
        ) from None


# =========================================================================== registry


@attrs.frozen
class _Spec:
    cls: type[Any]
    name: str
    unstructure: Callable[[Any], dict[str, Any]] | None
    structure: Callable[[dict[str, Any]], Any] | None
    fields: frozenset[str] | None
    base: type[Any] | None


_LOCK = threading.RLock()
_BY_NAME: dict[str, _Spec] = {}
_BY_CLASS: dict[type[Any], _Spec] = {}
_BASES: dict[type[Any], dict[str, type[Any]]] = {}
_CONVERTER: cattrs.Converter | None = None
_PROVIDERS_DONE: set[str] = set()
_NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,63}")


def register_type(
    cls: type[T],
    name: str,
    *,
    unstructure: Callable[[T], dict[str, Any]] | None = None,
    structure: Callable[[dict[str, Any]], T] | None = None,
    fields: Collection[str] | None = None,
    base: type[Any] | None = None,
) -> None:
    """Make a class serializable by :func:`to_dict`, :func:`from_dict` and friends.

    An attrs class needs only a ``name``: cattrs builds its hooks from the fields (which
    must themselves be serializable), and unknown or missing fields are checked from
    the attrs fields. Any other class gives both hooks.

    Registering the same class under the same name again replaces its hooks.

    Args:
        cls: The class.
        name: Its document type name (lowercase letters, digits and ``_``, starting
            with a letter), unique among registered types.
        unstructure: ``obj -> dict`` of JSON-ready values (without ``"schema"`` and
            ``"type"``), or ``None`` for an attrs class.
        structure: ``dict -> obj`` (the dict has no ``"schema"`` key, nor ``"type"``
            unless ``base`` is given); it raises a
            :class:`~promisekit.errors.PromiseKitError` on bad input. ``None`` for an
            attrs class.
        fields: For custom hooks, the keys a document may have (unknown keys are then
            reported before ``structure`` is called), or ``None`` to leave all checks
            to ``structure``.
        base: A base class under which ``cls`` is one of several kinds (like
            :class:`~promisekit.ledger.Event`): a field declared with the base type
            accepts any registered kind, and the kind's dicts always carry
            ``"type": name``.

    Raises:
        InvalidTypeError: ``cls`` is not a class, or only one hook is given for a
            non-attrs class.
        InvalidValueError: ``name`` is malformed or taken by another class.

    Example:
        .. code-block:: python

            @attrs.frozen
            class Callback:
                number: str
                at: datetime

            register_type(Callback, "callback")
            to_json(Callback("+1 555 0100", now))

    .. versionadded:: 0.1.0
    """
    if not isinstance(cls, type):
        raise InvalidTypeError(f"'cls' must be a class (got {type(cls).__name__} {describe(cls)})")
    if not isinstance(name, str) or _NAME_RE.fullmatch(name) is None:
        raise InvalidValueError(
            f"'name' must be lowercase letters, digits and '_', starting with a letter "
            f"(got {describe(name)})"
        )
    if name in _ENVELOPE:
        raise InvalidValueError(f"'name' must not be {describe(name)} (a reserved key)")
    custom = unstructure is not None or structure is not None
    if custom and (unstructure is None or structure is None):
        raise InvalidTypeError("'unstructure' and 'structure' must be given together")
    if not custom and not attrs.has(cls):
        raise InvalidTypeError(
            f"'cls' must be an attrs class when no hooks are given (got {cls.__name__})"
        )
    if base is not None and not (isinstance(base, type) and issubclass(cls, base)):
        raise InvalidTypeError(
            f"'base' must be a base class of {cls.__name__} (got {describe(base)})"
        )
    if not custom:
        reserved = {name for name, _, _ in _field_types(cls)} & set(_ENVELOPE)
        if reserved:
            raise InvalidValueError(
                f"{cls.__name__} has fields named {sorted(reserved)}, which are reserved keys"
            )
    spec = _Spec(
        cls=cls,
        name=name,
        unstructure=unstructure,
        structure=structure,
        fields=None if fields is None else frozenset(fields),
        base=base,
    )
    with _LOCK:
        taken = _BY_NAME.get(name)
        if taken is not None and taken.cls is not cls:
            raise InvalidValueError(
                f"'name' {describe(name)} is already registered for {taken.cls.__qualname__}"
            )
        old = _BY_CLASS.get(cls)
        if old is not None and old.name != name:
            del _BY_NAME[old.name]
        _BY_NAME[name] = spec
        _BY_CLASS[cls] = spec
        if base is not None:
            _BASES.setdefault(base, {})[name] = cls
        if _CONVERTER is not None:
            _install(_CONVERTER, spec)


def registered_types() -> Mapping[str, type[Any]]:
    """Every registered document type name and its class (a snapshot).

    .. versionadded:: 0.1.0
    """
    _load_providers()
    with _LOCK:
        return dict(sorted((name, spec.cls) for name, spec in _BY_NAME.items()))


def _load_providers(module: str | None = None) -> None:
    """Let lazy modules register their types (the ones imported or importable)."""
    names = PROVIDERS if module is None else (module,)
    for name in names:
        if name in _PROVIDERS_DONE:
            continue
        _PROVIDERS_DONE.add(name)
        loaded = sys.modules.get(name)
        if loaded is None:
            try:
                if importlib.util.find_spec(name) is None:
                    continue
                loaded = importlib.import_module(name)
            except ImportError:
                continue
        hook = getattr(loaded, "_register_serialization", None)
        if callable(hook):
            hook(register_type)


def _spec_for_class(cls: type[Any]) -> _Spec | None:
    spec = _BY_CLASS.get(cls)
    if spec is None:
        module = cls.__module__
        _load_providers(module)
        _load_providers(module.rpartition(".")[0] or module)
        spec = _BY_CLASS.get(cls)
    return spec


def _spec_for_name(name: str) -> _Spec | None:
    spec = _BY_NAME.get(name)
    if spec is None:
        _load_providers()
        spec = _BY_NAME.get(name)
    return spec


# =========================================================================== converter


def _strict_str(value: object, _: object = None) -> str:
    if not isinstance(value, str):
        raise InvalidTypeError(f"expected a string (got {_describe(value)})")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidValueError(
                f"expected valid Unicode text (got a string with a lone surrogate: "
                f"{describe(value)})"
            ) from None
    return value


def _strict_int(value: object, _: object = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(f"expected an integer (got {_describe(value)})")
    return value


def _strict_bool(value: object, _: object = None) -> bool:
    if not isinstance(value, bool):
        raise InvalidTypeError(f"expected true or false (got {_describe(value)})")
    return value


_INFINITIES = {"Infinity": float("inf"), "-Infinity": float("-inf")}


def _strict_float(value: object, _: object = None) -> float:
    if isinstance(value, str) and value in _INFINITIES:
        return _INFINITIES[value]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidTypeError(f"expected a number (got {_describe(value)})")
    try:
        return float(value)
    except OverflowError:
        raise InvalidValueError(
            f"expected a number that fits a float (got an integer of {len(str(value))} digits)"
        ) from None


def _unstructure_float(value: float) -> float | str:
    if value != value:  # NaN never reaches here: validators refuse it
        raise InvalidValueError("cannot write NaN (got nan)")
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def _structure_decimal(value: object, _: object = None) -> Decimal:
    return parse_decimal(value, field="value")  # type: ignore[arg-type]


def _structure_datetime(value: object, _: object = None) -> datetime:
    return parse_datetime(value, field="value")  # type: ignore[arg-type]


def _structure_duration(value: object, _: object = None) -> timedelta:
    return parse_duration(value, field="value")  # type: ignore[arg-type]


def _structure_enum(value: object, cls: type[enum.Enum]) -> enum.Enum:
    allowed = [member.value for member in cls]
    for member in cls:
        if type(member.value) is type(value) and member.value == value:
            return member
    raise InvalidValueError(
        f"expected one of {', '.join(repr(v) for v in allowed)} (got {_describe(value)})"
    )


def _structure_str_mapping(value: object, _: object = None) -> dict[str, str]:
    if not isinstance(value, dict):
        raise InvalidTypeError(f"expected an object of strings (got {_describe(value)})")
    out: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(item, str):
            raise InvalidTypeError(
                f"expected an object of strings (got {_describe(item)} for key {describe(key)})"
            )
        out[_strict_str(key)] = _strict_str(item)
    return out


def _is_str_mapping(tp: Any) -> bool:
    return typing.get_origin(tp) in (collections.abc.Mapping, dict) and typing.get_args(tp) == (
        str,
        str,
    )


def _is_enum(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, enum.Enum)


def _new_converter() -> cattrs.Converter:
    try:
        import cattrs
    except ImportError as exc:  # pragma: no cover - cattrs is a core dependency
        raise MissingDependencyError("cattrs", "serialize", "promisekit.serialize") from exc
    conv = cattrs.Converter(omit_if_default=True, detailed_validation=True)
    conv.register_structure_hook(str, _strict_str)
    conv.register_structure_hook(int, _strict_int)
    conv.register_structure_hook(bool, _strict_bool)
    conv.register_structure_hook(float, _strict_float)
    conv.register_unstructure_hook(float, _unstructure_float)
    conv.register_structure_hook(Decimal, _structure_decimal)
    conv.register_unstructure_hook(Decimal, format_decimal)
    conv.register_structure_hook(datetime, _structure_datetime)
    conv.register_unstructure_hook(datetime, format_datetime)
    conv.register_structure_hook(timedelta, _structure_duration)
    conv.register_unstructure_hook(timedelta, format_duration)
    conv.register_structure_hook(date, lambda v, _: _parse_date(v, "value"))
    conv.register_unstructure_hook(date, date.isoformat)
    conv.register_structure_hook_func(_is_enum, _structure_enum)
    conv.register_unstructure_hook_func(_is_enum, lambda member: member.value)
    conv.register_structure_hook_func(_is_str_mapping, _structure_str_mapping)
    conv.register_unstructure_hook_func(
        _is_str_mapping, lambda mapping: dict(sorted(mapping.items()))
    )
    return conv


def _install(conv: cattrs.Converter, spec: _Spec) -> None:
    from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn

    cls, name, tagged = spec.cls, spec.name, spec.base is not None
    if spec.unstructure is not None and spec.structure is not None:
        custom_out, custom_in = spec.unstructure, spec.structure

        def unstructure_custom(obj: Any) -> dict[str, Any]:
            body = custom_out(obj)
            return {"type": name, **body} if tagged else body

        def structure_custom(data: Any, _: Any) -> Any:
            body = {k: v for k, v in data.items() if k != "type"} if tagged else data
            return custom_in(body)

        conv.register_unstructure_hook(cls, unstructure_custom)
        conv.register_structure_hook(cls, structure_custom)
    else:
        # Generated on first use, once every hook they nest is registered (cattrs binds
        # the hooks of nested classes when it generates a function).
        made: dict[str, Callable[..., Any]] = {}

        def unstructure_attrs(obj: Any) -> dict[str, Any]:
            out = made.get("out")
            if out is None:
                out = made["out"] = make_dict_unstructure_fn(
                    cls, conv, _cattrs_omit_if_default=True
                )
            body: dict[str, Any] = out(obj)
            return {"type": name, **body} if tagged else body

        def structure_attrs(data: Any, _: Any) -> Any:
            into = made.get("in")
            if into is None:
                into = made["in"] = make_dict_structure_fn(cls, conv)
            return into(data, cls)

        conv.register_unstructure_hook(cls, unstructure_attrs)
        conv.register_structure_hook(cls, structure_attrs)
    base = spec.base
    if base is not None and conv.get_structure_hook(base, cache_result=False) is not _dispatch:
        conv.register_structure_hook(base, _dispatch)
        conv.register_unstructure_hook(base, lambda obj: conv.unstructure(obj, type(obj)))


def _dispatch(data: Any, base: type[Any]) -> Any:
    """Structure hook of a base class: pick the registered kind named by ``"type"``."""
    kinds = _BASES.get(base, {})
    name = data.get("type") if isinstance(data, dict) else None
    cls = kinds.get(name) if isinstance(name, str) else None
    if cls is None:
        raise InvalidValueError(
            f"expected an object with 'type' one of {', '.join(repr(k) for k in sorted(kinds))} "
            f"(got {_describe(name) if isinstance(data, dict) else _describe(data)})"
        )
    return get_converter().structure(data, cls)


def get_converter() -> cattrs.Converter:
    """The shared cattrs converter (built on first use, with every registered type).

    Use it to (un)structure values without the document envelope, or to add hooks for
    types that are fields of your own classes. Prefer :func:`register_type` for
    document types.

    Returns:
        The converter.

    Raises:
        MissingDependencyError: cattrs is not installed.

    .. versionadded:: 0.1.0
    """
    global _CONVERTER
    conv = _CONVERTER
    if conv is not None:
        return conv
    with _LOCK:
        if _CONVERTER is None:
            _register_builtins()
            conv = _new_converter()
            for spec in list(_BY_NAME.values()):
                _install(conv, spec)
            _CONVERTER = conv
        return _CONVERTER


# --------------------------------------------------------------------------- built-ins


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_BUILTINS_DONE = False


def _fmt_clock(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")


def _fmt_day(intervals: Any) -> list[str]:
    return [f"{_fmt_clock(start)}-{_fmt_clock(end)}" for start, end in intervals]


def _calendar_to_dict(cal: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "tz": cal.tz,
        "hours": {day: _fmt_day(cal.hours[i]) for i, day in enumerate(_DAYS)},
    }
    if cal.holidays:
        out["holidays"] = [d.isoformat() for d in cal.holidays]
    if cal.holiday_rules:
        out["holiday_rules"] = list(cal.holiday_rules)
    if cal.overrides:
        out["overrides"] = {d.isoformat(): _fmt_day(day) for d, day in cal.overrides}
    return out


def _calendar_from_dict(data: dict[str, Any]) -> Any:
    from promisekit.calendar import BusinessCalendar

    if "tz" not in data:
        raise _missing("tz")
    hours = data.get("hours")
    if hours is not None and not isinstance(hours, dict):
        raise InvalidTypeError(f"'hours' must be an object of days (got {_describe(hours)})")
    holidays = data.get("holidays", [])
    if not isinstance(holidays, list):
        raise InvalidTypeError(f"'holidays' must be an array of dates (got {_describe(holidays)})")
    rules = data.get("holiday_rules", [])
    if not isinstance(rules, list) or not all(isinstance(r, str) for r in rules):
        raise InvalidTypeError(
            f"'holiday_rules' must be an array of RRULE strings (got {_describe(rules)})"
        )
    overrides = data.get("overrides", {})
    if not isinstance(overrides, dict):
        raise InvalidTypeError(
            f"'overrides' must be an object of dates (got {_describe(overrides)})"
        )
    for name, value in (("hours", hours or {}), ("overrides", overrides)):
        for key, day in value.items():
            if not isinstance(day, list) or not all(isinstance(iv, str) for iv in day):
                raise InvalidTypeError(
                    f"'{name}' entry {describe(key)} must be an array of \"HH:MM-HH:MM\" strings "
                    f"(got {_describe(day)})"
                )
    tz = data["tz"]
    if not isinstance(tz, str):
        raise InvalidTypeError(f"'tz' must be an IANA zone name (got {_describe(tz)})")
    load_zone(tz, field="tz")
    return BusinessCalendar(
        tz,
        hours=hours,
        holidays=[_parse_date(d, "holidays") for d in holidays],
        holiday_rules=list(rules),
        overrides={_parse_date(k, "overrides"): v for k, v in overrides.items()},
    )


def _register_builtins() -> None:
    global _BUILTINS_DONE
    if _BUILTINS_DONE:
        return
    _BUILTINS_DONE = True
    from promisekit.calendar import BusinessCalendar
    from promisekit.delivery import Delivery, Outcome, Shortfall
    from promisekit.ledger import IgnoredEvent, PausedInterval, PromiseState
    from promisekit.promise import Promise, Revision, Terms

    for cls, name in (
        (Terms, "terms"),
        (Revision, "revision"),
        (Promise, "promise"),
        (Delivery, "delivery"),
        (Shortfall, "shortfall"),
        (Outcome, "outcome"),
        (PausedInterval, "paused_interval"),
        (IgnoredEvent, "ignored_event"),
        (PromiseState, "promise_state"),
    ):
        register_type(cls, name)
    for name, event_cls in EVENT_TYPES.items():
        register_type(event_cls, name, base=Event)
    register_type(
        BusinessCalendar,
        "calendar",
        unstructure=_calendar_to_dict,
        structure=_calendar_from_dict,
        fields=("tz", "hours", "holidays", "holiday_rules", "overrides"),
    )


# =========================================================================== documents


def _missing(field: str) -> InvalidValueError:
    return InvalidValueError(f"missing required field {field!r}")


_FIELD_TYPES: dict[type[Any], list[tuple[str, Any, bool]]] = {}


def _field_types(cls: type[Any]) -> list[tuple[str, Any, bool]]:
    """(name, resolved type, required) of the init fields of an attrs class."""
    cached = _FIELD_TYPES.get(cls)
    if cached is None:
        attrs.resolve_types(cls)
        cached = [
            (f.name, f.type, f.default is attrs.NOTHING)
            for f in attrs.fields(cls)
            if f.init and not f.name.startswith("_")
        ]
        _FIELD_TYPES[cls] = cached
    return cached


@attrs.frozen
class _Plan:
    """What :func:`_check_shape` checks for one attrs class."""

    known: frozenset[str]
    required: tuple[str, ...]
    nested: tuple[tuple[str, Any], ...]  # fields whose values have a shape to check


_PLANS: dict[type[Any], _Plan] = {}
_SCALARS = (str, int, float, bool, Decimal, datetime, timedelta, date)


def _needs_shape(tp: Any) -> bool:
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        return any(_needs_shape(arg) for arg in typing.get_args(tp) if arg is not type(None))
    if origin is not None:
        return not _is_str_mapping(tp)
    return not (tp in _SCALARS or _is_enum(tp) or tp is Any)


def _plan(spec: _Spec) -> _Plan:
    plan = _PLANS.get(spec.cls)
    if plan is None:
        fields = _field_types(spec.cls)
        known = {name for name, _, _ in fields} | ({"type"} if spec.base is not None else set())
        plan = _Plan(
            known=frozenset(known),
            required=tuple(name for name, _, required in fields if required),
            nested=tuple((name, tp) for name, tp, _ in fields if _needs_shape(tp)),
        )
        _PLANS[spec.cls] = plan
    return plan


def _check_shape(tp: Any, data: Any, path: str, extra: dict[str, Any] | None) -> None:
    """Check objects, arrays, unknown and missing keys before cattrs builds the values."""
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        if data is None:
            return
        options = [arg for arg in typing.get_args(tp) if arg is not type(None)]
        if len(options) == 1:
            _check_shape(options[0], data, path, extra)
        return
    if origin in (tuple, list, collections.abc.Sequence):
        if not isinstance(data, list):
            raise SchemaError(f"expected an array (got {_describe(data)})", path=path)
        args = typing.get_args(tp)
        for index, item in enumerate(data):
            _check_shape(args[0], item, f"{path}[{index}]", extra)
        return
    if not isinstance(tp, type):
        return
    if tp in _BASES:
        name = data.get("type") if isinstance(data, dict) else None
        kind = _BASES[tp].get(name) if isinstance(name, str) else None
        if kind is None:
            names = ", ".join(repr(k) for k in sorted(_BASES[tp]))
            got = f"type {_describe(name)}" if isinstance(data, dict) else _describe(data)
            raise SchemaError(
                f"expected an object with 'type' one of {names} (got {got})", path=path
            )
        tp = kind
    spec = _BY_CLASS.get(tp)
    if spec is None:
        return
    if not isinstance(data, dict):
        raise SchemaError(f"expected an object (got {_describe(data)})", path=path)
    if spec.structure is not None:
        if spec.fields is not None:
            _unknown_keys(data, spec.fields | ({"type"} if spec.base else set()), path, extra)
        return
    if spec.base is not None and data.get("type") != spec.name:
        raise SchemaError(
            f"expected 'type' {spec.name!r} (got {_describe(data.get('type'))})", path=path
        )
    plan = _plan(spec)
    if not plan.known.issuperset(data):
        _unknown_keys(data, plan.known, path, extra)
    for name in plan.required:
        if name not in data:
            raise SchemaError(f"missing required field {name!r}", path=path)
    for name, field_tp in plan.nested:
        if name in data:
            _check_shape(field_tp, data[name], f"{path}.{name}", extra)


def _unknown_keys(
    data: dict[str, Any], known: Collection[str], path: str, extra: dict[str, Any] | None
) -> None:
    for key in data:
        if key in known:
            continue
        if extra is None:
            raise SchemaError(
                f"unknown field {describe(key)} (expected only {', '.join(sorted(known))}); "
                f"pass unknown='keep' to accept and keep unknown fields",
                path=path,
            )
        extra[f"{path}.{key}"] = data[key]


def _leaves(exc: BaseException, path: str) -> Iterator[tuple[str, BaseException]]:
    from cattrs.errors import (
        BaseValidationError,
        ClassValidationError,
        IterableValidationError,
    )

    if isinstance(exc, ClassValidationError):
        with_names, others = exc.group_exceptions()
        for sub, name_note in with_names:
            yield from _leaves(sub, f"{path}.{name_note.name}")
        for sub in others:
            yield from _leaves(sub, path)
    elif isinstance(exc, IterableValidationError):
        with_index, rest = exc.group_exceptions()
        for sub, index_note in with_index:
            yield from _leaves(sub, f"{path}[{index_note.index}]")
        for sub in rest:
            yield from _leaves(sub, path)
    elif isinstance(exc, BaseValidationError):
        for sub in exc.exceptions:
            yield from _leaves(sub, path)
    else:
        yield path, exc


def _leaf_message(path: str, leaf: BaseException) -> str:
    """The message of a leaf error, naming the field rather than the hooks' ``'value'``."""
    if not isinstance(leaf, PromiseKitError):
        return f"{type(leaf).__name__}: {leaf}"
    text = str(leaf)
    name = re.search(r"\.([A-Za-z_][A-Za-z0-9_]*)(?:\[[0-9]+\])*$", path)
    if name is not None and text.startswith("'value' "):
        text = f"{name[1]!r} {text[8:]}"
    elif text.startswith("expected ") and name is not None:
        text = f"{name[1]!r}: {text}"
    return text


def _schema_error(exc: BaseException) -> SchemaError:
    leaves = list(_leaves(exc, "$"))
    if not leaves:  # pragma: no cover - cattrs groups are never empty
        return SchemaError(str(exc))
    messages = [f"{path}: {_leaf_message(path, leaf)}" for path, leaf in leaves]
    path, first = leaves[0]
    error = SchemaError(_leaf_message(path, first), path=path, errors=messages)
    error.__cause__ = first
    return error


@attrs.frozen
class Decoded(Generic[T]):
    """A value read with ``unknown="keep"``, with what promisekit did not understand.

    Attributes:
        value: The value.
        extra: The unknown fields, by JSON path (``{"$.terms.colour": "red"}``).
        schema: The document's schema version string (``"promisekit/1"``, or a newer
            one that was accepted).

    .. versionadded:: 0.1.0
    """

    value: T
    extra: Mapping[str, Any]
    schema: str


def _check_keep(unknown: object) -> bool:
    if unknown not in ("error", "keep"):
        raise InvalidValueError(f"'unknown' must be 'error' or 'keep' (got {describe(unknown)})")
    return unknown == "keep"


def _check_schema(data: dict[str, Any], keep: bool) -> str:
    if "schema" not in data:
        raise SchemaError(
            f"missing 'schema' (expected {SCHEMA!r}); every promisekit document carries it"
        )
    schema = data["schema"]
    match = _SCHEMA_RE.fullmatch(schema) if isinstance(schema, str) else None
    if match is None:
        raise SchemaError(f"'schema' must be {SCHEMA!r} (got {_describe(schema)})", path="$.schema")
    version = int(match[1])
    if version < 1 or (version > SCHEMA_VERSION and not keep):
        newer = " (a newer version)" if version > SCHEMA_VERSION else ""
        raise SchemaError(
            f"unsupported schema version {describe(schema)}{newer}: this promisekit reads up to "
            f"{SCHEMA!r}; upgrade promisekit, or pass unknown='keep' to read it best-effort",
            path="$.schema",
        )
    return str(schema)


def _target(data: dict[str, Any], cls: type[Any]) -> _Spec:
    if "type" not in data:
        raise SchemaError("missing 'type' (the document type, such as 'promise_made')")
    name = data["type"]
    spec = _spec_for_name(name) if isinstance(name, str) else None
    if spec is None:
        raise SchemaError(
            f"unknown document type {_describe(name)} (expected one of "
            f"{', '.join(sorted(_BY_NAME))})",
            path="$.type",
        )
    if spec.cls is not cls and not (isinstance(cls, type) and cls in _BASES and spec.base is cls):
        expected = _BY_CLASS.get(cls)
        wanted = (
            f"a {expected.name!r} document"
            if expected is not None
            else "a document of type one of "
            + ", ".join(repr(n) for n in sorted(_BASES.get(cls, {})))
        )
        raise SchemaError(
            f"expected {wanted} for {cls.__name__} (got type {describe(name)})", path="$.type"
        )
    return spec


@overload
def from_dict(data: Mapping[str, Any], cls: type[T], *, unknown: Literal["error"] = ...) -> T: ...


@overload
def from_dict(data: Mapping[str, Any], cls: type[T], *, unknown: Literal["keep"]) -> Decoded[T]: ...


def from_dict(
    data: Mapping[str, Any], cls: type[T], *, unknown: Literal["error", "keep"] = "error"
) -> T | Decoded[T]:
    """Read a value from a document (a dict as :func:`to_dict` writes it).

    Args:
        data: The document: ``{"schema": "promisekit/1", "type": ..., <fields>}``.
        cls: The class expected: a registered class (:class:`~promisekit.promise.Promise`,
            :class:`~promisekit.ledger.PromiseMade`…) or a registered base
            (:class:`~promisekit.ledger.Event` accepts every event type).
        unknown: ``"error"`` (default) to refuse unknown fields and newer schema
            versions; ``"keep"`` to accept them and return a :class:`Decoded`.

    Returns:
        The value (a :class:`Decoded` with ``unknown="keep"``).

    Raises:
        SchemaError: The document is malformed (the message names the JSON path, what
            was expected and what was received).
        InvalidTypeError: ``cls`` is not a registered class.

    .. versionadded:: 0.1.0
    """
    keep = _check_keep(unknown)
    get_converter()
    if isinstance(cls, type) and _spec_for_class(cls) is None and cls not in _BASES:
        _load_providers()
    if not isinstance(cls, type) or (_spec_for_class(cls) is None and cls not in _BASES):
        raise InvalidTypeError(
            f"'cls' must be a registered document class such as Promise or Event "
            f"(got {describe(cls)}); see register_type"
        )
    if not isinstance(data, Mapping):
        raise SchemaError(f"expected a document object (got {_describe(data)})")
    doc = dict(data)
    schema = _check_schema(doc, keep)
    spec = _target(doc, cls)
    body = {k: v for k, v in doc.items() if k != "schema" and (k != "type" or spec.base)}
    extra: dict[str, Any] | None = {} if keep else None
    value = _structure(body, spec, extra)
    if keep:
        return Decoded(value=value, extra=extra or {}, schema=schema)
    return value  # type: ignore[no-any-return]


def _structure(body: dict[str, Any], spec: _Spec, extra: dict[str, Any] | None) -> Any:
    from cattrs.errors import BaseValidationError

    try:
        _check_shape(spec.cls, body, "$", extra)
        return get_converter().structure(body, spec.cls)
    except SchemaError:
        raise
    except BaseValidationError as exc:
        error = _schema_error(exc)
        raise error from error.__cause__
    except PromiseKitError as exc:
        raise SchemaError(str(exc)) from exc
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError, RecursionError) as exc:
        raise SchemaError(f"{type(exc).__name__}: {exc}") from exc


def to_dict(value: object) -> dict[str, Any]:
    """Write a value as a document: a JSON-ready dict with ``"schema"`` and ``"type"``.

    Args:
        value: An instance of a registered class.

    Returns:
        ``{"schema": "promisekit/1", "type": <name>, <fields>}``.

    Raises:
        InvalidTypeError: The class is not registered, or a datetime has a ``tzinfo``
            that cannot be written exactly.
        SchemaError: A value cannot be written (a string that is not valid Unicode).

    .. versionadded:: 0.1.0
    """
    conv = get_converter()
    spec = _spec_for_class(type(value))
    if spec is None:
        raise InvalidTypeError(
            f"'value' must be an instance of a registered class (got {type(value).__name__}); "
            f"see register_type"
        )
    body = conv.unstructure(value, spec.cls)
    if spec.base is not None:
        body.pop("type", None)
    return {"schema": SCHEMA, "type": spec.name, **body}


def to_json(value: object, *, indent: int | None = None) -> str:
    """Write a value as a JSON document (UTF-8-safe text, no NaN or infinity literals).

    Args:
        value: An instance of a registered class.
        indent: Indentation for humans, or ``None`` for compact text.

    Returns:
        The JSON text.

    Raises:
        InvalidTypeError: As :func:`to_dict`.
        SchemaError: A string is not valid Unicode.

    .. versionadded:: 0.1.0
    """
    document = to_dict(value)
    separators = (",", ":") if indent is None else (",", ": ")
    text = json.dumps(
        document, ensure_ascii=False, allow_nan=False, indent=indent, separators=separators
    )
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise SchemaError(
                f"cannot write a string that is not valid Unicode (a lone surrogate near "
                f"{describe(text[max(exc.start - 20, 0) : exc.end + 5])})"
            ) from None
    return text


def _loads(text: str | bytes | bytearray) -> Any:
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SchemaError(
                f"the document is not valid UTF-8 (byte {exc.start}: {exc.reason})"
            ) from None
    if not isinstance(text, str):
        raise InvalidTypeError(
            f"'text' must be JSON text (str or bytes) (got {type(text).__name__} {describe(text)})"
        )
    try:
        return _json.decode(text)
    except PromiseKitError as exc:  # not JSON, a repeated key, too deep
        raise SchemaError(str(exc)) from None


@overload
def from_json(
    text: str | bytes | bytearray, cls: type[T], *, unknown: Literal["error"] = ...
) -> T: ...


@overload
def from_json(
    text: str | bytes | bytearray, cls: type[T], *, unknown: Literal["keep"]
) -> Decoded[T]: ...


def from_json(
    text: str | bytes | bytearray, cls: type[T], *, unknown: Literal["error", "keep"] = "error"
) -> T | Decoded[T]:
    """Read a value from a JSON document (see :func:`from_dict`).

    Args:
        text: JSON text, or UTF-8 bytes.
        cls: The class expected (or a base such as :class:`~promisekit.ledger.Event`).
        unknown: ``"error"`` or ``"keep"``, as for :func:`from_dict`.

    Returns:
        The value (a :class:`Decoded` with ``unknown="keep"``).

    Raises:
        SchemaError: The text is not JSON, not valid UTF-8, or not a valid document.
        InvalidTypeError: ``text`` is not text, or ``cls`` is not registered.

    .. versionadded:: 0.1.0
    """
    keep = _check_keep(unknown)
    data = _loads(text)
    if not isinstance(data, dict):
        raise SchemaError(f"expected a document object (got {_describe(data)})")
    if keep:
        return from_dict(data, cls, unknown="keep")
    return from_dict(data, cls)


# =========================================================================== JSON Schema

_JSON_SCHEMA_ID = "https://promisekit.invalid/schema/promisekit-1/events.schema.json"
_NON_BLANK = {"type": "string", "pattern": r"\S"}
_DATETIME_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})(\[!?[A-Za-z0-9_+\-/]+\])?$"
)
# Non-negative decimals (every decimal of an event is a cost); "-0" is zero.
_DECIMAL_PATTERN = r"^([+]?|-(?=[0.]+([eE]|$)))([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]{1,18})?$"
_FIELD_NOTES: dict[str, dict[str, Any]] = {
    "quantity": {"minimum": 0},
    "level": {"minimum": 0},
    "revision": {"minimum": 0},
}


def _type_schema(tp: Any, name: str, defs: dict[str, Any]) -> dict[str, Any]:
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        options = [arg for arg in typing.get_args(tp) if arg is not type(None)]
        inner = [_type_schema(arg, name, defs) for arg in options]
        return {"anyOf": [*inner, {"type": "null"}]}
    if _is_str_mapping(tp):
        return {"type": "object", "additionalProperties": {"type": "string"}}
    if tp is str:
        return dict(_NON_BLANK)
    if tp is datetime:
        return {
            "type": "string",
            "pattern": _DATETIME_PATTERN,
            "description": "RFC 3339 timestamp with its UTC offset, optionally followed by "
            "an RFC 9557 zone such as [America/Toronto]",
        }
    if tp is Decimal:
        return {
            "type": "string",
            "pattern": _DECIMAL_PATTERN,
            "description": 'a non-negative decimal number written as a string, such as "19.99"',
        }
    if tp is float:
        return {"type": "number", **_FIELD_NOTES.get(name, {})}
    if tp is int:
        return {"type": "integer", **_FIELD_NOTES.get(name, {})}
    if attrs.has(tp):
        title = tp.__name__
        if title not in defs:
            defs[title] = {}
            defs[title] = _object_schema(tp, defs, envelope=None)
        return {"$ref": f"#/$defs/{title}"}
    raise InvalidTypeError(
        f"no JSON Schema for field {name!r} of type {describe(tp)}"
    )  # pragma: no cover


def _summary(cls: type[Any]) -> str:
    doc = (cls.__doc__ or "").strip()
    return doc.split("\n\n")[0].replace("\n", " ").strip()


def _object_schema(cls: type[Any], defs: dict[str, Any], *, envelope: str | None) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required: list[str] = []
    if envelope is not None:
        properties["schema"] = {"const": SCHEMA}
        properties["type"] = {"const": envelope}
        required += ["schema", "type"]
    for name, tp, needed in _field_types(cls):
        properties[name] = _type_schema(tp, name, defs)
        if needed:
            required.append(name)
    schema: dict[str, Any] = {
        "type": "object",
        "description": _summary(cls),
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
    dependent = {
        field: [needs]
        for field, needs in (("unit", "quantity"), ("currency", "max_cost"))
        if field in properties and needs in properties
    }
    if dependent:
        schema["dependentRequired"] = dependent
    return schema


def event_json_schema() -> dict[str, Any]:
    """A JSON Schema (draft 2020-12) of the ledger event documents.

    It checks the shape of a document (fields, types, formats, the ``schema`` and
    ``type`` keys); rules across fields (``due`` not before ``at``…) are checked when
    the document is read. The same schema is committed as
    ``docs/schema/events.schema.json``.

    Returns:
        The schema, a JSON-ready dict.

    .. versionadded:: 0.1.0
    """
    defs: dict[str, Any] = {}
    names = []
    for name, cls in EVENT_TYPES.items():
        defs[name] = _object_schema(cls, defs, envelope=name)
        names.append(name)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": _JSON_SCHEMA_ID,
        "title": f"promisekit event document ({SCHEMA})",
        "description": (
            "One event of a promise's lifecycle, as read by promisekit.serialize.from_json"
            "(text, Event). Timestamps carry their UTC offset (naive ones are refused); "
            "decimals are strings."
        ),
        "oneOf": [{"$ref": f"#/$defs/{name}"} for name in names],
        "$defs": dict(sorted(defs.items())),
    }
