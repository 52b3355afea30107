"""The example plugin's objects pass promisekit's contract suites."""

from __future__ import annotations

from datetime import timedelta

import pytest
from promisekit.testing.contracts import (
    check_action,
    check_buffer_policy,
    check_satisfaction_model,
)

from promisekit_plugin_example.chat import PostToChat
from promisekit_plugin_example.margin import SafetyMargin
from promisekit_plugin_example.parcel import ParcelDeliveryCurve


@pytest.mark.parametrize(
    "model",
    [ParcelDeliveryCurve(), ParcelDeliveryCurve(gain=0.1, gain_cap=1.0, loss=2.0, breach=0.0)],
)
def test_parcel_curve_keeps_the_contract(model: ParcelDeliveryCurve) -> None:
    assert model.loss_averse  # so the suite checks loss aversion too
    check_satisfaction_model(model, max_examples=40)


def test_safety_margin_keeps_the_contract() -> None:
    check_buffer_policy(SafetyMargin(0.25, timedelta(minutes=30)), max_examples=40)


def test_post_to_chat_keeps_the_contract() -> None:
    check_action(PostToChat("#support", message="a promise is slipping"), max_examples=25)


def test_a_curve_that_is_not_loss_averse_is_caught() -> None:
    generous = ParcelDeliveryCurve(gain=3.0, gain_cap=10.0, loss=1.0, breach=0.0)
    with pytest.raises(AssertionError, match="'loss averse'"):
        check_satisfaction_model(generous, max_examples=40, loss_averse=True)
