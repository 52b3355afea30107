"""The fitted attributes of the built-in models, read from the state a fit records.

A mixin of :class:`._base._ModelBase`: ``params_``, ``cutpoints_``, ``bse_``, ``n_obs_``,
``loglik_``, ``labels_``, ``value_``, the ``summary`` table (pandas when installed), its
printed form and its HTML form for notebooks. Each raises ``NotFittedError`` before a fit.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from promisekit.errors import NotFittedError
from promisekit.satisfaction._common import require
from promisekit.satisfaction._labels import Labels
from promisekit.satisfaction._results import _FitState
from promisekit.satisfaction._value import ValueFunction

__all__: list[str] = []


def _summary_table(state: _FitState) -> Any:
    """The fitted parameters as a pandas DataFrame, or a list of dict rows without pandas."""
    rows = state.rows()
    try:
        pandas = require("pandas", "summary as a DataFrame")
    except ImportError:
        return rows
    return pandas.DataFrame(rows).set_index("parameter")


class _Fitted:
    """Fitted attributes, from ``self._fitted`` (``None`` until a fit)."""

    __slots__ = ()

    _fitted: _FitState | None

    def _state(self, what: str) -> _FitState:
        state = self._fitted
        if state is None:
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet: call fit(...) or "
                f"fit_aggregated(...) before using {what!r}"
            )
        return state

    @property
    def is_fitted(self) -> bool:
        """True once :meth:`fit` or :meth:`fit_aggregated` has run.

        .. versionadded:: 0.1.0
        """
        return self._fitted is not None

    @property
    def params_(self) -> Mapping[str, float]:
        """Fitted value-function parameters, breach penalty and logistic ``scale``.

        .. versionadded:: 0.1.0
        """
        return self._state("params_").params()

    @property
    def cutpoints_(self) -> tuple[float, float, float, float]:
        """Fitted cut points (fixed to ``labels`` after :meth:`fit_aggregated`).

        .. versionadded:: 0.1.0
        """
        return self._state("cutpoints_").labels.cutpoints

    @property
    def bse_(self) -> Mapping[str, float]:
        """Standard errors of every parameter (``nan`` for a parameter held fixed).

        .. versionadded:: 0.1.0
        """
        return self._state("bse_").standard_errors()

    @property
    def n_obs_(self) -> int:
        """Number of observations fitted (rows, or the sum of the bucket counts).

        .. versionadded:: 0.1.0
        """
        return self._state("n_obs_").n_obs

    @property
    def loglik_(self) -> float | None:
        """Log-likelihood at the optimum (``None`` after :meth:`fit_aggregated`).

        .. versionadded:: 0.1.0
        """
        return self._state("loglik_").loglik

    @property
    def labels_(self) -> Labels:
        """The fitted, calibrated labels (cut points and logistic scale).

        .. versionadded:: 0.1.0
        """
        return self._state("labels_").labels

    @property
    def value_(self) -> ValueFunction:
        """The fitted value function.

        .. versionadded:: 0.1.0
        """
        return self._state("value_").value

    @property
    def summary(self) -> Any:
        """The fitted parameters as a table: a pandas DataFrame, or a list of dict rows.

        Columns: ``estimate``, ``std_err``, ``ci_lower``, ``ci_upper`` (95 %: normal, on
        the log scale for positive parameters, or bootstrap percentiles when the fit was
        asked for ``intervals="bootstrap"``), ``fixed``, and ``determined`` (false for a
        parameter held fixed or one the data do not determine: see
        :class:`ConvergenceWarning`).

        .. versionadded:: 0.1.0
        """
        return _summary_table(self._state("summary"))

    def print_summary(self) -> None:
        """Print the fit and its parameter table.

        .. versionadded:: 0.1.0
        """
        print(self._state("print_summary").summary_text(type(self).__name__))

    def _repr_html_(self) -> str:
        """The summary as HTML in a notebook once fitted, else the escaped repr."""
        state = self._fitted
        if state is None:
            return f"<pre>{html.escape(repr(self))}</pre>"
        return state.summary_html(type(self).__name__)
