"""Helpers of the custom hooks: typed sub-documents, callables as data, strict fields.

Private to the serialization modules (:mod:`._serialize_escalation`,
:mod:`._serialize_buffering`). Imported lazily, once :mod:`promisekit.serialize` is loaded.

A field that holds another registered value (a capability inside a proposer, a buffer
policy inside a quote) is a **typed sub-document** ``{"type": "<name>", <fields>}``. A field
that holds code (a revision proposer, a compensation policy, a satisfaction function) is
written as its sub-document when the callable is itself a registered value (then it reads
back exactly), and otherwise as an **opaque description**::

    {"type": "opaque", "class": "mymodule.my_proposer", "parameters": {...}}

(``parameters`` only for an attrs value, field by field, best effort). An opaque
description cannot be read back: reading one raises :class:`SchemaError` saying what to do.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs

from promisekit._serialize_codecs import (
    _describe,
    format_datetime,
    format_decimal,
    format_duration,
    parse_duration,
)
from promisekit._serialize_registry import (
    SchemaError,
    _Spec,
    get_converter,
)
from promisekit._serialize_shape import _check_shape, _schema_error
from promisekit._validation import describe
from promisekit.errors import PromiseKitError

#: The ``type`` of the description of a callable that is not a registered value.
OPAQUE = "opaque"
_MAX_DEPTH = 4


def _facade() -> Any:
    from promisekit import serialize

    return serialize


def spec_of(value: object) -> _Spec | None:
    """The registered spec of ``value``'s class (asking the lazy providers), or ``None``."""
    spec: _Spec | None = _facade()._spec_for_class(type(value))
    return spec


def typed_to_dict(value: object, spec: _Spec) -> dict[str, Any]:
    """``{"type": name, <fields>}`` of a registered value."""
    body = get_converter().unstructure(value, spec.cls)
    return {"type": spec.name, **{k: v for k, v in body.items() if k != "type"}}


def rebase(error: SchemaError, path: str) -> SchemaError:
    """``error`` (whose path is relative to a nested value) under ``path``."""
    inner = error.path or "$"
    rebased = SchemaError(error.message, path=path + inner[1:])
    rebased.__cause__ = error.__cause__
    return rebased


def structure_spec(body: dict[str, Any], spec: _Spec, path: str) -> Any:
    """Build a registered value from its fields, every error a :class:`SchemaError` at ``path``."""
    from cattrs.errors import BaseValidationError

    try:
        _check_shape(spec.cls, body, "$", None)
        return get_converter().structure(body, spec.cls)
    except SchemaError as exc:
        raise rebase(exc, path) from exc.__cause__
    except BaseValidationError as exc:
        error = _schema_error(exc)
        raise rebase(error, path) from error.__cause__
    except PromiseKitError as exc:
        raise SchemaError(str(exc), path=path) from exc
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
        raise SchemaError(f"{type(exc).__name__}: {exc}", path=path) from exc


def typed_from_dict(
    data: object,
    path: str,
    *,
    accepts: Callable[[type[Any]], bool],
    expected: str,
    owner: str,
    hint: str = "",
) -> Any:
    """Read a typed sub-document whose class ``accepts``; an opaque one is refused."""
    if not isinstance(data, dict):
        raise SchemaError(f"expected {expected} (got {_describe(data)})", path=path)
    name = data.get("type")
    if name == OPAQUE:
        described = data.get("class")
        raise SchemaError(
            f"this {owner} held code ({describe(described)}), written as a description "
            f"that cannot be read back: rebuild it in Python, or give it a registered "
            f"value ({hint or 'an attrs class registered with promisekit.serialize'}"
            f".register_type)",
            path=path,
        )
    spec = _facade()._spec_for_name(name) if isinstance(name, str) else None
    if spec is None or not accepts(spec.cls):
        raise SchemaError(
            f"expected {expected}: an object whose 'type' names a registered kind "
            f"(got type {_describe(name)})",
            path=f"{path}.type",
        )
    body = data if spec.base is not None else {k: v for k, v in data.items() if k != "type"}
    return structure_spec(body, spec, path)


# --------------------------------------------------------------------------- callables


def instances_call(cls: type[Any]) -> bool:
    """Whether instances of ``cls`` are callable (it defines ``__call__``)."""
    return any("__call__" in vars(klass) for klass in cls.__mro__)


def _callable_name(value: object) -> str:
    kind = value if isinstance(value, (types.FunctionType, types.BuiltinFunctionType)) else None
    target: Any = kind if kind is not None else type(value)
    module = getattr(target, "__module__", None) or "?"
    name = getattr(target, "__qualname__", None) or getattr(target, "__name__", "?")
    return f"{module}.{name}"


def _plain(value: object, depth: int) -> Any:
    """A JSON-ready description of a parameter value (best effort, never fails)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if value == value else "NaN"
    if isinstance(value, Decimal):
        return format_decimal(value) if value.is_finite() else str(value)
    if isinstance(value, datetime):
        try:
            return format_datetime(value)
        except PromiseKitError:
            return describe(value)
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)) and depth < _MAX_DEPTH:
        return [_plain(item, depth + 1) for item in value[:100]]
    spec = spec_of(value) if attrs.has(type(value)) or callable(value) else None
    if spec is not None:
        try:
            return typed_to_dict(value, spec)
        except (PromiseKitError, ValueError, TypeError):
            pass
    return describe_callable(value, depth + 1)


def describe_callable(value: object, depth: int = 0) -> dict[str, Any]:
    """The opaque description of a value that is not registered."""
    out: dict[str, Any] = {"type": OPAQUE, "class": _callable_name(value)}
    cls: Any = type(value)
    if attrs.has(cls) and depth < _MAX_DEPTH:
        out["parameters"] = {
            (field.alias or field.name): _plain(getattr(value, field.name), depth)
            for field in attrs.fields(cls)
            if field.init
        }
    elif not callable(value):
        out["repr"] = describe(value)
    return out


def callable_to_dict(value: object) -> dict[str, Any]:
    """A callable field: its typed sub-document if registered, else an opaque description."""
    spec = spec_of(value)
    if spec is not None:
        return typed_to_dict(value, spec)
    return describe_callable(value)


# --------------------------------------------------------------------------- strict fields


def check_keys(
    data: Mapping[str, Any], required: tuple[str, ...], optional: tuple[str, ...], path: str = "$"
) -> None:
    """Refuse missing required keys and unknown keys."""
    for name in required:
        if name not in data:
            raise SchemaError(f"missing required field {name!r}", path=path)
    known = {*required, *optional, "type"}
    for key in data:
        if key not in known:
            raise SchemaError(
                f"unknown field {describe(key)} (expected only {', '.join(sorted(known))})",
                path=path,
            )


def read_str(data: Mapping[str, Any], key: str, path: str = "$") -> str:
    value = data[key]
    if not isinstance(value, str):
        raise SchemaError(
            f"{key!r}: expected a string (got {_describe(value)})", path=f"{path}.{key}"
        )
    return value


def read_number(data: Mapping[str, Any], key: str, path: str = "$") -> float:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SchemaError(
            f"{key!r}: expected a number (got {_describe(value)})", path=f"{path}.{key}"
        )
    return float(value)


def read_int(data: Mapping[str, Any], key: str, path: str = "$") -> int:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise SchemaError(
            f"{key!r}: expected an integer (got {_describe(value)})", path=f"{path}.{key}"
        )
    return value


def read_duration(data: Mapping[str, Any], key: str, path: str = "$") -> timedelta:
    try:
        return parse_duration(data[key], field=key)
    except PromiseKitError as exc:
        raise SchemaError(str(exc), path=f"{path}.{key}") from None


def read_decimal(data: Mapping[str, Any], key: str, path: str = "$") -> Decimal:
    from promisekit._serialize_codecs import parse_decimal

    try:
        return parse_decimal(data[key], field=key)
    except PromiseKitError as exc:
        raise SchemaError(str(exc), path=f"{path}.{key}") from None


def build(path: str, factory: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call a constructor, its validation errors as a :class:`SchemaError` at ``path``."""
    try:
        return factory(*args, **kwargs)
    except SchemaError:
        raise
    except PromiseKitError as exc:
        raise SchemaError(str(exc), path=path) from exc


__all__ = [
    "OPAQUE",
    "build",
    "callable_to_dict",
    "check_keys",
    "describe_callable",
    "instances_call",
    "read_decimal",
    "read_duration",
    "read_int",
    "read_number",
    "read_str",
    "rebase",
    "spec_of",
    "structure_spec",
    "typed_from_dict",
    "typed_to_dict",
]
