"""The conditional and calibrated models run inside the columnar backtest."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

np = pytest.importorskip("numpy")

from promisekit.buffering import (  # noqa: E402
    ConditionalQuantileBuffer,
    ConformalBuffer,
    HistoryColumns,
    QuantileBuffer,
    backtest_columns,
)

MIN = 60_000_000


def _history(n: int = 3000) -> HistoryColumns:
    rng = np.random.default_rng(1)
    start = int(datetime(2026, 1, 5, tzinfo=timezone.utc).timestamp() * 1e6)
    requested = np.sort(start + rng.integers(0, 120 * 24 * 60, n) * MIN)
    team = rng.choice(np.array(["a", "b"], dtype=object), n)
    hour = (requested // (60 * MIN)) % 24
    median = np.where(np.isin(hour, [8, 9, 16, 17]), 50.0, 25.0)
    durations = (median * np.exp(0.3 * rng.standard_normal(n)) * MIN).astype(np.int64)
    return HistoryColumns(
        requested,
        requested + durations,
        zone="UTC",
        segment=team,
        reference_us=requested + 35 * MIN,
    )


def test_conditional_and_conformal_policies_are_refitted_and_scored_per_period() -> None:
    history = _history()
    model = ConditionalQuantileBuffer(q=0.9, by=("segment", "hour"))
    result = backtest_columns(
        history,
        {"q90": QuantileBuffer(0.9), "cond": model, "conf": ConformalBuffer(model)},
        period="M",
        score_from=datetime(2026, 2, 1, tzinfo=timezone.utc),
    )
    for name in ("q90", "cond", "conf"):
        total = result.row(name)
        assert total.n_quoted > 2000
        # Stated 90 %: each policy keeps close to it on this stationary history.
        assert 0.85 <= total.on_time_rate <= 0.95
    # Conditioning on the hour spends the window where the work is slow: at a similar
    # on-time rate the conditional policy needs a shorter mean window than one quantile.
    assert result.row("cond").mean_window < result.row("q90").mean_window
    months = {row.period for row in result.rows if row.policy == "cond"}
    assert {"2026-02", "2026-03", "2026-04"} <= months


def _ledger_events() -> list[Any]:
    from promisekit.ledger import DeliveryRecorded, PromiseCancelled, PromiseMade

    t0 = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)
    hour = timedelta(hours=1)

    def common(event_id: str, at: datetime, promise_id: str) -> dict[str, Any]:
        return {"id": event_id, "promise_id": promise_id, "at": at, "recorded_at": at}

    def made(promise_id: str, at: datetime, kind: str) -> Any:
        return PromiseMade(
            **common(f"{promise_id}-m", at, promise_id),
            customer_id="C",
            kind=kind,
            due=at + 2 * hour,
        )

    return [
        made("P-1", t0, "callback"),
        made("P-2", t0 + hour, "callback"),
        made("P-3", t0 + 2 * hour, "repair"),
        made("P-4", t0 + 9 * hour, "callback"),  # after `now`: not read
        DeliveryRecorded(**common("P-1-d", t0 + 3 * hour, "P-1")),
        PromiseCancelled(**common("P-2-c", t0 + 90 * timedelta(minutes=1), "P-2")),
        DeliveryRecorded(**common("P-4-d", t0 + 10 * hour, "P-4")),
    ]


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_history_columns_from_a_ledger_feed_the_queue_features(store: str, tmp_path: Any) -> None:
    from promisekit.buffering import open_promises
    from promisekit.ledger import PromiseLedger
    from promisekit.store import SQLiteLedger

    events = _ledger_events()
    ledger: Any = PromiseLedger(events)
    if store == "sqlite":
        ledger = SQLiteLedger(tmp_path / "ledger.db")
        ledger.append_many(events)
    t0 = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)
    now = t0 + timedelta(hours=5)
    history = HistoryColumns.from_ledger(ledger, now=now)
    micros = lambda moment: int(moment.timestamp()) * 1_000_000  # noqa: E731
    assert list(history.requested_us) == [micros(t0 + timedelta(hours=h)) for h in (0, 1, 2)]
    assert list(history.completed_us) == [
        micros(t0 + timedelta(hours=3)),  # delivered
        micros(t0 + timedelta(minutes=90)),  # cancelled: it left the queue
        np.iinfo(np.int64).max,  # still open at `now`
    ]
    assert list(history.reference_us) == [micros(t0 + timedelta(hours=h + 2)) for h in (0, 1, 2)]
    assert list(history.segment) == ["callback", "callback", "repair"]
    # P-2 was made while P-1 was open; P-3 while P-1 was (P-2 had been cancelled).
    assert list(open_promises(history)) == [0.0, 1.0, 1.0]
    plain = HistoryColumns.from_ledger(ledger, now=now, segment=None, zone="Europe/Paris")
    assert plain.segment is None and plain.zone == "Europe/Paris"
    labelled = HistoryColumns.from_ledger(ledger, now=now, segment=lambda s: s.promise_id)
    assert list(labelled.segment) == ["P-1", "P-2", "P-3"]


def test_history_columns_from_a_ledger_refuses_bad_arguments() -> None:
    from promisekit.errors import InvalidTypeError, NaiveDatetimeError
    from promisekit.ledger import PromiseLedger

    ledger = PromiseLedger(_ledger_events())
    with pytest.raises(NaiveDatetimeError, match="now"):
        HistoryColumns.from_ledger(ledger, now=datetime(2026, 3, 10))
    with pytest.raises(InvalidTypeError, match="segment"):
        HistoryColumns.from_ledger(ledger, now=datetime.now(timezone.utc), segment=3)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="ledger"):
        HistoryColumns.from_ledger(object(), now=datetime.now(timezone.utc))
