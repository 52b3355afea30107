"""promisekit.typing: light to import, and the built-ins satisfy its Protocols (mypy too)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from promisekit import escalation, satisfaction
from promisekit import typing as pk_typing
from promisekit.buffering import FixedBuffer, QuantileBuffer
from promisekit.escalation import DEFAULT_REGISTRY, Elapsed, EscalateTo, NotifyOwner
from promisekit.satisfaction import Disconfirmation, ZoneOfTolerance


def test_exports() -> None:
    assert pk_typing.__all__ == sorted(pk_typing.__all__)
    for name in pk_typing.__all__:
        value = getattr(pk_typing, name)
        assert value is not None
    assert set(pk_typing.__all__) <= set(dir(pk_typing))
    for name in ("Action", "BufferPolicy", "Trigger"):
        assert "versionadded" in (getattr(pk_typing, name).__doc__ or "")
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        pk_typing.Nope  # type: ignore[attr-defined]  # noqa: B018


def test_reexports_are_the_original_definitions() -> None:
    assert pk_typing.SatisfactionModel is satisfaction.SatisfactionModel
    assert pk_typing.TriggerFactory is escalation.TriggerFactory
    assert pk_typing.ActionFactory is escalation.ActionFactory


def test_import_is_light() -> None:
    code = (
        "import sys, promisekit.typing\n"
        "heavy = ('promisekit.satisfaction', 'promisekit.buffering', 'promisekit.escalation',\n"
        "         'promisekit.plugins', 'numpy', 'hypothesis', 'importlib.metadata')\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""


def test_builtins_satisfy_the_protocols() -> None:
    # The annotations are checked by mypy; the asserts by the runtime protocols.
    policies: list[pk_typing.BufferPolicy] = [FixedBuffer(60), QuantileBuffer(0.9)]
    triggers: list[pk_typing.Trigger] = [Elapsed(0.5), Elapsed(0.5) & ~escalation.Revised(1)]
    actions: list[pk_typing.Action] = [NotifyOwner(), EscalateTo("manager")]
    models: list[pk_typing.SatisfactionModel] = [Disconfirmation(), ZoneOfTolerance(0.0, 0.5)]
    trigger_factory: pk_typing.TriggerFactory = DEFAULT_REGISTRY.triggers["elapsed"]
    action_factory: pk_typing.ActionFactory = DEFAULT_REGISTRY.actions["escalate"]
    for policy in policies:
        assert isinstance(policy, pk_typing.BufferPolicy)
    for trigger in triggers:
        assert isinstance(trigger, pk_typing.Trigger)
    for action in actions:
        assert isinstance(action, pk_typing.Action)
    for model in models:
        assert isinstance(model, pk_typing.SatisfactionModel)
    assert trigger_factory(">=", "50%", {}) == Elapsed(0.5)
    assert action_factory("manager", {}) == EscalateTo("manager")
    assert not isinstance(NotifyOwner(), pk_typing.Trigger)
    assert not isinstance(Elapsed(0.5), pk_typing.BufferPolicy)


def test_plugin_groups_literal_matches_the_registry() -> None:
    from typing import get_args

    from promisekit import plugins

    assert get_args(pk_typing.PluginGroup) == plugins.GROUPS
