"""``--calendar``: the business calendar of a command, by name, country or file.

Private to :mod:`promisekit.cli`. The forms:

* ``montreal`` — the sample calendar (Montréal office hours, Quebec holidays);
* ``always`` — open around the clock every day (24/7) in ``--tz`` (UTC by default):
  business time is real time, but measured by a calendar;
* ``holidays:CC`` or ``holidays:CC-SUB`` (``holidays:BR``, ``holidays:US-CA``) — the
  public holidays of a country (or one of its subdivisions) from the ``holidays``
  package, for the years of the data, with office hours ``--hours`` (Monday to Friday
  09:00–17:00 by default) in ``--tz`` (required: a country may span several zones);
* a path to a TOML calendar file (see :func:`calendar_from_toml`).
"""

from __future__ import annotations

import argparse
import os
import re
from datetime import date
from pathlib import Path
from typing import Any

from promisekit._cli_format import UsageError, _zone
from promisekit._io_mapping import _tomllib
from promisekit._validation import describe
from promisekit.calendar import BusinessCalendar, holidays_from_package
from promisekit.datasets import montreal_calendar
from promisekit.errors import InvalidTypeError, PromiseKitError
from promisekit.serialize import SchemaError

#: Office hours of a ``holidays:`` calendar without ``--hours``.
DEFAULT_HOURS = "mon-fri 09:00-17:00"
_COUNTRY = re.compile(r"holidays:([A-Za-z]{2,3})(?:-([A-Za-z0-9]{1,10}))?")
_CALENDAR_KEYS = {"tz", "hours", "holidays", "holiday_rules", "overrides", "country", "subdivision"}


def add_calendar_options(command: argparse.ArgumentParser, *, hours: bool = True) -> None:
    """Add ``--calendar`` (and ``--hours``) to a command."""
    command.add_argument(
        "--calendar",
        metavar="CAL",
        help="measure in business time: montreal (office hours, Quebec holidays), always "
        "(24/7 in --tz), holidays:CC or holidays:CC-SUB (public holidays of a country, "
        "e.g. holidays:BR, holidays:US-CA; needs --tz), or a TOML calendar file; "
        "default: real time",
    )
    if hours:
        command.add_argument(
            "--hours",
            metavar="H",
            help=f"office hours of a holidays: calendar (default {DEFAULT_HOURS!r}; e.g. "
            "'mon-fri 08:30-12:00,13:00-17:00; sat 09:00-13:00')",
        )


def parse_hours(text: str) -> dict[str, list[str]]:
    """``"mon-fri 08:30-12:00,13:00-17:00; sat 10:00-14:00"`` → a ``hours`` mapping."""
    hours: dict[str, list[str]] = {}
    for part in text.split(";"):
        days, _, intervals = part.strip().partition(" ")
        if not days or not intervals.strip():
            raise UsageError(
                f"'--hours' must be like 'mon-fri 09:00-17:00' or "
                f"'mon-fri 08:30-12:00,13:00-17:00; sat 10:00-14:00' (got {describe(text)})"
            )
        hours[days] = [iv.strip() for iv in intervals.split(",") if iv.strip()]
    return hours


def calendar_from_args(
    args: argparse.Namespace, years: range | None = None
) -> BusinessCalendar | None:
    """The calendar of ``--calendar`` (``None``: real time) for data in ``years``."""
    spec: str | None = args.calendar
    tz: str | None = getattr(args, "tz", None)
    hours: str | None = getattr(args, "hours", None)
    _zone(tz)
    if spec is None:
        if hours is not None:
            raise UsageError("'--hours' needs --calendar holidays:CC")
        return None
    if hours is not None and not spec.startswith("holidays:"):
        raise UsageError("'--hours' is for --calendar holidays:CC (a calendar file has its hours)")
    if spec == "montreal":
        return montreal_calendar()
    if spec in ("always", "24/7"):
        return BusinessCalendar.always_open(tz or "UTC")
    match = _COUNTRY.fullmatch(spec)
    if match is not None:
        if tz is None:
            raise UsageError(
                f"--calendar {spec} needs --tz, the zone of its office hours "
                f"(e.g. --tz America/Sao_Paulo)"
            )
        span = years if years is not None else range(2000, 2051)
        country, subdivision = match[1].upper(), match[2] and match[2].upper()
        try:
            closed = holidays_from_package(country, subdiv=subdivision, years=span)
            return BusinessCalendar(tz, hours=parse_hours(hours or DEFAULT_HOURS), holidays=closed)
        except UsageError:
            raise
        except PromiseKitError as exc:
            raise UsageError(f"--calendar {spec}: {exc}") from None
    if spec.startswith("holidays:"):
        raise UsageError(
            f"'--calendar' holidays must be holidays:CC or holidays:CC-SUB like holidays:BR "
            f"or holidays:US-CA (got {describe(spec)})"
        )
    if spec.lower().endswith(".toml") or os.sep in spec or Path(spec).exists():
        return calendar_from_toml(spec, tz, years)
    raise UsageError(
        f"'--calendar' must be montreal, always, holidays:CC[-SUB] or a TOML calendar file "
        f"(got {describe(spec)})"
    )


def calendar_from_toml(
    path: str, tz: str | None = None, years: range | None = None
) -> BusinessCalendar:
    """A calendar from a TOML file.

    .. code-block:: toml

        tz = "America/Sao_Paulo"            # or --tz
        country = "BR"                     # optional: public holidays (holidays package)
        subdivision = "SP"                 # optional
        holidays = [2026-11-20]            # more closed dates
        holiday_rules = ["RRULE:FREQ=YEARLY;BYMONTH=6;BYMONTHDAY=24"]
        [hours]                            # default: mon-fri 09:00-17:00
        mon-fri = ["08:30-12:00", "13:00-17:00"]
        sat = "09:00-13:00"
        [overrides]                        # a date's own hours ([] closes it)
        2026-12-24 = "08:30-12:00"
    """
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise UsageError(
            f"'--calendar' file cannot be read: {path}: {exc.strerror or exc}"
        ) from None
    toml = _tomllib()
    try:
        data: dict[str, Any] = toml.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, toml.TOMLDecodeError, ValueError, RecursionError) as exc:
        raise SchemaError(f"{path!r} is not a valid TOML calendar: {exc}", path=None) from None
    unknown = sorted(set(data) - _CALENDAR_KEYS)
    if unknown:
        raise SchemaError(
            f"{path!r} has unknown keys {unknown} (expected {', '.join(sorted(_CALENDAR_KEYS))})",
            path=None,
        )
    zone = data.get("tz", tz)
    if zone is None:
        raise SchemaError(f'{path!r} has no tz: add tz = "Area/City" or pass --tz', path=None)
    holidays = list(data.get("holidays", []))
    for index, item in enumerate(holidays):
        if isinstance(item, str):
            try:
                holidays[index] = date.fromisoformat(item)
            except ValueError:
                raise InvalidTypeError(
                    f"{path}: 'holidays' must contain dates like 2026-12-25 (got {describe(item)})"
                ) from None
    country = data.get("country")
    if country is not None:
        span = years if years is not None else range(2000, 2051)
        if not isinstance(country, str):
            raise InvalidTypeError(f"{path}: 'country' must be a string (got {describe(country)})")
        holidays.extend(holidays_from_package(country, subdiv=data.get("subdivision"), years=span))
    overrides = data.get("overrides")
    if isinstance(overrides, dict):
        converted: dict[date, Any] = {}
        for key, value in overrides.items():
            try:
                converted[date.fromisoformat(key)] = value
            except ValueError:
                raise InvalidTypeError(
                    f"{path}: [overrides] keys must be dates like 2026-12-24 (got {describe(key)})"
                ) from None
        overrides = converted
    return BusinessCalendar(
        zone,
        hours=data.get("hours"),
        holidays=holidays,
        holiday_rules=data.get("holiday_rules", ()),
        overrides=overrides,
    )
