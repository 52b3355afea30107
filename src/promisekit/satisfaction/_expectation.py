"""What a customer expects: from a promise, or — when none was made — from a norm.

An :class:`Expectation` is the reference point a satisfaction model measures an outcome
against: a start (``made_at``), an expected completion (``due``), the non-time terms
(quantity, minimum quality, cost ceiling), and where it came from (``source``):

* ``"promise"`` — the business said when (:meth:`Expectation.from_promise`). Revisions of
  the promise are kept: a model moves the reference point to the date in force and
  charges for the revisions.
* ``"self"`` — nobody promised anything; the customer formed their own estimate from a
  norm ("a callback comes within 4 business hours": :meth:`Expectation.from_norm`,
  :class:`Norms`). Lateness against one's own estimate is felt, but no promise was broken.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any, Literal, get_args

import attrs

from promisekit._validation import check_aware, check_finite, check_non_empty_str
from promisekit._validation import to_decimal as _to_decimal
from promisekit.calendar import BusinessCalendar
from promisekit.delivery import Outcome, Shortfall, Status
from promisekit.errors import InconsistentRecordError, InvalidTypeError, InvalidValueError
from promisekit.promise import Promise, Revision, Terms
from promisekit.satisfaction._common import (
    check_calendar,
    check_positive_duration,
    elapsed,
    utc,
)
from promisekit.satisfaction._dates import end_of_day

__all__ = ["Expectation", "Norms", "Source"]

#: Where an expectation comes from: a promise the business made, or the customer's own
#: estimate.
Source = Literal["promise", "self"]
_SOURCES: tuple[str, ...] = get_args(Source)


def _fmt(value: datetime) -> str:
    return value.isoformat(" ")


def _aware(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    check_aware(attribute.name, value)


def _optional_aware(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        check_aware(attribute.name, value)


def _kind(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    check_non_empty_str(attribute.name, value)


def _optional_str(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        check_non_empty_str(attribute.name, value)


def _check_source(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value not in _SOURCES:
        raise InvalidValueError(f"'source' must be 'promise' or 'self' (got {value!r})")


def _convert_revisions(value: Any) -> tuple[Revision, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise InvalidTypeError(
            f"'revisions' must be an iterable of Revision (got {type(value).__name__} {value!r})"
        )
    revisions = tuple(value)
    for index, item in enumerate(revisions):
        if not isinstance(item, Revision):
            raise InvalidTypeError(
                f"'revisions' must contain only Revision instances "
                f"(got {type(item).__name__} {item!r} at index {index})"
            )
    return revisions


def _convert_quantity(value: Any) -> float | None:
    return None if value is None else check_finite("quantity", value, minimum=0)


def _convert_quality(value: Any) -> float | None:
    return None if value is None else check_finite("quality", value)


def _convert_max_cost(value: Any) -> Decimal | None:
    return None if value is None else _to_decimal("max_cost", value, minimum=Decimal(0))


def _convert_calendar(value: Any) -> BusinessCalendar | None:
    return check_calendar(value)


@attrs.frozen(slots=True, kw_only=True)
class Expectation:
    """The reference point of a satisfaction model: what the customer expects, and from whom.

    Build one with :meth:`from_promise` or :meth:`from_norm` (or :meth:`Norms.expect`);
    the constructor is for records loaded from elsewhere.

    Attributes:
        kind: What is expected (``"callback"``, ``"repair"``…), non-empty.
        made_at: When the clock started: the promise was made, or the request placed
            (aware).
        due: When completion is expected — for a promise, its due date as last revised
            (aware, not before ``made_at``).
        source: ``"promise"`` or ``"self"`` (the customer's own estimate).
        revisions: The promise's due-date revisions, oldest first (``source="promise"``
            only); they form a chain from the original due date to ``due``.
        quantity: Expected quantity (``>= 0``), or ``None``.
        quality: Expected minimum quality, or ``None``.
        max_cost: Expected cost ceiling (``Decimal >= 0``), or ``None``.
        calendar: A :class:`~promisekit.calendar.BusinessCalendar`: windows and
            durations are then measured in working time; ``None`` for real time.
        request_id: The promise id (set by :meth:`from_promise`, and checked against the
            outcome's ``promise_id``), or a request reference, or ``None``.
        stated_due: The due as stated when it is a calendar date (a midnight) that
            :meth:`end_of_day` read as the end of that day (then in ``due``); outcomes
            measured against either match. ``None`` otherwise.

    Raises:
        InvalidTypeError: A value has the wrong type.
        NaiveDatetimeError: A datetime has no time zone.
        InvalidValueError: A string is blank, a number is out of range, ``due`` is
            before ``made_at``, ``source`` is unknown, or revisions are given for a
            self-formed expectation.
        InconsistentRecordError: ``revisions`` do not form a chain ending at ``due``.

    .. versionadded:: 0.1.0
    """

    kind: str = attrs.field(validator=_kind)
    made_at: datetime = attrs.field(validator=_aware)
    due: datetime = attrs.field(validator=_aware)
    source: Source = attrs.field(default="promise", validator=_check_source)
    revisions: tuple[Revision, ...] = attrs.field(default=(), converter=_convert_revisions)
    quantity: float | None = attrs.field(default=None, converter=_convert_quantity)
    quality: float | None = attrs.field(default=None, converter=_convert_quality)
    max_cost: Decimal | None = attrs.field(default=None, converter=_convert_max_cost)
    calendar: BusinessCalendar | None = attrs.field(default=None, converter=_convert_calendar)
    request_id: str | None = attrs.field(default=None, validator=_optional_str)
    stated_due: datetime | None = attrs.field(default=None, validator=_optional_aware, kw_only=True)

    @due.validator
    def _check_due(self, attribute: attrs.Attribute[datetime], value: datetime) -> None:
        if utc(value) < utc(self.made_at):
            raise InvalidValueError(
                f"'due' must not be before 'made_at' ({_fmt(self.made_at)}) (got {_fmt(value)})"
            )

    @revisions.validator
    def _check_revisions(
        self, attribute: attrs.Attribute[tuple[Revision, ...]], value: tuple[Revision, ...]
    ) -> None:
        if value and self.source != "promise":
            raise InvalidValueError(
                f"'revisions' must be empty when 'source' is 'self' (no promise was made) "
                f"(got {len(value)} revisions)"
            )
        previous_due = None
        previous_at = utc(self.made_at)
        for index, revision in enumerate(value):
            if revision.number != index + 1:
                raise InconsistentRecordError(
                    f"'revisions' must be numbered 1, 2, 3… oldest first "
                    f"(got number {revision.number} at index {index})"
                )
            if utc(revision.at) < previous_at:
                raise InconsistentRecordError(
                    f"'revisions' must be announced in order, not before 'made_at' "
                    f"(got revision {revision.number} at {_fmt(revision.at)})"
                )
            start = utc(self.made_at) if previous_due is None else previous_due
            if (previous_due is None and utc(revision.previous_due) < start) or (
                previous_due is not None and utc(revision.previous_due) != previous_due
            ):
                raise InconsistentRecordError(
                    f"'revisions' must form a chain from the original due date "
                    f"(got previous_due {_fmt(revision.previous_due)} in revision "
                    f"{revision.number})"
                )
            previous_due = utc(revision.due)
            previous_at = utc(revision.at)
        if previous_due is not None and previous_due != utc(self.due):
            raise InconsistentRecordError(
                f"'revisions' must end at 'due' ({_fmt(self.due)}) "
                f"(got a last revision with due {_fmt(value[-1].due)})"
            )

    # ----------------------------------------------------------------- construction

    @classmethod
    def from_promise(
        cls,
        promise: Promise,
        calendar: BusinessCalendar | None = None,
        *,
        due_is_date: bool = False,
    ) -> Expectation:
        """The expectation a promise sets: its window, revisions and terms.

        Args:
            promise: The promise.
            calendar: Measure windows in this calendar's working time, or ``None`` for
                real time.
            due_is_date: ``True`` when the promise's due is a calendar date stored at
                midnight (an "estimated delivery date"): it is then read as the end of
                that day in its own zone (see :meth:`end_of_day`).

        Returns:
            An expectation with ``source="promise"`` and ``request_id=promise.id``.

        Raises:
            InvalidTypeError: ``promise`` is not a Promise, or ``calendar`` not a
                BusinessCalendar.

        Example:
            .. code-block:: python

                expectation = Expectation.from_promise(promise, calendar=office_hours)

        .. versionadded:: 0.1.0
        """
        if not isinstance(promise, Promise):
            raise InvalidTypeError(
                f"'promise' must be a Promise (got {type(promise).__name__} {promise!r})"
            )
        if not isinstance(due_is_date, bool):
            raise InvalidTypeError(
                f"'due_is_date' must be a bool (got {type(due_is_date).__name__})"
            )
        terms = promise.terms or Terms()
        made = cls(
            kind=promise.kind,
            made_at=promise.made_at,
            due=promise.due,
            source="promise",
            revisions=promise.revisions,
            quantity=terms.quantity,
            quality=terms.quality,
            max_cost=terms.max_cost,
            calendar=calendar,
            request_id=promise.id,
        )
        return made.end_of_day() if due_is_date else made

    def end_of_day(self, zone: str | tzinfo | None = None) -> Expectation:
        """This expectation with its due, a calendar date at midnight, read as that whole day.

        An "estimated delivery date" stored at midnight means "by the end of that day":
        the returned expectation is due at ``23:59:59.999999`` of that day (in ``zone``,
        by default the due's own zone), so a same-day delivery is on time. The stated
        midnight is kept in ``stated_due``: outcomes assessed against it (by
        :func:`~promisekit.delivery.assess`) still match the expectation. The same as
        ``Expectation.from_promise(promise, due_is_date=True)``.

        Args:
            zone: The zone whose calendar day the date means (a name or a tzinfo), or
                ``None`` for the due's own zone.

        Returns:
            The expectation due at the end of that day.

        Raises:
            InvalidValueError: The due is not at midnight in the zone, the expectation
                has revisions (not supported), or the zone is unknown.

        Example:
            >>> from datetime import datetime, timezone
            >>> e = Expectation(kind="parcel",
            ...                 made_at=datetime(2026, 3, 2, 15, tzinfo=timezone.utc),
            ...                 due=datetime(2026, 3, 5, tzinfo=timezone.utc)).end_of_day()
            >>> e.due.isoformat(), e.stated_due.isoformat()
            ('2026-03-05T23:59:59.999999+00:00', '2026-03-05T00:00:00+00:00')

        .. versionadded:: 0.1.0
        """
        if self.revisions:
            raise InvalidValueError(
                f"'revisions' must be empty to read the due as a calendar date "
                f"(got {len(self.revisions)} revisions)"
            )
        if self.stated_due is not None:
            return self
        return attrs.evolve(self, due=end_of_day(self.due, zone), stated_due=self.due)

    @classmethod
    def from_norm(
        cls,
        kind: str,
        made_at: datetime,
        norm: timedelta | Norms,
        *,
        calendar: BusinessCalendar | None = None,
        terms: Terms | None = None,
        request_id: str | None = None,
    ) -> Expectation:
        """The customer's own estimate when no promise was made, from a norm for the kind.

        The expected completion is ``made_at`` plus the norm's window — in working time
        when a calendar is given (``calendar``, else the norms' own calendar).

        Args:
            kind: What was requested (``"callback"``).
            made_at: When the request was placed (aware).
            norm: The expected window, or a :class:`Norms` to look it up by ``kind``.
            calendar: Calendar of the window, or ``None`` (real time, or the norms'
                calendar).
            terms: Expected quantity / quality / cost, or ``None``.
            request_id: A reference for the request, or ``None``.

        Returns:
            An expectation with ``source="self"``.

        Raises:
            InvalidTypeError: An argument has the wrong type.
            NaiveDatetimeError: ``made_at`` has no time zone.
            InvalidValueError: The window is not positive, or ``kind`` has no norm.

        Example:
            .. code-block:: python

                norms = Norms({"callback": timedelta(hours=4)}, calendar=office_hours)
                expectation = Expectation.from_norm("callback", requested_at, norms)

        .. versionadded:: 0.1.0
        """
        check_non_empty_str("kind", kind)
        check_aware("made_at", made_at)
        calendar = check_calendar(calendar)
        if isinstance(norm, Norms):
            window = norm.window(kind)
            calendar = norm.calendar if calendar is None else calendar
        else:
            window = check_positive_duration("norm", norm)
        if terms is not None and not isinstance(terms, Terms):
            raise InvalidTypeError(
                f"'terms' must be a Terms instance or None (got {type(terms).__name__} {terms!r})"
            )
        due = (
            (utc(made_at) + window).astimezone(made_at.tzinfo)
            if calendar is None
            else calendar.add(made_at, window)
        )
        terms = terms or Terms()
        return cls(
            kind=kind,
            made_at=made_at,
            due=due,
            source="self",
            quantity=terms.quantity,
            quality=terms.quality,
            max_cost=terms.max_cost,
            calendar=calendar,
            request_id=request_id,
        )

    # ----------------------------------------------------------------- queries

    @property
    def original_due(self) -> datetime:
        """The due date first expected, before any revision.

        .. versionadded:: 0.1.0
        """
        return self.revisions[0].previous_due if self.revisions else self.due

    @property
    def window(self) -> timedelta:
        """From ``made_at`` to ``due``: working time with a calendar, else real time.

        .. versionadded:: 0.1.0
        """
        return timedelta(seconds=elapsed(self.calendar, self.made_at, self.due))

    def due_in_force(self, revision: int) -> datetime:
        """The due date after ``revision`` revisions (``0``: the original due date).

        Raises:
            InvalidTypeError: ``revision`` is not an int.
            InconsistentRecordError: ``revision`` is negative or beyond the revisions
                this expectation knows.

        .. versionadded:: 0.1.0
        """
        if isinstance(revision, bool) or not isinstance(revision, int):
            raise InvalidTypeError(
                f"'revision' must be an int (got {type(revision).__name__} {revision!r})"
            )
        if not 0 <= revision <= len(self.revisions):
            raise InconsistentRecordError(
                f"'revision' must be between 0 and {len(self.revisions)}, the revisions "
                f"this expectation knows (got {revision})"
            )
        return self.original_due if revision == 0 else self.revisions[revision - 1].due

    def completed(
        self,
        at: datetime,
        *,
        quantity: float | None = None,
        quality: float | None = None,
        cost: Decimal | int | float | str | None = None,
    ) -> Outcome:
        """An :class:`~promisekit.delivery.Outcome` for completion at ``at``, to score it.

        Handy when there is no promise to :func:`~promisekit.delivery.assess` (a
        self-formed expectation) or in examples. The revision in force is the last one
        announced by ``at``; the outcome is ``LATE`` after its due date, else ``SHORT``
        when a term is missed, else ``KEPT``. ``quantity`` defaults to the expected
        quantity (delivered in full); ``quality`` and ``cost`` to "not reported".

        Args:
            at: The completion instant (aware, not before ``made_at``).
            quantity: Quantity delivered, or ``None``.
            quality: Quality achieved, or ``None``.
            cost: Cost charged, or ``None``.

        Returns:
            The closed outcome, assessed at ``at``; its ``promise_id`` is
            ``request_id`` (or ``kind`` when there is none).

        Raises:
            NaiveDatetimeError: ``at`` has no time zone.
            InconsistentRecordError: ``at`` is before ``made_at``.
            InvalidValueError: A delivered value is out of range.

        .. versionadded:: 0.1.0
        """
        check_aware("at", at)
        if utc(at) < utc(self.made_at):
            raise InconsistentRecordError(
                f"'at' must not be before the expectation's 'made_at' "
                f"({_fmt(self.made_at)}) (got {_fmt(at)})"
            )
        revision = sum(1 for r in self.revisions if utc(r.at) <= utc(at))
        due = self.due_in_force(revision)
        delivered_quantity = _convert_quantity(self.quantity if quantity is None else quantity)
        delivered_quality = _convert_quality(quality)
        delivered_cost = None if cost is None else _to_decimal("cost", cost, minimum=Decimal(0))
        shortfall = Shortfall(
            quantity=None
            if self.quantity is None or delivered_quantity is None
            else max(self.quantity - delivered_quantity, 0.0),
            quality=None
            if self.quality is None or delivered_quality is None
            else max(self.quality - delivered_quality, 0.0),
            cost=None
            if self.max_cost is None or delivered_cost is None
            else max(delivered_cost - self.max_cost, Decimal(0)),
        )
        lateness = utc(at) - utc(due)
        if lateness > timedelta(0):
            status = Status.LATE
        elif shortfall.any:
            status = Status.SHORT
        else:
            status = Status.KEPT
        return Outcome(
            promise_id=self.request_id or self.kind,
            revision=revision,
            status=status,
            kept=status is Status.KEPT,
            due=due,
            completed_at=at.astimezone(due.tzinfo),
            lateness=lateness,
            business_lateness=None if self.calendar is None else self.calendar.between(due, at),
            delivered_quantity=delivered_quantity,
            delivered_quality=delivered_quality,
            delivered_cost=delivered_cost,
            shortfall=shortfall,
            assessed_at=at,
        )


# --------------------------------------------------------------------------- Norms


def _convert_windows(value: Any) -> tuple[tuple[str, timedelta], ...]:
    if not isinstance(value, Mapping):
        raise InvalidTypeError(
            f"'windows' must be a mapping of kind to timedelta "
            f"(got {type(value).__name__} {value!r})"
        )
    items: list[tuple[str, timedelta]] = []
    for kind, window in value.items():
        check_non_empty_str("windows key", kind)
        if not isinstance(window, timedelta) or window <= timedelta(0):
            error = InvalidTypeError if not isinstance(window, timedelta) else InvalidValueError
            raise error(
                f"'windows' must map each kind to a positive timedelta "
                f"(got {type(window).__name__} {window!r} for kind {kind!r})"
            )
        items.append((kind, window))
    if not items:
        raise InvalidValueError("'windows' must not be empty (got no kind)")
    return tuple(sorted(items))


def _convert_default(value: Any) -> timedelta | None:
    return None if value is None else check_positive_duration("default", value)


@attrs.frozen(slots=True)
class Norms:
    """What customers expect, per kind of request, when no promise is made.

    A read-only mapping of kind to window ("callbacks: 4 business hours"), measured in
    the working time of ``calendar`` when one is given.

    Args:
        windows: Kind → expected window (positive timedeltas).
        calendar: Calendar the windows are counted in, or ``None`` (real time).
        default: Window for kinds not listed, or ``None`` (an unlisted kind is an error).

    Raises:
        InvalidTypeError: A value has the wrong type.
        InvalidValueError: A window is not positive, a kind is blank, or ``windows`` is
            empty.

    Example:
        >>> from datetime import timedelta
        >>> norms = Norms({"callback": timedelta(hours=4), "repair": timedelta(days=3)})
        >>> norms["callback"], "parcel" in norms
        (datetime.timedelta(seconds=14400), False)

    .. versionadded:: 0.1.0
    """

    windows: tuple[tuple[str, timedelta], ...] = attrs.field(converter=_convert_windows)
    calendar: BusinessCalendar | None = attrs.field(
        default=None, converter=_convert_calendar, kw_only=True
    )
    default: timedelta | None = attrs.field(default=None, converter=_convert_default, kw_only=True)

    def __getitem__(self, kind: str) -> timedelta:
        return self.window(kind)

    def __contains__(self, kind: object) -> bool:
        return any(kind == name for name, _ in self.windows)

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self.windows)

    def __len__(self) -> int:
        return len(self.windows)

    def window(self, kind: str) -> timedelta:
        """The expected window for ``kind`` (or the default).

        Raises:
            InvalidValueError: ``kind`` has no norm and there is no default.

        .. versionadded:: 0.1.0
        """
        check_non_empty_str("kind", kind)
        for name, window in self.windows:
            if name == kind:
                return window
        if self.default is not None:
            return self.default
        known = ", ".join(repr(name) for name, _ in self.windows)
        raise InvalidValueError(
            f"'kind' must be one of the kinds with a norm ({known}) or the norms need a "
            f"default (got {kind!r})"
        )

    def expect(
        self,
        kind: str,
        made_at: datetime,
        *,
        terms: Terms | None = None,
        request_id: str | None = None,
    ) -> Expectation:
        """The self-formed :class:`Expectation` for a request of ``kind`` placed at ``made_at``.

        Same as ``Expectation.from_norm(kind, made_at, self, ...)``.

        .. versionadded:: 0.1.0
        """
        return Expectation.from_norm(kind, made_at, self, terms=terms, request_id=request_id)
