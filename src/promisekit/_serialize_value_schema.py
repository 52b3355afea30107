"""JSON Schemas (draft 2020-12) of the escalation and buffering documents.

Private to :mod:`promisekit.serialize`, which re-exports :func:`value_json_schema`. The
attrs records are described from their fields; the values with custom hooks (actions that
hold code, policies in the policy-file form, sample data…) by the hand-written schemas
below, kept next to the hooks' field lists.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from promisekit._serialize_registry import (
    _BASES,
    _BY_CLASS,
    SCHEMA,
    _field_types,
    _is_str_mapping,
)
from promisekit._serialize_schema import _DATETIME_PATTERN, _DECIMAL_PATTERN, _summary
from promisekit._validation import describe
from promisekit.errors import InvalidTypeError, InvalidValueError

_FAMILIES = ("escalation", "buffering")
_ID = "https://promisekit.invalid/schema/promisekit-1/{}.schema.json"
_STRING = {"type": "string", "pattern": r"\S"}
_DURATION = {
    "type": "string",
    "pattern": r"^-?P(?!$)([0-9]+D)?(T(?=[0-9.])([0-9]+H)?([0-9]+M)?([0-9]+(\.[0-9]{1,6})?S)?)?$",
    "description": 'an ISO 8601 duration in days, hours, minutes and seconds ("PT1H30M")',
}
_DATETIME = {"type": "string", "pattern": _DATETIME_PATTERN}
_DECIMAL = {"type": "string", "pattern": _DECIMAL_PATTERN}
_DATE = {"type": "string", "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
_TYPED = {"$ref": "#/$defs/typed_value"}
_TYPED_VALUE = {
    "type": "object",
    "description": "A value held by another (code such as a revision proposer): a registered "
    "value's fields with its document type in 'type', or, for code that is not a registered "
    "value, {'type': 'opaque', 'class': ..., 'parameters': ...} (written, never read back).",
    "properties": {"type": _STRING},
    "required": ["type"],
}


def _obj(
    properties: dict[str, Any], required: tuple[str, ...] = (), description: str = ""
) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object"}
    if description:
        out["description"] = description
    out.update(properties=properties, required=list(required), additionalProperties=False)
    return out


class _Context:
    def __init__(self) -> None:
        self.defs: dict[str, Any] = {"typed_value": _TYPED_VALUE}

    def ref(self, cls: type[Any]) -> dict[str, Any]:
        """A reference to the schema of a registered class (or of every kind of a base)."""
        if cls in _BASES:
            return {"oneOf": [self.ref(kind) for _, kind in sorted(_BASES[cls].items())]}
        spec = _BY_CLASS.get(cls)
        if spec is None:
            raise InvalidTypeError(f"no JSON Schema for {describe(cls)}")  # pragma: no cover
        if spec.name not in self.defs:
            self.defs[spec.name] = {}
            custom = _CUSTOM.get(spec.name)
            schema = custom(self) if custom is not None else self.fields(cls)
            if spec.base is not None or custom is None:
                schema["description"] = _summary(cls)
            if spec.base is not None:
                schema["properties"] = {"type": {"const": spec.name}, **schema["properties"]}
                schema["required"] = ["type", *schema["required"]]
            self.defs[spec.name] = schema
        return {"$ref": f"#/$defs/{spec.name}"}

    def fields(self, cls: type[Any]) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        required: list[str] = []
        for name, tp, needed in _field_types(cls):
            properties[name] = self.of(tp)
            if needed:
                required.append(name)
        return _obj(properties, tuple(required))

    def of(self, tp: Any) -> dict[str, Any]:
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin is typing.Union or origin is types.UnionType:
            options = [self.of(arg) for arg in args if arg is not type(None)]
            if type(None) in args:
                options.append({"type": "null"})
            return options[0] if len(options) == 1 else {"anyOf": options}
        if origin is typing.Literal:
            return {"enum": list(args)}
        if _is_str_mapping(tp):
            return {"type": "object", "additionalProperties": {"type": "string"}}
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": self.of(args[0])}
        if origin is tuple:
            items = [self.of(arg) for arg in args]
            return {"type": "array", "prefixItems": items, "minItems": len(items), "items": False}
        simple: dict[Any, dict[str, Any]] = {
            str: {"type": "string"},
            bool: {"type": "boolean"},
            int: {"type": "integer"},
            float: {"type": "number"},
            datetime: _DATETIME,
            Decimal: _DECIMAL,
            timedelta: _DURATION,
            date: _DATE,
        }
        if tp in simple:
            return dict(simple[tp])
        if isinstance(tp, type) and (tp in _BY_CLASS or tp in _BASES):
            return self.ref(tp)
        raise InvalidTypeError(f"no JSON Schema for {describe(tp)}")  # pragma: no cover


# --------------------------------------------------------------------------- custom forms


def _calendar(ctx: _Context) -> dict[str, Any]:
    day = {"type": "array", "items": {"type": "string", "pattern": r"^[0-9:]+-[0-9:]+$"}}
    return _obj(
        {
            "tz": _STRING,
            "hours": {"type": "object", "additionalProperties": day},
            "holidays": {"type": "array", "items": _DATE},
            "holiday_rules": {"type": "array", "items": {"type": "string"}},
            "overrides": {"type": "object", "additionalProperties": day},
        },
        ("tz",),
        "A business calendar: IANA zone, opening hours by day, holidays and overrides.",
    )


def _rule_table(*, extra: dict[str, Any]) -> dict[str, Any]:
    return _obj(
        {
            "name": _STRING,
            "when": _STRING,
            "do": {"anyOf": [_STRING, {"type": "array", "items": _STRING, "minItems": 1}]},
            "level": {"type": "integer", "minimum": 1, "maximum": 1000},
            "every": _STRING,
            "limit": {"type": "integer", "minimum": 1},
            "description": _STRING,
            **extra,
        },
        ("name", "when", "do"),
    )


_COMPENSATION = _obj(
    {
        "per_promise": {"anyOf": [_DECIMAL, {"type": "number", "minimum": 0}]},
        "per_customer": {"anyOf": [_DECIMAL, {"type": "number", "minimum": 0}]},
        "per_period": {"anyOf": [_DECIMAL, {"type": "number", "minimum": 0}]},
        "period": _STRING,
        "currency": _STRING,
    }
)
_BINDINGS = {
    "type": "object",
    "properties": dict.fromkeys(
        ("capability", "predictor", "proposer", "compensation_policy"), _TYPED
    ),
    "additionalProperties": False,
}


def _policy(ctx: _Context) -> dict[str, Any]:
    return _obj(
        {
            "name": _STRING,
            "description": _STRING,
            "compensation": _COMPENSATION,
            "bindings": _BINDINGS,
            "rules": {
                "type": "array",
                "minItems": 1,
                "items": _rule_table(extra={}),
            },
        },
        ("rules",),
        "An escalation policy in the policy-file form (the TOML tables as JSON), with the "
        "objects it binds by role as typed values.",
    )


def _rule(ctx: _Context) -> dict[str, Any]:
    schema = _rule_table(extra={"compensation": _COMPENSATION, "bindings": _BINDINGS})
    schema["description"] = "One escalation rule in the policy-file form."
    return schema


def _capability_proposer(ctx: _Context) -> dict[str, Any]:
    from promisekit.buffering import Capability

    capability = {"anyOf": [ctx.ref(Capability), _TYPED]}
    return _obj(
        {
            "type": {"const": "capability_proposer"},
            "capability": capability,
            "confidence": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
            "round_up_to": {"anyOf": [_DURATION, {"type": "null"}]},
        },
        ("capability",),
        "A revision proposer: now plus the residual quantile of a capability.",
    )


def _escalate_to(ctx: _Context) -> dict[str, Any]:
    return _obj({"to": {"anyOf": [_STRING, {"type": "integer", "minimum": 1}]}}, ("to",))


def _propose_revision(ctx: _Context) -> dict[str, Any]:
    return _obj({"proposer": _TYPED})


def _compensate(ctx: _Context) -> dict[str, Any]:
    return _obj(
        {
            "amount": {"anyOf": [_DECIMAL, _TYPED]},
            "currency": _STRING,
            "per_promise": _DECIMAL,
            "per_customer": _DECIMAL,
            "per_period": _DECIMAL,
            "period": _DURATION,
        },
        ("amount",),
    )


def _empirical(ctx: _Context) -> dict[str, Any]:
    return _obj(
        {
            "durations_us": {
                "type": "array",
                "minItems": 1,
                "items": {"type": "integer", "minimum": 0},
                "description": "past durations in integer microseconds, sorted",
            },
            "label": _STRING,
        },
        ("durations_us",),
    )


def _group(minimum: int) -> Callable[[_Context], dict[str, Any]]:
    def schema(ctx: _Context) -> dict[str, Any]:
        from promisekit.buffering import BufferPolicy

        items = {"type": "array", "minItems": minimum, "items": ctx.ref(BufferPolicy)}
        return _obj({"policies": items}, ("policies",))

    return schema


def _optimal(ctx: _Context) -> dict[str, Any]:
    return _obj(
        {
            "satisfaction": _TYPED,
            "quote_cost": {"type": "number", "minimum": 0},
            "cost_unit": _DURATION,
            "points": {"type": "integer", "minimum": 10},
        },
        ("satisfaction",),
    )


_CUSTOM: dict[str, Callable[[_Context], dict[str, Any]]] = {
    "calendar": _calendar,
    "escalation_policy": _policy,
    "escalation_rule": _rule,
    "capability_proposer": _capability_proposer,
    "escalate_to": _escalate_to,
    "propose_revision": _propose_revision,
    "compensate": _compensate,
    "empirical_capability": _empirical,
    "chain": _group(0),
    "later": _group(1),
    "optimal_buffer": _optimal,
}


def value_json_schema(family: str, documents: dict[str, type[Any]]) -> dict[str, Any]:
    """The JSON Schema of the documents of a family (``"escalation"``, ``"buffering"``)."""
    if family not in _FAMILIES:
        raise InvalidValueError(
            f"'family' must be one of {', '.join(map(repr, _FAMILIES))} (got {describe(family)})"
        )
    ctx = _Context()
    roots: list[dict[str, Any]] = []
    for name, cls in sorted(documents.items()):
        ctx.ref(cls)
        wrapper = {
            "type": "object",
            "properties": {"schema": {"const": SCHEMA}, "type": {"const": name}},
            "required": ["schema", "type"],
        }
        roots.append({"allOf": [wrapper, _enveloped(ctx.defs[name])]})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": _ID.format(family),
        "title": f"promisekit {family} document ({SCHEMA})",
        "description": (
            f"One promisekit.{family} value, as written by promisekit.serialize.to_json and "
            "read by from_json(text, cls). Timestamps carry their UTC offset; decimals and "
            "durations are strings."
        ),
        "oneOf": roots,
        "$defs": dict(sorted(ctx.defs.items())),
    }


def _enveloped(schema: dict[str, Any]) -> dict[str, Any]:
    """A record's schema, accepting the document's ``schema`` and ``type`` keys too."""
    properties = schema.get("properties", {})
    envelope = {"schema": True} if "type" in properties else {"schema": True, "type": True}
    return {**schema, "properties": {**envelope, **properties}}
