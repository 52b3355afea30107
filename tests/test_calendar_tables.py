"""The flat tables shared by scalar and vectorized business time: layout, extension, imports."""

from __future__ import annotations

import ast
import pickle
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promisekit._calendar_hours import rule_dates
from promisekit._calendar_tables import DAY_US, to_us
from promisekit.calendar import BusinessCalendar

from .test_calendar import calendars, minute_instants

SRC = Path(__file__).resolve().parents[1] / "src" / "promisekit"
TABLE_SETTINGS = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def imported_modules(path: Path) -> list[tuple[str, bool]]:
    """(module, imported inside a function) for every import of ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: list[tuple[str, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.ImportFrom) and child.module:
                out.append((child.module, in_function))
            elif isinstance(child, ast.Import):
                out.extend((alias.name, in_function) for alias in child.names)
            visit(child, inner)

    visit(tree, False)
    return out


def test_no_import_cycle_between_calendar_and_vectorized_code() -> None:
    for name in ("_calendar_tables.py", "_calendar_hours.py", "_vectorized_calendar.py"):
        modules = [m for m, _ in imported_modules(SRC / name)]
        assert "promisekit.calendar" not in modules, name
    for name in ("_calendar_hours.py", "_calendar_tables.py"):
        assert "promisekit._vectorized_calendar" not in [m for m, _ in imported_modules(SRC / name)]
    # promisekit modules are imported at the top (only optional packages lazily).
    for name in ("calendar.py", "_calendar_tables.py", "_vectorized_calendar.py"):
        late = [m for m, inside in imported_modules(SRC / name) if inside]
        assert not [m for m in late if m.startswith("promisekit")], (name, late)


def test_calendar_module_stays_small() -> None:
    assert len((SRC / "calendar.py").read_text(encoding="utf-8").splitlines()) <= 600


@TABLE_SETTINGS
@given(data=st.data())
def test_table_layout(data: st.DataObject) -> None:
    cal = data.draw(calendars())
    moment = data.draw(minute_instants(cal))
    cal.between(moment, moment + timedelta(days=400))
    tables = cal._timeline.tables
    assert tables is not None
    starts, cum = tables.starts, tables.cum
    assert len(cum) == len(starts) + 1 == tables.size + 1
    assert starts[0] == tables.u_lo == tables.day_start[0]
    assert cum[0] == cum[1]  # the zero-length sentinel
    ends = [s + cum[i + 1] - cum[i] for i, s in enumerate(starts)]
    for i in range(1, tables.size):
        assert ends[i] > starts[i]  # no empty interval
        assert starts[i] >= ends[i - 1]  # sorted, never overlapping
    assert all(a <= b for a, b in zip(tables.day_start, tables.day_start[1:], strict=False))
    assert len(tables.day_start) == len(tables.day_first) == tables.d_hi - tables.d_lo + 1
    assert tables.day_first[-1] == tables.size
    for k in range(tables.d_hi - tables.d_lo):  # each day's intervals lie in its real span
        for i in range(tables.day_first[k], tables.day_first[k + 1]):
            assert tables.day_start[k] <= starts[i] and ends[i] <= tables.day_start[k + 1]


@TABLE_SETTINGS
@given(data=st.data(), years=st.integers(3, 30), backwards=st.booleans())
def test_extension_never_moves_values(data: st.DataObject, years: int, backwards: bool) -> None:
    cal = data.draw(calendars())
    moments = [data.draw(minute_instants(cal)) for _ in range(4)]
    before = [cal._timeline.cum_at(to_us(m)) for m in moments]
    first = cal._timeline.tables
    assert first is not None
    far = moments[0] + timedelta(days=(-366 if backwards else 366) * years)
    cal.between(moments[0], far)  # extends the tables by whole years
    tables = cal._timeline.tables
    assert tables is not None and tables is not first
    assert (tables.y_lo < first.y_lo) if backwards else (tables.y_hi > first.y_hi)
    assert [cal._timeline.cum_at(to_us(m)) for m in moments] == before
    # The old snapshot is a slice of the new one, values included.
    offset = tables.day_first[first.d_lo - tables.d_lo] - first.day_first[0]
    assert tables.starts[offset + 1 : offset + first.size] == first.starts[1:]
    assert tables.cum[offset + 1 : offset + first.size + 1] == first.cum[1:]
    days = slice(first.d_lo - tables.d_lo, first.d_hi - tables.d_lo + 1)
    assert tables.day_start[days] == first.day_start


def test_scalar_and_vectorized_code_share_the_snapshot() -> None:
    np = pytest.importorskip("numpy")
    cal = BusinessCalendar("Europe/Paris", hours={"mon-fri": "09:00-17:00"})
    start = datetime(2026, 3, 27, 16, tzinfo=ZoneInfo("Europe/Paris"))
    cal.add(start, timedelta(hours=3))
    tables = cal._timeline.tables
    cal.add_many(np.array([to_us(start)], dtype="datetime64[us]"), timedelta(hours=3))
    assert cal._timeline.tables is tables


def test_pickle_leaves_the_tables_out() -> None:
    cal = BusinessCalendar("America/Toronto", holidays=[date(2026, 7, 1)])
    start = datetime(2026, 6, 30, 12, tzinfo=timezone.utc)
    cal.add(start, timedelta(hours=100 * 8 * 52))  # tables over several decades
    data = pickle.dumps(cal)
    assert len(data) < 2_000
    clone = pickle.loads(data)
    assert clone._timeline.tables is None
    assert clone.add(start, timedelta(hours=30)) == cal.add(start, timedelta(hours=30))


def test_first_build_covers_a_few_years_around_the_first_instant() -> None:
    cal = BusinessCalendar("UTC")
    cal.is_open(datetime(2026, 5, 5, tzinfo=timezone.utc))
    tables = cal._timeline.tables
    assert tables is not None
    assert (tables.y_lo, tables.y_hi) == (2025, 2028)
    assert tables.u_hi - tables.u_lo == (date(2028, 1, 1) - date(2025, 1, 1)).days * DAY_US


@pytest.mark.parametrize(
    "text",
    [
        "DTSTART:19000101T000000\nRRULE:FREQ=WEEKLY;INTERVAL=3;BYDAY=TU",
        "DTSTART:19000615T000000\nRRULE:FREQ=YEARLY;INTERVAL=7",
        "DTSTART:19040229T000000\nRRULE:FREQ=YEARLY",
        "DTSTART:19030131T000000\nRRULE:FREQ=MONTHLY;INTERVAL=5",
        "DTSTART:19000103T000000\nRRULE:FREQ=DAILY;INTERVAL=13",
        "DTSTART:19950706T000000\nRRULE:FREQ=WEEKLY",  # starts inside the years asked
        "DTSTART:19000101T000000\nRRULE:FREQ=YEARLY;UNTIL=19970101T000000;BYMONTH=3",
    ],
)
def test_rules_with_a_start_are_evaluated_in_phase(text: str) -> None:
    exact = rrulestr(text)
    expected = [
        m.date() for m in exact.between(datetime(1995, 1, 1), datetime(2001, 1, 1), inc=True)
    ]
    assert rule_dates(text, 1995, 2001) == expected
