"""How much ``import promisekit`` costs next to ``import attrs``.

Runs ``python -X importtime -c "import X"`` in fresh subprocesses, interleaving the
statements so that load on a shared machine hits both alike, with bytecode cached
(one warm-up run each, ``PYTHONDONTWRITEBYTECODE`` removed from the environment).
Reads the cumulative microseconds of the top-level module from the importtime report
and prints the median per statement and its ratio to ``import attrs``.

    python benchmarks/bench_import.py [--runs 21]

The rows: ``import attrs`` (the reference: promisekit's one unavoidable dependency for
its domain classes), ``import promisekit`` (what every user pays), and
``promisekit.Promise`` / ``promisekit.escalation`` (what the first use of the domain
classes or of the escalation engine adds, for context).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys

STATEMENTS: dict[str, tuple[str, str]] = {
    # label: (code, module whose cumulative time is read)
    "import attrs": ("import attrs", "attrs"),
    "import promisekit": ("import promisekit", "promisekit"),
    "promisekit.Promise (first use)": ("import promisekit.promise", "promisekit.promise"),
    "import promisekit.escalation": ("import promisekit.escalation", "promisekit.escalation"),
}

_LINE = re.compile(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)")


def _cumulative_us(code: str, env: dict[str, str]) -> dict[str, int]:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    out: dict[str, int] = {}
    for line in result.stderr.splitlines():
        match = _LINE.match(line)
        if match is not None:
            out[match[4]] = int(match[2])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21, help="subprocess runs per statement")
    args = parser.parse_args(argv)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    samples: dict[str, list[int]] = {label: [] for label in STATEMENTS}
    for code, _ in STATEMENTS.values():  # warm-up: write the bytecode caches
        _cumulative_us(code, env)
    for _ in range(args.runs):
        for label, (code, module) in STATEMENTS.items():
            samples[label].append(_cumulative_us(code, env)[module])
    reference = statistics.median(samples["import attrs"])
    print(f"python {sys.version.split()[0]}, {args.runs} interleaved runs each, bytecode cached")
    print(f"{'statement':34} {'median ms':>10} {'min ms':>8} {'vs import attrs':>16}")
    for label, values in samples.items():
        median = statistics.median(values)
        print(
            f"{label:34} {median / 1000:10.1f} {min(values) / 1000:8.1f} "
            f"{median / reference:15.2f}×"
        )
    target = statistics.median(samples["import promisekit"]) / reference
    print(f"\nimport promisekit / import attrs = {target:.2f}× (target ≤ 1.15×)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
