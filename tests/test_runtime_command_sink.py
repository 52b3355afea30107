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


def test_run_exec_hands_each_action_to_the_command(
    tmp_path: Path, receiver: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    now = datetime.now(timezone.utc)
    with SQLiteLedger(tmp_path / "promises.db") as store:
        store.append(made("P-1", at=now - 3 * H))
    (tmp_path / "policy.toml").write_text(
        '[[rules]]\nname = "breached"\nwhen = "overdue"\ndo = ["notify_owner"]\n',
        encoding="utf-8",
    )
    args = ["run", "--store", str(tmp_path / "promises.db"), "--policy"]
    args += [str(tmp_path / "policy.toml"), "--once", "--exec", shlex.join(receiver)]
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
