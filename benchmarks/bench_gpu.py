"""GPU section, measured side by side in one run on one card (``make gpu-check`` runs it with
``--require-gpu``): the card's dense GEMM peak in FP32, TF32 and BF16; torch k-means Lloyd iterations at
N = 1M, d = 384, K = 1000 as a share of the FP32 peak (the distance product runs in FP32); cuML KMeans and
FAISS-GPU on the same data and start where installed; the CuPy metric kernels against NumPy; extraction words/s
on the GPU against a forward pass that stores nothing, and store write GB/s against the same stage on the CPU.

Material: me5-small and Bible verses (default), or with ``--bundle DIR`` (an offline node) a model of
me5-small's architecture with random weights, its real tokenizer, and the verses shipped in the bundle.
Without CUDA it writes its result with the reason and exits 0 (so CPU machines keep the script working), or 1
with ``--require-gpu`` / ``BABELSCOPE_REQUIRE_GPU=1``.

    python benchmarks/bench_gpu.py [--verses 400 --n 1000000 --k 1000]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import common  # noqa: E402


def _timed(torch: Any, fn: Any, repeats: int) -> float:
    fn()
    torch.cuda.synchronize()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return best


def gemm_peaks(torch: Any, n: int, repeats: int) -> dict[str, float]:
    """TFLOP/s of ``torch.mm`` of two n x n matrices: FP32 (TF32 off), TF32, BF16 (FP32 accumulation)."""
    out = {}
    for name, dtype, tf32 in (("fp32", torch.float32, False), ("tf32", torch.float32, True),
                              ("bf16", torch.bfloat16, False)):
        a = torch.randn(n, n, device="cuda", dtype=dtype)
        b = torch.randn(n, n, device="cuda", dtype=dtype)
        before = torch.backends.cuda.matmul.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = tf32
        try:
            out[name] = 2 * n**3 / _timed(torch, lambda a=a, b=b: torch.mm(a, b), repeats) / 1e12
        finally:
            torch.backends.cuda.matmul.allow_tf32 = before
    return out


def _points(n: int, d: int, k: int, seed: int) -> np.ndarray:
    """n float32 rows around k centres (Gaussian): k-means work of the size asked, without a store that big."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, d)).astype(np.float32)
    return centres[rng.integers(0, k, n)] + rng.normal(scale=0.5, size=(n, d)).astype(np.float32)


def clustering(n: int, d: int, k: int, iterations: int, peak_fp32: float) -> list[dict[str, Any]]:
    """torch Lloyd on CUDA, then cuML and FAISS-GPU from the same start (where installed): s/iteration."""
    from engine.cluster import backends, fit

    x = _points(n, d, k, 0)
    start = x[np.random.default_rng(1).choice(n, k, replace=False)].copy()
    rows = []
    runs = {"torch": lambda: fit(x, k, backend="torch", device="cuda", init=start, max_iter=iterations, tol=0.0)}
    usable, why = backends.cuml_usable()
    if usable:
        runs["cuml"] = lambda: fit(x, k, backend="cuml", device="cuda", init=start, max_iter=iterations, tol=0.0)
    else:
        rows.append({"backend": "cuml", "skipped": why.split(";")[0]})
    try:
        if backends.faiss_gpu_count():
            runs["faiss"] = lambda: fit(x, k, backend="faiss", device="cuda", init=start, max_iter=iterations)
        else:
            rows.append({"backend": "faiss", "skipped": "this faiss has no GPU support"})
    except Exception as exc:  # noqa: BLE001 - not installed: say so and go on
        rows.append({"backend": "faiss", "skipped": str(exc).split(";")[0]})
    reference = None
    for name, run in runs.items():
        run()  # warm-up: CUDA contexts, kernels, library set-up
        began = time.perf_counter()
        result = run()
        per_iteration = (time.perf_counter() - began) / max(result.n_iter, 1)
        tflops = 2 * n * k * d / per_iteration / 1e12
        reference = reference or result
        rows.append({"backend": name, "n": n, "d": d, "k": k, "iterations": result.n_iter,
                     "s_per_iter": per_iteration, "tflops": tflops, "share_of_fp32_peak": tflops / peak_fp32,
                     "inertia_vs_torch": result.inertia / reference.inertia - 1.0})
    return rows


def kernels(smoke: bool) -> list[dict[str, Any]]:
    """The metric kernels (CALIGN with its shuffled-dictionary null, COLAP) on CuPy against NumPy."""
    from benchmarks.bench_metrics import bench_calign, bench_colap

    k, types, tokens, repeats = (50, 500, 5000, 2) if smoke else (1000, 50_000, 300_000, 20)
    rows = []
    for device in ("cpu", "cuda"):
        for row in bench_calign(k, types, 5, repeats, 0, device) + bench_colap(k, tokens, repeats, 0, device):
            rows.append({"device": device, **{key: v for key, v in row.items() if not isinstance(v, list | dict)}})
    return rows


def _material(tmp: Path, bundle: Path | None, verses: int) -> tuple[str, dict[str, Any]]:
    """(model name or folder, corpus section) of the run: the real ones, or the bundle's."""
    if bundle is None:
        from engine.material import prepare_material

        prepare_material(common.MODEL)
        return common.MODEL, {"source": "bible", "languages": ["en"], "count": verses}
    from engine.material.me5 import build_me5_architecture

    lines = (bundle / "verses.en.txt").read_text(encoding="utf-8").splitlines()[:verses]
    (tmp / "en.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    corpus = {"source": "text", "files": {"en": str(tmp / "en.txt")}, "pretokenized": True}
    return str(build_me5_architecture(tmp / "me5-architecture")), corpus


def extraction(model: str, corpus: dict[str, Any], device: str, tmp: Path) -> dict[str, Any]:
    """The extraction stage into a fresh store (words/s, store GB/s) and a forward pass storing nothing."""
    import torch

    from engine.config import validate_config
    from engine.device import resolve_compute_dtype
    from engine.extract.memory import batch_tokens_for
    from engine.extract.models import load_model
    from engine.extract.plan import make_batches, plan_sentences

    config = validate_config({"models": [{"name": model, "label": common.MODEL}], "corpus": corpus,
                              "extract": {"device": device}, "store": {"path": str(tmp / f"{device}.zarr")}})
    loaded = load_model(config.models[0], torch.device(device))
    dtype = resolve_compute_dtype("auto", torch.device(device))
    runs = 1 if device == "cpu" else 2  # the first CUDA pass pays for kernel selection
    seconds = min(common.extract_fresh(loaded, config) for _ in range(runs))
    from engine.corpus import load_corpus

    sentences = load_corpus(config.corpus).words("en")
    words = sum(map(len, sentences))
    plans = plan_sentences(loaded.tokenizer, sentences, 0, loaded.max_tokens, "window")
    budget = batch_tokens_for(config.extract.batch_tokens, loaded, list(range(loaded.n_layers["encoder"] + 1)),
                              torch.device(device), 4 if dtype == torch.float32 else 2)
    batches = make_batches([s for p in plans for s in p.segments], budget, config.extract.max_batch_size)

    def forward() -> None:
        from engine.extract.forward import pad_batch

        with torch.inference_mode(), torch.autocast(device, dtype=dtype, enabled=dtype != torch.float32):
            for batch in batches:
                ids, mask = pad_batch([s.input_ids for s in batch], loaded.tokenizer.pad_token_id,
                                      torch.device(device))
                loaded.model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
        if device == "cuda":
            torch.cuda.synchronize()

    forward()
    began = time.perf_counter()
    forward()
    bare = time.perf_counter() - began
    n_layers = loaded.n_layers["encoder"] + 1
    stored = sum(int(np.prod(common.layer_rows(config.store.path, layer).shape)) * 2 for layer in range(n_layers))
    return {"device": device, "dtype": str(dtype).removeprefix("torch."), "words": words, "seconds": seconds,
            "words_s": words / seconds, "forward_only_words_s": words / bare, "ratio_to_forward": bare / seconds,
            "store_gb_s": stored / seconds / 1e9, "stored_gb": stored / 1e9}


def _arguments(parser) -> None:
    parser.add_argument("--verses", type=int, default=400)
    parser.add_argument("--n", type=int, default=1_000_000, help="rows of the k-means comparison")
    parser.add_argument("--k", type=int, default=1000)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--gemm", type=int, default=8192)
    parser.add_argument("--bundle", type=Path, default=None, help="offline bundle (benchmarks/gpu_lane.py bundle)")
    parser.add_argument("--require-gpu", action="store_true", help="exit 1 without CUDA (the GPU lane)")


def main(argv: list[str] | None = None) -> int:
    args = common.parse_args(__doc__, _arguments, argv)
    if args.smoke:
        args.verses, args.n, args.k, args.iterations, args.gemm = 8, 2000, 8, 3, 1024
    require = args.require_gpu or os.environ.get("BABELSCOPE_REQUIRE_GPU", "") not in ("", "0")

    import torch

    if not torch.cuda.is_available():
        reason = f"no CUDA device (torch {torch.__version__}: torch.cuda.is_available() is False)"
        path = common.write_result("gpu", {"smoke": args.smoke, "skipped": reason}, args.out)
        print(common.markdown_table([{"section": "gpu", "skipped": reason}], ["section", "skipped"]))
        print(f"results: {path}")
        if require:
            print(f"bench_gpu: FAIL: the GPU lane needs a GPU: {reason}", file=sys.stderr)
        return 1 if require else 0

    peaks = gemm_peaks(torch, args.gemm, 5)
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        model, corpus = _material(tmp, args.bundle, args.verses)
        rows = [extraction(model, corpus, "cuda", tmp), extraction(model, corpus, "cpu", tmp)]
    rows[0]["speedup_vs_cpu"] = rows[0]["words_s"] / rows[1]["words_s"]
    lloyd = clustering(args.n, 384, args.k, args.iterations, peaks["fp32"])
    metric_rows = kernels(args.smoke)
    payload = {"smoke": args.smoke, "card": torch.cuda.get_device_name(), "gemm_peak_tflops": peaks,
               "material": "bundle (random-weight me5-small architecture)" if args.bundle else "me5-small",
               "extraction": rows, "clustering": lloyd, "kernels": metric_rows}
    path = common.write_result("gpu", payload, args.out)
    print(f"card: {payload['card']}, measured GEMM peak TFLOP/s: " +
          ", ".join(f"{k} {v:.1f}" for k, v in peaks.items()))
    print(common.markdown_table(rows, ["device", "dtype", "words", "words_s", "forward_only_words_s",
                                       "ratio_to_forward", "store_gb_s", "speedup_vs_cpu"]))
    print(common.markdown_table(lloyd, ["backend", "n", "k", "iterations", "s_per_iter", "tflops",
                                        "share_of_fp32_peak", "inertia_vs_torch", "skipped"]))
    print(common.markdown_table(metric_rows, sorted({c for r in metric_rows for c in r})))
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
