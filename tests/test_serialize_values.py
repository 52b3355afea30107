"""JSON forms of the escalation and buffering values: round trips, errors, JSON Schemas."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
from promisekit.errors import InvalidValueError
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
    Notice,
    NotifyCustomer,
    NotifyOwner,
    Pause,
    ProgressReport,
    ProposeRevision,
    Rule,
    TrackedPromise,
    policy_from_dict,
)
from promisekit.promise import Promise
from promisekit.serialize import (
    SCHEMA,
    SchemaError,
    from_dict,
    from_json,
    to_dict,
    to_json,
    value_json_schema,
)
from promisekit.testing import aware_datetimes, calendars, promises

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "docs" / "schema"
T0 = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)
RELAXED = settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow], deadline=None)

# --------------------------------------------------------------------------- strategies

names = st.text("abcdefghij-_ ", min_size=1, max_size=8).filter(lambda s: s.strip() != "")
moments = aware_datetimes()
money = st.decimals(min_value=0, max_value=10_000, places=2, allow_nan=False)
micros = st.integers(min_value=0, max_value=10**12)
durations = micros.map(lambda us: timedelta(microseconds=us))
positive = st.integers(min_value=1, max_value=10**12).map(lambda us: timedelta(microseconds=us))

capabilities: st.SearchStrategy[Capability] = st.one_of(
    durations.map(PointCapability),
    positive.map(ParametricCapability.exponential),
    st.builds(
        ParametricCapability.lognormal,
        positive,
        st.floats(min_value=0.01, max_value=3, allow_nan=False),
    ),
    st.builds(
        lambda data, label: EmpiricalCapability(
            [timedelta(microseconds=us) for us in data], label=label
        ),
        st.lists(micros, min_size=1, max_size=60),
        names,
    ),
)
proposers = st.builds(
    CapabilityProposer,
    capabilities,
    st.floats(min_value=0.01, max_value=0.99),
    round_up_to=st.sampled_from([None, timedelta(minutes=15), timedelta(hours=1)]),
)
actions: st.SearchStrategy[Action] = st.one_of(
    st.builds(NotifyOwner, st.none() | names),
    st.builds(NotifyCustomer, st.sampled_from(["progress", "delay", "apology"])),
    st.builds(EscalateTo, names | st.integers(min_value=1, max_value=99)),
    st.builds(ProposeRevision, st.none() | proposers),
    st.builds(
        lambda amount, cap, currency, period: Compensate(
            amount, per_promise=cap, currency=currency, period=period
        ),
        money,
        money,
        st.none() | st.just("CAD"),
        st.sampled_from([timedelta(days=30), timedelta(days=7)]),
    ),
)
escalations = st.builds(
    Escalation,
    rule=names,
    action=actions,
    promise_id=names,
    customer_id=names,
    revision=st.integers(0, 5),
    level=st.integers(1, 5),
    occurrence=st.integers(1, 5),
    triggered_at=moments,
    at=moments,
    due=moments,
    proposed_due=st.none() | moments,
    amount=st.none() | money,
    capped_by=st.none() | st.sampled_from(["per_promise", "per_period"]),
)
grants = st.builds(
    Grant,
    customer_id=names,
    promise_id=names,
    at=moments,
    amount=money,
    rule=names,
    currency=st.none() | st.just("EUR"),
)
memories = st.builds(
    EscalationMemory,
    names,
    st.none() | st.integers(0, 2**53),
    st.lists(st.tuples(names, st.integers(0, 9), st.integers(1, 9), st.integers(0, 2**53))),
    st.lists(escalations, max_size=2),
)
evaluations = st.builds(
    Evaluation,
    st.lists(escalations, max_size=3).map(tuple),
    memories,
    st.none() | moments,
    st.lists(grants, max_size=2).map(tuple),
)
notices = st.builds(
    Notice,
    customer_id=names,
    promise_id=names,
    locale=st.sampled_from(["en", "fr-CA"]),
    kind=st.sampled_from(["progress", "delay", "apology"]),
    send_at=moments,
    subject=st.text(min_size=1, max_size=30),
    body=st.text(max_size=200),
)


@st.composite
def tracked_promises(draw: st.DrawFn) -> TrackedPromise:
    promise: Promise = draw(promises())
    made = promise.made_at
    offsets = sorted(draw(st.lists(st.integers(1, 10**6), max_size=6, unique=True)))
    pauses = []
    for start, end in zip(offsets[::2], offsets[1::2], strict=False):
        pauses.append(
            Pause(
                made + timedelta(seconds=start),
                made + timedelta(seconds=end),
                reason=draw(st.none() | names),
            )
        )
    if draw(st.booleans()):
        pauses.append(Pause(made + timedelta(seconds=10**6 + 1)))
    after = st.integers(0, 10**6).map(lambda s: made + timedelta(seconds=s))
    return TrackedPromise(
        promise=promise,
        calendar=draw(st.none() | calendars()),
        contact_hours=draw(st.none() | calendars()),
        pauses=pauses,
        updates=draw(st.lists(st.builds(CustomerUpdate, after, st.none() | names), max_size=3)),
        progress=draw(st.lists(st.builds(ProgressReport, after, st.floats(0, 1)), max_size=3)),
        completed_at=draw(st.none() | after),
        locale=draw(st.sampled_from(["en", "fr-CA", "fr", "en-US"])),
        customer_tz=draw(st.none() | st.sampled_from(["America/Toronto", "Europe/Paris"])),
        past_targets=draw(st.lists(st.none() | st.just(made), max_size=promise.revision)),
    )


_CONDITIONS = [
    "elapsed >= 50%",
    "elapsed >= 12.5%",
    "remaining <= 2h",
    "overdue",
    "overdue > 4h",
    "silence >= 1d",
    "revised >= 2",
    "buffer_zone >= red",
    "at_risk >= 80%",
    "(revised >= 1 and remaining <= 30m) or not silence >= 2h",
]
_ACTIONS = [
    "notify_owner",
    "notify_customer:delay",
    "escalate:manager",
    "escalate:2",
    "propose_revision",
    "compensate:12.50",
]


@st.composite
def policies(draw: st.DrawFn) -> EscalationPolicy:
    count = draw(st.integers(1, 4))
    levels = sorted(draw(st.lists(st.integers(1, 5), min_size=count, max_size=count)))
    rules = []
    for index, level in enumerate(levels):
        rule: dict[str, Any] = {
            "name": f"rule-{index}",
            "when": draw(st.sampled_from(_CONDITIONS)),
            "do": draw(st.lists(st.sampled_from(_ACTIONS), min_size=1, max_size=3, unique=True)),
            "level": level,
        }
        if draw(st.booleans()):
            rule["every"] = draw(st.sampled_from(["4h", "1d", "90m"]))
        rules.append(rule)
    data: dict[str, Any] = {"rules": rules}
    if draw(st.booleans()):
        data["name"] = draw(names)
    data["compensation"] = {"per_promise": "20.00", "period": "7d", "currency": "CAD"}
    bindings = {"capability": draw(capabilities.filter(lambda c: c.is_distribution))}
    return policy_from_dict(data, bindings=bindings)


simple_buffers: st.SearchStrategy[BufferPolicy] = st.one_of(
    st.just(NoBuffer()),
    durations.map(FixedBuffer),
    st.floats(0, 5).map(ProportionalBuffer),
    st.builds(QuantileBuffer, st.floats(0.01, 0.99), st.integers(1, 100)),
    st.sampled_from(["hour", "half-hour", "quarter-hour", "end-of-day", "next-business-day"]).map(
        RoundUp
    ),
    durations.map(Cap),
    durations.map(Floor),
    st.builds(
        OptimalBuffer,
        st.builds(LinearLatenessCost, st.floats(0.1, 100), st.floats(0.1, 100), positive),
        quote_cost=st.floats(0, 10),
        points=st.integers(10, 5000),
    ),
)
buffers: st.SearchStrategy[BufferPolicy] = st.recursive(
    simple_buffers,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda items: Chain(*items)),
        st.lists(inner, min_size=1, max_size=3).map(lambda items: Later(*items)),
    ),
    max_leaves=6,
)
quotes = st.builds(
    Quote,
    start=moments,
    target=moments,
    due=moments,
    buffer=durations,
    business_buffer=st.none() | durations,
    window=durations,
    confidence=st.none() | st.floats(0, 1),
    policy=buffers,
    explanation=st.text(max_size=60),
)
escalation_values = st.one_of(
    escalations,
    grants,
    memories,
    evaluations,
    notices,
    actions,
    proposers,
    tracked_promises(),
    policies(),
    policies().map(lambda p: p.rules[-1]),
)
buffering_values = st.one_of(quotes, buffers, capabilities)


# --------------------------------------------------------------------------- round trips


@RELAXED
@given(escalation_values)
def test_escalation_values_round_trip(value: Any) -> None:
    text = to_json(value)
    assert from_json(text, type(value)) == value
    assert to_json(from_json(text, type(value))) == text
    json.dumps(to_dict(value), allow_nan=False)  # plain JSON types only


@RELAXED
@given(buffering_values)
def test_buffering_values_round_trip(value: Any) -> None:
    text = to_json(value)
    assert from_json(text, type(value)) == value
    assert to_json(from_json(text, type(value))) == text


@RELAXED
@given(tracked_promises())
def test_tracked_promise_round_trip_keeps_every_field(track: TrackedPromise) -> None:
    back = from_json(to_json(track), TrackedPromise)
    for field in attrs.fields(TrackedPromise):
        if field.init:
            assert getattr(back, field.name) == getattr(track, field.name), field.name
    assert back.customer_zone == track.customer_zone


@RELAXED
@given(actions)
def test_actions_read_through_their_base(action: Action) -> None:
    document = to_dict(action)
    assert document["type"] in {
        "notify_owner", "notify_customer", "escalate_to", "propose_revision", "compensate",
    }  # fmt: skip
    assert from_dict(document, Action) == action


@RELAXED
@given(buffers)
def test_buffer_policies_read_through_their_base(policy: BufferPolicy) -> None:
    assert from_dict(to_dict(policy), BufferPolicy) == policy


def test_empirical_samples_are_exact() -> None:
    data = [0, 1, 999_999, 10**15, 3, 3]
    capability = EmpiricalCapability([timedelta(microseconds=us) for us in data])
    document = to_dict(capability)
    assert document["durations_us"] == sorted(data)
    assert "label" not in document
    assert from_dict(document, Capability) == capability


def test_an_evaluation_of_a_real_policy_round_trips() -> None:
    policy = EscalationPolicy.from_toml(
        """
        [compensation]
        per_promise = "20.00"
        [[rules]]
        name = "half"
        when = "elapsed >= 50%"
        do = ["notify_owner", "propose_revision"]
        [[rules]]
        name = "late"
        when = "overdue"
        do = ["notify_customer:apology", "compensate:5", "escalate:2"]
        level = 2
        """,
        bindings={"capability": ParametricCapability.lognormal(timedelta(hours=4), 0.5)},
    )
    promise = Promise(
        id="P-1", customer_id="C-1", kind="repair", made_at=T0, due=T0 + timedelta(hours=8)
    )
    track = TrackedPromise(promise=promise)
    result = policy.evaluate(track, T0 + timedelta(hours=20))
    assert len(result) == 5
    assert from_json(to_json(result), Evaluation) == result
    assert from_json(to_json(policy), EscalationPolicy) == policy
    document = to_dict(result.escalations[1])
    assert document["action"]["proposer"]["type"] == "capability_proposer"
    assert document["action"]["proposer"]["capability"]["type"] == "parametric_capability"
    notice = result.escalations[2].draft(track)
    assert from_json(to_json(notice), Notice) == notice


def test_the_policy_document_is_the_policy_file_form() -> None:
    data = {
        "name": "ladder",
        "compensation": {"per_promise": "20.00"},
        "rules": [
            {"name": "half", "when": "elapsed >= 50%", "do": ["notify_owner"], "level": 1},
            {"name": "late", "when": "overdue >= 0s", "do": ["compensate:5"], "level": 2},
        ],
    }
    policy = policy_from_dict(data)
    document = to_dict(policy)
    assert document == {"schema": SCHEMA, "type": "escalation_policy", **data}
    assert (
        policy_from_dict({k: v for k, v in document.items() if k not in ("schema", "type")})
        == policy
    )


# --------------------------------------------------------------------------- code in values


def _propose(request: Any) -> datetime:
    return T0


def test_a_proposer_that_is_code_is_described_and_refused_on_reading() -> None:
    action = ProposeRevision(_propose)
    document = to_dict(action)
    assert document["proposer"] == {"type": "opaque", "class": f"{__name__}._propose"}
    with pytest.raises(SchemaError, match="cannot be read back") as info:
        from_dict(document, Action)
    assert info.value.path == "$.proposer"


@attrs.frozen
class _MyCapability:
    """An unregistered capability (attrs data, but not registered)."""

    hours: float

    def residual_quantile(self, q: float, elapsed: timedelta) -> timedelta:
        return timedelta(hours=self.hours)


def test_an_unregistered_capability_is_described_with_its_parameters() -> None:
    escalation = Escalation(
        rule="r",
        action=ProposeRevision(CapabilityProposer(_MyCapability(2.5), 0.8)),
        promise_id="P",
        customer_id="C",
        revision=0,
        level=1,
        occurrence=1,
        triggered_at=T0,
        at=T0,
        due=T0,
    )
    document = to_dict(escalation)
    capability = document["action"]["proposer"]["capability"]
    assert capability["type"] == "opaque"
    assert capability["parameters"] == {"hours": 2.5}
    with pytest.raises(SchemaError, match="cannot be read back") as info:
        from_dict(document, Escalation)
    assert info.value.path == "$.action.proposer.capability"


def test_compensation_by_policy_and_satisfaction_functions() -> None:
    action = Compensate(lambda request: Decimal(5), per_customer=Decimal(50))
    assert to_dict(action)["amount"]["type"] == "opaque"
    with pytest.raises(SchemaError, match="amount policy") as info:
        from_dict(to_dict(action), Action)
    assert info.value.path == "$.amount"
    optimal = OptimalBuffer(lambda lateness, window: 0.0)
    with pytest.raises(SchemaError, match="LinearLatenessCost") as info:
        from_json(to_json(optimal), BufferPolicy)
    assert info.value.path == "$.satisfaction"


def test_a_policy_that_has_no_exact_file_form_is_refused_on_writing() -> None:
    overdue = policy_from_dict({"rules": [{"name": "a", "when": "overdue", "do": "notify_owner"}]})
    when = overdue.rules[0].when
    rules = [
        Rule("a", when, Compensate(1, per_promise=5)),
        Rule("b", when, Compensate(1, per_promise=9)),
    ]
    with pytest.raises(SchemaError, match="different caps"):
        to_dict(EscalationPolicy(rules))


# --------------------------------------------------------------------------- errors


def _error(document: dict[str, Any], cls: type[Any]) -> SchemaError:
    with pytest.raises(SchemaError) as info:
        from_dict(document, cls)
    return info.value


def test_bad_documents_name_the_json_path() -> None:
    track = TrackedPromise(
        promise=Promise(id="P", customer_id="C", kind="k", made_at=T0, due=T0 + timedelta(1)),
        pauses=[
            Pause(T0 + timedelta(hours=1), T0 + timedelta(hours=2)),
            Pause(T0 + timedelta(hours=3)),
        ],
    )
    good = to_dict(track)
    bad = json.loads(json.dumps(good))
    bad["pauses"][1]["start"] = "2026-03-10T12:00:00"
    assert _error(bad, TrackedPromise).path == "$.pauses[1].start"
    bad = {**good, "locale": "de"}
    error = _error(bad, TrackedPromise)
    assert error.path == "$.locale" and "'de'" in str(error)
    bad = {**good, "colour": "red"}
    assert "unknown field 'colour'" in str(_error(bad, TrackedPromise))

    escalation = to_dict(
        Escalation(
            rule="r", action=EscalateTo(2), promise_id="P", customer_id="C", revision=0,
            level=1, occurrence=1, triggered_at=T0, at=T0, due=T0,
        )
    )  # fmt: skip
    assert _error({**escalation, "action": {"type": "launch"}}, Escalation).path == "$.action"
    error = _error({**escalation, "action": {"type": "escalate_to", "to": True}}, Escalation)
    assert error.path == "$.action.to" and "true" in str(error).lower()
    error = _error({**escalation, "action": {"type": "compensate", "amount": "5"}}, Escalation)
    assert error.path == "$.action" and "cap" in str(error)
    error = _error({**escalation, "action": {"type": "compensate", "amount": 5}}, Escalation)
    assert error.path == "$.action.amount"

    policy = to_dict(
        policy_from_dict({"rules": [{"name": "a", "when": "overdue", "do": ["notify_owner"]}]})
    )
    policy["rules"].append(
        {"name": "b", "when": "elapsed >= 50%", "do": ["notify_owner"], "level": 0}
    )
    assert _error(policy, EscalationPolicy).path == "$.rules[1].level"
    policy["rules"][1] = {"name": "b", "when": "at_risk >= 50%", "do": ["notify_owner"]}
    error = _error(policy, EscalationPolicy)
    assert error.path == "$.rules[1].when" and "bindings" in str(error)

    document = to_dict(EmpiricalCapability([1, 2, 3]))
    document["durations_us"][2] = 1.5
    assert _error(document, Capability).path == "$.durations_us[2]"
    quote = to_dict(
        Quote(T0, T0, T0, timedelta(0), None, timedelta(0), None, Chain(NoBuffer(), Cap(60)), "x")
    )
    quote["policy"]["policies"][1] = {"type": "cap", "max": 60}
    assert _error(quote, Quote).path == "$.policy.policies[1].max"
    quote["policy"] = {"type": "round_up", "to": "minute"}
    error = _error(quote, Quote)
    assert error.path == "$.policy.to" and "'minute'" in str(error)


def test_every_error_is_a_schema_error_subclassing_value_error() -> None:
    assert issubclass(SchemaError, InvalidValueError)
    with pytest.raises(InvalidValueError, match="family"):
        value_json_schema("ledger")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- JSON Schemas


def _schema_text(family: str) -> str:
    return json.dumps(value_json_schema(family), indent=2, ensure_ascii=False) + "\n"  # type: ignore[arg-type]


@pytest.mark.parametrize("family", ["escalation", "buffering"])
def test_committed_value_schemas_are_up_to_date(family: str) -> None:
    path = SCHEMA_DIR / f"{family}.schema.json"
    if os.environ.get("PROMISEKIT_WRITE_SCHEMA") == "1":
        path.write_text(_schema_text(family), encoding="utf-8")
    assert path.read_text(encoding="utf-8") == _schema_text(family), (
        f"docs/schema/{family}.schema.json is stale: regenerate it with "
        "PROMISEKIT_WRITE_SCHEMA=1 pytest tests/test_serialize_values.py -k committed"
    )


@functools.cache
def _validator(family: str) -> Any:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((SCHEMA_DIR / f"{family}.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@RELAXED
@given(escalation_values)
def test_escalation_documents_follow_the_committed_schema(value: Any) -> None:
    _validator("escalation").validate(to_dict(value))


@RELAXED
@given(buffering_values)
def test_buffering_documents_follow_the_committed_schema(value: Any) -> None:
    _validator("buffering").validate(to_dict(value))


def test_the_schemas_reject_bad_documents() -> None:
    validator = _validator("escalation")
    good = to_dict(
        Escalation(
            rule="r", action=NotifyOwner(), promise_id="P", customer_id="C", revision=0,
            level=1, occurrence=1, triggered_at=T0, at=T0, due=T0,
        )
    )  # fmt: skip
    assert validator.is_valid(good)
    for bad in (
        {**good, "at": "2026-03-10T09:00:00"},
        {**good, "action": {"type": "launch"}},
        {**good, "colour": "red"},
        {**good, "schema": "promisekit/2"},
        {k: v for k, v in good.items() if k != "due"},
    ):
        assert not validator.is_valid(bad), bad
    buffering = _validator("buffering")
    good = to_dict(EmpiricalCapability([1, 2]))
    assert buffering.is_valid(good)
    assert not buffering.is_valid({**good, "durations_us": [-1]})
    assert not buffering.is_valid({**good, "durations_us": []})


# --------------------------------------------------------------------------- layering


def test_serialize_loads_escalation_and_buffering_only_when_needed() -> None:
    code = (
        "import sys\n"
        "import promisekit.escalation, promisekit.buffering\n"
        "assert 'promisekit.serialize' not in sys.modules, 'a package imports serialize'\n"
        "del sys.modules['promisekit.escalation'], sys.modules['promisekit.buffering']\n"
        "for name in [m for m in sys.modules if m.startswith(('promisekit.escalation', "
        "'promisekit.buffering'))]:\n"
        "    del sys.modules[name]\n"
        "from datetime import datetime, timezone\n"
        "from promisekit.promise import Promise\n"
        "from promisekit.serialize import to_json\n"
        "t = datetime(2026, 1, 1, tzinfo=timezone.utc)\n"
        "to_json(Promise(id='P', customer_id='C', kind='k', made_at=t, due=t))\n"
        "assert 'promisekit.escalation' not in sys.modules\n"
        "assert 'promisekit._serialize_escalation' not in sys.modules\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_a_class_in_a_nested_private_module_finds_its_provider() -> None:
    # In a fresh interpreter nothing is registered yet: writing a capability defined in
    # promisekit.buffering._capability._point must load promisekit.buffering's forms.
    import subprocess
    import sys

    code = (
        "from datetime import timedelta; "
        "from promisekit.buffering import PointCapability; "
        "from promisekit.serialize import to_json; "
        "print(to_json(PointCapability(timedelta(minutes=5))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert '"type":"point_capability"' in out
