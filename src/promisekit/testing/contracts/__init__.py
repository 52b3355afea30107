"""Contract suites for plugin authors: call one from a pytest test, and it checks the rules.

Each suite drives a plugin object with Hypothesis-generated promises, outcomes, calendars,
capabilities and tracked promises, and checks the properties every promisekit extension
keeps (see :mod:`promisekit.typing` for the contracts in words):

* :func:`check_satisfaction_model` — finite, well-formed scores; deterministic and pure;
  ``score_many`` equal to scoring one by one; finishing earlier never scores lower; loss
  aversion where the model claims it; parameters that rebuild an equal model;
* :func:`check_buffer_policy` — a due never before the internal target, aware and in the
  context's zone; deterministic; a slower capability never gives an earlier due;
  immutable value;
* :func:`check_trigger` — deterministic and pure; ``becomes_true`` consistent with
  ``is_true`` and with the engine; frozen, hashable data equal by value;
* :func:`check_action` — frozen, hashable data equal by value; carried unchanged and
  deterministically through the escalation engine.

A broken property raises an :class:`AssertionError` whose message names the suite, the
object, the property and the counterexample (shrunk by Hypothesis), e.g.::

    check_satisfaction_model: Curve() breaks property 'monotone in earliness':
    finishing earlier must never score lower
      expectation: Expectation(kind='callback', ...)
      completed at 2025-01-01 00:00:00+00:00 -> value -1.0 (DISSATISFIED)
      completed later, at 2025-01-01 00:00:01+00:00 -> value 0.5 (VERY_SATISFIED)

Call a suite from a plain test function, not from inside a ``@given`` test (Hypothesis
does not nest). ``max_examples`` sets the number of generated examples per property.
``settings`` (a :class:`hypothesis.settings`) is the base for the rest — e.g.
``settings(derandomize=True)`` for reproducible CI runs, or
``settings(phases=[Phase.generate])`` to report the first failure found without shrinking
it; whatever it says, the suites use no deadline and report one failure. Without it, they
keep no example database.
Needs the ``testing`` extra: ``pip install 'promisekit[testing]'``.

Example:
    .. code-block:: python

        from promisekit.testing.contracts import check_satisfaction_model

        def test_my_model_keeps_the_contract():
            check_satisfaction_model(MyModel(), max_examples=200)

.. versionadded:: 0.1.0

Behind this facade, one module per suite (:mod:`._satisfaction`, :mod:`._buffering`,
:mod:`._escalation`), sharing the failure reports (:mod:`._suite`) and the data checks
(:mod:`._data`).
"""

from __future__ import annotations

try:
    import hypothesis
except ImportError as exc:  # pragma: no cover - depends on the environment
    from promisekit.errors import MissingDependencyError

    raise MissingDependencyError("hypothesis", "testing", "promisekit.testing") from exc

from promisekit.testing.contracts._buffering import check_buffer_policy
from promisekit.testing.contracts._escalation import check_action, check_trigger
from promisekit.testing.contracts._satisfaction import check_satisfaction_model
from promisekit.testing.contracts._suite import _settings as _settings  # re-exported

del hypothesis

__all__ = [
    "check_action",
    "check_buffer_policy",
    "check_satisfaction_model",
    "check_trigger",
]
