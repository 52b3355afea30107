"""Columnar analysis of promise histories, with numpy (and pandas for DataFrames).

The integration module of the ``analysis`` extra (``pip install 'promisekit[analysis]'``):
it imports numpy at the top and fails with a :class:`~promisekit.errors.MissingDependencyError`
naming the extra when numpy is missing; pandas is imported only by the functions that
return DataFrames. ``import promisekit`` never imports this module.

* :func:`assess_columns` — :func:`~promisekit.delivery.assess` over whole columns, with
  business lateness from a :class:`~promisekit.calendar.BusinessCalendar` (see also
  :meth:`BusinessCalendar.add_many <promisekit.calendar.BusinessCalendar.add_many>` and
  :meth:`~promisekit.calendar.BusinessCalendar.between_many`).
* :class:`PromiseBook` — a collection of promises and outcomes: ``outcomes()``,
  ``summary()``, a ``fairness()`` audit, ``to_pandas()``, an HTML view in Jupyter.
* :mod:`promisekit.analysis.datasets` — how the columnar sample histories of
  :mod:`promisekit.datasets` are drawn.

``datetime64`` values are always **UTC instants** (numpy has no time zones).

Example:
    >>> from promisekit.analysis import PromiseBook
    >>> from promisekit.datasets import callback_centre_history, montreal_calendar
    >>> rows = callback_centre_history(2_000, seed=3, as_frame=False)
    >>> book = PromiseBook.from_frame(rows, calendar=montreal_calendar())
    >>> len(book)
    2000

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from promisekit.errors import MissingDependencyError as _MissingDependencyError

try:
    import numpy
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise _MissingDependencyError("numpy", "analysis", "promisekit.analysis") from exc

from promisekit.analysis import datasets
from promisekit.analysis._book import PromiseBook
from promisekit.analysis._columns import (
    STATUS_CODES,
    ColumnScorer,
    OutcomeColumns,
    assess_columns,
)
from promisekit.analysis._dask import assess_partitions, outcome_meta
from promisekit.analysis._fairness import FairnessReport
from promisekit.analysis._plots import (
    plot_fairness,
    plot_fever_chart,
    plot_keep_rate_over_time,
    plot_lateness_distribution,
    plot_satisfaction_vs_lateness,
)
from promisekit.analysis._report import html_report
from promisekit.analysis._scoring import SatisfactionScorer

del numpy

__all__ = [
    "STATUS_CODES",
    "ColumnScorer",
    "FairnessReport",
    "OutcomeColumns",
    "PromiseBook",
    "SatisfactionScorer",
    "assess_columns",
    "assess_partitions",
    "datasets",
    "html_report",
    "outcome_meta",
    "plot_fairness",
    "plot_fever_chart",
    "plot_keep_rate_over_time",
    "plot_lateness_distribution",
    "plot_satisfaction_vs_lateness",
]
