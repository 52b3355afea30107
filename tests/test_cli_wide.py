"""The command line on wide exports, errors, calendars and closed pipes (issue 17)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from promisekit import io
from promisekit._durations import parse_duration
from promisekit.cli import main
from promisekit.errors import InvalidValueError
from promisekit.serialize import SchemaError

pytest.importorskip("pandas")

SRC = str(Path(__file__).resolve().parents[1] / "src")

WIDE = """\
order_id,customer,purchase,estimated,delivered,review,state,notes
o1,c1,2026-03-02 09:00:00,2026-03-05 00:00:00,2026-03-04 10:00:00,5,SP,x
o2,c2,2026-03-02 10:00:00,2026-03-05 00:00:00,2026-03-06 10:00:00,1,RJ,y
o3,c3,2026-03-03 10:00:00,2026-03-09 00:00:00,,,SP,
o4,c4,2026-03-03 11:00:00,2026-03-04 00:00:00,,4,RJ,
"""

FIVE_LINES = """\
[wide]
promise_id = "order_id"
made_at = "purchase"
due = "estimated"
delivered_at = "delivered"
"""


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.run(
        [sys.executable, "-m", "promisekit.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def export(tmp_path: Path) -> Path:
    (tmp_path / "orders.csv").write_text(WIDE, encoding="utf-8")
    (tmp_path / "wide.toml").write_text(FIVE_LINES, encoding="utf-8")
    return tmp_path


def test_report_on_a_wide_export_with_a_five_line_mapping(
    export: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert len(FIVE_LINES.splitlines()) == 5
    code = main(
        [
            "report",
            str(export / "orders.csv"),
            "--mapping",
            str(export / "wide.toml"),
            "--tz",
            "America/Sao_Paulo",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0
    assert "4 promises as of 2026-03-06T13:00:00+00:00" in out
    assert "overdue" in out.splitlines()[3]
    # Unmapped columns: one note listing them, no error.
    assert err.count("note:") == 1
    assert "'customer', 'review', 'state', 'notes'" in err


def test_overdue_column_recomputes_the_keep_rate(
    export: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["report", str(export / "orders.csv"), "--mapping", str(export / "wide.toml")]
    assert main([*args, "--tz", "America/Sao_Paulo", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    for row in document["summary"]:
        decided = row["kept"] + row["late"] + row["short"] + row["overdue"]
        assert row["keep_rate"] == pytest.approx(row["kept"] / decided)
    first = document["summary"][0]
    assert (first["kept"], first["late"], first["overdue"], first["open"]) == (1, 1, 1, 2)


def test_wide_mapping_with_score_segment_constant_and_shared_column(
    export: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (export / "full.toml").write_text(
        FIVE_LINES
        + 'customer_id = "order_id"\nscore = "review"\nsegment = "state"\n'
        + '[constants]\nkind = "delivery"\n[ignore]\ncolumns = ["customer", "notes"]\n',
        encoding="utf-8",
    )
    result = io.load_wide(export / "orders.csv", mapping=export / "full.toml", tz="UTC")
    assert result.ok and result.ignored == ()
    frame = result.frame
    assert list(frame["customer_id"]) == list(frame["promise_id"]) == ["o1", "o2", "o3", "o4"]
    assert set(frame["kind"]) == {"delivery"}
    assert list(frame["score"].fillna(-1)) == [5.0, 1.0, -1.0, 4.0]
    assert frame["delivered_at"].isna().sum() == 2  # empty delivered_at: open promises
    args = ["report", str(export / "orders.csv"), "--mapping", str(export / "full.toml")]
    assert main([*args, "--tz", "UTC"]) == 0
    out = capsys.readouterr().out
    assert "mean score" in out
    assert "delivery" in out and "RJ" in out


def test_wide_mapping_as_json(export: Path) -> None:
    (export / "wide.json").write_text(
        json.dumps({"tz": "UTC", "wide": {"made_at": "purchase", "due": "estimated"}}),
        encoding="utf-8",
    )
    result = io.load_wide(export / "orders.csv", mapping=export / "wide.json")
    assert result.ok
    assert list(result.frame["promise_id"]) == ["line-2", "line-3", "line-4", "line-5"]


def test_columnar_path_matches_parse_datetime_rules(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text(
        "made_at,due\n"
        "2026-03-02T09:00:00-05:00,2026-03-02T16:00Z\n"  # offsets
        "2026-03-08 02:30,2026-03-09 00:00\n"  # skipped by DST in Toronto
        "2026-11-01 01:30,2026-11-02 00:00\n"  # repeated
        "2026-02-30 10:00,2026-03-02 00:00\n"  # impossible date
        "2026-03-02T09:00:00[America/Toronto],2026-03-03 00:00\n"  # bracketed zone
        "2026-03-03 09:00,2026-03-02 00:00\n",  # due before made
        encoding="utf-8",
    )
    result = io.load_wide(path, tz="America/Toronto")
    assert result.rows == 6
    assert result.bad_lines == (3, 4, 5, 7)
    reasons = {e.line: e.reason for e in result.errors}
    assert "daylight-saving" in reasons[3] and "daylight-saving" in reasons[4]
    assert "day is out of range" in reasons[5]
    assert "'due' must not be before 'made_at'" in reasons[7]
    made = list(result.frame["made_at"].astype(str))
    assert made == ["2026-03-02 14:00:00+00:00", "2026-03-02 14:00:00+00:00"]


def test_odd_csv_falls_back_to_the_exact_reader(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text(
        'made_at,due,note\n2026-03-02T09:00Z,2026-03-02T10:00Z,"two\nlines"\n\n'
        "2026-03-02T09:00Z,2026-03-02T10:00Z,a,extra\n2026-03-02T11:00Z,2026-03-02T12:00Z,b\n",
        encoding="utf-8",
    )
    result = io.load_wide(path)
    assert [e.line for e in result.errors] == [5]
    assert "expected 3 cells" in result.errors[0].reason
    assert list(result.frame["line"]) == [2, 6]
    assert list(result.frame["promise_id"]) == ["line-2", "line-6"]


def test_error_summary_counts_by_reason_and_hints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = ["made_at,due"] + [f"2026-03-02 09:{i % 60:02d},2026-03-02 18:00" for i in range(30)]
    (tmp_path / "naive.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (tmp_path / "m.toml").write_text('[wide]\nmade_at = "made_at"\n', encoding="utf-8")
    code = main(["report", str(tmp_path / "naive.csv"), "--mapping", str(tmp_path / "m.toml")])
    err = capsys.readouterr().err.splitlines()
    assert code == 1
    skipped = [line for line in err if ": skipped line" in line]
    assert len(skipped) == 20
    assert any("… and 40 more errors" in line for line in err)
    counts = err[err.index(next(x for x in err if x.endswith("errors by reason:"))) + 1 :]
    assert counts[0].split() == [
        "30",
        "field",
        "'made_at':",
        "'made_at'",
        "must",
        "be",
        "a",
        "timezone-aware",
        "datetime",
    ]
    assert "30 of 30 rows skipped" in err[-3]
    assert err[-2].startswith("hint: timestamps have no offset: pass --tz")
    assert err[-1] == f"promisekit: error: {tmp_path / 'naive.csv'} has no usable promise"


def test_event_form_constant_kind_applies_to_promise_rows_only(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        "type,id,promise_id,at,recorded_at,customer_id,due\n"
        "promise_made,E1,P1,2026-03-02T09:00Z,2026-03-02T09:00Z,C1,2026-03-02T10:00Z\n"
        "delivery_recorded,E2,P1,2026-03-02T09:40Z,2026-03-02T09:40Z,,\n",
        encoding="utf-8",
    )
    mapping = io.ColumnMapping(constants={"kind": "callback"})
    result = io.load_csv(path, mapping=mapping)
    assert result.ok, result.errors
    assert result.records[0].kind == "callback"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("spec", "extra", "open_on"),
    [
        ("always", [], "2026-01-01 03:00"),
        ("holidays:BR", ["--tz", "America/Sao_Paulo"], None),
        ("holidays:US-CA", ["--tz", "America/Los_Angeles", "--hours", "mon-sun 00:00-24:00"], None),
    ],
)
def test_calendars(spec: str, extra: list[str], open_on: str | None) -> None:
    pytest.importorskip("holidays")
    import argparse
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    from promisekit._cli_calendar import calendar_from_args

    tz = extra[1] if extra else None
    hours = extra[3] if len(extra) > 2 else None
    args = argparse.Namespace(calendar=spec, tz=tz, hours=hours)
    cal = calendar_from_args(args, range(2025, 2028))
    assert cal is not None
    if spec == "holidays:BR":
        assert not cal.is_business_day(date(2026, 4, 21))  # Tiradentes
        assert cal.is_business_day(date(2026, 4, 22))
        assert not cal.is_open(datetime(2026, 4, 22, 8, 0, tzinfo=ZoneInfo("America/Sao_Paulo")))
    if spec == "holidays:US-CA":
        assert not cal.is_business_day(date(2026, 3, 31))  # César Chávez Day
        assert cal.is_business_day(date(2026, 3, 28))  # a Saturday, with --hours
    if open_on is not None:
        assert cal.is_open(datetime.fromisoformat(open_on + "+00:00"))


def test_calendar_file_and_bad_specs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import argparse
    from datetime import date

    from promisekit._cli_calendar import calendar_from_args

    path = tmp_path / "office.toml"
    path.write_text(
        'tz = "Europe/Paris"\nholidays = [2026-05-01, "2026-07-14"]\n'
        '[hours]\nmon-fri = ["09:00-12:00", "14:00-18:00"]\n'
        '[overrides]\n2026-12-24 = "09:00-12:00"\n',
        encoding="utf-8",
    )
    cal = calendar_from_args(argparse.Namespace(calendar=str(path), tz=None, hours=None))
    assert cal is not None
    assert cal.holidays == (date(2026, 5, 1), date(2026, 7, 14))
    assert cal.weekly_hours == timedelta(hours=35)
    (tmp_path / "e.csv").write_text("made_at,due\n", encoding="utf-8")
    for spec, message in [
        ("holidays:BR", "needs --tz"),
        ("holidays:", "holidays:CC or holidays:CC-SUB"),
        ("mars", "must be montreal, always, holidays:CC[-SUB] or a TOML calendar file"),
    ]:
        assert main(["report", str(tmp_path / "e.csv"), "--calendar", spec]) == 2
        assert message in capsys.readouterr().err


def test_unexpected_exception_is_one_line_and_debug_shows_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], export: Path
) -> None:
    import promisekit._cli_export as export_module

    def boom(*args: object, **kwargs: object) -> object:
        raise ValueError("'yerr' must not contain negative values")

    monkeypatch.setattr(export_module, "_summary", boom)
    monkeypatch.setattr("promisekit.cli._summary", boom)
    args = ["report", str(export / "orders.csv"), "--mapping", str(export / "wide.toml")]
    assert main([*args, "--tz", "UTC"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == (
        "promisekit: error: unexpected ValueError: 'yerr' must not contain negative values "
        "(run with --debug for the traceback); please report this"
    )
    assert not any("Traceback" in line for line in err)
    assert main(["--debug", *args, "--tz", "UTC"]) == 1
    assert "Traceback (most recent call last)" in capsys.readouterr().err
    assert main([*args, "--tz", "UTC", "--debug"]) == 1
    assert "Traceback (most recent call last)" in capsys.readouterr().err


def test_report_json_into_head_exits_quietly(tmp_path: Path) -> None:
    lines = ["order_id,made_at,due,delivered_at"]
    for i in range(3000):
        lines.append(f"o{i},2026-03-02T09:00Z,2026-03-02T10:00Z,2026-03-02T09:{i % 60:02d}Z")
    (tmp_path / "big.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "m.toml").write_text(
        '[wide]\npromise_id = "order_id"\nsegment = "order_id"\n', encoding="utf-8"
    )
    env = {**os.environ, "PYTHONPATH": SRC}
    shell = (
        f"{sys.executable} -m promisekit.cli report big.csv --mapping m.toml --json | head -1; "
        'echo "status=${PIPESTATUS[0]}"'
    )
    done = subprocess.run(
        ["bash", "-c", shell], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert done.stdout.splitlines() == ["{", "status=141"]
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr
    assert "Exception ignored" not in done.stderr


def test_cli_subprocess_error_line(export: Path) -> None:
    done = _cli("report", "missing.csv", "--mapping", "wide.toml", cwd=export)
    assert done.returncode == 1
    message = "promisekit: error: cannot read missing.csv: No such file or directory"
    assert done.stderr.strip() == message


@given(
    st.integers(0, 500),
    st.integers(0, 23),
    st.integers(0, 59),
    st.integers(0, 59),
)
def test_duration_grammar_iso_and_units_agree(d: int, h: int, m: int, s: int) -> None:
    expected = timedelta(days=d, hours=h, minutes=m, seconds=s)
    units = f"{d}d{h}h{m}m{s}s"
    iso = f"P{d}DT{h}H{m}M{s}S"
    assert parse_duration(units) == parse_duration(iso) == expected
    weeks, days = divmod(d, 7)
    assert parse_duration(f"{weeks}w{days}d") == parse_duration(f"P{weeks}W{days}D")


def _toml_blocks(after: str) -> list[str]:
    page = (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text("utf-8")
    section = page[page.index(after) :]
    return [block.split("```", 1)[0] for block in section.split("```toml\n")[1:]]


def test_docs_wide_mappings_and_calendar_file_work(tmp_path: Path) -> None:
    five, full, calendar = _toml_blocks("### Wide exports")[:3]
    assert len(five.strip().splitlines()) == 5
    header = (
        "order_id,customer_id,order_status,order_purchase_timestamp,"
        "order_estimated_delivery_date,order_delivered_customer_date,review_score,"
        "customer_state\n"
    )
    (tmp_path / "orders.csv").write_text(
        header
        + "a1,c1,delivered,2018-01-02 10:00:00,2018-01-20 00:00:00,2018-01-10 12:00:00,5,SP\n"
        + "a2,c2,shipped,2018-01-03 10:00:00,2018-01-21 00:00:00,,,RJ\n",
        encoding="utf-8",
    )
    for text, tz in ((five, "UTC"), (full, None)):
        (tmp_path / "m.toml").write_text(text, encoding="utf-8")
        result = io.load_wide(tmp_path / "orders.csv", mapping=tmp_path / "m.toml", tz=tz)
        assert result.ok and len(result.frame) == 2
    assert result.ignored == ()
    assert list(result.frame["segment"]) == ["SP", "RJ"]
    pytest.importorskip("holidays")
    from promisekit._cli_calendar import calendar_from_toml

    (tmp_path / "cal.toml").write_text(calendar, encoding="utf-8")
    cal = calendar_from_toml(str(tmp_path / "cal.toml"), years=range(2026, 2027))
    assert cal.weekly_hours == timedelta(hours=5 * 7.5 + 4)


def test_record_widths_and_lines_with_quotes_crlf_and_blank_lines() -> None:
    data = (
        "made_at,due,note\r\n"
        '2026-03-02T09:00Z,2026-03-02T10:00Z,"a, b"\r\n'
        "2026-03-02T09:00Z,2026-03-02T10:00Z\r\n"  # short
        "\r\n"
        '2026-03-02T09:00Z,2026-03-02T10:00Z,"x""y\r\nz"\r\n'
        "2026-03-02T09:00Z,2026-03-02T10:00Z,c"
    )
    result = io.load_wide([data])
    assert list(result.frame["line"]) == [2, 5, 7]
    assert [str(e) for e in result.errors] == ["line 3: expected 3 cells like the header (got 2)"]
    assert result.rows == 4


def test_instants_outside_years_1_to_9999_are_refused_like_parse_datetime() -> None:
    result = io.load_wide(
        [
            "made_at,due\n",
            "0001-01-01T00:00+05:00,0001-01-02T00:00Z\n",
            "9999-12-31T23:00-05:00,9999-12-31T23:00-05:00\n",
            "0001-01-01T00:00Z,9999-12-31T23:59:59.999999Z\n",
        ]
    )
    assert result.bad_lines == (2, 3)
    assert len(result.frame) == 1


def test_event_export_scores_and_quote_check_on_a_wide_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = tmp_path / "events.csv"
    events.write_text(
        "type,id,promise_id,at,recorded_at,customer_id,kind,due,metadata.score\n"
        "promise_made,E1,P1,2026-03-02T09:00Z,2026-03-02T09:00Z,C1,callback,2026-03-02T10:00Z,4\n"
        "delivery_recorded,E2,P1,2026-03-02T09:40Z,2026-03-02T09:40Z,,,,\n"
        "promise_made,E3,P2,2026-03-02T09:00Z,2026-03-02T09:00Z,C2,callback,2026-03-02T09:30Z,2\n",
        encoding="utf-8",
    )
    assert main(["report", str(events), "--json"]) == 0
    first = json.loads(capsys.readouterr().out)["summary"][0]
    assert first["mean_score"] == pytest.approx(3.0)
    assert (first["kept"], first["overdue"], first["keep_rate"]) == (1, 1, 0.5)
    lines = ["order_id,made_at,due,delivered_at"]
    for i in range(40):
        lines.append(f"o{i},2026-03-02T09:00Z,2026-03-03T09:00Z,2026-03-02T{10 + i % 10}:00Z")
    (tmp_path / "orders.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "m.toml").write_text('[wide]\npromise_id = "order_id"\n', encoding="utf-8")
    source = ["--history", str(tmp_path / "orders.csv"), "--mapping", str(tmp_path / "m.toml")]
    assert main(["check-commitment", *source, "--window", "PT12H", "--rate", "0.9"]) == 0
    assert "40" in capsys.readouterr().out
    code = main(["quote", *source, "--start", "2026-03-10T09:00Z", "--confidence", "0.9"])
    assert code == 0
    assert "due 2026-03-10T" in capsys.readouterr().out


def test_event_export_unknown_columns_are_noted_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = [f"x{i}" for i in range(28)]
    path = tmp_path / "events.csv"
    path.write_text(
        "type,id,promise_id,at,recorded_at,customer_id,kind,due," + ",".join(extra) + "\n"
        "promise_made,E1,P1,2026-03-02T09:00Z,2026-03-02T09:00Z,C1,callback,2026-03-02T10:00Z,"
        + ",".join("v" for _ in extra)
        + "\n",
        encoding="utf-8",
    )
    assert main(["report", str(path)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"{path}: note: ignored columns that are not event fields (28): 'x0'")


def test_event_export_without_recorded_at(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(
        '{"type": "promise_made", "id": "E1", "promise_id": "P1", "at": "2026-03-02T09:00Z", '
        '"customer_id": "C1", "kind": "callback", "due": "2026-03-02T10:00Z"}\n'
        '{"type": "delivery_recorded", "id": "E2", "promise_id": "P1", '
        '"at": "2026-03-02T09:30Z"}\n',
        encoding="utf-8",
    )
    assert main(["report", str(path), "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert json.loads(captured.out)["summary"][0]["kept"] == 1
    csv_path = tmp_path / "events.csv"
    csv_path.write_text(
        "type,id,promise_id,at,customer_id,kind,due\n"
        "promise_made,E1,P1,2026-03-02T09:00Z,C1,callback,2026-03-02T10:00Z\n",
        encoding="utf-8",
    )
    assert main(["report", str(csv_path)]) == 0
    # The library itself still requires it.
    assert not io.load_csv(csv_path).ok


def test_a_nested_columns_table_under_wide_says_how_to_write_it(tmp_path: Path) -> None:
    path = tmp_path / "nested.toml"
    path.write_text('[wide]\ncolumns = { made_at = "purchased" }\n', encoding="utf-8")
    with pytest.raises(SchemaError) as caught:
        io.load_wide_mapping(path)
    message = str(caught.value)
    assert "'columns' holds a table" in message
    assert "directly under [wide]" in message


def test_a_field_with_both_a_column_and_a_constant_is_refused_in_both_forms() -> None:
    with pytest.raises(InvalidValueError, match="'kind' are given both a column and a constant"):
        io.WideMapping(columns={"kind": "type"}, constants={"kind": "delivery"})
    with pytest.raises(InvalidValueError, match="'kind' are given both a column and a constant"):
        io.ColumnMapping(columns={"kind": "type"}, constants={"kind": "callback"})
