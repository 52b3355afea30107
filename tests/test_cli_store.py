"""``report``, ``quote`` and ``check-commitment`` read a ledger store (SQLite file or
``postgresql://`` URL) as they read an export: the same promises give the same answers."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from promisekit import io
from promisekit.cli import main
from promisekit.ledger import PromiseCancelled
from promisekit.store import SQLiteLedger

HEADER = "type,id,promise_id,at,recorded_at,customer_id,kind,due,segment,owner\n"
ROWS = [
    "promise_made,M1,P1,2026-03-02T09:00:00-05:00,2026-03-02T09:00:00-05:00,C1,callback,"
    "2026-03-02T10:00:00-05:00,gold,ana\n",
    "delivery_recorded,D1,P1,2026-03-02T09:40:00-05:00,2026-03-02T09:40:00-05:00,,,,,\n",
    "promise_made,M2,P2,2026-03-02T10:00:00-05:00,2026-03-02T10:00:00-05:00,C2,callback,"
    "2026-03-02T11:00:00-05:00,standard,ana\n",
    "delivery_recorded,D2,P2,2026-03-02T11:30:00-05:00,2026-03-02T11:30:00-05:00,,,,,\n",
    "promise_made,M4,P4,2026-03-02T13:00:00-05:00,2026-03-02T13:00:00-05:00,C4,callback,"
    "2026-03-02T14:00:00-05:00,standard,bo\n",
    "delivery_recorded,D4,P4,2026-03-02T13:20:00-05:00,2026-03-02T13:20:00-05:00,,,,,\n",
    "promise_made,M5,P5,2026-03-02T14:00:00-05:00,2026-03-02T14:00:00-05:00,C5,callback,"
    "2026-03-02T16:00:00-05:00,gold,bo\n",
]


@pytest.fixture
def export(tmp_path: Path) -> Path:
    path = tmp_path / "export.csv"
    path.write_text(HEADER + "".join(ROWS), encoding="utf-8")
    return path


@pytest.fixture
def store(export: Path, tmp_path: Path) -> Path:
    path = tmp_path / "promises.db"
    with SQLiteLedger(path) as ledger:
        ledger.append_many(io.load_csv(export).records)
    return path


def _json(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    assert main(args) == 0
    document: dict[str, object] = json.loads(capsys.readouterr().out)
    return document


def test_report_of_a_store_is_the_report_of_its_export(
    export: Path, store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from_export = _json(["report", str(export), "--json"], capsys)
    from_store = _json(["report", str(store), "--json"], capsys)
    assert from_store.pop("file") == "promises.db"
    assert from_export.pop("file") == str(export)
    assert from_store == from_export
    assert from_store["promises"] == 4
    assert main(["report", str(store)]) == 0
    assert capsys.readouterr().out.startswith(
        "promises.db: 4 promises as of 2026-03-02T19:00:00+00:00"
    )


def test_quote_and_check_commitment_read_a_store(
    export: Path, store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = []
    for source in (export, store):
        quote = ["quote", "--history", str(source), "--start", "2026-03-03T09:00-05:00"]
        assert main([*quote, "--confidence", "0.5", "--min-samples", "1"]) == 0
        check = ["check-commitment", "--history", str(source), "--window", "1h"]
        assert main([*check, "--rate", "0.5"]) == 0
        answers.append(capsys.readouterr().out)
    assert answers[0] == answers[1]
    assert "due 2026-03-03T" in answers[1]


def test_a_cancelled_promise_is_left_out(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from datetime import datetime, timedelta, timezone

    at = datetime(2026, 3, 2, 19, 0, tzinfo=timezone(-timedelta(hours=5)))
    with SQLiteLedger(store) as ledger:
        ledger.append(PromiseCancelled(id="X5", promise_id="P5", at=at, recorded_at=at))
    document = _json(["report", str(store), "--json"], capsys)
    assert document["promises"] == 3
    assert document["now"] == "2026-03-03T00:00:00+00:00"  # the store's last event (19:00-05:00)


def test_store_mistakes_are_one_line_errors(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(store), "--mapping", "m.toml"]) == 2
    assert "'--mapping' is for exports; 'promises.db' is a ledger store" in capsys.readouterr().err
    assert main(["report", str(store), "--schema", "crm"]) == 2
    assert "'--schema' is for a postgresql:// store" in capsys.readouterr().err
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    assert main(["report", str(other)]) == 1
    err = capsys.readouterr().err
    assert "'FILE': the store '" in err
    assert "other.db' holds no promisekit ledger (no 'meta' and 'events' tables)" in err
    with sqlite3.connect(other) as conn:  # and nothing was created in it
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["t"]
    assert main(["run", "--store", str(other), "--policy", "p.toml", "--out", "-"]) == 1
    err = capsys.readouterr().err
    assert "'--store': the store '" in err
    assert "other.db' holds no promisekit ledger (no 'meta' and 'events' tables)\n" in err
    empty = tmp_path / "empty.db"
    SQLiteLedger(empty).close()
    assert main(["report", str(empty)]) == 1
    assert "the store empty.db has no usable promise" in capsys.readouterr().err


def test_report_of_a_postgresql_store(
    export: Path, capsys: pytest.CaptureFixture[str], postgres_url: str, pg_schema: str
) -> None:
    from promisekit.postgres import PostgresLedger

    with PostgresLedger(postgres_url, schema=pg_schema) as ledger:
        ledger.append_many(io.load_csv(export).records)
    from_export = _json(["report", str(export), "--json"], capsys)
    from_store = _json(["report", postgres_url, "--schema", pg_schema, "--json"], capsys)
    from_export.pop("file")
    assert from_store.pop("file") == postgres_url  # (no password in the test URL)
    assert from_store == from_export
    assert main(["report", postgres_url, "--schema", f"{pg_schema}_missing"]) == 1
    assert f"(schema '{pg_schema}_missing') holds no promisekit ledger" in capsys.readouterr().err


def test_a_password_in_the_url_is_not_printed(capsys: pytest.CaptureFixture[str]) -> None:
    from promisekit._cli_store import store_name

    pytest.importorskip("psycopg")
    assert store_name("postgresql://crm:s3cret@db.internal/promises") == (
        "postgresql://crm:***@db.internal/promises"
    )


ORPHAN = "delivery_recorded,D9,P9,2026-03-02T18:00:00-05:00,2026-03-02T18:00:00-05:00,,,,,\n"


def test_events_without_a_promise_are_skipped_but_date_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "export.csv"
    export.write_text(HEADER + "".join(ROWS) + ORPHAN, encoding="utf-8")
    store = tmp_path / "promises.db"
    with SQLiteLedger(store) as ledger:
        ledger.append_many(io.load_csv(export).records)
    assert main(["report", str(export), "--json"]) == 0
    out, err_export = capsys.readouterr()
    from_export = json.loads(out)
    assert main(["report", str(store), "--json"]) == 0
    out, err_store = capsys.readouterr()
    from_store = json.loads(out)
    assert from_export.pop("file") == str(export) and from_store.pop("file") == "promises.db"
    assert from_store == from_export
    assert from_store["now"] == "2026-03-02T23:00:00+00:00"  # the orphan's event, the latest
    assert "skipped: promise 'P9' has events but no promise_made row" in err_export
    assert err_store == "promises.db: skipped: promise 'P9' has events but no promise_made event\n"


def test_a_report_reads_beside_a_writer_and_changes_nothing(
    store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with sqlite3.connect(store) as conn:  # kept in rollback mode by whoever owns it
        conn.execute("PRAGMA journal_mode = DELETE")
    before = store.read_bytes()
    assert main(["report", str(store), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["promises"] == 4
    assert store.read_bytes() == before
    assert sorted(p.name for p in store.parent.iterdir()) == ["export.csv", "promises.db"]
    with sqlite3.connect(store) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
    writer = sqlite3.connect(store, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # the service is in the middle of a write
    try:
        assert main(["report", str(store), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["promises"] == 4
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_a_store_without_a_ledger_hints_at_schema_only_when_not_given(
    monkeypatch: pytest.MonkeyPatch, postgres_url: str, pg_schema: str
) -> None:
    from promisekit import _cli_store
    from promisekit.store import StoreError

    with pytest.raises(StoreError) as given:
        _cli_store.store_opener(postgres_url, pg_schema, "FILE", read_only=True)
    assert "holds no promisekit ledger" in str(given.value)
    assert "--schema" not in str(given.value)
    # The default schema ('promisekit') may hold a ledger on a shared test server: ask
    # for one that does not, as if it were the default.
    monkeypatch.setattr(_cli_store, "_DEFAULT_SCHEMA", pg_schema)
    with pytest.raises(StoreError) as default:
        _cli_store.store_opener(postgres_url, None, "FILE", read_only=True)
    assert str(default.value).endswith("; pass --schema if it is in another schema")


def test_a_url_that_is_not_one_is_echoed_without_its_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for where in ("postgresq://crm:hunter22@db/x", "PostgreSQL://crm:hunter22@db/x"):
        assert main(["report", where]) == 1
        err = capsys.readouterr().err
        assert "hunter22" not in err and "crm:***@db/x" in err, err
        assert main(["run", "--store", where, "--policy", "p.toml", "--out", "-"]) == 2
        err = capsys.readouterr().err
        assert "hunter22" not in err and "crm:***@db/x" in err, err
    conninfo = "host=/nowhere user=crm password=hunter22 dbname=x"
    assert main(["report", conninfo, "--schema", "s"]) == 2
    err = capsys.readouterr().err
    assert "hunter22" not in err and "password=***" in err, err


def test_a_promise_made_while_the_report_reads_is_not_called_an_orphan(
    store: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import datetime, timedelta, timezone

    from promisekit.ledger import PromiseMade

    states = SQLiteLedger.states
    at = datetime(2026, 3, 2, 18, 0, tzinfo=timezone.utc)

    def states_then_a_writer(self: SQLiteLedger, at_: datetime | None = None) -> object:
        yield from states(self, at_)
        with SQLiteLedger(store) as writer:  # the service appends after the states pass
            writer.append(
                PromiseMade(
                    id="M9",
                    promise_id="P9",
                    at=at,
                    recorded_at=at,
                    customer_id="C9",
                    kind="callback",
                    due=at + timedelta(hours=1),
                )
            )

    monkeypatch.setattr(SQLiteLedger, "states", states_then_a_writer)
    assert main(["report", str(store), "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["promises"] == 4 and "skipped" not in err
