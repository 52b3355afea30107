"""JSON-ready documents held by ledger events (the payload an escalation handed to a sink).

Private to :mod:`promisekit.ledger`. :func:`json_document` checks that a mapping is a
JSON object (``str`` keys; values ``str``, ``int``, finite ``float``, ``bool``,
``None``, lists and such objects; nested at most :data:`MAX_DEPTH` deep) and returns a
read-only deep copy: a ``dict`` subclass whose arrays are ``list`` subclasses, both
refusing every change. They compare equal to plain dicts and lists and
:func:`json.dumps` writes them as is, so a sink receives exactly what is recorded.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NoReturn

from promisekit._validation import describe
from promisekit.errors import InvalidTypeError, InvalidValueError

__all__ = ["MAX_DEPTH", "JsonArray", "JsonObject", "json_document", "thaw"]

#: How deep a document may nest objects and arrays (the document itself is depth 1).
MAX_DEPTH = 32


def _read_only(self: object, *args: object, **kwargs: object) -> NoReturn:
    raise InvalidTypeError(
        f"an event's document is read-only (a {type(self).__name__}); copy it first, "
        f"e.g. with copy.deepcopy() or json.loads(json.dumps(...))"
    )


class JsonObject(dict[str, Any]):
    """A read-only JSON object (a ``dict`` that refuses changes)."""

    __slots__ = ()
    __setitem__ = _read_only
    __delitem__ = _read_only
    __ior__ = _read_only
    clear = _read_only
    pop = _read_only
    popitem = _read_only
    setdefault = _read_only
    update = _read_only

    def __reduce__(self) -> tuple[Any, ...]:
        return (JsonObject, (dict(self),))

    def __repr__(self) -> str:
        return dict.__repr__(self)


class JsonArray(list[Any]):
    """A read-only JSON array (a ``list`` that refuses changes)."""

    __slots__ = ()
    __setitem__ = _read_only
    __delitem__ = _read_only
    __iadd__ = _read_only
    __imul__ = _read_only
    append = _read_only
    extend = _read_only
    insert = _read_only
    pop = _read_only
    remove = _read_only
    clear = _read_only
    sort = _read_only
    reverse = _read_only

    def __reduce__(self) -> tuple[Any, ...]:
        return (JsonArray, (list(self),))

    def __repr__(self) -> str:
        return list.__repr__(self)


def _where(field: str, path: str) -> str:
    return f"{field!r}" if not path else f"{field!r} at {path}"


def _freeze(value: Any, field: str, path: str, depth: int) -> Any:
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, str):
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidValueError(
                    f"{_where(field, path)} must be valid Unicode text (got a string with a "
                    f"lone surrogate: {describe(value)})"
                ) from None
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidValueError(
                f"{_where(field, path)} must be a finite number (got {describe(value)})"
            )
        return value
    if isinstance(value, (Mapping, list, tuple)):
        if depth >= MAX_DEPTH:
            raise InvalidValueError(
                f"{_where(field, path)} nests deeper than {MAX_DEPTH} objects or arrays"
            )
        if isinstance(value, Mapping):
            out: dict[str, Any] = {}
            for key, item in value.items():
                if not isinstance(key, str):
                    raise InvalidTypeError(
                        f"{_where(field, path)} must have string keys (got "
                        f"{type(key).__name__} {describe(key)})"
                    )
                _freeze(key, field, path, depth)  # lone surrogates in keys
                out[key] = _freeze(item, field, f"{path}[{key!r}]", depth + 1)
            return JsonObject(out)
        return JsonArray(
            _freeze(item, field, f"{path}[{index}]", depth + 1) for index, item in enumerate(value)
        )
    raise InvalidTypeError(
        f"{_where(field, path)} must hold only JSON values: str, int, finite float, bool, "
        f"None, lists and objects with str keys (got {type(value).__name__} {describe(value)})"
    )


def json_document(value: object, field: str = "document") -> JsonObject:
    """A read-only deep copy of the JSON object ``value``, after checking it.

    Raises:
        InvalidTypeError: ``value`` is not a mapping, has a non-``str`` key or holds a
            value that is not JSON (a set, a datetime, a Decimal…).
        InvalidValueError: A float is not finite, a string is not valid Unicode, or
            the document nests deeper than :data:`MAX_DEPTH`.
    """
    if not isinstance(value, Mapping):
        raise InvalidTypeError(
            f"{field!r} must be a JSON object: a mapping with str keys "
            f"(got {type(value).__name__} {describe(value)})"
        )
    frozen = _freeze(value, field, "", 0)
    assert isinstance(frozen, JsonObject)
    return frozen


def optional_json_document(value: object) -> JsonObject | None:
    """Attrs converter of ``document`` fields: ``None`` or :func:`json_document`."""
    return None if value is None else json_document(value)


def thaw(value: Any) -> Any:
    """A plain ``dict``/``list`` deep copy of a (read-only) JSON value."""
    if isinstance(value, Mapping):
        return {key: thaw(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [thaw(item) for item in value]
    return value
