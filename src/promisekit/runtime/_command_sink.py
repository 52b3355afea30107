"""A sink that runs a command for each action (``promisekit run --exec``).

The command runs in a session of its own (a new process group): a Ctrl-C at the terminal
does not reach it, and when it outlives its timeout the whole group (the command and
whatever it started) is stopped, SIGTERM then SIGKILL, so nothing it started can still
carry out an attempt recorded as failed. Its standard input is a file holding the
action (a command that never reads it is fine), its standard output is discarded and
its standard error goes to a file of which the end is kept: the sink waits for the
command to exit, not for its pipes to close, so a background process it leaves behind
does not hold the step.
"""

from __future__ import annotations

import contextlib
import math
import os
import shlex
import signal
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from typing import IO

from promisekit._validation import describe
from promisekit.errors import InvalidTypeError, InvalidValueError
from promisekit.runtime._envelope import ActionEnvelope
from promisekit.runtime._sinks import SinkError

__all__ = ["CommandSink"]

_GRACE = 2.0  # seconds between SIGTERM and SIGKILL of a command that overran
_KEPT = 4096  # bytes of standard error read back (its end)


def _tail(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else "…" + text[-limit:]


def _key(key: str) -> str:
    """The key for a message: whole (logs are searched by it), unless absurdly long."""
    return repr(key) if len(key) <= 500 else describe(key)


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """Stop the command and everything in its process group: SIGTERM, then (after a
    grace period, or at once if the command is gone) SIGKILL to whatever is left."""
    if os.name != "posix":  # pragma: no cover - no process groups
        process.kill()
        process.wait()
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=_GRACE)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _status(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


def _read_tail(file: IO[bytes]) -> str:
    size = file.seek(0, os.SEEK_END)
    file.seek(max(0, size - _KEPT))
    return file.read().decode("utf-8", errors="replace")


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

    The command runs in a process group of its own: Ctrl-C at the terminal does not reach
    it, and one that overruns ``timeout`` is stopped with everything it started (SIGTERM,
    then SIGKILL two seconds later). Its standard output is discarded; the end of its
    standard error is kept for the message. The sink waits for the command itself to
    exit: a background process it leaves running does not delay it.

    Args:
        command: The command line (a string, split with :func:`shlex.split`) or its
            arguments (a sequence of strings).
        timeout: Seconds the command may run (finite, ``> 0``; default 30); after
            that it is stopped and the attempt failed.
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
        action = f"action {_key(envelope.key)}"
        added = {
            "PROMISEKIT_KEY": envelope.key,
            "PROMISEKIT_ACTION": envelope.action_type,
            "PROMISEKIT_PROMISE_ID": envelope.promise_id,
            "PROMISEKIT_RULE": envelope.rule,
            "PROMISEKIT_ATTEMPT": str(envelope.attempt),
        }
        bad = [name for name, value in added.items() if "\x00" in value]
        if bad:
            raise SinkError(
                f"cannot run the command {describe(self.argv[0])} ({action}): "
                f"{', '.join(bad)} would hold a NUL character, which an environment cannot"
            )
        env = {**os.environ, **self._env, **added}
        name = describe(self.argv[0])
        with tempfile.TemporaryFile() as stdin, tempfile.TemporaryFile() as stderr:
            stdin.write((envelope.to_json() + "\n").encode("utf-8"))
            stdin.seek(0)
            try:
                process = subprocess.Popen(
                    self.argv,
                    stdin=stdin,
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                    env=env,
                    start_new_session=True,
                )
            except (OSError, ValueError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
                raise SinkError(f"cannot run the command {name} ({action}): {reason}") from None
            try:
                code = process.wait(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                _stop_group(process)
                raise SinkError(
                    f"the command {name} did not finish within {self.timeout:g} s ({action}); "
                    f"it and the processes it started were stopped"
                ) from None
            except BaseException:  # Ctrl-C, SIGTERM turned exception: leave nothing behind
                _stop_group(process)
                raise
            if code != 0:
                said = _tail(_read_tail(stderr)) or "(nothing on standard error)"
                raise SinkError(f"the command {name} {_status(code)} ({action}): {said}")

    def __repr__(self) -> str:
        return f"CommandSink({shlex.join(self.argv)!r}, timeout={self.timeout:g})"
