"""What fitting produces: the fitted state a model records, predictions and evaluations.

Plain attrs classes, numpy-free to import (their array fields hold numpy arrays once a
model has predicted): the models import them at module level, while the fitting code
(:mod:`promisekit.satisfaction._fit`, numpy and scipy) builds them.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs

from promisekit.satisfaction._labels import Labels, Level
from promisekit.satisfaction._value import ValueFunction

__all__ = ["CalibrationRow", "Evaluation", "Prediction"]

Array = Any  # numpy arrays; numpy is only imported when fitting
#: Parameters that are strictly positive: their normal intervals are formed on the log scale.
_POSITIVE = frozenset({"alpha", "beta", "lam", "gain_cap", "loss_cap", "scale"})


def _positive(name: str) -> bool:
    return name in _POSITIVE or name.startswith("scale[")


_Z95 = 1.959963984540054


# --------------------------------------------------------------------------- fit state


@attrs.frozen(slots=True)
class _FitState:
    """What fitting records in a model (plain Python values only: picklable, numpy-free)."""

    kind: str  # "rows" or "aggregated"
    value: ValueFunction
    breach: float
    labels: Labels
    names: tuple[str, ...]
    estimates: tuple[float, ...]
    bse: tuple[float, ...]
    fixed: tuple[bool, ...]
    n_obs: int
    weight_total: float
    loglik: float | None
    rss: float | None
    converged: bool
    iterations: int
    baseline: tuple[float, ...] | None  # gamma, c1..c4, duration mean, duration sd
    undetermined: tuple[str, ...] = ()  # "name (reason)" the data do not determine
    window_seconds: float | None = None  # the window given to fit_aggregated
    intervals: tuple[tuple[float, float], ...] | None = None  # bootstrap 95 % intervals
    n_boot: int = 0  # resamples behind ``intervals``
    covariates: tuple[str, ...] = ()  # names of the extra covariates (after the cut points)
    segments: tuple[str, ...] = ()  # segment labels with their own scale, reference first

    def params(self) -> Mapping[str, float]:
        """Every estimate but the cut points (value function, breach, scale, covariates)."""
        cuts = {"c1", "c2", "c3", "c4"}
        return MappingProxyType(
            {
                name: estimate
                for name, estimate in zip(self.names, self.estimates, strict=True)
                if name not in cuts
            }
        )

    def standard_errors(self) -> Mapping[str, float]:
        return MappingProxyType(dict(zip(self.names, self.bse, strict=True)))

    def undetermined_names(self) -> frozenset[str]:
        """The names of the parameters the data do not determine."""
        return frozenset(entry.split(" (")[0] for entry in self.undetermined)

    def interval_method(self) -> str:
        if self.intervals is not None and self.n_boot == 0:
            return "profile likelihood"
        if self.intervals is not None:
            return f"bootstrap percentile, {self.n_boot} resamples"
        return "normal; log scale for positive parameters"

    def rows(self) -> list[dict[str, Any]]:
        table = []
        unknown = self.undetermined_names()
        for index, (name, estimate, se, fixed) in enumerate(
            zip(self.names, self.estimates, self.bse, self.fixed, strict=True)
        ):
            if self.intervals is not None:
                low, high = self.intervals[index]
            elif _positive(name) and estimate > 0:
                # normal on the log scale (delta method): a positive parameter's
                # interval stays positive, and is asymmetric as its likelihood is
                ratio = min(_Z95 * se / estimate, 700.0)  # exp stays finite
                spread = math.exp(ratio) if math.isfinite(se) else math.nan
                low, high = estimate / spread, estimate * spread
            else:
                low, high = estimate - _Z95 * se, estimate + _Z95 * se
            table.append(
                {
                    "parameter": name,
                    "estimate": estimate,
                    "std_err": se,
                    "ci_lower": low,
                    "ci_upper": high,
                    "fixed": fixed,
                    "determined": not fixed and name not in unknown,
                }
            )
        return table

    def summary_text(self, model: str) -> str:
        method = (
            f"maximum likelihood (ordered {self.labels.link})"
            if self.kind == "rows"
            else "weighted least squares on mean scores"
        )
        lines = [f"{model} fitted by {method} on {self.n_obs:,} observations"]
        free = sum(1 for f in self.fixed if not f)
        if self.loglik is not None:
            aic = 2 * free - 2 * self.loglik
            lines.append(f"log-likelihood {self.loglik:,.2f}   AIC {aic:,.2f}   parameters {free}")
        if self.rss is not None:
            lines.append(f"weighted residual sum of squares {self.rss:,.4f}   parameters {free}")
        lines.append(
            f"converged: {'yes' if self.converged else 'NO'} ({self.iterations} iterations)"
        )
        if self.undetermined:
            lines.append(f"not determined by the data: {', '.join(self.undetermined)}")
        lines.append(f"95% intervals: {self.interval_method()}")
        lines.append("")
        lines.append(f"{'parameter':<10} {'estimate':>10} {'std err':>10} {'95% CI':>23}")
        for row in self.rows():
            if row["fixed"]:
                tail = "(fixed)"
                lines.append(f"{row['parameter']:<10} {row['estimate']:>10.4f} {'':>10} {tail:>23}")
                continue
            ci = f"[{row['ci_lower']:.4f}, {row['ci_upper']:.4f}]"
            flag = "" if row["determined"] else "  not determined"
            lines.append(
                f"{row['parameter']:<10} {row['estimate']:>10.4f} {row['std_err']:>10.4f} "
                f"{ci:>23}{flag}"
            )
        return "\n".join(lines)

    def summary_html(self, model: str) -> str:
        """The summary as an HTML table (for notebooks): the header lines, then the rows."""
        text = self.summary_text(model).split("\n")
        header = "".join(f"<div>{html.escape(line)}</div>" for line in text[: text.index("")])
        cells = ["<th>parameter</th><th>estimate</th><th>std err</th><th>95% CI</th><th></th>"]
        for row in self.rows():
            if row["fixed"]:
                tail = "<td></td><td>(fixed)</td><td></td>"
            else:
                ci = f"[{row['ci_lower']:.4f}, {row['ci_upper']:.4f}]"
                note = "" if row["determined"] else "<b>not determined</b>"
                tail = f"<td>{row['std_err']:.4f}</td><td>{ci}</td><td>{note}</td>"
            name = html.escape(row["parameter"])
            cells.append(f"<td>{name}</td><td>{row['estimate']:.4f}</td>{tail}")
        body = "".join(f"<tr>{cell}</tr>" for cell in cells)
        return f'<div class="promisekit-summary">{header}<table>{body}</table></div>'


# --------------------------------------------------------------------------- predict


@attrs.frozen(slots=True, eq=False)
class Prediction:
    """What a fitted model predicts for outcomes (numpy arrays, one entry per outcome).

    Attributes:
        values: The satisfaction value of each outcome (shape ``(n,)``).
        expected: The expected score on the 1–5 scale (shape ``(n,)``).
        probabilities: The probability of each level, VERY_DISSATISFIED first
            (shape ``(n, 5)``; rows sum to 1).

    .. versionadded:: 0.1.0
    """

    values: Array
    expected: Array
    probabilities: Array

    @property
    def labels(self) -> list[Level]:
        """The most probable level of each outcome.

        .. versionadded:: 0.1.0
        """
        return [Level(int(i) + 1) for i in self.probabilities.argmax(axis=1)]


# --------------------------------------------------------------------------- evaluate


@attrs.frozen(slots=True)
class CalibrationRow:
    """One bin of a calibration table: predicted against observed mean score.

    Attributes:
        low: Lower edge of the bin of predicted expected scores.
        high: Upper edge.
        n: Number of outcomes in the bin.
        predicted: Mean predicted expected score in the bin (weighted).
        observed: Mean observed score in the bin (weighted).

    .. versionadded:: 0.1.0
    """

    low: float
    high: float
    n: int
    predicted: float
    observed: float


@attrs.frozen(slots=True)
class Evaluation:
    """How well a fitted model predicts observed scores, next to a duration-only baseline.

    Attributes:
        n: Number of outcomes evaluated.
        mae: Mean absolute error of the expected score (weighted).
        log_loss: Mean negative log-probability of the observed level (weighted).
        calibration: Calibration table of the model (bins of predicted score).
        baseline_mae: The same for the baseline (an ordered logit on the duration).
        baseline_log_loss: The same for the baseline.
        baseline_calibration: Calibration table of the baseline.
        baseline_in_sample: True when the baseline was fitted on the evaluation data.

    .. versionadded:: 0.1.0
    """

    n: int
    mae: float
    log_loss: float
    calibration: tuple[CalibrationRow, ...]
    baseline_mae: float
    baseline_log_loss: float
    baseline_calibration: tuple[CalibrationRow, ...]
    baseline_in_sample: bool

    def __str__(self) -> str:
        lines = [
            f"evaluation on {self.n:,} outcomes",
            f"{'':<22}{'model':>10}{'baseline':>10}",
            f"{'MAE':<22}{self.mae:>10.4f}{self.baseline_mae:>10.4f}",
            f"{'log-loss':<22}{self.log_loss:>10.4f}{self.baseline_log_loss:>10.4f}",
        ]
        if self.baseline_in_sample:
            lines.append("(baseline fitted in-sample on the evaluation data)")
        for title, table in (("model", self.calibration), ("baseline", self.baseline_calibration)):
            lines.append("")
            lines.append(f"calibration ({title}): predicted bin, n, mean predicted, mean observed")
            for row in table:
                lines.append(
                    f"  [{row.low:.1f}, {row.high:.1f}){row.n:>9,}{row.predicted:>10.3f}"
                    f"{row.observed:>10.3f}"
                )
        return "\n".join(lines)
