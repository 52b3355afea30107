"""Fuzz every promisekit entry point that reads external input with mutated valid documents.

Usage::

    python benchmarks/fuzz_inputs.py [--cases N] [--seed S] [--entry NAME] [--case K] [--show M]

Seeds are valid inputs (ledger event and value documents from ``to_dict``, CSV and
JSON Lines from ``write_csv`` / ``write_jsonl`` of a generated history, the shipped
escalation policies, a column-mapping TOML file, business calendar arguments…). Each
case takes one seed and mutates it deterministically (``random.Random`` seeded by
``"{seed}/{entry}/{case}"``, so any single case can be regenerated): truncation, type
flips (str ↔ int ↔ list ↔ dict ↔ null ↔ bool), huge integers (``10**5000``), ``inf``
/ ``nan`` / ``1e308``, naive and out-of-range datetimes, unknown enum values, deep
nesting (600 and 2,000 levels), invalid UTF-8, duplicate JSON keys, zone names that
are directories (``"America"``), huge durations, huge strings, unknown and missing
keys… and calls the entry point.

Outcomes per case:

* **ok** — the call returned normally;
* **error** — it raised a :class:`promisekit.errors.PromiseKitError` subclass;
* **escape** — it raised anything else (a bug: every bad input must raise a
  ``PromiseKitError``);
* **long message** — a ``PromiseKitError`` (or a loader's ``RowError``) message longer
  than 2,000 characters (messages must truncate what they quote);
* **duplicate accepted** — ``from_json`` / ``load_jsonl`` accepted a document with a
  repeated key without complaint (JSON objects with duplicate keys are ambiguous).

The script prints a table by entry point, then the first escapes (and long messages,
duplicates accepted) per (entry point, kind) with the command that reproduces each one
(``--entry NAME --case K`` reruns one case and prints its input and traceback). It
exits 1 when there is any escape, long message or duplicate accepted, else 0.

The test suite runs a seeded slice of it (``tests/test_fuzz_inputs.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import math
import os
import reprlib
import sys
import tempfile
import time
import traceback
import warnings
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo
from datetime import time as dtime
from decimal import Decimal
from importlib import resources
from pathlib import Path
from random import Random
from typing import Any
from zoneinfo import ZoneInfo

import attrs

from promisekit.buffering import EmpiricalCapability
from promisekit.calendar import BusinessCalendar
from promisekit.datasets import callback_centre_promises, montreal_calendar
from promisekit.delivery import Delivery
from promisekit.errors import PromiseKitError
from promisekit.escalation import EscalationPolicy, parse_condition
from promisekit.io import (
    ColumnMapping,
    LoadResult,
    RowError,
    iter_rows,
    load_csv,
    load_jsonl,
    load_mapping,
    write_csv,
)
from promisekit.ledger import (
    CustomerNotified,
    DeliveryRecorded,
    EscalationFired,
    Event,
    PromiseCancelled,
    PromiseMade,
    PromisePaused,
    PromiseResumed,
    PromiseRevised,
    replay,
)
from promisekit.promise import Promise, Terms
from promisekit.serialize import (
    from_dict,
    from_json,
    parse_datetime,
    parse_decimal,
    parse_duration,
    registered_types,
    to_dict,
)
from promisekit.store import SQLiteLedger

DEFAULT_CASES = 120_000
DEFAULT_SEED = 20260310
LONG_MESSAGE = 2_000

# ============================================================================ outcomes


@dataclass
class Case:
    """One generated input: what to call, and how it was made."""

    call: Callable[[], Any]
    mutation: str
    sample: Any
    duplicate: bool = False
    check: Callable[[Any], str | None] | None = None


@dataclass
class Finding:
    """A non-OK outcome worth reporting."""

    entry: str
    index: int
    category: str  # "escape", "long message" or "duplicate accepted"
    kind: str  # exception type (escape), or a short label
    mutation: str
    sample: str
    message: str
    where: str = ""  # innermost promisekit frame of the traceback


def raised_at(exc: BaseException) -> str:
    """The innermost ``promisekit`` frame of a traceback (``"serialize.py:123 in f"``)."""
    where = ""
    marker = f"{os.sep}promisekit{os.sep}"
    tb = exc.__traceback__
    while tb is not None:  # a plain walk: extract_tb is slow on 1,000-frame tracebacks
        code = tb.tb_frame.f_code
        if marker in code.co_filename:
            name = code.co_filename.rsplit(marker, 1)[1]
            where = f"{name}:{tb.tb_lineno} in {code.co_name}"
        tb = tb.tb_next
    return where or "(outside promisekit)"


@dataclass
class Tally:
    """Counts of one entry point."""

    cases: int = 0
    ok: int = 0
    errors: int = 0
    escapes: int = 0
    long: int = 0
    duplicates: int = 0
    seconds: float = 0.0


@dataclass
class Report:
    """The outcome of a run."""

    seed: int
    tallies: dict[str, Tally] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def of(self, category: str) -> list[Finding]:
        """The findings of one category."""
        return [f for f in self.findings if f.category == category]

    @property
    def failed(self) -> bool:
        """True when any case escaped, had a long message or accepted a duplicate key."""
        return bool(self.findings)


_REPR = reprlib.Repr()
_REPR.maxstring = 160
_REPR.maxother = 160
_REPR.maxlevel = 4
_REPR.maxlist = _REPR.maxdict = _REPR.maxtuple = 8


def short(value: Any, limit: int = 240) -> str:
    """A safe, truncated repr (huge integers and deep nesting included)."""
    try:
        text = _REPR.repr(value)
    except Exception:  # reprlib may still call a failing repr (a 5,000-digit int…)
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _message(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception as inner:  # a message that cannot even be built is an escape too
        return f"<str() failed: {type(inner).__name__}>"


def run_case(entry: str, index: int, case: Case, tally: Tally, report: Report) -> None:
    """Call one case and record its outcome."""
    tally.cases += 1
    try:
        result = case.call()
    except PromiseKitError as exc:
        tally.errors += 1
        text = _message(exc)
        if len(text) > LONG_MESSAGE:
            tally.long += 1
            report.findings.append(
                Finding(
                    entry,
                    index,
                    "long message",
                    type(exc).__name__,
                    case.mutation,
                    short(case.sample),
                    f"{len(text)} chars: {text[:200]}",
                    raised_at(exc),
                )
            )
        return
    except RecursionError as exc:  # Exception below would catch it too; explicit for clarity
        _escape(entry, index, case, exc, tally, report)
        return
    except Exception as exc:
        _escape(entry, index, case, exc, tally, report)
        return
    tally.ok += 1
    problem = case.check(result) if case.check is not None else None
    if problem is not None:
        tally.long += 1
        report.findings.append(
            Finding(
                entry, index, "long message", "RowError", case.mutation, short(case.sample), problem
            )
        )
    if case.duplicate and _accepted(result):
        tally.duplicates += 1
        report.findings.append(
            Finding(
                entry,
                index,
                "duplicate accepted",
                "duplicate key",
                case.mutation,
                short(case.sample),
                f"a document with a repeated key was accepted ({type(result).__name__})",
            )
        )


def _accepted(result: Any) -> bool:
    if isinstance(result, LoadResult):
        return bool(result.records)
    return True


def _escape(
    entry: str, index: int, case: Case, exc: BaseException, tally: Tally, report: Report
) -> None:
    tally.escapes += 1
    report.findings.append(
        Finding(
            entry,
            index,
            "escape",
            f"{type(exc).__module__}.{type(exc).__qualname__}".removeprefix("builtins."),
            case.mutation,
            short(case.sample),
            _message(exc)[:300],
            raised_at(exc),
        )
    )


def _row_errors_check(result: Any) -> str | None:
    if isinstance(result, LoadResult):
        for error in result.errors:
            text = str(error)
            if len(text) > LONG_MESSAGE:
                return f"RowError of {len(text)} chars: {text[:200]}"
    return None


# ============================================================================ nasty values

TORONTO = ZoneInfo("America/Toronto")
T0 = datetime(2026, 3, 10, 9, 0, tzinfo=TORONTO)

HUGE_INT = 10**5000
HUGE_DIGITS = "9" * 5000

NAIVE_DATETIMES = [
    "2026-03-10T09:00:00",
    "2026-03-10 09:00",
    "2026-03-10T09:00:00.123456",
]
OUT_OF_RANGE_DATETIMES = [
    "9999-12-31T23:30:00-01:00",
    "0001-01-01T00:30:00+01:00",
    "9999-12-31T23:59:59.999999-23:59",
    "0001-01-01T00:00:00+23:59",
    "9999-12-31T20:00:00-05:00[America/Toronto]",
    "0001-01-01T00:00:00[Asia/Tokyo]",
    "9999-12-31T23:59:59[Pacific/Kiritimati]",
    "9999-12-31T23:00:00[Pacific/Pago_Pago]",
    "10000-01-01T00:00:00Z",
    "0000-01-01T00:00:00Z",
]
BAD_DATETIMES = [
    "2026-02-30T09:00:00Z",
    "2026-03-10T25:00:00Z",
    "2026-03-10T09:61:00Z",
    "2026-03-10T09:00:00+99:00",
    "2026-03-10T09:00:00+24:00",
    "2026-03-08T02:30:00[America/Toronto]",
    "2026-11-01T01:30:00[America/Toronto]",
    "2026-03-10T09:00:00-07:00[America/Toronto]",
    "2026-03-10T09:00Z[Not/AZone]",
    "2026-03-10T09:00:00Z[America]",
    "2026-03-10T09:00:00Z[Europe]",
    "2026-03-10T09:00:00Z[America/]",
    "2026-03-10T09:00:00Z[../../etc/passwd]",
    "2026-03-10T09:00:00Z[/etc/localtime]",
    "2026-03-10T09:00:00Z[!America]",
    "2026-03-10T09:00:00Z[+25:00]",
    "2026-03-10T09:00:00.1234567Z",
    "+002026-03-10T09:00:00Z",
    "2026-03-10T09:00:00Z" + "0" * 3000,
]
ZONE_NAMES = [
    "America",
    "Europe",
    "Asia",
    "America/",
    "Etc",
    "",
    " ",
    "..",
    "../etc/passwd",
    "/usr/share/zoneinfo/UTC",
    "America/Toronto\x00",
    "America/Toronto ",
    "Not/AZone",
    "posix",
    "right",
    "UTC" * 2000,
    "America/Toronto",
    "UTC",
]
UNKNOWN_ENUMS = [
    "promise_forgotten",
    "PROMISE_MADE",
    "promise made",
    "kept ",
    "forgotten",
    "late-ish",
    "x" * 3000,
]
ISO_DURATIONS = [
    "P99999999999999D",
    "P999999999D",
    "PT999999999999H",
    "PT99999999999999M",
    "PT9999999999999999S",
    "P999999999DT23H59M59.999999S",
    "-P999999999DT23H59M59.999999S",
    "P1Y",
    "P1W",
    "PT",
    "P",
    "-PT0S",
    "PT1.5H",
    "P" + "9" * 5000 + "D",
]
FREE_DURATIONS = [
    "99999999999999d",
    "999999999999999999w",
    "1e308h",
    "9" * 400 + "d",
    "9" * 5000 + "s",
    "0s",
    "0.0000001s",
    "-1h",
    "1h" * 2000,
    "nan h",
    "inf",
    "١٢h",
    "2 h",
]
STRINGS = [
    "",
    " ",
    "\x00",
    "\ud800",
    "x" * 5000,
    "é" * 3000,
    '=HYPERLINK("http://x")',
    "'=1+1",
    "\u202e",
    "null",
]


@dataclass(frozen=True)
class Nasty:
    """A replacement value: its JSON text and its Python form (built on demand)."""

    label: str
    raw: str
    build: Callable[[], Any]

    @property
    def py(self) -> Any:
        """The Python value."""
        return self.build()


def nested(depth: int, leaf: Any, kind: str) -> Any:
    """A value nested ``depth`` levels deep (built iteratively)."""
    value = leaf
    for _ in range(depth):
        value = [value] if kind == "list" else {"a": value}
    return value


def nested_raw(depth: int, leaf: str, kind: str) -> str:
    """JSON text of :func:`nested`."""
    if kind == "list":
        return "[" * depth + leaf + "]" * depth
    return '{"a":' * depth + leaf + "}" * depth


def _const(value: Any) -> Callable[[], Any]:
    return lambda: value


#: ids of the shared nasty values (built once; mutations never enter them).
_SHARED: set[int] = set()


def _shared(label: str, value: Any, raw: str) -> Nasty:
    _SHARED.add(id(value))
    return Nasty(label, raw, _const(value))


DEEP = [
    _shared(f"deep nesting {depth} {kind}s", nested(depth, 1, kind), nested_raw(depth, "1", kind))
    for depth in (600, 2000)
    for kind in ("list", "dict")
]
HUGE_LISTS = [_shared(f"huge list of {n}", ["x"] * n, json.dumps(["x"] * n)) for n in (100, 10_000)]


def _json_nasty(label: str, value: Any) -> Nasty:
    try:
        raw = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):  # huge, deep or non-JSON: no text form
        raw = "[[]]"
    return Nasty(label, raw, _const(value))


def nasty_values(rng: Random, original: Any) -> Nasty:
    """A nasty replacement for ``original`` (type flip, huge, non-finite, bad time…)."""
    family = rng.randrange(14)
    if family == 0:  # type flips
        options: list[tuple[str, Any]] = [
            ("str", "1" if not isinstance(original, str) else 1),
            ("int", 1),
            ("int -1", -1),
            ("float", 1.5),
            ("bool", True),
            ("null", None),
            ("list", []),
            ("list of it", [original]),
            ("dict", {}),
            ("dict of it", {"value": original}),
            ("str of it", short(original, 200)),
        ]
        label, value = rng.choice(options)
        return _json_nasty(f"type flip -> {label}", value)
    if family == 1:
        choice = rng.randrange(5)
        if choice == 0:
            return Nasty("huge int 10**5000", HUGE_DIGITS, _const(HUGE_INT))
        if choice == 1:
            return Nasty("huge int -10**5000", "-" + HUGE_DIGITS, _const(-HUGE_INT))
        value = rng.choice([10**400, 2**63, 2**64, -(2**63) - 1])
        return Nasty(f"big int {short(value, 30)}", str(value), _const(value))
    if family == 2:
        label, raw, value = rng.choice(
            [
                ("inf", "Infinity", math.inf),
                ("-inf", "-Infinity", -math.inf),
                ("nan", "NaN", math.nan),
                ("1e999 (inf)", "1e999", math.inf),
                ("1e308", "1e308", 1e308),
                ("-1e308", "-1e308", -1e308),
                ("5e-324", "5e-324", 5e-324),
                ("-0.0", "-0.0", -0.0),
            ]
        )
        return Nasty(f"float {label}", raw, _const(value))
    if family == 3:
        return _json_nasty("naive datetime", rng.choice(NAIVE_DATETIMES))
    if family in (4, 5):
        return _json_nasty("out-of-range datetime", rng.choice(OUT_OF_RANGE_DATETIMES))
    if family == 6:
        return _json_nasty("bad datetime", rng.choice(BAD_DATETIMES))
    if family == 7:
        return _json_nasty("zone name", rng.choice(ZONE_NAMES))
    if family == 8:
        return _json_nasty("unknown enum", rng.choice(UNKNOWN_ENUMS))
    if family == 9:
        return _json_nasty("huge duration", rng.choice(ISO_DURATIONS + FREE_DURATIONS))
    if family == 10:
        return rng.choice(DEEP)
    if family == 11:
        return _json_nasty("odd string", rng.choice(STRINGS))
    if family == 12:
        return _json_nasty(
            "decimal text",
            rng.choice(["NaN", "Infinity", "-1", "1e999999", "1E+999999999999999999", "0x10"]),
        )
    return rng.choice(HUGE_LISTS)


# ============================================================================ tree mutation

Path_ = tuple[Any, ...]


def tree_paths(node: Any, limit: int = 400) -> list[Path_]:
    """Paths of the nodes of a JSON-like tree (breadth first, at most ``limit``).

    Shared nasty values (deep nesting, huge lists) are leaves: never entered, so never
    mutated in place.
    """
    found: list[Path_] = [()]
    queue: deque[tuple[Path_, Any]] = deque([((), node)])
    while queue:
        path, value = queue.popleft()
        items: Iterator[tuple[Any, Any]]
        if id(value) in _SHARED:
            continue
        if isinstance(value, dict):
            items = iter(value.items())
        elif isinstance(value, list):
            items = iter(enumerate(value))
        else:
            continue
        for key, item in items:
            found.append((*path, key))
            if len(found) >= limit:
                return found
            queue.append(((*path, key), item))
    return found


def copy_tree(node: Any) -> Any:
    """A deep copy of a (shallow-nested) JSON-like tree."""
    if isinstance(node, dict):
        return {k: copy_tree(v) for k, v in node.items()}
    if isinstance(node, list):
        return [copy_tree(v) for v in node]
    return node


class Placeholders:
    """Stands for raw JSON text inside a tree until it is written."""

    def __init__(self) -> None:
        self.raw: dict[str, str] = {}

    def put(self, nasty: Nasty, text_mode: bool) -> Any:
        if not text_mode:
            return nasty.py
        key = f"\x00RAW{len(self.raw)}\x00"
        self.raw[key] = nasty.raw
        return key

    def dumps(self, tree: Any, rng: Random) -> str:
        text = json.dumps(tree, ensure_ascii=rng.random() < 0.3, allow_nan=True)
        for key, raw in self.raw.items():
            text = text.replace(json.dumps(key), raw)
        return text


def mutate_tree(
    rng: Random, tree: Any, holes: Placeholders, text_mode: bool, steps: int
) -> tuple[Any, list[str]]:
    """Apply ``steps`` structural mutations; return the tree and their descriptions."""
    notes: list[str] = []
    for _ in range(steps):
        paths = tree_paths(tree)
        path = rng.choice(paths[1:] or paths)
        parent: Any = None
        node = tree
        for step in path:
            parent, node = node, node[step]
        action = rng.random()
        where = "$" + "".join(f"[{p!r}]" for p in path)
        if isinstance(parent, dict) and action < 0.12:
            del parent[path[-1]]
            notes.append(f"delete {where}")
        elif isinstance(parent, dict) and action < 0.2:
            key = rng.choice(["x_unknown", "k" * 3000, "", "schema", "type", "\ud800"])
            nasty = nasty_values(rng, None)
            parent[key] = holes.put(nasty, text_mode)
            notes.append(f"add key {short(key, 30)} = {nasty.label} in {where[:60]}")
        else:
            nasty = nasty_values(rng, node)
            value = holes.put(nasty, text_mode)
            if parent is None:
                tree = value
            else:
                parent[path[-1]] = value
            notes.append(f"{where[:80]} -> {nasty.label}")
    return tree, notes


INVALID_UTF8 = [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf8\x88\x80\x80\x80", b"\x80"]


def text_mutation(rng: Random, text: str, keys: list[str]) -> tuple[str | bytes, str, bool]:
    """A raw-text mutation of a JSON document: (new text or bytes, description, duplicate)."""
    choice = rng.randrange(9)
    if choice == 0:
        cut = rng.randrange(len(text) + 1)
        return text[:cut], f"truncated at {cut}/{len(text)}", False
    if choice in (1, 2) and keys:
        key = rng.choice(keys)
        value = rng.choice(
            [json.dumps("dup"), "1", "null", '"2026-03-10T09:00:00Z"', "[]", '"promise_made"']
        )
        if rng.random() < 0.5:  # the first occurrence is the new one: last wins silently
            new = text.replace("{", "{" + json.dumps(key) + ":" + value + ",", 1)
        else:
            new = text[: text.rindex("}")] + "," + json.dumps(key) + ":" + value + "}"
        return new, f"duplicate key {key!r}", True
    if choice == 3:
        data = text.encode("utf-8")
        cut = rng.randrange(len(data) + 1)
        bad = rng.choice(INVALID_UTF8)
        return data[:cut] + bad + data[cut:], f"invalid UTF-8 {bad!r} at byte {cut}", False
    if choice == 4:
        depth = rng.choice([600, 2000])
        return (
            nested_raw(depth, text, rng.choice(["list", "dict"])),
            f"document nested {depth} deep",
            False,
        )
    if choice == 5:
        token = rng.choice(["NaN", "Infinity", "-Infinity", "1e999", HUGE_DIGITS, "01", "1.", "+1"])
        position = text.find(":", rng.randrange(len(text) + 1))
        if position < 0:
            return token, f"whole document is {token[:12]!r}", False
        end = position + 1
        return text[:end] + token + "," + text[end:], f"literal {token[:12]!r} inserted", False
    if choice == 6:
        position = rng.randrange(len(text) + 1)
        junk = rng.choice(["\x00", "\ud800", "}", "]", '"', "\\", ",", "\ufeff", "\\ud800"])
        return text[:position] + junk + text[position:], f"junk {junk!r} at {position}", False
    if choice == 7:
        return "\ufeff" + text, "leading BOM", False
    return text + rng.choice([" ", "\n", "x", "{}", "]"]), "trailing junk", False


# ============================================================================ seeds


def _utc(hours: float = 0) -> datetime:
    return datetime(2026, 3, 10, 14, 0, tzinfo=timezone.utc) + timedelta(hours=hours)


def make_history(variant: int) -> list[Event]:
    """A valid history of one promise using every event type."""
    zone: tzinfo = [TORONTO, timezone.utc, timezone(timedelta(hours=5, minutes=30))][variant % 3]
    start = T0.astimezone(zone) + timedelta(days=variant)
    pid = f"P-{variant}"
    terms = [
        None,
        Terms(quantity=2.0, unit="boxes"),
        Terms(max_cost=Decimal("19.99"), currency="CAD", quality=0.9),
    ][variant % 3]
    rec = _utc(variant * 24 + 1)
    return [
        PromiseMade(
            id=f"E{variant}-1",
            promise_id=pid,
            at=start,
            recorded_at=rec,
            customer_id="C-42",
            kind="callback",
            due=start + timedelta(hours=2),
            target=start + timedelta(hours=1) if variant % 2 else None,
            terms=terms,
            segment="gold" if variant % 2 else None,
            owner="ana",
            commitment="sla-60m" if variant % 2 else None,
            metadata={"crm": "zendesk", "ticket": str(variant)},
            supersedes=None,
        ),
        CustomerNotified(
            id=f"E{variant}-2",
            promise_id=pid,
            at=start + timedelta(minutes=10),
            recorded_at=rec,
            channel="sms",
            message="on our way",
        ),
        PromisePaused(
            id=f"E{variant}-3",
            promise_id=pid,
            at=start + timedelta(minutes=20),
            recorded_at=rec,
            reason="waiting on customer",
        ),
        PromiseResumed(
            id=f"E{variant}-4", promise_id=pid, at=start + timedelta(minutes=30), recorded_at=rec
        ),
        PromiseRevised(
            id=f"E{variant}-5",
            promise_id=pid,
            at=start + timedelta(minutes=40),
            recorded_at=rec,
            due=start + timedelta(hours=3),
            reason="parts",
        ),
        EscalationFired(
            id=f"E{variant}-6",
            promise_id=pid,
            at=start + timedelta(minutes=50),
            recorded_at=rec,
            rule="half-time",
            action="notify_owner",
            level=1,
            revision=1,
        ),
        DeliveryRecorded(
            id=f"E{variant}-7",
            promise_id=pid,
            at=start + timedelta(hours=2, minutes=30),
            recorded_at=rec,
            quantity=2.0,
            quality=0.9,
            cost=Decimal("12.50"),
            note="done",
        ),
        PromiseCancelled(
            id=f"E{variant}-8",
            promise_id=pid,
            at=start + timedelta(hours=4),
            recorded_at=rec,
            reason="dup",
        ),
    ]


class Seeds:
    """Valid inputs every entry point starts from (built once)."""

    def __init__(self) -> None:
        self.histories = [make_history(v) for v in range(6)]
        self.events = [e for history in self.histories for e in history]
        values: list[Any] = list(self.events)
        for history in self.histories:
            state = replay(history[0].promise_id, history)
            values.append(state)
            values.append(state.promise)
            values.append(state.assess(state.promise.due + timedelta(days=1)))
            values.extend(state.deliveries)
            values.extend(state.promise.revisions)
            if state.promise.terms is not None:
                values.append(state.promise.terms)
        sample = callback_centre_promises(8, seed=3)
        self.sample_events: list[Event] = []
        for index, promise in enumerate(sample.promises):
            self.sample_events.append(
                PromiseMade.from_promise(promise, id=f"S-{index}", recorded_at=sample.now)
            )
        for index, delivery in enumerate(sample.deliveries):
            self.sample_events.append(
                DeliveryRecorded(
                    id=f"D-{index}",
                    promise_id=delivery.promise_id,
                    at=delivery.at,
                    recorded_at=sample.now,
                    quantity=delivery.quantity,
                    quality=delivery.quality,
                    cost=delivery.cost,
                )
            )
        values.extend(sample.promises[:4])
        values.append(montreal_calendar())
        self.calendar_kwargs: list[dict[str, Any]] = [
            {
                "tz": "America/Toronto",
                "hours": {"mon-fri": ["08:30-12:00", "13:00-17:00"], "sat": "10:00-14:00"},
                "holidays": [date(2026, 12, 25), date(2026, 7, 1)],
                "holiday_rules": ["FREQ=YEARLY;BYMONTH=6;BYMONTHDAY=24"],
                "overrides": {date(2026, 12, 24): "09:00-12:00", date(2026, 12, 31): []},
            },
            {"tz": "Europe/Paris", "hours": {"daily": "00:00-24:00"}},
            {"tz": "Asia/Kolkata", "hours": {0: "09:00-17:00", "tue,thu": ["09:00-12:00"]}},
        ]
        for kwargs in self.calendar_kwargs:
            values.append(BusinessCalendar(**kwargs))
        self.values = values
        self.docs = [to_dict(v) for v in values]
        self.types = registered_types()
        self.event_docs = [to_dict(e) for e in self.events + self.sample_events]
        self.policies = [
            (resources.files("promisekit.escalation") / "policies" / name).read_text("utf-8")
            for name in ("servicenow-ladder.toml", "fever-chart.toml", "inform-early.toml")
        ]
        self.policies.append(EXTRA_POLICY)
        from promisekit.escalation._config import load_toml as _load_toml

        self.policy_dicts = [_load_toml(text) for text in self.policies]
        self.conditions = [
            rule["when"] for policy in self.policy_dicts for rule in policy["rules"]
        ] + ["overdue", "revised", "remaining <= 2h and not silence >= 30m"]
        buffer = io.StringIO()
        write_csv(self.events + self.sample_events, buffer)
        self.csv_lines = buffer.getvalue().splitlines(keepends=True)
        self.flat_rows = [_flat_row(doc) for doc in self.event_docs]


EXTRA_POLICY = """\
name = "ladder"
description = "every kind of rule"

[compensation]
per_promise = "20.00"
per_customer = "50.00"
period = "P30D"

[[rules]]
name = "half-time"
when = "elapsed >= 50%"
do = ["notify_owner"]
level = 1

[[rules]]
name = "breach"
when = "overdue > 4h or (revised >= 2 and remaining <= 2h)"
do = ["notify_customer:delay", "escalate:manager", "compensate:5.00"]
level = 2
every = "4h"
limit = 3

[[rules]]
name = "quiet"
when = "silence >= 1d and not buffer_zone >= red"
do = "escalate:3"
level = 3
description = "nobody talked to the customer"
"""

MAPPING_TOML = """\
tz = "America/Toronto"

[columns]
id = "Event ID"
promise_id = "Ticket"
type = "Event"
at = "Timestamp"

[constants]
recorded_at = "2026-03-10T18:00:00Z"

[ignore]
columns = ["Agent notes"]
"""

MAPPED_CSV = [
    "Event ID,Ticket,Event,Timestamp,Agent notes,quantity\n",
    "E-1,P-1,delivery_recorded,2026-03-10 09:30,called back,2\n",
    "E-2,P-1,promise_paused,2026-03-10T10:00:00-04:00,waiting,\n",
]


def _flat_row(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "schema"}


_SEEDS: Seeds | None = None


def seeds() -> Seeds:
    """The seeds (built on first use)."""
    global _SEEDS
    if _SEEDS is None:
        _SEEDS = Seeds()
    return _SEEDS


# ============================================================================ entry points


def _target_class(rng: Random, doc: dict[str, Any], s: Seeds) -> type[Any]:
    own = s.types.get(doc.get("type"), Event)  # type: ignore[arg-type]
    roll = rng.random()
    if roll < 0.7:
        return own
    if roll < 0.85 and issubclass(own, Event):
        return Event
    return rng.choice(list(s.types.values()))


def _mutated_doc(rng: Random, s: Seeds, text_mode: bool, docs: list[dict[str, Any]] | None = None):
    doc = copy_tree(rng.choice(docs or s.docs))
    holes = Placeholders()
    tree, notes = mutate_tree(rng, copy_tree(doc), holes, text_mode, rng.choice([1, 1, 1, 2, 3]))
    return doc, tree, holes, notes


def case_from_json(rng: Random) -> Case:
    s = seeds()
    doc, tree, holes, notes = _mutated_doc(rng, s, True)
    cls = _target_class(rng, doc, s)
    duplicate = False
    if rng.random() < 0.55:
        text: str | bytes = holes.dumps(tree, rng)
    else:
        text = holes.dumps(doc, rng)
        keys = list(doc) if isinstance(doc, dict) else []
        text, note, duplicate = text_mutation(rng, text, keys)
        notes = [note]
    if isinstance(text, str) and rng.random() < 0.2:
        text = text.encode("utf-8", "surrogatepass")
        notes.append("as bytes")
    keep = rng.random() < 0.25
    mode = "error" if not keep else "keep"

    def call() -> Any:
        value = from_json(text, cls, unknown=mode)  # type: ignore[call-overload]
        return value

    return Case(call, f"{'; '.join(notes)} (cls={cls.__name__}, unknown={mode!r})", text, duplicate)


def case_from_dict(rng: Random) -> Case:
    s = seeds()
    doc, tree, _holes, notes = _mutated_doc(rng, s, False)
    cls = _target_class(rng, doc, s)
    mode = "keep" if rng.random() < 0.25 else "error"
    if rng.random() < 0.05:
        tree = rng.choice([[], "doc", None, 1, DEEP[3].py])
        notes = [f"document is {short(tree, 40)}"]

    def call() -> Any:
        value = from_dict(tree, cls, unknown=mode)  # type: ignore[call-overload]
        return value

    return Case(call, f"{'; '.join(notes)} (cls={cls.__name__}, unknown={mode!r})", tree)


def _string_mutation(rng: Random, text: str, pool: list[str]) -> tuple[Any, str]:
    roll = rng.randrange(6)
    if roll == 0:
        cut = rng.randrange(len(text) + 1)
        return text[:cut], f"truncated at {cut}"
    if roll == 1:
        return rng.choice(pool), "from the nasty list"
    if roll == 2:
        position = rng.randrange(len(text) + 1)
        junk = rng.choice(["\x00", "\ud800", "9" * 30, "Z", "+", "[", "]", " ", "٣", "T"])
        return text[:position] + junk + text[position:], f"inserted {junk[:10]!r} at {position}"
    if roll == 3:
        return nasty_values(rng, text).py, "type flip / nasty value"
    if roll == 4:
        return text * rng.choice([2, 500]), "repeated"
    return text, "unchanged"


def case_parse_datetime(rng: Random) -> Case:
    pool = NAIVE_DATETIMES + OUT_OF_RANGE_DATETIMES + BAD_DATETIMES
    base = rng.choice(
        [
            "2026-03-10T09:00:00-04:00[America/Toronto]",
            "2026-11-01T01:30:00-05:00[America/Toronto]",
            "2026-03-10t09:00Z",
            "2026-03-10 09:00:00.5+0530",
            "2026-03-10T09:00:00+02",
            "2026-03-10T09:00:00[!Europe/Paris]",
            *pool,
        ]
    )
    text, note = _string_mutation(rng, base, pool)
    tz: Any = None
    if rng.random() < 0.4:
        tz = rng.choice([*ZONE_NAMES, TORONTO, timezone.utc, 5, b"UTC"])

    def call() -> Any:
        return parse_datetime(text, field="at", tz=tz)

    return Case(call, f"{note} (tz={short(tz, 40)})", text)


def case_parse_duration(rng: Random) -> Case:
    base = rng.choice(["PT1H30M", "-P1DT0.25S", "P2DT0.5S", "PT0S", *ISO_DURATIONS])
    text, note = _string_mutation(rng, base, ISO_DURATIONS + FREE_DURATIONS)
    return Case(lambda: parse_duration(text, field="every"), note, text)


def case_parse_decimal(rng: Random) -> Case:
    pool = ["NaN", "Infinity", "-1", "1e999999", "1E+999999999999999999", "0x10", "1_000", "1,5"]
    base = rng.choice(["19.99", "-1.5E+3", "0", ".5", *pool])
    text, note = _string_mutation(rng, base, pool)
    return Case(lambda: parse_decimal(text, field="cost"), note, text)


def _jsonl_line(rng: Random, s: Seeds) -> tuple[str | bytes, str, bool]:
    flat = rng.random() < 0.5
    docs = s.flat_rows if flat else s.event_docs
    doc, tree, holes, notes = _mutated_doc(rng, s, True, docs)
    if rng.random() < 0.5:
        return (
            holes.dumps(tree, rng),
            ("flat row: " if flat else "document: ") + "; ".join(notes),
            False,
        )
    text = holes.dumps(doc, rng)
    keys = list(doc) if isinstance(doc, dict) else []
    text, note, duplicate = text_mutation(rng, text, keys)
    return text, ("flat row: " if flat else "document: ") + note, duplicate


def _tz_arg(rng: Random) -> Any:
    if rng.random() < 0.7:
        return None
    return rng.choice([*ZONE_NAMES, TORONTO, 3])


def case_load_jsonl(rng: Random) -> Case:
    s = seeds()
    line, note, duplicate = _jsonl_line(rng, s)
    tz = _tz_arg(rng)
    if isinstance(line, bytes):
        line = line.replace(b"\n", b" ").replace(b"\r", b" ")
        source: Any = io.BytesIO(line + b"\n")
    else:
        line = line.replace("\n", " ").replace("\r", " ")
        source = [line + "\n"] if rng.random() < 0.5 else io.StringIO(line + "\n")
    return Case(
        lambda: load_jsonl(source, tz=tz),
        f"{note} (tz={short(tz, 30)})",
        line,
        duplicate,
        _row_errors_check,
    )


def _csv_source(rng: Random, s: Seeds) -> tuple[Any, str, Any, str | None]:
    """A mutated CSV source: (source, description, sample, mapping path-or-None)."""
    mapped = rng.random() < 0.15
    lines = list(MAPPED_CSV if mapped else [s.csv_lines[0], *rng.sample(s.csv_lines[1:], 3)])
    rows = [next(csv.reader([line])) for line in lines]
    notes: list[str] = []
    for _ in range(rng.choice([1, 1, 2])):
        roll = rng.randrange(8)
        r = rng.randrange(len(rows))
        if roll <= 2 and rows[r]:
            c = rng.randrange(len(rows[r]))
            nasty = nasty_values(rng, rows[r][c])
            raw = nasty.raw if nasty.raw.startswith(("[", "{")) or rng.random() < 0.5 else None
            rows[r][c] = raw if raw is not None else str(_py_or_raw(nasty))
            notes.append(f"row {r} cell {c} -> {nasty.label}")
        elif roll == 3 and rows[0]:
            header = rows[0]
            c = rng.randrange(len(header))
            header[c] = rng.choice(
                [
                    header[(c + 1) % len(header)],
                    "unknown",
                    "",
                    "x" * 5000,
                    "metadata.",
                    "terms.nope",
                    "\udcff",
                ]
            )
            notes.append(f"header cell {c} -> {short(header[c], 20)}")
        elif roll == 4:
            rows[r] = rows[r][: rng.randrange(len(rows[r]) + 1)] + ["extra"] * rng.randrange(2)
            notes.append(f"row {r} width changed")
        elif roll == 5 and r:
            column = rng.choice(["metadata", "terms.quantity", "terms.max_cost", "at", "due"])
            c = rows[0].index(column) if column in rows[0] else len(rows[r])
            if c < len(rows[r]):
                rows[r][c] = rng.choice(
                    [
                        '{"a": 1}',
                        "[]",
                        nested_raw(2000, "{}", "list"),
                        "{" * 50,
                        "NaN",
                        "1e999",
                        HUGE_DIGITS,
                    ]
                )
                notes.append(f"row {r} {column} -> structured junk")
        elif roll == 6:
            rows[r] = [cell + rng.choice(["=1+1", "'", "\x00", '"']) for cell in rows[r]]
            notes.append(f"row {r} cells suffixed")
        else:
            notes.append("unchanged rows")
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    text = buffer.getvalue()
    roll = rng.randrange(6)
    data: str | bytes = text
    if roll == 0:
        cut = rng.randrange(len(text) + 1)
        data = text[:cut]
        notes.append(f"truncated at {cut}")
    elif roll == 1:
        raw = text.encode("utf-8", "surrogatepass")
        cut = rng.randrange(len(raw) + 1)
        bad = rng.choice(INVALID_UTF8)
        data = raw[:cut] + bad + raw[cut:]
        notes.append(f"invalid UTF-8 {bad!r} at byte {cut}")
    elif roll == 2:
        position = rng.randrange(len(text) + 1)
        junk = rng.choice(['"', "\r", "\x00", "\n\n", '"a"b', ","])
        data = text[:position] + junk + text[position:]
        notes.append(f"junk {junk!r} at {position}")
    elif roll == 3 and rng.random() < 0.2:
        data = text.rstrip("\n") + "," + "y" * 140_000 + "\n"
        notes.append("a cell over the csv field size limit")
    if isinstance(data, str) and "\udcff" in data:
        data = data.encode("utf-8", "surrogatepass")
    if isinstance(data, bytes):
        source: Any = io.BytesIO(data)
    else:
        source = data.splitlines(keepends=True) if rng.random() < 0.5 else io.StringIO(data)
    return source, "; ".join(notes), data, MAPPING_TOML if mapped else None


def _py_or_raw(nasty: Nasty) -> Any:
    if nasty.raw.startswith(("[", "{")) or len(nasty.raw) > 4000:
        return nasty.raw
    return nasty.py


class TempDir:
    """A temporary directory for the TOML files of the run (removed at exit)."""

    def __init__(self) -> None:
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self.count = 0

    def write(self, data: bytes) -> Path:
        if self._dir is None:
            self._dir = tempfile.TemporaryDirectory(prefix="promisekit-fuzz-")
        self.count += 1
        path = Path(self._dir.name) / f"m{self.count % 64}.toml"
        path.write_bytes(data)
        return path

    def cleanup(self) -> None:
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None


TEMP = TempDir()


def case_load_csv(rng: Random) -> Case:
    s = seeds()
    source, note, sample, mapping_text = _csv_source(rng, s)
    mapping: Any = None
    if mapping_text is not None:
        mapping = TEMP.write(mapping_text.encode())
    tz = _tz_arg(rng) if mapping is None else None
    unescape = rng.random() < 0.3
    return Case(
        lambda: load_csv(source, mapping=mapping, tz=tz, unescape_formulas=unescape),
        f"{note} (tz={short(tz, 30)}, unescape={unescape})",
        sample,
        check=_row_errors_check,
    )


def case_iter_rows(rng: Random) -> Case:
    s = seeds()
    fmt = rng.choice(["csv", "jsonl", "json", "CSV", 1])
    if fmt == "jsonl":
        line, note, _dup = _jsonl_line(rng, s)
        source: Any = [line.decode("utf-8", "surrogateescape") if isinstance(line, bytes) else line]
        sample: Any = line
    else:
        source, note, sample, _m = _csv_source(rng, s)
    mapping: Any = None
    if rng.random() < 0.4:
        mapping = copy_tree(rng.choice([{"id": "Event ID"}, {"at": "when", "type": "kind"}, {}]))
        mapping, _notes = (
            mutate_tree(rng, mapping, Placeholders(), False, 1) if mapping else (mapping, [])
        )
        note += f"; mapping {short(mapping, 60)}"

    tz = _tz_arg(rng)
    note += f"; tz={short(tz, 30)}"

    def call() -> Any:
        items = iter_rows(source, format=fmt, mapping=mapping, tz=tz)  # type: ignore[arg-type]
        return [str(item) if isinstance(item, RowError) else item for item in items]

    def check(result: Any) -> str | None:
        for item in result:
            if isinstance(item, str) and len(item) > LONG_MESSAGE:
                return f"RowError of {len(item)} chars: {item[:200]}"
        return None

    return Case(call, f"format={fmt!r}; {note}", sample, check=check)


def _toml_value(nasty: Nasty, rng: Random) -> str:
    raw = nasty.raw
    if raw in ("Infinity", "-Infinity"):
        return raw.lower().replace("infinity", "inf")
    if raw == "NaN":
        return "nan"
    if raw == "null":
        return rng.choice(['""', "{}", "1979-05-27T07:32:00", "07:32:00", "1979-05-27"])
    if raw.startswith('{"a":'):
        return raw.replace('{"a":', "{a=").replace("}", "}")
    return raw


def toml_mutation(rng: Random, text: str) -> tuple[str | bytes, str]:
    """A line-level or text-level mutation of a TOML document."""
    lines = text.splitlines(keepends=True)
    roll = rng.randrange(7)
    assignments = [i for i, line in enumerate(lines) if "=" in line and not line.startswith("#")]
    if roll <= 2 and assignments:
        i = rng.choice(assignments)
        key = lines[i].split("=", 1)[0]
        nasty = nasty_values(rng, None)
        lines[i] = f"{key}= {_toml_value(nasty, rng)}\n"
        return "".join(lines), f"{key.strip()} = {nasty.label}"
    if roll == 3:
        cut = rng.randrange(len(text) + 1)
        return text[:cut], f"truncated at {cut}"
    if roll == 4:
        data = text.encode("utf-8")
        cut = rng.randrange(len(data) + 1)
        bad = rng.choice(INVALID_UTF8)
        return data[:cut] + bad + data[cut:], f"invalid UTF-8 {bad!r} at byte {cut}"
    if roll == 5 and assignments:
        i = rng.choice(assignments)
        return "".join([*lines[: i + 1], lines[i], *lines[i + 1 :]]), "duplicate key line"
    depth = rng.choice([600, 2000])
    i = rng.choice(assignments) if assignments else 0
    key = lines[i].split("=", 1)[0] if assignments else "x "
    lines[i] = f"{key}= {'[' * depth}1{']' * depth}\n"
    return "".join(lines), f"{key.strip()} = array nested {depth} deep"


def case_policy_from_toml(rng: Random) -> Case:
    s = seeds()
    text, note = toml_mutation(rng, rng.choice(s.policies))
    source: Any = text
    if isinstance(text, bytes):
        source = text.decode("utf-8", "surrogateescape") if rng.random() < 0.5 else TEMP.write(text)
        note += " (as a lone-surrogate str)" if isinstance(source, str) else " (as a .toml file)"
    return Case(lambda: EscalationPolicy.from_toml(source), note, text)


def case_policy_from_dict(rng: Random) -> Case:
    s = seeds()
    tree = copy_tree(rng.choice(s.policy_dicts))
    notes: list[str]
    if rng.random() < 0.35:
        paths = [
            p
            for p in tree_paths(tree)
            if p and p[-1] in ("when", "every", "period", "per_promise", "level", "limit")
        ]
        path = rng.choice(paths)
        node = tree
        for step in path[:-1]:
            node = node[step]
        value = rng.choice(POLICY_VALUES)
        node[path[-1]] = value
        notes = [f"{'.'.join(map(str, path))} = {short(value, 60)}"]
    else:
        tree, notes = mutate_tree(rng, tree, Placeholders(), False, rng.choice([1, 1, 2]))
    return Case(lambda: EscalationPolicy.from_dict(tree), "; ".join(notes), tree)


POLICY_VALUES: list[Any] = [
    *FREE_DURATIONS,
    "overdue >= 99999999999999d",
    "remaining <= 1e400h",
    "silence > " + "9" * 400 + "h",
    "elapsed >= nan%",
    "elapsed >= 1e-400%",
    "elapsed >= " + "9" * 5000 + "%",
    "revised >= " + "9" * 5000,
    "(" * 600 + "overdue" + ")" * 600,
    "(" * 2000 + "overdue" + ")" * 2000,
    "not " * 2000 + "overdue",
    " and ".join(["overdue"] * 3000),
    "satisfaction <= dissatisfied",
    "buffer_zone >= purple",
    "x" * 5000,
    HUGE_INT,
    -1,
    0,
    math.inf,
    math.nan,
    True,
    None,
    [],
    {},
    "compensate:NaN",
]


def case_parse_condition(rng: Random) -> Case:
    s = seeds()
    base = rng.choice(s.conditions)
    text, note = _string_mutation(rng, base, [v for v in POLICY_VALUES if isinstance(v, str)])
    return Case(lambda: parse_condition(text), note, text)


def case_load_mapping(rng: Random) -> Case:
    data, note = toml_mutation(rng, MAPPING_TOML)
    if rng.random() < 0.25:
        zone = rng.choice(ZONE_NAMES).replace("\\", "").replace('"', "")
        text = data if isinstance(data, str) else data.decode("utf-8", "replace")
        data = text.replace('"America/Toronto"', json.dumps(zone, ensure_ascii=False), 1)
        note += f"; tz = {short(zone, 30)}"
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    path = TEMP.write(raw)
    loader = load_mapping if rng.random() < 0.7 else ColumnMapping.from_toml
    return Case(lambda: loader(path), note, raw)


def case_column_mapping(rng: Random) -> Case:
    kwargs: dict[str, Any] = {
        "columns": {"id": "Event ID", "at": "Timestamp"},
        "constants": {"recorded_at": "2026-03-10T18:00:00Z"},
        "tz": "America/Toronto",
        "ignore": ["Agent notes"],
    }
    tree, notes = mutate_tree(rng, kwargs, Placeholders(), False, rng.choice([1, 2]))
    if not isinstance(tree, dict):
        tree = {"columns": tree}
    known = ("columns", "constants", "tz", "ignore")
    tree = {k: v for k, v in tree.items() if k in known}  # values only, no unknown keyword
    return Case(lambda: ColumnMapping(**tree), "; ".join(notes), tree)


def case_calendar(rng: Random) -> Case:
    s = seeds()
    kwargs = copy_tree(rng.choice(s.calendar_kwargs))
    notes: list[str] = []
    roll = rng.random()
    if roll < 0.4:
        key = rng.choice(list(kwargs))
        value = rng.choice(CALENDAR_VALUES.get(key, [None]))
        kwargs[key] = value
        notes.append(f"{key} = {short(value, 60)}")
    else:
        tree, notes = mutate_tree(rng, kwargs, Placeholders(), False, rng.choice([1, 1, 2]))
        if isinstance(tree, dict) and all(isinstance(k, str) for k in tree):
            kwargs = tree
        else:
            kwargs = {"tz": tree}
    # Values only: a missing or unknown keyword is a TypeError of the Python call.
    known = {"tz", "hours", "holidays", "holiday_rules", "overrides"}
    kwargs = {k: v for k, v in kwargs.items() if k in known}
    kwargs.setdefault("tz", "America/Toronto")
    use = rng.random() < 0.25  # the first use builds the tables (slow: not every case)
    if use:
        notes.append("then add()")

    def call() -> Any:
        calendar = BusinessCalendar(**kwargs)
        if use:
            calendar.add(T0, timedelta(hours=3))
        return calendar

    return Case(call, "; ".join(notes), kwargs)


CALENDAR_VALUES: dict[str, list[Any]] = {
    "tz": [*ZONE_NAMES, HUGE_INT, None, 5, TORONTO, timezone.utc],
    "hours": [
        {"mon-fri": "25:00-26:00"},
        {"mon-fri": "09:00-08:00"},
        {"mon-fri": "99999999999:00-99999999999:30"},
        {"mon-sun-fri": "09:00-17:00"},
        {HUGE_INT: "09:00-17:00"},
        {7: "09:00-17:00"},
        {-1: "09:00-17:00"},
        {"mon": ["09:00-12:00", "11:00-13:00"]},
        {"mon": "09:00-12:00", "0": "13:00-14:00"},
        {"daily": "00:00-24:00", "mon": "09:00-10:00"},
        {"mon": [dtime(9), dtime(17)]},
        {"mon": [[dtime(9), dtime(17)]]},
        {"mon": "9-17"},
        {"mon": "09:00-17:00" * 500},
        {"mon": nested(2000, "09:00-17:00", "list")},
        {"mon": []},
        {},
        [],
        "mon-fri 9-5",
    ],
    "holidays": [
        ["2026-02-30"],
        ["2026-12-25"],
        [date.max, date.min],
        [datetime(2026, 12, 25, tzinfo=TORONTO)],
        [HUGE_INT],
        "2026-12-25",
        [None],
        nested(2000, date(2026, 1, 1), "list"),
    ],
    "holiday_rules": [
        ["FREQ=YEARLY;COUNT=999999999999999999999"],
        ["DTSTART:99991231T000000\nRRULE:FREQ=DAILY"],
        ["FREQ=YEARLY;BYMONTH=13"],
        ["FREQ=YEARLY;BYMONTH=" + "9" * 5000],
        ["FREQ=WEEKLY;UNTIL=99991231T235959Z"],
        ["FREQ=MONTHLY;BYMONTHDAY=31;BYMONTH=2"],
        ["RRULE:FREQ=YEARLY;BYMONTH=6;BYMONTHDAY=24;DTSTART=20260101"],
        ["x" * 5000],
        [""],
        "FREQ=YEARLY",
        [HUGE_INT],
    ],
    "overrides": [
        {date(9999, 12, 31): "09:00-17:00"},
        {date(1, 1, 1): "09:00-17:00"},
        {"2026-12-24": "09:00-12:00"},
        {date(2026, 12, 24): "12:00-09:00"},
        {date(2026, 12, 24): "09:00-12:00", datetime(2026, 12, 24): "13:00-14:00"},
        {HUGE_INT: "09:00-12:00"},
        [(date(2026, 12, 24), "09:00-12:00")],
        {date(2026, 12, 24): nested(2000, "09:00-12:00", "list")},
    ],
}

# --------------------------------------------------------------------------- constructors

BROKEN_ZONE = timezone(timedelta(hours=-1))


class _NoOffset(tzinfo):
    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None


PY_DATETIMES: list[Any] = [
    datetime(2026, 3, 10, 9, 0),
    datetime(9999, 12, 31, 23, 30, tzinfo=BROKEN_ZONE),
    datetime(1, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))),
    datetime.max.replace(tzinfo=ZoneInfo("Pacific/Kiritimati")),
    datetime.min.replace(tzinfo=ZoneInfo("Asia/Tokyo")),
    datetime.max.replace(tzinfo=timezone.utc),
    datetime.min.replace(tzinfo=timezone.utc),
    datetime(2026, 3, 10, 9, 0, tzinfo=_NoOffset()),
    date(2026, 3, 10),
    "2026-03-10T09:00:00Z",
    1_773_000_000,
]
PY_VALUES: list[Any] = [
    *PY_DATETIMES,
    math.nan,
    math.inf,
    -math.inf,
    1e308,
    HUGE_INT,
    -HUGE_INT,
    Decimal("NaN"),
    Decimal("Infinity"),
    Decimal("1E+999999"),
    Decimal("-0.01"),
    "",
    " ",
    "x" * 5000,
    "\ud800",
    b"bytes",
    None,
    True,
    -1,
    [],
    {},
    {"k": HUGE_INT},
    {HUGE_INT: "v"},
    {"k": "x" * 5000},
    nested(2000, {}, "dict"),
    timedelta.max,
    Terms(quantity=1.0),
    Terms(),
    object(),
]


def _event_kwargs(event: Any) -> dict[str, Any]:
    return {f.alias or f.name: getattr(event, f.name) for f in attrs.fields(type(event)) if f.init}


def case_event_constructor(rng: Random) -> Case:
    s = seeds()
    event = rng.choice(s.events)
    kwargs = _event_kwargs(event)
    notes: list[str] = []
    for _ in range(rng.choice([1, 1, 2])):
        key = rng.choice(list(kwargs))
        # Values only: a missing or unknown keyword is a TypeError of the Python call.
        value = rng.choice(PY_VALUES)
        kwargs[key] = value
        notes.append(f"{key}={short(value, 50)}")
    cls = type(event)
    return Case(lambda: cls(**kwargs), f"{cls.__name__}: " + "; ".join(notes), kwargs)


def case_value_constructor(rng: Random) -> Case:
    s = seeds()
    value = rng.choice([v for v in s.values if isinstance(v, (Promise, Terms, Delivery))])
    kwargs = _event_kwargs(value)
    key = rng.choice(list(kwargs))
    new = rng.choice(PY_VALUES)
    kwargs[key] = new
    cls = type(value)
    return Case(lambda: cls(**kwargs), f"{cls.__name__}: {key}={short(new, 50)}", kwargs)


class StoreSlot:
    """One in-memory SQLite ledger, renewed every few hundred appends."""

    def __init__(self) -> None:
        self.store: SQLiteLedger | None = None
        self.uses = 0

    def get(self) -> SQLiteLedger:
        if self.store is None or self.uses >= 300:
            self.close()
            self.store = SQLiteLedger(":memory:")
            self.uses = 0
        self.uses += 1
        return self.store

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None


STORE = StoreSlot()

EDGE_VALUES: dict[str, list[Any]] = {
    "at": [
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59.999999Z",
        "0001-01-01T23:59:00+23:59",
        "9999-12-31T00:00:00-23:59",
        "9999-12-31T18:00:00-05:00[America/Toronto]",
        *OUT_OF_RANGE_DATETIMES,
    ],
    "id": ["E0-1", "E0-2", "x" * 100_000, "\x00", "é", "\ud800", " e ", "'; DROP TABLE events; --"],
    "quantity": [1e308, 5e-324, 0, 2**53 + 1, 10**30, HUGE_INT],
    "cost": ["1E+999999999999999999", "0.000000000000000000001", "1" * 999, "-0"],
    "level": [2**63, 2**64, 10**30, HUGE_INT, 0],
    "metadata": [{"k" * 1000: "v" * 100_000}, {"": ""}, {"\ud800": "x"}],
}


def case_store_append(rng: Random) -> Case:
    s = seeds()
    doc = copy_tree(rng.choice(s.event_docs))
    notes: list[str] = []
    for _ in range(rng.choice([1, 1, 2])):
        key = rng.choice([k for k in doc if k not in ("schema", "type")])
        family = "at" if key in ("at", "recorded_at", "due", "target") else key
        family = "quantity" if key == "quality" else family
        family = "id" if key in ("promise_id", "customer_id", "rule", "note", "reason") else family
        family = "level" if key == "revision" else family
        pool = EDGE_VALUES.get(family)
        if pool is None or rng.random() < 0.15:
            value = nasty_values(rng, doc[key]).py
        else:
            value = rng.choice(pool)
        doc[key] = value
        notes.append(f"{key}={short(value, 50)}")
    try:
        text = json.dumps(doc, ensure_ascii=False, allow_nan=True)
    except (ValueError, RecursionError):
        text = None
    batch = rng.random() < 0.2
    also = list(rng.sample(s.events, 2)) if batch else []
    now = _utc(rng.choice([0, 1e6, -1e5]) if rng.random() < 0.3 else 48)

    def call() -> Any:
        event = from_dict(doc, Event) if text is None else from_json(text, Event)
        store = STORE.get()
        if batch:
            store.append_many([*also, event])
        else:
            store.append(event)
        store.get(event.id)
        return store.state(event.promise_id, now)

    return Case(call, ("append_many: " if batch else "append: ") + "; ".join(notes), doc)


def case_capability(rng: Random) -> Case:
    values: list[Any] = [timedelta(minutes=m) for m in (5, 10, 30)]
    pairs: list[Any] = [(T0, T0 + timedelta(minutes=m)) for m in (5, 10, 30)]
    use_pairs = rng.random() < 0.5
    target = pairs if use_pairs else values
    position = rng.randrange(len(target))
    if use_pairs:
        start, end = target[position]
        new = rng.choice(PY_VALUES)
        target[position] = (new, end) if rng.random() < 0.5 else (start, new)
    else:
        new = rng.choice([*PY_VALUES, 1e300, -5.0, timedelta.min])
        target[position] = new
    label = "x" * 5000 if rng.random() < 0.05 else "jobs"

    def call() -> Any:
        if use_pairs:
            return EmpiricalCapability.from_pairs(target, label=label)
        return EmpiricalCapability.from_durations(target, label=label)

    name = "from_pairs" if use_pairs else "from_durations"
    return Case(call, f"{name}: item {position} -> {short(new, 50)}", target)


ENTRY_POINTS: dict[str, tuple[int, Callable[[Random], Case]]] = {
    "serialize.from_json": (20, case_from_json),
    "serialize.from_dict": (16, case_from_dict),
    "serialize.parse_datetime": (6, case_parse_datetime),
    "serialize.parse_duration": (3, case_parse_duration),
    "serialize.parse_decimal": (2, case_parse_decimal),
    "io.load_jsonl": (8, case_load_jsonl),
    "io.load_csv": (8, case_load_csv),
    "io.iter_rows": (3, case_iter_rows),
    "io.load_mapping": (3, case_load_mapping),
    "io.ColumnMapping": (2, case_column_mapping),
    "escalation.EscalationPolicy.from_dict": (6, case_policy_from_dict),
    "escalation.EscalationPolicy.from_toml": (5, case_policy_from_toml),
    "escalation.parse_condition": (3, case_parse_condition),
    "calendar.BusinessCalendar": (4, case_calendar),
    "ledger.<event>(**fields)": (6, case_event_constructor),
    "promise/delivery constructors": (2, case_value_constructor),
    "store.SQLiteLedger.append": (4, case_store_append),
    "buffering.EmpiricalCapability.from_*": (2, case_capability),
}


def allocation(total: int) -> dict[str, int]:
    """Cases per entry point for ``total`` cases (at least one each)."""
    weights = sum(w for w, _ in ENTRY_POINTS.values())
    counts = {name: max(1, total * w // weights) for name, (w, _) in ENTRY_POINTS.items()}
    first = next(iter(counts))
    counts[first] += max(0, total - sum(counts.values()))
    return counts


def make_case(seed: int, entry: str, index: int) -> Case:
    """Regenerate one case."""
    return ENTRY_POINTS[entry][1](Random(f"{seed}/{entry}/{index}"))


# ============================================================================ running


def run(
    total: int = DEFAULT_CASES,
    seed: int = DEFAULT_SEED,
    *,
    entries: list[str] | None = None,
    progress: bool = False,
) -> Report:
    """Run ``total`` cases (split over the entry points by weight) and return the report."""
    report = Report(seed)
    limit = sys.getrecursionlimit()
    with warnings.catch_warnings():
        # Warnings are legitimate outcomes here (not escapes), even under -W error.
        warnings.simplefilter("ignore")
        _run(report, total, seed, entries, progress, limit)
    return report


def _run(
    report: Report, total: int, seed: int, entries: list[str] | None, progress: bool, limit: int
) -> None:
    try:
        for entry, count in allocation(total).items():
            if entries and entry not in entries:
                continue
            tally = report.tallies.setdefault(entry, Tally())
            started = time.perf_counter()
            for index in range(count):
                case = make_case(seed, entry, index)
                run_case(entry, index, case, tally, report)
                if sys.getrecursionlimit() != limit:  # pragma: no cover - a leak by the code
                    sys.setrecursionlimit(limit)
            tally.seconds = time.perf_counter() - started
            if progress:
                print(f"  {entry}: {count} cases in {tally.seconds:.1f} s", file=sys.stderr)
    finally:
        STORE.close()
        TEMP.cleanup()


def print_report(report: Report, total: int, show: int = 3, out: Any = None) -> None:
    """Print the table and the first findings per (entry point, kind)."""
    out = out or sys.stdout
    w = max(len(name) for name in report.tallies) if report.tallies else 10
    header = (
        f"{'entry point':<{w}}  {'cases':>7}  {'ok':>7}  {'PKError':>7}  {'escapes':>7}"
        f"  {'long msg':>8}  {'dup acc':>7}  {'µs/case':>8}"
    )
    print(header, file=out)
    print("-" * len(header), file=out)
    sums = Tally()
    for name, t in report.tallies.items():
        per = 1e6 * t.seconds / t.cases if t.cases else 0.0
        print(
            f"{name:<{w}}  {t.cases:>7}  {t.ok:>7}  {t.errors:>7}  {t.escapes:>7}"
            f"  {t.long:>8}  {t.duplicates:>7}  {per:>8.0f}",
            file=out,
        )
        for attr in ("cases", "ok", "errors", "escapes", "long", "duplicates", "seconds"):
            setattr(sums, attr, getattr(sums, attr) + getattr(t, attr))
    print("-" * len(header), file=out)
    per = 1e6 * sums.seconds / sums.cases if sums.cases else 0.0
    print(
        f"{'total':<{w}}  {sums.cases:>7}  {sums.ok:>7}  {sums.errors:>7}  {sums.escapes:>7}"
        f"  {sums.long:>8}  {sums.duplicates:>7}  {per:>8.0f}",
        file=out,
    )
    print(f"\nseed {report.seed}, {sums.seconds:.1f} s of cases", file=out)
    groups: dict[tuple[str, str, str, str], list[Finding]] = {}
    for finding in report.findings:
        key = (finding.category, finding.entry, finding.kind, finding.where)
        groups.setdefault(key, []).append(finding)
    if not groups:
        print("no escapes, no long messages, no duplicate keys accepted", file=out)
        return
    print(f"\n{len(groups)} distinct (category, entry point, kind, raised at):", file=out)
    for (category, entry, kind, where), findings in sorted(groups.items()):
        at = f" at {where}" if where else ""
        print(f"\n[{category}] {entry}: {kind}{at} x{len(findings)}", file=out)
        for f in findings[:show]:
            print(f"  case {f.index}: {f.mutation[:220]}", file=out)
            print(f"    message: {f.message[:220]!r}", file=out)
            print(f"    input:   {f.sample[:220]}", file=out)
            print(
                f"    rerun:   python benchmarks/fuzz_inputs.py --seed {report.seed} "
                f"--entry {entry!r} --case {f.index}",
                file=out,
            )


def show_case(seed: int, entry: str, index: int) -> int:
    """Rerun one case, print its input and what happened."""
    case = make_case(seed, entry, index)
    print(f"entry:    {entry}\ncase:     {index}\nmutation: {case.mutation}")
    print(f"input:    {short(case.sample, 4000)}")
    try:
        result = case.call()
    except PromiseKitError as exc:
        text = _message(exc)
        print(f"PromiseKitError {type(exc).__name__} ({len(text)} chars): {text[:2000]}")
        return 1 if len(text) > LONG_MESSAGE else 0
    except Exception:
        traceback.print_exc(limit=-8)
        return 1
    print(f"returned: {short(result, 400)}")
    problem = case.check(result) if case.check else None
    if problem:
        print(problem)
    return 1 if problem or (case.duplicate and _accepted(result)) else 0


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=DEFAULT_CASES, help="total cases")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--entry", action="append", choices=list(ENTRY_POINTS), help="only these")
    parser.add_argument("--case", type=int, help="rerun one case of --entry and show it")
    parser.add_argument("--show", type=int, default=3, help="findings shown per kind")
    args = parser.parse_args(argv)
    if args.case is not None:
        if not args.entry or len(args.entry) != 1:
            parser.error("--case needs exactly one --entry")
        try:
            return show_case(args.seed, args.entry[0], args.case)
        finally:
            STORE.close()
            TEMP.cleanup()
    print(f"promisekit fuzz: {args.cases} cases, seed {args.seed}, Python {sys.version.split()[0]}")
    seeds()
    report = run(args.cases, args.seed, entries=args.entry, progress=True)
    print_report(report, args.cases, show=args.show)
    return 1 if report.failed else 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
    sys.exit(130)
