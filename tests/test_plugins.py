"""promisekit.plugins: built-ins, discovery without import, register, block lists, the example."""

from __future__ import annotations

import importlib.metadata
import pickle
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import attrs
import pytest

from promisekit import plugins
from promisekit.buffering import BufferPolicy, FixedBuffer, QuoteContext
from promisekit.errors import InvalidTypeError, InvalidValueError, PromiseKitError
from promisekit.escalation import DEFAULT_REGISTRY, Elapsed, NotifyOwner, Trigger
from promisekit.plugins import PluginError
from promisekit.satisfaction import Disconfirmation, ZoneOfTolerance

EXAMPLE = "promisekit-plugin-example"
INSTALL_EXAMPLE = "python3 -m pip install ./examples/plugin-example"

BUILTIN_MODELS = ("disconfirmation", "zone_of_tolerance")
BUILTIN_POLICIES = (
    "cap",
    "chain",
    "fixed_buffer",
    "floor",
    "later",
    "no_buffer",
    "optimal_buffer",
    "proportional_buffer",
    "quantile_buffer",
    "round_up",
)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(plugins.DISABLE_AUTOLOAD_ENV, raising=False)
    monkeypatch.delenv(plugins.BLOCKED_ENV, raising=False)
    yield
    for group in plugins.GROUPS:
        for name in [n for n in plugins._REGISTERED[group] if n.startswith("test_")]:
            plugins.unregister(group, name)


def _builtin_names(group: str) -> tuple[str, ...]:
    return tuple(info.name for info in plugins.entries(group) if info.builtin)


# --------------------------------------------------------------------------- built-ins


def test_groups_and_constants() -> None:
    assert plugins.GROUPS == (
        "promisekit.actions",
        "promisekit.buffer_policies",
        "promisekit.satisfaction_models",
        "promisekit.triggers",
    )
    assert tuple(sorted(plugins.GROUPS)) == plugins.GROUPS
    assert plugins.__all__ == sorted(plugins.__all__, key=lambda n: (not n.isupper(), n))


def test_builtins_are_registered_through_entry_points() -> None:
    assert _builtin_names(plugins.SATISFACTION_MODELS) == BUILTIN_MODELS
    assert _builtin_names(plugins.BUFFER_POLICIES) == BUILTIN_POLICIES
    assert _builtin_names(plugins.TRIGGERS) == tuple(sorted(DEFAULT_REGISTRY.triggers))
    assert _builtin_names(plugins.ACTIONS) == tuple(sorted(DEFAULT_REGISTRY.actions))
    dist = importlib.metadata.distribution("promisekit")
    declared = {ep.group for ep in dist.entry_points if ep.group.startswith("promisekit.")}
    assert declared == set(plugins.GROUPS)


def test_builtin_models_and_policies_load() -> None:
    assert plugins.load(plugins.SATISFACTION_MODELS, "disconfirmation") is Disconfirmation
    assert plugins.load(plugins.SATISFACTION_MODELS, "zone_of_tolerance") is ZoneOfTolerance
    assert plugins.load(plugins.BUFFER_POLICIES, "fixed_buffer") is FixedBuffer
    for name in BUILTIN_POLICIES:
        loaded = plugins.load(plugins.BUFFER_POLICIES, name)
        assert issubclass(loaded, BufferPolicy)
        assert _snake(loaded.__name__) == name


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def test_trigger_and_action_names_resolve_to_the_escalation_factories() -> None:
    for name, trigger_factory in DEFAULT_REGISTRY.triggers.items():
        assert plugins.load(plugins.TRIGGERS, name) is trigger_factory
    for name, action_factory in DEFAULT_REGISTRY.actions.items():
        assert plugins.load(plugins.ACTIONS, name) is action_factory
    elapsed = plugins.load(plugins.TRIGGERS, "elapsed")
    assert elapsed(">=", "50%", {}) == Elapsed(0.5)
    assert plugins.load(plugins.ACTIONS, "notify_owner")(None, {}) == NotifyOwner()


def test_available_is_sorted_and_imports_nothing() -> None:
    code = (
        "import sys\n"
        "from promisekit import plugins\n"
        "names = [plugins.available(g) for g in plugins.GROUPS]\n"
        "assert all(list(n) == sorted(n) for n in names)\n"
        "plugins.entries(plugins.TRIGGERS)\n"
        "heavy = ('promisekit.satisfaction', 'promisekit.buffering', 'promisekit.escalation',\n"
        "         'promisekit_plugin_example', 'numpy', 'hypothesis')\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""


def test_importing_promisekit_does_not_import_the_registry() -> None:
    code = "import sys, promisekit; print('promisekit.plugins' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_unknown_group_and_name() -> None:
    with pytest.raises(InvalidValueError, match=r"'group' must be one of promisekit\.actions"):
        plugins.available("promisekit.widgets")
    with pytest.raises(InvalidTypeError, match="'group' must be a plugin group name"):
        plugins.load(None, "x")  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="'name' must be a plugin name"):
        plugins.load(plugins.TRIGGERS, 3)  # type: ignore[arg-type]
    with pytest.raises(PluginError) as caught:
        plugins.load(plugins.TRIGGERS, "nope")
    assert str(caught.value) == (
        "no plugin named 'nope' in promisekit.triggers (available: "
        + ", ".join(plugins.available(plugins.TRIGGERS))
        + ")"
    )
    assert caught.value.group == plugins.TRIGGERS
    assert caught.value.plugin == "nope"
    assert caught.value.distribution is None


def test_plugin_error_is_a_promisekit_error_and_an_import_error() -> None:
    error = PluginError("boom", plugins.ACTIONS, "x", "acme")
    assert isinstance(error, PromiseKitError)
    assert isinstance(error, ImportError)
    copy = pickle.loads(pickle.dumps(error))
    assert (str(copy), copy.group, copy.plugin, copy.distribution) == (
        "boom",
        plugins.ACTIONS,
        "x",
        "acme",
    )


def test_plugin_info() -> None:
    info = plugins.entries(plugins.SATISFACTION_MODELS)[0]
    assert info == plugins.PluginInfo(
        plugins.SATISFACTION_MODELS,
        "disconfirmation",
        "promisekit",
        "promisekit.satisfaction:Disconfirmation",
        "enabled",
    )
    assert info.builtin
    assert info.label == "promisekit[disconfirmation]"


# --------------------------------------------------------------------------- register


@attrs.frozen
class _Margin(BufferPolicy):
    def apply(self, context: QuoteContext, due: datetime) -> datetime:
        return context.advance(due, timedelta(minutes=5))


def _factory(op: str | None, value: str | None, bindings: object) -> Trigger:
    return Elapsed(0.25)


def test_register_load_and_unregister() -> None:
    assert "test_margin" not in plugins.available(plugins.BUFFER_POLICIES)
    plugins.register(plugins.BUFFER_POLICIES, "test_margin", _Margin)
    assert "test_margin" in plugins.available(plugins.BUFFER_POLICIES)
    assert plugins.load(plugins.BUFFER_POLICIES, "test_margin") is _Margin
    assert plugins.entries(plugins.BUFFER_POLICIES)[-1] == plugins.PluginInfo(
        plugins.BUFFER_POLICIES, "test_margin", None, None
    )
    assert plugins.entries(plugins.BUFFER_POLICIES)[-1].label == "register()[test_margin]"
    plugins.register(plugins.TRIGGERS, "test_quarter", _factory)
    assert plugins.load(plugins.TRIGGERS, "test_quarter")(None, None, {}) == Elapsed(0.25)
    plugins.register(plugins.SATISFACTION_MODELS, "test_model", Disconfirmation())
    assert plugins.load(plugins.SATISFACTION_MODELS, "test_model") == Disconfirmation()
    plugins.unregister(plugins.BUFFER_POLICIES, "test_margin")
    assert "test_margin" not in plugins.available(plugins.BUFFER_POLICIES)
    with pytest.raises(InvalidValueError, match="no plugin registered under 'test_margin'"):
        plugins.unregister(plugins.BUFFER_POLICIES, "test_margin")


def test_register_refuses_taken_names_unless_replacing() -> None:
    with pytest.raises(InvalidValueError, match=r'already taken .* by "promisekit\[cap\]"'):
        plugins.register(plugins.BUFFER_POLICIES, "cap", _Margin)
    plugins.register(plugins.BUFFER_POLICIES, "test_cap", _Margin)
    with pytest.raises(
        InvalidValueError, match=r"already taken .* by \"register\(\)\[test_cap\]\""
    ):
        plugins.register(plugins.BUFFER_POLICIES, "test_cap", FixedBuffer)
    plugins.register(plugins.BUFFER_POLICIES, "test_cap", FixedBuffer, replace=True)
    assert plugins.load(plugins.BUFFER_POLICIES, "test_cap") is FixedBuffer


def test_a_registered_plugin_wins_over_an_entry_point_when_replacing() -> None:
    plugins.register(plugins.ACTIONS, "notify_owner", _action_factory, replace=True)
    try:
        assert plugins.load(plugins.ACTIONS, "notify_owner") is _action_factory
        assert plugins.available(plugins.ACTIONS).count("notify_owner") == 1
    finally:
        plugins.unregister(plugins.ACTIONS, "notify_owner")
    assert plugins.load(plugins.ACTIONS, "notify_owner") is DEFAULT_REGISTRY.actions["notify_owner"]


def _action_factory(argument: str | None, bindings: object) -> NotifyOwner:
    return NotifyOwner(argument)


@pytest.mark.parametrize(
    ("group", "obj", "message"),
    [
        (plugins.BUFFER_POLICIES, object, "subclass .* of promisekit.buffering.BufferPolicy"),
        (plugins.BUFFER_POLICIES, len, "BufferPolicy, got the builtin_function_or_method"),
        (plugins.SATISFACTION_MODELS, FixedBuffer, "with score.* and score_many"),
        (plugins.SATISFACTION_MODELS, 42, r"got a int \(42\)"),
        (plugins.TRIGGERS, Elapsed, "register a function that builds a Elapsed"),
        (plugins.TRIGGERS, "elapsed", r"\(op, value, bindings\) -> Trigger"),
        (plugins.TRIGGERS, _action_factory, "with signature"),
        (plugins.ACTIONS, NotifyOwner, "register a function that builds a NotifyOwner"),
        (plugins.ACTIONS, _factory, "with signature"),
    ],
)
def test_register_checks_the_type(group: str, obj: object, message: str) -> None:
    with pytest.raises(InvalidTypeError, match=f"cannot register 'test_x' in {group}: .*{message}"):
        plugins.register(group, "test_x", obj)


@pytest.mark.parametrize("name", ["Fancy", "2fast", "with-dash", "", "a b"])
def test_register_checks_the_name(name: str) -> None:
    with pytest.raises(InvalidValueError, match="lowercase letters, digits and '_'"):
        plugins.register(plugins.ACTIONS, name, _action_factory)


# --------------------------------------------------------------------------- env and blocks


def test_disable_autoload_keeps_the_builtins(monkeypatch: pytest.MonkeyPatch) -> None:
    everything = plugins.available(plugins.SATISFACTION_MODELS)
    monkeypatch.setenv(plugins.DISABLE_AUTOLOAD_ENV, "1")
    assert plugins.available(plugins.SATISFACTION_MODELS) == BUILTIN_MODELS
    assert plugins.load(plugins.SATISFACTION_MODELS, "disconfirmation") is Disconfirmation
    for value in ("0", "", "false", "No", "off"):
        monkeypatch.setenv(plugins.DISABLE_AUTOLOAD_ENV, value)
        assert plugins.available(plugins.SATISFACTION_MODELS) == everything


def test_block_builtins_by_name_or_distribution(monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = plugins.available(plugins.BUFFER_POLICIES, blocked=["promisekit[cap]"])
    assert "cap" not in blocked
    assert "floor" in blocked
    assert set(plugins.available(plugins.BUFFER_POLICIES, blocked="Promisekit")).isdisjoint(
        BUILTIN_POLICIES
    )
    with pytest.raises(PluginError, match=r'"promisekit\[cap\]" .* is not loaded: it is blocked'):
        plugins.load(plugins.BUFFER_POLICIES, "cap", blocked=["promisekit[cap]"])
    monkeypatch.setenv(plugins.BLOCKED_ENV, " promisekit[floor] , promisekit[round_up],")
    names = plugins.available(plugins.BUFFER_POLICIES, blocked="promisekit[cap]")
    assert {"cap", "floor", "round_up"}.isdisjoint(names)
    statuses = {i.name: i.status for i in plugins.entries(plugins.BUFFER_POLICIES)}
    assert statuses["floor"] == "blocked"
    assert statuses["later"] == "enabled"


@pytest.mark.parametrize("bad", ["acme[", "acme[a][b]", "[name]", "ac me"])
def test_malformed_block_lists(monkeypatch: pytest.MonkeyPatch, bad: str) -> None:
    with pytest.raises(InvalidValueError, match="'blocked' must list plugins"):
        plugins.available(plugins.ACTIONS, blocked=[bad])
    monkeypatch.setenv(plugins.BLOCKED_ENV, bad)
    with pytest.raises(InvalidValueError, match=f"{plugins.BLOCKED_ENV} must list plugins"):
        plugins.available(plugins.ACTIONS)


def test_block_list_type() -> None:
    with pytest.raises(InvalidTypeError, match="'blocked' must hold strings"):
        plugins.available(plugins.ACTIONS, blocked=[3])  # type: ignore[list-item]
    with pytest.raises(InvalidTypeError, match="'blocked' must be an iterable"):
        plugins.available(plugins.ACTIONS, blocked=3)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- the example plugin


def _require_example() -> importlib.metadata.Distribution:
    try:
        return importlib.metadata.distribution(EXAMPLE)
    except importlib.metadata.PackageNotFoundError:
        pytest.fail(
            f"the example plugin {EXAMPLE!r} is not installed; the plugin tests need it: "
            f"run `{INSTALL_EXAMPLE}` in this environment first"
        )


def test_the_example_plugin_is_discovered_and_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    _require_example()
    expected = {
        plugins.SATISFACTION_MODELS: ("parcel_delivery", "ParcelDeliveryCurve"),
        plugins.BUFFER_POLICIES: ("safety_margin", "SafetyMargin"),
        plugins.ACTIONS: ("post_to_chat", "post_to_chat"),
    }
    for group, (name, attribute) in expected.items():
        assert name in plugins.available(group)
        info = next(i for i in plugins.entries(group) if i.name == name)
        assert (info.distribution, info.builtin, info.status) == (EXAMPLE, False, "enabled")
        assert plugins.load(group, name).__name__ == attribute
    curve = plugins.load(plugins.SATISFACTION_MODELS, "parcel_delivery")()
    start = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)
    from promisekit.satisfaction import Expectation

    expectation = Expectation(kind="parcel", made_at=start, due=start + timedelta(days=3))
    late = curve.score(expectation, expectation.completed(start + timedelta(days=4)))
    assert late.label.name == "DISSATISFIED"
    monkeypatch.setenv(plugins.DISABLE_AUTOLOAD_ENV, "1")
    assert "parcel_delivery" not in plugins.available(plugins.SATISFACTION_MODELS)
    with pytest.raises(PluginError, match="third-party plugins are disabled"):
        plugins.load(plugins.SATISFACTION_MODELS, "parcel_delivery")
    monkeypatch.delenv(plugins.DISABLE_AUTOLOAD_ENV)
    monkeypatch.setenv(plugins.BLOCKED_ENV, "promisekit_plugin_example")
    assert "post_to_chat" not in plugins.available(plugins.ACTIONS)
    assert "parcel_delivery" not in plugins.available(plugins.SATISFACTION_MODELS, blocked=[])
    assert "disconfirmation" in plugins.available(plugins.SATISFACTION_MODELS)


def test_module_doctests() -> None:
    import doctest

    result = doctest.testmod(plugins, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
