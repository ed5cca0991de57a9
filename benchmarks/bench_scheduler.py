"""Schedulers side by side: the same small ``babelscope run`` in one process (``sync``) and on the default
``local`` cluster (one single-threaded worker process per core), each into a fresh store, then each again with
everything cached. Wall seconds of the whole command (process start included) and the ratios, from one
invocation on one machine.

    python benchmarks/bench_scheduler.py                      # 100 verses, en-de, layers 0 and 6, K=10
    python benchmarks/bench_scheduler.py --verses 300
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
    return {"wall_s": round(wall, 2), "run_s": meta["seconds"], "computed": sum(meta["computed"].values()),
            "cached": sum(meta["cached"].values()),
            "stage_task_s": {k: round(v, 1) for k, v in meta["stage_seconds"].items()},
            "warnings": [line for line in done.stderr.splitlines() if " WARNING " in line or "Warning" in line]}


def main(argv: list[str] | None = None) -> int:
    def add(parser: Any) -> None:
        parser.add_argument("--verses", type=int, default=100)

    args = parse_args(__doc__, add, argv)
    verses, layers = (8, "[0]") if args.smoke else (args.verses, "[0, 6]")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-scheduler-") as tmp:
        folder = Path(tmp)
        for label, name, scheduler in (("sync, fresh", "s", "sync"), ("local, fresh", "l", "local"),
                                       ("sync, cached", "s", "sync"), ("local, cached", "l", "local")):
            rows.append({"case": label, **_run(folder, name, scheduler, verses, layers)})
    by = {row["case"]: row for row in rows}
    ratios = {"local_over_sync_fresh": round(by["local, fresh"]["wall_s"] / by["sync, fresh"]["wall_s"], 2),
              "cached_over_fresh_local": round(by["local, cached"]["wall_s"] / by["local, fresh"]["wall_s"], 3)}
    table = markdown_table(rows, ["case", "wall_s", "run_s", "computed", "cached"])
    path = write_result("scheduler", {"verses": verses, "layers": layers, "rows": rows, "ratios": ratios,
                                      "table": table}, args.out)
    print(f"## scheduler ({verses} verses, en-de, layers {layers}, K=10)\n\n{table}\n\nratios: {ratios}\n"
          f"({path})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
