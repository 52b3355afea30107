"""assess_partitions: assess_columns per Dask partition equals the in-memory result."""

from __future__ import annotations

import builtins
import pickle
import re
import sys
from pathlib import Path
from typing import Any

import pytest

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")
dd = pytest.importorskip("dask.dataframe")

from promisekit.analysis import assess_columns  # noqa: E402
from promisekit.analysis._dask import assess_partitions, outcome_meta  # noqa: E402
from promisekit.datasets import callback_centre_history, montreal_calendar  # noqa: E402
from promisekit.errors import (  # noqa: E402
    InvalidTypeError,
    InvalidValueError,
    MissingDependencyError,
)

PAGE = Path(__file__).resolve().parent.parent / "docs" / "scale-out.md"
BLOCK = re.compile(r"^( *)```python\n(.*?)^\1```", re.MULTILINE | re.DOTALL)


@pytest.fixture(scope="module")
def calls() -> Any:
    return callback_centre_history(20_000, seed=11, slow_tier=True)


class _ProportionScorer:
    """A row-wise scorer: the lateness in hours (nan while pending)."""

    def score_columns(self, outcomes: Any) -> Any:
        hours = outcomes.lateness / np.timedelta64(1, "h")
        return np.asarray(hours, dtype=np.float64)


@pytest.mark.parametrize("scheduler", ["sync", "threads"])
def test_partitions_equal_in_memory(calls: Any, scheduler: str) -> None:
    cal = montreal_calendar()
    now = calls.attrs["now"]
    expected = assess_columns(calls, now=now, calendar=cal)
    ddf = dd.from_pandas(calls, npartitions=4)
    assert ddf.npartitions == 4
    lazy = assess_partitions(ddf, now=now, calendar=cal)
    assert lazy.npartitions == 4
    got = lazy.compute(scheduler=scheduler)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    # The declared meta is what the partitions really return.
    pd.testing.assert_series_equal(lazy.dtypes, got.dtypes)
    assert set(got["status"]) >= {"kept", "late", "pending"}


def test_now_column_renamed_columns_and_scorer(calls: Any) -> None:
    frame = calls.rename(columns={"made_at": "created"}).assign(now=calls.attrs["now"])
    frame.index = pd.Index([f"P-{i}" for i in range(len(frame))], name="promise")
    scorer = _ProportionScorer()
    expected = assess_columns(frame, columns={"made_at": "created"}, scorer=scorer)
    lazy = assess_partitions(
        dd.from_pandas(frame, npartitions=5, sort=False),
        columns={"made_at": "created"},
        scorer=scorer,
    )
    got = lazy.compute(scheduler="sync")
    pd.testing.assert_frame_equal(got, expected, check_index_type=False, check_exact=True)
    assert got.index.tolist() == expected.index.tolist()
    assert "score" in lazy.columns


def test_outcome_meta_matches_assess_columns() -> None:
    frame = pd.DataFrame(
        {
            "made_at": np.array(["2026-03-10T13:00"], dtype="datetime64[us]"),
            "due": np.array(["2026-03-10T14:00"], dtype="datetime64[us]"),
            "completed_at": np.array(["NaT"], dtype="datetime64[us]"),
        }
    )
    out = assess_columns(frame, now=np.datetime64("2026-03-10T15:00", "us"))
    meta = outcome_meta()
    assert len(meta) == 0
    pd.testing.assert_series_equal(meta.dtypes, out.dtypes)
    assert list(outcome_meta(score=True).columns) == [*out.columns, "score"]
    assert meta["status"].cat.categories.tolist() == out["status"].cat.categories.tolist()


def test_calendar_pickles_for_distributed_workers() -> None:
    cal = montreal_calendar()
    assert pickle.loads(pickle.dumps(cal)) == cal


def test_errors(calls: Any) -> None:
    ddf = dd.from_pandas(calls, npartitions=2)
    with pytest.raises(InvalidValueError, match=r"frame\.attrs"):
        assess_partitions(ddf)  # no `now`, no now column
    with pytest.raises(InvalidValueError, match="'created'"):
        assess_partitions(ddf, now=calls.attrs["now"], columns={"made_at": "created"})
    with pytest.raises(InvalidTypeError, match="dask DataFrame"):
        assess_partitions(calls, now=calls.attrs["now"])
    with pytest.raises(InvalidTypeError, match="BusinessCalendar"):
        assess_partitions(ddf, now=calls.attrs["now"], calendar="Montreal")  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="mapping"):
        assess_partitions(ddf, now=calls.attrs["now"], columns=["made_at"])  # type: ignore[arg-type]


def test_data_errors_surface_when_computing(calls: Any) -> None:
    early = calls.attrs["now"] - pd.Timedelta(days=400)  # before every made_at
    lazy = assess_partitions(dd.from_pandas(calls, npartitions=2), now=early)
    with pytest.raises(InvalidValueError, match="'now' must not be before 'made_at'"):
        lazy.compute(scheduler="sync")


def test_missing_dask_names_the_extra(monkeypatch: pytest.MonkeyPatch, calls: Any) -> None:
    real_import = builtins.__import__

    def fake_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "dask" or name.startswith("dask."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    for name in [m for m in sys.modules if m == "dask" or m.startswith("dask.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(MissingDependencyError, match=r"promisekit\[dask\]") as info:
        assess_partitions(calls, now=calls.attrs["now"])
    assert info.value.package == "dask"
    assert info.value.extra == "dask"


def test_scale_out_page_examples_run(capsys: pytest.CaptureFixture[str]) -> None:
    if not PAGE.exists():  # pragma: no cover - installed without sources
        pytest.skip("docs/scale-out.md is not next to the tests")
    blocks = [body for _, body in BLOCK.findall(PAGE.read_text(encoding="utf-8"))]
    assert len(blocks) >= 2
    namespace: dict[str, Any] = {"__name__": "docs_scale_out"}
    for block in blocks:
        exec(compile(block, str(PAGE), "exec"), namespace)
