"""Sinks: where the runner hands actions. Any callable taking an envelope is a sink."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import IO

from promisekit._validation import describe
from promisekit.errors import InvalidTypeError, PromiseKitError
from promisekit.runtime._envelope import ActionEnvelope

__all__ = ["JsonLinesSink", "Sink", "SinkError"]

#: A sink: called once per delivery attempt; returning means "taken", raising means
#: "not taken, try again later".
Sink = Callable[[ActionEnvelope], object]


class JsonLinesSink:
    """Append each envelope as one JSON line to a file, flushed and fsynced before returning.

    A line is written whole or, after a crash, possibly cut at the end of the file: a
    reader should skip a last line that does not parse. Repeats (the same ``key``) happen
    after a crash between the write and the runner's record of it; drop them by key.

    Args:
        path: The file (created if missing, appended to).
        fsync: Whether to ``os.fsync`` after each line (default True: durable hand-off).

    .. versionadded:: 0.1.0
    """

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = True) -> None:
        if not isinstance(path, (str, os.PathLike)):
            raise InvalidTypeError(
                f"'path' must be a file path (got {type(path).__name__} {describe(path)})"
            )
        self._path = Path(path)
        self._fsync = fsync
        self._file: IO[str] | None = None

    @property
    def path(self) -> Path:
        """The file written to."""
        return self._path

    def __call__(self, envelope: ActionEnvelope) -> None:
        if self._file is None:
            self._file = self._path.open("a", encoding="utf-8")
        self._file.write(envelope.to_json() + "\n")
        self._file.flush()
        if self._fsync:
            os.fsync(self._file.fileno())

    def close(self) -> None:
        """Close the file (idempotent)."""
        file, self._file = self._file, None
        if file is not None:
            file.close()

    def __repr__(self) -> str:
        return f"JsonLinesSink({str(self._path)!r})"


class SinkError(PromiseKitError, RuntimeError):
    """A sink could not take an action; the runner records the failure and retries.

    Raised by :class:`CommandSink` when its command cannot be started, runs longer than
    its timeout or exits with a status other than 0. The message names the command, the
    action's key and what happened (the end of the command's standard error).

    .. versionadded:: 0.1.0
    """
