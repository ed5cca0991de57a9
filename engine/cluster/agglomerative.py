"""Agglomerative Ward clustering (scikit-learn, what ConceptX uses), behind an explicit memory guard.

Without a connectivity graph scikit-learn's Ward runs SciPy's ``linkage(X, "ward")``, which holds the
condensed pairwise distance matrix: ``8 * n * (n - 1) / 2`` bytes of float64, plus a float64 copy of the data.
That is O(n²): 100 000 points already need ~37 GiB. :func:`ward` estimates it first and refuses above the
limit with the numbers and the alternatives, instead of letting the machine swap or the process be killed.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import numpy as np

from engine.cluster.api import Clustering, SourceLike, as_parts, check_k
from engine.cluster.source import RowSource, block_rows_for, fit_transform
from engine.errors import ConfigError, param_message

log = logging.getLogger(__name__)

WARD_MEMORY_FRACTION = 0.5  # default limit: this share of the memory available now


def ward_memory_bytes(n: int, d: int) -> int:
    """Estimated peak bytes of Ward on n points of width d (condensed distances + float64 data copy)."""
    return 8 * n * (n - 1) // 2 + 8 * n * d


def available_memory_bytes() -> int:
    """Memory available to this process now (physical pages free + reclaimable, per the OS)."""
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 8 << 30


def ward_guard(n: int, d: int, memory_limit: int | None = None) -> None:
    """Refuse Ward on ``n`` points when its estimated memory exceeds ``memory_limit`` bytes."""
    limit = int(available_memory_bytes() * WARD_MEMORY_FRACTION) if memory_limit is None else int(memory_limit)
    need = ward_memory_bytes(n, d)
    if need > limit:
        raise ConfigError(
            f"Ward clustering of n={n} points (d={d}) needs about {need / 2**30:.2f} GiB (O(n^2) pairwise "
            f"distances), over the limit of {limit / 2**30:.2f} GiB; alternatives: k-means "
            f"(engine.cluster.fit, backend 'torch' streams from the store), a smaller selection (fewer "
            f"occurrences per word type), or a higher memory_limit on a larger machine"
        )


def ward(source: SourceLike, k: int, *, rows: Any = None, normalize: bool = False, whiten: bool | int = False,
         memory_limit: int | None = None, chunk_rows: int = 4096) -> Clustering:
    """Ward agglomerative clustering into ``k`` clusters (sklearn ``AgglomerativeClustering``).

    source/rows as for :func:`engine.cluster.fit`. ``memory_limit``: bytes allowed for the O(n²) distance
    matrix (default half the memory available now). Centroids are the cluster means; inertia their
    within-cluster sum of squares; ``n_iter`` is 0 (not iterative). Deterministic: no seed.
    """
    started = time.perf_counter()
    parts = as_parts(source, rows, "ward")
    src = RowSource(parts, chunk_rows=chunk_rows)
    k = check_k(k, src.n, "ward")
    if memory_limit is not None and (isinstance(memory_limit, bool) or not isinstance(memory_limit, int)
                                     or memory_limit < 0):
        raise ConfigError(param_message("memory_limit", "ward", "a number of bytes >= 0", memory_limit))
    ward_guard(src.n, src.raw_dim, memory_limit)
    return _ward(src, k, normalize, whiten, started)


def _ward(src: RowSource, k: int, normalize: bool, whiten: bool | int, started: float) -> Clustering:
    from sklearn.cluster import AgglomerativeClustering

    fit_transform(src, normalize=normalize, whiten=whiten, block_rows=block_rows_for(k))
    data = src.materialize()
    labels = AgglomerativeClustering(n_clusters=k, linkage="ward").fit(data).labels_.astype(np.int32)
    counts = np.bincount(labels, minlength=k).astype(np.float64)
    sums = np.zeros((k, data.shape[1]), dtype=np.float64)
    np.add.at(sums, labels, data)
    centroids = (sums / counts[:, None]).astype(np.float32)
    inertia = float(((data - centroids[labels]).astype(np.float64) ** 2).sum())
    seconds = time.perf_counter() - started
    log.info("ward: n=%d d=%d K=%d inertia %.6g, %.2f s", src.n, src.d, k, inertia, seconds)
    params = {"k": k, "linkage": "ward", "normalize": normalize, "whiten": whiten, "n": src.n, "d": src.d}
    return Clustering(labels, centroids, inertia, 0, "ward", seconds, "cpu", True, params)
