"""The registry of document types and the shared cattrs converter.

Private to :mod:`promisekit.serialize`, which re-exports :class:`SchemaError`,
:func:`register_type`, :func:`get_converter` and the schema constants. The lazy
providers (:data:`promisekit.serialize.PROVIDERS`) are asked from the facade, which
owns that list.
"""

from __future__ import annotations

import collections.abc
import enum
import re
import threading
import typing
from collections.abc import Callable, Collection
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from promisekit._ledger_document import thaw
from promisekit._serialize_codecs import (
    _describe,
    _parse_date,
    format_datetime,
    format_decimal,
    format_duration,
    parse_datetime,
    parse_decimal,
    parse_duration,
)
from promisekit._validation import describe, load_zone
from promisekit.calendar import BusinessCalendar
from promisekit.delivery import Delivery, Outcome, Shortfall
from promisekit.errors import (
    InvalidTypeError,
    InvalidValueError,
    MissingDependencyError,
)
from promisekit.ledger import EVENT_TYPES, Event, IgnoredEvent, PausedInterval, PromiseState
from promisekit.promise import Promise, Revision, Terms

if TYPE_CHECKING:
    import cattrs

T = TypeVar("T")

#: The schema version this promisekit writes (and the newest it reads).
#:
#: .. versionadded:: 0.1.0
SCHEMA_VERSION = 1

#: The value of the ``"schema"`` key of every document written.
#:
#: .. versionadded:: 0.1.0
SCHEMA = f"promisekit/{SCHEMA_VERSION}"
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
        #: The message without its path (for errors re-rooted under another path).
        self.message = message
        text = message if path is None else f"{path}: {message}"
        self.errors: tuple[str, ...] = tuple(errors) or (text,)
        super().__init__(text)


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


def _is_json_object(tp: Any) -> bool:
    """``Mapping[str, Any]``: a JSON object held as is (the class's converter checks it)."""
    return typing.get_origin(tp) in (collections.abc.Mapping, dict) and typing.get_args(tp) == (
        str,
        Any,
    )


def _structure_json_object(value: object, _: object = None) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidTypeError(f"expected a JSON object (got {_describe(value)})")
    return value


def _is_enum(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, enum.Enum)


def _is_fixed_tuple(tp: Any) -> bool:
    args = typing.get_args(tp)
    return typing.get_origin(tp) is tuple and bool(args) and args[-1] is not Ellipsis


def _fixed_tuple_writer(tp: Any, conv: cattrs.Converter) -> Callable[[Any], list[Any]]:
    """Write a fixed-length tuple (``tuple[str, int]``) as a JSON array, not a tuple."""
    hooks = [conv.get_unstructure_hook(arg) for arg in typing.get_args(tp)]

    def write(value: Any) -> list[Any]:
        return [hook(item) for hook, item in zip(hooks, value, strict=True)]

    return write


def _is_literal(tp: Any) -> bool:
    return typing.get_origin(tp) is typing.Literal


def _structure_literal(value: object, tp: Any) -> Any:
    allowed = typing.get_args(tp)
    for option in allowed:
        if type(option) is type(value) and option == value:
            return option
    raise InvalidValueError(
        f"expected one of {', '.join(repr(v) for v in allowed)} (got {_describe(value)})"
    )


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
    conv.register_structure_hook_func(_is_literal, _structure_literal)
    conv.register_unstructure_hook_factory(_is_fixed_tuple, _fixed_tuple_writer)
    conv.register_unstructure_hook_func(
        _is_str_mapping, lambda mapping: dict(sorted(mapping.items()))
    )
    conv.register_structure_hook_func(_is_json_object, _structure_json_object)
    conv.register_unstructure_hook_func(_is_json_object, thaw)
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
    if base is not None and _hook_of(conv, base) is not _dispatch:
        conv.register_structure_hook(base, _dispatch)
        conv.register_unstructure_hook(base, lambda obj: conv.unstructure(obj, type(obj)))


def _hook_of(conv: cattrs.Converter, base: type[Any]) -> Any:
    """The structure hook of ``base``, or ``None`` (a base that is not an attrs class)."""
    from cattrs.errors import StructureHandlerNotFoundError

    try:
        return conv.get_structure_hook(base, cache_result=False)
    except StructureHandlerNotFoundError:
        return None


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
