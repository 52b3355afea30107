"""Regenerate docs/img/backtest-tradeoff.png, the figure of the "How much buffer?" guide.

The history and the policies are those of docs/buffering.md (same seed, same code);
the script checks that its backtest table is the one printed in the guide, so the
figure cannot silently drift from the page. Run from anywhere:

    python docs/img/make_backtest_tradeoff.py

Needs matplotlib (``pip install 'promisekit[plot]'``).
"""

from __future__ import annotations

import random
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from promisekit.buffering import (
    FixedBuffer,
    HistoryRecord,
    LinearLatenessCost,
    NoBuffer,
    OptimalBuffer,
    QuantileBuffer,
    RoundUp,
    backtest,
)
from promisekit.calendar import BusinessCalendar

HERE = Path(__file__).resolve().parent
GUIDE = HERE.parent / "buffering.md"
OUTPUT = HERE / "backtest-tradeoff.png"


def guide_history(office: BusinessCalendar) -> list[HistoryRecord]:
    """The guide's 600 callbacks ("A small history")."""
    paris = ZoneInfo("Europe/Paris")
    rng = random.Random(7)
    origin = datetime(2026, 1, 5, 9, 0, tzinfo=paris)
    history = []
    for _ in range(600):
        requested = office.add(origin, timedelta(minutes=rng.uniform(0, 30 * 8 * 60)))
        work = timedelta(minutes=round(20 * rng.lognormvariate(0, 0.6), 1))
        history.append(
            HistoryRecord(
                requested_at=requested,
                completed_at=office.add(requested, work),
                segment="callback",
                promised_due=office.add(requested, timedelta(hours=1)),  # "within the hour"
            )
        )
    return history


def main() -> int:
    office = BusinessCalendar("Europe/Paris", hours={"mon-fri": ["09:00-12:30", "13:30-18:00"]})
    policy = QuantileBuffer(0.9) + FixedBuffer(timedelta(minutes=15)) + RoundUp("half-hour")
    result = backtest(
        guide_history(office),
        {
            "median": NoBuffer(),
            "p90": QuantileBuffer(0.9),
            "p90 +15 min, half-hour": policy,
            "newsvendor 20:1": OptimalBuffer(LinearLatenessCost(20, 1)),
        },
        calendar=office,
        min_samples=50,
    )
    table = result.to_text()
    print(table)
    if table not in GUIDE.read_text(encoding="utf-8"):
        print(f"\nthis table is not the one in {GUIDE}: update the script or the guide")
        return 1

    fig, ax = plt.subplots(figsize=(7, 4.5))
    result.plot(ax=ax)
    fig.tight_layout()
    # No "Software" tag: the PNG then only changes when the picture does.
    fig.savefig(OUTPUT, dpi=150, metadata={"Software": None})
    plt.close(fig)
    print(f"\nwrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
