"""Quote quality at equal mean window: conditional, calibrated and budgeted quotes.

Run: ``python benchmarks/quote_quality.py`` (``--small`` for the test-sized data set).

A synthetic year of scheduled services (Europe/Paris): 12 routes in 4 regions (one
busy route and two thin ones per region), durations with hour-of-day, weekday and
seasonal effects, a drift over the year (faster in one region), and a published
schedule per route and hour band that encodes the route's scale and half of the
rush-hour effect (no weekday, season or drift). The replay refits every policy at the
start of each month on the records completed before it (no look-ahead) and quotes
that month's requests.

Table 1 tunes every policy's level (bisection) to the same mean window — the per-route
empirical p90's — and compares the share of promises kept. Table 2 states 90 % and
shows the realized rate per month: uncalibrated, split conformal, and adaptive
conformal inference updated online each day from the outcomes known by then.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from promisekit.buffering import (
    AdaptiveConformalBuffer,
    ConditionalQuantileBuffer,
    ConformalBuffer,
    HistoryColumns,
    allocate_budget,
)

ZONE = "Europe/Paris"
MIN_US = 60_000_000
HOUR_US = 60 * MIN_US
DAY_US = 24 * HOUR_US
REGIONS = ("north", "south", "east", "west")
Windows = Callable[[float], np.ndarray]


def _hour_factor(hour: np.ndarray) -> np.ndarray:
    profile = np.full(24, 1.0)
    profile[[7, 8]] = 1.55
    profile[9] = 1.25
    profile[[16, 17, 18]] = 1.6
    profile[[12, 13]] = 1.15
    profile[[20, 21, 22, 23, 0, 1, 2, 3, 4, 5]] = 0.85
    return profile[hour]


def make_data(
    seed: int = 7, months: int = 15, per_day: float = 130.0
) -> tuple[HistoryColumns, dict[str, str]]:
    """The synthetic history and the route → region hierarchy."""
    rng = np.random.default_rng(seed)
    paris = ZoneInfo(ZONE)
    start = datetime(2025, 10, 1, tzinfo=paris)
    start_us = int(start.timestamp() * 1e6)
    days = int(months * 30.4)
    n = int(days * per_day)
    # Request times: day drawn uniformly, hour from a daytime profile, minute uniform.
    day = rng.integers(0, days, n)
    hour_weights = np.array(
        [1, 1, 1, 1, 2, 4, 8, 12, 12, 9, 8, 8, 9, 8, 8, 9, 11, 12, 10, 7, 5, 3, 2, 1]
    )
    hour = rng.choice(24, n, p=hour_weights / hour_weights.sum())
    requested = start_us + day * DAY_US + hour * HOUR_US + rng.integers(0, HOUR_US, n)
    requested = np.sort(requested.astype(np.int64))
    routes, parents, base, sigma, weights = [], {}, [], [], []
    for r, region in enumerate(REGIONS):
        for j in range(3):
            name = f"{region}-{j}"
            routes.append(name)
            parents[name] = region
            base.append(25.0 + 15.0 * ((r * 3 + j) % 5))
            sigma.append(0.22 + 0.05 * ((r + j) % 4))
            weights.append(20.0 if j == 0 else 1.0)
    w = np.array(weights) / sum(weights)
    route = rng.choice(len(routes), n, p=w)
    from promisekit.buffering._features import calendar_features

    cal = calendar_features(requested, ZONE)
    h, wd, month = cal["hour"], cal["weekday"], cal["month"]
    weekday_f = np.array([1.0, 1.0, 1.0, 1.05, 1.12, 0.85, 0.78])[wd]
    season_f = np.where(np.isin(month, (12, 1, 2)), 1.2, np.where(np.isin(month, (7, 8)), 0.9, 1.0))
    years = (requested - start_us) / (365.25 * DAY_US)
    region = route // 3
    drift = 1.0 + np.where(region == 1, 0.35, 0.15) * years
    base_a = np.array(base)[route]
    median = base_a * _hour_factor(h) * weekday_f * season_f * drift
    duration_min = median * np.exp(np.array(sigma)[route] * rng.standard_normal(n))
    completed = requested + (duration_min * MIN_US).astype(np.int64)
    # The published schedule: the route's scale and half the rush-hour effect, to 5 min.
    scheduled = base_a * (1.0 + 0.5 * (_hour_factor(h) - 1.0))
    scheduled = np.round(scheduled / 5.0) * 5.0
    reference = requested + (scheduled * MIN_US).astype(np.int64)
    labels = np.array(routes, dtype=object)[route]
    history = HistoryColumns(
        requested, completed, zone=ZONE, segment=labels, reference_us=reference
    )
    return history, parents


def _rows(h: HistoryColumns, mask: np.ndarray) -> HistoryColumns:
    from promisekit.buffering._features import select_rows

    return select_rows(h, mask)


def _month_starts(h: HistoryColumns, score_from: datetime) -> list[int]:
    paris = ZoneInfo(ZONE)
    out = []
    moment = score_from.replace(tzinfo=paris)
    end = int(h.requested_us.max())
    while int(moment.timestamp() * 1e6) <= end:
        out.append(int(moment.timestamp() * 1e6))
        year, month = divmod(moment.month, 12)
        moment = moment.replace(year=moment.year + year, month=month + 1)
    out.append(end + 1)
    return out


class _SegmentQuantile:
    """The per-segment empirical quantile (inverted cdf), any level."""

    def fit(self, past: HistoryColumns) -> Any:
        y = (past.completed_us - past.requested_us).astype(np.float64)
        seg = np.asarray(past.segment)
        table = {s: np.sort(y[seg == s]) for s in set(seg.tolist())}
        everything = np.sort(y)

        def block(requests: HistoryColumns) -> Windows:
            labels = np.asarray(requests.segment)
            groups = [(labels == s, table.get(s, everything)) for s in set(labels.tolist())]

            def at(q: float) -> np.ndarray:
                out = np.zeros(len(requests))
                for mask, values in groups:
                    k = min(max(int(np.ceil(q * values.shape[0] - 1e-9)), 1), values.shape[0])
                    out[mask] = values[k - 1]
                return out

            return at

        return block


class _ReferenceShift:
    """The reference schedule plus one constant shift (the q-quantile of deviations)."""

    def fit(self, past: HistoryColumns) -> Any:
        assert past.reference_us is not None
        dev = np.sort((past.completed_us - past.reference_us).astype(np.float64))

        def block(requests: HistoryColumns) -> Windows:
            assert requests.reference_us is not None
            offset = (requests.reference_us - requests.requested_us).astype(np.float64)

            def at(q: float) -> np.ndarray:
                k = min(max(int(np.ceil(q * dev.shape[0] - 1e-9)), 1), dev.shape[0])
                return offset + dev[k - 1]

            return at

        return block


class _Distributional:
    """Any fitted quoter with ``distributions()``: windows at any level."""

    def __init__(self, policy: Any) -> None:
        self.policy = policy

    def fit(self, past: HistoryColumns) -> Any:
        quoter = self.policy.fit_columns(past)

        def block(requests: HistoryColumns) -> Windows:
            dist = quoter.distributions(requests)
            return lambda q: np.ceil(dist.quantile_us(q))

        block.distributions = quoter.distributions  # type: ignore[attr-defined]
        return block


class _ConformalQuantileModel:
    """A quantile-only model (gradient boosting) with the additive CQR correction."""

    def __init__(self, policy: Any, calibration: timedelta) -> None:
        self.policy = policy
        self.calibration = calibration

    def fit(self, past: HistoryColumns) -> Any:
        from promisekit.buffering._conformal import _split_calibration

        fit, held = _split_calibration(past, self.calibration)
        model = self.policy.fit_columns(fit)
        actual = (held.completed_us - held.requested_us).astype(np.float64)
        scores = np.sort(actual - model.quote_columns(held).window_us)

        def block(requests: HistoryColumns) -> Windows:
            base = model.quote_columns(requests).window_us.astype(np.float64)

            def at(q: float) -> np.ndarray:
                rank = min(max(int(np.ceil((scores.shape[0] + 1) * q - 1e-9)), 1), scores.shape[0])
                return np.ceil(base + scores[rank - 1])

            return at

        return block


def replay(h: HistoryColumns, models: dict[str, Any], starts: list[int]) -> dict[str, list[Any]]:
    """Per model, per month: a function level -> windows of that month's requests."""
    out: dict[str, list[Any]] = {name: [] for name in models}
    for lo, hi in itertools.pairwise(starts):
        past = _rows(h, h.completed_us < lo)
        block = _rows(h, (h.requested_us >= lo) & (h.requested_us < hi))
        for name, model in models.items():
            fitted = model.fit(past)
            out[name].append((fitted, fitted(block), block))
    return out


def _tune(windows: list[Windows], target: float) -> float:
    lo, hi = 0.3, 0.9999
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        mean = np.concatenate([w(mid) for w in windows]).mean()
        lo, hi = (mid, hi) if mean < target else (lo, mid)
    return 0.5 * (lo + hi)


def experiment(
    h: HistoryColumns, parents: dict[str, str], score_from: datetime, *, gbm: bool = False
) -> dict[str, Any]:
    """Table 1 (equal mean window) and table 2 (calibration per month).

    ``gbm``: also gradient-boosted quantiles with the CQR correction (scikit-learn).
    """
    starts = _month_starts(h, score_from)
    cond = ConditionalQuantileBuffer(
        by=("segment", "hour", "weekday"), parents=parents, half_life=timedelta(days=45), k=30.0
    )
    shared = {"parents": parents, "half_life": timedelta(days=45), "k": 30.0}
    by = ("segment", "hour", "weekday")
    logloc = ConditionalQuantileBuffer(by=by, location="log", **shared)
    rel = ConditionalQuantileBuffer(by=by, relative=True, location="additive", **shared)
    cal = timedelta(days=21)
    models: dict[str, Any] = {
        "reference schedule + constant shift": _ReferenceShift(),
        "per-route empirical quantile": _SegmentQuantile(),
        "conditional (pooled, recency)": _Distributional(cond),
        "conditional + split conformal": _Distributional(ConformalBuffer(cond, calibration=cal)),
        "conditional on reference + conformal": _Distributional(
            ConformalBuffer(rel, calibration=cal)
        ),
        "conditional, log location + conformal": _Distributional(
            ConformalBuffer(logloc, calibration=cal)
        ),
    }
    if gbm:
        from promisekit.buffering import GradientBoostedQuantileBuffer

        boosted = GradientBoostedQuantileBuffer(q=0.9, by=("segment", "hour", "weekday"))
        models["gradient boosting + CQR"] = _ConformalQuantileModel(boosted, cal)
    runs = replay(h, models, starts)
    scored = [blk for _, _, blk in runs["per-route empirical quantile"]]
    actual = np.concatenate([(b.completed_us - b.requested_us) for b in scored]).astype(np.float64)
    base_windows = [w for _, w, _ in runs["per-route empirical quantile"]]
    target = float(np.concatenate([w(0.9) for w in base_windows]).mean())
    table1 = []
    for name, run in runs.items():
        windows = [w for _, w, _ in run]
        q = _tune(windows, target)
        win = np.concatenate([w(q) for w in windows])
        table1.append((name, q, win.mean() / MIN_US, float((actual <= win).mean())))
    # The budget: each month's mean window equals the target, floor 50 %.
    win_b = []
    for fitted, _, blk in runs["conditional, log location + conformal"]:
        dist = fitted.distributions(blk)
        win_b.append(allocate_budget(dist, target, floor=0.5).window_us)
    wb = np.concatenate(win_b).astype(np.float64)
    table1.append(
        (
            "log location + conformal + budget",
            float("nan"),
            wb.mean() / MIN_US,
            float((actual <= wb).mean()),
        )
    )
    return {
        "target_min": target / MIN_US,
        "table1": table1,
        "table2": calibration_by_month(h, logloc, starts, cal),
    }


def calibration_by_month(
    h: HistoryColumns, cond: Any, starts: list[int], cal: timedelta, q: float = 0.9
) -> list[tuple[str, float, float, float, int]]:
    """Per month: realized at stated 90 % for the raw, conformal and adaptive quotes."""
    rows = []
    aci = AdaptiveConformalBuffer(cond, q=q, gamma=0.005, calibration=cal)
    split = ConformalBuffer(cond, q=q, calibration=cal)
    for lo, hi in itertools.pairwise(starts):
        past = _rows(h, h.completed_us < lo)
        block = _rows(h, (h.requested_us >= lo) & (h.requested_us < hi))
        y = (block.completed_us - block.requested_us).astype(np.float64)
        raw = cond.fit_columns(past).quote_columns(block)
        conf = split.fit_columns(past).quote_columns(block)
        adaptive = aci.fit_columns(past)
        # Online: quote one day at a time; learn from outcomes known by the day's end.
        windows = np.zeros(len(block), dtype=np.int64)
        known_at = np.full(len(block), np.iinfo(np.int64).max)
        learned = np.zeros(len(block), dtype=bool)
        day = lo
        while day < hi:
            today = (block.requested_us >= day) & (block.requested_us < day + DAY_US)
            if today.any():
                windows[today] = adaptive.quote_columns(_rows(block, today)).window_us
                due = block.requested_us[today] + windows[today]
                known_at[today] = np.minimum(block.completed_us[today], due)
            day += DAY_US
            ready = (known_at <= day) & ~learned
            adaptive.update(y[ready] <= windows[ready])
            learned |= ready
        label = np.datetime_as_string(np.datetime64(lo + 2 * HOUR_US, "us"), unit="M")
        rows.append(
            (
                label,
                float((y <= raw.window_us).mean()),
                float((y <= conf.window_us).mean()),
                float((y <= windows).mean()),
                len(block),
            )
        )
    return rows


def call_centre(n: int, seed: int, servers: int = 5) -> HistoryColumns:
    """A first-come-first-served M/M/s call centre at 90 % load; duration = wait + talk."""
    import heapq

    from promisekit.buffering import queue_features

    rng = np.random.default_rng(seed)
    talk_min = 4.0
    arrivals = np.cumsum(rng.exponential(talk_min / (0.9 * servers), n)) * MIN_US
    service = rng.exponential(talk_min, n) * MIN_US
    free = [0.0] * servers
    done = np.empty(n)
    for i in range(n):
        start = max(arrivals[i], heapq.heappop(free))
        done[i] = start + service[i]
        heapq.heappush(free, done[i])
    bare = HistoryColumns(arrivals.astype(np.int64), done.astype(np.int64))
    return HistoryColumns(bare.requested_us, bare.completed_us, features=queue_features(bare))


def queue_table(n: int, seed: int, q: float = 0.9) -> list[tuple[str, float, float]]:
    """RASE (minutes) and coverage at ``q`` of QL, HOL and a state-blind quantile."""
    from promisekit.buffering import HeadOfLinePredictor, QueueLengthPredictor, rase

    h = call_centre(n, seed)
    half = np.arange(len(h)) < len(h) // 2
    past, test = _rows(h, half), _rows(h, ~half)
    y = (test.completed_us - test.requested_us).astype(np.float64)
    y_past = (past.completed_us - past.requested_us).astype(np.float64)
    rows = [
        (
            "state-blind (past mean; p90)",
            rase(y, np.full(len(test), y_past.mean())) / MIN_US,
            float((y <= np.quantile(y_past, q, method="inverted_cdf")).mean()),
        )
    ]
    for name, policy in (
        ("queue length (QL)", QueueLengthPredictor(q=q, servers=5)),
        ("head of line (HOL)", HeadOfLinePredictor(q=q, servers=5)),
    ):
        quoter = policy.fit_columns(past)
        window = quoter.quote_columns(test).window_us
        rows.append(
            (name, rase(y, quoter.point_columns(test)) / MIN_US, float((y <= window).mean()))
        )
    return rows


def report(result: dict[str, Any]) -> str:
    lines = [
        f"Table 1: equal mean window ({result['target_min']:.1f} min, the per-route p90's)",
        f"{'policy':<40} {'level':>7} {'mean window':>12} {'on time':>8}",
    ]
    for name, q, mean, kept in result["table1"]:
        level = "budget" if q != q else f"{q:.3f}"
        lines.append(f"{name:<40} {level:>7} {mean:>8.1f} min {kept:>8.1%}")
    lines += [
        "",
        "Table 2: stated 90 %, realized per month",
        f"{'month':<8} {'quotes':>6} {'uncalibrated':>13} {'split conformal':>16} {'adaptive':>9}",
    ]
    for label, raw, conf, adaptive, n in result["table2"]:
        lines.append(f"{label:<8} {n:>6} {raw:>13.1%} {conf:>16.1%} {adaptive:>9.1%}")
    worst = max(abs(r[3] - 0.9) for r in result["table2"])
    lines.append(f"adaptive: largest monthly gap to 90 % = {worst * 100:.2f} pp")
    if "table3" in result:
        lines += [
            "",
            "Table 3: callback delay predictors on an M/M/5 call centre (second half scored)",
            f"{'predictor':<30} {'RASE':>9} {'coverage at 90 %':>17}",
        ]
        for name, error, coverage in result["table3"]:
            lines.append(f"{name:<30} {error:>5.2f} min {coverage:>17.1%}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="the test-sized data set")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--no-gbm", action="store_true", help="skip the scikit-learn gradient-boosting row"
    )
    args = parser.parse_args(argv)
    if args.small:
        h, parents = make_data(args.seed, months=8, per_day=60.0)
        score_from = datetime(2026, 2, 1)
    else:
        h, parents = make_data(args.seed)
        score_from = datetime(2026, 1, 1)
    print(f"{len(h)} synthetic requests, scored from {score_from:%Y-%m} (monthly refits)")
    gbm = not args.no_gbm and importlib.util.find_spec("sklearn") is not None
    result = experiment(h, parents, score_from, gbm=gbm)
    result["table3"] = queue_table(10_000 if args.small else 40_000, args.seed)
    print(report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
