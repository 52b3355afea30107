"""Sinks: where the runner hands actions. Any callable taking an envelope is a sink."""

from __future__ import annotations

import math
import os
import shlex
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

from promisekit._validation import describe
from promisekit.errors import InvalidTypeError, InvalidValueError, PromiseKitError
from promisekit.runtime._envelope import ActionEnvelope

__all__ = ["CommandSink", "JsonLinesSink", "Sink", "SinkError"]

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


def _tail(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else "…" + text[-limit:]


class CommandSink:
    """Run a command for each action: the hand-off to a script, ``curl`` or a queue client.

    The envelope's JSON (:meth:`ActionEnvelope.to_json`) is the command's standard input,
    followed by a newline, and its environment has ``PROMISEKIT_KEY`` (the idempotency
    key), ``PROMISEKIT_ACTION`` (the action's type), ``PROMISEKIT_PROMISE_ID``,
    ``PROMISEKIT_RULE`` and ``PROMISEKIT_ATTEMPT``. Exit status 0 means the action was
    taken; anything else (or no exit within ``timeout``) raises :class:`SinkError`, which
    the runner records as an ``escalation_failed`` event and retries later, with the same
    key. The command runs without a shell: ``"notify --url https://crm/hooks"`` is split
    as a shell would split it, but pipes and ``$VARS`` are not interpreted (wrap it in
    ``sh -c '…'`` for that).

    Args:
        command: The command line (a string, split with :func:`shlex.split`) or its
            arguments (a sequence of strings).
        timeout: Seconds the command may run (finite, ``> 0``; default 30); after
            that it is killed and the attempt failed.
        env: Variables added to the environment the command inherits, or ``None``.

    Raises:
        InvalidValueError: An empty command, or a bad ``timeout``.
        InvalidTypeError: ``command`` or ``env`` has the wrong type.

    Example:
        >>> sink = CommandSink("python3 -c 'import sys; sys.stdin.read()'")
        >>> sink.argv[:2]
        ('python3', '-c')

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        command: str | Sequence[str],
        *,
        timeout: float = 30.0,
        env: Mapping[str, str] | None = None,
    ) -> None:
        if isinstance(command, str):
            try:
                argv = shlex.split(command)
            except ValueError as exc:
                raise InvalidValueError(
                    f"'command' cannot be split as a command line ({exc}): {describe(command)}"
                ) from None
        elif isinstance(command, Sequence) and all(isinstance(a, str) for a in command):
            argv = list(command)
        else:
            raise InvalidTypeError(
                f"'command' must be a string or a sequence of strings (got "
                f"{type(command).__name__} {describe(command)})"
            )
        if not argv or not argv[0]:
            raise InvalidValueError(f"'command' must name a program (got {describe(command)})")
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, (int, float))
            or not math.isfinite(timeout)
            or timeout <= 0
        ):
            raise InvalidValueError(
                f"'timeout' must be a positive number of seconds (got {describe(timeout)})"
            )
        if env is not None and not (
            isinstance(env, Mapping)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in env.items())
        ):
            raise InvalidTypeError(
                f"'env' must map names to strings (got {type(env).__name__} {describe(env)})"
            )
        self.argv: tuple[str, ...] = tuple(argv)
        self.timeout = float(timeout)
        self._env = dict(env or {})

    def __call__(self, envelope: ActionEnvelope) -> None:
        env = {
            **os.environ,
            **self._env,
            "PROMISEKIT_KEY": envelope.key,
            "PROMISEKIT_ACTION": envelope.action_type,
            "PROMISEKIT_PROMISE_ID": envelope.promise_id,
            "PROMISEKIT_RULE": envelope.rule,
            "PROMISEKIT_ATTEMPT": str(envelope.attempt),
        }
        name = describe(self.argv[0])
        try:
            done = subprocess.run(
                self.argv,
                input=envelope.to_json() + "\n",
                capture_output=True,
                text=True,
                encoding="utf-8",
                errors="replace",
                timeout=self.timeout,
                env=env,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise SinkError(
                f"the command {name} did not finish within {self.timeout:g} s (action "
                f"{describe(envelope.key)}); it was stopped"
            ) from None
        except OSError as exc:
            raise SinkError(
                f"cannot run the command {name} (action {describe(envelope.key)}): "
                f"{exc.strerror or exc}"
            ) from None
        if done.returncode != 0:
            said = _tail(done.stderr) or "(nothing on standard error)"
            raise SinkError(
                f"the command {name} exited with status {done.returncode} (action "
                f"{describe(envelope.key)}): {said}"
            )

    def __repr__(self) -> str:
        return f"CommandSink({shlex.join(self.argv)!r}, timeout={self.timeout:g})"
