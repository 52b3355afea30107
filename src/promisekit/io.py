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

**Wide exports.** An export with one row per promise (placed, due, delivered — empty
while open —, a score, a region…) is read by :func:`load_wide` with a
:class:`WideMapping` (or a mapping file with a ``[wide]`` table instead of
``[columns]``, see :func:`load_wide_mapping`): several fields may share a column,
other columns are ignored and listed, and the rows are checked column by column with
the rules above, at the speed of ``pandas.read_csv``. A mapping file may also be JSON
(named ``*.json``, the same tables as objects). A constant applies to the rows whose
event type has the field (a constant ``kind`` fills ``promise_made`` rows only).

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

import os
from collections.abc import Iterator, Mapping
from datetime import tzinfo
from typing import Literal

from promisekit._io_columnar import load_wide as _load_wide
from promisekit._io_csv import _csv_rows, write_csv
from promisekit._io_jsonl import _jsonl_rows, write_jsonl
from promisekit._io_mapping import CSV_COLUMNS, ColumnMapping, _resolve_mapping, load_mapping
from promisekit._io_rows import (
    LoadResult,
    RowError,
    Source,
    _collect,
    _lines,
    _RowBuilder,
    escape_formula,
    unescape_formula,
)
from promisekit._io_wide import WIDE_FIELDS, WideMapping, WideResult, load_wide_mapping
from promisekit._validation import describe
from promisekit.errors import (
    InvalidTypeError,
    InvalidValueError,
)
from promisekit.ledger import Event

__all__ = [
    "CSV_COLUMNS",
    "WIDE_FIELDS",
    "ColumnMapping",
    "LoadResult",
    "RowError",
    "Source",
    "WideMapping",
    "WideResult",
    "escape_formula",
    "iter_rows",
    "load_csv",
    "load_jsonl",
    "load_mapping",
    "load_wide",
    "load_wide_mapping",
    "unescape_formula",
    "write_csv",
    "write_jsonl",
]


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


def load_wide(
    source: Source,
    *,
    mapping: WideMapping | str | os.PathLike[str] | None = None,
    tz: str | tzinfo | None = None,
) -> WideResult:
    """Read a **wide** CSV export: one row per promise, with its delivery and a score.

    Many CRM and e-commerce exports have one row per order: when it was placed, when it
    was due, when it was delivered (empty while open), a review score, the customer's
    region… A :class:`WideMapping` (or a mapping file with a ``[wide]`` table, see
    :func:`load_wide_mapping`) names the columns of the fields in
    :data:`WIDE_FIELDS`; several fields may share a column, columns named like a field
    need no entry, and every other column is ignored (listed in
    :attr:`WideResult.ignored`).

    The file is read with ``pandas.read_csv`` and validated column by column (the
    ``analysis`` extra): the rules are those of :func:`iter_rows` (no guessed zone, no
    coerced number), the speed that of pandas. A bad row is left out with a
    :class:`RowError` per problem.

    Args:
        source: A path, a binary or text file object, or an iterable of text lines.
        mapping: A :class:`WideMapping`, the path of a wide mapping file, or ``None``
            when the columns are named like the fields.
        tz: IANA zone (or ``tzinfo``) of timestamps without offset.

    Returns:
        A :class:`WideResult`; ``PromiseBook.from_frame(result.frame, now=...,
        columns={"completed_at": "delivered_at"})`` turns it into a book.

    Raises:
        SchemaError: The header is unreadable or repeats a column, the mapping names a
            column it does not have, or there is no column for ``made_at`` or ``due``.
        MissingDependencyError: pandas is not installed.
        OSError: The file cannot be read.

    .. versionadded:: 0.1.0
    """
    return _load_wide(source, mapping=mapping, tz=tz)
