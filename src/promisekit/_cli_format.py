"""The ``promisekit`` command's plumbing: exit codes, option values, tables, progress.

Private to :mod:`promisekit.cli`, which re-exports :class:`UsageError`,
:func:`format_duration`, :func:`format_table` and :func:`parse_duration`.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from promisekit._durations import parse_duration as _parse_duration
from promisekit._validation import describe, load_zone
from promisekit.errors import PromiseKitError

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2


def format_duration(delta: timedelta | None) -> str:
    """Format a signed duration compactly: ``+1h05m``, ``-12m``, ``+2d3h``, ``0m``.

    Seconds are rounded towards zero to the minute; ``None`` prints as ``-``.

    Example:
        >>> format_duration(timedelta(minutes=-12))
        '-12m'

    .. versionadded:: 0.1.0
    """
    if delta is None:
        return "-"
    total = int(delta.total_seconds())
    sign = "-" if total < 0 else "+"
    minutes = abs(total) // 60
    if minutes == 0:
        return "0m"
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{sign}{days}d{hours}h" if hours else f"{sign}{days}d"
    if hours:
        return f"{sign}{hours}h{minutes:02d}m"
    return f"{sign}{minutes}m"


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Align ``rows`` under ``headers`` as a plain-text table (columns separated by 2 spaces).

    .. versionadded:: 0.1.0
    """
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%a %d %b %H:%M")


# --------------------------------------------------------------------------- CRM exports


class UsageError(Exception):
    """A bad option value found after parsing (exit code 2)."""


def parse_duration(text: str, option: str = "--window") -> timedelta:
    """Parse a duration option: ``60m``, ``2h``, ``1h30m``, ``90min``, ``2w``, ``PT1H30M``.

    The grammar is the one of policy files (see :mod:`promisekit._durations`); a bare
    whole number is also read as minutes (``45`` = ``45m``), as it always was here.

    Raises:
        UsageError: the text is not such a duration (the message names ``option``).

    .. versionadded:: 0.1.0
    """
    stripped = text.strip()
    if stripped.isdigit():
        return timedelta(minutes=int(stripped))
    try:
        return _parse_duration(stripped)
    except PromiseKitError:
        raise UsageError(
            f"{option!r} must be a duration like 60m, 2h, 1h30m, 90min, 3d, 2w or PT1H30M "
            f"(got {describe(text)})"
        ) from None


def _probability(name: str, *, allow_one: bool) -> Any:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{name} must be a number (got {describe(text)})"
            ) from None
        if not (0.0 < value < 1.0 or (allow_one and value == 1.0)):
            bound = "1]" if allow_one else "1)"
            raise argparse.ArgumentTypeError(
                f"{name} must be in (0, {bound} (got {describe(text)})"
            )
        return value

    return parse


def _zone(tz: str | None) -> ZoneInfo | None:
    if tz is None:
        return None
    try:
        return load_zone(tz, field="--tz")
    except PromiseKitError:
        raise UsageError(
            f"'--tz' must be an IANA time zone like America/Toronto (got {describe(tz)})"
        ) from None


class _Progress:
    """A one-line progress indicator, redrawn in place (``\\r``) on a terminal.

    Disabled unless ``stream`` is a TTY (``enabled=None``), so nothing is written to a
    pipe, a file or a test's captured stderr. Redrawn at most once per ``interval``
    seconds (and for the last item), and only once ``delay`` seconds have passed since
    it was created, so a quick run shows nothing. :meth:`close` erases the line.
    """

    _WIDTH = 20

    def __init__(
        self,
        stream: TextIO,
        *,
        enabled: bool | None = None,
        interval: float = 0.1,
        delay: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if enabled is None:
            isatty = getattr(stream, "isatty", None)
            enabled = bool(isatty()) if callable(isatty) else False
        self._stream = stream
        self._enabled = enabled
        self._interval = interval
        self._clock = clock
        self._start = clock()
        self._delay = delay
        self._last: float | None = None
        self._width = 0

    @property
    def enabled(self) -> bool:
        """Whether anything is ever written."""
        return self._enabled

    def update(self, label: str, done: int, total: int) -> None:
        """Show ``label done/total [bar] pct`` (rate-limited)."""
        if not self._enabled or total <= 0:
            return
        now = self._clock()
        if now - self._start < self._delay:
            return
        last = self._last
        if last is not None and now - last < self._interval and done < total:
            return
        self._last = now
        share = min(max(done / total, 0.0), 1.0)
        filled = int(share * self._WIDTH)
        bar = "#" * filled + "." * (self._WIDTH - filled)
        line = f"{label} {done}/{total} [{bar}] {share:4.0%}"
        pad = " " * max(0, self._width - len(line))
        self._stream.write(f"\r{line}{pad}")
        self._stream.flush()
        self._width = len(line)

    def clear(self) -> None:
        """Erase the line (the next :meth:`update` draws it again)."""
        if self._width:
            self._stream.write("\r" + " " * self._width + "\r")
            self._stream.flush()
            self._width = 0
            self._last = None

    close = clear
