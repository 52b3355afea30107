"""The ``promisekit`` command."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from promisekit.cli import UsageError, format_duration, format_table, main, parse_duration


@pytest.fixture(autouse=True)
def _in_tmp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`promisekit demo` writes its HTML report to the working directory."""
    monkeypatch.chdir(tmp_path)


def test_demo_prints_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "late (real)" in out
    assert "late (biz)" in out
    for status in ("kept", "late", "short", "pending"):
        assert f"  {status}  " in out or f"  {status} " in out
    assert "promises kept" in out


def test_demo_is_deterministic(capsys: pytest.CaptureFixture[str]) -> None:
    main(["demo", "--n", "20", "--seed", "3"])
    first = capsys.readouterr().out
    main(["demo", "--n", "20", "--seed", "3"])
    assert capsys.readouterr().out == first
    assert first.count("\nP00") == 20


def test_demo_bad_n(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--n", "0"]) == 1
    assert "'n' must be at least 1" in capsys.readouterr().err


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "demo" in capsys.readouterr().out


def test_console_script_entry_point() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "promisekit.cli", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.startswith("promisekit 0.1.0")


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (None, "-"),
        (timedelta(0), "0m"),
        (timedelta(seconds=59), "0m"),
        (timedelta(minutes=-12), "-12m"),
        (timedelta(hours=1, minutes=5), "+1h05m"),
        (timedelta(days=2, hours=3), "+2d3h"),
        (timedelta(days=-2), "-2d"),
    ],
)
def test_format_duration(delta: timedelta | None, text: str) -> None:
    assert format_duration(delta) == text


def test_format_table_aligns() -> None:
    table = format_table(["a", "long header"], [["xyz", "1"], ["", "22"]])
    lines = table.splitlines()
    assert lines[0] == "a    long header"
    assert lines[2] == "xyz  1"


# --------------------------------------------------------------------------- CRM exports

HEADER = "type,id,promise_id,at,recorded_at,customer_id,kind,due,segment,owner\n"


def made(n: int, start: str, due: str, segment: str, *, at: str | None = None) -> str:
    at = at or start
    return f"promise_made,M{n},P{n},{at},{start},C{n},callback,{due},{segment},ana\n"


def delivered(n: int, at: str) -> str:
    return f"delivery_recorded,D{n},P{n},{at},{at},,,,,\n"


@pytest.fixture
def export(tmp_path: Path) -> Path:
    """Four good promises (three completed) and a bad row (naive timestamp) on line 6."""
    rows = [
        made(1, "2026-03-02T09:00:00-05:00", "2026-03-02T10:00:00-05:00", "gold"),
        delivered(1, "2026-03-02T09:40:00-05:00"),
        made(2, "2026-03-02T10:00:00-05:00", "2026-03-02T11:00:00-05:00", "standard"),
        delivered(2, "2026-03-02T11:30:00-05:00"),
        made(
            3,
            "2026-03-02T11:00:00-05:00",
            "2026-03-02T12:00:00-05:00",
            "gold",
            at="2026-03-02T11:00:00",
        ),
        made(4, "2026-03-02T13:00:00-05:00", "2026-03-02T14:00:00-05:00", "standard"),
        delivered(4, "2026-03-02T13:20:00-05:00"),
        made(5, "2026-03-02T14:00:00-05:00", "2026-03-02T16:00:00-05:00", "gold"),
    ]
    path = tmp_path / "export.csv"
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    return path


def test_report_prints_summary(export: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(export)]) == 0
    captured = capsys.readouterr()
    assert "4 promises" in captured.out
    assert "keep rate" in captured.out and "median response" in captured.out
    assert "segment  gold" in captured.out
    assert "real time" in captured.out
    assert "skipped line 6, field 'at'" in captured.err
    assert "1 of 8 rows skipped" in captured.err


def test_report_json_and_html(
    export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    out = tmp_path / "report.html"
    code = main(["report", str(export), "--calendar", "montreal", "--json", "--html", str(out)])
    assert code == 0
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert document["business_time"] is True
    assert document["promises"] == 4
    first = document["summary"][0]
    assert (first["by"], first["group"], first["kept"], first["late"]) == ("all", "all", 2, 1)
    assert first["median_response_seconds"] == 2400.0
    assert f"HTML report written to {out}" in captured.err
    page = out.read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 3
    assert 'src="http' not in page


def test_report_with_mapping_and_tz(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "crm.csv"
    path.write_text(
        "Event,Event ID,Ticket,When,Logged,Customer,Kind,Due,Notes\n"
        "promise_made,E1,T1,2026-03-02 09:00,2026-03-02 09:00,C1,callback,2026-03-02 10:00,x\n"
        "delivery_recorded,E2,T1,2026-03-02 09:30,2026-03-02 09:30,,,,\n",
        encoding="utf-8",
    )
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(
        '[columns]\ntype = "Event"\nid = "Event ID"\npromise_id = "Ticket"\nat = "When"\n'
        'recorded_at = "Logged"\ncustomer_id = "Customer"\nkind = "Kind"\ndue = "Due"\n'
        '[ignore]\ncolumns = ["Notes"]\n',
        encoding="utf-8",
    )
    args = ["report", str(path), "--mapping", str(mapping), "--tz", "America/Toronto"]
    assert main([*args, "--calendar", "always"]) == 0
    captured = capsys.readouterr()
    assert "1 promises" in captured.out and "business time" in captured.out
    assert captured.err == ""


def test_report_unreadable_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path / "missing.csv")]) == 1
    assert "cannot read" in capsys.readouterr().err
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("type,id,colour\n", encoding="utf-8")
    assert main(["report", str(unknown)]) == 1
    err = capsys.readouterr().err
    assert "note: ignored columns that are not event fields (1): 'colour'" in err
    assert "no usable promise" in err


def test_report_no_usable_promise(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.csv"
    path.write_text(HEADER, encoding="utf-8")
    assert main(["report", str(path)]) == 1
    assert "no usable promise" in capsys.readouterr().err


def test_report_bad_tz(export: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(export), "--tz", "Mars/Base"]) == 2
    assert "'--tz' must be an IANA time zone" in capsys.readouterr().err


def test_report_jsonl(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "export.jsonl"
    rows = [
        {
            "type": "promise_made",
            "id": "M1",
            "promise_id": "P1",
            "at": "2026-03-02T09:00:00-05:00",
            "recorded_at": "2026-03-02T09:00:00-05:00",
            "customer_id": "C1",
            "kind": "callback",
            "due": "2026-03-02T10:00:00-05:00",
        },
        {"type": "delivery_recorded", "id": "D1", "promise_id": "P1", "at": "nope"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert main(["report", str(path)]) == 0
    captured = capsys.readouterr()
    assert "1 promises" in captured.out
    assert "skipped line 2" in captured.err


def test_quote(export: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["quote", "--history", str(export), "--confidence", "0.9"]
    code = main(
        [*args, "--start", "2026-03-10T13:30", "--tz", "America/Toronto", "--min-samples", "3"]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "due by 15:00 America/Toronto (p90 of 3 past promises = 1 h 30 min)" in out
    assert "2026-03-10T15:00:00-04:00" in out


def test_quote_business_time_by_kind(export: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["quote", "--history", str(export), "--start", "2026-03-10T13:30-04:00"]
    assert main([*args, "--calendar", "montreal", "--kind", "callback", "--min-samples", "3"]) == 0
    out = capsys.readouterr().out
    assert "callback by 15:00 America/Toronto (p90 of 3 past callbacks = 1 business h" in out


def test_quote_errors(export: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["quote", "--history", str(export)]
    assert main([*base, "--start", "2026-03-10T13:30"]) == 2
    assert "'--start' has no UTC offset" in capsys.readouterr().err
    assert main([*base, "--start", "tomorrow"]) == 2
    assert "'--start' must be an ISO 8601" in capsys.readouterr().err
    assert main([*base, "--start", "2026-03-10T13:30Z"]) == 1  # 3 durations < 30
    assert "min_samples=30" in capsys.readouterr().err
    assert main([*base, "--start", "2026-03-10T13:30Z", "--kind", "repair"]) == 1
    assert "no completed 'repair' promise" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main([*base, "--start", "2026-03-10T13:30Z", "--confidence", "0"])
    assert exc.value.code == 2
    assert "--confidence must be in (0, 1]" in capsys.readouterr().err


def test_check_commitment(export: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["check-commitment", "--history", str(export)]
    assert main([*args, "--window", "60m", "--rate", "0.98"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("not publishable: 'promise within 1 h, 98 % of the time'")
    assert "66.7 % of the time over 3 requests" in out
    assert main([*args, "--window", "1h30m", "--rate", "0.4", "--calendar", "always"]) == 0
    assert capsys.readouterr().out.startswith("publishable: ")


def test_check_commitment_errors(export: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["check-commitment", "--history", str(export), "--rate", "0.9"]
    assert main([*args, "--window", "soon"]) == 2
    assert "'--window' must be a duration" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main([*args[:-2], "--window", "1h", "--rate", "1.5"])
    assert exc.value.code == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("60m", timedelta(minutes=60)),
        ("45", timedelta(minutes=45)),
        ("2h", timedelta(hours=2)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("3d", timedelta(days=3)),
        ("90s", timedelta(seconds=90)),
        ("2w", timedelta(weeks=2)),
        ("90min", timedelta(minutes=90)),
        ("1.5h", timedelta(minutes=90)),
        ("PT1H30M", timedelta(minutes=90)),
        ("P2W", timedelta(weeks=2)),
        ("P1DT12H", timedelta(hours=36)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "m", "1x", "-5m", "P", "PT", "P1M", "P1Y", "soon"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(UsageError):
        parse_duration(text)


def test_demo_html(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    out = tmp_path / "demo.html"
    assert main(["demo", "--html", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "promises kept" in printed
    assert printed.rstrip().endswith(f"HTML report written to {out}")
    page = out.read_text(encoding="utf-8")
    assert "Montréal callback centre" in page
    assert page.count("data:image/png;base64,") == 3


@pytest.mark.parametrize("command", ["demo", "report", "quote", "check-commitment"])
def test_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    assert f"usage: promisekit {command}" in capsys.readouterr().out


# --------------------------------------------------------------------------- progress


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progress_renders_when_forced() -> None:
    import io

    from promisekit.cli import _Progress

    stream = io.StringIO()
    clock = _Clock()
    progress = _Progress(stream, enabled=True, clock=clock)
    assert progress.enabled
    progress.update("replaying promises", 1, 4)
    progress.update("replaying promises", 2, 4)  # same instant: rate-limited
    clock.now = 0.05
    progress.update("replaying promises", 3, 4)  # under 0.1 s: rate-limited
    clock.now = 0.2
    progress.update("replaying promises", 3, 4)
    clock.now = 0.21
    progress.update("replaying promises", 4, 4)  # the last item is always drawn
    text = stream.getvalue()
    assert text.count("\r") == 3
    assert "replaying promises 1/4 [#####...............]  25%" in text
    assert "replaying promises 3/4 [###############.....]  75%" in text
    assert text.endswith("replaying promises 4/4 [####################] 100%")
    assert "\n" not in text
    width = len("replaying promises 4/4 [####################] 100%")
    progress.close()
    assert stream.getvalue().endswith("\r" + " " * width + "\r")
    progress.close()  # nothing drawn since: nothing written
    assert stream.getvalue().count("\r") == 5


def test_progress_delay_and_empty() -> None:
    import io

    from promisekit.cli import _Progress

    stream = io.StringIO()
    clock = _Clock()
    progress = _Progress(stream, enabled=True, delay=0.3, clock=clock)
    progress.update("x", 1, 10)
    progress.update("x", 0, 0)
    assert stream.getvalue() == ""
    clock.now = 0.3
    progress.update("x", 2, 10)
    assert stream.getvalue().startswith("\rx 2/10")


def test_progress_disabled_when_not_a_tty() -> None:
    import io

    from promisekit.cli import _Progress

    stream = io.StringIO()  # isatty() is False
    progress = _Progress(stream)
    assert not progress.enabled
    for i in range(1, 101):
        progress.update("replaying promises", i, 100)
    progress.close()
    assert stream.getvalue() == ""
    assert not _Progress(object()).enabled  # type: ignore[arg-type]


def test_report_prints_no_progress_when_not_a_tty(
    export: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(export)]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err
    assert "promises" not in err.replace("1 of 8 rows skipped", "")
    assert "[" not in err and "%" not in err


def test_report_progress_on_a_tty(
    export: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import promisekit.cli as cli

    drawn: list[tuple[str, int, int]] = []

    class Forced(cli._Progress):
        def __init__(self, stream: object, **kw: object) -> None:
            super().__init__(sys.stderr, enabled=True, clock=_Clock())

        def update(self, label: str, done: int, total: int) -> None:
            drawn.append((label, done, total))
            super().update(label, done, total)

    monkeypatch.setattr(cli, "_Progress", Forced)
    assert main(["report", str(export)]) == 0
    captured = capsys.readouterr()
    assert ("replaying promises", 4, 4) in drawn
    assert ("assessing promises", 0, 4) in drawn
    assert "\r" in captured.err
    assert "\r" not in captured.out
    assert "4 promises" in captured.out


def test_demo_writes_the_html_report_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "summary (business time):" in out
    assert "HTML report written to promisekit-report.html" in out
    assert "data:image/png;base64," in (tmp_path / "promisekit-report.html").read_text("utf-8")


def test_demo_no_html(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--no-html"]) == 0
    assert "HTML report" not in capsys.readouterr().out
    assert not (tmp_path / "promisekit-report.html").exists()


def test_demo_without_the_plot_extra(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "pip install 'promisekit[analysis,plot]'" in out
    assert "promises kept" in out
    assert not (tmp_path / "promisekit-report.html").exists()


@pytest.mark.parametrize("name", ["America", "Europe/"])
def test_report_tz_that_is_a_zone_directory(
    export: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    assert main(["report", str(export), "--tz", name]) == 2
    err = capsys.readouterr().err
    assert "promisekit report: error: '--tz' must be an IANA time zone" in err
    assert repr(name) in err
