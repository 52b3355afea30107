"""Promises relative to a reference due: "the schedule + the q-quantile of the deviation"."""

from __future__ import annotations

from collections.abc import Hashable
from datetime import datetime, timezone
from typing import Any

import attrs

from promisekit._validation import check_aware, describe
from promisekit.buffering._capability._protocol import Capability, _rank
from promisekit.buffering._columns import HistoryColumns, QuoteColumns
from promisekit.buffering._common import check_count, check_probability
from promisekit.errors import InsufficientDataError, InvalidTypeError, MissingDependencyError

__all__ = ["ReferenceQuantile"]

_OPEN = 2**63 - 1
_NO_REFERENCE = -(2**63)


def _convert_q(value: Any) -> float:
    return check_probability("q", value)


def _convert_min_samples(value: Any) -> int:
    return check_count("min_samples", value)


def _check_bool(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, bool):
        raise InvalidTypeError(
            f"{attribute.name!r} must be a bool (got {type(value).__name__} {describe(value)})"
        )


@attrs.frozen(slots=True)
class ReferenceQuantile:
    """Promise ``reference + q-quantile of the deviation from the reference``.

    The deviation of a past request is ``completed - reference due`` (negative
    when early). With a published schedule as reference, ``ReferenceQuantile(0.9)``
    promises "the schedule plus whatever lateness was exceeded only 10 % of the
    time" — or *earlier* than the schedule when the work is usually early.

    It is a :class:`ColumnarPolicy` (for :func:`backtest_columns`: each block's
    quotes are relative to the requests' reference dues) and quotes one request
    with :meth:`due`.

    Args:
        q: Confidence level in ``(0, 1]``.
        min_samples: Fewest past deviations to quote from (``>= 1``).
        by_segment: Learn one distribution per segment; segments with fewer than
            ``min_samples`` deviations use all of them.

    .. versionadded:: 0.1.0
    """

    q: float = attrs.field(converter=_convert_q)
    min_samples: int = attrs.field(default=30, converter=_convert_min_samples)
    by_segment: bool = attrs.field(default=False, validator=_check_bool, kw_only=True)

    def due(self, reference: datetime, capability: Capability) -> datetime:
        """``reference + capability.quantile(q)`` for a capability of deviations.

        ``capability`` is typically :meth:`EmpiricalCapability.from_deviations`;
        the result is in ``reference``'s zone.

        Raises:
            InsufficientDataError: Fewer than ``min_samples`` deviations.

        .. versionadded:: 0.1.0
        """
        check_aware("reference", reference)
        if not isinstance(capability, Capability):
            raise InvalidTypeError(
                f"'capability' must be a Capability (got {type(capability).__name__})"
            )
        n = capability.n_samples
        if n is not None and n < self.min_samples:
            raise InsufficientDataError(
                f"{self!s} refuses to quote from {n} past deviations; it needs at least "
                f"min_samples={self.min_samples}"
            )
        moment = reference.astimezone(timezone.utc) + capability.quantile(self.q)
        return moment.astimezone(reference.tzinfo)

    def fit_columns(self, past: HistoryColumns) -> _ReferenceQuoter:
        """Learn the deviations of ``past`` (records with a reference and a completion).

        Raises:
            InsufficientDataError: Fewer than ``min_samples`` usable records.

        .. versionadded:: 0.1.0
        """
        try:
            import numpy as np
        except ImportError:
            raise MissingDependencyError("numpy", "analysis", "ReferenceQuantile") from None
        if past.reference_us is None:
            raise InsufficientDataError(f"{self!s} needs a history with reference dues")
        usable = (past.reference_us != _NO_REFERENCE) & (past.completed_us != _OPEN)
        deviations = (past.completed_us - past.reference_us)[usable]
        if deviations.shape[0] < self.min_samples:
            raise InsufficientDataError(
                f"{self!s} refuses to fit on {deviations.shape[0]} past deviations; it needs "
                f"at least min_samples={self.min_samples}"
            )
        pooled = np.sort(deviations)
        by_key: dict[Hashable, Any] = {}
        if self.by_segment and past.segment is not None:
            segments = past.segment[usable]
            for key in set(segments.tolist()):
                values = np.sort(deviations[segments == key])
                if values.shape[0] >= self.min_samples:
                    by_key[key] = values
        return _ReferenceQuoter(self.q, pooled, by_key)

    def __str__(self) -> str:
        extra = "" if self.min_samples == 30 else f", min_samples={self.min_samples}"
        return f"ReferenceQuantile({self.q:g}{extra})"


class _ReferenceQuoter:
    """Fitted :class:`ReferenceQuantile`: one quantile per segment, else pooled."""

    __slots__ = ("_by_key", "_pooled", "_q")

    def __init__(self, q: float, pooled: Any, by_key: dict[Hashable, Any]) -> None:
        self._q = q
        self._pooled = pooled
        self._by_key = by_key

    def _answer(self, values: Any) -> tuple[int, float]:
        n = int(values.shape[0])
        window = int(values[_rank(self._q, n)])
        below = int((values <= window).sum())
        return window, below / n

    def quote_columns(self, requests: HistoryColumns) -> QuoteColumns:
        """Windows relative to each request's reference due (``relative_to_reference``)."""
        import numpy as np

        n = len(requests)
        window = np.empty(n, dtype=np.int64)
        confidence = np.empty(n, dtype=np.float64)
        pooled = self._answer(self._pooled)
        if self._by_key and requests.segment is not None:
            answers = {key: self._answer(values) for key, values in self._by_key.items()}
            for i, key in enumerate(requests.segment.tolist()):
                window[i], confidence[i] = answers.get(key, pooled)
        else:
            window[:], confidence[:] = pooled
        return QuoteColumns(window, confidence, relative_to_reference=True)
