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

Bad rows are reported on stderr with their line numbers and skipped. Exit codes:
0 success, 1 a promisekit error (unreadable file, no usable promise…), 2 a usage
error.

This is the only module allowed to read the wall clock; ``demo`` does not need
to, since the sample history carries its own "now".

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from zoneinfo import ZoneInfo

from promisekit import __version__
from promisekit._validation import describe, load_zone
from promisekit.calendar import BusinessCalendar
from promisekit.datasets import callback_centre, montreal_calendar
from promisekit.delivery import Delivery, assess
from promisekit.errors import InsufficientDataError, PromiseKitError
from promisekit.ledger import PromiseLedger, UnknownPromiseError
from promisekit.promise import Promise

if TYPE_CHECKING:
    from promisekit.analysis import PromiseBook
    from promisekit.buffering import HistoryRecord

__all__ = [
    "UsageError",
    "build_parser",
    "format_duration",
    "format_table",
    "main",
    "parse_duration",
]

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


# --------------------------------------------------------------------------- CRM exports


class UsageError(Exception):
    """A bad option value found after parsing (exit code 2)."""


_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


def parse_duration(text: str) -> timedelta:
    """Parse ``"60m"``, ``"2h"``, ``"1h30m"``, ``"3d"``, ``"90s"`` (a bare number is minutes).

    Raises:
        UsageError: the text is not such a duration.

    .. versionadded:: 0.1.0
    """
    text = text.strip()
    if text.isdigit():
        return timedelta(minutes=int(text))
    match = _DURATION.fullmatch(text)
    if not text or match is None:
        raise UsageError(
            f"'--window' must be a duration like 60m, 2h, 1h30m or 3d (got {describe(text)})"
        )
    days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


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


def _calendar(args: argparse.Namespace) -> BusinessCalendar | None:
    _zone(args.tz)
    if args.calendar == "montreal":
        return montreal_calendar()
    if args.calendar == "always":
        return BusinessCalendar.always_open(args.tz or "UTC")
    return None


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


class _Export:
    """The promises of a CRM export, replayed from its events."""

    def __init__(self, promises: list[Promise], deliveries: list[Delivery], now: datetime) -> None:
        self.promises = promises
        self.deliveries = deliveries
        self.now = now

    def book(self, calendar: BusinessCalendar | None) -> PromiseBook:
        from promisekit.analysis import PromiseBook

        return PromiseBook.from_records(
            self.promises, self.deliveries, now=self.now, calendar=calendar
        )

    def history(self, kind: str | None) -> list[HistoryRecord]:
        """Made-to-completed records of the completed promises (of ``kind``)."""
        from promisekit.buffering import HistoryRecord

        by_id: dict[str, list[Delivery]] = {p.id: [] for p in self.promises}
        for delivery in self.deliveries:
            by_id[delivery.promise_id].append(delivery)
        records = []
        for promise in self.promises:
            if kind is not None and promise.kind != kind:
                continue
            outcome = assess(promise, by_id[promise.id], now=self.now)
            if outcome.completed_at is not None:
                records.append(
                    HistoryRecord(promise.made_at, outcome.completed_at, segment=promise.kind)
                )
        if not records:
            what = "promise" if kind is None else f"{describe(kind)} promise"
            raise InsufficientDataError(f"the history has no completed {what}")
        return records


def _load(
    path: str, mapping: str | None, tz: str | None, progress: _Progress | None = None
) -> _Export:
    """Read a CSV / JSON Lines export; bad rows go to stderr with their line numbers."""
    from promisekit import io

    _zone(tz)
    reader = io.load_jsonl if Path(path).suffix.lower() in (".jsonl", ".ndjson") else io.load_csv
    try:
        result = reader(path, mapping=mapping, tz=tz)
    except OSError as exc:
        raise _ReadError(f"cannot read {path}: {exc.strerror or exc}") from None
    for error in result.errors:
        print(f"{path}: skipped {error}", file=sys.stderr)
    ledger = PromiseLedger()
    ledger.append_many(result.records)
    promises: list[Promise] = []
    deliveries: list[Delivery] = []
    ids = ledger.promise_ids()
    for index, promise_id in enumerate(ids):
        if progress is not None:
            progress.update("replaying promises", index + 1, len(ids))
        try:
            state = ledger.state(promise_id)
        except UnknownPromiseError:
            if progress is not None:
                progress.clear()
            print(
                f"{path}: skipped: promise {describe(promise_id)} has events but no "
                f"promise_made row",
                file=sys.stderr,
            )
            continue
        if state.cancelled:
            continue
        promises.append(state.promise)
        deliveries.extend(state.deliveries)
    if progress is not None:
        progress.clear()
    if not promises:
        raise InsufficientDataError(f"{path} has no usable promise")
    now = max(event.at for event in result.records)
    if result.errors:
        print(
            f"{path}: {len(result.bad_lines)} of {result.rows} rows skipped",
            file=sys.stderr,
        )
    return _Export(promises, deliveries, now)


class _ReadError(PromiseKitError):
    """A file cannot be read or written."""


def _summary(book: PromiseBook) -> tuple[list[str], list[list[str]], list[dict[str, Any]]]:
    from promisekit.analysis._report import summary_rows

    headers = ["by", "group", "promises", "open", "kept", "late", "short", "keep rate"]
    headers += ["late p50", "late p90", "late p95", "median response"]
    durations = ["lateness_p50", "lateness_p90", "lateness_p95", "median_response"]
    rows: list[list[str]] = []
    records: list[dict[str, Any]] = []
    for row in summary_rows(book):
        rate = float(row["keep_rate"])
        micros: dict[str, int | None] = {key: row[key] for key in durations}
        rows.append(
            [str(row["by"]), str(row["group"])]
            + [str(row[key]) for key in ("promises", "open", "kept", "late", "short")]
            + ["-" if math.isnan(rate) else f"{rate:.1%}"]
            + [format_duration(_delta(micros[key])) for key in durations]
        )
        record: dict[str, Any] = {"by": str(row["by"]), "group": str(row["group"])}
        for key in ("promises", "open", "kept", "late", "short", "overdue"):
            record[key] = int(row[key])
        record["keep_rate"] = None if math.isnan(rate) else rate
        for key, value in micros.items():
            record[f"{key}_seconds"] = None if value is None else value / 1e6
        records.append(record)
    return headers, rows, records


def _delta(micros: int | None) -> timedelta | None:
    return None if micros is None else timedelta(microseconds=micros)


def _write_html(book: PromiseBook, out: str, title: str, *, to_stderr: bool = False) -> None:
    from promisekit.analysis._report import html_report

    page = html_report(book, title=title)
    try:
        Path(out).write_text(page, encoding="utf-8")
    except OSError as exc:
        raise _ReadError(f"cannot write {out}: {exc.strerror or exc}") from None
    print(f"HTML report written to {out}", file=sys.stderr if to_stderr else sys.stdout)


def _report(args: argparse.Namespace) -> int:
    progress = _Progress(sys.stderr, delay=0.3)
    export = _load(args.file, args.mapping, args.tz, progress)
    calendar = _calendar(args)
    if progress.enabled:
        progress.update("assessing promises", 0, len(export.promises))
    try:
        book = export.book(calendar)
    finally:
        progress.close()
    headers, rows, records = _summary(book)
    clock = "business time" if book.calendar is not None else "real time"
    if args.json:
        document = {
            "file": args.file,
            "now": book.now.isoformat(),
            "business_time": book.calendar is not None,
            "promises": len(book),
            "summary": records,
        }
        print(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        print(f"{args.file}: {len(book)} promises as of {book.now.isoformat()}")
        print(f"lateness and response in {clock}; signed (negative = early)")
        print()
        print(format_table(headers, rows))
    if args.html is not None:
        title = f"Promise report: {Path(args.file).name}"
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
    calendar = _calendar(args)
    export = _load(args.history, args.mapping, args.tz)
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
    calendar = _calendar(args)
    export = _load(args.history, args.mapping, args.tz)
    records = export.history(args.kind)
    commitment = Commitment(
        args.kind or "promise", window, args.rate, business_time=calendar is not None
    )
    check = commitment.check(records, calendar)
    print(check.verdict)
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
            "--mapping", metavar="M", help="TOML column mapping of the export (see promisekit.io)"
        )
        command.add_argument("--tz", metavar="Z", help="IANA zone of timestamps without UTC offset")
        command.add_argument(
            "--calendar",
            choices=("montreal", "always"),
            help="measure in business time: Montréal office hours, or always open (in --tz); "
            "default: real time",
        )

    report = commands.add_parser(
        "report",
        help="summarize the promises of a CRM export (CSV or JSON Lines)",
        description=(
            "Read a CRM export (CSV, or JSON Lines for .jsonl/.ndjson) of ledger events and "
            "print keep rates and lateness, overall and by kind, segment and owner. Bad rows "
            "are reported on stderr with their line numbers and skipped. Exit code 1 when "
            "the file cannot be read or has no usable promise, 0 otherwise."
        ),
    )
    report.add_argument("file", metavar="FILE", help="the export (CSV or JSON Lines)")
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
    quote.add_argument("--history", metavar="FILE", required=True, help="the export")
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
    check.add_argument("--history", metavar="FILE", required=True, help="the export")
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``promisekit`` command; returns the exit code.

    Exit codes: 0 success, 1 a promisekit error (printed to stderr: an unreadable file,
    no usable promise, too little history…), 2 usage error (bad option or value).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        code: int = args.handler(args)
    except UsageError as exc:
        print(f"promisekit {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except PromiseKitError as exc:
        print(f"promisekit: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
