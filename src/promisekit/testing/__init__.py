"""Test helpers for promisekit and for plugin authors.

Hypothesis strategies generating valid promisekit objects, and contract suites
(``check_satisfaction_model``, ``check_buffer_policy``, ``check_trigger``,
``check_action``) that plugin authors call from their own tests, and
``check_ledger_store``, the conformance suite of ledger stores (see
:mod:`promisekit.testing.stores`) (needs the ``testing`` extra:
``pip install 'promisekit[testing]'``).

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from promisekit.testing.contracts import (
    check_action,
    check_buffer_policy,
    check_satisfaction_model,
    check_trigger,
)
from promisekit.testing.events import EVENT_KINDS, event_histories, events
from promisekit.testing.stores import (
    MemoryStores,
    PostgresStores,
    SQLiteStores,
    StoreReport,
    check_ledger_store,
)
from promisekit.testing.strategies import (
    DEFAULT_TIMEZONES,
    aware_datetimes,
    calendars,
    deliveries_for,
    promises,
    terms,
)

__all__ = [
    "DEFAULT_TIMEZONES",
    "EVENT_KINDS",
    "MemoryStores",
    "PostgresStores",
    "SQLiteStores",
    "StoreReport",
    "aware_datetimes",
    "calendars",
    "check_action",
    "check_buffer_policy",
    "check_ledger_store",
    "check_satisfaction_model",
    "check_trigger",
    "deliveries_for",
    "event_histories",
    "events",
    "promises",
    "terms",
]
