"""Import ledger events from CRM exports (CSV, JSON Lines), export them to CSV and JSON Lines.

Reading is **streaming**: :func:`iter_rows` is a generator that holds one row at a
time (constant memory), yielding an :class:`~promisekit.ledger.Event` for every good
row and a :class:`RowError` for every bad one. :func:`load_csv` and :func:`load_jsonl`
collect them in a :class:`LoadResult`.

**Rows to events.** Each row is one event. Its fields are found through a **column
mapping** (event field → source column; a column named like a field needs no entry),
given as a dict, a :class:`ColumnMapping` or a small TOML file::

    # crm-mapping.toml
    tz = "America/Toronto"          # zone of timestamps without offset (optional)

    [columns]                      # event field = "source column"
    id = "Event ID"
    promise_id = "Ticket"
    type = "Event"
    at = "Timestamp"

    [constants]                    # event field = value for every row
    recorded_at = "2026-03-10T18:00:00Z"

    [ignore]                       # source columns deliberately left out
    columns = ["Agent notes"]

Fields: ``type`` (an event type such as ``"delivery_recorded"``), the fields of that
event class, ``terms.quantity`` … ``terms.currency`` for the terms of a promise, and
``metadata`` (a JSON object) or ``metadata.<key>`` for its free-form fields. A JSON
Lines row may nest ``"terms": {...}`` and ``"metadata": {...}``; a JSON Lines row with
a ``"schema"`` key is a promisekit document and is read with
:func:`promisekit.serialize.from_dict` instead.

**Nothing is guessed, dropped or coerced.** A timestamp without offset is a row error
unless ``tz=`` (or the mapping's ``tz``) names its zone, and then a local time that a
daylight-saving change skips or repeats is a row error too. Numbers must be plain
numbers (``"1,5"``, ``"1_000"``, ``"nan"`` are errors), decimals are kept exactly, an
empty CSV cell is an absent value, a non-empty value for a field the event type does
not have is an error, and an unknown source column stops the import before the first
row (map it or list it in ``ignore``). Invalid UTF-8 is reported on the row and column
where it occurs.

**Export.** :func:`write_csv` writes events with one column per field (the inverse of
the import) and escapes **spreadsheet formula injection**: a text cell starting with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return is written with a leading
single quote (``'=HYPERLINK(...)``), so a spreadsheet shows it as text instead of
running it; a text cell that already starts with a quote followed by one of those
characters (or another quote) gets one more quote, so the escaping can be undone
exactly: read such a file back with ``unescape_formulas=True``. Numbers and
timestamps are never quoted. Terms are flattened into ``terms.*`` columns, so an empty
``Terms()`` (no term set) is written as no terms and reads back as ``None`` — the same
promise. :func:`write_jsonl` writes one document per line (exact).

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import csv
import io as _stdio
import json
import os
import re
import sys
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, tzinfo
from decimal import Decimal
from typing import IO, Any, Literal, TypeAlias

import attrs

from promisekit import _json
from promisekit._serialize_codecs import _coerce_zone
from promisekit._validation import describe
from promisekit.errors import (
    InvalidTypeError,
    InvalidValueError,
    MissingDependencyError,
    PromiseKitError,
)
from promisekit.ledger import EVENT_TYPES, Event
from promisekit.promise import Terms
from promisekit.serialize import (
    SchemaError,
    format_datetime,
    from_dict,
    parse_datetime,
    parse_decimal,
    to_json,
)

__all__ = [
    "CSV_COLUMNS",
    "ColumnMapping",
    "LoadResult",
    "RowError",
    "Source",
    "escape_formula",
    "iter_rows",
    "load_csv",
    "load_jsonl",
    "load_mapping",
    "unescape_formula",
    "write_csv",
    "write_jsonl",
]

#: What the loaders read: a path, a binary or text file object, or an iterable of text
#: lines. Paths and binary files are decoded as UTF-8 (a leading BOM is skipped).
#:
#: .. versionadded:: 0.1.0
Source: TypeAlias = "str | os.PathLike[str] | IO[bytes] | IO[str] | Iterable[str]"

_TERMS_FIELDS = tuple(f.name for f in attrs.fields(Terms))
_COMMON = ("type", "id", "promise_id", "at", "recorded_at")


def _event_fields() -> tuple[str, ...]:
    names: list[str] = list(_COMMON)
    for cls in EVENT_TYPES.values():
        for field in attrs.fields(cls):
            if not field.init or field.name in names:
                continue
            if field.name == "terms":
                names.extend(f"terms.{name}" for name in _TERMS_FIELDS)
            else:
                names.append(field.name)
    return tuple(names)


#: The columns :func:`write_csv` writes, in order: every field of every event type
#: (``terms`` flattened as ``terms.quantity``…; ``metadata`` as a JSON object).
#:
#: .. versionadded:: 0.1.0
CSV_COLUMNS: tuple[str, ...] = _event_fields()

_KNOWN = frozenset(CSV_COLUMNS)
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


# --------------------------------------------------------------------------- mapping


def _str_table(value: object, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidTypeError(
            f"{where} must be a table of strings (got {type(value).__name__} {describe(value)})"
        )
    out: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str):
            raise InvalidTypeError(
                f"{where} must map strings to strings (got {describe(key)} = {describe(item)})"
            )
        out[key] = item
    return out


def _convert_columns(value: object) -> Mapping[str, str]:
    columns = _str_table(value, "'columns'")
    seen: dict[str, str] = {}
    for field, column in columns.items():
        _check_field(field, "'columns'")
        if column in seen:
            raise InvalidValueError(
                f"'columns' maps column {describe(column)} to two fields "
                f"({describe(seen[column])} and {field!r})"
            )
        seen[column] = field
    return types.MappingProxyType(columns)


def _convert_constants(value: object) -> Mapping[str, str]:
    constants = _str_table(value, "'constants'")
    for field in constants:
        _check_field(field, "'constants'")
    return types.MappingProxyType(constants)


def _convert_ignore(value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidTypeError(
            f"'ignore' must be a list of column names (got {type(value).__name__} "
            f"{describe(value)})"
        )
    out = tuple(value)
    for item in out:
        if not isinstance(item, str):
            raise InvalidTypeError(f"'ignore' must contain column names (got {describe(item)})")
    return out


def _convert_tz(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidTypeError(
            f"'tz' must be an IANA zone name (got {type(value).__name__} {describe(value)})"
        )
    _zone("tz", value)
    return value


def _check_field(field: str, where: str) -> None:
    if field in _KNOWN or (field.startswith("metadata.") and len(field) > len("metadata.")):
        return
    raise InvalidValueError(
        f"{where} names an unknown event field {field!r} (expected one of "
        f"{', '.join(CSV_COLUMNS)}, or metadata.<key>)"
    )


@attrs.frozen
class ColumnMapping:
    """How the columns of a source become event fields.

    Attributes:
        columns: Event field → source column. A column named like a field maps to it
            without an entry.
        constants: Event field → value (as text) for every row, for fields the source
            does not have (``{"type": "delivery_recorded"}``).
        tz: IANA zone of the timestamps without offset, or ``None`` to refuse them.
        ignore: Source columns to leave out deliberately (any other unknown column is
            an error).

    Raises:
        InvalidTypeError: A value has the wrong type.
        InvalidValueError: An unknown field, or a column mapped twice.
        UnknownTimeZoneError: ``tz`` is not an IANA zone.

    .. versionadded:: 0.1.0
    """

    columns: Mapping[str, str] = attrs.field(factory=dict, converter=_convert_columns)
    constants: Mapping[str, str] = attrs.field(factory=dict, converter=_convert_constants)
    tz: str | None = attrs.field(default=None, converter=_convert_tz)
    ignore: tuple[str, ...] = attrs.field(default=(), converter=_convert_ignore)

    def __attrs_post_init__(self) -> None:
        both = sorted(set(self.columns) & set(self.constants))
        if both:
            raise InvalidValueError(
                f"fields {both} are given both a column and a constant; keep one"
            )

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> ColumnMapping:
        """Read a mapping from a TOML file (see the module documentation).

        Args:
            path: The file.

        Returns:
            The mapping.

        Raises:
            MissingDependencyError: Python 3.10 without the ``tomli`` package.
            SchemaError: The file is not valid TOML or has unknown keys.
            InvalidTypeError: A value has the wrong type.
            InvalidValueError: An unknown field, or a column mapped twice.

        .. versionadded:: 0.1.0
        """
        return load_mapping(path)


def _tomllib() -> Any:
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib
    try:  # pragma: no cover - Python 3.10 only
        import tomli  # type: ignore[import-not-found,unused-ignore]
    except ImportError as exc:  # pragma: no cover - Python 3.10 only
        raise MissingDependencyError(
            "tomli", "toml", "Reading a TOML column mapping on Python 3.10"
        ) from exc
    return tomli  # pragma: no cover - Python 3.10 only


def load_mapping(path: str | os.PathLike[str]) -> ColumnMapping:
    """Read a :class:`ColumnMapping` from a TOML file.

    The file may have a top-level ``tz`` and tables ``[columns]``, ``[constants]``
    and ``[ignore]`` (with ``columns = [...]``); nothing else.

    Args:
        path: The TOML file.

    Returns:
        The mapping.

    Raises:
        MissingDependencyError: Python 3.10 without the ``tomli`` package.
        SchemaError: The file is not valid TOML (or UTF-8), or has unknown keys.
        InvalidTypeError: A value has the wrong type.
        InvalidValueError: An unknown field, or a column mapped twice.
        OSError: The file cannot be read.

    .. versionadded:: 0.1.0
    """
    toml = _tomllib()
    with open(path, "rb") as handle:
        raw = handle.read()
    try:
        data = toml.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise SchemaError(
            f"{os.fspath(path)!r} is not valid UTF-8 ({exc.reason})", path=None
        ) from None
    except toml.TOMLDecodeError as exc:
        raise SchemaError(f"{os.fspath(path)!r} is not valid TOML: {exc}", path=None) from None
    except (ValueError, RecursionError) as exc:
        # tomllib lets int() refuse a number of more than 4300 digits, and recurses on
        # nested arrays and tables.
        reason = "nested too deeply" if isinstance(exc, RecursionError) else "a number is too long"
        raise SchemaError(f"{os.fspath(path)!r} is not valid TOML: {reason}", path=None) from None
    unknown = sorted(set(data) - {"tz", "columns", "constants", "ignore"})
    if unknown:
        raise SchemaError(
            f"{os.fspath(path)!r} has unknown keys {unknown} (expected tz, [columns], "
            f"[constants], [ignore])",
            path=None,
        )
    ignore = data.get("ignore", {})
    if not isinstance(ignore, dict) or set(ignore) - {"columns"}:
        raise SchemaError(
            f"{os.fspath(path)!r}: [ignore] must only have 'columns = [...]'", path=None
        )
    return ColumnMapping(
        columns=data.get("columns", {}),
        constants=data.get("constants", {}),
        tz=data.get("tz"),
        ignore=ignore.get("columns", ()),
    )


def _resolve_mapping(
    mapping: ColumnMapping | Mapping[str, str] | str | os.PathLike[str] | None,
    tz: str | tzinfo | None,
) -> tuple[ColumnMapping, tzinfo | None]:
    if mapping is None:
        resolved = ColumnMapping()
    elif isinstance(mapping, ColumnMapping):
        resolved = mapping
    elif isinstance(mapping, Mapping):
        resolved = ColumnMapping(columns=mapping)
    elif isinstance(mapping, (str, os.PathLike)):
        resolved = load_mapping(mapping)
    else:
        raise InvalidTypeError(
            f"'mapping' must be a dict of field to column, a ColumnMapping or a TOML path "
            f"(got {type(mapping).__name__} {describe(mapping)})"
        )
    if tz is not None and resolved.tz is not None and _zone("tz", tz) != _zone("tz", resolved.tz):
        raise InvalidValueError(
            f"'tz' ({tz!s}) contradicts the mapping's tz ({describe(resolved.tz)}); give one"
        )
    zone = tz if tz is not None else resolved.tz
    return resolved, None if zone is None else _zone("tz", zone)


def _zone(field: str, tz: str | tzinfo) -> tzinfo:
    return _coerce_zone(field, tz)


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

    def __init__(self, mapping: ColumnMapping, zone: tzinfo | None, unescape: bool) -> None:
        self.mapping = mapping
        self.zone = zone
        self.unescape = unescape
        self.field_of = {column: field for field, column in mapping.columns.items()}
        self.column_of = dict(mapping.columns)

    def column_field(self, column: str) -> str | None:
        """The field a source column maps to, or ``None`` if the column is unknown."""
        field = self.field_of.get(column)
        if field is not None:
            return field
        if column in self.mapping.columns:
            return None  # renamed: the column name now belongs to another field
        if (
            column in _KNOWN
            or column == "terms"
            or (column.startswith("metadata.") and len(column) > 9)
        ):
            return column
        return None

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
        kwargs: dict[str, Any] = {}
        terms: dict[str, Any] = {}
        metadata: dict[str, str] = {}
        for field, value in present.items():
            if field == "type":
                continue
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
                        _TERMS_HINTS[field[6:]], value, field, text, self.zone
                    )
                elif field == "terms":
                    terms.update(_terms_object(value, text, self.zone))
                elif field.startswith("metadata."):
                    metadata[field[9:]] = _parse_value(str, value, field, text, self.zone)
                elif field == "metadata":
                    metadata.update(_metadata_object(value, text))
                else:
                    kwargs[field] = _parse_value(hints[field], value, field, text, self.zone)
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


def _json_object(value: str, field: str) -> Any:
    try:
        return _json.decode(value, parse_float=Decimal)
    except _json.DuplicateKeyError as exc:
        raise InvalidValueError(f"{field!r}: {exc}") from None
    except _json.JSONSyntaxError:
        raise InvalidValueError(
            f"{field!r} must be a JSON object in the cell (got {_shown(value)})"
        ) from None


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


def _csv_rows(lines: Iterator[str], builder: _RowBuilder) -> Iterator[Event | RowError]:
    reader = csv.reader(lines, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise SchemaError(f"line 1: the CSV header cannot be read: {exc}", path=None) from None
    bad = [column for column in header if _bad_text(column)]
    if bad:
        raise SchemaError(
            f"line 1: the CSV header has invalid UTF-8 in {describe(bad[0])}", path=None
        )
    duplicates = sorted({c for c in header if header.count(c) > 1})
    if duplicates:
        raise SchemaError(f"line 1: the CSV header repeats columns {duplicates}", path=None)
    fields: list[str | None] = []
    unknown = []
    for column in header:
        field = builder.column_field(column)
        if field is None and column not in builder.mapping.ignore:
            unknown.append(column)
        fields.append(field)
    if unknown:
        raise SchemaError(
            f"line 1: unknown columns {unknown}: map them to event fields "
            f"(mapping={{field: column}}) or list them in the mapping's ignore",
            path=None,
        )
    targets = [f for f in fields if f is not None]
    twice = sorted({f for f in targets if targets.count(f) > 1})
    if twice:
        raise SchemaError(f"line 1: several columns map to the fields {twice}", path=None)
    width = len(header)
    last = reader.line_num
    while True:
        start = last + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            last = reader.line_num
            yield RowError(start, None, f"malformed CSV: {exc}")
            continue
        last = reader.line_num
        if not row:
            continue  # a blank line carries nothing
        if len(row) != width:
            yield RowError(start, None, f"expected {width} cells like the header (got {len(row)})")
            continue
        cells = {f: (v, c) for f, v, c in zip(fields, row, header, strict=True) if f is not None}
        result = builder.build(start, cells, text=True)
        if isinstance(result, list):
            yield from result
        else:
            yield result


def _jsonl_rows(lines: Iterator[str], builder: _RowBuilder) -> Iterator[Event | RowError]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if _bad_text(line):
            yield RowError(number, None, "invalid UTF-8 in the line")
            continue
        data = _decode_line(number, line, builder, Decimal)
        if isinstance(data, RowError):
            yield data
            continue
        if not isinstance(data, dict):
            yield RowError(number, None, f"expected a JSON object (got {type(data).__name__})")
            continue
        if "schema" in data:
            # A promisekit document: read again with float numbers for the strict reader.
            yield _document(number, _decode_line(number, line, builder, None))
            continue
        cells: dict[str, tuple[Any, str]] = {}
        bad_key = None
        for key, value in data.items():
            field = builder.column_field(key)
            if field is None:
                if key not in builder.mapping.ignore:
                    bad_key = key
                    break
                continue
            if field in cells:
                bad_key = key
                break
            cells[field] = (value, key)
        if bad_key is not None:
            yield RowError(
                number,
                None,
                f"unknown or repeated key {describe(bad_key)}: map it to an event field or list it "
                f"in the mapping's ignore",
                bad_key,
            )
            continue
        result = builder.build(number, cells, text=False)
        if isinstance(result, list):
            yield from result
        else:
            yield result


def _decode_line(
    number: int, line: str, builder: _RowBuilder, parse_float: Callable[[str], Any] | None
) -> Any:
    """The JSON value of one line, or a :class:`RowError` (bad JSON, a repeated key…)."""
    try:
        return _json.decode(line, parse_float=parse_float)
    except _json.DuplicateKeyError as exc:
        return RowError(number, builder.column_field(exc.key), str(exc), exc.key)
    except _json.JSONSyntaxError as exc:
        where = "" if exc.colno is None else f" (column {exc.colno})"
        return RowError(number, None, f"not valid JSON: {exc.reason}{where}")


def _document(number: int, data: Any) -> Event | RowError:
    if isinstance(data, RowError):
        return data
    try:
        return from_dict(data, Event)
    except SchemaError as exc:
        path = exc.path or "$"
        field = path[2:].split(".")[0].split("[")[0] or None
        return RowError(number, field, str(exc))


def iter_rows(
    source: Source,
    *,
    format: Literal["csv", "jsonl"] = "csv",
    mapping: ColumnMapping | Mapping[str, str] | str | os.PathLike[str] | None = None,
    tz: str | tzinfo | None = None,
    unescape_formulas: bool = False,
) -> Iterator[Event | RowError]:
    """Stream the rows of a CSV or JSON Lines source as events and row errors.

    One row is held at a time: the memory used does not grow with the source.

    Args:
        source: A path, a binary or text file object, or an iterable of text lines.
        format: ``"csv"`` (a header row, then one event per row) or ``"jsonl"`` (one
            JSON object per line).
        mapping: Event field → source column (a dict), a :class:`ColumnMapping`, or
            the path of a TOML mapping file; ``None`` when columns are named like the
            fields.
        tz: IANA zone (or ``tzinfo``) of timestamps without offset; ``None`` makes
            them row errors.
        unescape_formulas: Undo :func:`write_csv`'s formula escaping in CSV cells
            (only for files written that way).

    Yields:
        An :class:`~promisekit.ledger.Event` for each good row, a :class:`RowError`
        for each problem of a bad row, in source order.

    Raises:
        SchemaError: The CSV header is unreadable, repeats a column or has an unknown
            column (raised before the first row).
        InvalidTypeError: A bad argument.
        InvalidValueError: A bad argument.
        OSError: The file cannot be read.

    Example:
        .. code-block:: python

            for item in iter_rows("export.csv", mapping="crm-mapping.toml"):
                if isinstance(item, RowError):
                    log.warning("skipped %s", item)
                else:
                    ledger.append(item)

    .. versionadded:: 0.1.0
    """
    if format not in ("csv", "jsonl"):
        raise InvalidValueError(f"'format' must be 'csv' or 'jsonl' (got {describe(format)})")
    if not isinstance(unescape_formulas, bool):
        raise InvalidTypeError(
            f"'unescape_formulas' must be a bool (got {describe(unescape_formulas)})"
        )
    resolved, zone = _resolve_mapping(mapping, tz)
    builder = _RowBuilder(resolved, zone, unescape_formulas and format == "csv")
    lines = _lines(source)
    if format == "csv":
        yield from _csv_rows(lines, builder)
    else:
        yield from _jsonl_rows(lines, builder)


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


def load_csv(
    source: Source,
    *,
    mapping: ColumnMapping | Mapping[str, str] | str | os.PathLike[str] | None = None,
    tz: str | tzinfo | None = None,
    unescape_formulas: bool = False,
) -> LoadResult:
    """Read a CSV source into a :class:`LoadResult` (see :func:`iter_rows`).

    Raises:
        SchemaError: The header is unreadable, repeats a column or has an unknown one.
        OSError: The file cannot be read.

    .. versionadded:: 0.1.0
    """
    return _collect(
        iter_rows(source, format="csv", mapping=mapping, tz=tz, unescape_formulas=unescape_formulas)
    )


def load_jsonl(
    source: Source,
    *,
    mapping: ColumnMapping | Mapping[str, str] | str | os.PathLike[str] | None = None,
    tz: str | tzinfo | None = None,
) -> LoadResult:
    """Read a JSON Lines source into a :class:`LoadResult` (see :func:`iter_rows`).

    Raises:
        OSError: The file cannot be read.

    .. versionadded:: 0.1.0
    """
    return _collect(iter_rows(source, format="jsonl", mapping=mapping, tz=tz))


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


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return escape_formula(value)
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, bool):  # pragma: no cover - events have no bool field
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _row(event: Event) -> dict[str, str]:
    row = {"type": event.event_type}
    for field in attrs.fields(type(event)):
        if not field.init:
            continue
        value = getattr(event, field.name)
        if field.name == "terms":
            if value is not None:
                for name in _TERMS_FIELDS:
                    row[f"terms.{name}"] = _cell(getattr(value, name))
        elif field.name == "metadata":
            if value:
                row["metadata"] = escape_formula(
                    json.dumps(dict(sorted(value.items())), ensure_ascii=False)
                )
        else:
            row[field.name] = _cell(value)
    return row


def _open_for_writing(dest: str | os.PathLike[str] | IO[str]) -> tuple[IO[str], bool]:
    if isinstance(dest, (str, os.PathLike)):
        return open(dest, "w", encoding="utf-8", newline=""), True
    if not hasattr(dest, "write"):
        raise InvalidTypeError(
            f"'dest' must be a path or a text file object (got {type(dest).__name__} "
            f"{describe(dest)})"
        )
    return dest, False


def write_csv(events: Iterable[Event], dest: str | os.PathLike[str] | IO[str]) -> int:
    """Write events as CSV with the :data:`CSV_COLUMNS` header, escaping formulas.

    Streaming: events are written as they come. A file object should be opened with
    ``newline=""``.

    Args:
        events: The events.
        dest: A path (written as UTF-8) or a text file object.

    Returns:
        The number of rows written.

    Raises:
        InvalidTypeError: An item is not an event, or ``dest`` is not writable.

    .. versionadded:: 0.1.0
    """
    handle, owned = _open_for_writing(dest)
    try:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
        writer.writeheader()
        count = 0
        for index, event in enumerate(events):
            if not isinstance(event, Event):
                raise InvalidTypeError(
                    f"'events' must contain only Event instances "
                    f"(got {type(event).__name__} at index {index})"
                )
            writer.writerow(_row(event))
            count += 1
        return count
    finally:
        if owned:
            handle.close()


def write_jsonl(events: Iterable[Event], dest: str | os.PathLike[str] | IO[str]) -> int:
    """Write events as JSON Lines: one promisekit document per line.

    Args:
        events: The events.
        dest: A path (written as UTF-8) or a text file object.

    Returns:
        The number of lines written.

    Raises:
        InvalidTypeError: An item is not an event, or ``dest`` is not writable.

    .. versionadded:: 0.1.0
    """
    handle, owned = _open_for_writing(dest)
    try:
        count = 0
        for index, event in enumerate(events):
            if not isinstance(event, Event):
                raise InvalidTypeError(
                    f"'events' must contain only Event instances "
                    f"(got {type(event).__name__} at index {index})"
                )
            handle.write(to_json(event) + "\n")
            count += 1
        return count
    finally:
        if owned:
            handle.close()
