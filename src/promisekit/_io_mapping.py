"""Column mappings: how the columns of a CRM export become event fields.

Private to :mod:`promisekit.io`, which re-exports :class:`ColumnMapping`,
:func:`load_mapping` and :data:`CSV_COLUMNS`.
"""

from __future__ import annotations

import json
import os
import sys
import types
from collections.abc import Iterable, Mapping
from datetime import tzinfo
from typing import Any

import attrs

from promisekit._serialize_codecs import _coerce_zone
from promisekit._validation import describe, describe_names
from promisekit.errors import (
    InvalidTypeError,
    InvalidValueError,
    MissingDependencyError,
)
from promisekit.ledger import EVENT_TYPES
from promisekit.promise import Terms
from promisekit.serialize import (
    SchemaError,
)

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
    for field in columns:
        _check_field(field, "'columns'")
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
        f"{where} names an unknown event field {describe(field)} (expected one of "
        f"{', '.join(CSV_COLUMNS)}, or metadata.<key>)"
    )


def check_column_or_constant(columns: Mapping[str, str], constants: Mapping[str, str]) -> None:
    """Refuse a field given both a column and a constant (column and wide mappings)."""
    both = sorted(set(columns) & set(constants))
    if both:
        raise InvalidValueError(
            f"fields {describe_names(both)} are given both a column and a constant; keep one"
        )


@attrs.frozen
class ColumnMapping:
    """How the columns of a source become event fields.

    Attributes:
        columns: Event field → source column. A column named like a field maps to it
            without an entry; several fields may name the same column (``promise_id``
            and ``customer_id`` both from ``Ticket``).
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
        check_column_or_constant(self.columns, self.constants)

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
    """Read a :class:`ColumnMapping` from a TOML file (or a JSON one, named ``*.json``).

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
    data = mapping_data(path)
    if "wide" in data:
        raise SchemaError(
            f"{os.fspath(path)!r} is a wide mapping (it has a [wide] table): read wide "
            f"exports with promisekit.io.load_wide",
            path=None,
        )
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


def mapping_data(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The table of a TOML (or, for ``.json``, JSON) mapping file."""
    name = os.fspath(path)
    with open(path, "rb") as handle:
        raw = handle.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SchemaError(f"{name!r} is not valid UTF-8 ({exc.reason})", path=None) from None
    if name.lower().endswith(".json"):
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise SchemaError(
                f"{name!r} is not valid JSON: {describe(str(exc))}", path=None
            ) from None
        if not isinstance(data, dict):
            raise SchemaError(f"{name!r} must hold a JSON object", path=None)
        return data
    toml = _tomllib()
    try:
        parsed: dict[str, Any] = toml.loads(text)
    except toml.TOMLDecodeError as exc:
        raise SchemaError(f"{name!r} is not valid TOML: {exc}", path=None) from None
    except (ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else "a number is too long"
        raise SchemaError(f"{name!r} is not valid TOML: {reason}", path=None) from None
    return parsed


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
