"""Smoke test of the benchmark: `bench/run.py --quick` runs and prints its one table.

No timing is asserted here (speed lives only in `make bench`): only that every benchmark
ran, that the settings are echoed, and that the table has its columns and its rows.
"""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_bench_quick_prints_the_table():
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--quick"],
                       capture_output=True, text=True, timeout=110, cwd=ROOT)
    assert r.returncode == 0, f"bench/run.py --quick failed:\n{r.stdout}\n{r.stderr}"
    out = r.stdout
    # Settings echoed first (OSTEP style).
    assert "ARG quick True" in out
    assert "python " in out and "cpu " in out
    # One table, with the header and one line per row.
    table = [line for line in out.splitlines() if line.startswith("|")]
    header = [c.strip() for c in table[0].strip("|").split("|")]
    assert header == ["benchmark", "n", "total s", "per-op µs", "notes"], table[0]
    names = [line.split("|")[1].strip() for line in table[2:]]
    for expected in ("fault: Process.write, shadow=False", "fault: Process.write, shadow=True",
                     "fork: Process.fork of n pages", "reclaim: m.reclaim to swap",
                     "swap-in: Process.read of swapped pages", "(a) façade: Process.write",
                     "(b) plain functions, same kernel calls"):
        assert expected in names, f"row {expected!r} missing from:\n{out}"
    assert sum(n.startswith("snapshot:") for n in names) >= 3
    # The plain-function baseline must do the same work as the step objects.
    assert "same end state" in out, out
    # Progress goes to stderr, never into the table.
    assert "run 1/3" in r.stderr and "run 1/3" not in out
