"""``promisekit run``: the escalation runner as a command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from promisekit.cli import main
from promisekit.ledger import ActionDelivered, EscalationFailed, EscalationFired, PromiseMade
from promisekit.store import SQLiteLedger

POLICY = """
[[rules]]
name = "breached"
when = "overdue"
do = ["notify_owner", "notify_customer:apology"]
"""


def _store(tmp_path: Path, overdue: int = 3) -> Path:
    path = tmp_path / "promises.db"
    now = datetime.now(timezone.utc)
    with SQLiteLedger(path) as store:
        for i in range(overdue):
            store.append(
                PromiseMade(
                    id=f"made-{i}",
                    promise_id=f"T-{i}",
                    at=now - timedelta(hours=3),
                    recorded_at=now - timedelta(hours=3),
                    customer_id=f"C-{i}",
                    kind="callback",
                    due=now - timedelta(hours=1),
                )
            )
    (tmp_path / "policy.toml").write_text(POLICY, encoding="utf-8")
    return path


def _args(tmp_path: Path, *extra: str) -> list[str]:
    return [
        "run",
        "--store",
        str(tmp_path / "promises.db"),
        "--policy",
        str(tmp_path / "policy.toml"),
        "--out",
        str(tmp_path / "actions.jsonl"),
        *extra,
    ]


def test_once_fires_records_and_writes_json_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = _store(tmp_path)
    assert main(_args(tmp_path, "--once", "--explanation", "A storm closed the office.")) == 0
    lines = (tmp_path / "actions.jsonl").read_text("utf-8").splitlines()
    docs = [json.loads(line) for line in lines]
    assert len(docs) == 6
    letters = [d for d in docs if d["notice"] is not None]
    assert len(letters) == 3 and all("storm" in d["notice"]["body"] for d in letters)
    assert "6 fired, 6 delivered" in capsys.readouterr().err
    # A second run (a new process, a new runner) fires nothing again.
    assert main(_args(tmp_path, "--once")) == 0
    assert len((tmp_path / "actions.jsonl").read_text("utf-8").splitlines()) == 6
    with SQLiteLedger(store) as ledger:
        history = ledger.history()
    assert sum(isinstance(e, EscalationFired) for e in history) == 6
    assert sum(isinstance(e, ActionDelivered) for e in history) == 6


def test_letters_with_a_placeholder_wait(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _store(tmp_path, overdue=1)
    assert main(_args(tmp_path, "--once")) == 0
    assert "2 fired, 1 delivered, 1 failed, 1 waiting" in capsys.readouterr().err
    with SQLiteLedger(tmp_path / "promises.db") as ledger:
        failure = next(e for e in ledger.history() if isinstance(e, EscalationFailed))
    assert "placeholder" in failure.error and failure.retry_at is not None
    assert "--explanation" in failure.error and "--allow-placeholders" in failure.error
    # The retry waits for its backoff (30 s), whatever the new options say.
    assert main(_args(tmp_path, "--once", "--allow-placeholders")) == 0
    assert "0 fired, 0 delivered, 0 failed, 1 waiting" in capsys.readouterr().err


def _overdue(count: int) -> list[PromiseMade]:
    now = datetime.now(timezone.utc)
    return [
        PromiseMade(
            id=f"made-{i}",
            promise_id=f"T-{i}",
            at=now - timedelta(hours=3),
            recorded_at=now - timedelta(hours=3),
            customer_id=f"C-{i}",
            kind="callback",
            due=now - timedelta(hours=1),
        )
        for i in range(count)
    ]


def test_once_over_a_postgresql_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], postgres_url: str, pg_schema: str
) -> None:
    from promisekit.postgres import PostgresLedger

    with PostgresLedger(postgres_url, schema=pg_schema) as ledger:
        ledger.append_many(_overdue(2))
    (tmp_path / "policy.toml").write_text(POLICY, encoding="utf-8")
    args = ["run", "--store", postgres_url, "--schema", pg_schema, "--policy"]
    args += [str(tmp_path / "policy.toml"), "--out", str(tmp_path / "actions.jsonl"), "--once"]
    assert main([*args, "--explanation", "A storm."]) == 0
    assert "4 fired, 4 delivered" in capsys.readouterr().err
    docs = [json.loads(line) for line in (tmp_path / "actions.jsonl").read_text().splitlines()]
    assert sorted(d["escalation"]["promise_id"] for d in docs) == ["T-0", "T-0", "T-1", "T-1"]
    # Recorded in the server's ledger: a second run (another runner) fires nothing again.
    assert main(args) == 0
    assert "0 fired, 0 delivered" in capsys.readouterr().err
    with PostgresLedger(postgres_url, schema=pg_schema) as ledger:
        history = ledger.history()
    assert sum(isinstance(e, EscalationFired) for e in history) == 4
    assert sum(isinstance(e, ActionDelivered) for e in history) == 4


def test_a_postgresql_schema_without_a_ledger_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], postgres_url: str, pg_schema: str
) -> None:
    (tmp_path / "policy.toml").write_text(POLICY, encoding="utf-8")
    args = ["run", "--store", postgres_url, "--schema", pg_schema, "--policy"]
    args += [str(tmp_path / "policy.toml"), "--out", str(tmp_path / "actions.jsonl"), "--once"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.startswith("promisekit: error: '--store': the store 'postgresql://")
    assert f"(schema '{pg_schema}') holds no promisekit ledger (the schema does not exist)" in err
    assert "--schema if" not in err  # it was given
    import psycopg

    with psycopg.connect(postgres_url) as conn:  # and nothing was created
        found = conn.execute(
            "SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", (pg_schema,)
        ).fetchone()
    assert found is None


def test_an_unreachable_postgresql_store_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "policy.toml").write_text(POLICY, encoding="utf-8")
    url = f"postgresql:///promises?host={tmp_path / 'no-server'}&user=nobody&password=s3cret"
    args = ["run", "--store", url, "--policy", str(tmp_path / "policy.toml")]
    assert main([*args, "--out", str(tmp_path / "actions.jsonl"), "--once"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("promisekit: error: '--store': cannot open the store 'postgresql://")
    assert "user=nobody&password=***'" in err
    assert "s3cret" not in err and "Traceback" not in err


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _store(tmp_path)
    assert main(_args(tmp_path, "--interval", "0s")) == 2
    assert "'--interval' must be positive" in capsys.readouterr().err
    assert main(_args(tmp_path, "--interval", "soon")) == 2
    assert "'--interval' must be a duration" in capsys.readouterr().err
    missing = ["run", "--store", str(tmp_path / "nope.db"), "--policy", "p.toml", "--out", "x"]
    assert main([*missing, "--once"]) == 2
    assert "'--store' must be an existing ledger store" in capsys.readouterr().err
    assert main([*_args(tmp_path, "--once"), "--schema", "crm"]) == 2
    assert "'--schema' is for a postgresql:// store" in capsys.readouterr().err
    (tmp_path / "policy.toml").write_text("[[rules]]\nname = 'x'\n", encoding="utf-8")
    assert main(_args(tmp_path, "--once")) == 1
    assert "promisekit: error:" in capsys.readouterr().err


@pytest.mark.skipif(not hasattr(signal, "SIGTERM"), reason="needs POSIX signals")
def test_sigterm_finishes_the_step_and_exits_zero(tmp_path: Path) -> None:
    _store(tmp_path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "promisekit.cli",
            *_args(tmp_path, "--interval", "1s", "--allow-placeholders"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    out = tmp_path / "actions.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if out.exists() and len(out.read_text("utf-8").splitlines()) >= 3:
            break
        assert process.poll() is None, process.communicate()[1].decode()
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err.decode()
    assert len(out.read_text("utf-8").splitlines()) == 6


def _wait_for_lines(path: Path, count: int, process: subprocess.Popen[bytes]) -> list[str]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        lines = path.read_text("utf-8").splitlines() if path.exists() else []
        if len(lines) >= count:
            return lines
        assert process.poll() is None, process.communicate()[1].decode()
        time.sleep(0.1)
    raise AssertionError(f"fewer than {count} lines in {path} after 60 s")


@pytest.mark.skipif(not hasattr(signal, "SIGTERM"), reason="needs POSIX signals")
def test_the_service_outlives_a_lost_database_connection(
    tmp_path: Path, postgres_url: str, pg_schema: str
) -> None:
    import psycopg

    from promisekit.postgres import PostgresLedger

    with PostgresLedger(postgres_url, schema=pg_schema) as ledger:
        ledger.append_many(_overdue(1))
    (tmp_path / "policy.toml").write_text(POLICY, encoding="utf-8")
    name = f"pk_{pg_schema}"  # the runner's connections, to end them as a restart would
    url = f"{postgres_url}{'&' if '?' in postgres_url else '?'}application_name={name}"
    out = tmp_path / "actions.jsonl"
    args = ["run", "--store", url, "--schema", pg_schema, "--policy", str(tmp_path / "policy.toml")]
    args += ["--out", str(out), "--interval", "1s", "--allow-placeholders"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "promisekit.cli", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        assert len(_wait_for_lines(out, 2, process)) == 2
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            ended = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = %s",
                (name,),
            ).fetchone()
        assert ended is not None and ended[0] >= 1
        with PostgresLedger(postgres_url, schema=pg_schema) as ledger:
            ledger.append(_overdue(2)[1])
        lines = _wait_for_lines(out, 4, process)  # the runner reconnected and went on
        promised = sorted(json.loads(line)["escalation"]["promise_id"] for line in lines)
        assert promised == ["T-0", "T-0", "T-1", "T-1"]
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err.decode()
    assert "promisekit run: the step failed, next try in 1s: cannot" in err.decode()
