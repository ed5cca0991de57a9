"""The k-means backends behind :func:`engine.cluster.fit`, registered in :data:`RUNNERS`: our torch Lloyd loop,
scikit-learn (the reference), cuML and faiss. The config's allowed ``cluster.backend`` values and ``fit``'s
dispatch read the registry, so a backend is its runner and one line there.

Each runner takes a prepared :class:`RowSource` and the fit's settings and returns a :class:`BackendResult`.
The libraries cluster in memory, so the selected rows are materialised as float32 first (only ``torch``
streams).
cuML and faiss are imported when used; when they cannot be used a :class:`BackendUnavailableError` says why
and what to install.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.cluster.source import RowSource
from engine.errors import BackendUnavailableError

log = logging.getLogger(__name__)

CUML_INSTALL = ("install RAPIDS cuML matching the CUDA of torch (`pip install 'babelscope[gpu-cu13]'`: cuml-cu13, "
                "beside torch 2.10+; `babelscope[gpu-cu12]`: cuml-cu12, beside a CUDA 12 torch)")
FAISS_INSTALL = "install faiss (`pip install 'babelscope[faiss]'` for faiss-cpu; faiss-gpu-cu12 for GPUs)"


@dataclass
class BackendResult:
    """What a backend returns (labels int32 [n], centroids float32 [k, d])."""

    labels: np.ndarray
    centroids: np.ndarray
    inertia: float
    n_iter: int
    converged: bool | None = None
    info: dict[str, Any] = field(default_factory=dict)


def import_cuml() -> Any:
    """``cuml`` or a :class:`BackendUnavailableError` naming the reason and the install."""
    try:
        import cuml
    except Exception as exc:  # ImportError, or CUDA runtime errors raised at import
        raise BackendUnavailableError(f"backend 'cuml' of fit is unavailable: import cuml failed "
                                      f"({type(exc).__name__}: {exc}); {CUML_INSTALL}") from exc
    return cuml


def import_faiss() -> Any:
    """``faiss`` or a :class:`BackendUnavailableError` naming the reason and the install."""
    try:
        import faiss
    except Exception as exc:
        raise BackendUnavailableError(f"backend 'faiss' of fit is unavailable: import faiss failed "
                                      f"({type(exc).__name__}: {exc}); {FAISS_INSTALL}") from exc
    return faiss


def cuml_usable() -> tuple[bool, str]:
    """Whether cuML imports (checked lazily, for ``auto``), with the reason when it does not."""
    try:
        import_cuml()
    except BackendUnavailableError as exc:
        return False, str(exc)
    return True, "cuml imported"


def faiss_gpu_count() -> int:
    """GPUs faiss can use (0 when faiss is CPU-only); raises when faiss is not installed."""
    faiss = import_faiss()
    return int(faiss.get_num_gpus()) if hasattr(faiss, "get_num_gpus") else 0


def run_torch(source: RowSource, k: int, *, seed: int, init: str | np.ndarray, n_init: int, max_iter: int,
              tol: float, variance: float, device: Any, prune: bool, **_: Any) -> BackendResult:
    """Our Lloyd loop (:mod:`engine.cluster.torch_kmeans`) on CPU or CUDA; streams rows that do not fit the
    memory budget. ``tol`` is relative to the mean per-feature ``variance``, as sklearn takes it."""
    from engine.cluster.parallel import block_parallel
    from engine.cluster.torch_kmeans import torch_kmeans

    with block_parallel(device):
        res = torch_kmeans(source, k, seed=seed, init=init, n_init=n_init, max_iter=max_iter, tol=tol * variance,
                           device=device, prune=prune)
    info = {"init_seconds": round(res.init_seconds, 4), "iter_seconds": [round(t, 5) for t in res.iter_seconds],
            "recomputed": [round(s, 4) for s in res.recomputed], "streamed": source.streamed, "prune": prune}
    return BackendResult(res.labels, res.centroids, res.inertia, res.n_iter, res.converged, info)


def run_sklearn(source: RowSource, k: int, *, seed: int, init: str | np.ndarray, n_init: int, max_iter: int,
                tol: float, **_: Any) -> BackendResult:
    """scikit-learn ``KMeans`` (Lloyd, ``random_state=seed``); ``tol`` relative, as sklearn takes it."""
    from sklearn.cluster import KMeans

    data = source.materialize()
    if isinstance(init, str) and init != "k-means++":
        log.info("sklearn has no %r initialisation; using its k-means++", init)
    start: Any = init if isinstance(init, np.ndarray) else "k-means++"
    model = KMeans(n_clusters=k, init=start, n_init=n_init, max_iter=max_iter, tol=tol, random_state=seed,
                   algorithm="lloyd", copy_x=True)
    model.fit(data)
    return BackendResult(model.labels_.astype(np.int32), model.cluster_centers_.astype(np.float32),
                         float(model.inertia_), int(model.n_iter_), int(model.n_iter_) < max_iter)


CUML_STARTS = {"k-means++": "scalable-k-means++", "k-means||": "scalable-k-means++", "random": "random"}


def cuml_options(k: int, *, seed: int, init: str | np.ndarray, max_iter: int, tol: float,
                 variance: float) -> dict[str, Any]:
    """cuML ``KMeans`` keywords for our fit: its own seeded starts are ``scalable-k-means++`` (k-means||) and
    ``random`` (it has no greedy k-means++, so that name maps to k-means||), or explicit centres; and the same
    stopping rule as the torch loop: cuVS stops on the summed squared centre shift, an absolute value, so it gets
    ``tol`` scaled by the mean per-feature variance, as torch does (scikit-learn scales internally)."""
    start: Any = init if isinstance(init, np.ndarray) else CUML_STARTS.get(init, "scalable-k-means++")
    return {"n_clusters": k, "init": start, "max_iter": max_iter, "tol": tol * variance, "random_state": seed}


def run_cuml(source: RowSource, k: int, *, seed: int, init: str | np.ndarray, n_init: int, max_iter: int,
             tol: float, variance: float, **_: Any) -> BackendResult:
    """cuML ``KMeans`` on the current GPU, labels and inertia from the fit itself (no extra passes)."""
    cuml = import_cuml()
    options = cuml_options(k, seed=seed, init=init, max_iter=max_iter, tol=tol, variance=variance)
    model = cuml.KMeans(n_init=1 if isinstance(init, np.ndarray) else n_init, output_type="numpy", **options)
    model.fit(source.materialize())
    labels = np.asarray(model.labels_, dtype=np.int32)
    n_iter = int(getattr(model, "n_iter_", -1))
    return BackendResult(labels, np.asarray(model.cluster_centers_, dtype=np.float32), float(model.inertia_),
                         n_iter, None if n_iter < 0 else n_iter < max_iter, {"cuml_init": str(options["init"])[:40]})


def run_faiss(source: RowSource, k: int, *, seed: int, init: str | np.ndarray, n_init: int, max_iter: int,
              device: Any, **_: Any) -> BackendResult:
    """faiss ``Kmeans`` on all rows (no subsampling), at most ``max_iter`` iterations (faiss has its own stop
    rule and splits clusters to refill empty ones, so it need not follow sklearn's trajectory); on the GPU when
    ``device`` is CUDA."""
    faiss = import_faiss()
    use_gpu = device.type == "cuda"
    if use_gpu and not faiss_gpu_count():
        raise BackendUnavailableError("backend 'faiss' of fit on CUDA needs a GPU build of faiss "
                                      f"(this faiss sees no GPU); {FAISS_INSTALL}")
    data = np.ascontiguousarray(source.materialize(), dtype=np.float32)
    model = faiss.Kmeans(source.d, k, niter=max_iter, nredo=n_init, seed=seed, gpu=use_gpu, verbose=False,
                         max_points_per_centroid=max(256, -(-source.n // k) + 1), min_points_per_centroid=1)
    if isinstance(init, np.ndarray):
        model.train(data, init_centroids=np.ascontiguousarray(init, dtype=np.float32))
    else:
        if init not in ("auto", "random"):
            log.info("faiss ignores init=%r (it starts from random rows)", init)
        model.train(data)
    distances, labels = model.index.search(data, 1)
    n_iter = len(getattr(model, "obj", ())) or max_iter  # recent faiss stops early (early_stop_threshold)
    return BackendResult(labels[:, 0].astype(np.int32), np.asarray(model.centroids, dtype=np.float32),
                         float(distances[:, 0].astype(np.float64).sum()), n_iter, n_iter < max_iter)


#: backend name -> runner ``(source, k, *, seed, init, n_init, max_iter, tol, variance, device, prune,
#: dask_client) -> BackendResult`` (a runner takes the keywords it needs)
RUNNERS: dict[str, Any] = {"torch": run_torch, "sklearn": run_sklearn, "cuml": run_cuml, "faiss": run_faiss}
BACKENDS = ("auto", *RUNNERS)  # the values of fit(backend=...) and of the config's cluster.backend
