"""Calibration with a guarantee: split conformal quotes and adaptive conformal inference.

:class:`ConformalBuffer` holds the most recent records of the past out of the fit
(the *calibration set*), scores them against the model fitted on the rest, and
corrects the quoted level so that the stated confidence holds on exchangeable data:

* with a model that gives whole distributions (:class:`ConditionalQuantileBuffer`),
  the score of a record is its PIT value ``F(y-)`` (:meth:`GridDistributions.pit`),
  and the corrected quote at level ``q`` is the first base quantile above the
  ``ceil((n + 1) q)``-th smallest score (:meth:`GridDistributions.recalibrated`):
  ``P(y <= quote) >= q``;
* with a quantile model only (:class:`GradientBoostedQuantileBuffer`), the score is
  ``y - Q(x)`` and the quote is ``Q(x)`` plus the ``ceil((n + 1) q)``-th smallest score
  (one-sided conformalized quantile regression, CQR).

:class:`AdaptiveConformalBuffer` follows drift instead (Gibbs & Candès 2021): the
miscoverage level ``a`` is updated from each realized hit or miss,
``a <- a + gamma (alpha - err)``, so the long-run rate of kept quotes approaches the
target whatever the data do. The fit replays the calibration records in request
order; the fitted quoter keeps learning online through :meth:`AdaptiveQuoter.update`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from promisekit._validation import describe
from promisekit.buffering._columns import HistoryColumns, QuoteColumns
from promisekit.buffering._common import td_us
from promisekit.buffering._features import (
    OPEN,
    check_history,
    check_level,
    check_positive,
    numpy_module,
    select_rows,
)
from promisekit.buffering._grid import GridDistributions
from promisekit.buffering._grid_capability import GridCapability
from promisekit.errors import InsufficientDataError, InvalidTypeError, InvalidValueError

if TYPE_CHECKING:  # pragma: no cover
    from promisekit.buffering._columns import FloatArray


def _check_base(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not callable(getattr(value, "fit_columns", None)):
        raise InvalidTypeError(
            f"'base' must be a columnar policy with fit_columns() "
            f"(got {type(value).__name__} {describe(value)})"
        )


def _check_calibration(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, timedelta):
        if value <= timedelta(0):
            raise InvalidValueError(f"'calibration' must be positive (got {describe(value)})")
        return
    if isinstance(value, bool) or not isinstance(value, float) or not 0.0 < value < 1.0:
        raise InvalidValueError(
            f"'calibration' must be a fraction in (0, 1) or a timedelta (got {describe(value)})"
        )


def _level(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_level(attribute.name, value)


def _split_calibration(
    past: HistoryColumns, calibration: float | timedelta
) -> tuple[HistoryColumns, HistoryColumns]:
    """``(fit, calibrate)``: the records completed last form the calibration set."""
    np = numpy_module()
    done = np.asarray(past.completed_us) != OPEN
    completed = past.completed_us[done]
    if completed.shape[0] < 2:
        raise InsufficientDataError("'past' needs at least 2 completed records to calibrate")
    if isinstance(calibration, timedelta):
        cut = int(completed.max()) - td_us(calibration)
    else:
        cut = int(np.quantile(completed, 1.0 - calibration, method="inverted_cdf"))
    fit = done & (past.completed_us <= cut)
    held = done & (past.completed_us > cut)
    if not fit.any() or not held.any():
        raise InsufficientDataError(
            f"'calibration' {describe(calibration)} leaves no record to fit or to calibrate on"
        )
    return select_rows(past, fit), select_rows(past, held)


def _conformal_rank(n: int, q: float) -> int:
    """The 1-based rank ``ceil((n + 1) q)`` of the corrected score (``n + 1``: infinite)."""
    return min(max(math.ceil((n + 1) * q - 1e-12), 1), n + 1)


def _actual_window(history: HistoryColumns) -> FloatArray:
    result: FloatArray = (history.completed_us - history.requested_us).astype("float64")
    return result


@attrs.frozen
class ConformalBuffer:
    """Split-conformal calibration of a columnar model: the stated ``q`` holds.

    Args:
        base: The model: a :class:`ConditionalQuantileBuffer` (PIT scores, any level)
            or any columnar policy quoting one quantile (additive CQR scores).
        q: The stated confidence of every quote.
        calibration: The held-out calibration set: the last fraction of the past
            records (by completion) or those completed within a ``timedelta`` of the
            latest.

    .. versionadded:: 0.1.0
    """

    base: Any = attrs.field(validator=_check_base)
    q: float = attrs.field(default=0.9, validator=_level, kw_only=True)
    calibration: float | timedelta = attrs.field(
        default=0.25, validator=_check_calibration, kw_only=True
    )

    def fit_columns(self, past: HistoryColumns) -> ConformalQuoter:
        """Fit ``base`` on the older records, calibrate on the held-out recent ones.

        .. versionadded:: 0.1.0
        """
        np = numpy_module()
        fit, held = _split_calibration(check_history(past), self.calibration)
        model = self.base.fit_columns(fit)
        if callable(getattr(model, "distributions", None)):
            scores = model.distributions(held).pit(_actual_window(held))
            return ConformalQuoter(self, model, np.sort(scores), None)
        quoted = model.quote_columns(held).window_us.astype(np.float64)
        residual = np.sort(_actual_window(held) - quoted)
        rank = _conformal_rank(residual.shape[0], self.q)
        correction = residual[min(rank, residual.shape[0]) - 1]
        return ConformalQuoter(self, model, None, float(correction))


class ConformalQuoter:
    """A fitted :class:`ConformalBuffer`.

    Attributes:
        scores: Sorted PIT scores of the calibration set (distribution models).
        correction_us: The additive CQR correction (quantile-only models).

    .. versionadded:: 0.1.0
    """

    def __init__(
        self, policy: ConformalBuffer, model: Any, scores: Any, correction_us: float | None
    ) -> None:
        self.policy = policy
        self.model = model
        self.scores = scores
        self.correction_us = correction_us

    def distributions(self, requests: HistoryColumns) -> GridDistributions:
        """The base distributions recalibrated by the calibration scores.

        .. versionadded:: 0.1.0
        """
        if self.scores is None:
            raise InvalidTypeError(
                f"the base model {type(self.model).__name__} gives no distributions"
            )
        result: GridDistributions = self.model.distributions(requests).recalibrated(self.scores)
        return result

    def capability(
        self,
        at: datetime,
        segment: Any = None,
        features: Mapping[str, float] | None = None,
        *,
        reference: datetime | None = None,
    ) -> GridCapability:
        """One request's calibrated distribution as a :class:`~promisekit.buffering.Capability`.

        Arguments as :meth:`ConditionalQuoter.capability`.

        .. versionadded:: 0.1.0
        """
        one = getattr(self.model, "_one", None)
        if one is None or self.scores is None:
            raise InvalidTypeError(
                f"the base model {type(self.model).__name__} gives no single-request capability"
            )
        dist = self.distributions(one(at, segment, features, reference))
        return GridCapability(dist, label=f"{self.model._label()}, calibrated")

    def quote_columns(self, requests: HistoryColumns, q: Any = None) -> QuoteColumns:
        """Quote at the stated level ``q`` (default: the policy's), corrected.

        .. versionadded:: 0.1.0
        """
        np = numpy_module()
        level = self.policy.q if q is None else q
        if self.scores is None:
            assert self.correction_us is not None
            base = self.model.quote_columns(requests).window_us.astype(np.float64)
            window = np.ceil(base + self.correction_us).astype(np.int64)
            stated = np.full(window.shape[0], float(self.policy.q))
            return QuoteColumns(window, stated)
        dist = self.distributions(requests)
        window = np.ceil(dist.quantile_us(level)).astype(np.int64)
        return QuoteColumns(window, dist.cdf_at(window))


@attrs.frozen
class AdaptiveConformalBuffer:
    """Adaptive conformal inference: the quoted level follows the realized hit rate.

    Args:
        base: A model giving distributions (:class:`ConditionalQuantileBuffer`).
        q: The target rate of kept quotes (``1 - alpha``), stated on every quote.
        gamma: Step size of ``a <- a + gamma (alpha - err)``.
        calibration: The recent records replayed to set the level at fit time.

    .. versionadded:: 0.1.0
    """

    base: Any = attrs.field(validator=_check_base)
    q: float = attrs.field(default=0.9, validator=_level, kw_only=True)
    gamma: float = attrs.field(default=0.005, kw_only=True)
    calibration: float | timedelta = attrs.field(
        default=0.25, validator=_check_calibration, kw_only=True
    )

    @gamma.validator
    def _check_gamma(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        if check_positive("gamma", value) >= 1.0:
            raise InvalidValueError(f"'gamma' must be in (0, 1) (got {describe(value)})")

    def fit_columns(self, past: HistoryColumns) -> AdaptiveQuoter:
        """Fit ``base`` on the older records; replay the recent ones to learn the level.

        .. versionadded:: 0.1.0
        """
        np = numpy_module()
        fit, held = _split_calibration(check_history(past), self.calibration)
        model = self.base.fit_columns(fit)
        order = np.argsort(held.requested_us, kind="stable")
        pit = model.distributions(held).pit(_actual_window(held))[order]
        quoter = AdaptiveQuoter(self, model, 1.0 - self.q)
        for u in pit.tolist():
            quoter.update_one(u < quoter.level)
        return quoter


class AdaptiveQuoter:
    """A fitted :class:`AdaptiveConformalBuffer`, still learning.

    Attributes:
        alpha: The current miscoverage level ``a_t`` (may leave ``[0, 1]``).

    .. versionadded:: 0.1.0
    """

    def __init__(self, policy: AdaptiveConformalBuffer, model: Any, alpha: float) -> None:
        self.policy = policy
        self.model = model
        self.alpha = alpha

    @property
    def level(self) -> float:
        """The level quoted now: ``1 - a_t`` clipped to ``[0, 1]``.

        .. versionadded:: 0.1.0
        """
        return min(max(1.0 - self.alpha, 0.0), 1.0)

    def update_one(self, hit: bool) -> None:
        """One step of ``a <- a + gamma (alpha - err)`` for one realized outcome.

        .. versionadded:: 0.1.0
        """
        target = 1.0 - self.policy.q
        self.alpha += self.policy.gamma * (target - (0.0 if hit else 1.0))

    def update(self, hits: Any) -> None:
        """Learn from the outcomes of quotes made at the current level (kept = true).

        Quotes made together at one level learn together: the steps add up.

        .. versionadded:: 0.1.0
        """
        np = numpy_module()
        kept = np.asarray(hits, dtype=bool)
        target = 1.0 - self.policy.q
        misses = float(kept.shape[0] - kept.sum())
        self.alpha += self.policy.gamma * (target * kept.shape[0] - misses)

    def quote_columns(self, requests: HistoryColumns) -> QuoteColumns:
        """Quote at the current level; the stated confidence is the target ``q``.

        .. versionadded:: 0.1.0
        """
        np = numpy_module()
        dist = self.model.distributions(requests)
        window = np.ceil(dist.quantile_us(self.level)).astype(np.int64)
        return QuoteColumns(window, np.full(window.shape[0], float(self.policy.q)))


__all__ = ["AdaptiveConformalBuffer", "AdaptiveQuoter", "ConformalBuffer", "ConformalQuoter"]
