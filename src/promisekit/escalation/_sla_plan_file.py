"""SLA plans as data: the form a file (or a JSON request) gives an :class:`SlaPlan`.

:func:`sla_plan_from_dict` reads plain data, :func:`sla_plan_from_toml` TOML text or a
file, and :func:`sla_plan_to_dict` writes a plan back in that form. It is what
``promisekit run --sla FILE`` reads, so that a policy run from the command line can
name SLA clocks::

    [[clocks]]
    name = "first_response"
    kind = "first_response"     # first_response, next_response, update, resolution
    target = "1h"               # a duration: 90m, 1h30m, 2d, PT4H…
    pauses = false              # optional (default true: stands still while pending)

    [[clocks]]
    name = "resolution"
    kind = "resolution"
    target = "16h"
    rounding = "minute"         # optional: exact (default) or minute
    on_reopen = "keep"          # optional: keep (default) or restart

(and ``restart_on_inbound``, for ``next_response`` clocks). The clocks count the business
time of the ticket's calendar; a clock with a calendar of its own is built in Python
(:class:`SlaClock` ``calendar=``), it has no file form.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from promisekit._validation import describe, describe_names
from promisekit.errors import InvalidValueError, PromiseKitError
from promisekit.escalation._config import PolicyConfigError, load_toml, read_source
from promisekit.escalation._sla_clocks import SlaClock
from promisekit.escalation._sla_conditions import SlaPlan
from promisekit.escalation._time import format_duration

__all__ = ["sla_plan_from_dict", "sla_plan_from_toml", "sla_plan_to_dict"]

_REQUIRED = ("name", "kind", "target")
_OPTIONAL = ("pauses", "rounding", "restart_on_inbound", "on_reopen")


def _clock(table: object, where: str) -> SlaClock:
    if not isinstance(table, Mapping):
        raise PolicyConfigError(
            f"must be a table with {describe_names(_REQUIRED)} "
            f"(got {type(table).__name__} {describe(table)})",
            field=where,
        )
    if "calendar" in table:
        raise PolicyConfigError(
            "a clock's own calendar has no file form: the clocks count the ticket's "
            "calendar (the runner's); build the SlaClock in Python to give it another one",
            field=f"{where}.calendar",
        )
    unknown = [key for key in table if key not in _REQUIRED + _OPTIONAL]
    if unknown:
        raise PolicyConfigError(
            f"unknown key(s) {describe_names(unknown)}; a clock has "
            f"{describe_names(_REQUIRED + _OPTIONAL)}",
            field=where,
        )
    missing = [key for key in _REQUIRED if key not in table]
    if missing:
        raise PolicyConfigError(f"is missing {describe_names(missing)}", field=where)
    options = {key: table[key] for key in _OPTIONAL if key in table}
    try:
        return SlaClock(table["name"], table["kind"], table["target"], **options)
    except PromiseKitError as exc:
        raise PolicyConfigError(str(exc), field=where) from None


def sla_plan_from_dict(data: Mapping[str, Any]) -> SlaPlan:
    """An :class:`SlaPlan` from plain data (parsed TOML or JSON): ``{"clocks": [...]}``,
    each clock a table of :class:`SlaClock`'s fields (``name``, ``kind``, ``target`` as a
    duration text, and optionally ``pauses``, ``rounding``, ``restart_on_inbound``,
    ``on_reopen``).

    Example:
        >>> plan = sla_plan_from_dict({"clocks": [
        ...     {"name": "first_response", "kind": "first_response", "target": "1h"}]})
        >>> plan.clock("first_response").target
        datetime.timedelta(seconds=3600)

    Raises:
        PolicyConfigError: A key is unknown or missing, or a value is wrong; the message
            names the clock (``clocks[1]``) and the key.

    .. versionadded:: 0.1.0
    """
    if not isinstance(data, Mapping):
        raise PolicyConfigError(
            f"an SLA plan must be a table with 'clocks' (got {type(data).__name__} "
            f"{describe(data)})",
            field="sla",
        )
    unknown = [key for key in data if key != "clocks"]
    if unknown:
        raise PolicyConfigError(
            f"unknown key(s) {describe_names(unknown)}; an SLA plan has 'clocks' "
            f"([[clocks]] tables)",
            field="sla",
        )
    clocks = data.get("clocks")
    if not isinstance(clocks, list) or not clocks:
        raise PolicyConfigError(
            f"must be a non-empty list of clock tables ([[clocks]]) (got {describe(clocks)})",
            field="clocks",
        )
    built = [_clock(table, f"clocks[{index}]") for index, table in enumerate(clocks)]
    try:
        return SlaPlan(built)
    except PromiseKitError as exc:
        raise PolicyConfigError(str(exc), field="clocks") from None


def sla_plan_from_toml(source: str | os.PathLike[str]) -> SlaPlan:
    """An :class:`SlaPlan` from TOML text, or from a file (a path, or a string ending
    ``.toml``), in the form of :func:`sla_plan_from_dict`. Python 3.10 needs ``tomli``.

    Example:
        >>> plan = sla_plan_from_toml('''
        ... [[clocks]]
        ... name = "resolution"
        ... kind = "resolution"
        ... target = "16h"
        ... ''')
        >>> [clock.name for clock in plan.clocks]
        ['resolution']

    Raises:
        PolicyConfigError: The file cannot be read, the TOML is invalid, or the plan is
            wrong (see :func:`sla_plan_from_dict`).
        MissingDependencyError: Python 3.10 without ``tomli``.

    .. versionadded:: 0.1.0
    """
    return sla_plan_from_dict(load_toml(read_source(source, "SLA plan file")))


def sla_plan_to_dict(plan: SlaPlan) -> dict[str, Any]:
    """The plain-data form of ``plan`` (:func:`sla_plan_from_dict` reads it back to an
    equal plan); fields at their default are left out.

    Raises:
        InvalidValueError: A clock has a calendar of its own (it has no file form).

    .. versionadded:: 0.1.0
    """
    clocks = []
    for clock in plan.clocks:
        if clock.calendar is not None:
            raise InvalidValueError(
                f"the SLA clock {describe(clock.name)} has a calendar of its own, which has "
                f"no file form"
            )
        table: dict[str, Any] = {
            "name": clock.name,
            "kind": clock.kind,
            "target": format_duration(clock.target),
        }
        defaults = {"pauses": True, "rounding": "exact", "restart_on_inbound": True}
        defaults["on_reopen"] = "keep"
        for key, default in defaults.items():
            value = getattr(clock, key)
            if value != default:
                table[key] = value
        clocks.append(table)
    return {"clocks": clocks}
