"""The JSON Schema (draft 2020-12) of the ledger event documents.

Private to :mod:`promisekit.serialize`, which re-exports :func:`event_json_schema`.
"""

from __future__ import annotations

import types
import typing
from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs

from promisekit._ledger_document import MAX_DEPTH
from promisekit._serialize_registry import (
    SCHEMA,
    _field_types,
    _is_json_object,
    _is_str_mapping,
)
from promisekit._validation import describe
from promisekit.errors import (
    InvalidTypeError,
)
from promisekit.ledger import EVENT_TYPES

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
    "occurrence": {"minimum": 1},
    "attempt": {"minimum": 1},
}


def _type_schema(tp: Any, name: str, defs: dict[str, Any]) -> dict[str, Any]:
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        options = [arg for arg in typing.get_args(tp) if arg is not type(None)]
        inner = [_type_schema(arg, name, defs) for arg in options]
        return {"anyOf": [*inner, {"type": "null"}]}
    if _is_str_mapping(tp):
        return {"type": "object", "additionalProperties": {"type": "string"}}
    if _is_json_object(tp):
        return {
            "type": "object",
            "description": f"any JSON object (finite numbers, nested at most {MAX_DEPTH} deep)",
        }
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
