"""The JSON forms of :mod:`promisekit.escalation` values.

Loaded by :mod:`promisekit.serialize` when an escalation value is first written or read
(the lazy provider of ``"promisekit.escalation"``); the escalation package never imports
serialization. Registered document types:

* the records: ``escalation``, ``grant``, ``escalation_memory``, ``evaluation``,
  ``notice``, ``notice_template``;
* the tracked promise and its events: ``tracked_promise``, ``pause``,
  ``customer_update``, ``progress_report``;
* the actions, kinds of :class:`~promisekit.escalation.Action` (a field holding an action
  is a typed sub-document): ``notify_owner``, ``notify_customer``, ``escalate_to``,
  ``propose_revision``, ``compensate``; and ``capability_proposer``;
* ``escalation_policy`` and ``escalation_rule``: the policy-file form.

Code held by an action (a proposer, a compensation policy) round-trips when it is a
registered value (a :class:`~promisekit.escalation.CapabilityProposer` over a registered
capability); other code is written as an opaque description that reading refuses (see
:mod:`._serialize_nested`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import attrs

from promisekit._serialize_codecs import format_decimal, format_duration
from promisekit._serialize_nested import (
    build,
    callable_to_dict,
    check_keys,
    instances_call,
    read_decimal,
    read_duration,
    read_number,
    read_str,
    spec_of,
    typed_from_dict,
    typed_to_dict,
)
from promisekit._serialize_registry import SchemaError
from promisekit._validation import describe
from promisekit.errors import PromiseKitError
from promisekit.escalation import (
    Action,
    CapabilityProposer,
    Compensate,
    CustomerUpdate,
    EscalateTo,
    Escalation,
    EscalationMemory,
    EscalationPolicy,
    Evaluation,
    Grant,
    InboundMessage,
    Notice,
    NoticeTemplate,
    NotifyCustomer,
    NotifyOwner,
    Pause,
    PolicyConfigError,
    ProgressReport,
    ProposeRevision,
    Reopening,
    Rule,
    TrackedPromise,
    Trigger,
    policy_from_dict,
)
from promisekit.escalation._time import format_duration as policy_duration

#: Document type names of the attrs records (hooks generated from their fields).
RECORDS: tuple[tuple[type[Any], str], ...] = (
    (Pause, "pause"),
    (CustomerUpdate, "customer_update"),
    (ProgressReport, "progress_report"),
    (InboundMessage, "inbound_message"),
    (Reopening, "reopening"),
    (TrackedPromise, "tracked_promise"),
    (Grant, "grant"),
    (Escalation, "escalation"),
    (EscalationMemory, "escalation_memory"),
    (Evaluation, "evaluation"),
    (Notice, "notice"),
    (NoticeTemplate, "notice_template"),
)
_DEFAULT_PERIOD = timedelta(days=30)
_DEFAULT_ROUND = timedelta(minutes=15)
_CAPS = ("per_promise", "per_customer", "per_period")


# --------------------------------------------------------------------------- actions


def _escalate_out(action: EscalateTo) -> dict[str, Any]:
    return {"to": action.to}


def _escalate_in(data: dict[str, Any]) -> EscalateTo:
    check_keys(data, ("to",), ())
    to = data["to"]
    if isinstance(to, bool) or not isinstance(to, (str, int)):
        raise SchemaError(
            f"'to': expected a role name or a level number (got {describe(to)})", path="$.to"
        )
    return build("$.to", EscalateTo, to)  # type: ignore[no-any-return]


def _is_proposer(cls: type[Any]) -> bool:
    return instances_call(cls) and not issubclass(cls, Action)


def _propose_out(action: ProposeRevision) -> dict[str, Any]:
    if action.proposer is None:
        return {}
    return {"proposer": callable_to_dict(action.proposer)}


def _propose_in(data: dict[str, Any]) -> ProposeRevision:
    check_keys(data, (), ("proposer",))
    raw = data.get("proposer")
    proposer = None
    if raw is not None:
        proposer = typed_from_dict(
            raw,
            "$.proposer",
            accepts=_is_proposer,
            expected="a revision proposer",
            owner="ProposeRevision's proposer",
            hint="a CapabilityProposer over a promisekit.buffering capability, or",
        )
    return build("$.proposer", ProposeRevision, proposer)  # type: ignore[no-any-return]


def _compensate_out(action: Compensate) -> dict[str, Any]:
    amount = action.amount
    out: dict[str, Any] = {
        "amount": format_decimal(amount)
        if isinstance(amount, Decimal)
        else callable_to_dict(amount)
    }
    if action.currency is not None:
        out["currency"] = action.currency
    for cap in _CAPS:
        value = getattr(action, cap)
        if value is not None:
            out[cap] = format_decimal(value)
    if action.period != _DEFAULT_PERIOD:
        out["period"] = format_duration(action.period)
    return out


def _compensate_in(data: dict[str, Any]) -> Compensate:
    check_keys(data, ("amount",), ("currency", *_CAPS, "period"))
    raw = data["amount"]
    amount: Any
    if isinstance(raw, dict):
        amount = typed_from_dict(
            raw,
            "$.amount",
            accepts=instances_call,
            expected="a compensation policy",
            owner="Compensate's amount policy",
        )
    else:
        amount = read_decimal(data, "amount")
    options: dict[str, Any] = {cap: read_decimal(data, cap) for cap in _CAPS if cap in data}
    if "currency" in data:
        options["currency"] = read_str(data, "currency")
    if "period" in data:
        options["period"] = read_duration(data, "period")
    return build("$", Compensate, amount, **options)  # type: ignore[no-any-return]


def _is_residual(cls: type[Any]) -> bool:
    return callable(getattr(cls, "residual_quantile", None))


def _proposer_out(proposer: CapabilityProposer) -> dict[str, Any]:
    spec = spec_of(proposer.capability)
    capability = (
        typed_to_dict(proposer.capability, spec)
        if spec is not None
        else callable_to_dict(proposer.capability)
    )
    out: dict[str, Any] = {"capability": capability, "confidence": proposer.confidence}
    if proposer.round_up_to != _DEFAULT_ROUND:
        rounding = proposer.round_up_to
        out["round_up_to"] = None if rounding is None else format_duration(rounding)
    return out


def _proposer_in(data: dict[str, Any]) -> CapabilityProposer:
    check_keys(data, ("capability",), ("confidence", "round_up_to"))
    capability = typed_from_dict(
        data["capability"],
        "$.capability",
        accepts=_is_residual,
        expected="a capability (a registered value with residual_quantile)",
        owner="CapabilityProposer's capability",
    )
    options: dict[str, Any] = {}
    if "confidence" in data:
        options["confidence"] = read_number(data, "confidence")
    if "round_up_to" in data:
        options["round_up_to"] = (
            None if data["round_up_to"] is None else read_duration(data, "round_up_to")
        )
    return build("$", CapabilityProposer, capability, **options)  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- policies


def _caps_of(action: Compensate) -> dict[str, Any]:
    caps: dict[str, Any] = {}
    for cap in _CAPS:
        value = getattr(action, cap)
        if value is not None:
            caps[cap] = format_decimal(value)
    if action.currency is not None:
        caps["currency"] = action.currency
    if action.period != _DEFAULT_PERIOD:
        caps["period"] = policy_duration(action.period)
    return caps


def _compensation(rules: tuple[Rule, ...]) -> dict[str, Any] | None:
    """The one ``[compensation]`` table of the rules' compensate actions (or ``None``)."""
    found: dict[str, Any] | None = None
    for index, rule in enumerate(rules):
        for action in rule.actions:
            if not isinstance(action, Compensate):
                continue
            caps = _caps_of(action)
            if found is not None and caps != found:
                raise SchemaError(
                    f"cannot write this policy in the policy-file form: its compensate "
                    f"actions have different caps ({describe(found)} and {describe(caps)} "
                    f"in rule {describe(rule.name)}), and a policy file has one "
                    f"[compensation] table; give them the same caps",
                    path=f"$.rules[{index}].do",
                )
            found = caps
    return found


_BINDINGS = ("capability", "predictor", "proposer", "compensation_policy")


def _bindings(rules: tuple[Rule, ...]) -> dict[str, Any]:
    """The objects a policy file names by role, found in the rules' triggers and actions."""
    found: dict[str, Any] = {}

    def bind(key: str, value: object, index: int) -> None:
        if key in found and found[key] is not value and found[key] != value:
            raise SchemaError(
                f"cannot write this policy in the policy-file form: its rules use two "
                f"different {key} objects ({describe(found[key])} and {describe(value)}), "
                f"and a policy file binds one {key!r}",
                path=f"$.rules[{index}]",
            )
        found[key] = value

    for index, rule in enumerate(rules):
        stack: list[Any] = [rule.when]
        while stack:
            trigger = stack.pop()
            if not attrs.has(type(trigger)):
                continue
            for field in attrs.fields(type(trigger)):
                value = getattr(trigger, field.name)
                if isinstance(value, Trigger):
                    stack.append(value)
                elif isinstance(value, tuple):
                    stack.extend(item for item in value if isinstance(item, Trigger))
                elif field.name in ("capability", "predictor"):
                    bind(field.name, value, index)
        for action in rule.actions:
            if isinstance(action, ProposeRevision) and action.proposer is not None:
                bind("proposer", action.proposer, index)
            if isinstance(action, Compensate) and not isinstance(action.amount, Decimal):
                bind("compensation_policy", action.amount, index)
    return found


def _file_form(rules: tuple[Rule, ...], data: dict[str, Any], check: Callable[..., Any]) -> None:
    """Add ``compensation`` and ``bindings`` to ``data``; check it reads back exactly."""
    body = {k: v for k, v in data.items() if k != "rules"}
    caps = _compensation(rules)
    if caps is not None:
        body["compensation"] = caps
    bound = _bindings(rules)
    try:
        same = check({**body, "rules": data["rules"]}, bound)
    except PromiseKitError:
        same = False
    if not same:
        raise SchemaError(
            "cannot write this policy exactly in the policy-file form (a trigger or an "
            "action has no policy-file syntax, or a propose_revision without a proposer "
            "sits beside one with a proposer); see EscalationPolicy.to_dict()"
        )
    if bound:
        body["bindings"] = {key: callable_to_dict(bound[key]) for key in sorted(bound)}
    rules_form = data.pop("rules", None)
    data.clear()
    data.update(body)
    if rules_form is not None:
        data["rules"] = rules_form


def _policy_out(policy: EscalationPolicy) -> dict[str, Any]:
    data = policy.to_dict()
    _file_form(
        policy.rules,
        data,
        lambda form, bound: policy_from_dict(form, bindings=bound) == policy,
    )
    return data


def _read_bindings(data: dict[str, Any]) -> dict[str, Any]:
    raw = data.get("bindings", {})
    if not isinstance(raw, dict):
        raise SchemaError(f"expected an object (got {describe(raw)})", path="$.bindings")
    bound: dict[str, Any] = {}
    for key, item in raw.items():
        if key not in _BINDINGS:
            raise SchemaError(
                f"unknown binding {describe(key)} (expected only {', '.join(_BINDINGS)})",
                path="$.bindings",
            )
        bound[key] = typed_from_dict(
            item,
            f"$.bindings.{key}",
            accepts=lambda cls: True,
            expected=f"the bound {key}",
            owner=f"policy's bound {key}",
        )
    return bound


_LABEL = re.compile(r"#([0-9]+)")


def _config_error(exc: PolicyConfigError, rules: object, prefix: str = "$") -> SchemaError:
    """A :class:`PolicyConfigError` as a :class:`SchemaError` at the rule's JSON path."""
    path = prefix
    if exc.rule is not None:
        index: int | None = None
        label = _LABEL.fullmatch(exc.rule)
        if label is not None:
            index = int(label[1]) - 1
        elif isinstance(rules, list):
            names = [r.get("name") if isinstance(r, dict) else None for r in rules]
            index = names.index(exc.rule) if exc.rule in names else None
        if index is not None:
            path += f".rules[{index}]"
    if exc.field is not None and exc.field not in ("policy", "registry"):
        path += f".{exc.field}"
    error = SchemaError(
        f"{exc} (a policy that uses bound objects — a capability, a predictor, a "
        f"proposer, a compensation policy — reads back with "
        f"promisekit.escalation.policy_from_dict(document, bindings=...))"
        if "binding" in str(exc)
        else str(exc),
        path=path,
    )
    error.__cause__ = exc
    return error


def _policy_in(data: dict[str, Any]) -> EscalationPolicy:
    bound = _read_bindings(data)
    form = {k: v for k, v in data.items() if k != "bindings"}
    try:
        return policy_from_dict(form, bindings=bound)
    except PolicyConfigError as exc:
        raise _config_error(exc, data.get("rules")) from exc
    except PromiseKitError as exc:
        raise SchemaError(str(exc)) from exc


def _rule_out(rule: Rule) -> dict[str, Any]:
    data: dict[str, Any] = {"rules": [rule.to_dict()]}
    _file_form(
        (rule,),
        data,
        lambda form, bound: policy_from_dict(form, bindings=bound).rules[0] == rule,
    )
    return {**{k: v for k, v in data.items() if k != "rules"}, **data["rules"][0]}


def _rule_in(data: dict[str, Any]) -> Rule:
    bound = _read_bindings(data)
    body = {k: v for k, v in data.items() if k not in ("compensation", "bindings")}
    policy: dict[str, Any] = {"rules": [body]}
    if "compensation" in data:
        policy["compensation"] = data["compensation"]
    try:
        return policy_from_dict(policy, bindings=bound).rules[0]
    except PolicyConfigError as exc:
        error = _config_error(exc, None)
        raise SchemaError(error.message, path=error.path) from exc


_RULE_FIELDS = (
    "name", "when", "do", "level", "every", "limit", "description", "compensation", "bindings"
)  # fmt: skip
_POLICY_FIELDS = ("name", "description", "compensation", "bindings", "rules")


def _register_serialization(register: Callable[..., None]) -> None:
    """Register the escalation document types (called once by promisekit.serialize)."""
    for cls, name in RECORDS:
        register(cls, name)
    register(NotifyOwner, "notify_owner", base=Action)
    register(NotifyCustomer, "notify_customer", base=Action)
    register(
        EscalateTo,
        "escalate_to",
        unstructure=_escalate_out,
        structure=_escalate_in,
        fields=("to",),
        base=Action,
    )
    register(
        ProposeRevision,
        "propose_revision",
        unstructure=_propose_out,
        structure=_propose_in,
        fields=("proposer",),
        base=Action,
    )
    register(
        Compensate,
        "compensate",
        unstructure=_compensate_out,
        structure=_compensate_in,
        fields=("amount", "currency", *_CAPS, "period"),
        base=Action,
    )
    register(
        CapabilityProposer,
        "capability_proposer",
        unstructure=_proposer_out,
        structure=_proposer_in,
        fields=("capability", "confidence", "round_up_to"),
    )
    register(
        EscalationPolicy,
        "escalation_policy",
        unstructure=_policy_out,
        structure=_policy_in,
        fields=_POLICY_FIELDS,
    )
    register(
        Rule, "escalation_rule", unstructure=_rule_out, structure=_rule_in, fields=_RULE_FIELDS
    )
