"""GPU section: the card's FP32 GEMM peak, torch k-means Lloyd TFLOP/s against it, and extraction store
write GB/s, all measured in one run on the same card (``make gpu-check`` runs it). Without CUDA it writes
its result with the reason and exits 0, so CPU machines keep the script working.

- GEMM peak: best of a few ``torch.mm`` of two 8192 x 8192 float32 matrices (TF32 off), 2 n^3 flops each.
- Lloyd: torch k-means on CUDA over real me5-small layer-6 rows, from a seeded start, fixed iterations;
  each iteration costs ~2 n K d flops for the distances (the GEMM) plus the update; TFLOP/s = that / s.
- store write: the extraction stage on CUDA into a fresh Zarr store; GB/s = float16 bytes stored / seconds,
  next to words/s. The same stage on the CPU, same verses, gives the speed-up in one run.

    python benchmarks/bench_gpu.py [--verses 400 --k 1000]
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

log = logging.getLogger("bench_gpu")
LAYER = 6


def gemm_peak_tflops(torch, n: int, repeats: int) -> float:
    a = torch.randn(n, n, device="cuda", dtype=torch.float32)
    b = torch.randn(n, n, device="cuda", dtype=torch.float32)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.mm(a, b)
    torch.cuda.synchronize()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e12


def extraction(verses: int, device: str, tmp: Path) -> dict[str, float]:
    import torch

    from engine.device import resolve_compute_dtype

    config = common.me5_config(tmp / f"{device}.zarr", verses, dtype="auto", device=device)
    dtype = resolve_compute_dtype("auto", torch.device(device))
    loaded = common.load_me5(device)
    runs = 1 if device == "cpu" else 2  # the first CUDA pass pays for kernel selection
    seconds = min(common.extract_fresh(loaded, config) for _ in range(runs))
    n_layers = loaded.n_layers["encoder"] + 1
    stored = sum(int(np.prod(common.layer_rows(config.store.path, layer).shape)) * 2 for layer in range(n_layers))
    words = sum(map(len, common.bible_sentences("en", verses)))
    return {"device": device, "dtype": str(dtype).removeprefix("torch."), "words": words, "seconds": seconds,
            "words_s": words / seconds, "store_gb_s": stored / seconds / 1e9, "stored_gb": stored / 1e9}


def lloyd(store: str, k: int, iterations: int) -> dict[str, float]:
    from benchmarks.bench_cluster import shared_start
    from engine.cluster import fit

    x = np.asarray(common.layer_rows(store, LAYER)[:], dtype=np.float32)
    start = shared_start(x, k, 212)
    fit(x, k, backend="torch", device="cuda", init=start, max_iter=2, tol=0.0)  # warm-up
    began = time.perf_counter()
    result = fit(x, k, backend="torch", device="cuda", init=start, max_iter=iterations, tol=0.0)
    per_iteration = (time.perf_counter() - began) / max(result.n_iter, 1)
    n, d = x.shape
    return {"n": n, "d": d, "k": k, "iterations": result.n_iter, "s_per_iter": per_iteration,
            "lloyd_tflops": 2 * n * k * d / per_iteration / 1e12}


def _arguments(parser) -> None:
    parser.add_argument("--verses", type=int, default=400)
    parser.add_argument("--k", type=int, default=1000)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--gemm", type=int, default=8192)


def main(argv: list[str] | None = None) -> dict:
    args = common.parse_args(__doc__, _arguments, argv)
    if args.smoke:
        args.verses, args.k, args.iterations, args.gemm = 8, 8, 3, 1024

    import torch

    if not torch.cuda.is_available():
        reason = "no CUDA device (torch.cuda.is_available() is False)"
        path = common.write_result("gpu", {"smoke": args.smoke, "skipped": reason}, args.out)
        print(common.markdown_table([{"section": "gpu", "skipped": reason}], ["section", "skipped"]))
        print(f"results: {path}")
        return {"skipped": reason}

    peak = gemm_peak_tflops(torch, args.gemm, 5)
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        rows = [extraction(args.verses, "cuda", tmp), extraction(args.verses, "cpu", tmp)]
        rows[0]["speedup_vs_cpu"] = rows[0]["words_s"] / rows[1]["words_s"]
        clustering = lloyd(str(tmp / "cuda.zarr"), args.k, args.iterations)
    clustering["share_of_gemm_peak"] = clustering["lloyd_tflops"] / peak
    payload = {"smoke": args.smoke, "card": torch.cuda.get_device_name(), "gemm_fp32_peak_tflops": peak,
               "extraction": rows, "lloyd": clustering}
    path = common.write_result("gpu", payload, args.out)
    print(f"card: {payload['card']}, measured FP32 GEMM peak {peak:.1f} TFLOP/s")
    print(common.markdown_table(rows, ["device", "dtype", "words", "words_s", "store_gb_s", "speedup_vs_cpu"]))
    print(common.markdown_table([clustering], ["n", "d", "k", "s_per_iter", "lloyd_tflops", "share_of_gemm_peak"]))
    print(f"results: {path}")
    return payload


if __name__ == "__main__":
    main()
