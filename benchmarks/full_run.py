"""The whole-Bible run (configs/bible-full.yaml) as a measured job: ``babelscope run`` in a child process while
the peak RSS of every process of its tree (client, Dask workers and their nanny) is sampled, then one result
file with the figures per stage. A run killed midway is resumed by running this again: each invocation is a
segment, the segments add up in ``results/bible-full.json`` (while the store they wrote exists). The file is
rewritten every ``--checkpoint`` seconds while a segment runs (its ``exit_code`` null), so a segment killed
together with this script still counts up to its last checkpoint.

    python benchmarks/full_run.py                         # configs/bible-full.yaml, resuming if it was killed
    python benchmarks/full_run.py --config configs/bible-full.yaml --set cluster.ks='[400, 1000]'
    python benchmarks/full_run.py --smoke                 # 40 verses into a temporary folder

Figures: wall seconds per segment and in all; extraction words/s (per task-second and per wall second of
the extraction phase); clusterings per hour; metrics per hour; peak RSS of each process role; store size.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import RESULTS, markdown_table, write_result  # noqa: E402

GIB = 2**30


def _role(process: Any) -> str:
    try:
        line = " ".join(process.cmdline())
    except Exception:  # noqa: BLE001 - a process that exited while being looked at
        return "gone"
    if "distributed.cli" in line or "spawn_main" in line or "multiprocessing" in line:
        return "dask worker"
    if "eflomal" in line:
        return "eflomal"
    return "client" if "babelscope" in line or "engine.cli" in line else "other"


def _watch(pid: int, peaks: dict[str, float], stop: threading.Event, every: float) -> None:
    """Sample the RSS of ``pid`` and all its descendants until ``stop``; keep each role's peak (GiB)."""
    import psutil

    root = psutil.Process(pid)
    while not stop.is_set():
        try:
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        for process in tree:
            try:
                rss = process.memory_info().rss / GIB
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            role = _role(process)
            peaks[role] = max(peaks.get(role, 0.0), rss)
        stop.wait(every)


def _size_gb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e9 if path.exists() else 0.0


def _segment(command: list[str], every: float, checkpoint: Callable[[dict[str, Any]], None],
             checkpoint_every: float = 60.0) -> dict[str, Any]:
    """Run ``command`` as one segment; ``checkpoint`` gets the segment so far every ``checkpoint_every`` s
    (``exit_code`` None), so a segment whose measuring process is killed too still counts its wall and peaks."""
    peaks: dict[str, float] = {}
    stop = threading.Event()
    started = time.time()

    def record(code: int | None) -> dict[str, Any]:
        return {"started": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(started)),
                "wall_s": time.time() - started, "exit_code": code,
                "peak_rss_gib": {k: round(v, 3) for k, v in sorted(peaks.items())}}

    child = subprocess.Popen(command)
    watcher = threading.Thread(target=_watch, args=(child.pid, peaks, stop, every), daemon=True)
    watcher.start()
    while True:
        try:
            code = child.wait(timeout=checkpoint_every)
            break
        except subprocess.TimeoutExpired:
            checkpoint(record(None))
    stop.set()
    watcher.join()
    return record(code)


def _figures(run_dir: Path, store: Path, segments: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-stage figures from the run folder (task seconds of every task ever computed, from its cache)."""
    stage_seconds: dict[str, float] = {}
    counts: dict[str, int] = {}
    words = 0
    for entry in (run_dir / "cache").glob("*/*.json"):
        payload = json.loads(entry.read_text(encoding="utf-8"))
        stage = payload.get("stage", entry.parent.name)
        stage_seconds[stage] = stage_seconds.get(stage, 0.0) + float(payload.get("seconds", 0.0))
        counts[stage] = counts.get(stage, 0) + 1
        words += int(payload.get("words", 0)) if stage == "extract" else 0
    peak: dict[str, float] = {}
    for segment in segments:
        for role, value in segment["peak_rss_gib"].items():
            peak[role] = max(peak.get(role, 0.0), value)
    ext, clu, met = (stage_seconds.get(s, 0.0) for s in ("extract", "cluster", "metrics"))
    return {
        "wall_s_total": sum(s["wall_s"] for s in segments), "segments": len(segments),
        "finished": bool(segments) and segments[-1]["exit_code"] == 0 and (run_dir / "results.parquet").exists(),
        "tasks": counts, "task_seconds": {k: round(v, 1) for k, v in sorted(stage_seconds.items())},
        "extracted_words": words, "words_per_task_second": words / ext if ext else None,
        "clusterings_per_task_hour": 3600 * counts.get("cluster", 0) / clu if clu else None,
        "metrics_per_task_hour": 3600 * counts.get("metrics", 0) / met if met else None,
        "peak_rss_gib": peak, "store_gb": round(_size_gb(store), 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=Path("configs/bible-full.yaml"))
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--every", type=float, default=5.0, help="seconds between RSS samples")
    parser.add_argument("--checkpoint", type=float, default=60.0,
                        help="seconds between writes of the result file while the run goes on")
    parser.add_argument("--smoke", action="store_true", help="40 verses into a temporary folder")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    from engine.config import load_config

    overrides = list(args.overrides)
    tmp = None
    if args.smoke:
        tmp = tempfile.TemporaryDirectory()
        overrides += ["corpus.count=40", "cluster.ks=[8]", "metrics.repeats=2", "run.report=false",
                      f"store.path={tmp.name}/s.zarr", f"run.dir={tmp.name}/run"]
    config = load_config(args.config, overrides)
    name = "bible-full-smoke" if args.smoke else "bible-full"
    folder = Path(args.out) if args.out else RESULTS
    previous = folder / f"{name}.json"
    # Earlier segments count only while their store is still there: a new store is a new run.
    resumed = previous.exists() and not args.smoke and Path(config.store.path).exists()
    segments = json.loads(previous.read_text())["segments_detail"] if resumed else []
    command = [sys.executable, "-m", "engine.cli", "run", str(args.config), "--no-progress"]
    for item in overrides:
        command += ["--set", item]

    def write(current: dict[str, Any]) -> Path:
        every_segment = [*segments, current]
        figures = _figures(Path(config.run.dir), Path(config.store.path), every_segment)
        return write_result(name, {"config": str(args.config), "overrides": overrides, **figures,
                                   "segments_detail": every_segment}, folder)

    last = _segment(command, args.every, write, args.checkpoint)
    path = write(last)
    segments.append(last)
    figures = _figures(Path(config.run.dir), Path(config.store.path), segments)
    print(markdown_table([{k: v for k, v in figures.items() if not isinstance(v, dict)}],
                         [k for k, v in figures.items() if not isinstance(v, dict)]))
    print(markdown_table([{"stage": k, "task_s": v, "tasks": figures["tasks"].get(k)}
                          for k, v in figures["task_seconds"].items()], ["stage", "task_s", "tasks"]))
    print(markdown_table([figures["peak_rss_gib"]], list(figures["peak_rss_gib"])))
    print(f"results: {path}")
    if tmp is not None:
        tmp.cleanup()
    return segments[-1]["exit_code"]


if __name__ == "__main__":
    raise SystemExit(main())
