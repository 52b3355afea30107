"""The tutorial notebook "A year of promises" runs top to bottom without errors.

docs/tutorial-a-year-of-promises.md is a jupytext (markdown) notebook; it is executed
cell by cell in a real ``python3`` Jupyter kernel with nbclient, so it cannot rot.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

pytest.importorskip("pandas")
pytest.importorskip("matplotlib")
jupytext = pytest.importorskip("jupytext")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK = Path(__file__).resolve().parent.parent / "docs" / "tutorial-a-year-of-promises.md"


def test_a_year_of_promises_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    if not NOTEBOOK.exists():  # pragma: no cover - installed without sources
        pytest.skip("docs/tutorial-a-year-of-promises.md is not next to the tests")
    monkeypatch.setenv("MPLBACKEND", "Agg")  # inherited by the kernel process
    notebook = jupytext.read(NOTEBOOK)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert len(code) >= 6
    client = nbclient.NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=120,
        allow_errors=False,  # any cell error raises CellExecutionError
        resources={"metadata": {"path": str(tmp_path)}},
    )
    started = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - started
    assert elapsed < 60, f"the tutorial took {elapsed:.0f} s; keep it under 30 s"

    outputs = [output for cell in code for output in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "keep rate:" in text
    assert "Fairness by 'segment'" in text
    # With MPLBACKEND=Agg the figures are drawn but not displayed inline.
    assert all(cell.get("execution_count") for cell in code)
