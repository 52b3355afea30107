"""What the ``promisekit`` commands do with a CRM export: read it, summarize it.

Private to :mod:`promisekit.cli`: reading an export into promises and deliveries
(bad rows to stderr), the summary rows and the HTML report.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from promisekit import io
from promisekit._cli_calendar import calendar_from_args
from promisekit._cli_errors import print_errors
from promisekit._cli_format import _Progress, _zone, format_duration
from promisekit._cli_wide import _is_wide, _load_wide, _WideExport
from promisekit._io_csv import _csv_rows
from promisekit._io_jsonl import _jsonl_rows
from promisekit._io_mapping import _resolve_mapping
from promisekit._io_rows import _FLOAT_RE, _collect, _lines, _RowBuilder
from promisekit._redact import redact
from promisekit._validation import describe, describe_names
from promisekit.calendar import BusinessCalendar
from promisekit.delivery import Delivery, assess
from promisekit.errors import InsufficientDataError, PromiseKitError
from promisekit.ledger import PromiseLedger, UnknownPromiseError
from promisekit.promise import Promise

if TYPE_CHECKING:
    from promisekit.analysis import PromiseBook
    from promisekit.buffering import HistoryRecord


def _calendar(args: argparse.Namespace, years: range | None = None) -> BusinessCalendar | None:
    return calendar_from_args(args, years)


class _Export:
    """The promises of a CRM export, replayed from its events."""

    def __init__(self, promises: list[Promise], deliveries: list[Delivery], now: datetime) -> None:
        self.promises = promises
        self.deliveries = deliveries
        self.now = now

    @property
    def size(self) -> int:
        """How many promises."""
        return len(self.promises)

    def years(self) -> range:
        """The calendar years of the data (one more on each side)."""
        first = min(p.made_at for p in self.promises)
        return range(first.year - 1, self.now.year + 2)

    def book(self, calendar: BusinessCalendar | None) -> PromiseBook:
        """The promises as a book; scores from the promises' ``score`` metadata."""
        from promisekit.analysis import PromiseBook
        from promisekit.analysis._book_records import _records_columns

        columns = _records_columns(self.promises, self.deliveries, self.now)
        scores = [_score(p.metadata.get("score")) for p in self.promises]
        if any(score == score for score in scores):
            columns["score"] = scores
        return PromiseBook(**columns, calendar=calendar)

    def history(self, kind: str | None) -> list[HistoryRecord]:
        """Made-to-completed records of the completed promises (of ``kind``)."""
        from promisekit.buffering import HistoryRecord

        by_id: dict[str, list[Delivery]] = {p.id: [] for p in self.promises}
        for delivery in self.deliveries:
            by_id[delivery.promise_id].append(delivery)
        records = []
        for promise in self.promises:
            if kind is not None and promise.kind != kind:
                continue
            outcome = assess(promise, by_id[promise.id], now=self.now)
            if outcome.completed_at is not None:
                records.append(
                    HistoryRecord(promise.made_at, outcome.completed_at, segment=promise.kind)
                )
        if not records:
            what = "promise" if kind is None else f"{describe(kind)} promise"
            raise InsufficientDataError(f"the history has no completed {what}")
        return records


def _score(text: str | None) -> float:
    """A ``score`` metadata value as a number (NaN when absent or not a plain number)."""
    if text is None or _FLOAT_RE.fullmatch(text) is None:
        return math.nan
    value = float(text)
    return value if math.isfinite(value) else math.nan


def _ignoring_unknown(path: str, mapping: str | None, tz: str | None) -> io.ColumnMapping:
    """The mapping, with the CSV columns it does not know added to its ``ignore`` (noted)."""
    resolved, _ = _resolve_mapping(mapping, tz)
    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
        try:
            header = next(csv.reader(handle), [])
        except csv.Error:
            return resolved  # the reader says what is wrong with the header
    builder = _RowBuilder(resolved, None, False)
    unknown = [c for c in header if not builder.column_fields(c) and c not in resolved.ignore]
    if not unknown:
        return resolved
    print(
        f"{path}: note: ignored columns that are not event fields ({len(unknown)}): "
        f"{describe_names(unknown)}",
        file=sys.stderr,
    )
    return attrs.evolve(resolved, ignore=(*resolved.ignore, *unknown))


def _load(
    path: str, mapping: str | None, tz: str | None, progress: _Progress | None = None
) -> _Export | _WideExport:
    """Read a CSV / JSON Lines export; bad rows go to stderr with their line numbers."""
    _zone(tz)
    if mapping is not None and _is_wide(mapping):
        return _load_wide(path, mapping, tz)
    jsonl = Path(path).suffix.lower() in (".jsonl", ".ndjson")
    try:
        if jsonl:
            resolved, zone = _resolve_mapping(mapping, tz)
        else:
            resolved, zone = _resolve_mapping(_ignoring_unknown(path, mapping, tz), tz)
        builder = _RowBuilder(resolved, zone, False, recorded_at_from_at=True)
        rows = _jsonl_rows if jsonl else _csv_rows
        result = _collect(rows(_lines(path), builder))
    except OSError as exc:
        raise _ReadError(f"cannot read {redact(path)}: {exc.strerror or exc}") from None
    print_errors(
        path, result.errors, result.rows, len(result.bad_lines), sys.stderr, tz_given=tz is not None
    )
    ledger = PromiseLedger()
    ledger.append_many(result.records)
    promises: list[Promise] = []
    deliveries: list[Delivery] = []
    ids = ledger.promise_ids()
    for index, promise_id in enumerate(ids):
        if progress is not None:
            progress.update("replaying promises", index + 1, len(ids))
        try:
            state = ledger.state(promise_id)
        except UnknownPromiseError:
            if progress is not None:
                progress.clear()
            print(
                f"{path}: skipped: promise {describe(promise_id)} has events but no "
                f"promise_made row",
                file=sys.stderr,
            )
            continue
        if state.cancelled:
            continue
        promises.append(state.promise)
        deliveries.extend(state.deliveries)
    if progress is not None:
        progress.clear()
    if not promises:
        raise InsufficientDataError(f"{path} has no usable promise")
    now = max(event.at for event in result.records)
    return _Export(promises, deliveries, now)


class _ReadError(PromiseKitError):
    """A file cannot be read or written."""


def _summary(book: PromiseBook) -> tuple[list[str], list[list[str]], list[dict[str, Any]]]:
    from promisekit.analysis._report import summary_rows

    headers = ["by", "group", "promises", "open", "overdue", "kept", "late", "short"]
    headers += ["keep rate"]
    headers += ["late p50", "late p90", "late p95", "median response"]
    durations = ["lateness_p50", "lateness_p90", "lateness_p95", "median_response"]
    rows: list[list[str]] = []
    records: list[dict[str, Any]] = []
    summary = summary_rows(book)
    scored = any("mean_score" in row for row in summary)
    if scored:
        headers.append("mean score")
    for row in summary:
        rate = float(row["keep_rate"])
        micros: dict[str, int | None] = {key: row[key] for key in durations}
        rows.append(
            [str(row["by"]), str(row["group"])]
            + [str(row[key]) for key in ("promises", "open", "overdue", "kept", "late", "short")]
            + ["-" if math.isnan(rate) else f"{rate:.1%}"]
            + [format_duration(_delta(micros[key])) for key in durations]
        )
        record: dict[str, Any] = {"by": str(row["by"]), "group": str(row["group"])}
        for key in ("promises", "open", "kept", "late", "short", "overdue"):
            record[key] = int(row[key])
        record["keep_rate"] = None if math.isnan(rate) else rate
        for key, value in micros.items():
            record[f"{key}_seconds"] = None if value is None else value / 1e6
        if scored:
            mean = float(row.get("mean_score", math.nan))
            rows[-1].append("-" if math.isnan(mean) else f"{mean:.2f}")
            record["mean_score"] = None if math.isnan(mean) else mean
        records.append(record)
    return headers, rows, records


def _delta(micros: int | None) -> timedelta | None:
    return None if micros is None else timedelta(microseconds=micros)


def _write_html(book: PromiseBook, out: str, title: str, *, to_stderr: bool = False) -> None:
    from promisekit.analysis._report import html_report

    page = html_report(book, title=title)
    try:
        Path(out).write_text(page, encoding="utf-8")
    except OSError as exc:
        raise _ReadError(f"cannot write {out}: {exc.strerror or exc}") from None
    print(f"HTML report written to {out}", file=sys.stderr if to_stderr else sys.stdout)
