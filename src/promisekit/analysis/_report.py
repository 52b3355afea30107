"""A self-contained HTML report of a :class:`~promisekit.analysis.PromiseBook`.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from promisekit._plotting import figure_png
from promisekit.analysis._book import PromiseBook
from promisekit.analysis._fairness import FairnessReport
from promisekit.analysis._plots import (
    plot_fairness,
    plot_keep_rate_over_time,
    plot_lateness_distribution,
    plot_satisfaction_vs_lateness,
)
from promisekit.errors import InsufficientDataError, InvalidTypeError

__all__ = ["html_report", "summary_rows", "summary_table"]

_BY = ("kind", "segment", "owner")
_QUANTILES = (0.5, 0.9, 0.95)

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1000px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
.scroll { overflow-x: auto; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f3f3f3; }
td.label, th.label { text-align: left; }
img { max-width: 100%; display: block; margin: 1em 0; }
.finding { color: #a00; }
"""


def _text(value: Any) -> str:
    """A summary cell as text: percentages, compact durations, ``n/a`` for missing."""
    if value is None:
        return "n/a"
    if isinstance(value, float) and math.isnan(value):
        return "n/a"
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
        if seconds != seconds:  # NaT
            return "n/a"
        sign = "-" if seconds < 0 else ""
        seconds = abs(seconds)
        if seconds >= 3600:
            return f"{sign}{seconds / 3600:.2f} h"
        return f"{sign}{seconds / 60:.1f} min"
    return str(value)


def _cell(column: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if column == "keep_rate":
        return f"{100 * value:.1f} %"
    if column == "mean_score":
        return f"{value:.2f}"
    if column.startswith("lateness_p") or column == "median_response":
        return _text(timedelta(microseconds=value))
    return str(value)


def summary_rows(book: PromiseBook) -> list[dict[str, Any]]:
    """The rows of ``book.summary()`` as dicts, durations as µs (``None`` when empty).

    Also for books where no promise is closed yet (where ``summary()`` cannot type its
    all-empty duration columns).
    """
    return book._summary_rows(_BY, _QUANTILES)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], labels: int) -> str:
    head = "".join(
        f"<th{' class=label' if i < labels else ''}>{html.escape(h)}</th>"
        for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{' class=label' if i < labels else ''}>{html.escape(c)}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return f'<div class="scroll">{table}</div>'


def summary_table(book: PromiseBook) -> str:
    """The HTML table of ``book.summary()`` (one row per group, text escaped)."""
    rows = summary_rows(book)
    headers = list(rows[0]) if rows else ["by", "group"]
    cells = [[_cell(key, row[key]) for key in headers] for row in rows]
    return _table(headers, cells, labels=2)


def _fairness_section(report: FairnessReport) -> str:
    rows = [
        [
            group,
            str(report.sizes[i]),
            _text(report.median_response[i]),
            "n/a" if rate is None else f"{100 * rate:.1f} %",
        ]
        for i, (group, rate) in enumerate(zip(report.groups, report.keep_rate, strict=True))
    ]
    clock = "business time" if report.business_time else "real time"
    table = _table([report.by, "promises", f"median response ({clock})", "keep rate"], rows, 1)
    findings = report.findings()
    if findings:
        verdict = "".join(f'<li class="finding">{html.escape(f)}</li>' for f in findings)
        verdict = f"<ul>{verdict}</ul>"
    else:
        verdict = "<p>No difference beyond chance (5 % level).</p>"
    p_values = (
        f"Response-time test p = {_p(report.response_p_value)}; "
        f"keep-rate test p = {_p(report.keep_rate_p_value)} "
        f"({report.n_permutations} permutations"
        + (f", within {report.within}" if report.within else "")
        + ")."
    )
    return f"{table}{verdict}<p>{html.escape(p_values)}</p>"


def _p(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def _png(draw: Callable[..., Any], book: PromiseBook, **kwargs: Any) -> str | None:
    """Draw one plot on a new figure and return it as a base64 PNG (``None``: no data)."""
    try:
        return figure_png(lambda ax: draw(book, ax=ax, **kwargs), feature="html_report()")
    except InsufficientDataError:
        return None


def html_report(
    book: PromiseBook,
    *,
    title: str = "Promise report",
    fairness_by: str = "segment",
    n_permutations: int = 999,
) -> str:
    """One self-contained HTML page: summary tables, fairness findings and plots.

    The page has no external resource: the plots (lateness distribution, keep rate
    over time, keep rate by ``fairness_by``, and satisfaction vs lateness when the
    book has scores) are embedded as base64 PNG images, and every text is escaped.
    A plot (or the fairness audit) without enough data is left out with a note.

    Args:
        book: The :class:`~promisekit.analysis.PromiseBook`.
        title: Title of the page.
        fairness_by: The label column of the fairness audit and plot.
        n_permutations: Permutations of the fairness tests.

    Returns:
        The HTML document, as a string.

    Raises:
        InvalidTypeError: ``book`` is not a PromiseBook or ``title`` not a string.
        MissingDependencyError: matplotlib or pandas is not installed.

    .. versionadded:: 0.1.0
    """
    if not isinstance(book, PromiseBook):
        raise InvalidTypeError(f"'book' must be a PromiseBook (got {type(book).__name__})")
    if not isinstance(title, str):
        raise InvalidTypeError(f"'title' must be a str (got {type(title).__name__})")
    clock = "business time" if book.calendar is not None else "real time"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{html.escape(repr(book))}</p>",
        f"<p>As of {html.escape(book.now.isoformat())}; lateness and response times in "
        f"{clock} (negative lateness = early).</p>",
        "<h2>Summary</h2>",
        summary_table(book),
        f"<h2>Fairness by {html.escape(fairness_by)}</h2>",
    ]
    try:
        within = None if fairness_by == "kind" else "kind"
        report = book.fairness(by=fairness_by, within=within, n_permutations=n_permutations)
    except InsufficientDataError as exc:
        parts.append(f"<p>No fairness audit: {html.escape(str(exc))}.</p>")
    else:
        parts.append(_fairness_section(report))
    parts.append("<h2>Plots</h2>")
    plots: list[tuple[str, Callable[..., Any], dict[str, Any]]] = [
        ("Lateness distribution", plot_lateness_distribution, {}),
        ("Keep rate over time", plot_keep_rate_over_time, {}),
        (f"Keep rate by {fairness_by}", plot_fairness, {"by": fairness_by}),
        ("Satisfaction vs lateness", plot_satisfaction_vs_lateness, {}),
    ]
    for name, draw, kwargs in plots:
        data = _png(draw, book, **kwargs)
        if data is None:
            if draw is not plot_satisfaction_vs_lateness:
                parts.append(f"<p>{html.escape(name)}: not enough data.</p>")
            continue
        parts.append(f'<img alt="{html.escape(name)}" src="data:image/png;base64,{data}">')
    parts.append("</body></html>")
    return "\n".join(parts)
