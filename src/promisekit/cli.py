"""The ``promisekit`` command.

``promisekit demo`` builds a small deterministic sample history (a Montréal
callback centre) and prints each promise, its delivery and its outcome, with
lateness in calendar time and in business time; with the analysis and plot extras
it also prints the summary table and writes a self-contained HTML report of that
history (``promisekit-report.html`` by default, ``--html OUT`` elsewhere,
``--no-html`` not at all) and says where.

On a CRM export (CSV or JSON Lines, read with :mod:`promisekit.io`):

* ``promisekit report FILE`` prints the summary table of its promises (optionally
  a JSON document, or a self-contained HTML report);
* ``promisekit quote --history FILE --confidence 0.9 --start ISO`` quotes a due
  date from the durations of its completed promises;
* ``promisekit check-commitment --history FILE --window 60m --rate 0.98`` says
  whether a published commitment is supported by the history.

An export is one event per row, or one promise per row (a mapping with a ``[wide]``
table, read by :func:`promisekit.io.load_wide`). Bad rows are reported on stderr with
their line numbers and skipped (the first 20, then counts by reason and hints).
``--calendar`` is ``montreal``, ``always``, ``holidays:CC[-SUB]`` or a TOML file;
durations follow the grammar of policy files (``2w``, ``90min``, ``PT1H30M``).

Every error is one line on stderr (``--debug`` adds the traceback). Exit codes: 0
success, 1 an error (unreadable file, no usable promise…, or an unexpected failure),
2 a usage error, 130 interrupted, 141 standard output closed early (``| head``).

This module (with its private ``_cli_*`` helpers) is the only one allowed to read
the clock; ``demo`` does not need to, since the sample history carries its own "now".

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from promisekit import __version__
from promisekit._cli_calendar import add_calendar_options
from promisekit._cli_demo import DemoRow, keep_rate_lines, story
from promisekit._cli_export import _calendar, _Export, _load, _summary, _write_html
from promisekit._cli_format import (
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    _probability,
    _Progress,
    _when,
    _zone,
    format_duration,
    format_table,
    parse_duration,
)
from promisekit._cli_main import _Commands, _run, add_debug
from promisekit._cli_run import add_run_command
from promisekit._cli_store import is_store, load_store, store_name
from promisekit._cli_wide import _WideExport
from promisekit._redact import redact
from promisekit._validation import describe
from promisekit.datasets import callback_centre_promises
from promisekit.delivery import assess

__all__ = [
    "UsageError",
    "build_parser",
    "format_duration",
    "format_table",
    "main",
    "parse_duration",
]


def _demo(args: argparse.Namespace) -> int:
    history = callback_centre_promises(n=args.n, seed=args.seed)
    cal = history.calendar
    demo_rows = []
    rows = []
    for promise, deliveries in history:
        outcome = assess(promise, deliveries, now=history.now, calendar=cal)
        demo_rows.append(DemoRow(promise, deliveries, outcome))
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
    print("\n".join(keep_rate_lines(demo_rows)))
    print()
    print("\n".join(story(demo_rows, cal, history.now)))
    if args.html == "":
        return EXIT_OK
    try:
        from promisekit.analysis import PromiseBook

        book = PromiseBook.from_history(history)
        headers, summary, _ = _summary(book)
        import matplotlib  # noqa: F401  (the HTML report's plots need it)
    except ImportError:
        print()
        print(
            "(the summary and the HTML report need the analysis and plot extras: "
            "pip install 'promisekit[analysis,plot]')"
        )
        return EXIT_OK
    print()
    print("summary (business time):")
    print(format_table(headers, summary))
    print()
    _write_html(book, args.html, "promisekit sample history: a Montréal callback centre")
    return EXIT_OK


def _read(
    where: str, option: str, args: argparse.Namespace, progress: _Progress | None = None
) -> _Export | _WideExport:
    """The promises of an export file, or of a ledger store (SQLite or PostgreSQL)."""
    if is_store(where):
        if args.mapping is not None:
            raise UsageError(
                f"'--mapping' is for exports; {describe(store_name(where))} is a ledger store"
            )
        return load_store(where, args.schema, option)
    if args.schema is not None:
        raise UsageError(f"'--schema' is for a postgresql:// store (got {describe(redact(where))})")
    return _load(where, args.mapping, args.tz, progress)


def _report(args: argparse.Namespace) -> int:
    progress = _Progress(sys.stderr, delay=0.3)
    _calendar(args, range(2000, 2001))  # a bad --calendar before reading
    export = _read(args.file, "FILE", args, progress)
    name = store_name(args.file) if is_store(args.file) else args.file
    calendar = _calendar(args, export.years())
    if progress.enabled:
        progress.update("assessing promises", 0, export.size)
    try:
        book = export.book(calendar)
    finally:
        progress.close()
    headers, rows, records = _summary(book)
    clock = "business time" if book.calendar is not None else "real time"
    if args.json:
        document = {
            "file": name,
            "now": book.now.isoformat(),
            "business_time": book.calendar is not None,
            "promises": len(book),
            "summary": records,
        }
        print(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        print(f"{name}: {len(book)} promises as of {book.now.isoformat()}")
        print(f"lateness and response in {clock}; signed (negative = early)")
        print()
        print(format_table(headers, rows))
    if args.html is not None:
        title = f"Promise report: {name if is_store(args.file) else Path(args.file).name}"
        _write_html(book, args.html, title, to_stderr=args.json)
    return EXIT_OK


def _quote(args: argparse.Namespace) -> int:
    from promisekit.buffering import EmpiricalCapability, QuantileBuffer, quote

    zone = _zone(args.tz)
    try:
        start = datetime.fromisoformat(args.start)
    except ValueError:
        raise UsageError(
            f"'--start' must be an ISO 8601 date-time like 2026-03-10T13:30 (got "
            f"{describe(args.start)})"
        ) from None
    if start.tzinfo is None:
        if zone is None:
            raise UsageError(
                f"'--start' has no UTC offset (got {describe(args.start)}): add one or give --tz"
            )
        start = start.replace(tzinfo=zone)
    _calendar(args, range(start.year, start.year + 1))  # a bad --calendar before reading
    export = _read(args.history, "--history", args)
    years = export.years()
    calendar = _calendar(args, range(years.start, max(years.stop, start.year + 2)))
    records = export.history(args.kind)
    label = f"{args.kind or 'promise'}s"
    capability = EmpiricalCapability.from_history(records, calendar, label=label)
    policy = QuantileBuffer(args.confidence, min_samples=args.min_samples)
    result = quote(start, capability, policy, calendar, what=args.kind or "due")
    print(result.explanation)
    print(f"due {result.due.isoformat()} (target {result.target.isoformat()})")
    return EXIT_OK


def _check_commitment(args: argparse.Namespace) -> int:
    from promisekit.commitments import Commitment

    window = parse_duration(args.window)
    _calendar(args, range(2000, 2001))  # a bad --calendar before reading
    export = _read(args.history, "--history", args)
    calendar = _calendar(args, export.years())
    records = export.history(args.kind)
    commitment = Commitment(
        args.kind or "promise", window, args.rate, business_time=calendar is not None
    )
    check = commitment.check(records, calendar)
    print(check.verdict)
    return EXIT_OK


_HISTORY_HELP = "the export, or a ledger store (SQLite file or postgresql:// URL)"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``promisekit`` command."""
    parser = argparse.ArgumentParser(
        prog="promisekit",
        description="Customer-commitment modeling: promises, deliveries and their outcomes.",
    )
    parser.add_argument("--version", action="version", version=f"promisekit {__version__}")
    add_debug(parser, default=False)
    commands = _Commands(parser.add_subparsers(dest="command", metavar="COMMAND"))
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
    demo.add_argument(
        "--html",
        metavar="OUT",
        default="promisekit-report.html",
        help="where to write the HTML report of the sample history (default "
        "promisekit-report.html; needs the analysis and plot extras)",
    )
    demo.add_argument(
        "--no-html",
        dest="html",
        action="store_const",
        const="",
        help="print the tables only; write no HTML report",
    )
    demo.set_defaults(handler=_demo)

    def source(command: argparse.ArgumentParser) -> None:
        command.add_argument(
            "--mapping",
            metavar="M",
            help="TOML (or .json) column mapping of the export: [columns] for one event "
            "per row, [wide] for one promise per row (see docs/cli.md)",
        )
        command.add_argument("--tz", metavar="Z", help="IANA zone of timestamps without UTC offset")
        command.add_argument(
            "--schema",
            help="with a postgresql:// store: the ledger's PostgreSQL schema (default promisekit)",
        )
        add_calendar_options(command)

    report = commands.add_parser(
        "report",
        help="summarize the promises of a CRM export (CSV or JSON Lines) or a ledger store",
        description=(
            "Read a CRM export (CSV, or JSON Lines for .jsonl/.ndjson) of ledger events and "
            "print keep rates and lateness, overall and by kind, segment and owner. Bad rows "
            "are reported on stderr with their line numbers and skipped. FILE may also be a "
            "ledger store (an SQLite ledger file, or a postgresql:// URL with --schema), read "
            "as of its last event. Exit code 1 when the file cannot be read or has no usable "
            "promise, 0 otherwise."
        ),
    )
    report.add_argument(
        "file",
        metavar="FILE",
        help="the export (CSV or JSON Lines), or a ledger store: an SQLite file or a "
        "postgresql:// URL",
    )
    source(report)
    report.add_argument("--html", metavar="OUT", help="also write a self-contained HTML report")
    report.add_argument("--json", action="store_true", help="print the summary as JSON")
    report.set_defaults(handler=_report)

    quote = commands.add_parser(
        "quote",
        help="quote a due date from the durations of an export's completed promises",
        description=(
            "Build an empirical capability from the made-to-completed durations of the "
            "completed promises of a CRM export, and quote the due date kept with the "
            "given confidence for work requested at --start."
        ),
    )
    quote.add_argument("--history", metavar="FILE", required=True, help=_HISTORY_HELP)
    quote.add_argument(
        "--confidence",
        type=_probability("--confidence", allow_one=True),
        default=0.9,
        help="share of past durations the quote covers, in (0, 1] (default 0.9)",
    )
    quote.add_argument(
        "--start", metavar="ISO", required=True, help="when the work is requested (ISO 8601)"
    )
    quote.add_argument(
        "--min-samples",
        type=int,
        default=30,
        metavar="N",
        help="refuse to quote from fewer completed promises (default 30)",
    )
    quote.add_argument("--kind", help="use only promises of this kind (e.g. callback)")
    source(quote)
    quote.set_defaults(handler=_quote)

    check = commands.add_parser(
        "check-commitment",
        help="is 'within WINDOW, RATE of the time' supported by an export's history?",
        description=(
            "Count the completed promises of a CRM export done within --window of being "
            "made, and say whether the commitment can be published: the lower bound of the "
            "95 %% Wilson interval of that rate must reach --rate."
        ),
    )
    check.add_argument("--history", metavar="FILE", required=True, help=_HISTORY_HELP)
    check.add_argument(
        "--window",
        required=True,
        help="promised window: 60m, 2h, 1h30m, 3d (business time with --calendar)",
    )
    check.add_argument(
        "--rate",
        type=_probability("--rate", allow_one=True),
        required=True,
        help="target share of requests served within the window, in (0, 1]",
    )
    check.add_argument("--kind", help="use only promises of this kind (e.g. callback)")
    source(check)
    check.set_defaults(handler=_check_commitment)
    add_run_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``promisekit`` command; returns the exit code.

    Exit codes: 0 success, 1 an error (printed to stderr as one line ``promisekit: error:
    …``: an unreadable file, no usable promise, too little history, or an unexpected
    failure, whose traceback ``--debug`` shows), 2 usage error (bad option or value),
    130 interrupted (Ctrl-C), 141 standard output closed early (``promisekit report
    --json | head``: nothing more is written, no traceback).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    return _run(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
