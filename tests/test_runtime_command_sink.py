"""``CommandSink`` and ``promisekit run --exec``: each action handed to a real command."""

from __future__ import annotations

import json
import shlex
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from promisekit.cli import main
from promisekit.escalation import EscalationPolicy
from promisekit.ledger import ActionDelivered, EscalationFailed, PromiseLedger, PromiseMade
from promisekit.runtime import Backoff, CommandSink, EscalationRunner, SinkError
from promisekit.store import SQLiteLedger

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)
H = timedelta(hours=1)
POLICY = EscalationPolicy.from_toml(
    """
[[rules]]
name = "breached"
when = "overdue"
do = ["notify_owner", "escalate:manager"]
"""
)

# A receiver: appends what it got (stdin and environment) to a JSON Lines file; while
# the file `fail` exists, refuses every first attempt (exit status 3), as a CRM that
# answers 503 would.
RECEIVER = """
import json, os, sys
out, fail_file = sys.argv[1], sys.argv[2]
envelope = json.loads(sys.stdin.read())
key = os.environ["PROMISEKIT_KEY"]
if os.path.exists(fail_file) and os.environ["PROMISEKIT_ATTEMPT"] == "1":
    sys.stderr.write("the CRM answered 503 for " + key + "\\n")
    sys.exit(3)
with open(out, "a") as handle:
    handle.write(json.dumps({"key": key, "same": envelope["key"] == key,
                             "action": os.environ["PROMISEKIT_ACTION"],
                             "promise": os.environ["PROMISEKIT_PROMISE_ID"],
                             "rule": os.environ["PROMISEKIT_RULE"],
                             "attempt": os.environ["PROMISEKIT_ATTEMPT"]}) + "\\n")
"""


def made(promise_id: str, at: datetime = T0) -> PromiseMade:
    return PromiseMade(
        id=f"made-{promise_id}",
        promise_id=promise_id,
        at=at,
        recorded_at=at,
        customer_id=f"C-{promise_id}",
        kind="callback",
        due=at + H,
    )


@pytest.fixture
def receiver(tmp_path: Path) -> list[str]:
    script = tmp_path / "receiver.py"
    script.write_text(RECEIVER, encoding="utf-8")
    return [sys.executable, str(script), str(tmp_path / "got.jsonl"), str(tmp_path / "fail")]


def _got(tmp_path: Path) -> list[dict[str, str]]:
    path = tmp_path / "got.jsonl"
    lines = path.read_text("utf-8").splitlines() if path.exists() else []
    return [json.loads(line) for line in lines]


def test_each_action_reaches_the_command_with_its_key(tmp_path: Path, receiver: list[str]) -> None:
    ledger = PromiseLedger([made("P-1"), made("P-2")])
    runner = EscalationRunner(ledger, POLICY, CommandSink(receiver), holder="a")
    report = runner.step(T0 + 2 * H)
    assert (report.fired, report.delivered, report.failures) == (4, 4, 0)
    got = _got(tmp_path)
    assert sorted((g["promise"], g["action"]) for g in got) == [
        ("P-1", "escalate_to"),
        ("P-1", "notify_owner"),
        ("P-2", "escalate_to"),
        ("P-2", "notify_owner"),
    ]
    assert all(g["same"] and g["rule"] == "breached" and g["attempt"] == "1" for g in got)
    delivered = {e.key for e in ledger.history() if isinstance(e, ActionDelivered)}
    assert delivered == {g["key"] for g in got}


def test_a_failing_command_is_recorded_and_retried_with_the_same_key(
    tmp_path: Path, receiver: list[str]
) -> None:
    (tmp_path / "fail").write_text("", encoding="utf-8")
    ledger = PromiseLedger([made("P-1")])
    sink = CommandSink(receiver)
    runner = EscalationRunner(ledger, POLICY, sink, holder="a", backoff=Backoff(first=H))
    report = runner.step(T0 + 2 * H)
    assert (report.fired, report.delivered, report.failures, report.outbox) == (2, 0, 2, 2)
    failures = [e for e in ledger.history() if isinstance(e, EscalationFailed)]
    assert len(failures) == 2
    for failure in failures:  # the whole story is in the ledger, the command's words too
        assert "SinkError" in failure.error and "exited with status 3" in failure.error
        assert "the CRM answered 503 for P-1/r0/breached#1/a" in failure.error
        assert failure.retry_at == T0 + 3 * H
    assert _got(tmp_path) == []
    report = runner.step(T0 + 3 * H)  # the retries are due: the CRM takes them
    assert (report.delivered, report.outbox) == (2, 0)
    got = _got(tmp_path)
    assert [g["attempt"] for g in got] == ["2", "2"]
    delivered = {e.key for e in ledger.history() if isinstance(e, ActionDelivered)}
    assert {g["key"] for g in got} == delivered == {e.key for e in failures}


def test_a_command_that_hangs_or_is_missing_is_a_sink_error(tmp_path: Path) -> None:
    ledger = PromiseLedger([made("P-1")])
    envelopes: list[object] = []
    EscalationRunner(ledger, POLICY, envelopes.append, holder="a").step(T0 + 2 * H)
    envelope = envelopes[0]
    slow = CommandSink([sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.5)
    with pytest.raises(SinkError, match=r"did not finish within 0\.5 s \(action 'P-1/"):
        slow(envelope)  # type: ignore[arg-type]
    missing = CommandSink([str(tmp_path / "no-such-program")])
    with pytest.raises(SinkError, match=r"cannot run the command '.*no-such-program'"):
        missing(envelope)  # type: ignore[arg-type]
    silent = CommandSink([sys.executable, "-c", "raise SystemExit(1)"])
    with pytest.raises(SinkError, match=r"status 1 .*\(nothing on standard error\)"):
        silent(envelope)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("command", "kwargs", "error", "message"),
    [
        ("", {}, ValueError, "'command' must name a program"),
        ([], {}, ValueError, "'command' must name a program"),
        ("notify 'unclosed", {}, ValueError, "cannot be split as a command line"),
        (42, {}, TypeError, "'command' must be a string or a sequence of strings"),
        (["ok", 3], {}, TypeError, "'command' must be a string or a sequence of strings"),
        ("ok", {"timeout": 0}, ValueError, "'timeout' must be a positive number"),
        ("ok", {"timeout": float("inf")}, ValueError, "'timeout' must be a positive number"),
        ("ok", {"timeout": True}, ValueError, "'timeout' must be a positive number"),
        ("ok", {"env": {"A": 1}}, TypeError, "'env' must map names to strings"),
    ],
)
def test_bad_arguments(
    command: object, kwargs: dict[str, object], error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        CommandSink(command, **kwargs)  # type: ignore[arg-type]


def test_the_command_line_is_split_as_a_shell_would() -> None:
    sink = CommandSink("notify --url 'https://crm/hooks?a=1&b=2' --note \"two words\"")
    assert sink.argv == ("notify", "--url", "https://crm/hooks?a=1&b=2", "--note", "two words")
    assert "notify --url 'https://crm/hooks?a=1&b=2'" in repr(sink)


def _overdue_store(tmp_path: Path, *promise_ids: str) -> list[str]:
    """A store of promises made three hours ago (due after one: overdue) and a policy
    notifying the owner of each overdue one; the ``promisekit run`` arguments naming them."""
    now = datetime.now(timezone.utc)
    with SQLiteLedger(tmp_path / "promises.db") as store:
        store.append_many([made(promise_id, at=now - 3 * H) for promise_id in promise_ids])
    (tmp_path / "policy.toml").write_text(
        '[[rules]]\nname = "breached"\nwhen = "overdue"\ndo = ["notify_owner"]\n',
        encoding="utf-8",
    )
    return [
        "run",
        "--store",
        str(tmp_path / "promises.db"),
        "--policy",
        str(tmp_path / "policy.toml"),
    ]


def test_run_exec_hands_each_action_to_the_command(
    tmp_path: Path, receiver: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    args = [*_overdue_store(tmp_path, "P-1"), "--once", "--exec", shlex.join(receiver)]
    assert main(args) == 0
    assert "1 fired, 1 delivered" in capsys.readouterr().err
    assert [g["action"] for g in _got(tmp_path)] == ["notify_owner"]
    assert main([*args, "--exec-timeout", "0s"]) == 2
    assert "'--exec-timeout' must be positive" in capsys.readouterr().err
    assert main([*args[:-2], "--exec", "notify 'unclosed"]) == 2
    assert "'--exec': 'command' cannot be split" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # --out and --exec: one or the other
        main([*args, "--out", "x.jsonl"])
    assert "not allowed with argument" in capsys.readouterr().err


def _envelope() -> object:
    ledger = PromiseLedger([made("P-1")])
    envelopes: list[object] = []
    EscalationRunner(ledger, POLICY, envelopes.append, holder="a").step(T0 + 2 * H)
    return envelopes[0]


def _alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_background_process_left_running_does_not_hold_the_sink(tmp_path: Path) -> None:
    import time

    # Exits 0 at once, leaving a child that holds the inherited standard error for 30 s.
    script = (
        "import subprocess, sys; "
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)']); "
        f"open({str(tmp_path / 'pid')!r}, 'w').write(str(p.pid))"
    )
    sink = CommandSink([sys.executable, "-c", script], timeout=20)
    started = time.monotonic()
    sink(_envelope())  # type: ignore[arg-type]
    assert time.monotonic() - started < 15  # returned when the command exited
    assert _alive(int((tmp_path / "pid").read_text()))  # and left its child alone
    import os
    import signal

    os.kill(int((tmp_path / "pid").read_text()), signal.SIGKILL)


def test_a_command_that_overruns_is_stopped_with_what_it_started(tmp_path: Path) -> None:
    import time

    # The command starts a child that would still act 3 s later, then hangs.
    late = tmp_path / "late.py"
    late.write_text(f"import time\ntime.sleep(3)\nopen({str(tmp_path / 'late')!r}, 'w')\n")
    script = (
        f"import subprocess, sys, time; p = subprocess.Popen([sys.executable, {str(late)!r}]); "
        f"open({str(tmp_path / 'pid')!r}, 'w').write(str(p.pid)); time.sleep(60)"
    )
    sink = CommandSink([sys.executable, "-c", script], timeout=1)
    with pytest.raises(SinkError, match="it and the processes it started were stopped"):
        sink(_envelope())  # type: ignore[arg-type]
    child = int((tmp_path / "pid").read_text())
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)
    time.sleep(3)
    assert not (tmp_path / "late").exists()  # it never acted after the attempt failed


def test_signals_nul_characters_and_long_keys_in_messages() -> None:
    envelope = _envelope()
    killed = CommandSink([sys.executable, "-c", "import os, signal; os.kill(os.getpid(), 9)"])
    with pytest.raises(SinkError, match=r"was killed by SIGKILL \(action 'P-1/"):
        killed(envelope)  # type: ignore[arg-type]
    import attrs

    bad = attrs.evolve(envelope, key="K\x00" + "x" * 300)  # type: ignore[misc]
    with pytest.raises(SinkError, match="PROMISEKIT_KEY would hold a NUL character"):
        CommandSink(["true"])(bad)
    long = attrs.evolve(envelope, key="K-" + "x" * 300)  # type: ignore[misc]
    with pytest.raises(SinkError) as caught:
        CommandSink([sys.executable, "-c", "raise SystemExit(2)"])(long)
    assert repr("K-" + "x" * 300) in str(caught.value)  # whole, to be searched for


def test_a_long_timeout_works(tmp_path: Path) -> None:
    CommandSink([sys.executable, "-c", "pass"], timeout=30 * 24 * 3600)(_envelope())  # type: ignore[arg-type]


def test_run_exec_prints_why_an_action_was_not_delivered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [*_overdue_store(tmp_path, "P-1"), "--once", "--exec", str(tmp_path / "missing")]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "promisekit run: not delivered: promise 'P-1', rule 'breached': the sink raised" in err
    assert "cannot run the command" in err and "1 failed" in err


def test_deliveries_are_recorded_as_they_go(tmp_path: Path) -> None:
    """A step interrupted while delivering keeps the records of what was delivered."""
    ledger = PromiseLedger([made("P-1"), made("P-2"), made("P-3")])
    taken: list[str] = []

    def sink(envelope: object) -> None:
        if len(taken) == 2:
            raise KeyboardInterrupt
        taken.append(envelope.key)  # type: ignore[attr-defined]

    runner = EscalationRunner(ledger, POLICY, sink, holder="a")
    with pytest.raises(KeyboardInterrupt):
        runner.step(T0 + 2 * H)
    delivered = [e.key for e in ledger.history() if isinstance(e, ActionDelivered)]
    assert delivered == taken


def test_ctrl_c_lets_the_step_finish_and_keeps_its_records(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import time

    now = datetime.now(timezone.utc)
    run = _overdue_store(tmp_path, "P-1", "P-2")
    slow = tmp_path / "slow.py"
    slow.write_text(
        f"import sys, time\nsys.stdin.read()\nopen({str(tmp_path / 'started')!r}, 'w')\n"
        "time.sleep(1)\n",
        encoding="utf-8",
    )
    args = [*run, "--interval", "1h", "--exec", shlex.join([sys.executable, str(slow)])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "promisekit.cli", *args], stderr=subprocess.PIPE, env=env
    )
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "started").exists() and time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()[1].decode()
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)  # during the first action of the step
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err.decode()
    with SQLiteLedger(tmp_path / "promises.db") as store:
        delivered = [e for e in store.history() if isinstance(e, ActionDelivered)]
        assert len(delivered) == 2  # the step finished both, and recorded them
        assert store.acquire_lease("escalations", "another", now=now, ttl=H)  # released


def test_a_runner_that_lost_its_lease_mid_step_stops_delivering() -> None:
    import time

    ledger = PromiseLedger([made("P-1"), made("P-2"), made("P-3")])
    calls: list[str] = []
    now = T0 + 2 * H

    def slow_sink(envelope: object) -> None:
        calls.append(envelope.key)  # type: ignore[attr-defined]
        if len(calls) == 1:  # a slow CRM: meanwhile the lease expires and "b" takes it
            time.sleep(1.05)
            later = now + timedelta(minutes=2)
            assert ledger.acquire_lease("escalations", "b", now=later, ttl=H)

    runner = EscalationRunner(ledger, POLICY, slow_sink, holder="a")
    report = runner.step(now)
    assert not report.leader and len(calls) == 1  # it stopped at its next record
