"""Segmented capabilities: one capability per segment, with a fallback."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from datetime import timedelta
from types import MappingProxyType
from typing import Any, Literal

import attrs

from promisekit._validation import describe
from promisekit.buffering._capability._empirical import EmpiricalCapability
from promisekit.buffering._capability._protocol import (
    Capability,
    UnknownSegmentError,
)
from promisekit.buffering._common import (
    Clock,
    check_calendar,
    check_count,
    check_segment,
    us_td,
)
from promisekit.buffering._history import _coerce_history
from promisekit.calendar import BusinessCalendar
from promisekit.errors import (
    InsufficientDataError,
    InvalidTypeError,
    InvalidValueError,
)


def _convert_capabilities(value: Any) -> Mapping[Hashable, Capability]:
    if not isinstance(value, Mapping):
        raise InvalidTypeError(
            f"'capabilities' must be a mapping of segment -> Capability "
            f"(got {type(value).__name__} {describe(value)})"
        )
    out: dict[Hashable, Capability] = {}
    for key, capability in value.items():
        check_segment("capabilities key", key)
        if not isinstance(capability, Capability):
            raise InvalidTypeError(
                f"'capabilities[{describe(key)}]' must be a Capability "
                f"(got {type(capability).__name__} {describe(capability)})"
            )
        out[key] = capability
    return MappingProxyType(out)


def _check_fallback(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, (Capability, SegmentedCapability)):
        raise InvalidTypeError(
            f"'fallback' must be a Capability, a SegmentedCapability or None "
            f"(got {type(value).__name__} {describe(value)})"
        )


def _check_key(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not callable(value):
        raise InvalidTypeError(
            f"'key' must be None or a callable segment -> key "
            f"(got {type(value).__name__} {describe(value)})"
        )


@attrs.frozen(slots=True)
class SegmentedCapability:
    """One capability per kind or segment, with an optional fallback.

    Every function taking a capability also accepts a ``SegmentedCapability``
    together with ``segment=``; :meth:`for_segment` does the lookup.

    Fallbacks chain: a ``SegmentedCapability`` fallback is itself looked up with
    the same segment, through its own ``key``, so route → carrier and origin →
    everything is ``SegmentedCapability(by_route, fallback=SegmentedCapability(
    by_carrier_origin, fallback=pooled, key=lambda s: s[:2]))`` for segments
    ``(carrier, origin, destination)``.

    Args:
        capabilities: Mapping of segment key → :class:`Capability`.
        fallback: Used for unknown segments: a :class:`Capability`, another
            ``SegmentedCapability`` (a coarser level), or ``None`` (unknown
            segments then raise :class:`UnknownSegmentError`).
        key: Optional ``segment -> key`` applied before the lookup in
            ``capabilities`` (keyword only); ``None`` looks the segment up as is.

    Raises:
        InvalidTypeError: A value is not a Capability, or a key is not hashable.
        InvalidValueError: The mapping is empty and there is no fallback.

    Example:
        >>> seg = SegmentedCapability({"callback": PointCapability(1200)})
        >>> seg.for_segment("callback")
        PointCapability(duration=datetime.timedelta(seconds=1200))

    .. versionadded:: 0.1.0
    """

    capabilities: Mapping[Hashable, Capability] = attrs.field(
        converter=_convert_capabilities, hash=False
    )
    fallback: Capability | SegmentedCapability | None = attrs.field(
        default=None, validator=_check_fallback
    )
    key: Callable[[Hashable], Hashable] | None = attrs.field(
        default=None, validator=_check_key, kw_only=True
    )

    def __attrs_post_init__(self) -> None:
        if not self.capabilities and self.fallback is None:
            raise InvalidValueError(
                "'capabilities' must not be empty when there is no fallback (got {})"
            )

    @classmethod
    def from_history(
        cls,
        history: Iterable[Any],
        calendar: BusinessCalendar | None = None,
        *,
        label: str = "jobs",
        min_samples: int = 1,
        fallback: Capability | Literal["pooled"] | None = None,
    ) -> SegmentedCapability:
        """One :class:`EmpiricalCapability` per ``record.segment``.

        Args:
            history: Records or tuples (see :class:`HistoryRecord`).
            calendar: Measure durations in its business time.
            label: Label of each empirical capability.
            min_samples: Segments with fewer records are left out (and fall back).
            fallback: A capability, ``"pooled"`` for the empirical capability of
                all records, or ``None``.

        .. versionadded:: 0.1.0
        """
        check_calendar(calendar)
        floor = check_count("min_samples", min_samples)
        records = _coerce_history(history)
        groups: dict[Hashable, list[timedelta]] = {}
        pooled: list[timedelta] = []
        for r in records:
            clock = Clock(calendar, r.requested_at)
            amount = us_td(clock.between_us(r.requested_at, r.completed_at))
            pooled.append(amount)
            if r.segment is not None:
                groups.setdefault(r.segment, []).append(amount)
        if isinstance(fallback, str):
            if fallback != "pooled":
                raise InvalidValueError(
                    f"'fallback' must be a Capability, 'pooled' or None (got {describe(fallback)})"
                )
            if not pooled:
                raise InsufficientDataError("'history' is empty: no pooled fallback can be built")
            resolved: Capability | None = EmpiricalCapability(pooled, label=label)
        else:
            resolved = fallback
        caps = {
            key: EmpiricalCapability(values, label=label)
            for key, values in groups.items()
            if len(values) >= floor
        }
        return cls(caps, resolved)

    @property
    def segments(self) -> tuple[Hashable, ...]:
        """The known segment keys, in insertion order.

        .. versionadded:: 0.1.0
        """
        return tuple(self.capabilities)

    def for_segment(self, segment: Hashable) -> Capability:
        """The capability of ``segment``, else the fallback's (recursively).

        Raises:
            UnknownSegmentError: ``segment`` is unknown at every level and the
                last one has no fallback.

        .. versionadded:: 0.1.0
        """
        lookup = segment if self.key is None else self.key(segment)
        try:
            return self.capabilities[lookup]
        except (KeyError, TypeError):
            fallback = self.fallback
            if isinstance(fallback, SegmentedCapability):
                return fallback.for_segment(segment)
            if fallback is not None:
                return fallback
            raise UnknownSegmentError(segment, self.segments) from None

    def __getitem__(self, segment: Hashable) -> Capability:
        return self.for_segment(segment)


def _resolve_capability(capability: Any, segment: Hashable | None) -> Capability:
    """The capability to use: ``capability`` itself or its segment's."""
    if isinstance(capability, SegmentedCapability):
        if segment is None and None not in capability.capabilities:
            if isinstance(capability.fallback, SegmentedCapability):
                return _resolve_capability(capability.fallback, None)
            if capability.fallback is not None:
                return capability.fallback
            raise InvalidValueError(
                "'segment' must be given with a SegmentedCapability without fallback (got None)"
            )
        return capability.for_segment(segment)
    if not isinstance(capability, Capability):
        raise InvalidTypeError(
            f"'capability' must be a Capability or a SegmentedCapability "
            f"(got {type(capability).__name__} {describe(capability)})"
        )
    if segment is not None:
        raise InvalidValueError(
            f"'segment' must be None unless 'capability' is a SegmentedCapability "
            f"(got {describe(segment)})"
        )
    return capability
