"""JSON Lines: reading rows and promisekit documents, and writing events.

Private to :mod:`promisekit.io`, which re-exports :func:`write_jsonl` and reads JSON
Lines through :func:`~promisekit.io.iter_rows`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import IO, Any

from promisekit import _json
from promisekit._io_fast import _JsonPlan
from promisekit._io_rows import RowError, _bad_text, _open_for_writing, _RowBuilder
from promisekit._validation import describe
from promisekit.errors import (
    InvalidTypeError,
)
from promisekit.ledger import Event
from promisekit.serialize import (
    SchemaError,
    from_dict,
    to_json,
)


def _jsonl_rows(lines: Iterator[str], builder: _RowBuilder) -> Iterator[Event | RowError]:
    plan = _JsonPlan(builder)
    fields_of: dict[str, tuple[str, ...]] = {}  # key → fields, as builder.column_fields says
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
            names = fields_of.get(key)
            if names is None:
                names = builder.column_fields(key)
                if len(fields_of) < 1024:
                    fields_of[key] = names
            if not names:
                if key not in builder.mapping.ignore:
                    bad_key = key
                    break
                continue
            if len(names) == 1:
                if names[0] in cells:
                    bad_key = key
                    break
                cells[names[0]] = (value, key)
                continue
            if any(field in cells for field in names):
                bad_key = key
                break
            for field in names:
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
        result = plan.event(cells, number)
        if result is None:  # not a plain row: the general builder judges it
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
