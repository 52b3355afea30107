"""An example promisekit plugin, to copy from.

* :mod:`promisekit_plugin_example.parcel` — :class:`ParcelDeliveryCurve`, a satisfaction
  model (entry point ``parcel_delivery`` in ``promisekit.satisfaction_models``);
* :mod:`promisekit_plugin_example.margin` — :class:`SafetyMargin`, a buffer policy
  (``safety_margin`` in ``promisekit.buffer_policies``);
* :mod:`promisekit_plugin_example.chat` — :class:`PostToChat`, an escalation action, and
  its factory :func:`post_to_chat` (``post_to_chat`` in ``promisekit.actions``).

This package imports none of them: promisekit's loader imports only the module an entry
point names, so loading the model never imports the escalation engine.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

__all__: list[str] = []
