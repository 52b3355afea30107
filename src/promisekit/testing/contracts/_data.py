"""The data checks every suite runs: immutable, hashable values, equal by value,
whose parameters rebuild an equal object (fields, ``evolve``, pickle, serialize)."""

from __future__ import annotations

import contextlib
import copy
import datetime as _datetime_module
import decimal
import pickle
import sys
import zoneinfo
from typing import Any, cast

import attrs

from promisekit import serialize
from promisekit.testing.contracts._suite import (
    _fields,
    _has_value_eq,
    _is_attrs,
    _Suite,
)


def _repr_namespace(obj: object) -> dict[str, Any]:
    module = sys.modules.get(type(obj).__module__)
    namespace: dict[str, Any] = dict(vars(module)) if module is not None else {}
    namespace.update(
        {
            "datetime": _datetime_module,
            "decimal": decimal,
            "Decimal": decimal.Decimal,
            "zoneinfo": zoneinfo,
            type(obj).__name__: type(obj),
        }
    )
    return namespace


def _check_data(suite: _Suite, obj: object) -> None:
    """Immutable, hashable data compared by value, whose repr reads back (or attrs)."""
    cls = type(obj)
    try:
        first = hash(obj)
    except TypeError as exc:
        suite.fail("hashable", f"hash() raised TypeError: {exc}", "make it a frozen attrs class")
    if _is_attrs(cls):
        names = [field.name for field in _fields(cls)]
    else:
        names = [name for name in getattr(obj, "__dict__", {}) if not name.startswith("__")]
    name = names[0] if names else "_promisekit_contract_probe"
    try:
        setattr(obj, name, getattr(obj, name, None))
    except AttributeError:
        pass  # frozen (or slotted without that attribute)
    else:
        if not names:
            with contextlib.suppress(AttributeError):
                delattr(obj, name)
        suite.fail(
            "frozen",
            f"setting attribute {name!r} succeeded; plugin objects must be immutable",
            "use @attrs.frozen (or raise AttributeError from __setattr__)",
        )
    twin = suite.call("equal by value", "copy.copy()", lambda: copy.copy(obj))
    if twin != obj:
        suite.fail(
            "equal by value",
            "a copy is not equal to the original (identity equality?)",
            f"copy: {twin!r}",
            "use an attrs class, or define __eq__ and __hash__ on the parameters",
        )
    if hash(twin) != first:
        suite.fail("equal by value", "an equal copy has another hash")
    text = repr(obj)
    try:
        rebuilt = eval(text, _repr_namespace(obj))  # the object's own repr, in its module
    except Exception:
        if not _is_attrs(cls):
            suite.fail(
                "repr round-trip or attrs equality",
                f"its repr {text!r} does not read back and it is not an attrs class",
                "make it an attrs class, or give it a repr that evaluates to an equal object",
            )
    else:
        if rebuilt != obj:
            suite.fail(
                "repr round-trip or attrs equality",
                f"its repr {text!r} reads back as an unequal object",
                f"read back: {rebuilt!r}",
            )


def _check_parameters(suite: _Suite, model: object) -> None:
    """Parameters -> dict -> an equal model; and pickle round-trips."""
    prop = "parameters round-trip"
    cls = type(model)
    params: dict[str, Any]
    if _is_attrs(cls):
        fields = [field for field in _fields(cls) if field.init]
        params = {field.alias or field.name: getattr(model, field.name) for field in fields}
        how = "the attrs fields"
        evolved = suite.call(prop, "attrs.evolve(model)", lambda: attrs.evolve(cast(Any, model)))
        if evolved != model:
            suite.fail(prop, "attrs.evolve(model) is not equal to the model", f"got {evolved!r}")
    elif callable(getattr(model, "get_params", None)):
        params = suite.call(prop, "model.get_params()", model.get_params)  # type: ignore[attr-defined]
        how = "get_params()"
        if not isinstance(params, dict):
            suite.fail(prop, f"get_params() returned {type(params).__name__}, not a dict")
    else:
        suite.fail(
            prop,
            "its parameters cannot be read back: it is not an attrs class and has no get_params()",
            "make it a frozen attrs class whose fields are its parameters",
        )
    rebuilt = suite.call(
        prop, f"{cls.__name__}(**parameters)", lambda: cls(**params), f"parameters: {params!r}"
    )
    if not _has_value_eq(cls):
        suite.fail(prop, "the class compares by identity, so parameters cannot be checked")
    if rebuilt != model:
        suite.fail(
            prop,
            f"rebuilding from {how} gives an unequal model",
            f"parameters: {params!r}",
            f"rebuilt: {rebuilt!r}",
        )
    copied = suite.call(prop, "pickle", lambda: pickle.loads(pickle.dumps(model)))
    if copied != model:
        suite.fail(prop, "a pickle round-trip gives an unequal model", f"got {copied!r}")
    if cls in serialize.registered_types().values():
        document = suite.call(prop, "serialize.to_dict()", lambda: serialize.to_dict(model))
        back = suite.call(
            prop, "serialize.from_dict()", lambda: serialize.from_dict(document, cls), str(document)
        )
        if back != model:
            suite.fail(
                prop, "a promisekit.serialize round-trip gives an unequal model", str(document)
            )
