"""Backtest: replay a history of requests under buffer policies, without look-ahead."""

from __future__ import annotations

import heapq
import operator
import statistics
from bisect import bisect_right, insort
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs

from promisekit._plotting import annotate_points, get_axes, label_axes
from promisekit._validation import check_aware, check_non_empty_str, describe, describe_names
from promisekit.buffering._capability._empirical import _LiveSample
from promisekit.buffering._common import (
    Clock,
    CompiledClock,
    check_calendar,
    check_count,
    check_segment,
    fmt_duration,
    fmt_rate,
    to_us,
    us_td,
)
from promisekit.buffering._history import HistoryRecord, _coerce_history
from promisekit.buffering._optimal import SatisfactionFunction
from promisekit.buffering._policies._base import BufferPolicy, _check_policy, _run
from promisekit.buffering._policies._context import QuoteContext
from promisekit.calendar import BusinessCalendar
from promisekit.errors import (
    InsufficientDataError,
    InvalidTypeError,
    InvalidValueError,
    MissingDependencyError,
)

__all__ = ["HISTORICAL", "BacktestQuote", "BacktestResult", "BacktestRow", "backtest"]

#: Name of the row scoring the business's own historical promises.
HISTORICAL = "historical promises"


@attrs.frozen(slots=True)
class BacktestRow:
    """Aggregate results of one policy (or of the historical promises) on one segment.

    Attributes:
        policy: The policy's name (``str(policy)``, a mapping key, or
            :data:`HISTORICAL`).
        segment: The segment, or ``None`` for all records.
        n_quoted: Requests the policy quoted.
        n_skipped: Requests it could not quote (too little history completed
            before the request); for the historical row, records without a
            promised due.
        on_time_rate: Fraction of quoted requests completed by the quoted due.
        mean_window: Mean promised window (request → due), business time with a
            calendar.
        median_window: Median promised window.
        mean_confidence: Mean stated confidence of the quotes (compare with
            ``on_time_rate`` to check calibration); ``None`` for the historical row.
        expected_satisfaction: Mean of ``satisfaction(lateness, window)`` when a
            satisfaction function was given.
        business_time: Whether windows are business time.
        period: The calendar period of the requests (``"2026-03"``…) for the
            rows of a columnar backtest by period, else ``None`` (all periods).

    .. versionadded:: 0.1.0
    """

    policy: str
    segment: Hashable | None
    n_quoted: int
    n_skipped: int
    on_time_rate: float | None
    mean_window: timedelta | None
    median_window: timedelta | None
    mean_confidence: float | None
    expected_satisfaction: float | None
    business_time: bool
    period: str | None = None


@attrs.frozen(slots=True)
class BacktestQuote:
    """One replayed decision (kept with ``backtest(..., keep_quotes=True)``).

    Attributes:
        index: Position of the record in the input history.
        policy: The policy's name.
        requested_at: The request time.
        due: The quoted due, or ``None`` when the request was skipped.
        on_time: Whether the work was completed by ``due`` (``None`` when skipped).
        window: The promised window (request → due; business time with a
            calendar; from the reference due for quotes relative to one), or
            ``None`` when skipped.
        confidence: The stated confidence of the quote (``None`` when skipped and
            for the historical promises).

    .. versionadded:: 0.1.0
    """

    index: int
    policy: str
    requested_at: datetime
    due: datetime | None
    on_time: bool | None
    window: timedelta | None = None
    confidence: float | None = None


@attrs.frozen(slots=True)
class BacktestResult:
    """The result of :func:`backtest`: one :class:`BacktestRow` per policy and segment.

    .. versionadded:: 0.1.0
    """

    rows: tuple[BacktestRow, ...]
    quotes: tuple[BacktestQuote, ...] = ()

    def row(
        self, policy: str, segment: Hashable | None = None, period: str | None = None
    ) -> BacktestRow:
        """The row of ``policy`` (by name), ``segment`` and ``period`` (``None``: all).

        Raises:
            InvalidValueError: There is no such row.

        .. versionadded:: 0.1.0
        """
        for row in self.rows:
            if row.policy == policy and row.segment == segment and row.period == period:
                return row
        names = sorted({r.policy for r in self.rows})
        raise InvalidValueError(
            f"'policy'/'segment'/'period' must name a row of the backtest "
            f"(got {describe(policy)}/{describe(segment)}/{describe(period)}; "
            f"policies: {describe_names(names)})"
        )

    def to_text(self) -> str:
        """A fixed-width table of the rows.

        .. versionadded:: 0.1.0
        """
        business = any(r.business_time for r in self.rows)
        with_segments = any(r.segment is not None for r in self.rows)
        with_periods = any(r.period is not None for r in self.rows)
        with_satisfaction = any(r.expected_satisfaction is not None for r in self.rows)
        unit = " (business)" if business else ""
        header = ["policy"]
        if with_segments:
            header.append("segment")
        if with_periods:
            header.append("period")
        header += ["quoted", "skipped", "on time", "mean conf.", f"mean window{unit}", "median"]
        if with_satisfaction:
            header.append("satisfaction")
        table = [header]
        for r in self.rows:
            line = [r.policy]
            if with_segments:
                line.append("all" if r.segment is None else str(r.segment))
            if with_periods:
                line.append("all" if r.period is None else r.period)
            line += [
                str(r.n_quoted),
                str(r.n_skipped),
                "-" if r.on_time_rate is None else fmt_rate(r.on_time_rate),
                "-" if r.mean_confidence is None else fmt_rate(r.mean_confidence),
                "-" if r.mean_window is None else fmt_duration(r.mean_window),
                "-" if r.median_window is None else fmt_duration(r.median_window),
            ]
            if with_satisfaction:
                line.append(
                    "-" if r.expected_satisfaction is None else f"{r.expected_satisfaction:.3f}"
                )
            table.append(line)
        widths = [max(len(row[i]) for row in table) for i in range(len(header))]
        lines = []
        for index, row in enumerate(table):
            cells = [
                cell.ljust(width) if i < 1 + with_segments + with_periods else cell.rjust(width)
                for i, (cell, width) in enumerate(zip(row, widths, strict=True))
            ]
            lines.append("  ".join(cells).rstrip())
            if index == 0:
                lines.append("  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()

    def to_pandas(self) -> Any:
        """The rows as a :class:`pandas.DataFrame` (needs the ``analysis`` extra).

        Raises:
            MissingDependencyError: pandas is not installed.

        .. versionadded:: 0.1.0
        """
        try:
            import pandas as pd
        except ImportError:
            raise MissingDependencyError(
                "pandas", "analysis", "BacktestResult.to_pandas()"
            ) from None
        return pd.DataFrame([attrs.asdict(r) for r in self.rows])

    def plot(self, ax: Any = None, *, segment: Hashable | None = None) -> Any:
        """Plot the trade-off: on-time rate against mean promised time, one point per row.

        Every row of ``segment`` becomes one point labelled with its policy's name:
        on-time rate (%) up, mean promised window (``mean_window``) across, in
        minutes — or in hours when a mean window reaches 2 hours — and in business
        time, as the axis label says, when the backtest used a calendar. The
        :data:`HISTORICAL` row (the business's own promises) is a black diamond.
        Rows that quoted nothing have no on-time rate and are left out. Up and to
        the left is better: kept more often, with shorter promises.

        Needs matplotlib (the ``plot`` extra); no backend is selected here.

        Args:
            ax: The matplotlib ``Axes`` to draw on; ``None`` creates a figure
                (``plt.subplots()``).
            segment: The segment whose rows are plotted; ``None`` (default) plots
                the rows over all records.

        Returns:
            The matplotlib ``Axes``.

        Raises:
            MissingDependencyError: matplotlib is not installed.
            InvalidTypeError: ``ax`` is not a matplotlib ``Axes``.
            InvalidValueError: No row has this segment.
            InsufficientDataError: No row of the segment quoted any request.

        .. versionadded:: 0.1.0
        """
        selected = [r for r in self.rows if r.segment == segment]
        if not selected:
            segments = sorted({repr(r.segment) for r in self.rows if r.segment is not None})
            raise InvalidValueError(
                f"'segment' must be None or a segment of the backtest "
                f"(got {describe(segment)}; segments: [{', '.join(segments)}])"
            )
        plotted = [
            (r.policy, r.mean_window, r.on_time_rate, r.business_time)
            for r in selected
            if r.mean_window is not None and r.on_time_rate is not None
        ]
        if not plotted:
            raise InsufficientDataError(
                f"nothing to plot: no policy quoted any request"
                f"{'' if segment is None else f' of segment {describe(segment)}'} "
                f"(every request was skipped; lower 'min_samples')"
            )
        ax = get_axes(ax, feature="BacktestResult.plot()")
        longest = max(window for _, window, _, _ in plotted)
        unit, seconds = ("hours", 3600.0) if longest >= timedelta(hours=2) else ("minutes", 60.0)
        business = any(business_time for *_, business_time in plotted)
        names = [name for name, *_ in plotted]
        points = [(window.total_seconds() / seconds, 100 * rate) for _, window, rate, _ in plotted]
        colours = []
        for name, (x, y) in zip(names, points, strict=True):
            style = {"marker": "D", "color": "black"} if name == HISTORICAL else {"marker": "o"}
            marker = ax.scatter([x], [y], s=64, zorder=3, label=name, **style)
            colours.append(marker.get_facecolor()[0])
        ax.margins(x=0.12, y=0.12)
        labels = annotate_points(ax, points, names)
        for name, label, colour in zip(names, labels, colours, strict=True):
            label.set_color(colour)  # a label has its point's colour: no doubt whose it is
            if name == HISTORICAL:
                label.set_fontstyle("italic")
        title = "On-time rate vs promised time"
        label_axes(
            ax,
            xlabel=f"Mean promised time ({'business ' if business else ''}{unit})",
            ylabel="On-time rate (%)",
            title=title if segment is None else f"{title} — segment {segment}",
            legend=None,
        )
        ax.grid(True, linestyle=":", alpha=0.7)
        ax.set_axisbelow(True)
        return ax


# --------------------------------------------------------------------------- replay


class _Tally:
    __slots__ = ("confidence", "on_time", "satisfaction", "skipped", "windows")

    def __init__(self) -> None:
        self.windows: list[int] = []
        self.on_time = 0
        self.skipped = 0
        self.confidence = 0.0
        self.satisfaction = 0.0

    def row(
        self, name: str, segment: Hashable | None, *, business: bool, historical: bool, scored: bool
    ) -> BacktestRow:
        n = len(self.windows)
        return BacktestRow(
            policy=name,
            segment=segment,
            n_quoted=n,
            n_skipped=self.skipped,
            on_time_rate=self.on_time / n if n else None,
            mean_window=us_td(round(sum(self.windows) / n)) if n else None,
            median_window=us_td(round(statistics.median(self.windows))) if n else None,
            mean_confidence=None if historical or not n else self.confidence / n,
            expected_satisfaction=self.satisfaction / n if scored and n else None,
            business_time=business,
        )


def _named_policies(policies: Any) -> list[tuple[str, BufferPolicy]]:
    if isinstance(policies, BufferPolicy):
        return [(str(policies), policies)]
    if isinstance(policies, Mapping):
        named = []
        for key, policy in policies.items():
            check_non_empty_str("policies key", key)
            named.append((key, _check_policy(f"policies[{describe(key)}]", policy)))
    elif isinstance(policies, Iterable) and not isinstance(policies, (str, bytes)):
        named = [(str(p), _check_policy(f"policies[{i}]", p)) for i, p in enumerate(policies)]
    else:
        raise InvalidTypeError(
            f"'policies' must be a BufferPolicy, a sequence of them or a mapping name -> policy "
            f"(got {type(policies).__name__} {describe(policies)})"
        )
    if not named:
        raise InvalidValueError("'policies' must contain at least one policy (got none)")
    seen: set[str] = set()
    for name, _ in named:
        if name in seen or name == HISTORICAL:
            raise InvalidValueError(
                f"'policies' must have distinct names other than {HISTORICAL!r} "
                f"(got {describe(name)} twice or reserved); pass a mapping name -> policy"
            )
        seen.add(name)
    return named


def _segment_function(segment_key: Any) -> Callable[[HistoryRecord], Hashable] | None:
    if segment_key is None:
        return None
    if isinstance(segment_key, str):
        if segment_key not in attrs.fields_dict(HistoryRecord):
            raise InvalidValueError(
                f"'segment_key' must be a HistoryRecord attribute name or a callable "
                f"(got {describe(segment_key)})"
            )
        return operator.attrgetter(segment_key)
    if not callable(segment_key):
        raise InvalidTypeError(
            f"'segment_key' must be None, an attribute name or a callable record -> key "
            f"(got {type(segment_key).__name__} {describe(segment_key)})"
        )
    return segment_key  # type: ignore[no-any-return]


def _check_fallback_keys(value: Any, key_of: Any) -> list[Callable[[Any], Hashable]]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise InvalidTypeError(
            f"'fallback_keys' must be a sequence of functions segment -> coarser key "
            f"(got {type(value).__name__} {describe(value)})"
        )
    functions = list(value)
    for index, function in enumerate(functions):
        if not callable(function):
            raise InvalidTypeError(
                f"'fallback_keys[{index}]' must be a function segment -> coarser key "
                f"(got {type(function).__name__} {describe(function)})"
            )
    if functions and key_of is None:
        raise InvalidValueError(
            "'fallback_keys' needs segments: pass segment_key= (backtest_columns: by_segment=True)"
        )
    return functions


def _coarse(function: Callable[[Any], Hashable], segment: Hashable) -> Hashable:
    return check_segment("fallback key", function(segment)) if segment is not None else None


def backtest(
    history: Iterable[Any],
    policies: BufferPolicy | Sequence[BufferPolicy] | Mapping[str, BufferPolicy],
    *,
    calendar: BusinessCalendar | None = None,
    min_samples: int = 30,
    segment_key: str | Callable[[HistoryRecord], Hashable] | None = None,
    satisfaction: SatisfactionFunction | None = None,
    keep_quotes: bool = False,
    label: str = "jobs",
    score_from: datetime | None = None,
    fallback_keys: Sequence[Callable[[Any], Hashable]] = (),
) -> BacktestResult:
    """Replay a history under each policy, as if quoting every request at its time.

    At each request (in request-time order) the capability is the empirical
    distribution of the durations of the records **completed strictly before
    the request time** — never a later one, so there is no look-ahead — of the
    same segment when ``segment_key`` is given. The sample is kept sorted
    incrementally: completions wait in a heap ordered by completion time and
    are inserted with :func:`bisect.insort` once a request time passes them,
    so the whole replay costs ``O(n log n)`` comparisons plus list insertions.

    Requests with fewer than ``min_samples`` prior completions are skipped, as
    are those for which a policy raises :class:`InsufficientDataError`. When
    records carry ``promised_due``, the business's own promises are scored in
    an extra row named :data:`HISTORICAL` (its ``n_skipped`` counts records
    without a promise).

    Args:
        history: :class:`HistoryRecord` values or tuples.
        policies: A policy, a sequence of policies (named by ``str(policy)``) or a
            mapping name → policy.
        calendar: Business calendar: durations, windows and lateness are then
            business time. Without one, real time.
        min_samples: Fewest prior completions to quote from (``>= 1``).
        segment_key: ``None`` (one pooled capability), an attribute name such as
            ``"segment"``, or a callable ``record -> key``: capabilities are then
            fitted per segment and rows reported per segment as well as overall.
        satisfaction: Optional ``satisfaction(lateness, window) -> float``
            averaged over quoted requests (lateness = completion − due).
        keep_quotes: Also return every replayed decision in ``result.quotes``.
        label: Label of the fitted empirical capabilities (for explanations).
        score_from: Warm-up end: requests before it are replayed (their
            completions feed later samples) but neither scored nor kept.
        fallback_keys: Pooling of thin segments, as a fallback chain of
            :class:`SegmentedCapability`: functions ``segment -> coarser key``
            (e.g. route → carrier and origin). Each request is quoted from the
            first level — its segment, then each coarser key in order, then all
            records — with at least ``min_samples`` prior completions. Needs
            ``segment_key``; rows stay per segment.

    Returns:
        A :class:`BacktestResult`.

    Raises:
        InvalidTypeError: A policy, the history or ``segment_key`` has the wrong type.
        InvalidValueError: No policy, duplicate policy names, or a bad ``min_samples``.
        InconsistentRecordError: A record completes before it is requested.

    .. versionadded:: 0.1.0
    """
    calendar = check_calendar(calendar)
    floor = check_count("min_samples", min_samples)
    named = _named_policies(policies)
    key_of = _segment_function(segment_key)
    coarser = _check_fallback_keys(fallback_keys, key_of)
    if satisfaction is not None and not callable(satisfaction):
        raise InvalidTypeError(
            f"'satisfaction' must be a callable (lateness, window) -> float or None "
            f"(got {type(satisfaction).__name__} {describe(satisfaction)})"
        )
    check_non_empty_str("label", label)
    scored_from = None if score_from is None else to_us(check_aware("score_from", score_from))
    records = _coerce_history(history)
    business = calendar is not None

    requested = [to_us(r.requested_at) for r in records]
    completed = [to_us(r.completed_at) for r in records]
    promised_us = [None if r.promised_due is None else to_us(r.promised_due) for r in records]
    clocks: dict[Any, Clock] = {}
    compiled: Clock | None = None
    if calendar is not None and records:
        # Business-time arithmetic precomputed over the replayed span (plus a year
        # of margin for buffered dues): identical results, far fewer calendar calls.
        lo = min(range(len(records)), key=requested.__getitem__)
        ends: list[tuple[int, datetime]] = [
            (c, r.completed_at) for c, r in zip(completed, records, strict=True)
        ]
        ends += [(to_us(r.promised_due), r.promised_due) for r in records if r.promised_due]
        hi = max(ends, key=lambda pair: pair[0])[1]
        compiled = CompiledClock(
            calendar,
            records[lo].requested_at - timedelta(days=1),
            hi + timedelta(days=400),
        )

    def clock_for(record: HistoryRecord) -> Clock:
        if compiled is not None:
            return compiled
        zone_key = record.requested_at.tzinfo
        clock = clocks.get(zone_key)
        if clock is None:
            clock = clocks[zone_key] = Clock(None, record.requested_at)
        return clock

    if compiled is not None:
        durations = [
            compiled.span_us(r.requested_at, q, r.completed_at, c)
            for r, q, c in zip(records, requested, completed, strict=True)
        ]
    else:
        durations = [c - q for q, c in zip(requested, completed, strict=True)]
    segments: list[Hashable] = [None] * len(records)
    if key_of is not None:
        for index, record in enumerate(records):
            segments[index] = check_segment(f"segment of history[{index}]", key_of(record))

    # One tally list per policy: [overall] or [overall, this record's segment].
    tallies: dict[tuple[str, Hashable], _Tally] = {}

    def tally(name: str, segment: Hashable) -> _Tally:
        found = tallies.get((name, segment))
        if found is None:
            found = tallies[(name, segment)] = _Tally()
        return found

    historical = any(p is not None for p in promised_us)
    names = [name for name, _ in named] + ([HISTORICAL] if historical else [])
    kept: list[BacktestQuote] = []
    # One sample per (level, key): level 0 is the segment, then each coarser key,
    # then (with fallback keys) all records pooled under the key None.
    levels = [segments]
    for function in coarser:
        levels.append([_coarse(function, s) for s in segments])
    if coarser:
        levels.append([None] * len(records))
    samples: list[dict[Hashable, list[int]]] = [{} for _ in levels]
    pending: list[tuple[int, int]] = []
    order = sorted(range(len(records)), key=requested.__getitem__)

    for index in order:
        now = requested[index]
        while pending and pending[0][0] < now:
            _, done = heapq.heappop(pending)
            for level, keys in enumerate(levels):
                insort(samples[level].setdefault(keys[done], []), durations[done])
        record = records[index]
        segment = segments[index]
        clock = clock_for(record)
        local_request = clock.local(record.requested_at)
        sample = samples[0].get(segment, [])
        for level in range(1, len(levels)):
            if len(sample) >= floor:
                break
            sample = samples[level].get(levels[level][index], [])
        context: QuoteContext | None = None
        if len(sample) >= floor:
            context = QuoteContext(
                local_request, _LiveSample(sample, label), calendar, clock=clock, start_us=now
            )
        outcomes: list[tuple[str, datetime | None, int, int, float]] = []
        instant: int
        for name, policy in named:
            if context is None:
                outcomes.append((name, None, 0, 0, 0.0))
                continue
            try:
                due = _run(policy, context, None)
            except InsufficientDataError:
                outcomes.append((name, None, 0, 0, 0.0))
                continue
            window = context._window_us(due)
            instant = context._instant_us(due)
            outcomes.append(
                (name, due, instant, window, bisect_right(sample, window) / len(sample))
            )
        if historical:
            promised = record.promised_due
            if promised is None:
                outcomes.append((HISTORICAL, None, 0, 0, 0.0))
            else:
                promised_at = promised_us[index]
                assert promised_at is not None
                local = clock.local(promised)
                window = clock.span_us(record.requested_at, now, local, promised_at)
                outcomes.append((HISTORICAL, local, promised_at, window, 0.0))
        done_at = completed[index]
        if scored_from is not None and now < scored_from:
            outcomes = []
        for name, quoted, instant, window, conf in outcomes:
            on_time = None if quoted is None else done_at <= instant
            score = 0.0
            if quoted is not None and satisfaction is not None:
                lateness = us_td(clock.span_us(quoted, instant, record.completed_at, done_at))
                score = float(satisfaction(lateness, us_td(window)))
            targets = [tally(name, None)]
            if key_of is not None and segment is not None:
                targets.append(tally(name, segment))
            for t in targets:
                if quoted is None:
                    t.skipped += 1
                else:
                    t.windows.append(window)
                    t.on_time += on_time is True
                    t.confidence += conf
                    t.satisfaction += score
            if keep_quotes:
                kept.append(
                    BacktestQuote(
                        index,
                        name,
                        local_request,
                        quoted,
                        on_time,
                        None if quoted is None else us_td(window),
                        None if quoted is None or name == HISTORICAL else conf,
                    )
                )
        heapq.heappush(pending, (done_at, index))

    rows: list[BacktestRow] = []
    seen_segments = sorted({s for s in segments if s is not None}, key=repr)
    for name in names:
        groups: list[Hashable] = [None] + (seen_segments if key_of is not None else [])
        for segment in groups:
            rows.append(
                tally(name, segment).row(
                    name,
                    segment,
                    business=business,
                    historical=name == HISTORICAL,
                    scored=satisfaction is not None,
                )
            )
    return BacktestResult(tuple(rows), tuple(kept))
