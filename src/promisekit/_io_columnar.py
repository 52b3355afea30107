"""The columnar reader of wide CSV exports: ``pandas.read_csv`` and vectorized checks.

Private to :mod:`promisekit.io` (:func:`~promisekit.io.load_wide`). Every cell is read
as text, then each column is validated at once: timestamps in the common RFC 3339
shapes are parsed by pandas, and only the cells pandas cannot place (a bad date, a
zone in brackets, a local time skipped or repeated by a daylight-saving change, no
offset and no zone…) go through :func:`promisekit.serialize.parse_datetime` one by
one, which either reads them exactly or says why not. So the result is the same as
reading each row with the rules of :mod:`promisekit.io`, at the speed of pandas.
"""

from __future__ import annotations

import csv
import io as _stdio
import os
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

from promisekit._io_mapping import _zone
from promisekit._io_rows import _FLOAT_RE, RowError, _shown
from promisekit._io_wide import (
    TEXT_FIELDS,
    TIME_FIELDS,
    WideMapping,
    WideResult,
    load_wide_mapping,
)
from promisekit._validation import describe, describe_names
from promisekit.errors import (
    InvalidTypeError,
    InvalidValueError,
    MissingDependencyError,
    PromiseKitError,
)
from promisekit.serialize import SchemaError, parse_datetime

_FAST_BASE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?"
_WITH_OFFSET = _FAST_BASE + r"(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_NAT = -(2**63)
_FIRST_US = -62135596800000000  # 0001-01-01T00:00Z
_LAST_US = 253402300799999999  # 9999-12-31T23:59:59.999999Z
_US = timedelta(microseconds=1)


def _pandas() -> Any:
    try:
        import pandas
    except ImportError:
        raise MissingDependencyError("pandas", "analysis", "Reading a wide export") from None
    return pandas


def _raw(source: Any) -> bytes:
    """The bytes of a source (a path, a file object, or an iterable of text lines)."""
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as handle:
            return handle.read()
    if hasattr(source, "read"):
        data = source.read()
        return data.encode("utf-8", "surrogateescape") if isinstance(data, str) else bytes(data)
    if isinstance(source, Iterable) and not isinstance(source, (bytes, bytearray)):
        lines = []
        for line in source:
            if not isinstance(line, str):
                raise InvalidTypeError(f"'source' must yield text lines (got {describe(line)})")
            lines.append(line)
        return "".join(lines).encode("utf-8", "surrogateescape")
    raise InvalidTypeError(
        f"'source' must be a path, a file object or an iterable of lines "
        f"(got {type(source).__name__} {describe(source)})"
    )


def _header(text: str) -> tuple[str, ...]:
    try:
        return tuple(next(csv.reader(_stdio.StringIO(text), strict=True), []))
    except csv.Error as exc:
        raise SchemaError(f"line 1: the CSV header cannot be read: {exc}", path=None) from None


def _by_reader(
    text: str, used: list[str], header: tuple[str, ...]
) -> tuple[Any, Any, list[RowError]]:
    """The slow, exact way: csv.reader, one record at a time (odd files)."""
    reader = csv.reader(_stdio.StringIO(text), strict=True)
    next(reader)
    index = [header.index(c) for c in used]
    columns: list[list[str]] = [[] for _ in used]
    lines: list[int] = []
    errors: list[RowError] = []
    last = reader.line_num
    while True:
        start = last + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            last = reader.line_num
            errors.append(RowError(start, None, f"malformed CSV: {exc}"))
            continue
        last = reader.line_num
        if not row:
            continue
        if len(row) != len(header):
            errors.append(
                RowError(
                    start, None, f"expected {len(header)} cells like the header (got {len(row)})"
                )
            )
            continue
        lines.append(start)
        for out, i in zip(columns, index, strict=True):
            out.append(row[i])
    return dict(zip(used, columns, strict=True)), lines, errors


def _records(raw: bytes) -> tuple[Any, Any]:
    """Start line and cell count of each non-blank record after the header.

    Vectorized over the bytes: a ``"`` toggles quoting (a doubled ``""`` toggles twice),
    and only newlines and commas outside quotes end records and cells, as in RFC 4180.
    """
    import numpy as np

    arr = np.frombuffer(raw, dtype=np.uint8)
    newline = arr == 10
    if b'"' in raw:
        outside = (np.cumsum(arr == 34, dtype=np.uint8) & 1) == 0  # parity survives overflow
        ends = np.flatnonzero(newline & outside)
        commas = np.flatnonzero((arr == 44) & outside)
    else:
        ends = np.flatnonzero(newline)
        commas = np.flatnonzero(arr == 44)
    all_newlines = ends if b'"' not in raw else np.flatnonzero(newline)
    if len(arr) and not (len(ends) and ends[-1] == len(arr) - 1):
        ends = np.append(ends, len(arr))
    starts = np.concatenate(([0], ends[:-1] + 1))
    cells = np.searchsorted(commas, ends) - np.searchsorted(commas, starts) + 1
    stop = ends.copy()
    crlf = (stop > starts) & (arr[np.minimum(stop, len(arr)) - 1] == 13)
    stop[crlf] -= 1
    blank = stop == starts
    lines = np.searchsorted(all_newlines, starts) + 1
    keep = ~blank
    keep[0] = False  # the header
    return lines[keep], cells[keep]


def _read(raw: bytes, used: list[str], header: tuple[str, ...]) -> tuple[Any, Any, list[RowError]]:
    """Text columns, line numbers and the errors of malformed records."""
    pd = _pandas()
    import numpy as np

    try:
        frame = pd.read_csv(
            _stdio.BytesIO(raw),
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            usecols=used,
            encoding="utf-8",
            encoding_errors="surrogateescape",
            skip_blank_lines=True,
        )
    except (pd.errors.ParserError, ValueError):
        frame = None
    if frame is not None and raw.count(b"\r") == raw.count(b"\r\n"):
        lines, cells = _records(raw)
        if len(lines) == len(frame):
            width = len(header)
            good = cells == width
            errors = [
                RowError(int(line), None, f"expected {width} cells like the header (got {n})")
                for line, n in zip(lines[~good], cells[~good], strict=True)
            ]
            if errors:
                frame = frame[good].reset_index(drop=True)
            return {c: frame[c] for c in used}, lines[good], errors
    text = raw.decode("utf-8", "surrogateescape")
    columns, found, errors = _by_reader(text, used, header)
    return {c: pd.Series(v, dtype=object) for c, v in columns.items()}, np.array(found), errors


def _to_us(moment: datetime) -> int:
    return (moment - _EPOCH) // _US


class _Checker:
    def __init__(self, lines: Any, size: int, zone: tzinfo | None) -> None:
        import numpy as np

        self.lines = lines
        self.bad = np.zeros(size, dtype=bool)
        self.errors: list[RowError] = []
        self.zone = zone

    def fail(self, row: int, field: str, reason: str, column: str | None) -> None:
        self.bad[row] = True
        self.errors.append(RowError(int(self.lines[row]), field, reason, column))

    def times(self, field: str, column: str, cells: Any, required: bool) -> Any:
        """µs since the epoch (``_NAT`` when empty); bad cells become errors."""
        pd = _pandas()
        import numpy as np

        out = np.full(len(cells), _NAT, dtype=np.int64)
        empty = (cells == "").to_numpy()
        offset = cells.str.fullmatch(_WITH_OFFSET).to_numpy(dtype=bool)
        if offset.all():
            out[:] = _as_us(pd.to_datetime(cells, format="ISO8601", utc=True, errors="coerce"))
        elif offset.any():
            parsed = pd.to_datetime(cells[offset], format="ISO8601", utc=True, errors="coerce")
            out[offset] = _as_us(parsed)
        rest = ~offset & ~empty
        if rest.any() and self.zone is not None:
            naive = rest.copy()
            naive[rest] = cells[rest].str.fullmatch(_FAST_BASE).to_numpy(dtype=bool)
            if naive.any():
                parsed = pd.to_datetime(cells[naive], format="ISO8601", errors="coerce")
                local = parsed.dt.tz_localize(self.zone, ambiguous="NaT", nonexistent="NaT")
                out[naive] = _as_us(local)
        # Cells pandas could not place, or placed outside the years 1 to 9999 (UTC),
        # are read one by one: parse_datetime says exactly what is wrong.
        slow = np.flatnonzero(~empty & ((out == _NAT) | (out < _FIRST_US) | (out > _LAST_US)))
        for row in slow:
            try:
                out[row] = _to_us(parse_datetime(cells.iat[row], field=field, tz=self.zone))
            except PromiseKitError as exc:
                self.fail(int(row), field, str(exc), column)
        if required:
            for row in np.flatnonzero(empty):
                self.fail(int(row), field, f"missing required field {field!r}", column)
        return out

    def scores(self, column: str, cells: Any) -> Any:
        import numpy as np

        out = np.full(len(cells), np.nan)
        empty = (cells == "").to_numpy()
        plain = cells.str.fullmatch(_FLOAT_RE.pattern).to_numpy(dtype=bool)
        out[plain] = cells[plain].astype(float).to_numpy()
        for row in np.flatnonzero(~empty & ~plain):
            self.fail(
                int(row),
                "score",
                f"'score' must be a plain number such as 4 or 3.5 (got {_shown(cells.iat[row])})",
                column,
            )
        for row in np.flatnonzero(plain & ~np.isfinite(out)):
            self.fail(int(row), "score", "'score' must be a finite number", column)
        return out


def _as_us(parsed: Any) -> Any:
    import numpy as np

    values = parsed.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
    return values.astype("datetime64[us]").astype(np.int64)


def load_wide(
    source: Any, *, mapping: WideMapping | str | os.PathLike[str] | None = None, tz: Any = None
) -> WideResult:
    """Read a wide CSV export (see :func:`promisekit.io.load_wide`)."""
    pd = _pandas()
    import numpy as np

    if isinstance(mapping, (str, os.PathLike)):
        mapping = load_wide_mapping(mapping)
    elif mapping is None:
        mapping = WideMapping()
    elif not isinstance(mapping, WideMapping):
        raise InvalidTypeError(
            f"'mapping' must be a WideMapping or the path of a wide mapping file "
            f"(got {type(mapping).__name__} {describe(mapping)})"
        )
    if tz is not None and mapping.tz is not None and _zone("tz", tz) != _zone("tz", mapping.tz):
        raise InvalidValueError(
            f"'tz' ({tz!s}) contradicts the mapping's tz ({describe(mapping.tz)}); give one"
        )
    zone_name = tz if tz is not None else mapping.tz
    zone = None if zone_name is None else _zone("tz", zone_name)
    raw = _raw(source)
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    text_head = raw[:65536].decode("utf-8", "surrogateescape")
    header = _header(text_head)
    if not header:
        raise SchemaError("line 1: the file has no CSV header", path=None)
    duplicates = sorted({c for c in header if header.count(c) > 1})
    if duplicates:
        raise SchemaError(
            f"line 1: the CSV header repeats columns [{describe_names(duplicates)}]", path=None
        )
    fields = [*TEXT_FIELDS, *TIME_FIELDS, "score"]
    fields += sorted(
        {f for f in (*mapping.columns, *header) if f.startswith("metadata.") and len(f) > 9}
    )
    column_of = {f: mapping.column_of(f, header) for f in fields}
    missing = sorted(
        f"{c} (for {f})" for f, c in column_of.items() if c is not None and c not in header
    )
    if missing:
        raise SchemaError(
            f"line 1: the mapping names columns the header does not have: {', '.join(missing)}",
            path=None,
        )
    for field in ("made_at", "due"):
        if column_of[field] is None:
            raise SchemaError(
                f"line 1: no column for {field!r}: map one in the wide mapping "
                f'([wide] {field} = "column")',
                path=None,
            )
    used = sorted({c for c in column_of.values() if c is not None})
    ignored = tuple(c for c in header if c not in used and c not in mapping.ignore)
    cells, lines, errors = _read(raw, used, header)
    size = len(lines)
    check = _Checker(lines, size, zone)
    if not raw.isascii():
        for field, column in column_of.items():
            if column is None or field in TIME_FIELDS or field == "score":
                continue
            bad = cells[column].str.contains("[\udc80-\udcff]").to_numpy(dtype=bool)
            for row in np.flatnonzero(bad):
                check.fail(int(row), field, "invalid UTF-8 in the value", column)
    data: dict[str, Any] = {}
    for field in TIME_FIELDS:
        column = column_of[field]
        if column is None:
            continue
        us = check.times(field, column, cells[column], field in ("made_at", "due"))
        data[field] = us
    made, due = data["made_at"], data["due"]
    _order(check, made, due, "due", column_of["due"], "must not be before 'made_at'")
    if "delivered_at" in data:
        _order(
            check,
            made,
            data["delivered_at"],
            "delivered_at",
            column_of["delivered_at"],
            "must not be before 'made_at'",
        )
    if "target" in data:
        _order(
            check,
            made,
            data["target"],
            "target",
            column_of["target"],
            "must not be before 'made_at'",
        )
        _order(check, data["target"], due, "target", column_of["target"], "must not be after 'due'")
    score = None
    if column_of["score"] is not None:
        score = check.scores(column_of["score"], cells[column_of["score"]])
    text: dict[str, Any] = {}
    for field in fields:
        if field in TIME_FIELDS or field == "score":
            continue
        column = column_of[field]
        if column is not None:
            values = cells[column]
            text[field] = values.where(values != "", None).to_numpy(dtype=object)
        elif field in mapping.constants:
            text[field] = np.full(size, mapping.constants[field], dtype=object)
    if text.get("promise_id") is None:
        text["promise_id"] = np.array([f"line-{n}" for n in lines], dtype=object)
    else:
        for row in np.flatnonzero(pd.isna(text["promise_id"])):
            check.fail(
                int(row),
                "promise_id",
                "missing required field 'promise_id'",
                column_of["promise_id"],
            )
        ids = pd.Series(text["promise_id"])
        repeated = ids.duplicated(keep="first").to_numpy() & ids.notna().to_numpy()
        if repeated.any():
            first = dict(
                zip(
                    ids[~ids.duplicated(keep="first")],
                    lines[~ids.duplicated(keep="first").to_numpy()],
                    strict=True,
                )
            )
            for row in np.flatnonzero(repeated):
                check.fail(
                    int(row),
                    "promise_id",
                    f"promise {describe(ids.iat[row])} is repeated "
                    f"(first on line {first[ids.iat[row]]})",
                    column_of["promise_id"],
                )
    if text.get("customer_id") is None:
        text["customer_id"] = text["promise_id"]
    if text.get("kind") is None:
        text["kind"] = np.full(size, "promise", dtype=object)
    good = ~check.bad
    out: dict[str, Any] = {}
    for field in fields:
        if field in text:
            out[field] = text[field][good]
        elif field in data:
            out[field] = pd.to_datetime(data[field][good].view("datetime64[us]")).tz_localize("UTC")
    if score is not None:
        out["score"] = score[good]
    out["line"] = np.asarray(lines, dtype=np.int64)[good]
    frame = pd.DataFrame(out)
    errors.extend(check.errors)
    errors.sort(key=lambda e: e.line)
    return WideResult(
        frame=frame,
        errors=tuple(errors),
        rows=size + len({e.line for e in errors if e.field is None}),
        ignored=ignored,
    )


def _order(
    check: _Checker, before: Any, after: Any, field: str, column: str | None, what: str
) -> None:
    import numpy as np

    rows = np.flatnonzero((before != _NAT) & (after != _NAT) & (after < before))
    for row in rows:
        check.fail(int(row), field, f"{field!r} {what}", column)
