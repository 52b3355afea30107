"""promisekit: customer-commitment modeling.

What was promised (:class:`Promise`), what happened (:class:`Delivery`), how it
turned out (:func:`assess` → :class:`Outcome`), all in exact business time
(:class:`BusinessCalendar`).

Example:
    >>> from datetime import datetime, timedelta
    >>> from zoneinfo import ZoneInfo
    >>> import promisekit as pk
    >>> cal = pk.BusinessCalendar("America/Toronto", hours={"mon-fri": "09:00-17:00"})
    >>> made = datetime(2026, 3, 10, 16, 30, tzinfo=ZoneInfo("America/Toronto"))
    >>> callback = pk.Promise(
    ...     id="T-1", customer_id="C-9", kind="callback",
    ...     made_at=made, due=cal.add(made, timedelta(hours=1)),
    ... )
    >>> callback.due.strftime("%a %H:%M")
    'Wed 09:30'
    >>> outcome = pk.assess(
    ...     callback, [pk.Delivery("T-1", callback.due)], now=callback.due, calendar=cal
    ... )
    >>> outcome.status
    <Status.KEPT: 'kept'>
"""

from __future__ import annotations

import typing as _typing
from importlib import import_module as _import_module

from promisekit.errors import (
    InconsistentRecordError,
    InsufficientDataError,
    InvalidTypeError,
    InvalidValueError,
    MissingDependencyError,
    NaiveDatetimeError,
    NotFittedError,
    NoWorkingTimeError,
    PromiseKitError,
    PromiseKitWarning,
    UnknownTimeZoneError,
)

if _typing.TYPE_CHECKING:
    from promisekit.calendar import BusinessCalendar, holidays_from_package
    from promisekit.delivery import Delivery, Outcome, Shortfall, Status, assess
    from promisekit.promise import Promise, Revision, Terms

# The domain classes load on first use (PEP 562), so ``import promisekit`` costs little
# beyond the errors module; ``promisekit.Promise`` imports ``promisekit.promise`` then.
_LAZY: dict[str, str] = {
    "BusinessCalendar": "promisekit.calendar",
    "holidays_from_package": "promisekit.calendar",
    "Delivery": "promisekit.delivery",
    "Outcome": "promisekit.delivery",
    "Shortfall": "promisekit.delivery",
    "Status": "promisekit.delivery",
    "assess": "promisekit.delivery",
    "Promise": "promisekit.promise",
    "Revision": "promisekit.promise",
    "Terms": "promisekit.promise",
}


def __getattr__(name: str) -> _typing.Any:
    module_name = _LAZY.get(name)
    if module_name is not None:
        value = getattr(_import_module(module_name), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    # ``__version__`` is looked up lazily: importlib.metadata costs more to import
    # than the rest of the package.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("promisekit")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            return "0.0.0+unknown"
    raise AttributeError(f"module 'promisekit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "BusinessCalendar",
    "Delivery",
    "InconsistentRecordError",
    "InsufficientDataError",
    "InvalidTypeError",
    "InvalidValueError",
    "MissingDependencyError",
    "NaiveDatetimeError",
    "NoWorkingTimeError",
    "NotFittedError",
    "Outcome",
    "Promise",
    "PromiseKitError",
    "PromiseKitWarning",
    "Revision",
    "Shortfall",
    "Status",
    "Terms",
    "UnknownTimeZoneError",
    "__version__",
    "assess",
    "holidays_from_package",
]
