"""Reading a ledger with a cursor: checkpoints, leases and the checks both stores share.

Private to :mod:`promisekit.ledger`, which re-exports :class:`Checkpoint` and
:class:`Lease`. :class:`~promisekit.ledger.PromiseLedger` and
:class:`~promisekit.store.SQLiteLedger` validate their arguments here and decide a
lease with :func:`_decide_lease`, so both behave the same.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs

from promisekit._validation import check_aware, check_non_empty_str, describe
from promisekit.errors import (
    InvalidTypeError,
    InvalidValueError,
    LeaseLostError,
    PositionConflictError,
)
from promisekit.promise import _aware, _non_empty_str, _optional_str


def _check_position(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    check_position(attribute.name, value)


@attrs.frozen(kw_only=True)
class Checkpoint:
    """How far a reader named ``name`` has processed a ledger store.

    Written with :meth:`LedgerStore.append_many
    <promisekit.ledger.LedgerStore.append_many>` in the same transaction as the events
    the reader produced (a transactional outbox), read back with
    :meth:`LedgerStore.checkpoint <promisekit.ledger.LedgerStore.checkpoint>`.

    Attributes:
        name: Name of the reader (non-empty); one checkpoint per name.
        position: The last position processed (``>= 0``; 0 before the first event).
        holder: When not ``None``, the write is fenced: it succeeds only while the
            lease named ``name`` is held by ``holder`` (see
            :meth:`LedgerStore.acquire_lease
            <promisekit.ledger.LedgerStore.acquire_lease>`); otherwise it raises
            :class:`~promisekit.errors.LeaseLostError` and writes nothing.

    Raises:
        InvalidTypeError: A value has the wrong type.
        InvalidValueError: A string is blank or ``position`` is negative.

    .. versionadded:: 0.1.0
    """

    name: str = attrs.field(validator=_non_empty_str)
    position: int = attrs.field(validator=_check_position)
    holder: str | None = attrs.field(default=None, validator=_optional_str)


@attrs.frozen(kw_only=True)
class Lease:
    """Who holds the lease ``name``, until when.

    Attributes:
        name: Name of the lease (non-empty).
        holder: Who holds it (non-empty).
        expires_at: When it expires unless renewed (aware, in UTC). After that
            instant another holder may take it over; until a takeover, the holder
            still passes the fencing check of a checkpoint.

    .. versionadded:: 0.1.0
    """

    name: str = attrs.field(validator=_non_empty_str)
    holder: str = attrs.field(validator=_non_empty_str)
    expires_at: datetime = attrs.field(validator=_aware)


# --------------------------------------------------------------------------- checks


def _check_int(field: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(
            f"{field!r} must be an int (got {type(value).__name__} {describe(value)})"
        )
    if value < minimum:
        raise InvalidValueError(f"{field!r} must be >= {minimum} (got {describe(value)})")
    return value


def check_position(field: str, value: object) -> int:
    """A ledger position: an int ``>= 0``."""
    return _check_int(field, value, 0)


def check_limit(value: object) -> int | None:
    """The ``limit`` of :meth:`events_since`: ``None`` or an int ``>= 0``."""
    return None if value is None else _check_int("limit", value, 0)


def check_expected(value: object) -> int | None:
    """The ``expected_position`` of an append: ``None`` or an int ``>= 0``."""
    return None if value is None else check_position("expected_position", value)


def check_expected_positions(value: object) -> dict[str, int] | None:
    """The ``expected_positions`` of an append: ``None`` or promise id → position ``>= 0``."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidTypeError(
            f"'expected_positions' must map promise ids to positions (got "
            f"{type(value).__name__} {describe(value)})"
        )
    checked: dict[str, int] = {}
    for promise_id, position in value.items():
        if not isinstance(promise_id, str):
            raise InvalidTypeError(
                f"'expected_positions' must map promise ids (strings) to positions (got the "
                f"key {type(promise_id).__name__} {describe(promise_id)})"
            )
        checked[promise_id] = check_position(f"expected_positions[{promise_id}]", position)
    return checked


def check_promise_positions(expected: dict[str, int] | None, last_of: Callable[[str], int]) -> None:
    """Raise :class:`PositionConflictError` unless each promise's last position (``last_of``;
    0 without events) is the one ``expected`` gives it."""
    for promise_id, position in (expected or {}).items():
        actual = last_of(promise_id)
        if actual != position:
            raise PositionConflictError(position, actual, promise_id)


def check_expected_position(expected: int | None, last: int) -> None:
    """Raise :class:`PositionConflictError` unless the last position is ``expected``."""
    if expected is not None and expected != last:
        raise PositionConflictError(expected, last)


def check_checkpoint(value: object) -> Checkpoint | None:
    """The ``checkpoint`` argument of an append: ``None`` or a :class:`Checkpoint`."""
    if value is not None and not isinstance(value, Checkpoint):
        raise InvalidTypeError(
            f"'checkpoint' must be a Checkpoint or None (got {type(value).__name__} "
            f"{describe(value)})"
        )
    return value


def check_lease_args(name: object, holder: object) -> tuple[str, str]:
    """The ``name`` and ``holder`` of a lease: non-blank strings."""
    return check_non_empty_str("name", name), check_non_empty_str("holder", holder)


def lease_expiry(now: object, ttl: object) -> datetime:
    """``now + ttl`` in UTC, after checking ``now`` (aware) and ``ttl`` (a positive timedelta)."""
    start = check_aware("now", now).astimezone(timezone.utc)
    if not isinstance(ttl, timedelta):
        raise InvalidTypeError(
            f"'ttl' must be a timedelta (got {type(ttl).__name__} {describe(ttl)})"
        )
    if ttl <= timedelta(0):
        raise InvalidValueError(f"'ttl' must be positive (got {describe(ttl)})")
    try:
        return start + ttl
    except OverflowError:
        raise InvalidValueError(
            f"'ttl' is too long: 'now' + 'ttl' is after 9999-12-31 (got {describe(ttl)})"
        ) from None


def decide_lease(
    current: Lease | None, name: str, holder: str, now: datetime, expires_at: datetime
) -> Lease | None:
    """The lease to write when ``holder`` asks for it at ``now``, or ``None`` to refuse.

    Granted when nobody holds it, when it expired (``expires_at <= now``) or when
    ``holder`` already holds it (a renewal).
    """
    if current is None or current.holder == holder or current.expires_at <= now:
        return Lease(name=name, holder=holder, expires_at=expires_at)
    return None


def check_fence(checkpoint: Checkpoint | None, current: Lease | None) -> None:
    """Raise :class:`LeaseLostError` if ``checkpoint`` is fenced by a lease not held."""
    if checkpoint is None or checkpoint.holder is None:
        return
    if current is None or current.holder != checkpoint.holder:
        raise LeaseLostError(
            checkpoint.name, checkpoint.holder, None if current is None else current.holder
        )


def check_checkpoint_position(checkpoint: Checkpoint | None, last: int, where: Any) -> None:
    """Refuse a checkpoint after the last position the store will have."""
    if checkpoint is not None and checkpoint.position > last:
        raise InvalidValueError(
            f"'checkpoint' position {checkpoint.position} is after the last position of "
            f"{where} ({last} once the batch is written)"
        )
