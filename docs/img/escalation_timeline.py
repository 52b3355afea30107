"""Draw docs/img/escalation-timeline.png: one promise's escalations on a timeline.

Run from the repository root (needs matplotlib)::

    python docs/img/escalation_timeline.py
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt

from promisekit.buffering import ParametricCapability
from promisekit.calendar import BusinessCalendar
from promisekit.escalation import EscalationPolicy, TrackedPromise
from promisekit.promise import Promise

MTL = ZoneInfo("America/Montreal")
OUT = Path(__file__).with_name("escalation-timeline.png")


POLICY = """
[compensation]
per_promise = "20.00"
per_customer = "50.00"
currency = "CAD"

[[rules]]
name = "half-time"
when = "elapsed >= 50%"
do = ["notify_owner"]
level = 1

[[rules]]
name = "heads-up"
when = "remaining <= 4h and not revised >= 1"
do = ["notify_customer:progress"]
level = 2

[[rules]]
name = "breached"
when = "overdue"
do = ["escalate:manager", "propose_revision", "notify_customer:delay"]
level = 3

[[rules]]
name = "still-late"
when = "overdue >= 4h"
do = ["notify_customer:apology", "compensate:20.00"]
level = 4
"""


def scenario() -> tuple[TrackedPromise, EscalationPolicy, datetime]:
    """The promise of docs/escalation.md: a repair promised Monday 10:00 for Tuesday 16:00."""
    workshop = BusinessCalendar("America/Montreal", hours={"mon-sat": "08:00-20:00"})
    contact = BusinessCalendar("America/Montreal", hours={"mon-fri": "09:00-18:00"})
    promise = Promise(
        id="R-1042",
        customer_id="C-7",
        kind="repair",
        made_at=datetime(2026, 3, 9, 10, 0, tzinfo=MTL),
        due=datetime(2026, 3, 10, 16, 0, tzinfo=MTL),
    )
    track = (
        TrackedPromise(promise=promise, calendar=workshop, contact_hours=contact, locale="fr-CA")
        .pause(datetime(2026, 3, 9, 14, 0, tzinfo=MTL), reason="waiting for the customer's photos")
        .resume(datetime(2026, 3, 10, 10, 0, tzinfo=MTL))
    )
    capability = ParametricCapability.exponential(mean=timedelta(hours=6))
    policy = EscalationPolicy.from_toml(POLICY, bindings={"capability": capability})
    return track, policy, datetime(2026, 3, 12, 0, 0, tzinfo=MTL)


def main() -> None:
    track, policy, end = scenario()
    result = policy.evaluate(track, end)
    start = track.promise.made_at - timedelta(hours=2)
    fig, ax = plt.subplots(figsize=(11, 4.2), dpi=120)
    # Working hours (the SLA clock runs) and the pause (it stops).
    assert track.calendar is not None
    for a, b in track.calendar.working_intervals(start, end):
        ax.axvspan(a, b, color="#e8f1fb", zorder=0)
    assert track.contact_hours is not None
    for a, b in track.contact_hours.working_intervals(start, end):
        ax.axvspan(a, b, ymin=0.95, ymax=1.0, color="#7dcea0", zorder=0)
    ax.text(start, 5.75, " contact hours (green strip)", fontsize=7, color="#1e8449")
    for pause in track.pauses:
        ax.axvspan(pause.start, pause.end or end, ymin=0.0, ymax=0.12, color="#f6c28b", zorder=1)
        ax.text(pause.start, 0.25, " paused: waiting on the customer", fontsize=8, va="bottom")
    ax.axvline(track.promise.made_at, color="#555", lw=1)
    ax.text(track.promise.made_at, 5.3, " made", fontsize=8)
    ax.axvline(track.promise.due, color="#999", ls="--", lw=1)
    ax.text(track.promise.due, 5.3, " promised due", fontsize=8, color="#777")
    effective = track.effective_due()
    ax.axvline(effective, color="#c0392b", ls="--", lw=1.2)
    ax.text(effective, 4.95, " due + paused time", fontsize=8, color="#c0392b")
    colors = {1: "#2e86c1", 2: "#f39c12", 3: "#c0392b", 4: "#6c3483"}
    seen: set[tuple[str, datetime]] = set()
    for escalation in result:
        y = escalation.level
        x = escalation.triggered_at
        ax.plot([x], [y], "o", color=colors.get(y, "k"), zorder=3)
        if escalation.deferred:
            ax.annotate(
                "",
                xy=(escalation.at, y),
                xytext=(x, y),
                arrowprops={"arrowstyle": "->", "color": colors.get(y, "k")},
            )
        label_key = (escalation.rule, x)
        if label_key not in seen:
            seen.add(label_key)
            actions = ", ".join(
                e.action.describe() for e in result if (e.rule, e.triggered_at) == label_key
            )
            deferred = " (held until contact hours)" if escalation.deferred else ""
            ax.text(x, y + 0.18, f"{escalation.rule}{deferred}\n{actions}", fontsize=7, ha="center")
    ax.set_ylim(0, 6)
    ax.set_yticks([1, 2, 3, 4], ["level 1", "level 2", "level 3", "level 4"])
    ax.set_xlim(start, end)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%a %H:%M", tz=MTL))
    ax.set_title("One promise slipping: escalations at the instant each trigger became true")
    fig.tight_layout()
    fig.savefig(OUT)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
