"""Columnar backtest: replay a history held as arrays, in integer microseconds.

:func:`backtest_columns` gives the answers of :func:`backtest` for the built-in
policies (same expanding sample, same quantiles, same windows) but computes them
with numpy over all requests at once: each request's sample is a range of the
records sorted by completion time, and :class:`_RangeOrder` answers every
quantile and CDF query in a few vectorized passes. Policies implementing
:class:`ColumnarPolicy` are refitted once per ``refit`` period on the records
completed before the period starts and quote the period's requests in one call.
Datetimes are built only for the quotes kept with ``keep_quotes=True``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

from promisekit._validation import (
    check_aware,
    check_non_empty_str,
    describe,
    load_zone,
)
from promisekit._vectorized_calendar import cum_at_many, earliest_many
from promisekit.buffering._backtest import (
    HISTORICAL,
    BacktestQuote,
    BacktestResult,
    BacktestRow,
    _check_fallback_keys,
    _coarse,
    backtest,
)
from promisekit.buffering._backtest_io import NO_REFERENCE, OPEN, _numpy, check_columns
from promisekit.buffering._backtest_kernels import (
    PERIODS,
    _compile,
    _period_keys,
    _period_starts,
    _RangeOrder,
    _Sample,
)
from promisekit.buffering._columns import ColumnarPolicy, HistoryColumns, QuoteColumns
from promisekit.buffering._common import check_calendar, check_count, td_us, to_us, us_td
from promisekit.buffering._history import HistoryRecord
from promisekit.buffering._policies._base import BufferPolicy
from promisekit.calendar import BusinessCalendar
from promisekit.errors import InsufficientDataError, InvalidTypeError, InvalidValueError

__all__ = ["backtest_columns"]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_FAR = datetime(9999, 12, 31, tzinfo=timezone.utc)


def _as_columns(history: Any) -> HistoryColumns:
    if isinstance(history, HistoryColumns):
        return check_columns(history)
    module = type(history).__module__
    if module.startswith("pandas") and type(history).__name__ == "DataFrame":
        columns = set(history.columns)
        reference = next((c for c in ("reference", "promised_due") if c in columns), None)
        return HistoryColumns.from_frame(
            history, segment="segment" if "segment" in columns else None, reference=reference
        )
    if isinstance(history, Iterable) and not isinstance(history, (str, bytes)):
        return HistoryColumns.from_records(history)
    raise InvalidTypeError(
        f"'history' must be HistoryColumns, a pandas DataFrame or history records "
        f"(got {type(history).__name__} {describe(history)})"
    )


def _named(policies: Any) -> list[tuple[str, Any]]:
    def check(field: str, value: Any) -> Any:
        if isinstance(value, (BufferPolicy, ColumnarPolicy)):
            return value
        raise InvalidTypeError(
            f"{field!r} must be a BufferPolicy or a ColumnarPolicy "
            f"(got {type(value).__name__} {describe(value)})"
        )

    if isinstance(policies, (BufferPolicy, ColumnarPolicy)):
        named = [(str(policies), policies)]
    elif isinstance(policies, Mapping):
        named = []
        for key, policy in policies.items():
            check_non_empty_str("policies key", key)
            named.append((key, check(f"policies[{describe(key)}]", policy)))
    elif isinstance(policies, Iterable) and not isinstance(policies, (str, bytes)):
        named = [(str(p), check(f"policies[{i}]", p)) for i, p in enumerate(policies)]
    else:
        raise InvalidTypeError(
            f"'policies' must be a policy, a sequence of policies or a mapping name -> policy "
            f"(got {type(policies).__name__} {describe(policies)})"
        )
    if not named:
        raise InvalidValueError("'policies' must contain at least one policy (got none)")
    names = [name for name, _ in named]
    if len(set(names)) != len(names) or HISTORICAL in names:
        raise InvalidValueError(
            f"'policies' must have distinct names other than {HISTORICAL!r}; "
            f"pass a mapping name -> policy"
        )
    return named


def _codes(np: Any, segment: Any) -> tuple[Any, list[Hashable]]:
    """Integer codes of the segment labels and the labels (sorted by ``repr``)."""
    try:  # pandas factorizes by hashing, in C; else one dict lookup per row
        import pandas as pd

        found, uniques = pd.factorize(segment, use_na_sentinel=False)
        codes = np.asarray(found, dtype=np.int64)
        labels = list(uniques)
    except (ImportError, TypeError):
        index: dict[Hashable, int] = {}
        codes = np.fromiter(
            (index.setdefault(s, len(index)) for s in segment.tolist()),
            dtype=np.int64,
            count=len(segment),
        )
        labels = list(index)
    order = sorted(range(len(labels)), key=lambda i: repr(labels[i]))
    remap = np.empty(len(labels), dtype=np.int64)
    remap[order] = np.arange(len(labels))
    return remap[codes] if len(labels) else codes, [labels[i] for i in order]


_REFIT = re.compile(r"^\s*(\d+)\s*([DdHh])\s*$")


def _blocks(np: Any, refit: Any, zone: str, lo: int, hi: int) -> list[int]:
    """Block boundaries (UTC µs) covering ``[lo, hi]``."""
    if isinstance(refit, str) and refit in PERIODS:
        return _period_starts(np, zone, lo, hi, refit)
    step: int | None = None
    if isinstance(refit, timedelta):
        step = td_us(refit)
    elif isinstance(refit, str) and _REFIT.match(refit):
        match = _REFIT.match(refit)
        assert match is not None
        unit = 86_400_000_000 if match.group(2) in "Dd" else 3_600_000_000
        step = int(match.group(1)) * unit
    if step is None or step <= 0:
        raise InvalidValueError(
            f"'refit' must be one of {', '.join(PERIODS)}, a positive timedelta or a string "
            f"such as '7D' or '12h' (got {describe(refit)})"
        )
    count = (hi - lo) // step + 2
    return [lo + i * step for i in range(count)]


def _classic_samples(
    np: Any, cols: HistoryColumns, codes: Any, rows: Any, calendar: Any
) -> tuple[_RangeOrder, Any, Any, Any]:
    """The range structure over completed records and each row's sample range."""
    closed = np.flatnonzero(cols.completed_us != OPEN)
    completed = cols.completed_us[closed]
    if calendar is None:
        durations = completed - cols.requested_us[closed]
    else:  # business time: the calendar's cumulative working time at both ends
        durations = cum_at_many(calendar, completed) - cum_at_many(
            calendar, cols.requested_us[closed]
        )
    fit_codes = codes[closed]
    order = np.lexsort((completed, fit_codes))
    completed, durations, fit_codes = completed[order], durations[order], fit_codes[order]
    by_value = np.argsort(durations, kind="stable")
    ranks = np.empty(durations.shape[0], dtype=np.int64)
    ranks[by_value] = np.arange(durations.shape[0])
    structure = _RangeOrder(np, ranks)
    # One sorted key per completion, (segment, completion rank): a completion c is
    # before a request t exactly when c's rank among all completion times is below
    # t's, so every request's sample is one search away, whatever the segments.
    everything = np.sort(completed)
    stride = completed.shape[0] + 1
    keys = fit_codes * stride + np.searchsorted(everything, completed, side="left")
    row_codes = codes[rows] * stride
    before = np.searchsorted(everything, cols.requested_us[rows], side="left")
    start = _sorted_search(np, keys, row_codes)
    end = _sorted_search(np, keys, row_codes + before)
    return structure, durations[by_value], start, end


def _sorted_search(np: Any, haystack: Any, needles: Any) -> Any:
    """``searchsorted(haystack, needles, "left")``, visiting the needles in order (cache)."""
    order = np.argsort(needles, kind="stable")
    found = np.empty(needles.shape[0], dtype=np.int64)
    found[order] = np.searchsorted(haystack, needles[order], side="left")
    return found


def _level_samples(
    np: Any,
    cols: HistoryColumns,
    codes: Any,
    labels: list[Hashable],
    coarser: list[Any],
    scored: Any,
    floor: int,
    calendar: Any,
) -> list[tuple[Any, _Sample]]:
    """The rows quoted from each level (segment, coarser keys, all) and their samples.

    Each scored row uses the first level with at least ``floor`` prior completions;
    rows with too few at every level are not quoted.
    """
    rows = np.flatnonzero(scored)
    level_codes = [codes]
    for function in coarser:
        coarse: dict[Hashable, int] = {}
        mapping = [coarse.setdefault(_coarse(function, label), len(coarse)) for label in labels]
        level_codes.append(np.array(mapping, dtype=np.int64)[codes] if labels else codes)
    if coarser:
        level_codes.append(np.zeros_like(codes))
    pending = np.ones(rows.shape[0], dtype=bool)
    out = []
    for level in level_codes:
        order, sorted_us, start, end = _classic_samples(np, cols, level, rows, calendar)
        chosen = pending & ((end - start) >= floor)
        pending &= ~chosen
        if chosen.any():
            out.append((rows[chosen], _Sample(np, order, sorted_us, start[chosen], end[chosen])))
    return out


class _Outcome:
    """One policy's quotes over all rows: quoted mask, window µs, confidence, due base.

    ``due`` (µs) is filled by :meth:`finish`: ``base + window`` in real time, the
    calendar's ``add(base, window)`` in business time, or set by the replay itself.
    """

    __slots__ = ("base", "business", "confidence", "due", "quoted", "requested", "window")

    def __init__(self, np: Any, n: int, requested: Any) -> None:
        self.requested = requested
        self.quoted = np.zeros(n, dtype=bool)
        self.window = np.zeros(n, dtype=np.int64)
        self.confidence = np.full(n, np.nan)
        self.base = requested
        self.business = False
        self.due: Any = None

    def finish(self, np: Any, calendar: Any) -> None:
        if self.due is not None:
            return
        if calendar is None or not self.business:
            self.due = self.base + self.window
            return
        self.due = self.base.copy()
        moved = self.quoted & (self.window > 0)  # add(t, 0) is t itself, even when closed
        if moved.any():
            amounts = cum_at_many(calendar, self.base[moved]) + self.window[moved]
            self.due[moved] = earliest_many(calendar, amounts)


def _replay_plugin(
    np: Any,
    cols: HistoryColumns,
    policy: BufferPolicy,
    name: str,
    *,
    by_segment: bool,
    fallback_keys: list[Any],
    min_samples: int,
    score_from: datetime | None,
    label: str,
    calendar: Any,
    out: _Outcome,
) -> None:
    """Policies the kernels do not know: replayed by :func:`backtest`, row by row."""
    zone = load_zone(cols.zone, field="history.zone")
    out.due = out.base + 0
    out.business = calendar is not None
    records = []
    for i in range(len(cols)):
        requested = (_EPOCH + us_td(int(cols.requested_us[i]))).astimezone(zone)
        done = int(cols.completed_us[i])
        completed = _FAR if done == OPEN else (_EPOCH + us_td(done)).astimezone(zone)
        segment = None if cols.segment is None or not by_segment else cols.segment[i]
        records.append(HistoryRecord(requested, completed, segment))
    result = backtest(
        records,
        {name: policy},
        min_samples=min_samples,
        segment_key="segment" if by_segment else None,
        fallback_keys=fallback_keys,
        keep_quotes=True,
        label=label,
        score_from=score_from,
        calendar=calendar,
    )
    for quote in result.quotes:
        if quote.window is not None and quote.due is not None:
            out.quoted[quote.index] = True
            out.window[quote.index] = td_us(quote.window)
            out.confidence[quote.index] = quote.confidence
            out.due[quote.index] = to_us(quote.due)


def _fit_blocks(
    np: Any,
    cols: HistoryColumns,
    policy: Any,
    *,
    refit: Any,
    scored: Any,
    min_samples: int,
    out: _Outcome,
) -> None:
    """A :class:`ColumnarPolicy` refitted per block, quoting each block at once."""
    rows = np.flatnonzero(scored)
    if rows.shape[0] == 0:
        return
    requested = cols.requested_us
    bounds = _blocks(np, refit, cols.zone, int(requested[rows].min()), int(requested[rows].max()))
    hidden = np.full(len(cols), OPEN, dtype=np.int64)
    requests = HistoryColumns(
        requested, hidden, cols.zone, cols.segment, cols.reference_us, cols.features
    )
    closed = cols.completed_us != OPEN
    for begin, end in itertools.pairwise(bounds):
        block = rows[(requested[rows] >= begin) & (requested[rows] < end)]
        if block.shape[0] == 0:
            continue
        past_rows = closed & (cols.completed_us < begin)
        if int(past_rows.sum()) < min_samples:
            continue
        try:
            quoter = policy.fit_columns(cols.take(past_rows))
        except InsufficientDataError:
            continue
        quotes = quoter.quote_columns(requests.take(block))
        if not isinstance(quotes, QuoteColumns):
            raise InvalidTypeError(
                f"quote_columns() of {describe(policy)} must return QuoteColumns "
                f"(got {type(quotes).__name__})"
            )
        window = np.asarray(quotes.window_us)
        confidence = np.asarray(quotes.confidence, dtype=np.float64)
        if window.shape != block.shape or confidence.shape != block.shape:
            raise InvalidValueError(
                f"quote_columns() of {describe(policy)} must return {block.shape[0]} windows "
                f"and confidences (got {window.shape[0]} and {confidence.shape[0]})"
            )
        ok = ~np.isnan(confidence)
        if quotes.relative_to_reference:
            if cols.reference_us is None:
                raise InvalidValueError(
                    f"{describe(policy)} quotes relative to a reference, but the history "
                    f"has no reference_us column"
                )
            ok &= cols.reference_us[block] != NO_REFERENCE
            if out.base is out.requested:
                out.base = cols.requested_us.copy()
            out.base[block] = cols.reference_us[block]
        elif (window[ok] < 0).any():
            raise InvalidValueError(
                f"quote_columns() of {describe(policy)} returned a negative window for a quote "
                f"relative to the request (set relative_to_reference=True for deviations)"
            )
        out.quoted[block] = ok
        out.window[block] = np.where(ok, window.astype(np.int64), 0)
        out.confidence[block] = confidence


def _sequential_sum(np: Any, out: _Outcome, quoted: Any) -> float:
    """The confidences summed one by one in request order, as :func:`backtest` does."""
    rows = np.flatnonzero(quoted)
    rows = rows[np.argsort(out.requested[rows], kind="stable")]
    return float(np.cumsum(out.confidence[rows])[-1])


def _rows(
    np: Any,
    name: str,
    out: _Outcome,
    completed: Any,
    groups: list[tuple[Hashable | None, str | None, Any]],
    *,
    historical: bool,
) -> list[BacktestRow]:
    rows = []
    for segment, period, mask in groups:
        quoted = mask & out.quoted
        n = int(quoted.sum())
        window = out.window[quoted]
        on_time = completed[quoted] <= out.due[quoted]
        mean = median = None
        if n:
            mean = us_td(round(int(window.sum()) / n))
            ordered = np.sort(window)
            middle = n // 2
            if n % 2:
                median = us_td(int(ordered[middle]))
            else:
                median = us_td(round((int(ordered[middle - 1]) + int(ordered[middle])) / 2))
        rows.append(
            BacktestRow(
                policy=name,
                segment=segment,
                n_quoted=n,
                n_skipped=int((mask & ~out.quoted).sum()),
                on_time_rate=float(on_time.sum()) / n if n else None,
                mean_window=mean,
                median_window=median,
                mean_confidence=None
                if historical or not n
                else _sequential_sum(np, out, quoted) / n,
                expected_satisfaction=None,
                business_time=out.business,
                period=period,
            )
        )
    return rows


def backtest_columns(
    history: HistoryColumns | Any,
    policies: Any,
    *,
    min_samples: int = 30,
    by_segment: bool = False,
    score_from: datetime | None = None,
    period: str | None = None,
    refit: str | timedelta = "M",
    max_segments: int = 20,
    fallback_keys: Sequence[Any] = (),
    keep_quotes: bool = False,
    calendar: BusinessCalendar | None = None,
    label: str = "jobs",
) -> BacktestResult:
    """Replay a columnar history under each policy, without look-ahead, at numpy speed.

    The built-in policies (:class:`NoBuffer`, :class:`QuantileBuffer`,
    :class:`FixedBuffer`, :class:`ProportionalBuffer`, :class:`Cap`,
    :class:`Floor` and their ``+`` / ``|`` combinations) give exactly the quotes
    of :func:`backtest`: at each request, the empirical distribution of the
    durations completed strictly before it (of its segment with
    ``by_segment=True``), computed for all requests at once. Other
    :class:`BufferPolicy` objects (:class:`RoundUp`, :class:`OptimalBuffer`,
    plugins) are replayed by :func:`backtest` itself, row by row.

    A :class:`ColumnarPolicy` is fitted once per ``refit`` block on the records
    completed before the block starts (and at least ``min_samples`` of them),
    then quotes the block's requests in one ``quote_columns`` call (their
    completions hidden). Its quotes may be relative to each request's reference
    due (see :class:`QuoteColumns`).

    A quote is kept when ``completed <= requested + window`` (``reference +
    window`` for quotes relative to a reference). When the history has
    reference dues, they are scored in a :data:`HISTORICAL` row.

    Args:
        history: :class:`HistoryColumns`, a pandas ``DataFrame`` with columns
            ``requested_at``, ``completed_at`` and optionally ``segment`` and
            ``reference`` (or ``promised_due``), or history records.
        policies: A policy, a sequence of policies or a mapping name → policy
            (:class:`BufferPolicy` or :class:`ColumnarPolicy`).
        min_samples: Fewest prior completions to quote from (``>= 1``).
        by_segment: Fit the built-in policies per segment and add rows per
            segment (the ``max_segments`` largest).
        score_from: Warm-up end: earlier requests are not scored (nor fitted
            blocks quoted) but their completions count in later samples.
        period: ``"D"``, ``"W"``, ``"M"``, ``"Q"`` or ``"Y"``: also one row per
            policy and local calendar period (in ``history.zone``) of the
            requests, for calibration over time (stated ``mean_confidence``
            against realized ``on_time_rate``).
        refit: Blocks of the columnar policies: a period name as above, a
            ``timedelta``, or ``"7D"`` / ``"12h"``.
        max_segments: Most segment rows per policy with ``by_segment``.
        fallback_keys: Pooling of thin segments (with ``by_segment``), as in
            :func:`backtest`: functions ``segment -> coarser key``; each request
            is quoted from its segment, else the first coarser level, else all
            records, whichever first has ``min_samples`` prior completions.
        keep_quotes: Also return every scored decision in ``result.quotes``.
        calendar: Business calendar: durations and windows of the built-in
            (and plugin) policies are then business time, computed with the
            calendar's vectorized tables (same answers as :func:`backtest` with
            the calendar); windows of a :class:`ColumnarPolicy` stay real time
            (its rows say ``business_time=False``). ``None``: real time.
        label: Label of the fitted empirical samples (for plugin policies).

    Returns:
        A :class:`BacktestResult`.

    Raises:
        MissingDependencyError: numpy (or pandas for a DataFrame) is missing.
        InvalidTypeError: A policy or the history has the wrong type.
        InvalidValueError: A bad option.
        InconsistentRecordError: A record completes before it is requested.

    .. versionadded:: 0.1.0
    """
    np = _numpy("backtest_columns()")
    calendar = check_calendar(calendar)
    floor = check_count("min_samples", min_samples)
    check_count("max_segments", max_segments)
    check_non_empty_str("label", label)
    if period is not None and period not in PERIODS:
        raise InvalidValueError(
            f"'period' must be None or one of {', '.join(PERIODS)} (got {describe(period)})"
        )
    if isinstance(refit, str) and refit not in PERIODS and not _REFIT.match(refit):
        _blocks(np, refit, "UTC", 0, 0)  # raises the message
    named = _named(policies)
    coarser = _check_fallback_keys(fallback_keys, "segment" if by_segment else None)
    cols = _as_columns(history)
    if by_segment and cols.segment is None and len(cols) == 0:
        cols = HistoryColumns(
            cols.requested_us, cols.completed_us, cols.zone, np.empty(0, dtype=object)
        )
    if by_segment and cols.segment is None:
        raise InvalidValueError("'by_segment' needs a history with a segment column")
    n = len(cols)
    requested, completed = cols.requested_us, cols.completed_us
    scored = np.ones(n, dtype=bool)
    if score_from is not None:
        scored = requested >= to_us(check_aware("score_from", score_from))
    if by_segment:
        assert cols.segment is not None
        codes, labels = _codes(np, cols.segment)
    else:
        codes, labels = np.zeros(n, dtype=np.int64), []

    outcomes: list[tuple[str, _Outcome]] = []
    state: list[tuple[Any, _Sample]] | None = None
    for name, policy in named:
        out = _Outcome(np, n, requested)
        step = _compile(np, policy) if isinstance(policy, BufferPolicy) else None
        if step is not None:
            if state is None:
                state = _level_samples(np, cols, codes, labels, coarser, scored, floor, calendar)
            out.business = calendar is not None
            for picked, sample in state:
                target = sample.quantile(0.5)
                window, refused = step(sample, target, target)
                good = np.ones(picked.shape[0], dtype=bool) if refused is None else ~refused
                out.quoted[picked] = good
                out.window[picked] = window
                out.confidence[picked] = sample.cdf(window)
        elif isinstance(policy, BufferPolicy):
            _replay_plugin(
                np,
                cols,
                policy,
                name,
                by_segment=by_segment,
                fallback_keys=coarser,
                min_samples=floor,
                score_from=score_from,
                label=label,
                calendar=calendar,
                out=out,
            )
        else:
            _fit_blocks(np, cols, policy, refit=refit, scored=scored, min_samples=floor, out=out)
        out.finish(np, calendar)
        outcomes.append((name, out))
    if cols.reference_us is not None:
        out = _Outcome(np, n, requested)
        out.quoted = cols.reference_us != NO_REFERENCE
        out.due = cols.reference_us
        out.business = calendar is not None
        if calendar is None:
            out.window = np.where(out.quoted, cols.reference_us - requested, 0)
        else:
            out.window = np.zeros(n, dtype=np.int64)
            ends = cols.reference_us[out.quoted]
            spans = cum_at_many(calendar, ends) - cum_at_many(calendar, requested[out.quoted])
            out.window[out.quoted] = spans
        outcomes.append((HISTORICAL, out))

    groups: list[tuple[Hashable | None, str | None, Any]] = [(None, None, scored)]
    if period is not None:
        keys, period_labels = _period_keys(np, cols.zone, requested, period)
        for key, text in enumerate(period_labels):
            mask = scored & (keys == key)
            if mask.any():
                groups.append((None, text, mask))
    if by_segment:
        sizes = np.bincount(codes[scored], minlength=len(labels))
        largest = sorted(np.argsort(-sizes, kind="stable")[:max_segments].tolist())
        for code in largest:
            if sizes[code]:
                groups.append((labels[code], None, scored & (codes == code)))

    result_rows: list[BacktestRow] = []
    for name, out in outcomes:
        result_rows += _rows(np, name, out, completed, groups, historical=name == HISTORICAL)
    zone = calendar.zone if calendar is not None else load_zone(cols.zone, field="history.zone")
    kept = _kept_quotes(np, cols, outcomes, scored, zone) if keep_quotes else ()
    return BacktestResult(tuple(result_rows), kept)


def _kept_quotes(
    np: Any,
    cols: HistoryColumns,
    outcomes: list[tuple[str, _Outcome]],
    scored: Any,
    zone: tzinfo,
) -> tuple[BacktestQuote, ...]:
    """Every scored decision as a :class:`BacktestQuote` (datetimes built only here)."""
    rows = np.flatnonzero(scored)
    rows = rows[np.argsort(cols.requested_us[rows], kind="stable")]
    kept = []
    for i in rows.tolist():
        requested_at = (_EPOCH + us_td(int(cols.requested_us[i]))).astimezone(zone)
        done = int(cols.completed_us[i])
        for name, out in outcomes:
            if not out.quoted[i]:
                kept.append(BacktestQuote(i, name, requested_at, None, None))
                continue
            window = int(out.window[i])
            due_us = int(out.due[i])
            confidence = float(out.confidence[i])
            kept.append(
                BacktestQuote(
                    i,
                    name,
                    requested_at,
                    (_EPOCH + us_td(due_us)).astimezone(zone),
                    done <= due_us,
                    us_td(window),
                    None if name == HISTORICAL or confidence != confidence else confidence,
                )
            )
    return tuple(kept)
