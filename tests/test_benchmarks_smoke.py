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


def test_full_run_segment_checkpoints_while_running(tmp_path):
    """A segment of the whole-Bible job leaves its wall so far on disk while it runs, so a segment killed
    together with the measuring script still counts (exit code null); the final record has the exit code."""
    sys.path.insert(0, str(BENCHMARKS.parent))
    from benchmarks.common import write_result
    from benchmarks.full_run import _segment

    seen: list[dict] = []

    def checkpoint(segment: dict) -> None:
        seen.append(segment)
        write_result("segment", {"segments_detail": [segment]}, tmp_path)

    final = _segment([sys.executable, "-c", "import time; time.sleep(1.2); raise SystemExit(3)"], 0.05,
                     checkpoint, checkpoint_every=0.3)
    assert seen and all(s["exit_code"] is None for s in seen)
    assert [s["wall_s"] for s in seen] == sorted(s["wall_s"] for s in seen)
    assert final["exit_code"] == 3 and final["wall_s"] >= 1.2 > seen[0]["wall_s"]
    assert "other" in final["peak_rss_gib"]  # the child was sampled
    on_disk = json.loads((tmp_path / "segment.json").read_text())["segments_detail"][0]
    assert on_disk["exit_code"] is None and on_disk["wall_s"] == seen[-1]["wall_s"]
    assert [p.name for p in tmp_path.iterdir()] == ["segment.json"]  # no partial file left beside it
