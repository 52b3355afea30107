"""The words and tables of the HTML report: a summary paragraph, human column names.

Durations in a table are shown in one unit per column (minutes, hours or days, chosen
from the column's typical value and named in its header), never mixed in a column.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

from promisekit.analysis._book import PromiseBook
from promisekit.analysis._book_records import _KEPT, _LATE, _OVERDUE, _PENDING, _SHORT
from promisekit.analysis._fairness import FairnessReport
from promisekit.analysis._intervals import keep_intervals
from promisekit.analysis._units import Unit, column_unit, number, typical, unit_for

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_NAT = np.iinfo(np.int64).min
_NONE = "(none)"

# Summary keys → (header, kind): kind "count", "rate", "score" or "duration".
_HEADERS: dict[str, tuple[str, str]] = {
    "promises": ("Promises", "count"),
    "open": ("Open", "count"),
    "kept": ("Kept", "count"),
    "late": ("Late", "count"),
    "short": ("Short", "count"),
    "overdue": ("Overdue", "count"),
    "keep_rate": ("Keep rate (%)", "rate"),
    "lateness_p50": ("Median lateness", "duration"),
    "lateness_p90": ("Lateness p90", "duration"),
    "lateness_p95": ("Lateness p95", "duration"),
    "median_response": ("Median response, open censored", "duration"),
    "mean_score": ("Mean score", "score"),
}


def _when(instant: datetime) -> str:
    return f"{instant:%a} {instant.day} {instant:%b %Y %H:%M}"


def _day(instant: datetime) -> str:
    return f"{instant:%a} {instant.day} {instant:%b %Y}"


def _instant(book: PromiseBook, micros: int) -> datetime:
    moment = _EPOCH + timedelta(microseconds=micros)
    return moment if book.calendar is None else moment.astimezone(book.calendar.zone)


def group_label(by: str, group: str) -> str:
    """The first cell of a summary row: ``All promises`` or ``segment: gold``."""
    return "All promises" if by == "all" else f"{by}: {group}"


def shown_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows worth a line: a dimension with a single group is left out."""
    dims: dict[str, list[str]] = {}
    for row in rows:
        dims.setdefault(row["by"], []).append(row["group"])
    # a dimension with one group repeats the "all" row
    empty = {dim for dim, groups in dims.items() if len(groups) == 1 and dim != "all"}
    return [row for row in rows if row["by"] not in empty]


def window_unit(book: PromiseBook) -> Unit:
    """The unit of the book's typical promise window (made to due): days for days-long."""
    business = book.calendar is not None
    if business:
        windows = book._cols.business_window
    else:
        windows = book.columns.due.view(np.int64) - book.columns.made_at.view(np.int64)
    return unit_for(typical(windows[windows != _NAT].tolist()), business=business)


def human_table(
    rows: Sequence[dict[str, Any]], business: bool, lateness: Unit | None = None
) -> tuple[list[str], list[list[str]], list[bool]]:
    """Headers (with units), cells and which columns are numbers, of summary rows.

    Lateness columns are in ``lateness`` (the unit of the promises' window, as in the
    plots) when given; other durations in the unit of their typical value.
    """
    keys = [k for k in rows[0] if k not in ("by", "group")] if rows else []
    keys = [k for k in keys if k in _HEADERS or k.startswith("lateness_p")]
    headers: list[str] = ["Group"]
    columns: list[tuple[str, str, Unit | None]] = []
    for key in keys:
        name, kind = _HEADERS.get(
            key, (f"Lateness, {key[10:].replace('_', '.')}th pct", "duration")
        )
        if kind == "duration":
            unit = column_unit((row[key] for row in rows), business=business)
            if key.startswith("lateness_p") and lateness is not None:
                unit = max(unit, lateness, key=lambda u: u.us)
                kind = "lateness"
            name = f"{name} ({unit.symbol})"
            columns.append((key, kind, unit))
        else:
            columns.append((key, kind, None))
        headers.append(name)
    cells = []
    for row in rows:
        line = [group_label(row["by"], row["group"])]
        for key, kind, column in columns:
            line.append(_cell(row[key], kind, column))
        cells.append(line)
    return headers, cells, [False] + [True] * len(columns)


def _cell(value: Any, kind: str, unit: Unit | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if kind == "rate":
        return f"{100 * value:.1f}"
    if kind == "score":
        return f"{value:.2f}"
    if kind in ("duration", "lateness") and unit is not None:
        return number(value / unit.us, signed=kind == "lateness")
    return str(value)


def duration_text(micros: float, business: bool, floor: Unit | None = None) -> str:
    """One duration in words: ``"38 minutes"``, ``"1 day"``, ``"2.5 business hours"``.

    In the unit of its own size, or ``floor`` when that is larger (the lateness of
    promises days long is told in days).
    """
    unit = unit_for(abs(micros), business=business)
    if floor is not None and floor.us > unit.us:
        unit = floor
    amount = number(abs(micros) / unit.us)
    name = unit.label(business)
    return f"{amount} {name[:-1] if amount == '1' else name}"


def table_html(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    numeric: Sequence[bool],
    *,
    marked: Sequence[bool] = (),
) -> str:
    """A table in a horizontally scrolling box, its first column pinned (CSS sticky)."""
    head = "".join(
        f'<th class="{"num" if n else "label"}" scope="col">{html.escape(h)}</th>'
        for h, n in zip(headers, numeric, strict=True)
    )
    body = []
    for i, row in enumerate(rows):
        mark = ' class="flag"' if i < len(marked) and marked[i] else ""
        cells = "".join(
            f'<{"td" if j else "th scope=row"} class="{"num" if n else "label"}">'
            f"{html.escape(c)}</{'td' if j else 'th'}>"
            for j, (c, n) in enumerate(zip(row, numeric, strict=True))
        )
        body.append(f"<tr{mark}>{cells}</tr>")
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def summary_paragraph(
    book: PromiseBook,
    overall: dict[str, Any] | None,
    fairness: FairnessReport | None,
) -> str:
    """The report's first paragraph: what the book holds and what stands out, in words."""
    business = book.calendar is not None
    zone = "UTC" if book.calendar is None else book.calendar.tz
    clock = "business time" if business else "real time"
    status = book.columns.status
    counts = np.bincount(status, minlength=5)
    made = book.columns.made_at.view(np.int64)
    n = len(book)
    words = [f"As of {_when(book.now)} ({zone}), this book holds {n} promise{_s(n)}"]
    if n:
        first, last = _instant(book, int(made.min())), _instant(book, int(made.max()))
        span = _day(first) if first.date() == last.date() else f"{_day(first)} to {_day(last)}"
        words.append(f" made {'on' if first.date() == last.date() else 'from'} {span}")
    words.append(". ")
    pending = int(counts[_PENDING])
    decided = n - pending
    kept = int(counts[_KEPT])
    words.append(
        f"{decided} {'is' if decided == 1 else 'are'} decided: {kept} kept, "
        f"{int(counts[_LATE])} late, {int(counts[_SHORT])} short (on time but another "
        f"term missed) and {int(counts[_OVERDUE])} overdue (open past their due date); "
        f"{pending} {'is' if pending == 1 else 'are'} open and not yet due. "
    )
    if decided:
        rate, low, high = (float(x[0]) for x in keep_intervals([kept], [decided]))
        words.append(
            f"The keep rate is {100 * rate:.1f} % ({kept} of {decided} decided promises; "
            f"95 % interval {100 * low:.0f}–{100 * high:.0f} %): promises not yet due are "
            f"not counted, overdue ones count as broken. "
        )
    words.append(_lateness_sentence(book, clock, business))
    if overall is not None and overall.get("median_response") is not None:
        words.append(
            f"Half of the completed promises were completed within "
            f"{duration_text(overall['median_response'], business)} of being made ({clock}). "
        )
    if fairness is not None:
        words.append(_fairness_sentence(fairness))
    words.append(_score_sentence(book))
    return "".join(words).strip()


def _s(count: int) -> str:
    return "" if count == 1 else "s"


def _lateness_sentence(book: PromiseBook, clock: str, business: bool) -> str:
    lateness, _ = book._lateness()
    window = window_unit(book)
    floor = window if window.name == "days" else None  # days-long promises: told in days
    status = book.columns.status
    closed = lateness[np.isin(status, (_KEPT, _LATE, _SHORT)) & (lateness != _NAT)]
    if len(closed) == 0:
        return "No promise is completed yet. "
    median = float(np.median(closed))
    late = closed[closed > 0]
    side = "late" if median > 0 else "early"
    text = (
        f"Closed promises were completed a median of {duration_text(median, business, floor)} "
        f"{side} ({clock})"
        if median
        else "Closed promises were completed at their due date (median)"
    )
    if len(late):
        text += (
            f"; {len(late)} of the {len(closed)} were completed after their due date, half of "
            f"those by more than "
            f"{duration_text(float(np.median(late)), business, floor)} and the latest by "
            f"{duration_text(float(late.max()), business, floor)}"
        )
    return text + ". "


def _fairness_sentence(report: FairnessReport) -> str:
    rates = [
        (r, g, d)
        for r, g, d in zip(report.keep_rate, report.groups, report.decided, strict=True)
        if r is not None
    ]
    if len(rates) < 2:
        return ""
    low = min(rates)
    high = max(rates)
    text = (
        f"By {report.by}, {low[1]} has the lowest keep rate ({100 * low[0]:.1f} % of {low[2]}) "
        f"and {high[1]} the highest ({100 * high[0]:.1f} % of {high[2]}); "
    )
    findings = report.findings()
    if findings:
        return text + "the audit flags: " + "; ".join(findings) + ". "
    return text + "the fairness audit finds no difference beyond chance (5 % level). "


def flagged(report: FairnessReport, alpha: float = 0.05) -> list[tuple[str, str]]:
    """``(metric, group)`` of each test that flags a group: ``"response"``, ``"keep_rate"``."""
    out = []
    if report.response_p_value is not None and report.response_p_value < alpha and report.slowest:
        out.append(("response", report.slowest))
    if (
        report.keep_rate_p_value is not None
        and report.keep_rate_p_value < alpha
        and report.least_kept
    ):
        out.append(("keep_rate", report.least_kept))
    return out


def _score_sentence(book: PromiseBook) -> str:
    score = book._cols.score
    if score is None or not (~np.isnan(score)).any():
        return ""
    status = book.columns.status
    text = f"The mean satisfaction score is {float(np.nanmean(score)):.2f}"
    parts = []
    for name, code in (("kept", _KEPT), ("late", _LATE)):
        values = score[(status == code) & ~np.isnan(score)]
        if len(values):
            parts.append(f"{float(values.mean()):.2f} when {name}")
    return text + (f" ({', '.join(parts)})." if parts else ".")
