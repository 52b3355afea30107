"""``promisekit run``: the escalation runner as a command, over an SQLite store or a
PostgreSQL one (``--store postgresql://…``, the ``postgres`` extra).

Reads the wall clock (the command line is the one place that does), steps an
:class:`~promisekit.runtime.EscalationRunner` once (``--once``) or every ``--interval``,
writes each action as a JSON line (``--out``), reports progress on stderr when it is a
terminal, and on SIGTERM or Ctrl-C lets the step in progress finish (its transaction
commits or rolls back) and exits 0.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from promisekit._cli_calendar import add_calendar_options, calendar_from_args
from promisekit._cli_format import UsageError, parse_duration
from promisekit._cli_store import store_opener
from promisekit._validation import describe
from promisekit.errors import PromiseKitError
from promisekit.escalation import EscalationPolicy, PolicyConfigError, sla_plan_from_toml
from promisekit.escalation._time import format_duration
from promisekit.runtime import (
    ActionEnvelope,
    CommandSink,
    EscalationRunner,
    JsonLinesSink,
    StepReport,
)
from promisekit.store import StoreError

__all__ = ["add_run_command"]


def add_run_command(commands: Any) -> None:
    """Add the ``run`` sub-command to the ``promisekit`` parser's sub-parsers."""
    run = commands.add_parser(
        "run",
        help="run an escalation policy over a ledger store (SQLite or PostgreSQL), as a service",
        description=(
            "Fire the rules of --policy over the promises of --store exactly once (recorded "
            "in the store), and write each action to --out as a JSON line (or hand it to "
            "the command --exec), at least once, with its idempotency key. Runs every "
            "--interval until SIGTERM or Ctrl-C (the step in progress finishes first), or "
            "once with --once."
        ),
    )
    run.add_argument(
        "--store",
        metavar="PATH|URL",
        required=True,
        help="the ledger store: an SQLite file, or a postgresql:// URL (the postgres extra)",
    )
    run.add_argument(
        "--schema",
        help="with a postgresql:// store: the PostgreSQL schema of the ledger (default promisekit)",
    )
    run.add_argument("--policy", metavar="FILE", required=True, help="the policy (TOML)")
    run.add_argument(
        "--sla",
        metavar="FILE",
        help="the SLA plan (TOML [[clocks]]) whose clocks the policy's conditions name",
    )
    to = run.add_mutually_exclusive_group(required=True)
    to.add_argument("--out", metavar="FILE", help="JSON Lines file of actions ('-': stdout)")
    to.add_argument(
        "--exec",
        metavar="CMD",
        help="run CMD for each action, its JSON on standard input; exit status 0 means taken "
        "(anything else: retried later)",
    )
    run.add_argument(
        "--exec-timeout",
        default="30s",
        metavar="D",
        help="how long an --exec command may run (default 30s)",
    )
    when = run.add_mutually_exclusive_group()
    when.add_argument("--once", action="store_true", help="run one step and exit")
    when.add_argument(
        "--interval", default="30s", help="time between steps: 30s, 1m, 2m30s (default 30s)"
    )
    run.add_argument(
        "--name", default="escalations", help="the runner's name: its cursor and lease"
    )
    run.add_argument("--explanation", help="the explanation written in delay and apology letters")
    run.add_argument(
        "--allow-placeholders",
        action="store_true",
        help="send customer letters that still hold a placeholder to fill in",
    )
    add_calendar_options(run)
    run.add_argument("--tz", metavar="Z", help="zone of the always or holidays: calendar")
    run.set_defaults(handler=run_command)


class _StdoutSink:
    """Write each envelope as a JSON line to a text stream."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def __call__(self, envelope: ActionEnvelope) -> None:
        self._stream.write(envelope.to_json() + "\n")
        self._stream.flush()


def _interval(text: str) -> float:
    seconds = parse_duration(text, "--interval").total_seconds()
    if seconds <= 0:
        raise UsageError(f"'--interval' must be positive (got {describe(text)})")
    return seconds


def _progress(report: StepReport) -> str:
    if not report.leader:
        return "waiting: another runner holds the lease"
    return (
        f"position {report.position}: {report.fired} fired, {report.delivered} delivered, "
        f"{report.failures} failed, {report.outbox} waiting"
    )


def _policy(policy: str, sla: str | None) -> EscalationPolicy:
    """The ``--policy`` file, its clock conditions bound to the ``--sla`` plan."""
    if sla is None:
        try:
            return EscalationPolicy.from_toml(Path(policy))
        except PolicyConfigError as exc:
            if "needs the binding 'sla'" not in str(exc):
                raise
            raise UsageError(
                f"the policy {describe(policy)} names SLA clocks: pass the plan that "
                f"defines them with --sla FILE.toml ({exc})"
            ) from None
    if not Path(sla).is_file():
        what = "a directory" if Path(sla).is_dir() else "no such file"
        raise UsageError(f"'--sla' must be an SLA plan file (got {describe(sla)}: {what})")
    try:
        plan = sla_plan_from_toml(Path(sla))
    except PolicyConfigError as exc:
        raise PolicyConfigError(f"the SLA plan {describe(sla)}: {exc}") from None
    try:
        return EscalationPolicy.from_toml(Path(policy), bindings={"sla": plan})
    except PolicyConfigError as exc:
        if "SLA clock" not in str(exc):
            raise
        raise PolicyConfigError(
            f"the policy {describe(policy)} with the SLA plan {describe(sla)}: {exc}"
        ) from None


def _sink(args: argparse.Namespace) -> Any:
    """Where the actions go: ``--out`` (a file, ``-`` for stdout) or ``--exec``."""
    if args.exec is not None:
        seconds = parse_duration(args.exec_timeout, "--exec-timeout").total_seconds()
        if seconds <= 0:
            raise UsageError(
                f"'--exec-timeout' must be positive (got {describe(args.exec_timeout)})"
            )
        try:
            return CommandSink(args.exec, timeout=seconds)
        except PromiseKitError as exc:
            raise UsageError(f"'--exec': {exc}") from None
    return _StdoutSink(sys.stdout) if args.out == "-" else JsonLinesSink(args.out)


def _release(runner: EscalationRunner) -> None:
    """Give up the lease on the way out; if the store cannot be reached, the lease
    expires by itself (another runner waits ``lease_ttl`` at most)."""
    try:
        runner.release()
    except StoreError as exc:
        print(
            f"promisekit run: could not release the lease (it expires by itself): {exc}",
            file=sys.stderr,
        )


def run_command(args: argparse.Namespace) -> int:
    """Run ``promisekit run`` (see the module docstring); returns the exit code."""
    interval = None if args.once else _interval(args.interval)
    opener = store_opener(args.store, args.schema, read_only=False)
    sink = _sink(args)
    policy = _policy(args.policy, args.sla)
    calendar = calendar_from_args(args)
    stop = False

    def request_stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stop
        if stop and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C: stop now
        stop = True

    # SIGTERM and Ctrl-C let the step in progress finish (its records are kept).
    previous = signal.signal(signal.SIGTERM, request_stop)
    previous_int = signal.signal(signal.SIGINT, request_stop)
    tty = sys.stderr.isatty()

    def show(report: StepReport) -> None:
        clear = "\r\033[K" if tty else ""  # (over the progress line)
        for error in report.errors:
            print(f"{clear}promisekit run: not delivered: {error}", file=sys.stderr, flush=True)

    try:
        with opener() as store:
            runner = EscalationRunner(
                store,
                policy,
                sink,
                name=args.name,
                calendar=calendar,
                explanation=args.explanation,
                allow_placeholders=args.allow_placeholders,
            )
            if interval is None:
                try:
                    report = runner.step(datetime.now(timezone.utc))
                finally:
                    _release(runner)
                show(report)
                print(_progress(report), file=sys.stderr)
                return 0
            try:
                while not stop:
                    try:
                        report = runner.step(datetime.now(timezone.utc))
                    except StoreError as exc:
                        # A service outlives a database that restarts or a lock held too
                        # long: the step left nothing half-done; the next one starts over.
                        clear = "\r\033[K" if tty else ""  # (over the progress line)
                        print(
                            f"{clear}promisekit run: the step failed, next try in "
                            f"{format_duration(timedelta(seconds=interval))}: {exc}",
                            file=sys.stderr,
                            flush=True,
                        )
                    else:
                        show(report)
                        if tty:
                            print(f"\r{_progress(report)}\033[K", end="", file=sys.stderr)
                    waited = 0.0
                    while waited < interval and not stop:
                        time.sleep(min(0.2, interval - waited))
                        waited += 0.2
            except KeyboardInterrupt:
                pass  # a second Ctrl-C: what the step delivered is recorded
            if tty:
                print(file=sys.stderr)
            _release(runner)
            return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
        if isinstance(sink, JsonLinesSink):
            sink.close()
