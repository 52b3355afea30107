"""Rows to events: sources of lines, row errors, the row builder and cell values.

Private to :mod:`promisekit.io`, which re-exports :class:`RowError`,
:class:`LoadResult`, :data:`Source` and the formula escaping. Shared by the CSV and
the JSON Lines readers (and, for cells and destinations, by the writers).
"""

from __future__ import annotations

import io as _stdio
import os
import re
import types
import typing
from collections.abc import Iterable, Iterator
from datetime import datetime, tzinfo
from decimal import Decimal
from typing import IO, Any, TypeAlias

import attrs

from promisekit import _json
from promisekit._io_mapping import _KNOWN, _TERMS_FIELDS, ColumnMapping
from promisekit._validation import describe
from promisekit.errors import (
    InvalidTypeError,
    InvalidValueError,
    PromiseKitError,
)
from promisekit.ledger import EVENT_TYPES, Event
from promisekit.promise import Terms
from promisekit.serialize import (
    parse_datetime,
    parse_decimal,
)

#: What the loaders read: a path, a binary or text file object, or an iterable of text
#: lines. Paths and binary files are decoded as UTF-8 (a leading BOM is skipped).
#:
#: .. versionadded:: 0.1.0
Source: TypeAlias = "str | os.PathLike[str] | IO[bytes] | IO[str] | Iterable[str]"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FLOAT_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?")
_INT_RE = re.compile(r"[+-]?[0-9]{1,18}")


# --------------------------------------------------------------------------- results


@attrs.frozen
class RowError:
    """Why one row (or one field of a row) could not be imported.

    Attributes:
        line: Line number in the source (1 is the CSV header or the first JSON line;
            for a CSV record spanning several lines, its first line).
        field: The event field at fault, or ``None`` for the whole row.
        reason: What was expected and what was received.
        column: The source column (or JSON key) of the field, or ``None``.

    .. versionadded:: 0.1.0
    """

    line: int
    field: str | None
    reason: str
    column: str | None = None

    def __str__(self) -> str:
        where = f"line {self.line}"
        if self.field is not None:
            where += f", field {self.field!r}"
            if self.column is not None and self.column != self.field:
                where += f" (column {describe(self.column)})"
        return f"{where}: {self.reason}"


@attrs.frozen
class LoadResult:
    """The outcome of an import: the good records, and an error for every bad row.

    Attributes:
        records: The events of the good rows, in source order.
        errors: The errors, in source order (a row may have several).
        rows: How many data rows were read (good and bad).

    .. versionadded:: 0.1.0
    """

    records: tuple[Event, ...]
    errors: tuple[RowError, ...]
    rows: int

    @property
    def ok(self) -> bool:
        """True when every row was imported.

        .. versionadded:: 0.1.0
        """
        return not self.errors

    @property
    def bad_lines(self) -> tuple[int, ...]:
        """Line numbers of the bad rows, sorted, without repeats.

        .. versionadded:: 0.1.0
        """
        return tuple(sorted({error.line for error in self.errors}))


# --------------------------------------------------------------------------- reading


def _decode(raw: bytes, first: bool) -> str:
    if first and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    return raw.decode("utf-8", "surrogateescape")


def _lines(source: Source) -> Iterator[str]:
    """Text lines (with their line ends) of a source; invalid UTF-8 becomes surrogates."""
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as handle:
            for index, raw in enumerate(handle):
                yield _decode(raw, index == 0)
        return
    if isinstance(source, (bytes, bytearray)):
        raise InvalidTypeError(
            "'source' must be a path, a file object or an iterable of lines (got bytes; "
            "wrap it in io.BytesIO)"
        )
    if isinstance(source, _stdio.TextIOBase) or hasattr(source, "read"):
        for index, line in enumerate(source):
            if isinstance(line, (bytes, bytearray)):
                yield _decode(bytes(line), index == 0)
            elif isinstance(line, str):
                yield line[1:] if index == 0 and line.startswith("\ufeff") else line
            else:
                raise InvalidTypeError(f"'source' yielded {type(line).__name__}, not lines")
        return
    if isinstance(source, Iterable):
        for index, line in enumerate(source):
            if not isinstance(line, str):
                raise InvalidTypeError(
                    f"'source' must yield text lines (got {type(line).__name__} {describe(line)})"
                )
            yield line[1:] if index == 0 and line.startswith("\ufeff") else line
        return
    raise InvalidTypeError(
        f"'source' must be a path, a file object or an iterable of lines "
        f"(got {type(source).__name__} {describe(source)})"
    )


def _bad_text(text: str) -> bool:
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _shown(text: str) -> str:
    shown = text if len(text) <= 60 else text[:57] + "..."
    return repr(shown)


def _text(value: object) -> str:
    """A value as text for :func:`_shown`: strings, decimals and floats as themselves."""
    if isinstance(value, (str, Decimal, float)):
        return str(value)
    return describe(value)


class _RowBuilder:
    """Turns one row (field → raw value) into an event or row errors."""

    def __init__(
        self,
        mapping: ColumnMapping,
        zone: tzinfo | None,
        unescape: bool,
        *,
        recorded_at_from_at: bool = False,
    ) -> None:
        self.mapping = mapping
        # The command line's reading: a row without recorded_at was recorded at ``at``.
        self.recorded_at_from_at = recorded_at_from_at
        self.zone = zone
        self.unescape = unescape
        self.fields_of: dict[str, tuple[str, ...]] = {}
        for field, column in mapping.columns.items():
            self.fields_of[column] = (*self.fields_of.get(column, ()), field)
        self.column_of = dict(mapping.columns)
        # Fields that may be absent from an event type without error: constants, and
        # fields sharing their column with another field.
        self.optional = set(mapping.constants) | {
            f for fields in self.fields_of.values() if len(fields) > 1 for f in fields
        }

    def column_fields(self, column: str) -> tuple[str, ...]:
        """The fields a source column maps to (several when the mapping says so)."""
        fields = self.fields_of.get(column)
        if fields is not None:
            return fields
        if column in self.mapping.columns:
            return ()  # renamed: the column name now belongs to another field
        if (
            column in _KNOWN
            or column == "terms"
            or (column.startswith("metadata.") and len(column) > 9)
        ):
            return (column,)
        return ()

    def column_field(self, column: str) -> str | None:
        """The (first) field a source column maps to, or ``None`` if it is unknown."""
        fields = self.column_fields(column)
        return fields[0] if fields else None

    def build(
        self, line: int, cells: dict[str, tuple[Any, str]], text: bool
    ) -> Event | list[RowError]:
        """``cells``: field → (raw value, source column); ``text``: CSV (all strings)."""
        for field, value in self.mapping.constants.items():
            cells[field] = (value, "(constant)")
        errors: list[RowError] = []

        def fail(field: str | None, reason: str) -> None:
            column = None if field is None else cells.get(field, (None, None))[1]
            errors.append(RowError(line, field, reason, column))

        if text and self.unescape:
            cells = {
                f: ((unescape_formula(v) if isinstance(v, str) else v), c)
                for f, (v, c) in cells.items()
            }
        present = {f: v for f, (v, _) in cells.items() if not _absent(v, text)}
        if self.recorded_at_from_at and "recorded_at" not in present and "at" in present:
            present["recorded_at"] = present["at"]
            cells["recorded_at"] = (present["at"], cells["at"][1])
        for field, value in present.items():
            if isinstance(value, str) and _bad_text(value):
                fail(field, f"invalid UTF-8 in the value (got {_shown(value)})")
        if errors:
            return errors
        kind = present.get("type")
        if kind is None:
            fail("type", "missing event type (expected one of " + ", ".join(EVENT_TYPES) + ")")
            return errors
        cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
        if cls is None:
            fail(
                "type",
                f"unknown event type {_shown(_text(kind))} (expected one of "
                f"{', '.join(EVENT_TYPES)})",
            )
            return errors
        hints = _hints(cls)
        for field in self.optional:
            # A constant, or a column shared by several fields, is for the event types
            # that have the field (a constant ``kind`` fills promise_made rows, not
            # delivery rows).
            if field != "type" and field.partition(".")[0] not in hints:
                present.pop(field, None)
        kwargs: dict[str, Any] = {}
        terms: dict[str, Any] = {}
        metadata: dict[str, str] = {}
        for field, value in present.items():
            if field == "type":
                continue
            # Constants are text (as in a CSV cell), whatever the source's format.
            as_text = text or cells[field][1] == "(constant)"
            base = field.partition(".")[0]
            if base not in hints:
                fail(
                    field,
                    f"a {kind} event has no field {describe(field)} (got {_shown(_text(value))})",
                )
                continue
            try:
                if field.startswith("terms."):
                    terms[field[6:]] = _parse_value(
                        _TERMS_HINTS[field[6:]], value, field, as_text, self.zone
                    )
                elif field == "terms":
                    terms.update(_terms_object(value, as_text, self.zone))
                elif field.startswith("metadata."):
                    metadata[field[9:]] = _parse_value(str, value, field, as_text, self.zone)
                elif field == "metadata":
                    metadata.update(_metadata_object(value, as_text))
                elif field == "document":
                    kwargs[field] = _document_object(value, as_text)
                else:
                    kwargs[field] = _parse_value(hints[field], value, field, as_text, self.zone)
            except PromiseKitError as exc:
                fail(field, str(exc))
        if errors:
            return errors
        if terms:
            try:
                kwargs["terms"] = Terms(**terms)
            except PromiseKitError as exc:
                fail(_guess_field(str(exc), "terms."), str(exc))
                return errors
        if metadata:
            kwargs["metadata"] = metadata
        missing = [name for name in _required(cls) if name not in kwargs]
        for name in missing:
            fail(name, f"missing required field {name!r} for a {kind} event")
        if errors:
            return errors
        try:
            return cls(**kwargs)
        except PromiseKitError as exc:
            fail(_guess_field(str(exc), ""), str(exc))
            return errors


def _absent(value: Any, text: bool) -> bool:
    return value is None or (text and value == "")


_HINTS: dict[type[Any], dict[str, Any]] = {}


def _hints(cls: type[Any]) -> dict[str, Any]:
    """Field name → value type (``X | None`` unwrapped) of an attrs class, cached."""
    hints = _HINTS.get(cls)
    if hints is None:
        attrs.resolve_types(cls)
        hints = {f.name: _optional_inner(f.type) for f in attrs.fields(cls) if f.init}
        _HINTS[cls] = hints
    return hints


_REQUIRED: dict[type[Any], tuple[str, ...]] = {}


def _required(cls: type[Any]) -> tuple[str, ...]:
    required = _REQUIRED.get(cls)
    if required is None:
        required = tuple(f.name for f in attrs.fields(cls) if f.init and f.default is attrs.NOTHING)
        _REQUIRED[cls] = required
    return required


def _guess_field(message: str, prefix: str) -> str | None:
    match = re.match(r"'([A-Za-z_]+)'", message)
    return None if match is None else prefix + match[1]


def _terms_object(value: Any, text: bool, zone: tzinfo | None) -> dict[str, Any]:
    if text:
        value = _json_object(value, "terms")
    if not isinstance(value, dict):
        raise InvalidTypeError(f"'terms' must be an object (got {_shown(_text(value))})")
    out = {}
    for key, item in value.items():
        if key not in _TERMS_HINTS:
            raise InvalidValueError(
                f"'terms' has an unknown field {describe(key)} (expected "
                f"{', '.join(_TERMS_FIELDS)})"
            )
        if item is not None:
            out[key] = _parse_value(_TERMS_HINTS[key], item, f"terms.{key}", False, zone)
    return out


def _json_object(value: str, field: str, parse_float: Any = Decimal) -> Any:
    try:
        return _json.decode(value, parse_float=parse_float)
    except _json.DuplicateKeyError as exc:
        raise InvalidValueError(f"{field!r}: {exc}") from None
    except _json.JSONSyntaxError:
        raise InvalidValueError(
            f"{field!r} must be a JSON object in the cell (got {_shown(value)})"
        ) from None


def _document_object(value: Any, text: bool) -> Any:
    """An escalation's ``document``: JSON text in a CSV cell (numbers as float), or a value."""
    if text:
        return _json_object(value, "document", None)
    if isinstance(value, Decimal):  # JSON Lines rows read numbers as Decimal
        return float(value)
    if isinstance(value, dict):
        return {key: _document_object(item, False) for key, item in value.items()}
    if isinstance(value, list):
        return [_document_object(item, False) for item in value]
    return value


def _metadata_object(value: Any, text: bool) -> dict[str, str]:
    if text:
        value = _json_object(value, "metadata")
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise InvalidTypeError(f"'metadata' must be an object of strings (got {describe(value)})")
    return value


def _optional_inner(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        options = [arg for arg in typing.get_args(tp) if arg is not type(None)]
        if len(options) == 1:
            return options[0]
    return tp


_TERMS_HINTS = _hints(Terms)


def _parse_value(tp: Any, value: Any, field: str, text: bool, zone: tzinfo | None) -> Any:
    """Parse a CSV cell (``text``) or a JSON value for a field of type ``tp`` (unwrapped)."""
    if tp is str:
        if not isinstance(value, str):
            raise InvalidTypeError(f"{field!r} must be a string (got {_shown(_text(value))})")
        return value
    if tp is datetime:
        if not isinstance(value, str):
            raise InvalidTypeError(f"{field!r} must be a timestamp string (got {describe(value)})")
        return parse_datetime(value, field=field, tz=zone)
    if tp is Decimal:
        if isinstance(value, Decimal):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return Decimal(value)
        return parse_decimal(value, field=field)
    if tp is float:
        return _parse_float(value, field, text)
    if tp is int:
        return _parse_int(value, field, text)
    return value  # pragma: no cover - event fields have the types above


def _parse_float(value: Any, field: str, text: bool) -> float:
    if isinstance(value, str) and text:
        if _FLOAT_RE.fullmatch(value) is None:
            raise InvalidValueError(
                f"{field!r} must be a plain number such as 2 or 0.5 (got {_shown(value)})"
            )
        number = float(value)
    elif isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:
            raise InvalidValueError(f"{field!r} is too large a number") from None
    else:
        raise InvalidTypeError(f"{field!r} must be a number (got {_shown(describe(value))})")
    if number != number or number in (float("inf"), float("-inf")):
        raise InvalidValueError(f"{field!r} must be a finite number (got {_shown(_text(value))})")
    return number


def _parse_int(value: Any, field: str, text: bool) -> int:
    if isinstance(value, str) and text:
        if _INT_RE.fullmatch(value) is None:
            raise InvalidValueError(
                f"{field!r} must be a whole number such as 2 (got {_shown(value)})"
            )
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise InvalidTypeError(f"{field!r} must be a whole number (got {_shown(describe(value))})")


def _collect(items: Iterator[Event | RowError]) -> LoadResult:
    records: list[Event] = []
    errors: list[RowError] = []
    bad_lines: set[int] = set()
    for item in items:
        if isinstance(item, RowError):
            errors.append(item)
            bad_lines.add(item.line)
        else:
            records.append(item)
    return LoadResult(
        records=tuple(records), errors=tuple(errors), rows=len(records) + len(bad_lines)
    )


# --------------------------------------------------------------------------- writing


def escape_formula(cell: str) -> str:
    """Escape a text cell against spreadsheet formula injection (see the module docs).

    Args:
        cell: The text.

    Returns:
        The text, with a leading ``'`` if it starts with ``=``, ``+``, ``-``, ``@``, a
        tab or a carriage return, or with ``'`` followed by one of those or ``'``.

    Example:
        >>> escape_formula("=1+1"), escape_formula("'=x"), escape_formula("O'Brien")
        ("'=1+1", "''=x", "O'Brien")

    .. versionadded:: 0.1.0
    """
    if cell.startswith(_FORMULA_START) or (
        cell.startswith("'") and cell[1:2] != "" and cell[1] in "=+-@\t\r'"
    ):
        return "'" + cell
    return cell


def unescape_formula(cell: str) -> str:
    """Undo :func:`escape_formula` (exactly: ``unescape_formula(escape_formula(s)) == s``).

    .. versionadded:: 0.1.0
    """
    if cell.startswith("'") and cell[1:2] != "" and cell[1] in "=+-@\t\r'":
        return cell[1:]
    return cell


def _open_for_writing(dest: str | os.PathLike[str] | IO[str]) -> tuple[IO[str], bool]:
    if isinstance(dest, (str, os.PathLike)):
        return open(dest, "w", encoding="utf-8", newline=""), True
    if not hasattr(dest, "write"):
        raise InvalidTypeError(
            f"'dest' must be a path or a text file object (got {type(dest).__name__} "
            f"{describe(dest)})"
        )
    return dest, False
