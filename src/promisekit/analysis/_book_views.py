"""The tables of a :class:`PromiseBook`: outcomes, satisfaction, backtests, summaries.

Functions taking the book, so that ``_book`` keeps the class and its documentation.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import numpy as np

from promisekit.analysis._book_records import _closed_records
from promisekit.analysis._book_summary import _pct_text, _td_text
from promisekit.analysis._columns import STATUS_CODES, require_pandas, to_pandas_instants
from promisekit.analysis._scoring import check_model, score_closed
from promisekit.buffering import BufferPolicy, backtest
from promisekit.errors import InvalidValueError
from promisekit.satisfaction import Expectation, Level, SatisfactionModel

if TYPE_CHECKING:
    import pandas as pd

    from promisekit.analysis._book import PromiseBook

_NAT = np.iinfo(np.int64).min
_LABELS = ("kind", "segment", "owner")
_ORIGIN = datetime(2000, 1, 3, tzinfo=timezone.utc)


def outcomes_frame(book: PromiseBook) -> pd.DataFrame:
    """:meth:`PromiseBook.outcomes`."""
    pd = require_pandas("PromiseBook.outcomes()")
    out = book.columns
    cols = book._cols
    tz = "UTC" if book.calendar is None else book.calendar.tz
    data: dict[str, Any] = {
        name: pd.Categorical.from_codes(lab.pandas_codes(), categories=lab.present())
        for name, lab in cols.labels.items()
    }
    if cols.customer is not None:
        lab = cols.customer
        data["customer"] = pd.Categorical.from_codes(lab.pandas_codes(), categories=lab.present())
    data.update(
        made_at=to_pandas_instants(out.made_at, tz),
        due=to_pandas_instants(out.due, tz),
        completed_at=to_pandas_instants(out.completed_at, tz),
    )
    if cols.target is not None:
        data["target"] = to_pandas_instants(cols.target.view("datetime64[us]"), tz)
    data.update(
        status=pd.Categorical.from_codes(out.status, categories=[s.value for s in STATUS_CODES]),
        kept=out.kept,
        lateness=out.lateness,
        business_lateness=out.business_lateness,
        response=cols.response.view("timedelta64[us]"),
        business_response=cols.business_response.view("timedelta64[us]"),
        business_window=cols.business_window.view("timedelta64[us]"),
        revisions=cols.revisions,
        short=cols.short,
    )
    if cols.score is not None:
        data["score"] = cols.score
    frame = pd.DataFrame(data, index=pd.Index(cols.ids, name="promise_id"))
    frame.attrs["now"] = book.now
    return frame


def summary_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The DataFrame of :meth:`PromiseBook.summary` from its rows."""
    pd = require_pandas("PromiseBook.summary()")
    durations = [k for k in rows[0] if k.startswith("lateness_p") or k == "median_response"]
    columns = {
        # Built as timedelta64 arrays: a column of only missing values would
        # otherwise be inferred as datetime64.
        key: np.array(
            [np.timedelta64("NaT") if row[key] is None else row[key] for row in rows],
            dtype="timedelta64[us]",
        )
        for key in durations
    }
    frame = pd.DataFrame(rows).set_index(["by", "group"])
    for key in durations:
        frame[key] = columns[key]
    return frame


def satisfaction_frame(book: PromiseBook, model: SatisfactionModel | None) -> pd.DataFrame:
    """:meth:`PromiseBook.satisfaction`."""
    model = check_model(model)
    pd = require_pandas("PromiseBook.satisfaction()")
    rows, scores = score_closed(model, book.columns, book.calendar, book._kinds())
    names = [level.name for level in Level]
    return pd.DataFrame(
        {
            "value": np.array([s.value for s in scores], dtype=np.float64),
            "label": pd.Categorical.from_codes(
                np.array([int(s.label) - 1 for s in scores], dtype=np.int64),
                categories=names,
                ordered=True,
            ),
            "expected_csat": np.array([s.expected_csat for s in scores], dtype=np.float64),
        },
        index=pd.Index(book._cols.ids[rows], name="promise_id"),
    )


def expected_csat(model: SatisfactionModel, kind: str) -> Any:
    """``(lateness, window) -> expected CSAT`` of ``model``, for a backtest.

    The promise is scored as an :class:`~promisekit.satisfaction.Expectation` of
    ``kind`` whose window is ``window`` and completed ``lateness`` after its due date
    (both durations as the backtest measures them: business time with a calendar).
    """
    cache: dict[tuple[timedelta, timedelta], float] = {}

    def satisfaction(lateness: timedelta, window: timedelta) -> float:
        key = (lateness, window)
        value = cache.get(key)
        if value is None:
            due = _ORIGIN + max(window, timedelta(0))
            expectation = Expectation(kind=kind, made_at=_ORIGIN, due=due)
            done = max(due + lateness, _ORIGIN)
            value = float(model.score(expectation, expectation.completed(done)).expected_csat)
            cache[key] = value
        return value

    return satisfaction


def compare_frame(
    book: PromiseBook,
    policies: BufferPolicy | Sequence[BufferPolicy] | Mapping[str, BufferPolicy],
    *,
    min_samples: int,
    by_segment: bool,
    satisfaction: SatisfactionModel | None,
) -> pd.DataFrame:
    """:meth:`PromiseBook.compare`."""
    require_pandas("PromiseBook.compare()")
    calendar = book.calendar
    records = _closed_records(book.columns, book._cols.labels["segment"], calendar)
    function = None
    if satisfaction is not None:
        kinds = book._cols.labels["kind"].present()
        function = expected_csat(
            check_model(satisfaction), kinds[0] if len(kinds) == 1 else "promise"
        )
    result = backtest(
        records,
        policies,
        calendar=calendar,
        min_samples=min_samples,
        segment_key="segment" if by_segment else None,
        satisfaction=function,
    )
    return result.to_pandas()


def repr_html(book: PromiseBook) -> str:
    """The notebook view of a book: counts, keep rates and lateness by kind and segment."""
    rows = book._summary_rows(("kind", "segment"), (0.5, 0.9))
    head = (
        "<tr><th></th><th></th><th>promises</th><th>open</th><th>keep rate</th>"
        "<th>lateness p50</th><th>lateness p90</th><th>median response</th></tr>"
    )
    body = "".join(
        "<tr>"
        f"<td>{html.escape(row['by'])}</td><td>{html.escape(row['group'])}</td>"
        f"<td>{row['promises']}</td><td>{row['open']}</td>"
        f"<td>{_pct_text(row['keep_rate'])}</td>"
        f"<td>{_td_text(row['lateness_p50'])}</td><td>{_td_text(row['lateness_p90'])}</td>"
        f"<td>{_td_text(row['median_response'])}</td>"
        "</tr>"
        for row in rows
    )
    clock = "business time" if book.calendar is not None else "real time"
    return (
        f"<div><strong>{html.escape(repr(book))}</strong>"
        f"<table><thead>{head}</thead><tbody>{body}</tbody></table>"
        f"<p>Lateness and response times in {clock}.</p></div>"
    )


def check_summary_args(
    by: Sequence[str], quantiles: Sequence[float]
) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """``by`` (label columns) and ``quantiles`` of :meth:`PromiseBook.summary`, checked."""
    if isinstance(by, str):
        by = (by,)
    by = tuple(by)
    for name in by:
        if name not in _LABELS:
            raise InvalidValueError(
                f"'by' must name label columns among {', '.join(_LABELS)} (got {name!r})"
            )
    qs = tuple(float(q) for q in quantiles)
    for q in qs:
        if not 0.0 <= q <= 1.0:
            raise InvalidValueError(f"'quantiles' must be in [0, 1] (got {q!r})")
    return by, qs
