"""The ``promisekit`` command.

``promisekit demo`` builds a small deterministic sample history (a Montréal
callback centre) and prints each promise, its delivery and its outcome, with
lateness in calendar time and in business time.

This is the only module allowed to read the wall clock; ``demo`` does not need
to, since the sample history carries its own "now".

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta

from promisekit import __version__
from promisekit.datasets import callback_centre
from promisekit.delivery import assess
from promisekit.errors import PromiseKitError

__all__ = ["format_duration", "format_table", "main"]

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


def _demo(args: argparse.Namespace) -> int:
    history = callback_centre(n=args.n, seed=args.seed)
    cal = history.calendar
    rows = []
    kept = 0
    for promise, deliveries in history:
        outcome = assess(promise, deliveries, now=history.now, calendar=cal)
        kept += outcome.kept
        delivered = max((d.at for d in deliveries), default=None)
        rows.append(
            [
                promise.id,
                promise.kind,
                promise.segment or "-",
                _when(promise.made_at),
                _when(promise.due),
                format_duration(cal.between(promise.made_at, promise.due)),
                _when(delivered.astimezone(cal.zone) if delivered else None),
                outcome.status.value,
                format_duration(outcome.lateness),
                format_duration(outcome.business_lateness),
                ", ".join(outcome.shortfall.unmet) or "-",
            ]
        )
    headers = [
        "promise",
        "kind",
        "segment",
        "made",
        "due",
        "window (biz)",
        "delivered",
        "status",
        "late (real)",
        "late (biz)",
        "unmet",
    ]
    print(f"promisekit {__version__} - sample history: a Montréal callback centre")
    print(f"calendar: {cal!r}")
    print(f"as of {history.now.isoformat()}; lateness is signed (negative = early)")
    print()
    print(format_table(headers, rows))
    print()
    total = len(rows)
    print(f"{kept} of {total} promises kept ({kept / total:.0%}).")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``promisekit`` command."""
    parser = argparse.ArgumentParser(
        prog="promisekit",
        description="Customer-commitment modeling: promises, deliveries and their outcomes.",
    )
    parser.add_argument("--version", action="version", version=f"promisekit {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="print a sample history with outcomes and business-time lateness",
        description=(
            "Build a small deterministic sample history (a Montréal callback centre) and "
            "print each promise, its delivery and its outcome, with lateness in calendar "
            "and in business time."
        ),
    )
    demo.add_argument("--n", type=int, default=12, help="number of promises (default 12)")
    demo.add_argument("--seed", type=int, default=16, help="random seed (default 16)")
    demo.set_defaults(handler=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``promisekit`` command; returns the exit code.

    Exit codes: 0 success, 1 a promisekit error (printed to stderr), 2 usage error.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        code: int = args.handler(args)
    except PromiseKitError as exc:
        print(f"promisekit: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
