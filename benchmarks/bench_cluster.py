"""K-means backends on real me5-small activations: seconds per iteration and final inertia vs scikit-learn.

Rows of the joint en+de space (layer 6 by default) of a Bible store built once and cached in results/.
For each K every backend starts from the **same** seeded k-means++ centres with the same tol and max_iter, so
they follow the same Lloyd trajectory and s/iteration compares like with like at equal inertia
(``inertia_vs_sklearn`` shows it). Rounds are interleaved (sklearn, torch, ... then again) and the best
round is kept, because this machine is shared and noisy. A last row per K times the whole ``fit()`` with its
own seeded initialisation (torch k-means++ vs sklearn's), i.e. time to a solution. "torch, BLAS GEMM" is
torch with its distance product on ``torch.mm`` (MKL) instead of oneDNN (:mod:`engine.gemm`).
"zarr read once" is the default for a store selection under the memory budget; "zarr stream" forces the
out-of-core path.

    python benchmarks/bench_cluster.py                  # 400 verses en+de (~21k rows), K = 100 and 400, then the
                                                        # full-size rows: n = 50k and 200k, K = 400 and 1000
    python benchmarks/bench_cluster.py --k 1000 --verses 400 --device cuda
    python benchmarks/bench_cluster.py --smoke          # tiny, only to keep the script working
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import RESULTS, markdown_table, write_result  # noqa: E402

log = logging.getLogger("bench_cluster")
MODEL, SIDE = "me5-small", "encoder"


def build_store(path: Path, verses: int, layer: int, languages: list[str]) -> Path:
    """Extract me5-small activations of ``verses`` Bible verses once (re-used while complete)."""
    from engine.config import validate_config
    from engine.extract import run_extraction
    from engine.material import prepare_material

    prepare_material("me5-small")
    config = validate_config({
        "models": [{"name": MODEL}],
        "corpus": {"source": "bible", "languages": languages, "count": verses},
        "extract": {"layers": [layer], "device": "cpu"},
        "store": {"path": str(path)},
    })
    start = time.perf_counter()
    summaries = run_extraction(config, progress=False)
    log.info("store %s ready in %.1f s (%s rows)", path, time.perf_counter() - start,
             {s.lang: s.n_rows for s in summaries})
    return path


def load_rows(store: Path, layer: int, languages: list[str]) -> tuple[np.ndarray, list[Any]]:
    """float32 [n, 384] rows of the joint space, and the float16 store arrays they came from."""
    from engine.store import layout, open_store

    root = open_store(store)
    arrays = [root[layout.activations_path(MODEL, SIDE, lang)][layout.layer_name(layer)] for lang in languages]
    return np.concatenate([np.asarray(a[:], dtype=np.float32) for a in arrays]), arrays


def available(device: str) -> dict[str, str | None]:
    """Optional runners and why each one is skipped (None = runs)."""
    import torch

    from engine.cluster import backends
    from engine.errors import BackendUnavailableError

    reasons: dict[str, str | None] = {"cuda": None if torch.cuda.is_available() else "no CUDA device"}
    try:
        backends.import_faiss()
        reasons["faiss"] = None
    except BackendUnavailableError as exc:
        reasons["faiss"] = str(exc).split(";")[0]
    usable, why = backends.cuml_usable()
    reasons["cuml"] = None if usable and torch.cuda.is_available() else (why if not usable else "no CUDA device")
    if device == "cpu":
        reasons["cuda"] = reasons["cuml"] = "--device cpu"
    return reasons


def streamed(run: Any) -> Any:
    """Run with the in-memory shortcut for small Zarr selections off: every pass re-reads the store."""
    from engine.cluster import source

    budget, source.MEMORY_BUDGET_BYTES = source.MEMORY_BUDGET_BYTES, 0
    try:
        return run()
    finally:
        source.MEMORY_BUDGET_BYTES = budget


def blas_gemm(run: Any) -> Any:
    """Run with the CPU distance product on torch's BLAS (``torch.mm``) instead of oneDNN."""
    from engine.gemm import use_cpu_gemm

    with use_cpu_gemm("blas"):
        return run()


def runners(x: np.ndarray, arrays: list[Any], start: np.ndarray, k: int, max_iter: int, tol: float,
            reasons: dict[str, str | None]) -> dict[str, Any]:
    """name -> zero-argument callable returning a Clustering, all from the centres ``start``."""
    from engine.cluster import fit

    common = {"init": start, "max_iter": max_iter, "tol": tol}
    out = {
        "sklearn | cpu | memory": lambda: fit(x, k, backend="sklearn", device="cpu", **common),
        "torch | cpu | memory": lambda: fit(x, k, backend="torch", device="cpu", prune=False, **common),
        "torch pruned | cpu | memory": lambda: fit(x, k, backend="torch", device="cpu", prune=True, **common),
        "torch, BLAS GEMM | cpu | memory": lambda: blas_gemm(lambda: fit(x, k, backend="torch", device="cpu",
                                                                         **common)),
        "torch | cpu | zarr read once": lambda: fit([(a, None) for a in arrays], k, backend="torch", device="cpu",
                                                    **common),
        "torch | cpu | zarr stream": lambda: streamed(lambda: fit([(a, None) for a in arrays], k, backend="torch",
                                                                  device="cpu", **common)),
    }
    if reasons["cuda"] is None:
        out["torch | cuda | memory"] = lambda: fit(x, k, backend="torch", device="cuda", **common)
        out["torch | cuda | zarr stream"] = lambda: streamed(lambda: fit([(a, None) for a in arrays], k,
                                                                         backend="torch", device="cuda", **common))
    if reasons["faiss"] is None:
        out["faiss | cpu | memory"] = lambda: fit(x, k, backend="faiss", device="cpu", **common)
    if reasons["cuml"] is None:
        out["cuml | cuda | memory"] = lambda: fit(x, k, backend="cuml", device="cuda", **common)
    return out


def _interleaved(runs: dict[str, Any], repeats: int) -> dict[str, tuple[float, Any]]:
    """Best wall time of each runner over ``repeats`` interleaved rounds, with its result."""
    best: dict[str, tuple[float, Any]] = {}
    for round_ in range(repeats):
        for name, run in runs.items():
            started = time.perf_counter()
            result = run()
            seconds = time.perf_counter() - started
            log.info("round %d %-28s %.3f s, %d iterations, inertia %.6g", round_ + 1, name, seconds,
                     result.n_iter, result.inertia)
            if name not in best or seconds < best[name][0]:
                best[name] = (seconds, result)
    return best


def bench_k(x: np.ndarray, arrays: list[Any], k: int, args: argparse.Namespace,
            reasons: dict[str, str | None]) -> list[dict[str, Any]]:
    """All runners at one K from a shared start, then both fit()s with their own seeded init."""
    from engine.cluster import fit

    start = shared_start(x, k, args.seed)
    best = _interleaved(runners(x, arrays, start, k, args.max_iter, args.tol, reasons), args.repeats)
    ref_s, ref = best["sklearn | cpu | memory"]
    ref_per_iter = ref_s / max(ref.n_iter, 1)
    rows = []
    for name, (seconds, result) in best.items():
        backend, device, data = name.split(" | ")
        per_iter = seconds / max(result.n_iter, 1)
        rows.append({"K": k, "backend": backend, "device": device, "data": data, "start": "shared",
                     "n_iter": result.n_iter, "s_per_iter": per_iter, "speed_vs_sklearn": ref_per_iter / per_iter,
                     "total_s": seconds, "inertia": result.inertia,
                     "inertia_vs_sklearn_pct": 100.0 * (result.inertia / ref.inertia - 1.0)})
    own = {
        "sklearn fit(), own k-means++ | cpu | memory": lambda: fit(x, k, seed=args.seed, backend="sklearn",
                                                                   device="cpu", tol=args.tol),
        "torch fit(), own k-means++ | cpu | memory": lambda: fit(x, k, seed=args.seed, backend="torch",
                                                                 device="cpu", tol=args.tol),
    }
    if reasons["cuda"] is None:
        own["torch fit(), own k-means++ | cuda | memory"] = lambda: fit(x, k, seed=args.seed, backend="torch",
                                                                        device="cuda", tol=args.tol)
    timed = _interleaved(own, args.repeats)
    base_s, base = timed["sklearn fit(), own k-means++ | cpu | memory"]
    for name, (seconds, result) in timed.items():
        backend, device, data = name.split(" | ")
        rows.append({"K": k, "backend": backend, "device": device, "data": data, "start": "own",
                     "n_iter": result.n_iter, "s_per_iter": "", "speed_vs_sklearn": base_s / seconds,
                     "total_s": seconds, "inertia": result.inertia,
                     "inertia_vs_sklearn_pct": 100.0 * (result.inertia / base.inertia - 1.0)})
    return rows


def warm_up(x: np.ndarray, reasons: dict[str, str | None]) -> None:
    """One small untimed fit per backend (imports, thread pools, CUDA context) before anything is timed."""
    from engine.cluster import fit

    small = x[: min(len(x), 512)]
    fit(small, 4, backend="sklearn", device="cpu")
    fit(small, 4, backend="torch", device="cpu")
    if reasons["cuda"] is None:
        fit(small, 4, backend="torch", device="cuda")


def shared_start(x: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Seeded torch k-means++ centres [k, d]: the common start of every backend."""
    import torch

    from engine.cluster.parallel import block_parallel
    from engine.cluster.source import RowSource, Transform
    from engine.cluster.torch_kmeans import initial_centers

    source = RowSource([(x, None)])
    source.prepare(Transform())
    with block_parallel("cpu"):
        return initial_centers(source, k, "k-means++", np.random.default_rng(seed), torch.device("cpu"))


def gemm_rate(k: int, d: int, repeats: int = 5) -> float:
    """Measured GFLOP/s of the CPU distance product on one thread: a Lloyd block [rows, d] x [d, k] (bias
    included), the kernel k-means runs, best of ``repeats`` passes over 32 blocks."""
    import torch

    from engine.cluster.source import block_rows_for
    from engine.gemm import affine

    rows = block_rows_for(k)
    x = torch.randn(32 * rows, d)
    weight, bias = torch.randn(k, d), torch.randn(k)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        best = float("inf")
        for _ in range(repeats):
            started = time.perf_counter()
            for lo in range(0, x.shape[0], rows):
                affine(x[lo:lo + rows], weight, bias)
            best = min(best, time.perf_counter() - started)
    finally:
        torch.set_num_threads(before)
    return 2.0 * x.shape[0] * d * k / best / 1e9


def full_size(x_all: np.ndarray, args: argparse.Namespace) -> list[dict[str, Any]]:
    """At the sizes a whole-Bible run clusters: s/iteration of torch and sklearn from the same start (fixed
    iterations, one thread each), torch's GFLOP/s against the measured GEMM rate, and whole fits from each
    side's own seeded start over several seeds (torch's start share and final inertia gap)."""
    from threadpoolctl import threadpool_limits

    from engine.cluster import fit

    rows = []
    rng = np.random.default_rng(args.seed)
    for n in args.full_rows:
        x = x_all[np.sort(rng.choice(len(x_all), min(n, len(x_all)), replace=False))]
        for k in args.full_k:
            start = fit(x, k, backend="torch", device="cpu", init="k-means||", seed=args.seed, max_iter=1).centroids
            common = {"init": start, "max_iter": args.full_iterations, "tol": 0.0}
            runs = {name: partial(fit, x, k, backend=name, device="cpu", **common) for name in ("sklearn", "torch")}
            with threadpool_limits(1):
                best = _interleaved(runs, args.repeats)
            rate = gemm_rate(k, x.shape[1])
            sk, to = best["sklearn"][1], best["torch"][1]
            per_iter = {name: seconds / max(result.n_iter, 1) for name, (seconds, result) in best.items()}
            gflops = 2.0 * len(x) * k * x.shape[1] / per_iter["torch"] / 1e9
            rows.append({"n": len(x), "K": k, "what": "same start, fixed iterations", "iterations": to.n_iter,
                         "sklearn_s_per_iter": per_iter["sklearn"], "torch_s_per_iter": per_iter["torch"],
                         "speed_vs_sklearn": per_iter["sklearn"] / per_iter["torch"],
                         "torch_gflops": gflops, "gemm_gflops": rate, "share_of_gemm": gflops / rate,
                         "inertia_vs_sklearn": to.inertia / sk.inertia - 1.0})
            log.info("n=%d K=%d: %s", len(x), k, rows[-1])
            for seed in range(args.full_seeds):
                with threadpool_limits(1):
                    began = time.perf_counter()
                    ref = fit(x, k, backend="sklearn", device="cpu", seed=seed, tol=args.tol)
                    ref_s = time.perf_counter() - began
                    began = time.perf_counter()
                    ours = fit(x, k, backend="torch", device="cpu", seed=seed, tol=args.tol)
                    ours_s = time.perf_counter() - began
                rows.append({"n": len(x), "K": k, "what": f"own start, seed {seed} ({ours.params['init']})",
                             "iterations": ours.n_iter, "sklearn_fit_s": ref_s, "torch_fit_s": ours_s,
                             "speed_vs_sklearn": ref_s / ours_s, "start_share": ours.info["init_seconds"] / ours_s,
                             "inertia_vs_sklearn": ours.inertia / ref.inertia - 1.0})
                log.info("n=%d K=%d seed %d: %s", len(x), k, seed, rows[-1])
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, only to keep the script working")
    parser.add_argument("--out", type=Path, default=None, help="folder for cluster.json (default results/)")
    parser.add_argument("--verses", type=int, default=400, help="Bible verses per language")
    parser.add_argument("--languages", nargs="+", default=["en", "de"])
    parser.add_argument("--layer", type=int, default=6)
    parser.add_argument("--k", type=int, nargs="+", default=[100, 400])
    parser.add_argument("--max-iter", type=int, default=300)
    parser.add_argument("--tol", type=float, default=1e-4)
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds; the best is kept")
    parser.add_argument("--seed", type=int, default=212, help="the released reference's random_state")
    parser.add_argument("--device", default="auto", help="cpu | auto (adds CUDA rows when a GPU is present)")
    parser.add_argument("--store", type=Path, default=None, help="store to (re)use; default results/")
    parser.add_argument("--full-verses", type=int, default=3800, help="verses of the full-size store (~220k rows)")
    parser.add_argument("--full-rows", type=int, nargs="*", default=[50_000, 200_000],
                        help="rows of the full-size section (none: skip it)")
    parser.add_argument("--full-k", type=int, nargs="+", default=[400, 1000])
    parser.add_argument("--full-iterations", type=int, default=10)
    parser.add_argument("--full-seeds", type=int, default=3, help="seeds of the own-start fits at full size")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S", stream=sys.stderr)
    if args.smoke:
        args.verses, args.k, args.repeats, args.max_iter = 12, [8], 1, 20
        args.full_verses, args.full_rows, args.full_k, args.full_iterations, args.full_seeds = 12, [300], [4], 2, 1
    folder = Path(args.out) if args.out else RESULTS
    store = args.store or folder / f"cluster-me5-{'-'.join(args.languages)}-{args.verses}v-l{args.layer}.zarr"
    build_store(store, args.verses, args.layer, args.languages)
    x, arrays = load_rows(store, args.layer, args.languages)
    log.info("data: %d rows x %d (%s, layer %d)", *x.shape, "+".join(args.languages), args.layer)
    reasons = available(args.device)
    warm_up(x, reasons)
    rows: list[dict[str, Any]] = []
    for k in args.k:
        rows += bench_k(x, arrays, k, args, reasons)
    full: list[dict[str, Any]] = []
    if args.full_rows:
        big = folder / f"cluster-me5-{'-'.join(args.languages)}-{args.full_verses}v-l{args.layer}.zarr"
        build_store(big, args.full_verses, args.layer, args.languages)
        full = full_size(load_rows(big, args.layer, args.languages)[0], args)
    columns = ["K", "backend", "device", "data", "n_iter", "s_per_iter", "speed_vs_sklearn", "total_s",
               "inertia", "inertia_vs_sklearn_pct"]
    print(f"{x.shape[0]} rows x {x.shape[1]} (me5-small layer {args.layer}, {'+'.join(args.languages)}, "
          f"{args.verses} verses); same start, tol={args.tol}; best of {args.repeats} interleaved rounds\n")
    print(markdown_table(rows, columns))
    if full:
        print(f"\nfull size (me5-small layer {args.layer}, {args.full_verses} verses, rows sampled; one thread):\n")
        print(markdown_table(full, ["n", "K", "what", "iterations", "sklearn_s_per_iter", "torch_s_per_iter",
                                    "sklearn_fit_s", "torch_fit_s", "speed_vs_sklearn", "torch_gflops",
                                    "gemm_gflops", "share_of_gemm", "start_share", "inertia_vs_sklearn"]))
    skipped = {name: why for name, why in reasons.items() if why}
    for name, why in skipped.items():
        print(f"\nnot run: {name} ({why})")
    path = write_result("cluster", {"smoke": args.smoke, "args": {k: str(v) for k, v in vars(args).items()},
                                    "n": int(x.shape[0]), "d": int(x.shape[1]), "rows": rows, "full_size": full,
                                    "skipped": skipped}, args.out)
    log.info("wrote %s", path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
