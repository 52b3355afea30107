"""The example plugin is found through its entry points and works inside promisekit."""

from __future__ import annotations

import doctest
from datetime import datetime, timedelta, timezone

import pytest
from promisekit import plugins
from promisekit.escalation import DEFAULT_REGISTRY, NotifyOwner, TrackedPromise, policy_from_toml
from promisekit.promise import Promise

import promisekit_plugin_example
from promisekit_plugin_example import chat, margin, parcel
from promisekit_plugin_example.chat import PostToChat, post_to_chat
from promisekit_plugin_example.margin import SafetyMargin
from promisekit_plugin_example.parcel import ParcelDeliveryCurve

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)


def test_entry_points_are_found_and_loaded() -> None:
    assert "parcel_delivery" in plugins.available(plugins.SATISFACTION_MODELS)
    assert "safety_margin" in plugins.available(plugins.BUFFER_POLICIES)
    assert "post_to_chat" in plugins.available(plugins.ACTIONS)
    assert plugins.load(plugins.SATISFACTION_MODELS, "parcel_delivery") is ParcelDeliveryCurve
    assert plugins.load(plugins.BUFFER_POLICIES, "safety_margin") is SafetyMargin
    assert plugins.load(plugins.ACTIONS, "post_to_chat") is post_to_chat
    info = {i.name: i for i in plugins.entries(plugins.ACTIONS)}["post_to_chat"]
    assert info.distribution == "promisekit-plugin-example"
    assert info.label == "promisekit-plugin-example[post_to_chat]"


def test_the_action_in_a_policy_file() -> None:
    registry = DEFAULT_REGISTRY.copy()
    registry.register_action("post_to_chat", plugins.load(plugins.ACTIONS, "post_to_chat"))
    policy = policy_from_toml(
        """
        [[rules]]
        name = "late"
        when = "overdue"
        do = ["post_to_chat:#support", "notify_owner"]
        """,
        registry=registry,
    )
    promise = Promise(
        id="P-1", customer_id="C-1", kind="parcel", made_at=T0, due=T0 + timedelta(days=2)
    )
    fired = policy.evaluate(TrackedPromise(promise=promise), T0 + timedelta(days=3))
    assert [e.action for e in fired] == [PostToChat("#support"), NotifyOwner()]
    assert policy.to_dict()["rules"][0]["do"] == ["post_to_chat:#support", "notify_owner"]


def test_the_factory_needs_a_channel() -> None:
    assert post_to_chat(None, {"chat_channel": "#ops"}) == PostToChat("#ops")
    with pytest.raises(ValueError, match="needs a channel"):
        post_to_chat(None, {})


def test_the_policy_in_a_quote() -> None:
    from promisekit.buffering import FixedBuffer, PointCapability

    policy = plugins.load(plugins.BUFFER_POLICIES, "safety_margin")(0.5) + FixedBuffer(0)
    quote = policy.quote(T0, PointCapability(timedelta(hours=2)), what="repair")
    assert quote.due == T0 + timedelta(hours=3)
    assert "+60 min safety margin" in quote.explanation


@pytest.mark.parametrize("module", [promisekit_plugin_example, chat, margin, parcel])
def test_doctests(module: object) -> None:
    result = doctest.testmod(module)  # type: ignore[arg-type]
    assert result.failed == 0
