"""A brute-force business-time oracle: steps minute by minute, shares no code with calendar.py.

It reads a calendar's public, normalized fields (``tz``, ``hours``, ``holidays``,
``overrides``) and rebuilds the working intervals of each local date with plain
``zoneinfo`` conversions, applying the documented DST rules:

* a wall time in a gap happens at the first existing instant after it;
* an ambiguous wall time uses its first occurrence (``fold=0``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from promisekit.calendar import BusinessCalendar

MINUTE = timedelta(minutes=1)
UTC = timezone.utc


def _exists(naive: datetime, zone: ZoneInfo) -> datetime | None:
    aware = naive.replace(tzinfo=zone, fold=0)
    back = aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    return aware.astimezone(UTC) if back == naive else None


def resolve(naive: datetime, zone: ZoneInfo) -> datetime:
    """UTC instant of a local wall time, stepping forward out of a gap minute by minute."""
    for step in range(0, 24 * 60):
        found = _exists(naive + step * MINUTE, zone)
        if found is not None:
            return found
    raise AssertionError("no existing wall time within a day")


class Oracle:
    def __init__(self, cal: BusinessCalendar) -> None:
        self.cal = cal
        self.zone = ZoneInfo(cal.tz)
        self.holidays = set(cal.holidays)
        self.overrides = dict(cal.overrides)
        self.intervals = lru_cache(maxsize=None)(self._intervals)

    def _intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        if day in self.overrides:
            wall = self.overrides[day]
        elif day in self.holidays:
            wall = ()
        else:
            wall = self.cal.hours[day.weekday()]
        midnight = datetime(day.year, day.month, day.day)
        out = []
        for start, end in wall:
            s = resolve(midnight + timedelta(seconds=start), self.zone)
            e = resolve(midnight + timedelta(seconds=end), self.zone)
            if e > s:
                out.append((s, e))
        return out

    def is_open(self, moment: datetime) -> bool:
        local_day = moment.astimezone(self.zone).date()
        for delta in (-1, 0, 1):
            for s, e in self.intervals(local_day + timedelta(days=delta)):
                if s <= moment < e:
                    return True
        return False

    def between_minutes(self, a: datetime, b: datetime) -> int:
        """Working minutes in [a, b) for minute-aligned a <= b."""
        count = 0
        t = a.astimezone(UTC)
        end = b.astimezone(UTC)
        while t < end:
            if self.is_open(t):
                count += 1
            t += MINUTE
        return count

    def add_minutes(self, a: datetime, minutes: int, limit: int = 20 * 24 * 60) -> datetime:
        """Earliest instant after ``a`` (minute-aligned) with ``minutes`` working minutes."""
        if minutes == 0:
            return a.astimezone(UTC)
        t = a.astimezone(UTC)
        done = 0
        for _ in range(limit):
            if self.is_open(t):
                done += 1
                if done == minutes:
                    return t + MINUTE
            t += MINUTE
        raise AssertionError("oracle stepped past its limit")
