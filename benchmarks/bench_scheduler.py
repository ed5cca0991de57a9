"""Schedulers side by side: the same ``babelscope run`` in one process (``sync``), on a ``local`` cluster (one
single-threaded worker process per core) and on the default ``auto`` (which picks one of them by the run's
words, see ``engine.schedule.placement.AUTO_LOCAL_MIN_WORDS``), each into a fresh store, then each again with
everything cached; at each corpus size asked for. Wall seconds of the whole command (process start included)
and the ratios, from one invocation on one machine.

    python benchmarks/bench_scheduler.py                      # 100 verses, en-de, layers 0 and 6, K=10
    python benchmarks/bench_scheduler.py --verses 100 1000 3000
    python benchmarks/bench_scheduler.py --smoke
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import markdown_table, parse_args, write_result  # noqa: E402


def _run(folder: Path, name: str, scheduler: str, verses: int, layers: str) -> dict[str, Any]:
    command = [sys.executable, "-m", "engine.cli", "run", str(ROOT / "configs" / "default.yaml"), "--no-progress"]
    for item in (f"corpus.count={verses}", "corpus.languages=[en, de]", "align.pairs=[[en, de]]",
                 f"extract.layers={layers}", "cluster.ks=[10]", f"store.path={folder / name}.zarr",
                 f"run.dir={folder / name}", "run.report=false", f"run.scheduler={scheduler}"):
        command += ["--set", item]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(f"babelscope run ({scheduler}) failed:\n{done.stderr[-3000:]}")
    meta = json.loads((folder / name / "results.json").read_text())
    tasks = json.loads((folder / name / "tasks.json").read_text())
    words = sum(int(p.get("n_rows", 0)) for p in tasks.values() if p.get("stage") == "extract_done")
    return {"wall_s": round(wall, 2), "run_s": meta["seconds"], "scheduler": meta.get("scheduler", scheduler),
            "words": words, "computed": sum(meta["computed"].values()),
            "cached": sum(meta["cached"].values()),
            "stage_task_s": {k: round(v, 1) for k, v in meta["stage_seconds"].items()},
            "warnings": [line for line in done.stderr.splitlines() if " WARNING " in line or "Warning" in line]}


def _size(folder: Path, verses: int, layers: str) -> tuple[list[dict[str, Any]], dict[str, float]]:
    rows = []
    for label, name, scheduler in (("sync, fresh", "s", "sync"), ("local, fresh", "l", "local"),
                                   ("auto, fresh", "a", "auto"), ("sync, cached", "s", "sync"),
                                   ("local, cached", "l", "local"), ("auto, cached", "a", "auto")):
        rows.append({"verses": verses, "case": label, **_run(folder / str(verses), name, scheduler, verses, layers)})
    by = {row["case"]: row for row in rows}
    fastest = min(by["sync, fresh"]["wall_s"], by["local, fresh"]["wall_s"])
    ratios = {"local_over_sync_fresh": round(by["local, fresh"]["wall_s"] / by["sync, fresh"]["wall_s"], 2),
              "auto_over_fastest_fresh": round(by["auto, fresh"]["wall_s"] / fastest, 2),
              "cached_over_fresh_auto": round(by["auto, cached"]["wall_s"] / by["auto, fresh"]["wall_s"], 3)}
    return rows, ratios


def main(argv: list[str] | None = None) -> int:
    def add(parser: Any) -> None:
        parser.add_argument("--verses", type=int, nargs="+", default=[100])

    args = parse_args(__doc__, add, argv)
    sizes, layers = ([8], "[0]") if args.smoke else (args.verses, "[0, 6]")
    rows, ratios = [], {}
    with tempfile.TemporaryDirectory(prefix="bench-scheduler-") as tmp:
        for verses in sizes:
            size_rows, ratios[str(verses)] = _size(Path(tmp), verses, layers)
            rows += size_rows
    table = markdown_table(rows, ["verses", "case", "scheduler", "words", "wall_s", "run_s", "computed", "cached"])
    path = write_result("scheduler", {"verses": sizes, "layers": layers, "rows": rows, "ratios": ratios,
                                      "table": table}, args.out)
    print(f"## scheduler (verses {sizes}, en-de, layers {layers}, K=10)\n\n{table}\n\nratios: {ratios}\n"
          f"({path})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
