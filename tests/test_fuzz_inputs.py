"""A seeded slice of the input fuzz harness (``benchmarks/fuzz_inputs.py``).

Every entry point that reads external input (``from_json``, ``from_dict``, the CSV and
JSON Lines loaders, column-mapping and escalation-policy TOML, calendars, event
constructors, the SQLite store…) gets mutated valid documents; each must return or
raise a ``PromiseKitError`` whose message stays short, and a JSON document with a
repeated key must not be accepted silently. The full run (≥ 100,000 cases) is
``python benchmarks/fuzz_inputs.py``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

HARNESS = Path(__file__).resolve().parent.parent / "benchmarks" / "fuzz_inputs.py"
SLICE = 3_000
SEED = 7


def _load_harness() -> ModuleType:
    name = "promisekit_fuzz_inputs"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, HARNESS)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look the module up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def report() -> object:
    fuzz = _load_harness()
    return fuzz.run(SLICE, SEED)


def _describe(findings: list[object]) -> str:
    lines = []
    for f in findings[:15]:
        lines.append(
            f"{f.entry} case {f.index} [{f.kind}] {f.mutation[:150]} -> {f.message[:150]}"  # type: ignore[attr-defined]
        )
    return "\n".join(lines)


def test_every_entry_point_is_exercised(report: object) -> None:
    fuzz = _load_harness()
    tallies = report.tallies  # type: ignore[attr-defined]
    assert set(tallies) == set(fuzz.ENTRY_POINTS)
    assert sum(t.cases for t in tallies.values()) == SLICE
    assert all(t.cases > 0 for t in tallies.values())
    # The mutations must not all be rejected up front: some inputs are still accepted.
    assert sum(t.ok for t in tallies.values()) > SLICE // 20


def test_no_exception_escapes_other_than_promisekit_errors(report: object) -> None:
    escapes = report.of("escape")  # type: ignore[attr-defined]
    assert not escapes, f"{len(escapes)} escapes:\n{_describe(escapes)}"


def test_error_messages_stay_short(report: object) -> None:
    long = report.of("long message")  # type: ignore[attr-defined]
    assert not long, f"{len(long)} long messages:\n{_describe(long)}"


def test_duplicate_json_keys_are_not_accepted_silently(report: object) -> None:
    accepted = report.of("duplicate accepted")  # type: ignore[attr-defined]
    assert not accepted, f"{len(accepted)} duplicates accepted:\n{_describe(accepted)}"


def test_cases_are_reproducible() -> None:
    fuzz = _load_harness()
    for entry in fuzz.ENTRY_POINTS:
        first = fuzz.make_case(SEED, entry, 5)
        again = fuzz.make_case(SEED, entry, 5)
        assert first.mutation == again.mutation
        assert fuzz.short(first.sample) == fuzz.short(again.sample)
