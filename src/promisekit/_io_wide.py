"""Wide exports: one row per promise, carrying its delivery and an optional score.

Private to :mod:`promisekit.io`, which re-exports :class:`WideMapping`,
:class:`WideResult` and :data:`WIDE_FIELDS`; the reader is in ``_io_columnar``.
"""

from __future__ import annotations

import os
import types
from collections.abc import Mapping
from typing import Any

import attrs

from promisekit._io_mapping import (
    _convert_ignore,
    _convert_tz,
    _str_table,
    check_column_or_constant,
    mapping_data,
)
from promisekit._io_rows import RowError
from promisekit._validation import describe, describe_names
from promisekit.errors import InvalidValueError
from promisekit.serialize import SchemaError

#: The fields of a wide row: text fields, instants and the score. ``made_at`` and
#: ``due`` are required; ``promise_id`` defaults to ``line-N`` (N the line number),
#: ``customer_id`` to the promise id, ``kind`` to ``"promise"``; an empty
#: ``delivered_at`` is an open promise; ``recorded_at`` is optional and unused by the
#: reports; ``metadata.<key>`` columns are kept as text.
#:
#: .. versionadded:: 0.1.0
WIDE_FIELDS: tuple[str, ...] = (
    "promise_id",
    "customer_id",
    "kind",
    "segment",
    "owner",
    "commitment",
    "made_at",
    "due",
    "target",
    "delivered_at",
    "recorded_at",
    "score",
)
TEXT_FIELDS = ("promise_id", "customer_id", "kind", "segment", "owner", "commitment")
TIME_FIELDS = ("made_at", "due", "target", "delivered_at", "recorded_at")


def _is_field(field: str) -> bool:
    return field in WIDE_FIELDS or (field.startswith("metadata.") and len(field) > 9)


def _check_fields(table: Mapping[str, str], where: str) -> None:
    for field in table:
        if not _is_field(field):
            raise InvalidValueError(
                f"{where} names an unknown field {describe(field)} of a wide row (expected "
                f"one of {', '.join(WIDE_FIELDS)}, or metadata.<key>)"
            )


def _convert_wide_columns(value: object) -> Mapping[str, str]:
    columns = _str_table(value, "'columns'")
    _check_fields(columns, "'columns'")
    return types.MappingProxyType(columns)


def _convert_wide_constants(value: object) -> Mapping[str, str]:
    constants = _str_table(value, "'constants'")
    _check_fields(constants, "'constants'")
    for field in constants:
        if field in TIME_FIELDS or field == "score":
            raise InvalidValueError(
                f"'constants' cannot give {describe(field)}: it differs from row to row"
            )
    return types.MappingProxyType(constants)


@attrs.frozen
class WideMapping:
    """How the columns of a wide export (one row per promise) become promise fields.

    Attributes:
        columns: Field → source column (see :data:`WIDE_FIELDS`). Several fields may
            name the same column (``promise_id`` and ``customer_id`` both from
            ``order_id``); a column named like a field needs no entry.
        constants: Field → text for every row (``kind = "delivery"``).
        tz: IANA zone of timestamps without offset, or ``None`` to refuse them.
        ignore: Source columns left out on purpose; other unused columns are ignored
            too, and listed in :attr:`WideResult.ignored`.

    Raises:
        InvalidTypeError: A value has the wrong type.
        InvalidValueError: An unknown field, a field given twice, or a constant for
            an instant or the score.

    .. versionadded:: 0.1.0
    """

    columns: Mapping[str, str] = attrs.field(factory=dict, converter=_convert_wide_columns)
    constants: Mapping[str, str] = attrs.field(factory=dict, converter=_convert_wide_constants)
    tz: str | None = attrs.field(default=None, converter=_convert_tz)
    ignore: tuple[str, ...] = attrs.field(default=(), converter=_convert_ignore)

    def __attrs_post_init__(self) -> None:
        check_column_or_constant(self.columns, self.constants)

    def column_of(self, field: str, header: tuple[str, ...]) -> str | None:
        """The source column of ``field`` in ``header``, or ``None``."""
        column = self.columns.get(field)
        if column is not None:
            return column
        renamed = set(self.columns.values())
        if field in header and field not in renamed and field not in self.constants:
            return field
        return None


@attrs.frozen
class WideResult:
    """The outcome of reading a wide export.

    Attributes:
        frame: A pandas DataFrame, one row per good source row (in source order):
            the text fields (``segment``, ``owner``… ``None`` where empty), the instants
            as UTC ``datetime64[us, UTC]`` (``NaT`` where empty: an empty
            ``delivered_at`` is an open promise), ``score`` (float, NaN where empty),
            ``metadata.<key>`` text columns, and ``line`` (the source line number).
        errors: One :class:`~promisekit.io.RowError` per problem of a bad row.
        rows: How many data rows were read (good and bad).
        ignored: Source columns neither mapped nor listed in the mapping's ``ignore``.

    .. versionadded:: 0.1.0
    """

    frame: Any
    errors: tuple[RowError, ...]
    rows: int
    ignored: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when every row was imported."""
        return not self.errors

    @property
    def bad_lines(self) -> tuple[int, ...]:
        """Line numbers of the bad rows, sorted, without repeats."""
        return tuple(sorted({error.line for error in self.errors}))


def wide_mapping_from(data: Mapping[str, Any], name: str) -> WideMapping:
    """A :class:`WideMapping` from the table of a mapping file with a ``[wide]`` table."""
    unknown = sorted(set(data) - {"tz", "wide", "constants", "ignore"})
    if unknown:
        raise SchemaError(
            f"{name!r} has unknown keys {describe_names(unknown)} for a wide mapping "
            f"(expected tz, [wide], [constants], [ignore])",
            path=None,
        )
    wide = data.get("wide", {})
    if isinstance(wide, dict):
        nested = sorted(key for key, value in wide.items() if isinstance(value, dict))
        if nested:
            raise SchemaError(
                f"{name!r}: [wide] maps each field to its source column, one per line "
                f'(made_at = "purchased"); {describe_names(nested)} holds a table: write '
                f"its entries directly under [wide]"
                + (" and constants under [constants]" if "constants" in nested else ""),
                path=None,
            )
    ignore = data.get("ignore", {})
    if not isinstance(ignore, dict) or set(ignore) - {"columns"}:
        raise SchemaError(f"{name!r}: [ignore] must only have 'columns = [...]'", path=None)
    return WideMapping(
        columns=data.get("wide", {}),
        constants=data.get("constants", {}),
        tz=data.get("tz"),
        ignore=ignore.get("columns", ()),
    )


def load_wide_mapping(path: str | os.PathLike[str]) -> WideMapping:
    """Read a :class:`WideMapping` from a TOML (or ``.json``) file with a ``[wide]`` table.

    .. code-block:: toml

        tz = "America/Sao_Paulo"       # optional
        [wide]                         # field = "source column"
        promise_id = "order_id"
        customer_id = "order_id"
        made_at = "order_purchase_timestamp"
        due = "order_estimated_delivery_date"
        delivered_at = "order_delivered_customer_date"
        score = "review_score"
        segment = "customer_state"
        [constants]
        kind = "delivery"

    Raises:
        SchemaError: The file is not valid TOML / JSON, or has unknown keys or no
            ``[wide]`` table.
        InvalidTypeError: A value has the wrong type.
        InvalidValueError: An unknown field.
        OSError: The file cannot be read.

    .. versionadded:: 0.1.0
    """
    data = mapping_data(path)
    if "wide" not in data:
        raise SchemaError(
            f"{os.fspath(path)!r} has no [wide] table: it is not a wide mapping", path=None
        )
    return wide_mapping_from(data, os.fspath(path))
