"""K-means over word vectors with one API and several backends: :func:`fit` -> :class:`Clustering`.

Backends (``backend=``):

* ``sklearn`` — the reference: scikit-learn ``KMeans`` (Lloyd, k-means++, ``random_state=seed``). The released
  ConceptX code used ``random_state=212`` (our default seed, :data:`REFERENCE_SEED`).
* ``torch`` — our Lloyd loop (:mod:`engine.cluster.torch_kmeans`) on CPU or CUDA; streams row chunks from a
  Zarr array, so the rows need not fit in memory.
* ``cuml`` — RAPIDS cuML on one GPU (a run puts one clustering on each GPU worker; see engine.schedule).
* ``faiss`` — optional extra.
* ``auto`` — CPU: ``torch`` (benchmarks/bench_cluster.py on 21k me5 rows: from the same start a Lloyd
  iteration ran 1.0-1.65x faster than sklearn's at equal inertia over four runs, faiss 0.8-1.1x, the
  distance product running on oneDNN (:mod:`engine.gemm`); at whole-Bible sizes (n = 50k-200k, K = 400-1000)
  1.04-1.10x per iteration and 1.8-3.2x for a whole ``fit()``, benchmarks/results/cluster-full-size.md; it
  also streams and is reproducible across chunkings); CUDA: ``cuml`` for in-memory rows when it imports,
  else ``torch`` (not measured here: no GPU). The choice and any fallback are logged.

Data: float16 store rows are computed on in float32. Optional L2 normalisation and PCA whitening (off by
default, as in the reference); centroids are then in the transformed space.

Difference from the reference script: it clusters ``P[:-1]``, silently dropping the last point; we cluster
every selected row, so labels are row-aligned with the selection. :mod:`engine.cluster.reference` reproduces
the script's clustering, dropped point included, where that is wanted (``cluster.mode: reference``).
"""

from __future__ import annotations

import logging
import numbers
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.cluster import backends
from engine.cluster.source import RowSource, block_rows_for, fit_transform, is_zarr_array
from engine.errors import BackendUnavailableError, ConfigError, InputDataError, param_message

log = logging.getLogger(__name__)

REFERENCE_SEED = 212
BACKENDS = backends.BACKENDS
INITS = ("auto", "k-means++", "k-means||")
# init="auto": k-means|| from K = PARALLEL_INIT_K centres with at least PARALLEL_INIT_ROWS_PER_K rows each on
# average, or above PARALLEL_INIT_ROWS streamed rows; else greedy k-means++. Greedy k-means++ reads every row
# once per centre, so its share of a fit grows with K (measured on me5-small layer-6 rows, one thread: 35-49 % of
# the fit at n=100k, K=400; ~50 % at n=50k, K=1000); k-means|| (one K-sized candidate draw per round, 5 rounds)
# took 7-16 % there, final inertia within 0.5 % of scikit-learn's own k-means++ fit over 3 seeds
# (benchmarks/README.md). With few rows per centre, k-means++ is cheap anyway.
PARALLEL_INIT_K = 200
PARALLEL_INIT_ROWS_PER_K = 50
PARALLEL_INIT_ROWS = 100_000
# prune="auto": Hamerly pruning from PRUNE_ROWS rows (torch only). On the whole Bible's CALIGN space (n = 201,690,
# K = 400, 300 iterations, one thread) it halved the fit (148 s -> 71 s, identical inertia; 22 % of rows
# recomputed on average, 10 % in the last iterations); at 21k rows its bookkeeping ate the saving.
PRUNE_ROWS = 100_000


@dataclass
class Clustering:
    """A clustering of n rows into k clusters."""

    labels: np.ndarray  # int32 [n], row-aligned with the source rows
    centroids: np.ndarray  # float32 [k, d] (in the transformed space when normalize/whiten)
    inertia: float  # sum of squared distances of rows to their centroid
    n_iter: int  # Lloyd iterations of the kept run (-1: unknown, 0: not iterative)
    backend: str
    seconds: float  # wall time of the whole fit
    device: str = "cpu"
    converged: bool | None = None
    params: dict[str, Any] = field(default_factory=dict)  # seed, k, init, n_init, tol, normalize, whiten, ...
    info: dict[str, Any] = field(default_factory=dict)  # timings and backend details

    @property
    def k(self) -> int:
        return int(self.centroids.shape[0])

    @property
    def n(self) -> int:
        return int(self.labels.shape[0])


SourceLike = Any  # np.ndarray [n, d] | zarr.Array [N, d] | Sequence[tuple[array, rows | None]]


def as_parts(source: SourceLike, rows: Any, owner: str) -> list[tuple[Any, np.ndarray | None]]:
    """Validate ``source``/``rows`` into ``[(array [N, d], rows [n] int64 | None), ...]``."""
    if isinstance(source, np.ndarray) or is_zarr_array(source):
        raw = [(source, rows)]
    elif isinstance(source, Sequence) and not isinstance(source, str) and source and all(
            isinstance(p, tuple) and len(p) == 2 for p in source):
        if rows is not None:
            raise ConfigError(param_message("rows", owner, "None when source is a list of (array, rows) parts",
                                            "an array"))
        raw = list(source)
    else:
        raise ConfigError(param_message("source", owner, "a NumPy array [n, d], a zarr.Array [N, d] or a list of "
                                        "(array, rows) pairs", type(source).__name__))
    parts, dims = [], set()
    for array, picked in raw:
        if not (isinstance(array, np.ndarray) or is_zarr_array(array)) or len(array.shape) != 2:
            raise ConfigError(param_message("source", owner, "2-D arrays [n, d]",
                                            getattr(array, "shape", type(array).__name__)))
        if not np.issubdtype(np.dtype(array.dtype), np.floating):
            raise ConfigError(param_message("source", owner, "a floating-point array", str(array.dtype)))
        dims.add(int(array.shape[1]))
        parts.append((array, None if picked is None else _rows(picked, int(array.shape[0]), owner)))
    if len(dims) != 1:
        raise ConfigError(param_message("source", owner, "parts of one width", sorted(dims)))
    return parts


def _rows(rows: Any, n_total: int, owner: str) -> np.ndarray:
    """Row indices as int64 [n], each in [0, n_total)."""
    rows = np.asarray(rows)
    if rows.ndim != 1 or not (np.issubdtype(rows.dtype, np.integer) or rows.size == 0):
        raise ConfigError(param_message("rows", owner, "a 1-D array of integer row indices",
                                        f"{rows.dtype} array of shape {rows.shape}"))
    rows = rows.astype(np.int64)
    if rows.size and (rows.min() < 0 or rows.max() >= n_total):
        raise InputDataError(f"rows of {owner} must lie in [0, {n_total}) (rows of the array); "
                             f"got min={int(rows.min())}, max={int(rows.max())}")
    return rows


def check_int(value: Any, name: str, owner: str, low: int) -> int:
    """``value`` as an int (bools refused) when it is an integer >= ``low``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ConfigError(param_message(name, owner, f"an integer >= {low}", value))
    return int(value)


def check_k(k: Any, n: int, owner: str = "fit") -> int:
    """``k`` must be a positive integer no larger than the number of points."""
    k = check_int(k, "K", owner, 1)
    if k > n:
        raise ConfigError(f"K={k} must be <= number of points={n}")
    return k


def resolve_cluster_device(spec: Any, owner: str = "fit") -> Any:
    """``auto | cpu | cuda[:i]`` -> ``torch.device``; CUDA asked for but absent raises BackendUnavailableError."""
    import torch

    from engine.device import resolve_device

    if not isinstance(spec, str) or not re.fullmatch(r"auto|cpu|cuda(:\d+)?", spec):
        raise ConfigError(param_message("device", owner, "one of auto, cpu, cuda, cuda:N", spec))
    if spec.startswith("cuda") and not torch.cuda.is_available():
        raise BackendUnavailableError(f"device={spec!r} of {owner} needs a CUDA GPU, but torch.cuda.is_available() "
                                      f"is False (CPU-only torch build or no driver); use device='cpu', or "
                                      f"install a CUDA build of torch on a GPU machine")
    return resolve_device(spec)


def choose_backend(backend: str, device: Any, source: RowSource) -> str:
    """Resolve ``auto`` (logging the choice and why); explicit names pass through."""
    if backend != "auto":
        return backend
    if device.type == "cuda":
        usable, reason = backends.cuml_usable()
        if usable and not source.streamed:
            log.info("backend auto -> cuml (CUDA, rows in memory)")
            return "cuml"
        why = "rows are streamed from Zarr (only torch streams)" if usable else reason
        log.info("backend auto -> torch on %s (cuml not used: %s)", device, why)
        return "torch"
    log.info("backend auto -> torch on cpu (whole fit as fast as sklearn or faster, streams, reproducible)")
    return "torch"


def fit(source: SourceLike, k: int, *, rows: Any = None, seed: int = REFERENCE_SEED, backend: str = "auto",
        device: str = "auto", n_init: int = 1, max_iter: int = 300, tol: float = 1e-4,
        init: str | np.ndarray = "auto", normalize: bool = False, whiten: bool | int = False,
        chunk_rows: int = 4096, prune: bool | str = "auto") -> Clustering:
    """Cluster the rows of ``source`` into ``k`` clusters with k-means.

    source: NumPy [n, d] (any float dtype), a zarr.Array [N, d] with optional ``rows`` (int64 [n] indices;
    read once when within the memory budget, else streamed by ``torch`` and never loaded whole; see
    :mod:`engine.cluster.source`), or a list of ``(array, rows | None)`` parts concatenated in
    order (a joint space of several languages). ``tol`` is relative to the mean per-feature variance, as in
    scikit-learn. ``init``: ``auto`` (k-means|| from K = 200 with 50 rows a centre, or for more than 100k
    streamed rows, else greedy k-means++; see ``PARALLEL_INIT_K``) | ``k-means++`` | ``k-means||`` | float
    array [k, d] of initial centres (then a single run); the torch backend runs the seeded starts itself,
    sklearn and cuML theirs. ``whiten``: False, True, or the number of principal components to keep.
    ``prune`` (torch only): skip rows whose nearest centre provably did not move (Hamerly bounds; the same
    iterates up to float rounding at near-ties). ``auto``: from ``PRUNE_ROWS`` rows, where it halves a fit;
    below, most rows of 384-d word vectors sit near a boundary and the saving does not pay its bookkeeping.
    Returns labels int32 [n], centroids float32 [k, d], inertia, n_iter, backend, seconds.
    """
    started = time.perf_counter()
    parts = as_parts(source, rows, "fit")
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise ConfigError(param_message("backend", "fit", "one of " + ", ".join(BACKENDS), backend))
    seed = check_int(seed, "seed", "fit", 0)
    n_init = check_int(n_init, "n_init", "fit", 1)
    max_iter = check_int(max_iter, "max_iter", "fit", 1)
    chunk_rows = check_int(chunk_rows, "chunk_rows", "fit", 1)
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not tol >= 0:
        raise ConfigError(param_message("tol", "fit", "a number >= 0", tol))
    if not isinstance(normalize, bool):
        raise ConfigError(param_message("normalize", "fit", "True or False", normalize))
    if not isinstance(prune, bool) and prune != "auto":
        raise ConfigError(param_message("prune", "fit", "True, False or 'auto'", prune))
    src = RowSource(parts, chunk_rows=chunk_rows)
    if not isinstance(whiten, bool):
        check_int(whiten, "whiten", "fit", 1)
        if whiten > src.raw_dim:
            raise ConfigError(param_message("whiten", "fit", f"True, False or a component count <= d={src.raw_dim}",
                                            whiten))
    k = check_k(k, src.n)
    _check_init(init, k, src, whiten)
    torch_device = resolve_cluster_device(device)
    name = choose_backend(backend, torch_device, src)
    init_name = _resolve_init(init, k, src, name)
    prune = (name == "torch" and src.n >= PRUNE_ROWS) if prune == "auto" else prune
    if name == "sklearn" and torch_device.type != "cpu":
        if device != "auto":
            raise ConfigError(param_message("device", "fit", "'cpu' or 'auto' for backend 'sklearn' "
                                            "(scikit-learn runs on the CPU)", device))
        torch_device = _cpu()
    if name == "faiss" and torch_device.type == "cuda" and device == "auto" and not backends.faiss_gpu_count():
        log.info("faiss has no GPU support here: running faiss on the CPU")
        torch_device = _cpu()
    if name == "cuml" and torch_device.type != "cuda":
        raise BackendUnavailableError("backend 'cuml' of fit needs a CUDA device; got device="
                                      f"{str(torch_device)!r}; {backends.CUML_INSTALL} on a GPU machine")
    return _fit(src, k, name, torch_device, init, init_name, started, seed=seed,
                n_init=n_init, max_iter=max_iter, tol=float(tol), normalize=normalize, whiten=whiten,
                chunk_rows=chunk_rows, prune=prune)


def _cpu() -> Any:
    import torch

    return torch.device("cpu")


def _check_init(init: Any, k: int, src: RowSource, whiten: bool | int) -> None:
    if isinstance(init, np.ndarray):
        d = src.raw_dim if whiten is False else (src.raw_dim if whiten is True else int(whiten))
        if init.shape != (k, d) or not np.all(np.isfinite(init)):
            raise ConfigError(param_message("init", "fit", f"a finite array of shape (K={k}, d={d})",
                                            f"array of shape {init.shape}"))
    elif not isinstance(init, str) or init not in INITS:
        raise ConfigError(param_message("init", "fit", "one of " + ", ".join(INITS) + " or an array [K, d]", init))


def _resolve_init(init: Any, k: int, src: RowSource, backend: str) -> str:
    """The start a fit makes (recorded in its params): ``array``, or the seeded method ``auto`` resolves to for
    ``backend`` (scikit-learn seeds itself with k-means++, faiss with random rows, cuML with k-means||)."""
    if isinstance(init, np.ndarray):
        return "array"
    if init != "auto":
        return init
    if backend == "torch":
        parallel = (k >= PARALLEL_INIT_K and src.n >= PARALLEL_INIT_ROWS_PER_K * k) or \
            (src.streamed and src.n > PARALLEL_INIT_ROWS)
        return "k-means||" if parallel else "k-means++"
    return {"cuml": "k-means||", "faiss": "random"}.get(backend, "k-means++")


def _fit(src: RowSource, k: int, name: str, device: Any, init: Any, init_name: str, started: float, *,
         seed: int, n_init: int, max_iter: int, tol: float, normalize: bool,
         whiten: bool | int, chunk_rows: int, prune: bool) -> Clustering:
    """Worker of :func:`fit`: inputs are validated."""
    from engine.cluster.parallel import block_parallel

    with block_parallel(device):
        variance = fit_transform(src, normalize=normalize, whiten=whiten, block_rows=block_rows_for(k))
    start = init if isinstance(init, np.ndarray) else init_name
    if isinstance(init, np.ndarray) and n_init != 1:
        log.info("explicit initial centres: one run (n_init=%d ignored)", n_init)
        n_init = 1
    result = backends.RUNNERS[name](src, k, seed=seed, init=start, n_init=n_init, max_iter=max_iter, tol=tol,
                                    variance=variance, device=device, prune=prune)
    seconds = time.perf_counter() - started
    params = {"k": k, "seed": seed, "init": init_name, "n_init": n_init, "max_iter": max_iter, "tol": tol,
              "normalize": normalize, "whiten": whiten, "chunk_rows": chunk_rows, "n": src.n, "d": src.d,
              "prune": prune}
    log.info("k-means %s on %s: n=%d d=%d K=%d inertia %.6g, %d iterations, %.2f s", name, device, src.n, src.d,
             k, result.inertia, result.n_iter, seconds)
    return Clustering(result.labels, result.centroids, result.inertia, result.n_iter, name, seconds, str(device),
                      result.converged, params, result.info)
