"""Queue-aware quotes: open promises, head-of-line wait, the QL and HOL predictors."""

from __future__ import annotations

import heapq

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promisekit.buffering import (
    HeadOfLinePredictor,
    HistoryColumns,
    QueueLengthPredictor,
    head_of_line_wait,
    open_promises,
    queue_features,
    rase,
)
from promisekit.buffering._features import select_rows
from promisekit.errors import InsufficientDataError, InvalidValueError

MIN = 60_000_000


def mms(n: int, servers: int, rate: float, service_min: float, seed: int) -> HistoryColumns:
    """A first-come-first-served M/M/s queue; duration = wait + service."""
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(1 / rate, n)) * MIN
    service = rng.exponential(service_min, n) * MIN
    free = [0.0] * servers
    done = np.empty(n)
    for i in range(n):
        start = max(arrivals[i], heapq.heappop(free))
        done[i] = start + service[i]
        heapq.heappush(free, done[i])
    t = arrivals.astype(np.int64)
    h = HistoryColumns(t, done.astype(np.int64))
    return HistoryColumns(t, h.completed_us, features=queue_features(h))


class TestFeatures:
    @given(st.lists(st.tuples(st.integers(0, 100), st.integers(0, 50)), min_size=1, max_size=40))
    @settings(max_examples=80)
    def test_open_promises_and_head_of_line_by_brute_force(
        self, rows: list[tuple[int, int]]
    ) -> None:
        req = np.array([r for r, _ in rows], dtype=np.int64)
        done = req + np.array([d for _, d in rows], dtype=np.int64)
        h = HistoryColumns(req, done)
        opened = open_promises(h)
        hol = head_of_line_wait(h)
        for i, t in enumerate(req.tolist()):
            others = [j for j in range(len(req)) if req[j] < t and done[j] > t]
            assert opened[i] == len(others)
            expected = (t - min(req[j] for j in others)) / 1e6 if others else 0.0
            assert hol[i] == pytest.approx(expected)

    def test_no_look_ahead(self) -> None:
        h = mms(300, 2, 1.0, 1.5, 0)
        early = select_rows(h, np.arange(300) < 150)
        whole = queue_features(h)
        # Features of the first 150 requests do not change when later ones are added,
        # except through completions before each request time (none are later).
        part = queue_features(HistoryColumns(early.requested_us, early.completed_us))
        assert np.array_equal(part["open"], whole["open"][:150])


class TestPredictors:
    def test_state_dependent_predictors_beat_a_constant(self) -> None:
        h = mms(6000, 3, 2.6, 1.0, 1)
        past = select_rows(h, np.arange(len(h)) < 3000)
        test = select_rows(h, np.arange(len(h)) >= 3000)
        y = (test.completed_us - test.requested_us).astype(float)
        constant = np.full(len(test), float((past.completed_us - past.requested_us).mean()))
        ql = QueueLengthPredictor(q=0.9, servers=3).fit_columns(past)
        hol = HeadOfLinePredictor(q=0.9, servers=3).fit_columns(past)
        r_const = rase(y, constant)
        r_ql = rase(y, ql.point_columns(test))
        r_hol = rase(y, hol.point_columns(test))
        assert r_ql < 0.9 * r_const
        assert r_hol < r_const
        # QL's slope is about 1 / (s mu) = 1/3 min per request ahead.
        assert ql.b / MIN == pytest.approx(1 / 3, rel=0.2)
        for quoter in (ql, hol):
            quotes = quoter.quote_columns(test)
            coverage = float((y <= quotes.window_us).mean())
            assert coverage == pytest.approx(0.9, abs=0.03)
            assert np.all(quotes.confidence == 0.9)

    def test_missing_feature_and_errors(self) -> None:
        t = np.arange(10, dtype=np.int64) * MIN
        bare = HistoryColumns(t, t + MIN)
        with pytest.raises(InvalidValueError, match="queue_features"):
            QueueLengthPredictor().fit_columns(bare)
        with pytest.raises(InvalidValueError, match="'servers'"):
            QueueLengthPredictor(servers=0)
        with pytest.raises(InvalidValueError, match="'q'"):
            HeadOfLinePredictor(q=2.0)
        one = HistoryColumns(t[:1], t[:1] + MIN, features={"open": np.zeros(1)})
        with pytest.raises(InsufficientDataError, match="at least 2"):
            QueueLengthPredictor().fit_columns(one)
        with pytest.raises(InvalidValueError, match="one length"):
            rase([1.0, 2.0], [1.0])

    def test_constant_queue_falls_back_to_the_mean(self) -> None:
        t = np.arange(20, dtype=np.int64) * MIN
        h = HistoryColumns(t, t + 3 * MIN, features={"open": np.zeros(20)})
        quoter = QueueLengthPredictor(q=0.5).fit_columns(h)
        assert quoter.b == 0.0
        assert quoter.quote_columns(h).window_us[0] == 3 * MIN
