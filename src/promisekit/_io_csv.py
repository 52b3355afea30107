"""CSV: reading rows (with their header and line numbers) and writing events.

Private to :mod:`promisekit.io`, which re-exports :func:`write_csv` and reads CSV
through :func:`~promisekit.io.iter_rows`.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import IO, Any

import attrs

from promisekit._io_fast import _CsvPlan
from promisekit._io_mapping import _TERMS_FIELDS, CSV_COLUMNS
from promisekit._io_rows import RowError, _bad_text, _open_for_writing, _RowBuilder, escape_formula
from promisekit._validation import describe, describe_names
from promisekit.errors import (
    InvalidTypeError,
)
from promisekit.ledger import Event
from promisekit.serialize import (
    SchemaError,
    format_datetime,
)


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
        raise SchemaError(
            f"line 1: the CSV header repeats columns [{describe_names(duplicates)}]", path=None
        )
    fields: list[tuple[str, ...]] = []
    unknown = []
    for column in header:
        names = builder.column_fields(column)
        if not names and column not in builder.mapping.ignore:
            unknown.append(column)
        fields.append(names)
    if unknown:
        raise SchemaError(
            f"line 1: unknown columns [{describe_names(unknown)}]: map them to event fields "
            f"(mapping={{field: column}}) or list them in the mapping's ignore (an export "
            f"with one row per promise is read with a wide mapping: load_wide)",
            path=None,
        )
    targets = [f for names in fields for f in names]
    pairs = [(f, i) for i, names in enumerate(fields) for f in names]
    twice = sorted({f for f in targets if targets.count(f) > 1})
    if twice:
        raise SchemaError(f"line 1: several columns map to the fields {twice}", path=None)
    width = len(header)
    plan = _CsvPlan(builder, header, pairs)
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
        result = plan.event(row, start)
        if result is None:  # not a plain row: the general builder judges it
            result = builder.build(start, {f: (row[i], header[i]) for f, i in pairs}, text=True)
        if isinstance(result, list):
            yield from result
        else:
            yield result


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
        elif field.name == "document":
            if value is not None:
                row["document"] = escape_formula(json.dumps(value, ensure_ascii=False))
        else:
            row[field.name] = _cell(value)
    return row


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
