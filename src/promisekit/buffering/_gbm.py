"""Gradient-boosted conditional quantiles through scikit-learn (the ``quantile`` extra).

:class:`GradientBoostedQuantileBuffer` fits
``HistGradientBoostingRegressor(loss="quantile", quantile=q)`` on the same request
features as :class:`ConditionalQuantileBuffer` (segment as a categorical feature,
hour, weekday, month, season, caller features as numbers) and quotes its prediction.
It gives one quantile, not a distribution: wrap it in :class:`ConformalBuffer` for a
guaranteed stated confidence (additive CQR correction).

scikit-learn and numpy are imported lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from promisekit._validation import describe
from promisekit.buffering._columns import HistoryColumns, QuoteColumns
from promisekit.buffering._features import (
    CALENDAR_FEATURES,
    NO_REFERENCE,
    OPEN,
    calendar_features,
    check_history,
    check_level,
    numpy_module,
    select_rows,
)
from promisekit.errors import InsufficientDataError, InvalidTypeError, MissingDependencyError

if TYPE_CHECKING:  # pragma: no cover
    from promisekit.buffering._columns import FloatArray


def _sklearn_regressor() -> Any:
    try:
        from sklearn.ensemble import (  # type: ignore[import-untyped,unused-ignore]
            HistGradientBoostingRegressor,
        )
    except ImportError as exc:
        raise MissingDependencyError(
            "scikit-learn", "quantile", "GradientBoostedQuantileBuffer"
        ) from exc
    return HistGradientBoostingRegressor


def _level(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_level(attribute.name, value)


def _check_by(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, tuple) or not all(isinstance(v, str) for v in value) or not value:
        raise InvalidTypeError(
            f"'by' must be a non-empty tuple of feature names (got {describe(value)})"
        )


@attrs.frozen(kw_only=True)
class GradientBoostedQuantileBuffer:
    """Quote the ``q``-quantile predicted by gradient-boosted trees.

    Args:
        q: The quantile fitted and quoted.
        by: Request features: ``"segment"``, ``"hour"``, ``"weekday"``, ``"month"``,
            ``"season"`` or caller features of the history.
        relative: Model the deviation from ``reference_us`` (windows still counted
            from the request time).
        max_iter: Boosting iterations.
        random_state: Seed of the regressor.

    .. versionadded:: 0.1.0
    """

    q: float = attrs.field(default=0.9, validator=_level)
    by: tuple[str, ...] = attrs.field(
        default=("segment", "hour", "weekday"), converter=tuple, validator=_check_by
    )
    relative: bool = False
    max_iter: int = 200
    random_state: int = 0

    def fit_columns(self, past: HistoryColumns) -> GradientBoostedQuoter:
        """Fit the regressor on the completed records of ``past``.

        .. versionadded:: 0.1.0
        """
        np = numpy_module()
        regressor_class = _sklearn_regressor()
        past = check_history(past)
        done = past.completed_us != OPEN
        if self.relative:
            if past.reference_us is None:
                raise InsufficientDataError("'relative' models need the history's 'reference_us'")
            done &= past.reference_us != NO_REFERENCE
        past = select_rows(past, done)
        if len(past) < 2:
            raise InsufficientDataError("'past' needs at least 2 completed records")
        segments: dict[Any, int] = {}
        if "segment" in self.by and past.segment is not None:
            labels = sorted(set(np.asarray(past.segment, dtype=object).tolist()), key=str)
            segments = {label: i for i, label in enumerate(labels)}
        quoter = GradientBoostedQuoter(self, segments, past.zone)
        x = quoter.matrix(past)
        base = past.reference_us if self.relative else past.requested_us
        assert base is not None
        y = (past.completed_us - base).astype(np.float64) / 1e6
        categorical = [name == "segment" for name in self.by]
        model = regressor_class(
            loss="quantile",
            quantile=self.q,
            max_iter=self.max_iter,
            random_state=self.random_state,
            categorical_features=np.asarray(categorical) if any(categorical) else None,
        )
        model.fit(x, y)
        quoter.model = model
        return quoter


class GradientBoostedQuoter:
    """A fitted :class:`GradientBoostedQuantileBuffer`.

    .. versionadded:: 0.1.0
    """

    def __init__(self, policy: GradientBoostedQuantileBuffer, segments: dict[Any, int], zone: str):
        self.policy = policy
        self.segments = segments
        self.zone = zone
        self.model: Any = None

    def matrix(self, history: HistoryColumns) -> FloatArray:
        """The feature matrix of ``history`` (one column per name of ``by``).

        .. versionadded:: 0.1.0
        """
        np = numpy_module()
        n = len(history)
        calendar = {}
        if any(name in CALENDAR_FEATURES for name in self.policy.by):
            calendar = calendar_features(history.requested_us, history.zone)
        columns = []
        for name in self.policy.by:
            if name == "segment":
                if history.segment is None:
                    columns.append(np.full(n, np.nan))
                else:
                    labels = np.asarray(history.segment).tolist()
                    codes = [self.segments.get(s, np.nan) for s in labels]
                    columns.append(np.asarray(codes, dtype=np.float64))
            elif name in calendar:
                columns.append(calendar[name].astype(np.float64))
            elif name in history.features:
                columns.append(np.asarray(history.features[name], dtype=np.float64))
            else:
                raise InvalidTypeError(
                    f"'by' names the feature {describe(name)}, which the history does not have"
                )
        result: FloatArray = np.stack(columns, axis=1) if columns else np.zeros((n, 0))
        return result

    def quote_columns(self, requests: HistoryColumns) -> QuoteColumns:
        """The predicted ``q``-quantile of each request, stated at ``q``.

        .. versionadded:: 0.1.0
        """
        np = numpy_module()
        requests = check_history(requests, "requests")
        predicted = self.model.predict(self.matrix(requests)) * 1e6
        if self.policy.relative:
            if requests.reference_us is None:
                raise InsufficientDataError("'requests' must carry 'reference_us'")
            predicted = predicted + (requests.reference_us - requests.requested_us)
        window = np.ceil(predicted).astype(np.int64)
        return QuoteColumns(window, np.full(window.shape[0], float(self.policy.q)))


__all__ = ["GradientBoostedQuantileBuffer", "GradientBoostedQuoter"]
