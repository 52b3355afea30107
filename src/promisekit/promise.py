"""Promises: what a business committed to a customer, by when, and how it was revised.

A :class:`Promise` sets the customer's expectation. It always has a delay (``due``, an
aware datetime) and may carry non-time :class:`Terms` (a quantity, a minimum quality, a
cost ceiling). Promises are immutable: :meth:`Promise.revise` returns the next revision
of the same promise, with a :class:`Revision` record appended to its history.

Every instant is compared and subtracted as an absolute instant (through UTC), so two
datetimes in different time zones, or on both sides of a daylight-saving change, are
ordered and measured in real elapsed time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import attrs

from promisekit import _validation
from promisekit._validation import describe
from promisekit.errors import InconsistentRecordError, InvalidTypeError, InvalidValueError

__all__ = ["Promise", "Revision", "Terms"]


# --------------------------------------------------------------------------- helpers
# Shared with promisekit.delivery (private to the package).


# Shared validators (kept under these names for modules that import them from here).
_utc = _validation.utc
_fmt = _validation.fmt_instant
_aware = _validation.aware
_optional_aware = _validation.optional_aware
_non_empty_str = _validation.non_empty_str
_optional_str = _validation.optional_str
_to_decimal = _validation.to_decimal


# --------------------------------------------------------------------------- Terms


def _convert_max_cost(value: Decimal | int | float | str | None) -> Decimal | None:
    return None if value is None else _to_decimal("max_cost", value, minimum=Decimal(0))


@attrs.frozen(kw_only=True)
class Terms:
    """The non-time terms of a promise: quantity, minimum quality, cost ceiling.

    Every term is optional; ``None`` means the promise says nothing about it (and it can
    be neither kept nor broken). A promise's delay is not a term: it is
    :attr:`Promise.due`.

    * **Quantity** — how much will be delivered, possibly over several partial
      deliveries. The promise is complete when the delivered quantities add up to it.
      ``unit`` names what is counted and is only allowed with a quantity.
    * **Quality** — the promised *minimum* quality, on a numeric scale the caller chooses
      (a 1–5 rating, a first-visit-fix score…); higher is better. It is met when no
      delivery counted towards completion reports a lower quality.
    * **Cost** — a ceiling on what the customer pays (a quote, "no more than 80 €").
      It is met when the total reported cost of the deliveries counted towards
      completion does not exceed it. ``currency`` (an ISO 4217 code such as ``"EUR"``
      is recommended) is only allowed with a ceiling; delivery costs are taken to be in
      that currency.

    Attributes:
        quantity: Promised quantity, finite and ``>= 0``, or ``None``.
        unit: Unit of ``quantity`` (``"parcels"``, ``"kg"``…), or ``None``.
        quality: Promised minimum quality (finite; higher is better), or ``None``.
        max_cost: Cost ceiling, a finite ``Decimal >= 0``, or ``None``. ``int``, ``str``
            and ``float`` are accepted and converted (a float through its shortest
            ``repr``, so ``19.99`` becomes ``Decimal('19.99')``).
        currency: Currency of ``max_cost``, or ``None``.

    Raises:
        InvalidTypeError: A value has the wrong type.
        InvalidValueError: A number is not finite or is negative, a string is blank, or
            ``unit``/``currency`` is given without ``quantity``/``max_cost``.

    Example:
        .. code-block:: python

            Terms(quantity=3, unit="parcels", max_cost="25.00", currency="EUR")

    .. versionadded:: 0.1.0
    """

    quantity: float | None = attrs.field(default=None, converter=_validation.optional_quantity)
    unit: str | None = attrs.field(default=None, validator=_optional_str)
    quality: float | None = attrs.field(default=None, converter=_validation.optional_quality)
    max_cost: Decimal | None = attrs.field(default=None, converter=_convert_max_cost)
    currency: str | None = attrs.field(default=None, validator=_optional_str)

    @unit.validator
    def _check_unit(self, attribute: attrs.Attribute[str | None], value: str | None) -> None:
        if value is not None and self.quantity is None:
            raise InvalidValueError(
                f"'unit' must be None when 'quantity' is None (got {describe(value)})"
            )

    @currency.validator
    def _check_currency(self, attribute: attrs.Attribute[str | None], value: str | None) -> None:
        if value is not None and self.max_cost is None:
            raise InvalidValueError(
                f"'currency' must be None when 'max_cost' is None (got {describe(value)})"
            )

    @property
    def is_empty(self) -> bool:
        """True when no term is set (the promise is about its delay only).

        .. versionadded:: 0.1.0
        """
        return self.quantity is None and self.quality is None and self.max_cost is None


# --------------------------------------------------------------------------- Revision


def _check_revision_number(
    instance: object, attribute: attrs.Attribute[int], value: object
) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(
            f"'number' must be an int (got {type(value).__name__} {describe(value)})"
        )
    if value < 1:
        raise InvalidValueError(f"'number' must be >= 1 (got {describe(value)})")


@attrs.frozen(kw_only=True)
class Revision:
    """One change of a promise's due date, as announced to the customer.

    Attributes:
        number: 1 for the first revision, 2 for the second…
        at: When the new date was announced (aware).
        previous_due: The due date this revision replaced (aware).
        due: The new due date (aware, not before ``at``, different from
            ``previous_due``).
        reason: Why the date changed (free text), or ``None``.

    Raises:
        InvalidTypeError: A value has the wrong type.
        NaiveDatetimeError: A datetime has no time zone.
        InvalidValueError: ``number < 1``, ``due`` is before ``at`` (a new date in the
            past), ``due`` equals ``previous_due``, or ``reason`` is blank.

    .. versionadded:: 0.1.0
    """

    number: int = attrs.field(validator=_check_revision_number)
    at: datetime = attrs.field(validator=_aware)
    previous_due: datetime = attrs.field(validator=_aware)
    due: datetime = attrs.field(validator=_aware)
    reason: str | None = attrs.field(default=None, validator=_optional_str)

    @due.validator
    def _check_due(self, attribute: attrs.Attribute[datetime], value: datetime) -> None:
        if _utc(value) < _utc(self.at):
            raise InvalidValueError(
                f"'due' must not be before 'at' ({_fmt(self.at)}): a revised date "
                f"cannot be in the past (got {_fmt(value)})"
            )
        if _utc(value) == _utc(self.previous_due):
            raise InvalidValueError(
                f"'due' must differ from 'previous_due' (got {_fmt(value)} for both)"
            )

    @property
    def late(self) -> bool:
        """True when the revision was announced after the old due date had passed.

        The customer was then left waiting past the promised date before being told:
        a broken promise, not just a rescheduled one.

        .. versionadded:: 0.1.0
        """
        return _utc(self.at) > _utc(self.previous_due)

    @property
    def shift(self) -> timedelta:
        """How far the due date moved, in real time (positive when postponed).

        .. versionadded:: 0.1.0
        """
        return _utc(self.due) - _utc(self.previous_due)


# --------------------------------------------------------------------------- Promise


def _convert_metadata(value: Mapping[str, str] | None) -> Mapping[str, str]:
    if value is None:
        return MappingProxyType({})
    if not isinstance(value, Mapping):
        raise InvalidTypeError(
            f"'metadata' must be a mapping of str to str (got {type(value).__name__} "
            f"{describe(value)})"
        )
    copy = dict(value)
    for key, item in copy.items():
        if not isinstance(key, str):
            raise InvalidTypeError(
                f"'metadata' keys must be strings (got {type(key).__name__} {describe(key)})"
            )
        if not isinstance(item, str):
            raise InvalidTypeError(
                f"'metadata' values must be strings "
                f"(got {type(item).__name__} {describe(item)} for key {describe(key)})"
            )
    return MappingProxyType(copy)


def _convert_revisions(value: Iterable[Revision]) -> tuple[Revision, ...]:
    return _validation.tuple_of(Revision, "revisions", value)


def _optional_terms(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, Terms):
        raise InvalidTypeError(
            f"'terms' must be a Terms instance or None (got {type(value).__name__} "
            f"{describe(value)})"
        )


@attrs.frozen(kw_only=True)
class Promise:
    """A commitment made to a customer: something of some ``kind``, by ``due``.

    A promise is immutable. :meth:`revise` returns the next revision of the same promise
    (same ``id``) with a new due date and the change recorded in :attr:`revisions`.

    Attributes:
        id: Identifier of the promise (non-empty).
        customer_id: Identifier of the customer it was made to (non-empty).
        kind: What was promised, e.g. ``"callback"``, ``"repair"``, ``"parcel"``.
        made_at: When the promise was made (aware).
        due: When it is due — the date the customer was given, as last revised (aware,
            not before ``made_at``).
        target: Internal target date, or ``None``. The gap between it and ``due`` is
            the buffer that lets the business under-promise and over-deliver
            (``made_at <= target <= due``).
        terms: Non-time terms (quantity, quality, cost), or ``None``.
        segment: Customer segment, or ``None`` — recorded so that unequal treatment
            across segments can be detected, never to prioritise.
        owner: Who is responsible for keeping the promise (agent, team), or ``None``.
        commitment: Reference of the published commitment this promise applies
            (e.g. ``"callback-60min"``), or ``None``.
        metadata: Free-form CRM fields (``str`` to ``str``), stored as a read-only copy.
            Compared by ``==`` but not part of the hash.
        revisions: The history of due-date changes, oldest first (numbers ``1..n``,
            each starting from the previous due; the last one ends at ``due``).
        supersedes: Id of another promise this one replaces (a re-opened ticket), or
            ``None``.

    Raises:
        InvalidTypeError: A value has the wrong type.
        NaiveDatetimeError: A datetime has no time zone.
        InvalidValueError: A string is blank, ``due`` is before ``made_at``, ``target``
            is outside ``[made_at, due]``, or the promise supersedes itself.
        InconsistentRecordError: ``revisions`` do not form a chain ending at ``due``.

    Example:
        .. code-block:: python

            from datetime import datetime
            from zoneinfo import ZoneInfo

            paris = ZoneInfo("Europe/Paris")
            promise = Promise(
                id="P-1",
                customer_id="C-42",
                kind="callback",
                made_at=datetime(2026, 3, 10, 9, 0, tzinfo=paris),
                due=datetime(2026, 3, 10, 10, 0, tzinfo=paris),
            )

    .. versionadded:: 0.1.0
    """

    id: str = attrs.field(validator=_non_empty_str)
    customer_id: str = attrs.field(validator=_non_empty_str)
    kind: str = attrs.field(validator=_non_empty_str)
    made_at: datetime = attrs.field(validator=_aware)
    due: datetime = attrs.field(validator=_aware)
    target: datetime | None = attrs.field(default=None, validator=_optional_aware)
    terms: Terms | None = attrs.field(default=None, validator=_optional_terms)
    segment: str | None = attrs.field(default=None, validator=_optional_str)
    owner: str | None = attrs.field(default=None, validator=_optional_str)
    commitment: str | None = attrs.field(default=None, validator=_optional_str)
    metadata: Mapping[str, str] = attrs.field(
        default=None, converter=_convert_metadata, eq=True, hash=False
    )
    revisions: tuple[Revision, ...] = attrs.field(default=(), converter=_convert_revisions)
    supersedes: str | None = attrs.field(default=None, validator=_optional_str)

    @due.validator
    def _check_due(self, attribute: attrs.Attribute[datetime], value: datetime) -> None:
        if _utc(value) < _utc(self.made_at):
            raise InvalidValueError(
                f"'due' must not be before 'made_at' ({_fmt(self.made_at)}) (got {_fmt(value)})"
            )

    @target.validator
    def _check_target(
        self, attribute: attrs.Attribute[datetime | None], value: datetime | None
    ) -> None:
        if value is None:
            return
        if not _utc(self.made_at) <= _utc(value) <= _utc(self.due):
            raise InvalidValueError(
                f"'target' must be between 'made_at' ({_fmt(self.made_at)}) and "
                f"'due' ({_fmt(self.due)}) (got {_fmt(value)})"
            )

    @revisions.validator
    def _check_revisions(
        self, attribute: attrs.Attribute[tuple[Revision, ...]], value: tuple[Revision, ...]
    ) -> None:
        made_at = _utc(self.made_at)
        previous: Revision | None = None
        for index, revision in enumerate(value):
            if revision.number != index + 1:
                raise InconsistentRecordError(
                    f"'revisions' must be numbered 1, 2, 3… oldest first "
                    f"(got number {revision.number} at index {index})"
                )
            if _utc(revision.at) < made_at:
                raise InconsistentRecordError(
                    f"'revisions' must not be announced before 'made_at' ({_fmt(self.made_at)}) "
                    f"(got revision {revision.number} at {_fmt(revision.at)})"
                )
            if previous is None:
                if _utc(revision.previous_due) < made_at:
                    raise InconsistentRecordError(
                        f"'revisions' must start from an original due not before 'made_at' "
                        f"({_fmt(self.made_at)}) (got previous_due "
                        f"{_fmt(revision.previous_due)} in revision 1)"
                    )
            else:
                if _utc(revision.at) < _utc(previous.at):
                    raise InconsistentRecordError(
                        f"'revisions' must be in the order they were announced (got revision "
                        f"{revision.number} at {_fmt(revision.at)}, before revision "
                        f"{previous.number} at {_fmt(previous.at)})"
                    )
                if _utc(revision.previous_due) != _utc(previous.due):
                    raise InconsistentRecordError(
                        f"'revisions' must form a chain: revision {revision.number} must start "
                        f"from the due of revision {previous.number} ({_fmt(previous.due)}) "
                        f"(got previous_due {_fmt(revision.previous_due)})"
                    )
            previous = revision
        if previous is not None and _utc(previous.due) != _utc(self.due):
            raise InconsistentRecordError(
                f"'revisions' must end at 'due' ({_fmt(self.due)}) "
                f"(got revision {previous.number} with due {_fmt(previous.due)})"
            )

    @supersedes.validator
    def _check_supersedes(self, attribute: attrs.Attribute[str | None], value: str | None) -> None:
        if value is not None and value == self.id:
            raise InvalidValueError(
                f"'supersedes' must be the id of another promise (got {describe(value)}, "
                f"the promise's own id)"
            )

    # Pickle / copy support: a mappingproxy cannot be pickled, so store a plain dict.
    def __getstate__(self) -> dict[str, Any]:
        state = {field.name: getattr(self, field.name) for field in attrs.fields(Promise)}
        state["metadata"] = dict(self.metadata)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            stored = MappingProxyType(dict(value)) if name == "metadata" else value
            object.__setattr__(self, name, stored)

    @property
    def revision(self) -> int:
        """The revision number: 0 for the original promise, then 1, 2…

        .. versionadded:: 0.1.0
        """
        return len(self.revisions)

    @property
    def is_revised(self) -> bool:
        """True when the due date has been changed at least once.

        .. versionadded:: 0.1.0
        """
        return bool(self.revisions)

    @property
    def original_due(self) -> datetime:
        """The due date first given to the customer, before any revision.

        .. versionadded:: 0.1.0
        """
        return self.revisions[0].previous_due if self.revisions else self.due

    @property
    def window(self) -> timedelta:
        """Real time from ``made_at`` to the current ``due``.

        .. versionadded:: 0.1.0
        """
        return _utc(self.due) - _utc(self.made_at)

    @property
    def buffer(self) -> timedelta | None:
        """Real time between the internal ``target`` and ``due``, or ``None`` without target.

        .. versionadded:: 0.1.0
        """
        return None if self.target is None else _utc(self.due) - _utc(self.target)

    def revise(
        self,
        *,
        due: datetime,
        at: datetime,
        reason: str | None = None,
        target: datetime | None = None,
    ) -> Promise:
        """Return the next revision of this promise, with a new due date.

        The returned promise has the same ``id`` and every other field unchanged, except
        ``due``, ``target`` (reset to ``None`` unless given) and ``revisions`` (one
        :class:`Revision` appended). A revision announced after the current due date is
        allowed — it is recorded with :attr:`Revision.late` set, since the customer was
        left waiting before being told.

        Args:
            due: The new due date (aware, not before ``at``, different from the current
                ``due``). Give a realistic date: a second miss hurts more than the first.
            at: When the new date was announced (aware, not before ``made_at`` nor before
                the previous revision).
            reason: Why the date changed, or ``None``.
            target: New internal target (``made_at <= target <= due``), or ``None``.

        Returns:
            The revised promise.

        Raises:
            NaiveDatetimeError: ``due``, ``at`` or ``target`` has no time zone.
            InvalidValueError: ``due`` is before ``at`` (a date in the past) or equals
                the current due, ``at`` is before ``made_at`` or before the previous
                revision, or ``target`` is out of range.

        Example:
            .. code-block:: python

                later = promise.revise(
                    due=promise.due + timedelta(hours=2),
                    at=promise.due - timedelta(minutes=30),
                    reason="technician delayed",
                )

        .. versionadded:: 0.1.0
        """
        revision = Revision(
            number=self.revision + 1, at=at, previous_due=self.due, due=due, reason=reason
        )
        if _utc(at) < _utc(self.made_at):
            raise InvalidValueError(
                f"'at' must not be before the promise's 'made_at' ({_fmt(self.made_at)}) "
                f"(got {_fmt(at)})"
            )
        if self.revisions and _utc(at) < _utc(self.revisions[-1].at):
            raise InvalidValueError(
                f"'at' must not be before the previous revision's 'at' "
                f"({_fmt(self.revisions[-1].at)}) (got {_fmt(at)})"
            )
        return attrs.evolve(self, due=due, target=target, revisions=(*self.revisions, revision))


def _in_force(promise: Promise, when: datetime) -> tuple[int, datetime]:
    """Return the revision number and due date in force at the aware instant ``when``.

    Revisions announced after ``when`` had not happened yet and are ignored.
    """
    when_utc = _utc(when)
    number, due = 0, promise.original_due
    for revision in promise.revisions:
        if _utc(revision.at) > when_utc:
            break
        number, due = revision.number, revision.due
    return number, due
