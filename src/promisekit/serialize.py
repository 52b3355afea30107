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
for CRM developers in other languages (also in ``docs/schema/events.schema.json``);
:func:`value_json_schema` those of the escalation and buffering values
(``docs/schema/escalation.schema.json``, ``docs/schema/buffering.schema.json``).

cattrs is imported when the converter is first needed, not when this module is.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import sys
from collections.abc import Mapping
from typing import Any, Generic, Literal, overload

import attrs

from promisekit import _json
from promisekit._serialize_codecs import (
    _describe,
    format_datetime,
    format_decimal,
    format_duration,
    parse_datetime,
    parse_decimal,
    parse_duration,
)
from promisekit._serialize_registry import (
    _BASES,
    _BY_CLASS,
    _BY_NAME,
    _LOCK,
    SCHEMA,
    SCHEMA_VERSION,
    SchemaError,
    T,
    _Spec,
    get_converter,
    register_type,
)
from promisekit._serialize_schema import event_json_schema
from promisekit._serialize_shape import _check_shape, _schema_error
from promisekit._validation import describe
from promisekit.errors import (
    InvalidTypeError,
    InvalidValueError,
    PromiseKitError,
)

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
    "value_json_schema",
]

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
_PROVIDERS_DONE: set[str] = set()
# The JSON forms of packages that must not import this module live here, beside it: the
# provider's own module is imported first, then this module's _register_serialization.
_BUILTIN_FORMS = {
    "promisekit.buffering": "promisekit._serialize_buffering",
    "promisekit.escalation": "promisekit._serialize_escalation",
}


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
        forms = _BUILTIN_FORMS.get(name)
        if forms is not None:
            importlib.import_module(forms)._register_serialization(register_type)


def value_json_schema(family: Literal["escalation", "buffering"]) -> dict[str, Any]:
    """A JSON Schema (draft 2020-12) of the documents of ``promisekit.<family>`` values.

    ``"escalation"``: escalations with their actions, notices, memories, evaluations,
    grants, tracked promises and their events, policies and rules. ``"buffering"``:
    quotes, capabilities and buffer policies. Like :func:`event_json_schema`, it checks
    the shape of a document; rules across fields are checked when it is read. Committed
    as ``docs/schema/<family>.schema.json``.

    Raises:
        InvalidValueError: ``family`` is not one of those.

    .. versionadded:: 0.1.0
    """
    from promisekit._serialize_value_schema import value_json_schema as build

    get_converter()
    # Both: an escalation document nests capabilities (in a CapabilityProposer).
    _load_providers("promisekit.buffering")
    _load_providers("promisekit.escalation")
    prefix = f"promisekit.{family}."
    with _LOCK:
        documents = {
            name: spec.cls
            for name, spec in _BY_NAME.items()
            if isinstance(family, str) and spec.cls.__module__.startswith(prefix)
        }
    return build(family, documents)


def _spec_for_class(cls: type[Any]) -> _Spec | None:
    spec = _BY_CLASS.get(cls)
    if spec is None:
        # The class's module and every package above it: a class defined in
        # promisekit.buffering._capability._point is provided by promisekit.buffering.
        parts = cls.__module__.split(".")
        for end in range(len(parts), 0, -1):
            _load_providers(".".join(parts[:end]))
        spec = _BY_CLASS.get(cls)
    return spec


def _spec_for_name(name: str) -> _Spec | None:
    spec = _BY_NAME.get(name)
    if spec is None:
        _load_providers()
        spec = _BY_NAME.get(name)
    return spec


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
