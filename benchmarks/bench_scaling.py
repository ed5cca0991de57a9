"""Scaling: extraction and clustering time as the corpus doubles (1x, 2x, 4x); the slope should be ~linear.

Same model (me5-small, all 13 layers), English Bible verses, one run. For each size:
- extraction: the extraction stage into a fresh Zarr store (seconds, words/s);
- clustering: torch k-means (K fixed) on the layer-6 rows of that store, from seeded k-means++ centres with
  a fixed iteration budget, reported as seconds per Lloyd iteration (iteration counts vary with the data).
``slope`` is the least-squares exponent b of time ~ size^b over the three sizes (1.0 = linear, below 1 =
fixed costs that the larger sizes spread out); ``step_slope`` is the same over one doubling.

    python benchmarks/bench_scaling.py                  # 250, 500, 1000 verses, K = 100
    python benchmarks/bench_scaling.py --verses 250 --k 400
    python benchmarks/bench_scaling.py --smoke          # tiny, only to keep the script working
"""

from __future__ import annotations

import logging
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
    parser.add_argument("--verses", type=int, default=250, help="the 1x corpus (verses)")
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2)


def main(argv: list[str] | None = None) -> dict:
    args = common.parse_args(__doc__, _arguments, argv)
    if args.smoke:
        args.verses, args.k, args.iterations, args.repeats = 6, 4, 3, 1

    from benchmarks.bench_cluster import shared_start
    from engine.cluster import fit

    loaded = common.load_me5()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for factor in (1, 2, 4):
            verses = factor * args.verses
            config = common.me5_config(Path(tmp) / f"x{factor}.zarr", verses)
            words = sum(map(len, common.bible_sentences("en", verses)))
            extract_s = min(common.extract_fresh(loaded, config) for _ in range(args.repeats))
            x = np.asarray(common.layer_rows(config.store.path, LAYER)[:], dtype=np.float32)
            start = shared_start(x, args.k, 212)
            per_iteration = float("inf")
            for _ in range(args.repeats):
                began = time.perf_counter()
                result = fit(x, args.k, backend="torch", device="cpu", init=start, max_iter=args.iterations, tol=0.0)
                per_iteration = min(per_iteration, (time.perf_counter() - began) / max(result.n_iter, 1))
            rows.append({"factor": factor, "verses": verses, "words": words, "extract_s": extract_s,
                         "words_s": words / extract_s, "cluster_s_per_iter": per_iteration,
                         "iterations": result.n_iter})
            log.info("%dx: %d words, extraction %.2f s, k-means %.4f s/iteration", factor, words, extract_s,
                     per_iteration)
    base = rows[0]
    for previous, row in zip([None, *rows[:-1]], rows, strict=True):
        row["extract_vs_1x"] = row["extract_s"] / base["extract_s"]
        row["cluster_vs_1x"] = row["cluster_s_per_iter"] / base["cluster_s_per_iter"]
        if previous is not None:  # the exponent over this doubling alone: fixed costs weigh less at larger sizes
            grow = [float(previous["words"]), float(row["words"])]
            row["extract_step_slope"] = slope(grow, [previous["extract_s"], row["extract_s"]])
            row["cluster_step_slope"] = slope(grow, [previous["cluster_s_per_iter"], row["cluster_s_per_iter"]])
    sizes = [float(r["words"]) for r in rows]
    slopes = {"extract_slope": slope(sizes, [r["extract_s"] for r in rows]),
              "cluster_slope": slope(sizes, [r["cluster_s_per_iter"] for r in rows])}
    payload = {"smoke": args.smoke, "k": args.k, "layer": LAYER, "rows": rows, **slopes,
               "goals": {"slope": "~1.0 (linear)"}}
    path = common.write_result("scaling", payload, args.out)
    print(common.markdown_table(rows, ["factor", "verses", "words", "extract_s", "words_s", "extract_vs_1x",
                                "extract_step_slope", "cluster_s_per_iter", "cluster_vs_1x", "cluster_step_slope"]))
    print(common.markdown_table([slopes], list(slopes)))
    print(f"results: {path}")
    return payload


if __name__ == "__main__":
    main()
