"""Queue-aware callback quotes: the queue-length and head-of-line delay predictors.

State-dependent delay predictors from call-centre research (Ibrahim & Whitt, 2009):

* **QL** (queue length): with ``n`` requests ahead and ``s`` servers each working at
  rate ``mu``, a new request waits about ``(n + 1 - s) / (s mu)`` once every server is
  busy. :class:`QueueLengthPredictor` fits ``a + b max(n + 1 - s, 0)`` (``a``: the
  service time, ``b``: ``1 / (s mu)``) by least squares on the past;
* **HOL** (head of line): the elapsed wait ``w`` of the request at the head of the
  line, scaled by ``(k + 1) / k`` with ``k`` requests waiting: the rate at which the
  line moves, read from how long its head has waited. :class:`HeadOfLinePredictor`
  fits ``a + b w (k + 1) / k``.

Both quote ``point x c_q``, ``c_q`` the ``q``-quantile of ``actual / point`` in the
past, and are :class:`~promisekit.buffering.ColumnarPolicy` objects reading request
features computed by :func:`queue_features` from the open promises at each request
time. :func:`rase` is the root average squared error of the point predictions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from promisekit._validation import describe
from promisekit.buffering._columns import HistoryColumns, QuoteColumns
from promisekit.buffering._features import OPEN, check_history, check_level, numpy_module
from promisekit.errors import InsufficientDataError, InvalidValueError

if TYPE_CHECKING:  # pragma: no cover
    from promisekit.buffering._columns import FloatArray


def open_promises(history: HistoryColumns) -> FloatArray:
    """How many other requests were open (requested, not completed) at each request time.

    Vectorized with ``searchsorted``; only what was known at the request time is used
    (requests made before it, completions at or before it).

    .. versionadded:: 0.1.0
    """
    np = numpy_module()
    history = check_history(history, "history")
    t = history.requested_us
    made = np.searchsorted(np.sort(t), t, side="left")
    closed = np.searchsorted(np.sort(history.completed_us), t, side="right")
    # Completions at or before t of requests made *at* t (zero durations) are not
    # completions of earlier requests.
    instant = np.sort(t[history.completed_us == t])
    closed -= np.searchsorted(instant, t, side="right") - np.searchsorted(instant, t, side="left")
    result: FloatArray = (made - closed).astype(np.float64)
    return result


def head_of_line_wait(history: HistoryColumns) -> FloatArray:
    """Elapsed time (seconds) of the oldest request still open at each request time.

    ``0`` when nothing is open. With requests served first come, first served, the
    oldest open request is the head of the line.

    .. versionadded:: 0.1.0
    """
    np = numpy_module()
    history = check_history(history, "history")
    order = np.argsort(history.requested_us, kind="stable")
    req = history.requested_us[order]
    # The first request (in request order) not completed by t is the first index
    # whose prefix maximum of completions exceeds t.
    prefix = np.maximum.accumulate(history.completed_us[order])
    t = history.requested_us
    first = np.searchsorted(prefix, t, side="right")
    first = np.minimum(first, req.shape[0] - 1)
    head = req[first]
    waiting = (head < t) & (prefix[first] > t)
    result: FloatArray = np.where(waiting, (t - head) / 1e6, 0.0)
    return result


def queue_features(history: HistoryColumns) -> dict[str, FloatArray]:
    """``{"open": open_promises(h), "hol_wait": head_of_line_wait(h)}``.

    .. versionadded:: 0.1.0
    """
    return {"open": open_promises(history), "hol_wait": head_of_line_wait(history)}


def rase(actual_us: Any, predicted_us: Any) -> float:
    """Root average squared error, in the unit of the inputs.

    .. versionadded:: 0.1.0
    """
    np = numpy_module()
    a = np.asarray(actual_us, dtype=np.float64)
    p = np.asarray(predicted_us, dtype=np.float64)
    if a.shape != p.shape or a.size == 0:
        raise InvalidValueError(
            f"'actual_us' and 'predicted_us' must be non-empty and of one length "
            f"(got {a.shape} and {p.shape})"
        )
    return float(np.sqrt(np.mean((a - p) ** 2)))


def _servers(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidValueError(f"'servers' must be an int >= 1 (got {describe(value)})")


def _level(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_level(attribute.name, value)


def _feature(history: HistoryColumns, name: str) -> FloatArray:
    np = numpy_module()
    if name not in history.features:
        raise InvalidValueError(
            f"the history has no feature {describe(name)}: compute it with queue_features() "
            f"(features: {describe(sorted(history.features))})"
        )
    result: FloatArray = np.asarray(history.features[name], dtype=np.float64)
    return result


class QueueQuoter:
    """A fitted :class:`QueueLengthPredictor` or :class:`HeadOfLinePredictor`.

    Attributes:
        a: Intercept of the point prediction (µs).
        b: Slope per unit of the predictor's regressor.
        ratio: ``c_q``, the past ``q``-quantile of actual / predicted.

    .. versionadded:: 0.1.0
    """

    def __init__(self, policy: Any, a: float, b: float, ratio: float) -> None:
        self.policy = policy
        self.a = a
        self.b = b
        self.ratio = ratio

    def point_columns(self, requests: HistoryColumns) -> FloatArray:
        """The predicted duration (µs) of each request.

        .. versionadded:: 0.1.0
        """
        result: FloatArray = self.a + self.b * self.policy._regressor(requests)
        return result

    def quote_columns(self, requests: HistoryColumns) -> QuoteColumns:
        """``point x c_q``, stated at ``q``.

        .. versionadded:: 0.1.0
        """
        np = numpy_module()
        window = np.ceil(np.maximum(self.point_columns(requests), 0.0) * self.ratio)
        return QuoteColumns(window.astype(np.int64), np.full(window.shape[0], self.policy.q))


def _fit(policy: Any, past: HistoryColumns) -> QueueQuoter:
    np = numpy_module()
    past = check_history(past)
    done = past.completed_us != OPEN
    if int(done.sum()) < 2:
        raise InsufficientDataError("'past' needs at least 2 completed records")
    x = policy._regressor(past)[done]
    y = (past.completed_us - past.requested_us)[done].astype(np.float64)
    if float(np.ptp(x)) > 0:
        b, a = np.polyfit(x, y, 1)
        b = max(float(b), 0.0)
        a = float(np.mean(y - b * x)) if b == 0.0 else float(a)
    else:
        a, b = float(y.mean()), 0.0
    point = np.maximum(a + b * x, 1.0)
    ratio = float(np.quantile(y / point, policy.q, method="inverted_cdf"))
    return QueueQuoter(policy, a, b, ratio)


@attrs.frozen
class QueueLengthPredictor:
    """The QL predictor: ``a + b max(n + 1 - s, 0)``, ``n`` the open requests ahead.

    Args:
        q: Level of the quotes (``point x`` the past ``q``-quantile of actual/point).
        queue: Name of the feature holding the open requests at request time.
        servers: ``s``, the number of servers.

    .. versionadded:: 0.1.0
    """

    q: float = attrs.field(default=0.9, validator=_level)
    queue: str = "open"
    servers: int = attrs.field(default=1, validator=_servers)

    def _regressor(self, history: HistoryColumns) -> FloatArray:
        np = numpy_module()
        n = _feature(history, self.queue)
        result: FloatArray = np.maximum(n + 1.0 - self.servers, 0.0)
        return result

    def fit_columns(self, past: HistoryColumns) -> QueueQuoter:
        """Fit ``a`` and ``b`` by least squares, and the ratio quantile.

        .. versionadded:: 0.1.0
        """
        return _fit(self, past)


@attrs.frozen
class HeadOfLinePredictor:
    """The HOL predictor: ``a + b w (k + 1) / k``, ``w`` the head of line's wait.

    Args:
        q: Level of the quotes.
        wait: Name of the feature holding the head of line's elapsed wait (seconds).
        queue: Name of the feature holding the open requests at request time.
        servers: ``s``: ``k = n + 1 - s`` requests are waiting.

    .. versionadded:: 0.1.0
    """

    q: float = attrs.field(default=0.9, validator=_level)
    wait: str = "hol_wait"
    queue: str = "open"
    servers: int = attrs.field(default=1, validator=_servers)

    def _regressor(self, history: HistoryColumns) -> FloatArray:
        np = numpy_module()
        k = np.maximum(_feature(history, self.queue) + 1.0 - self.servers, 0.0)
        w = _feature(history, self.wait) * 1e6
        result: FloatArray = np.where(k > 0, w * (k + 1.0) / np.maximum(k, 1.0), 0.0)
        return result

    def fit_columns(self, past: HistoryColumns) -> QueueQuoter:
        """Fit ``a`` and ``b`` by least squares, and the ratio quantile.

        .. versionadded:: 0.1.0
        """
        return _fit(self, past)


__all__ = [
    "HeadOfLinePredictor",
    "QueueLengthPredictor",
    "QueueQuoter",
    "head_of_line_wait",
    "open_promises",
    "queue_features",
    "rase",
]
