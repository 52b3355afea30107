"""`promisekit demo` tells the whole story: outcomes, keep rate, satisfaction, buffers,
escalations and notices, then where the HTML report went."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from promisekit._cli_demo import DemoRow, keep_rate_lines, story
from promisekit.cli import main
from promisekit.datasets import callback_centre_promises
from promisekit.delivery import assess

LEVELS = ("very dissatisfied", "dissatisfied", "neutral", "satisfied", "very satisfied")


@pytest.fixture(scope="module")
def printed() -> str:
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(["demo", "--no-html"]) == 0
    return buffer.getvalue()


def _story_rows(text: str) -> dict[str, list[str]]:
    """The rows of the story table (indented by two spaces), by promise id."""
    rows = {}
    for line in text.splitlines():
        if re.match(r"  P\d{4} ", line):
            cells = re.split(r"\s{2,}", line.strip())
            if len(cells) >= 5:  # not a notice line
                rows[cells[0]] = cells
    return rows


def test_keep_rate_says_which_promises_it_counts(printed: str) -> None:
    assert "7 of 12 promises kept (58% of all promises, open ones included)." in printed
    assert (
        "Keep rate 63.6%: 7 of the 11 decided promises "
        "(P0008 is open and not yet due, so not counted)." in printed
    )
    assert "summary" not in printed  # --no-html: no summary table to refer to


def test_each_promise_has_a_satisfaction_level_a_buffered_due_and_escalations(
    printed: str,
) -> None:
    rows = _story_rows(printed)
    assert sorted(rows) == [f"P{i:04d}" for i in range(1, 13)]
    assert rows["P0008"][1] == "(open)"
    for pid, cells in rows.items():
        if pid != "P0008":
            assert cells[1] in LEVELS, cells
        assert re.fullmatch(r"\w{3} \d\d \w{3} \d\d:\d\d", cells[2]), cells  # buffered due
        assert cells[3].startswith("+")
    assert rows["P0001"][1] == "very dissatisfied"  # 1h41 business hours late
    assert rows["P0004"][1] == "neutral"  # on time, but the quality term was missed
    assert "half-time, three-quarters, breached" in rows["P0001"][-1]
    assert "QuantileBuffer(0.9) + RoundUp('quarter-hour')" in printed
    assert "servicenow-ladder" in printed


def test_escalations_and_notices_are_counted_and_shown(printed: str) -> None:
    match = re.search(
        r"Escalations: (\d+) actions fired for (\d+) promises; (\d+) customer", printed
    )
    assert match is not None
    actions, promises, notices = (int(x) for x in match.groups())
    assert actions >= promises >= 1 and notices == 2
    assert re.search(r'  P0001 to C\d+, delay, sent Mon 02 Mar 10:41: "Your callback: ', printed)
    on_time = re.search(r"On time: (\d+) of (\d+) completed promises against the dates", printed)
    assert on_time is not None and on_time.groups() == ("9", "11")


def test_order_outcomes_story_then_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("pandas")
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    out = tmp_path / "demo.html"
    assert main(["demo", "--html", str(out)]) == 0
    text = capsys.readouterr().out
    marks = [
        text.index("late (biz)"),  # the outcome table
        text.index("Keep rate 63.6%"),
        text.index("What followed, promise by promise:"),
        text.index("Escalations: "),
        text.index("summary (business time):"),
        text.index(f"HTML report written to {out}"),
    ]
    assert marks == sorted(marks)
    assert text.rstrip().endswith(f"HTML report written to {out}")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_story_for_other_samples(seed: int) -> None:
    history = callback_centre_promises(n=30, seed=seed)
    rows = [
        DemoRow(p, d, assess(p, d, now=history.now, calendar=history.calendar)) for p, d in history
    ]
    lines = story(rows, history.calendar, history.now)
    assert len(_story_rows("\n".join(lines))) == 30
    rate = keep_rate_lines(rows)
    assert rate[0].endswith("open ones included).")


def test_keep_rate_lines_with_overdue_and_nothing_decided() -> None:
    history = callback_centre_promises(n=12)
    rows = [
        DemoRow(p, d, assess(p, d, now=history.now, calendar=history.calendar)) for p, d in history
    ]
    early = [
        DemoRow(p, [], assess(p, [], now=p.made_at, calendar=history.calendar)) for p, _ in history
    ][:2]
    assert keep_rate_lines(early) == [
        "0 of 2 promises kept (0% of all promises, open ones included)."
    ]
    late = [
        DemoRow(r.promise, [], assess(r.promise, [], now=history.now, calendar=history.calendar))
        for r in rows[:3]
    ]
    text = " ".join(keep_rate_lines(late))
    assert "3 overdue count as broken" in text and "Keep rate 0.0%: 0 of the 3 decided" in text
