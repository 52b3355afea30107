"""Same urgency for every customer: a permutation test of response times and keep rates."""

from __future__ import annotations

import html
import itertools
import math
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
from numpy.typing import NDArray

from promisekit.analysis._columns import require_pandas
from promisekit.errors import InsufficientDataError, InvalidValueError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FairnessReport", "permutation_fairness"]

_NAT = np.iinfo(np.int64).min
_NONE = "(none)"
# Cells of the (permutations × rows) label matrix built per batch.
_BATCH_CELLS = 8_000_000
# Relative tolerance when comparing permuted keep-rate gaps with the observed one.
_TOLERANCE = 1e-12


@attrs.frozen(kw_only=True)
class FairnessReport:
    """Do response times and keep rates differ between groups beyond chance?

    Computed by :meth:`PromiseBook.fairness <promisekit.analysis.PromiseBook.fairness>`.
    Two permutation tests:

    * **response time** — the *slowest* group is the one whose median response time
      (made to completed, in business time with a calendar) exceeds the median of all
      other promises by the most, relative to the median response
      (``relative_response_gap``); ``response_gap`` is that difference in time;
    * **keep rate** — the *least kept* group is the one whose keep rate falls furthest
      below the rate of all other promises; ``keep_rate_gap`` is that difference
      (a fraction, positive when the group is kept less often).

    With ``within`` strata (e.g. each kind of promise: a callback and a parcel have very
    different response times), each gap is computed within every stratum and averaged
    over the strata, weighted by their number of promises — "within a kind, this group
    waits that much longer" — and labels are shuffled within strata. Response gaps are
    tested relative to each stratum's median response, so that minutes-long callbacks
    and days-long deliveries count alike (with one stratum this changes nothing).

    Each p-value is the share of label permutations whose largest gap over *all* groups
    is at least the observed largest gap — so picking the worst group after looking at
    the data is accounted for. ``p = (1 + count) / (1 + n_permutations)``.

    Attributes:
        by: The column compared (e.g. ``"segment"``).
        within: The column permutations were stratified by, or ``None``.
        business_time: True when response times are business time.
        groups: Group names (``"(none)"`` for a missing value).
        sizes: Promises per group.
        responded: Completed promises (with a response time) per group.
        median_response: Median response time per group (``None`` without any).
        decided: Promises no longer pending per group (the keep-rate denominator).
        keep_rate: Kept / decided per group (``None`` without any decided).
        slowest: The group with the largest response gap, or ``None``.
        response_gap: Its median response minus the other promises' median (averaged
            over strata).
        relative_response_gap: The same, relative to each stratum's median response
            (``0.5``: half as long again) — the statistic tested.
        response_p_value: p-value of the response-time test.
        least_kept: The group with the largest keep-rate gap, or ``None``.
        keep_rate_gap: The other promises' keep rate minus its keep rate.
        keep_rate_p_value: p-value of the keep-rate test.
        n_permutations: Number of permutations.
        seed: Seed of the permutations.

    .. versionadded:: 0.1.0
    """

    by: str
    within: str | None
    business_time: bool
    groups: tuple[str, ...]
    sizes: tuple[int, ...]
    responded: tuple[int, ...]
    median_response: tuple[timedelta | None, ...]
    decided: tuple[int, ...]
    keep_rate: tuple[float | None, ...]
    slowest: str | None
    response_gap: timedelta | None
    relative_response_gap: float | None
    response_p_value: float | None
    least_kept: str | None
    keep_rate_gap: float | None
    keep_rate_p_value: float | None
    n_permutations: int
    seed: int | None

    def significant(self, alpha: float = 0.05) -> bool:
        """Whether either test rejects equal treatment at level ``alpha``.

        .. versionadded:: 0.1.0
        """
        return any(p is not None and p < alpha for p in self.p_values())

    def p_values(self) -> tuple[float | None, float | None]:
        """``(response_p_value, keep_rate_p_value)``.

        .. versionadded:: 0.1.0
        """
        return self.response_p_value, self.keep_rate_p_value

    def findings(self, alpha: float = 0.05) -> list[str]:
        """Plain-language findings at level ``alpha`` (empty when nothing stands out).

        .. versionadded:: 0.1.0
        """
        out = []
        clock = "business time" if self.business_time else "real time"
        if self.response_p_value is not None and self.response_p_value < alpha:
            assert self.relative_response_gap is not None
            out.append(
                f"{self.by} {self.slowest!r} waits longer: median response "
                f"{_fmt_td(self.response_gap, self.business_time)} "
                f"({100 * self.relative_response_gap:.0f} %) "
                f"above the others ({clock}), p = {self.response_p_value:.3g}"
            )
        if self.keep_rate_p_value is not None and self.keep_rate_p_value < alpha:
            assert self.keep_rate_gap is not None
            out.append(
                f"{self.by} {self.least_kept!r} has its promises kept less often: "
                f"{100 * self.keep_rate_gap:.1f} points below the others, "
                f"p = {self.keep_rate_p_value:.3g}"
            )
        return out

    def __str__(self) -> str:
        lines = [
            f"Fairness by {self.by!r}"
            + (f" (permuted within {self.within!r})" if self.within else "")
            + f": {self.n_permutations} permutations"
        ]
        for i, group in enumerate(self.groups):
            rate = self.keep_rate[i]
            lines.append(
                f"  {group}: {self.sizes[i]} promises, median response "
                f"{_fmt_td(self.median_response[i])}, keep rate "
                + ("n/a" if rate is None else f"{100 * rate:.1f} %")
            )
        lines.append(
            f"  slowest: {self.slowest!r}, gap {_fmt_td(self.response_gap)}, "
            f"p = {_fmt_p(self.response_p_value)}"
        )
        keep_gap = "n/a" if self.keep_rate_gap is None else f"{100 * self.keep_rate_gap:.1f} points"
        lines.append(
            f"  least kept: {self.least_kept!r}, gap {keep_gap}, "
            f"p = {_fmt_p(self.keep_rate_p_value)}"
        )
        found = self.findings()
        lines.append("  " + ("; ".join(found) if found else "no difference beyond chance (5 %)"))
        return "\n".join(lines)

    def to_pandas(self) -> pd.DataFrame:
        """The per-group table as a DataFrame indexed by group.

        .. versionadded:: 0.1.0
        """
        pd = require_pandas("FairnessReport.to_pandas()")
        frame = pd.DataFrame(
            {
                "promises": list(self.sizes),
                "responded": list(self.responded),
                "median_response": pd.to_timedelta(
                    [pd.NaT if x is None else x for x in self.median_response]
                ),
                "decided": list(self.decided),
                "keep_rate": [math.nan if x is None else x for x in self.keep_rate],
            },
            index=pd.Index(list(self.groups), name=self.by),
        )
        return frame

    def _repr_html_(self) -> str:
        rows = "".join(
            "<tr>"
            f"<td>{html.escape(group)}</td><td>{self.sizes[i]}</td>"
            f"<td>{html.escape(_fmt_td(self.median_response[i]))}</td>"
            f"<td>{_fmt_rate(self.keep_rate[i])}</td>"
            "</tr>"
            for i, group in enumerate(self.groups)
        )
        found = self.findings()
        verdict = (
            "<br>".join(html.escape(x) for x in found)
            if found
            else "No difference beyond chance (5 %)."
        )
        return (
            f"<div><strong>Fairness by {html.escape(self.by)}</strong> "
            f"({self.n_permutations} permutations"
            + (f", within {html.escape(self.within)}" if self.within else "")
            + ")<table><thead><tr><th>group</th><th>promises</th>"
            "<th>median response</th><th>keep rate</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
            f"<p>slowest: {html.escape(str(self.slowest))} "
            f"(+{html.escape(_fmt_td(self.response_gap))}, p = {_fmt_p(self.response_p_value)}); "
            f"least kept: {html.escape(str(self.least_kept))} "
            f"(p = {_fmt_p(self.keep_rate_p_value)})</p><p>{verdict}</p></div>"
        )


def _fmt_td(value: timedelta | None, business: bool = False) -> str:
    """A duration in s, min, h, or d from two days up (never days in business time)."""
    if value is None:
        return "n/a"
    seconds = value.total_seconds()
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if seconds >= 2 * 86400 and not business:
        return f"{sign}{seconds / 86400:.1f} d"
    if seconds >= 3600:
        return f"{sign}{seconds / 3600:.2f} h"
    if seconds >= 60:
        return f"{sign}{seconds / 60:.1f} min"
    return f"{sign}{seconds:.1f} s"


def _fmt_p(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def _fmt_rate(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"


def _median2(values: NDArray[np.int64], positions: NDArray[np.intp], size: int) -> Any:
    """Twice the median of each row's selected (sorted) values, exactly, as int64."""
    return values[positions[:, (size - 1) // 2]] + values[positions[:, size // 2]]


def _segments(strata: NDArray[np.int32] | None, size: int) -> list[tuple[int, int]]:
    """``[start, stop)`` of each run of equal strata (all rows when ``strata`` is None)."""
    if strata is None or size == 0:
        return [(0, size)]
    cuts = [0, *(np.flatnonzero(np.diff(strata)) + 1).tolist(), size]
    return list(itertools.pairwise(cuts))


class _Statistics:
    """Largest group-vs-rest gaps for a batch of label permutations (one per row).

    Each test uses its own promises — response gaps those with a response time,
    keep-rate gaps the decided ones — ordered by stratum (and, for responses, by
    response time within the stratum). Labels are permuted within strata, so every
    group's size in every stratum is fixed, and a group's median is read at fixed ranks.
    A gap is computed within each stratum and averaged over the strata, weighted by
    their number of promises (strata where the group or the rest is too small are
    left out).
    """

    def __init__(
        self,
        n_groups: int,
        codes: NDArray[np.int32],
        strata: NDArray[np.int32] | None,
        response: NDArray[np.int64],
        decided: NDArray[np.bool_],
        kept: NDArray[np.bool_],
        min_group: int,
    ) -> None:
        self.n_groups = n_groups
        key = np.zeros(len(codes), dtype=np.int32) if strata is None else strata
        responded = np.flatnonzero(response != _NAT)
        order = np.lexsort((response[responded], key[responded]))
        self.r_rows = responded[order]
        self.values = response[self.r_rows]  # sorted within each stratum
        self.r_segments = _segments(None if strata is None else key[self.r_rows], len(self.r_rows))
        decided_rows = np.flatnonzero(decided)
        self.d_rows = decided_rows[np.argsort(key[decided_rows], kind="stable")]
        self.d_segments = _segments(None if strata is None else key[self.d_rows], len(self.d_rows))
        self.kept = kept[self.d_rows]
        self.r_counts = self._counts(codes[self.r_rows], self.r_segments)
        self.d_counts = self._counts(codes[self.d_rows], self.d_segments)
        self.r_weights = self._weights(self.r_counts, self.r_segments, min_group)
        self.d_weights = self._weights(self.d_counts, self.d_segments, 1)
        self.d_kept = [int(self.kept[a:b].sum()) for a, b in self.d_segments]
        self.r_ok = self.r_weights.sum(axis=0) > 0
        # Each stratum's median response (fixed under permutation): gaps are divided by
        # it so that strata on different time scales (minutes, days) weigh alike.
        self.r_scale = [
            max(1.0, float(_median2(self.values[a:b], np.arange(b - a)[None, :], b - a)[0]) / 2)
            if b > a
            else 1.0
            for a, b in self.r_segments
        ]
        self.d_ok = self.d_weights.sum(axis=0) > 0

    def _counts(
        self, codes: NDArray[np.int32], segments: list[tuple[int, int]]
    ) -> NDArray[np.int64]:
        return np.array(
            [np.bincount(codes[a:b], minlength=self.n_groups) for a, b in segments],
            dtype=np.int64,
        ).reshape(len(segments), self.n_groups)

    @staticmethod
    def _weights(
        counts: NDArray[np.int64], segments: list[tuple[int, int]], minimum: int
    ) -> NDArray[np.float64]:
        """Stratum weights per group (columns sum to 1 where the group can be compared)."""
        sizes = np.array([b - a for a, b in segments], dtype=np.float64)[:, None]
        usable = (counts >= minimum) & (sizes - counts >= minimum)
        raw = np.where(usable, sizes, 0.0)
        total = raw.sum(axis=0)
        out: NDArray[np.float64] = np.divide(raw, total, out=np.zeros_like(raw), where=total > 0)
        return out

    def response(self, labels: NDArray[np.int32], *, relative: bool = True) -> NDArray[np.float64]:
        """Per batch row and group: weighted (group median - rest median), or -inf.

        Relative to each stratum's median response (the test statistic), or in µs.
        ``labels`` has one column per promise of ``r_rows`` (in that order).
        """
        batch = labels.shape[0]
        out = np.zeros((batch, self.n_groups))
        for s, (a, b) in enumerate(self.r_segments):
            values = self.values[a:b]
            chosen = labels[:, a:b]
            total = b - a
            for g in np.flatnonzero(self.r_weights[s] > 0):
                size = int(self.r_counts[s, g])
                mask = chosen == g
                inside = np.nonzero(mask)[1].reshape(batch, size)
                outside = np.nonzero(~mask)[1].reshape(batch, total - size)
                gap2 = _median2(values, inside, size) - _median2(values, outside, total - size)
                scale = self.r_scale[s] if relative else 1.0
                out[:, g] += self.r_weights[s, g] * gap2 / 2 / scale
        out[:, ~self.r_ok] = -np.inf
        return out

    def keep(self, labels: NDArray[np.int32]) -> NDArray[np.float64]:
        """Per batch row and group: weighted (rest keep rate - group keep rate), or -inf.

        ``labels`` has one column per promise of ``d_rows`` (in that order).
        """
        batch = labels.shape[0]
        out = np.zeros((batch, self.n_groups))
        for s, (a, b) in enumerate(self.d_segments):
            chosen = labels[:, a:b]
            kept = self.kept[a:b]
            total = b - a
            for g in np.flatnonzero(self.d_weights[s] > 0):
                size = int(self.d_counts[s, g])
                kept_g = ((chosen == g) & kept).sum(axis=1)
                gap = (self.d_kept[s] - kept_g) / (total - size) - kept_g / size
                out[:, g] += self.d_weights[s, g] * gap
        out[:, ~self.d_ok] = -np.inf
        return out


def _shuffles(
    rng: np.random.Generator,
    codes: NDArray[np.int32],
    segments: list[tuple[int, int]],
    n_permutations: int,
) -> Iterator[NDArray[np.int32]]:
    """Batches of label permutations (one per row), shuffled within each segment."""
    n = len(codes)
    batch_size = max(1, min(n_permutations, _BATCH_CELLS // max(n, 1)))
    done = 0
    while done < n_permutations:
        batch = min(batch_size, n_permutations - done)
        shuffled = np.empty((batch, n), dtype=np.int32)
        for a, b in segments:
            shuffled[:, a:b] = rng.permuted(np.tile(codes[a:b], (batch, 1)), axis=1)
        yield shuffled
        done += batch


def permutation_fairness(
    *,
    by: str,
    labels: NDArray[np.int32],
    names: Sequence[str | None],
    response: NDArray[np.int64],
    decided: NDArray[np.bool_],
    kept: NDArray[np.bool_],
    within: str | None,
    strata: NDArray[np.int32] | None,
    business_time: bool,
    n_permutations: int,
    seed: int | None,
    min_group: int = 2,
) -> FairnessReport:
    """Run the two permutation tests (see :class:`FairnessReport`).

    Args:
        by: Name of the compared column.
        labels: Group code of each promise (``0 .. len(names) - 1``).
        names: Group names by code (``None`` for a missing value).
        response: Response time of each promise in µs, ``int64`` min when not completed.
        decided: Whether each promise counts in keep rates (not pending).
        kept: Whether each promise was kept.
        within: Name of the stratifying column, or ``None``.
        strata: Stratum code of each promise, or ``None``.
        business_time: Whether ``response`` is business time (for the report).
        n_permutations: Number of label permutations (>= 1).
        seed: Seed of numpy's generator.
        min_group: Fewest completed promises a group (and the rest) needs for the
            response test.

    Raises:
        InsufficientDataError: fewer than two groups.
    """
    if isinstance(n_permutations, bool) or not isinstance(n_permutations, int):
        raise InvalidValueError(f"'n_permutations' must be an int (got {n_permutations!r})")
    if n_permutations < 1:
        raise InvalidValueError(f"'n_permutations' must be at least 1 (got {n_permutations})")
    present = np.flatnonzero(np.bincount(labels, minlength=len(names)) > 0)
    if len(present) < 2:
        raise InsufficientDataError(
            f"a fairness audit by {by!r} needs promises in at least two groups (got {len(present)})"
        )
    # Re-code to the groups present, in name order.
    remap = np.full(len(names), -1, dtype=np.int32)
    remap[present] = np.arange(len(present), dtype=np.int32)
    codes = remap[labels]
    group_names = tuple(_NONE if names[int(i)] is None else str(names[int(i)]) for i in present)
    n_groups = len(group_names)
    stats = _Statistics(n_groups, codes, strata, response, decided, kept, min_group)

    observed_r = stats.response(codes[None, stats.r_rows])[0]
    observed_k = stats.keep(codes[None, stats.d_rows])[0]
    has_r = bool(stats.r_ok.any())
    has_k = bool(stats.d_ok.any())
    t_r = float(observed_r.max()) if has_r else 0.0
    t_k = float(observed_k.max()) if has_k else 0.0

    rng = np.random.default_rng(seed)
    count_r = count_k = 0
    if has_r:
        threshold = t_r - _TOLERANCE * max(1.0, abs(t_r))
        for shuffled in _shuffles(rng, codes[stats.r_rows], stats.r_segments, n_permutations):
            count_r += int((stats.response(shuffled).max(axis=1) >= threshold).sum())
    if has_k:
        threshold = t_k - _TOLERANCE * max(1.0, abs(t_k))
        for shuffled in _shuffles(rng, codes[stats.d_rows], stats.d_segments, n_permutations):
            count_k += int((stats.keep(shuffled).max(axis=1) >= threshold).sum())

    def median(g: int) -> timedelta | None:
        values = response[(codes == g) & (response != _NAT)]
        if len(values) == 0:
            return None
        values = np.sort(values)
        twice = int(values[(len(values) - 1) // 2]) + int(values[len(values) // 2])
        return timedelta(microseconds=twice / 2)

    slowest = int(np.argmax(observed_r)) if has_r else None
    absolute_gap = (
        float(stats.response(codes[None, stats.r_rows], relative=False)[0, slowest])
        if slowest is not None
        else 0.0
    )
    least = int(np.argmax(observed_k)) if has_k else None
    d_counts = stats.d_counts.sum(axis=0)
    kept_counts = np.bincount(codes[stats.d_rows][stats.kept], minlength=n_groups)
    return FairnessReport(
        by=by,
        within=within,
        business_time=business_time,
        groups=group_names,
        sizes=tuple(int(x) for x in np.bincount(codes, minlength=n_groups)),
        responded=tuple(int(x) for x in stats.r_counts.sum(axis=0)),
        median_response=tuple(median(g) for g in range(n_groups)),
        decided=tuple(int(x) for x in d_counts),
        keep_rate=tuple(
            float(kept_counts[g] / d_counts[g]) if d_counts[g] else None for g in range(n_groups)
        ),
        slowest=None if slowest is None else group_names[slowest],
        response_gap=None if slowest is None else timedelta(microseconds=absolute_gap),
        relative_response_gap=t_r if has_r else None,
        response_p_value=(1 + count_r) / (1 + n_permutations) if has_r else None,
        least_kept=None if least is None else group_names[least],
        keep_rate_gap=t_k if has_k else None,
        keep_rate_p_value=(1 + count_k) / (1 + n_permutations) if has_k else None,
        n_permutations=n_permutations,
        seed=seed,
    )
