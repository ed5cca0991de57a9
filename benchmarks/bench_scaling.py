"""Scaling: extraction and clustering as the corpus grows (250, 500, 1000 verses by default, up to the whole
Bible); time should grow ~linearly and memory not at all.

Same model (me5-small, all 13 layers), English Bible verses, one run. For each size:
- extraction: the extraction stage into a fresh Zarr store, in a child process (seconds and words/s with the
  model loaded, the process's peak RSS, store bytes per word per layer);
- clustering: torch k-means (K fixed) on the layer-6 rows of that store, from seeded k-means++ centres with
  a fixed iteration budget, reported as seconds per Lloyd iteration (iteration counts vary with the data).
``slope`` is the least-squares exponent b of time ~ size^b over all sizes (1.0 = linear, below 1 = fixed
costs that the larger sizes spread out); ``step_slope`` is the same between one size and the next.

    python benchmarks/bench_scaling.py                                  # 250, 500, 1000 verses, K = 100
    python benchmarks/bench_scaling.py --sizes 250 1000 5000 31102      # up to the whole Bible (~20 min)
    python benchmarks/bench_scaling.py --smoke                          # tiny, only to keep the script working
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import common  # noqa: E402

log = logging.getLogger("bench_scaling")
LAYER = 6


def slope(sizes: list[float], seconds: list[float]) -> float:
    """Exponent b of the least-squares fit seconds = a * size^b."""
    return float(np.polyfit(np.log(sizes), np.log(seconds), 1)[0])


def _arguments(parser) -> None:
    parser.add_argument("--sizes", type=int, nargs="+", default=[250, 500, 1000], help="verses, smallest first")
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2)


def _child_extraction(store: Path, verses: int) -> dict:
    """Extraction of ``verses`` English verses into ``store`` in a child process: seconds (model loaded),
    words, the child's peak RSS (MiB) and the store's bytes."""
    root = str(Path(__file__).resolve().parent.parent)
    code = (f"import sys, json, resource; sys.path.insert(0, {root!r})\n"
            "from benchmarks import common\n"
            f"config = common.me5_config({str(store)!r}, {verses})\n"
            "seconds = common.extract_fresh(common.load_me5(), config)\n"
            "rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
            "print(json.dumps({'seconds': seconds, 'peak_rss_mib': rss}))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["store_bytes"] = sum(f.stat().st_size for f in Path(store).rglob("*") if f.is_file())
    return result


def main(argv: list[str] | None = None) -> dict:
    args = common.parse_args(__doc__, _arguments, argv)
    if args.smoke:
        args.sizes, args.k, args.iterations, args.repeats = [6, 12], 4, 3, 1
    sizes = sorted(set(args.sizes))

    from benchmarks.bench_cluster import shared_start
    from engine.cluster import fit

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for verses in sizes:
            store = Path(tmp) / f"v{verses}.zarr"
            runs = [_child_extraction(store, verses) for _ in range(args.repeats)]
            extract_s = min(r["seconds"] for r in runs)
            x = np.asarray(common.layer_rows(store, LAYER)[:], dtype=np.float32)
            words, layers = x.shape[0], 13
            start = shared_start(x, args.k, 212)
            per_iteration = float("inf")
            for _ in range(args.repeats):
                began = time.perf_counter()
                result = fit(x, args.k, backend="torch", device="cpu", init=start, max_iter=args.iterations, tol=0.0)
                per_iteration = min(per_iteration, (time.perf_counter() - began) / max(result.n_iter, 1))
            rows.append({"factor": verses / sizes[0], "verses": verses, "words": words, "extract_s": extract_s,
                         "words_s": words / extract_s, "peak_rss_mib": max(r["peak_rss_mib"] for r in runs),
                         "store_bytes_per_word_layer": runs[-1]["store_bytes"] / (words * layers),
                         "cluster_s_per_iter": per_iteration, "iterations": result.n_iter})
            log.info("%d verses: %d words, extraction %.2f s (peak RSS %.0f MiB), k-means %.4f s/iteration", verses,
                     words, extract_s, rows[-1]["peak_rss_mib"], per_iteration)
            del x
            shutil.rmtree(store, ignore_errors=True)
    base = rows[0]
    for previous, row in zip([None, *rows[:-1]], rows, strict=True):
        row["extract_vs_1x"] = row["extract_s"] / base["extract_s"]
        row["cluster_vs_1x"] = row["cluster_s_per_iter"] / base["cluster_s_per_iter"]
        if previous is not None:  # the exponent from the size before: fixed costs weigh less at larger sizes
            grow = [float(previous["words"]), float(row["words"])]
            row["extract_step_slope"] = slope(grow, [previous["extract_s"], row["extract_s"]])
            row["cluster_step_slope"] = slope(grow, [previous["cluster_s_per_iter"], row["cluster_s_per_iter"]])
    counts = [float(r["words"]) for r in rows]
    slopes = {"extract_slope": slope(counts, [r["extract_s"] for r in rows]),
              "cluster_slope": slope(counts, [r["cluster_s_per_iter"] for r in rows]),
              "rss_slope": slope(counts, [r["peak_rss_mib"] for r in rows])}
    payload = {"smoke": args.smoke, "k": args.k, "layer": LAYER, "rows": rows, **slopes,
               "goals": {"slope": "~1.0 (linear)", "rss_slope": "~0 (memory does not grow with the corpus)"}}
    path = common.write_result("scaling", payload, args.out)
    print(common.markdown_table(rows, ["factor", "verses", "words", "extract_s", "words_s", "extract_vs_1x",
                                       "extract_step_slope", "peak_rss_mib", "store_bytes_per_word_layer",
                                       "cluster_s_per_iter", "cluster_vs_1x", "cluster_step_slope"]))
    print(common.markdown_table([slopes], list(slopes)))
    print(f"results: {path}")
    return payload


if __name__ == "__main__":
    main()
