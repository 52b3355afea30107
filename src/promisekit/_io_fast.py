"""The event readers' plans: a header read once, the common row built without detours.

Private to the CSV and JSON Lines readers (:mod:`promisekit._io_csv`,
:mod:`promisekit._io_jsonl`). A :class:`_CsvPlan` is made once per header, a
:class:`_JsonPlan` once per source. For each row, ``event`` returns the event the
general :meth:`_RowBuilder.build <promisekit._io_rows._RowBuilder.build>` would return,
or ``None`` whenever the row is anything but plain (a value that does not parse, an
unknown event type, a missing or foreign field, a JSON cell, non-UTF-8 text): the
caller then gives the row to the general builder, which finds and words every error.
The plan only decides *how fast* a good row is built, never *whether* it is good: every
value goes through the same parser as in the general path, and the event is created
through its class, so every validator runs. When the event refuses values that all
parsed, the general builder would have built the same values and met the same refusal:
the plan gives that error itself, worded as the builder words it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from promisekit._io_rows import (
    _TERMS_HINTS,
    RowError,
    _bad_text,
    _guess_field,
    _hints,
    _parse_float,
    _parse_int,
    _parse_value,
    _required,
    _RowBuilder,
    unescape_formula,
)
from promisekit.errors import PromiseKitError
from promisekit.ledger import EVENT_TYPES, Event
from promisekit.promise import Terms
from promisekit.serialize import parse_datetime, parse_decimal

# What a cell of a row is for, given the event type of the row.
_SKIP = 0  # the ``type`` column itself
_DROP = 1  # a constant or shared column the event type lacks: only checked for UTF-8
_STR = 2
_DATETIME = 3
_DECIMAL = 4
_FLOAT = 5
_INT = 6
_TERM = 7  # ``terms.<name>``
_META = 8  # ``metadata.<key>``
_GENERAL = 9  # a field the plan leaves to the general builder when the cell is not empty

_ACTIONS: dict[Any, int] = {str: _STR, datetime: _DATETIME, Decimal: _DECIMAL}
_ACTIONS[float] = _FLOAT
_ACTIONS[int] = _INT

#: How many distinct timestamp texts a reader remembers (then it starts again).
_DATES_KEPT = 4096

_Entry = tuple[str, int, int, str]
_Kind = tuple[type[Event], tuple[_Entry, ...], tuple[str, ...]]


def _finish(
    derive: bool,
    cls: type[Event],
    kwargs: dict[str, Any],
    terms: dict[str, Any] | None,
    metadata: dict[str, str] | None,
    required: tuple[str, ...],
    line: int,
    column_of: Callable[[str], str | None],
) -> Event | list[RowError] | None:
    """The event of a row's parsed values, ended as :meth:`_RowBuilder.build` ends it
    (``recorded_at`` from ``at``, terms, metadata, required fields), or ``None`` to let
    the general builder judge it. A refusal by the event is the general builder's error:
    the same message, field and column (``column_of``: the column a field came from)."""
    try:
        derived = derive and "recorded_at" not in kwargs and "at" in kwargs
        if derived:
            kwargs["recorded_at"] = kwargs["at"]
        if terms:
            kwargs["terms"] = Terms(**terms)
        if metadata:
            kwargs["metadata"] = metadata
        for name in required:
            if name not in kwargs:
                return None
    except Exception:  # whatever it is, the general builder meets it again and says it
        return None
    try:
        return cls(**kwargs)
    except PromiseKitError as exc:  # as _RowBuilder.build words it
        message = str(exc)
        where = _guess_field(message, "")
        if where is None:
            column = None
        else:
            column = column_of("at" if where == "recorded_at" and derived else where)
        return [RowError(line, where, message, column)]
    except Exception:
        return None


class _Dates:
    """Timestamps a reader has parsed, by their text (bounded: then it starts again)."""

    def __init__(self, zone: Any) -> None:
        self.zone = zone
        self.seen: dict[str, datetime] = {}

    def parse(self, text: str, field: str) -> datetime:
        """:func:`parse_datetime` of ``text``, remembered (the same text, the same instant)."""
        value = self.seen.get(text)
        if value is None:
            value = parse_datetime(text, field=field, tz=self.zone)
            if len(self.seen) >= _DATES_KEPT:
                self.seen.clear()
            self.seen[text] = value
        return value

    def __len__(self) -> int:
        return len(self.seen)


class _CsvPlan:
    """How the cells of rows under one header become the fields of each event type."""

    def __init__(
        self, builder: _RowBuilder, header: Sequence[str], pairs: Sequence[tuple[str, int]]
    ) -> None:
        self.builder = builder
        width = len(header)
        # field → its column in the general builder's errors.
        self.columns = {field: header[index] for field, index in pairs}
        self.columns.update(dict.fromkeys(builder.mapping.constants, "(constant)"))
        # field → index in the row extended with the constants (after the cells), in
        # the order the general builder sees them: columns, then constants (a constant
        # for a field a column also fills takes the column's place and value).
        slots: dict[str, int] = dict(pairs)
        self.constants = list(builder.mapping.constants.values())
        for offset, field in enumerate(builder.mapping.constants):
            slots[field] = width + offset
        self.slots = slots
        self.type_slot = slots.get("type")
        self.kinds: dict[str, _Kind | None] = {}
        self.dates = _Dates(builder.zone)

    def _kind(self, kind: str) -> _Kind | None:
        """The entries of the rows of one event type (``None``: leave them to ``build``)."""
        cls = EVENT_TYPES.get(kind)
        plan: _Kind | None = None
        if cls is not None:
            hints = _hints(cls)
            entries: list[_Entry] = []
            for field, slot in self.slots.items():
                base = field.partition(".")[0]
                if field == "type":
                    action = _SKIP
                elif base not in hints:
                    action = _DROP if field in self.builder.optional else _GENERAL
                elif field.startswith("terms."):
                    action = _TERM if field[6:] in _TERMS_HINTS else _GENERAL
                elif field.startswith("metadata."):
                    action = _META
                elif field in hints:
                    action = _ACTIONS.get(hints[field], _GENERAL)
                else:  # pragma: no cover - every known field is one of the above
                    action = _GENERAL
                if field in ("terms", "metadata", "document"):
                    action = _GENERAL  # JSON in a cell: the general builder's job
                entries.append((field, slot, action, field[6:] if action == _TERM else field))
            plan = (cls, tuple(entries), _required(cls))
        # Every real event type is remembered (they are few); unknown ones, up to 64
        # (a file of bad types may hold thousands).
        if cls is not None or len(self.kinds) < 64:
            self.kinds[kind] = plan
        return plan

    def event(self, row: list[str], line: int) -> Event | list[RowError] | None:
        """The event of a plain row, or ``None`` to let the general builder judge it.

        A row whose values all parse but whose event refuses them gets the error the
        general builder would give (it would build the same values, and meet the same
        refusal): built from the same message, field and column.
        """
        builder = self.builder
        unescape = builder.unescape
        cells = row + self.constants if self.constants else row
        if self.type_slot is None:
            return None
        kind = cells[self.type_slot]
        if unescape:
            kind = unescape_formula(kind)
        plan = self.kinds[kind] if kind in self.kinds else self._kind(kind)
        if plan is None:
            return None
        cls, entries, required = plan
        kwargs: dict[str, Any] = {}
        terms: dict[str, Any] | None = None
        metadata: dict[str, str] | None = None
        try:
            for field, slot, action, name in entries:
                value = cells[slot]
                if not value:
                    continue
                if unescape and value[0] == "'":
                    value = unescape_formula(value)
                if not value.isascii() and _bad_text(value):
                    return None
                if action == _STR:
                    kwargs[field] = value
                elif action == _DATETIME:
                    kwargs[field] = self.dates.parse(value, field)
                elif action <= _DROP:
                    continue
                elif action == _DECIMAL:
                    kwargs[field] = parse_decimal(value, field=field)
                elif action == _FLOAT:
                    kwargs[field] = _parse_float(value, field, True)
                elif action == _INT:
                    kwargs[field] = _parse_int(value, field, True)
                elif action == _TERM:
                    if terms is None:
                        terms = {}
                    terms[name] = _parse_value(_TERMS_HINTS[name], value, field, True, builder.zone)
                elif action == _META:
                    if metadata is None:
                        metadata = {}
                    metadata[field[9:]] = value
                else:
                    return None
        except Exception:  # whatever it is, the general builder meets it again and says it
            return None
        derive = builder.recorded_at_from_at
        return _finish(derive, cls, kwargs, terms, metadata, required, line, self.columns.get)


# What a JSON value is for (the plan of JSON Lines rows), by event type and field.
_Action = tuple[int, Any]
_JsonKind = tuple[type[Event], dict[str, _Action], tuple[str, ...]]


class _JsonPlan:
    """How the fields of JSON Lines rows become the fields of each event type."""

    def __init__(self, builder: _RowBuilder) -> None:
        self.builder = builder
        self.constants = {
            field: (value, "(constant)") for field, value in builder.mapping.constants.items()
        }
        self.kinds: dict[str, _JsonKind | None] = {}
        self.dates = _Dates(builder.zone)

    def _kind(self, kind: str) -> _JsonKind | None:
        cls = EVENT_TYPES.get(kind)
        plan: _JsonKind | None = None if cls is None else (cls, {}, _required(cls))
        if cls is not None or len(self.kinds) < 64:
            self.kinds[kind] = plan
        return plan

    def _action(self, cls: type[Event], field: str) -> _Action:
        hints = _hints(cls)
        if field == "type":
            return (_SKIP, None)
        if field.partition(".")[0] not in hints:
            return (_DROP if field in self.builder.optional else _GENERAL, None)
        if field.startswith("terms.") and field[6:] in _TERMS_HINTS:
            return (_TERM, _TERMS_HINTS[field[6:]])
        if field.startswith("metadata."):
            return (_META, str)
        if field in ("terms", "metadata", "document") or field not in hints:
            return (_GENERAL, None)  # objects: the general builder's job
        tp = hints[field]
        return (_DATETIME if tp is datetime else _STR, tp)

    def event(self, cells: dict[str, tuple[Any, str]], line: int) -> Event | list[RowError] | None:
        """The event of a plain row (field → (value, key)), or ``None`` for ``build``.

        As :meth:`_CsvPlan.event`, a row whose event refuses its values gets the error
        the general builder would give.
        """
        builder = self.builder
        if self.constants:
            cells = {**cells, **self.constants}
        kind = cells.get("type", (None, None))[0]
        if not isinstance(kind, str):
            return None
        plan = self.kinds[kind] if kind in self.kinds else self._kind(kind)
        if plan is None:
            return None
        cls, actions, required = plan
        kwargs: dict[str, Any] = {}
        terms: dict[str, Any] | None = None
        metadata: dict[str, str] | None = None
        zone = builder.zone
        try:
            for field, (value, _) in cells.items():
                if value is None:
                    continue
                if isinstance(value, str) and not value.isascii() and _bad_text(value):
                    return None
                action = actions.get(field)
                if action is None:
                    action = self._action(cls, field)
                    if len(actions) < 256:
                        actions[field] = action
                what, tp = action
                if what == _DATETIME:
                    if not isinstance(value, str):
                        return None
                    kwargs[field] = self.dates.parse(value, field)
                elif what == _STR:
                    kwargs[field] = _parse_value(tp, value, field, False, zone)
                elif what <= _DROP:
                    continue
                elif what == _TERM:
                    if terms is None:
                        terms = {}
                    terms[field[6:]] = _parse_value(tp, value, field, False, zone)
                elif what == _META:
                    if metadata is None:
                        metadata = {}
                    metadata[field[9:]] = _parse_value(str, value, field, False, zone)
                else:
                    return None
        except Exception:  # whatever it is, the general builder meets it again and says it
            return None

        def column_of(field: str) -> str | None:
            return cells.get(field, (None, None))[1]

        derive = builder.recorded_at_from_at
        return _finish(derive, cls, kwargs, terms, metadata, required, line, column_of)
