"""Wide exports on the command line: one row per promise, read by the columnar path.

Private to :mod:`promisekit.cli`. A ``--mapping`` file with a ``[wide]`` table is a
wide mapping: the export is read with :func:`promisekit.io.load_wide` (pandas), its
unmapped columns are named in one note, its bad rows summarized, and the promises go
straight into a :class:`~promisekit.analysis.PromiseBook` (no ledger replay).
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from promisekit import io
from promisekit._cli_errors import print_errors
from promisekit._cli_format import UsageError
from promisekit._io_mapping import mapping_data
from promisekit._redact import redact
from promisekit._validation import describe, describe_names
from promisekit.calendar import BusinessCalendar
from promisekit.errors import InsufficientDataError, PromiseKitError

if TYPE_CHECKING:
    from promisekit.analysis import PromiseBook
    from promisekit.buffering import HistoryRecord

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class _FileError(PromiseKitError):
    """A file cannot be read."""


def _is_wide(mapping: str) -> bool:
    try:
        return "wide" in mapping_data(mapping)
    except OSError as exc:
        raise _FileError(f"cannot read {mapping}: {exc.strerror or exc}") from None


def _utc(column: Any) -> Any:
    """A pandas column of UTC instants as ``datetime64[us]`` (NaT kept)."""
    return column.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[us]")


def _instant(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


class _WideExport:
    """The promises of a wide export, as columns."""

    def __init__(self, frame: Any) -> None:
        import numpy as np

        self.frame = frame
        self._made = _utc(frame["made_at"]).astype(np.int64)
        self._delivered = None
        latest = int(self._made.max())
        if "delivered_at" in frame:
            values = _utc(frame["delivered_at"])
            self._delivered = values.astype(np.int64)
            if (~np.isnat(values)).any():
                latest = max(latest, int(self._delivered[~np.isnat(values)].max()))
        self.now = _instant(latest)

    @property
    def size(self) -> int:
        """How many promises."""
        return len(self.frame)

    def years(self) -> range:
        """The calendar years of the data (one more on each side)."""
        return range(_instant(int(self._made.min())).year - 1, self.now.year + 2)

    def book(self, calendar: BusinessCalendar | None) -> PromiseBook:
        """The promises as a book (``delivered_at`` is the completion)."""
        from promisekit.analysis import PromiseBook

        frame = self.frame
        columns: dict[str, Any] = {
            "made_at": _utc(frame["made_at"]),
            "due": _utc(frame["due"]),
            "now": self.now,
            "promise_id": frame["promise_id"].to_numpy(dtype=object),
            "kind": frame["kind"].to_numpy(dtype=object),
        }
        if "delivered_at" in frame:
            columns["completed_at"] = _utc(frame["delivered_at"])
        for name in ("segment", "owner", "score"):
            if name in frame:
                columns[name] = frame[name].to_numpy(dtype=float if name == "score" else object)
        return PromiseBook(**columns, calendar=calendar)

    def history(self, kind: str | None) -> list[HistoryRecord]:
        """Made-to-delivered records of the delivered promises (of ``kind``)."""
        import numpy as np

        from promisekit.buffering import HistoryRecord

        if self._delivered is None:
            raise InsufficientDataError("the history has no delivered_at column")
        kinds = self.frame["kind"].to_numpy(dtype=object)
        keep = self._delivered != np.iinfo(np.int64).min
        if kind is not None:
            keep &= kinds == kind
        records = [
            HistoryRecord(_instant(int(m)), _instant(int(d)), segment=str(k))
            for m, d, k in zip(self._made[keep], self._delivered[keep], kinds[keep], strict=True)
        ]
        if not records:
            what = "promise" if kind is None else f"{describe(kind)} promise"
            raise InsufficientDataError(f"the history has no delivered {what}")
        return records


def _load_wide(path: str, mapping: str, tz: str | None) -> _WideExport:
    if Path(path).suffix.lower() in (".jsonl", ".ndjson"):
        raise UsageError(f"a wide mapping reads CSV exports (got {describe(path)})")
    try:
        result = io.load_wide(path, mapping=mapping, tz=tz)
    except OSError as exc:
        raise _FileError(f"cannot read {redact(path)}: {exc.strerror or exc}") from None
    if result.ignored:
        print(
            f"{path}: note: ignored columns not in the mapping ({len(result.ignored)}): "
            f"{describe_names(list(result.ignored))}",
            file=sys.stderr,
        )
    print_errors(
        path,
        result.errors,
        result.rows,
        len(result.bad_lines),
        sys.stderr,
        tz_given=tz is not None,
    )
    if len(result.frame) == 0:
        raise InsufficientDataError(f"{path} has no usable promise")
    return _WideExport(result.frame)
