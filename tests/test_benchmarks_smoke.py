"""The benchmark scripts keep working: each runs in its tiny smoke mode (no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
SCRIPTS = sorted(BENCHMARKS.glob("bench_*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_benchmark_smoke(script, tmp_path):
    done = subprocess.run([sys.executable, str(script), "--smoke", "--out", str(tmp_path)], capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "|" in done.stdout  # printed its table
    results = list(tmp_path.glob("*.json"))
    assert results, "wrote no JSON result"
    for path in results:
        assert json.loads(path.read_text())["machine"]["cores"] >= 1
