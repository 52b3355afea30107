"""Strict reading: the shape checks before cattrs, and cattrs errors as one SchemaError.

Private to :mod:`promisekit.serialize`.
"""

from __future__ import annotations

import collections.abc
import re
import types
import typing
from collections.abc import Collection, Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs

from promisekit._serialize_codecs import _describe
from promisekit._serialize_registry import (
    _BASES,
    _BY_CLASS,
    SchemaError,
    _field_types,
    _is_enum,
    _is_json_object,
    _is_str_mapping,
    _Spec,
)
from promisekit._validation import describe
from promisekit.errors import (
    PromiseKitError,
)


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
        return not (_is_str_mapping(tp) or _is_json_object(tp))
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
            yield from _leaves(sub, _field_path(sub, path))
    elif isinstance(exc, IterableValidationError):
        with_index, rest = exc.group_exceptions()
        for sub, index_note in with_index:
            yield from _leaves(sub, f"{path}[{index_note.index}]")
        for sub in rest:
            yield from _leaves(sub, path)
    elif isinstance(exc, BaseValidationError):
        for sub in exc.exceptions:
            yield from _leaves(sub, path)
    elif isinstance(exc, SchemaError) and exc.path is not None:
        # Raised by a custom hook of a nested value: its path is relative to that value.
        yield path + exc.path[1:], exc
    else:
        yield path, exc


_NAMED = re.compile(r"'([A-Za-z_][A-Za-z0-9_]*)((?:\[[0-9]+\])*)'")


def _field_path(exc: BaseException, path: str) -> str:
    """The path of the field a constructor's error names first (``'locale' must be…``)."""
    if isinstance(exc, PromiseKitError) and not isinstance(exc, SchemaError):
        named = _NAMED.match(str(exc))
        if named is not None:
            return f"{path}.{named[1]}{named[2]}"
    return path


def _leaf_message(path: str, leaf: BaseException) -> str:
    """The message of a leaf error, naming the field rather than the hooks' ``'value'``."""
    if not isinstance(leaf, PromiseKitError):
        return f"{type(leaf).__name__}: {leaf}"
    if isinstance(leaf, SchemaError) and leaf.path is not None:
        return leaf.message
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
