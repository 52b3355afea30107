"""Running one ``promisekit`` command: errors as one line, ``--debug``, closed pipes.

Private to :mod:`promisekit.cli`.

* A :class:`~promisekit._cli_format.UsageError` prints ``promisekit COMMAND: error: …``
  (exit code 2); a :class:`~promisekit.errors.PromiseKitError` prints ``promisekit:
  error: …`` (exit code 1); any other exception too, naming its type and asking for a
  report, with the traceback only under ``--debug`` (which shows it for every error).
* Standard output closed early (``promisekit report --json | head``): the standard
  recipe of the Python documentation (``signal`` module, "Note on SIGPIPE"): catch
  :class:`BrokenPipeError`, point standard output at ``os.devnull`` so the interpreter's
  final flush cannot fail again, and exit with 141 (128 + SIGPIPE, what a shell reports
  for a program ended by a closed pipe), silently.
* Ctrl-C: ``promisekit: interrupted``, exit code 130.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from typing import Any

from promisekit._cli_format import EXIT_ERROR, EXIT_USAGE, UsageError
from promisekit.errors import PromiseKitError

EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141
_MAX_MESSAGE = 500


def add_debug(parser: argparse.ArgumentParser, *, default: Any) -> None:
    """Add ``--debug`` (also accepted after the command name)."""
    parser.add_argument(
        "--debug",
        action="store_true",
        default=default,
        help="on an error, also print the Python traceback",
    )


class _Commands:
    """The sub-parsers action, adding ``--debug`` to every command."""

    def __init__(self, action: Any) -> None:
        self._action = action

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = self._action.add_parser(name, **kwargs)
        add_debug(parser, default=argparse.SUPPRESS)
        return parser


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _MAX_MESSAGE else line[: _MAX_MESSAGE - 3] + "..."


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # pragma: no cover - no real stdout
        pass


def _run(args: argparse.Namespace) -> int:
    debug = bool(getattr(args, "debug", False))
    try:
        code: int = args.handler(args)
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        print("promisekit: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except UsageError as exc:
        if debug:
            traceback.print_exc()
        print(f"promisekit {args.command}: error: {_one_line(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except PromiseKitError as exc:
        if debug:
            traceback.print_exc()
        print(f"promisekit: error: {_one_line(str(exc))}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:
        if debug:
            traceback.print_exc()
        hint = "" if debug else " (run with --debug for the traceback)"
        print(
            f"promisekit: error: unexpected {type(exc).__name__}: {_one_line(str(exc))}"
            f"{hint}; please report this",
            file=sys.stderr,
        )
        return EXIT_ERROR
    return code
