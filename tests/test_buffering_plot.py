"""BacktestResult.plot(): one labelled point per row, units, errors, lazy matplotlib."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from itertools import combinations
from typing import Any

import matplotlib
import pytest
from matplotlib.text import Text

from promisekit._plotting import annotate_points, get_axes, import_pyplot
from promisekit.buffering import (
    HISTORICAL,
    BacktestResult,
    BacktestRow,
    HistoryRecord,
    NoBuffer,
    QuantileBuffer,
    backtest,
)
from promisekit.calendar import BusinessCalendar
from promisekit.errors import (
    InsufficientDataError,
    InvalidTypeError,
    InvalidValueError,
    MissingDependencyError,
)

UTC = timezone.utc
M = timedelta(minutes=1)
TITLE = "On-time rate vs promised time"


@pytest.fixture(autouse=True)
def agg() -> Iterator[Any]:
    """A non-interactive backend, and no figure left open after a test."""
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def row(policy: str, rate: float | None, window: timedelta | None, **kw: Any) -> BacktestRow:
    fields: dict[str, Any] = {
        "segment": None,
        "n_quoted": 0 if rate is None else 100,
        "n_skipped": 0,
        "on_time_rate": rate,
        "mean_window": window,
        "median_window": window,
        "mean_confidence": None,
        "expected_satisfaction": None,
        "business_time": False,
    }
    fields.update(kw)
    return BacktestRow(policy=policy, **fields)


#: The rows of the "How much buffer?" guide: four policies crowded near 95 %.
GUIDE_ROWS = BacktestResult(
    (
        row("median", 0.505, 20 * M, business_time=True),
        row("p90", 0.903, 41 * M, business_time=True),
        row("p90 +15 min, half-hour", 0.978, 70 * M, business_time=True),
        row("newsvendor 20:1", 0.947, 53 * M, business_time=True),
        row(HISTORICAL, 0.97, 60 * M, business_time=True),
    )
)


def history(n: int = 120, promised: bool = True) -> list[HistoryRecord]:
    start = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    records = []
    for i in range(n):
        requested = start + i * 7 * M
        work = (5 + (i * 37) % 41) * M
        due = requested + 45 * M if promised else None
        segment = "a" if i % 2 else "b"
        records.append(HistoryRecord(requested, requested + work, segment, promised_due=due))
    return records


def points(ax: Any) -> list[tuple[float, float]]:
    return [tuple(map(float, xy)) for c in ax.collections for xy in c.get_offsets()]


def labels(ax: Any) -> list[str]:
    return [text.get_text() for text in ax.texts]


def test_one_labelled_point_per_row() -> None:
    result = backtest(history(), {"median": NoBuffer(), "p90": QuantileBuffer(0.9)}, min_samples=20)
    ax = result.plot()
    assert len(result.rows) == 3
    assert [len(c.get_offsets()) for c in ax.collections] == [1, 1, 1]
    xs, ys = zip(*points(ax), strict=True)
    assert xs == pytest.approx([r.mean_window.total_seconds() / 60 for r in result.rows])
    assert ys == pytest.approx([100 * r.on_time_rate for r in result.rows])
    assert labels(ax) == ["median", "p90", HISTORICAL]
    assert [c.get_label() for c in ax.collections] == ["median", "p90", HISTORICAL]
    assert ax.get_title() == TITLE
    assert ax.get_xlabel() == "Mean promised time (minutes)"
    assert ax.get_ylabel() == "On-time rate (%)"
    assert all(line.get_visible() for line in ax.get_xgridlines() + ax.get_ygridlines())


def test_historical_row_is_marked_differently() -> None:
    ax = GUIDE_ROWS.plot()
    black = [tuple(c.get_facecolor()[0]) == (0.0, 0.0, 0.0, 1.0) for c in ax.collections]
    assert black == [False, False, False, False, True]
    paths = [c.get_paths()[0] for c in ax.collections]
    assert all(p is not paths[-1] for p in paths[:-1])  # a diamond, not a circle
    italic = [text.get_fontstyle() == "italic" for text in ax.texts]
    assert italic == [False, False, False, False, True]
    # Each label has its point's colour.
    for collection, text in zip(ax.collections, ax.texts, strict=True):
        assert tuple(collection.get_facecolor()[0]) == matplotlib.colors.to_rgba(text.get_color())


def test_business_time_and_hours_in_the_axis_label() -> None:
    assert GUIDE_ROWS.plot().get_xlabel() == "Mean promised time (business minutes)"
    long = BacktestResult((row("slow", 0.9, 150 * M), row("slower", 0.95, 4 * 60 * M)))
    ax = long.plot()
    assert ax.get_xlabel() == "Mean promised time (hours)"
    assert points(ax) == [(2.5, 90.0), (4.0, 95.0)]


def test_calendar_backtest_reads_business() -> None:
    office = BusinessCalendar("UTC", hours={"mon-fri": ["08:00-18:00"]})
    result = backtest(history(), NoBuffer(), calendar=office, min_samples=20)
    assert result.plot().get_xlabel() == "Mean promised time (business minutes)"


def test_draws_on_the_given_axes(agg: Any) -> None:
    fig, ax = agg.subplots()
    assert GUIDE_ROWS.plot(ax) is ax
    assert GUIDE_ROWS.plot(ax=None) is not ax
    assert len(agg.get_fignums()) == 2
    with pytest.raises(InvalidTypeError, match="'ax' must be a matplotlib Axes"):
        GUIDE_ROWS.plot(fig)


def test_segment_rows() -> None:
    result = backtest(history(), NoBuffer(), segment_key="segment", min_samples=10)
    ax = result.plot(segment="a")
    assert labels(ax) == [str(NoBuffer()), HISTORICAL]
    assert points(ax)[0][1] == pytest.approx(100 * result.row(str(NoBuffer()), "a").on_time_rate)
    assert ax.get_title() == f"{TITLE} — segment a"
    assert labels(result.plot()) == [str(NoBuffer()), HISTORICAL]
    with pytest.raises(InvalidValueError, match=r"segments: \['a', 'b'\]"):
        result.plot(segment="c")


def test_rows_without_quotes_are_left_out() -> None:
    result = BacktestResult((row("never", None, None), row("p90", 0.9, 30 * M)))
    assert labels(result.plot()) == ["p90"]


def test_nothing_to_plot(agg: Any) -> None:
    result = backtest(history(10, promised=False), NoBuffer(), min_samples=30)
    with pytest.raises(InsufficientDataError, match="lower 'min_samples'"):
        result.plot()
    assert agg.get_fignums() == []  # no empty figure left behind


def test_labels_do_not_overlap_in_the_crowded_guide_figure(agg: Any) -> None:
    fig, ax = agg.subplots(figsize=(7, 4.5))
    GUIDE_ROWS.plot(ax)
    fig.tight_layout()
    fig.canvas.draw()
    # The text alone (an Annotation's own extent includes its leader line).
    boxes = [Text.get_window_extent(text) for text in ax.texts]
    assert not any(a.overlaps(b) for a, b in combinations(boxes, 2))
    markers = ax.transData.transform(points(ax))
    assert not any(box.contains(x, y) for box in boxes for x, y in markers)
    frame = ax.get_window_extent()
    assert all(frame.contains(b.x0, b.y0) and frame.contains(b.x1, b.y1) for b in boxes)


def test_annotate_points_of_nothing() -> None:
    ax = get_axes()
    assert annotate_points(ax, [], []) == []


@pytest.mark.parametrize("hidden", [["matplotlib"], ["matplotlib", "matplotlib.pyplot"]])
def test_missing_matplotlib(monkeypatch: pytest.MonkeyPatch, hidden: list[str]) -> None:
    for module in hidden:  # pyplot already imported, or not: both look uninstalled
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(MissingDependencyError, match=r"promisekit\[plot\]") as caught:
        GUIDE_ROWS.plot()
    assert isinstance(caught.value, ImportError)
    assert "BacktestResult.plot()" in str(caught.value)
    assert caught.value.package == "matplotlib"
    assert caught.value.extra == "plot"
    with pytest.raises(MissingDependencyError, match=r"plotting needs .*'matplotlib'"):
        import_pyplot()


def test_import_does_not_load_matplotlib() -> None:
    code = (
        "import sys, promisekit.buffering, promisekit._plotting; print('matplotlib' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"


# --------------------------------------------------------------------------- shared helpers


def test_label_axes_sets_labels_title_and_legend() -> None:
    from promisekit._plotting import label_axes

    plt = import_pyplot()
    _, ax = plt.subplots()
    ax.plot([0, 1], [0, 1], label="line")
    assert label_axes(ax, xlabel="x", ylabel="y", title="t") is ax
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("x", "y", "t")
    assert ax.get_legend() is not None
    _, bare = plt.subplots()
    label_axes(bare, xlabel="x", ylabel="y", title="t", legend=None)
    assert bare.get_legend() is None
    plt.close("all")


def test_figure_png_draws_and_always_closes_the_figure() -> None:
    import base64

    from promisekit._plotting import figure_png

    plt = import_pyplot()
    plt.close("all")
    png = base64.b64decode(figure_png(lambda ax: ax.plot([0, 1], [1, 0])))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert plt.get_fignums() == []

    def broken(ax: Any) -> None:
        raise InsufficientDataError("nothing to draw")

    with pytest.raises(InsufficientDataError):
        figure_png(broken)
    assert plt.get_fignums() == []
