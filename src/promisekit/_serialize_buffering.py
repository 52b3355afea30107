"""The JSON forms of :mod:`promisekit.buffering` values.

Loaded by :mod:`promisekit.serialize` when a buffering value is first written or read
(the lazy provider of ``"promisekit.buffering"``); the buffering package never imports
serialization. Registered document types:

* ``quote``;
* capabilities, kinds of :class:`~promisekit.buffering.Capability`: ``point_capability``,
  ``parametric_capability``, ``empirical_capability`` (its past durations exactly, as
  integer microseconds in ``durations_us``, sorted);
* buffer policies, kinds of :class:`~promisekit.buffering.BufferPolicy` (a field holding
  a policy is a typed sub-document): ``no_buffer``, ``fixed_buffer``,
  ``proportional_buffer``, ``quantile_buffer``, ``round_up``, ``cap``, ``floor``,
  ``chain``, ``later``, ``optimal_buffer``; and ``linear_lateness_cost``.

An :class:`~promisekit.buffering.OptimalBuffer` round-trips when its satisfaction function
is a registered value (a :class:`~promisekit.buffering.LinearLatenessCost`); other code is
written as an opaque description that reading refuses (see :mod:`._serialize_nested`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from promisekit._serialize_codecs import _describe, format_duration
from promisekit._serialize_nested import (
    build,
    callable_to_dict,
    check_keys,
    instances_call,
    read_duration,
    read_int,
    read_number,
    read_str,
    typed_from_dict,
)
from promisekit._serialize_registry import SchemaError
from promisekit.buffering import (
    BufferPolicy,
    Cap,
    Capability,
    Chain,
    EmpiricalCapability,
    FixedBuffer,
    Floor,
    Later,
    LinearLatenessCost,
    NoBuffer,
    OptimalBuffer,
    ParametricCapability,
    PointCapability,
    ProportionalBuffer,
    QuantileBuffer,
    Quote,
    RoundUp,
)

#: Buffer policies whose hooks are generated from their attrs fields.
POLICIES: tuple[tuple[type[Any], str], ...] = (
    (NoBuffer, "no_buffer"),
    (FixedBuffer, "fixed_buffer"),
    (ProportionalBuffer, "proportional_buffer"),
    (QuantileBuffer, "quantile_buffer"),
    (RoundUp, "round_up"),
    (Cap, "cap"),
    (Floor, "floor"),
)
_HOUR = timedelta(hours=1)
_MAX_US = 2**63 - 1


# --------------------------------------------------------------------------- capabilities


def _empirical_out(capability: EmpiricalCapability) -> dict[str, Any]:
    out: dict[str, Any] = {"durations_us": list(capability._values)}
    if capability.label != "jobs":
        out["label"] = capability.label
    return out


def _empirical_in(data: dict[str, Any]) -> EmpiricalCapability:
    check_keys(data, ("durations_us",), ("label",))
    raw = data["durations_us"]
    if not isinstance(raw, list):
        raise SchemaError(
            f"'durations_us': expected an array of integer microseconds (got {_describe(raw)})",
            path="$.durations_us",
        )
    durations = []
    for index, item in enumerate(raw):
        if isinstance(item, bool) or not isinstance(item, int) or not 0 <= item <= _MAX_US:
            raise SchemaError(
                f"'durations_us': expected non-negative integer microseconds "
                f"(got {_describe(item)})",
                path=f"$.durations_us[{index}]",
            )
        durations.append(timedelta(microseconds=item))
    options = {"label": read_str(data, "label")} if "label" in data else {}
    return build("$", EmpiricalCapability, durations, **options)  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- policies


def _is_policy(cls: type[Any]) -> bool:
    return issubclass(cls, BufferPolicy)


def _group_out(policy: Chain | Later) -> dict[str, Any]:
    from promisekit._serialize_nested import spec_of, typed_to_dict

    items = []
    for item in policy.policies:
        spec = spec_of(item)
        items.append(typed_to_dict(item, spec) if spec is not None else callable_to_dict(item))
    return {"policies": items}


def _group_in(kind: type[Chain] | type[Later]) -> Callable[[dict[str, Any]], Any]:
    def structure(data: dict[str, Any]) -> Any:
        check_keys(data, ("policies",), ())
        raw = data["policies"]
        if not isinstance(raw, list):
            raise SchemaError(
                f"'policies': expected an array of buffer policies (got {_describe(raw)})",
                path="$.policies",
            )
        policies = [
            typed_from_dict(
                item,
                f"$.policies[{index}]",
                accepts=_is_policy,
                expected="a buffer policy",
                owner=f"{kind.__name__} policy",
            )
            for index, item in enumerate(raw)
        ]
        return build("$.policies", kind, *policies)

    return structure


def _optimal_out(policy: OptimalBuffer) -> dict[str, Any]:
    out: dict[str, Any] = {"satisfaction": callable_to_dict(policy.satisfaction)}
    if policy.quote_cost != 0.0:
        out["quote_cost"] = policy.quote_cost
    if policy.cost_unit != _HOUR:
        out["cost_unit"] = format_duration(policy.cost_unit)
    if policy.points != 2000:
        out["points"] = policy.points
    return out


def _optimal_in(data: dict[str, Any]) -> OptimalBuffer:
    check_keys(data, ("satisfaction",), ("quote_cost", "cost_unit", "points"))
    satisfaction = typed_from_dict(
        data["satisfaction"],
        "$.satisfaction",
        accepts=instances_call,
        expected="a satisfaction function",
        owner="OptimalBuffer's satisfaction function",
        hint="a LinearLatenessCost, or",
    )
    options: dict[str, Any] = {}
    if "quote_cost" in data:
        options["quote_cost"] = read_number(data, "quote_cost")
    if "cost_unit" in data:
        options["cost_unit"] = read_duration(data, "cost_unit")
    if "points" in data:
        options["points"] = read_int(data, "points")
    return build("$", OptimalBuffer, satisfaction, **options)  # type: ignore[no-any-return]


def _register_serialization(register: Callable[..., None]) -> None:
    """Register the buffering document types (called once by promisekit.serialize)."""
    register(PointCapability, "point_capability", base=Capability)
    register(ParametricCapability, "parametric_capability", base=Capability)
    register(
        EmpiricalCapability,
        "empirical_capability",
        unstructure=_empirical_out,
        structure=_empirical_in,
        fields=("durations_us", "label"),
        base=Capability,
    )
    for cls, name in POLICIES:
        register(cls, name, base=BufferPolicy)
    for kind, name in ((Chain, "chain"), (Later, "later")):
        register(
            kind,
            name,
            unstructure=_group_out,
            structure=_group_in(kind),
            fields=("policies",),
            base=BufferPolicy,
        )
    register(LinearLatenessCost, "linear_lateness_cost")
    register(
        OptimalBuffer,
        "optimal_buffer",
        unstructure=_optimal_out,
        structure=_optimal_in,
        fields=("satisfaction", "quote_cost", "cost_unit", "points"),
        base=BufferPolicy,
    )
    register(Quote, "quote")
