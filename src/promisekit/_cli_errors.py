"""The summary of the bad rows of an export: the first lines, counts by reason, hints.

Private to :mod:`promisekit.cli`. A file with thousands of bad rows prints the first
:data:`FIRST` errors, then one line per reason with its count, then what to do about
the most common causes (a missing ``--tz``, a column the mapping does not name…).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import TextIO

from promisekit._io_rows import RowError

#: How many errors are printed in full.
FIRST = 20

_GOT = re.compile(r"\s*\(got .*$")
_QUOTED_VALUE = re.compile(r"(?<=[ (])'(?:[^'\\]|\\.)*'(?=[ ,)]|$)")


def reason_of(error: RowError) -> str:
    """The reason of an error without the row's own value (to count errors alike)."""
    reason = _GOT.sub("", error.reason)
    field = f"{error.field!r}"
    # Keep the field's own name; replace other quoted values.
    reason = _QUOTED_VALUE.sub(lambda m: m[0] if m[0] == field else "…", reason)
    where = f"field {field}: " if error.field is not None else ""
    return where + reason


def hints(errors: Sequence[RowError], *, tz_given: bool) -> list[str]:
    """What to do about the errors (each hint once)."""
    out: list[str] = []
    reasons = " ".join({e.reason for e in errors[:10_000]})
    if "must be a timezone-aware datetime (got naive" in reasons and not tz_given:
        out.append(
            "timestamps have no offset: pass --tz with their IANA zone "
            "(--tz America/Sao_Paulo), or set tz in the mapping"
        )
    if "daylight-saving" in reasons:
        out.append(
            "some local times are skipped or repeated by a daylight-saving change: export "
            "timestamps with their UTC offset"
        )
    if "unknown event type" in reasons:
        out.append(
            "the type column must hold promisekit event types (promise_made, "
            "delivery_recorded…); for one row per promise use a wide mapping ([wide])"
        )
    if "missing required field" in reasons:
        out.append("a required field has no value: map its column with --mapping")
    if "must be a plain number" in reasons:
        out.append("numbers must be plain (3.5, not 3,5 or 'n/a'); leave the cell empty for none")
    return out


def print_errors(
    path: str,
    errors: Sequence[RowError],
    rows: int,
    bad_rows: int,
    stream: TextIO,
    *,
    tz_given: bool,
) -> None:
    """Print the first errors, the counts by reason and the hints to ``stream``."""
    if not errors:
        return
    for error in errors[:FIRST]:
        print(f"{path}: skipped {error}", file=stream)
    if len(errors) > FIRST:
        print(f"{path}: … and {len(errors) - FIRST} more errors", file=stream)
        counts = Counter(reason_of(e) for e in errors)
        print(f"{path}: errors by reason:", file=stream)
        for reason, count in counts.most_common():
            print(f"{count:>9}  {reason}", file=stream)
    print(f"{path}: {bad_rows} of {rows} rows skipped", file=stream)
    for hint in hints(errors, tz_given=tz_given):
        print(f"hint: {hint}", file=stream)
