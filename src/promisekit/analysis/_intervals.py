"""Keep-rate intervals for plots: 95 % Wilson intervals that always contain the rate.

The textbook Wilson bounds, computed in floating point, can land a rounding error on
the wrong side of the observed rate (a lower bound just above 0 % for 0 kept, an upper
bound just below 100 % for all kept), which matplotlib refuses as a negative error bar.
Here the bounds are clamped so that ``lower <= k / n <= upper`` holds exactly, with
``lower == 0`` when nothing was kept and ``upper == 1`` when everything was.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

_Z95 = 1.959963984540054


def keep_intervals(
    kept: Any, decided: Any, z: float = _Z95
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """``(rate, lower, upper)`` of each ``kept / decided`` (``decided >= 1``), as fractions.

    ``lower <= rate <= upper`` always; ``lower == 0`` exactly when ``kept == 0`` and
    ``upper == 1`` exactly when ``kept == decided``.
    """
    k = np.asarray(kept, dtype=np.float64)
    n = np.asarray(decided, dtype=np.float64)
    rate = k / n
    z2 = z * z
    denominator = 1.0 + z2 / n
    centre = (rate + z2 / (2.0 * n)) / denominator
    half = z / denominator * np.sqrt(np.maximum(rate * (1.0 - rate) / n + z2 / (4.0 * n * n), 0))
    lower = np.clip(np.minimum(centre - half, rate), 0.0, 1.0)
    upper = np.clip(np.maximum(centre + half, rate), 0.0, 1.0)
    lower = np.where(k == 0, 0.0, lower)
    upper = np.where(k == n, 1.0, upper)
    return rate, lower, upper


def error_bars(
    rate: NDArray[np.float64], lower: NDArray[np.float64], upper: NDArray[np.float64]
) -> NDArray[np.float64]:
    """The ``yerr`` of matplotlib (2 × n, never negative) for rates and their bounds."""
    return np.vstack([np.maximum(0.0, rate - lower), np.maximum(0.0, upper - rate)])
