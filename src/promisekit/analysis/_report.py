"""A self-contained HTML report of a :class:`~promisekit.analysis.PromiseBook`.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import html
from collections.abc import Callable
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
from promisekit.analysis._report_text import (
    flagged,
    human_table,
    shown_rows,
    summary_paragraph,
    table_html,
    window_unit,
)
from promisekit.analysis._units import column_unit, number
from promisekit.errors import InsufficientDataError, InvalidTypeError

__all__ = ["html_report", "summary_rows", "summary_table"]

_BY = ("kind", "segment", "owner")
_QUANTILES = (0.5, 0.9, 0.95)

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em;
  color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.2em; }
p.lead { font-size: 1.05em; max-width: 60em; }
.scroll { overflow-x: auto; width: fit-content; max-width: 100%; margin: 1em 0;
  border: 1px solid #ddd; }
table { border-collapse: separate; border-spacing: 0; font-size: 0.9em; }
th, td { border-bottom: 1px solid #e3e3e3; padding: 0.3em 0.7em; white-space: nowrap; }
thead th { background: #f3f3f3; vertical-align: bottom; white-space: normal; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.label { text-align: left; }
tr > :first-child { position: sticky; left: 0; background: #fff; z-index: 1;
  border-right: 1px solid #ccc; }
thead tr > :first-child { background: #f3f3f3; }
tr.flag > * { background: #fff1e0; }
figure { margin: 1.5em 0; }
figure img { max-width: 100%; height: auto; display: block; }
figcaption { color: #555; font-size: 0.9em; max-width: 60em; }
.finding { color: #a00; }
.note { color: #555; font-size: 0.9em; }
"""


def summary_rows(book: PromiseBook) -> list[dict[str, Any]]:
    """The rows of ``book.summary()`` as dicts, durations as µs (``None`` when empty).

    Also for books where no promise is closed yet (where ``summary()`` cannot type its
    all-empty duration columns).
    """
    return book._summary_rows(_BY, _QUANTILES)


def summary_table(book: PromiseBook) -> str:
    """The HTML table of ``book.summary()``: one row per group, human column names.

    Durations are in one unit per column (named in its header), the first column is
    pinned while the table scrolls sideways, and every text is escaped.
    """
    rows = shown_rows(summary_rows(book))
    headers, cells, numeric = human_table(rows, book.calendar is not None, window_unit(book))
    return table_html(headers, cells, numeric)


def _fairness_section(report: FairnessReport) -> str:
    clock = "business time" if report.business_time else "real time"
    known = [r for r in report.median_response if r is not None]
    unit = column_unit(r.total_seconds() * 1e6 for r in known)
    order = sorted(
        range(len(report.groups)),
        key=lambda i: (2.0 if report.keep_rate[i] is None else report.keep_rate[i], i),
    )
    marks = {group for _, group in flagged(report)}
    rows, marked = [], []
    for i in order:
        rate = report.keep_rate[i]
        median = report.median_response[i]
        rows.append(
            [
                report.groups[i],
                str(report.sizes[i]),
                str(report.decided[i]),
                "n/a" if rate is None else f"{100 * rate:.1f}",
                "n/a" if median is None else number(median.total_seconds() * 1e6 / unit.us),
            ]
        )
        marked.append(report.groups[i] in marks)
    headers = [
        report.by.capitalize(),
        "Promises",
        "Decided",
        "Keep rate (%)",
        f"Median response of completed promises ({clock}, {unit.name})",
    ]
    table = table_html(headers, rows, [False, True, True, True, True], marked=marked)
    findings = report.findings()
    if findings:
        verdict = "".join(f'<li class="finding">{html.escape(f)}</li>' for f in findings)
        verdict = f"<p>Flagged (highlighted in the table and the plot):</p><ul>{verdict}</ul>"
    else:
        verdict = "<p>No difference beyond chance (5 % level).</p>"
    p_values = (
        f"Two permutation tests compare each {report.by} with all other promises"
        + (f" within each {report.within}" if report.within else "")
        + f": response time p = {_p(report.response_p_value)}, keep rate p = "
        f"{_p(report.keep_rate_p_value)} ({report.n_permutations} permutations; a small p "
        f"means the gap is unlikely to be chance)."
    )
    return f'{table}{verdict}<p class="note">{html.escape(p_values)}</p>'


def _p(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def _png(
    draw: Callable[..., Any],
    book: PromiseBook,
    figsize: tuple[float, float] = (9, 4.5),
    **kwargs: Any,
) -> str | None:
    """Draw one plot on a new figure and return it as a base64 PNG (``None``: no data)."""
    try:
        return figure_png(
            lambda ax: draw(book, ax=ax, **kwargs),
            feature="html_report()",
            figsize=figsize,
            dpi=100,
        )
    except InsufficientDataError:
        return None


def _figure(name: str, data: str | None, caption: str) -> str:
    if data is None:
        return f'<p class="note">{html.escape(name)}: not enough data.</p>'
    return (
        f'<figure><img alt="{html.escape(name)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _fairness_plots(
    book: PromiseBook, by: str, report: FairnessReport | None
) -> list[tuple[str, str | None, str]]:
    """The fairness plots: the flagged metric(s) with the flagged group highlighted."""
    flags = flagged(report) if report is not None else []
    if not flags:
        flags = [("keep_rate", None)]  # type: ignore[list-item]
    groups = 0 if report is None else len(report.groups)
    size = (9.0, max(4.5, 1.2 + 0.32 * groups)) if groups > 6 else (9.0, 4.5)
    out = []
    for metric, group in flags:
        name = f"{'Keep rate' if metric == 'keep_rate' else 'Median response'} by {by}"
        data = _png(plot_fairness, book, size, by=by, metric=metric, highlight=group)
        what = (
            "keep rate (kept / decided) with 95 % intervals, from the least kept"
            if metric == "keep_rate"
            else "median response time (made to completed), from the slowest"
        )
        flag = f"; {group} is flagged by the audit and drawn in orange" if group else ""
        out.append((name, data, f"Each {by}'s {what}; dashed: all promises{flag}."))
    return out


def _satisfaction_section(book: PromiseBook) -> list[str]:
    """Scores by outcome and the satisfaction-vs-lateness plot (books with scores)."""
    frame = book.outcomes()
    if "score" not in frame.columns or not frame["score"].notna().any():
        return []
    status = frame["status"].astype(str)
    rows = []
    for name, mask in (
        ("All scored", status.isin(("kept", "late", "short", "overdue", "pending"))),
        ("Kept", status == "kept"),
        ("Late", status == "late"),
        ("Short", status == "short"),
        ("Overdue or open", status.isin(("overdue", "pending"))),
    ):
        scores = frame["score"][mask].dropna()
        if len(scores):
            rows.append([name, str(len(scores)), f"{scores.mean():.2f}", f"{scores.median():g}"])
    data = _png(plot_satisfaction_vs_lateness, book)
    caption = (
        "Mean score of the promises in each lateness bin (green: on time, red: late), "
        "with 95 % intervals and the number of promises per bar; the step at the dashed "
        "line is what a missed promise costs."
    )
    return [
        "<h2>Satisfaction</h2>",
        table_html(["Outcome", "Scored", "Mean score", "Median score"], rows, [False] + [True] * 3),
        _figure("Satisfaction vs lateness", data, caption),
    ]


def html_report(
    book: PromiseBook,
    *,
    title: str = "Promise report",
    fairness_by: str = "segment",
    n_permutations: int = 999,
) -> str:
    """One self-contained HTML page: a summary in words, tables, fairness and plots.

    The page opens with a paragraph saying what the book holds and what stands out
    (keep rate and which promises it counts, lateness, the fairness verdict), then
    the summary table (human column names; durations in one unit per column, named in
    its header; the first column pinned when the table scrolls sideways), the fairness
    audit by ``fairness_by`` (flagged groups highlighted), plots of the lateness
    distribution, the keep rate over time and the flagged fairness metric, and, when
    the book has satisfaction scores, a satisfaction section. The page has no
    external resource: plots are embedded as base64 PNG images, and every text is
    escaped. A plot (or the fairness audit) without enough data is left out with a note.

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
    business = book.calendar is not None
    clock = "business time" if business else "real time"
    rows = summary_rows(book)
    report: FairnessReport | None = None
    audit_note = ""
    try:
        within = None if fairness_by == "kind" else "kind"
        report = book.fairness(by=fairness_by, within=within, n_permutations=n_permutations)
    except InsufficientDataError as exc:
        audit_note = f"<p>No fairness audit: {html.escape(str(exc))}.</p>"
    overall = rows[0] if rows else None
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="lead">{html.escape(summary_paragraph(book, overall, report))}</p>',
        "<h2>Summary</h2>",
        f'<p class="note">Lateness and response times in {clock} (negative lateness = '
        "early). Keep rate = kept / decided: promises open and not yet due are left out, "
        "overdue ones count as broken. The median response counts open promises as "
        "censored at the time they have run so far (Kaplan–Meier).</p>",
        summary_table(book),
        f"<h2>Fairness by {html.escape(fairness_by)}</h2>",
        audit_note if report is None else _fairness_section(report),
        "<h2>Plots</h2>",
    ]
    figures = [
        (
            "Lateness distribution",
            _png(plot_lateness_distribution, book),
            "How early or late closed promises were completed; green bars on time, red late. "
            "The axis covers the bulk of the data; any outliers are pooled in the edge bars "
            "and counted in the corner.",
        ),
        (
            "Keep rate over time",
            _png(plot_keep_rate_over_time, book),
            "Keep rate per period of the due date, with its 95 % interval and its number "
            "of decided promises (n); dashed: the overall keep rate.",
        ),
        *_fairness_plots(book, fairness_by, report),
    ]
    parts.extend(_figure(name, data, caption) for name, data, caption in figures)
    parts.extend(_satisfaction_section(book))
    parts.append("</body></html>")
    return "\n".join(parts)
