"""Clusterings in the store: ``clusters/{model}/{side}/layer_{i}/{space}/k{K}/{labels,centroids}``.

``labels`` int32 [n_selected] are row-aligned with the clustered rows: for a language space, the selection's
rows (or all activation rows without a selection); for a joint space, the rows of ``a`` then those of ``b``
(attrs ``parts`` gives each language's count). A row left out of the fit has the label -1 (the reference
mode's dropped last point; attrs ``n_dropped``). ``centroids`` float32 [K, d]. attrs: backend, seed, K,
inertia, n_iter, seconds, device, selection, params; ``complete`` is written last. The one stage that writes
them is :func:`engine.cluster.stage.cluster_space`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine import __version__
from engine.cluster.api import Clustering
from engine.store import layout
from engine.store.artefacts import CLUSTERING, read_artefact, write_artefact

log = logging.getLogger(__name__)

__all__ = ["Part", "StoredClustering", "read_clustering", "write_clustering"]


@dataclass
class Part:
    """One language's share of a clustered space."""

    lang: str
    rows: np.ndarray | None  # int64 row indices into activations (None = all rows)
    n: int


def write_clustering(root: Any, clustering: Clustering, *, model: str, side: str, layer: int, space: str,
                     selection: str | None = None, parts: list[Part] | None = None,
                     extra_attrs: dict[str, Any] | None = None, extra_seed: int | None = None) -> str:
    """Write ``clustering`` at its layout path (replacing what is there); return the group name.
    ``extra_seed``: a further seed of the seed spread (None: the run's first seed)."""
    name = layout.clusters_path(model, side, layer, space, clustering.k, extra_seed)
    n, k = clustering.n, clustering.k
    write_artefact(root, CLUSTERING, name, {"labels": clustering.labels, "centroids": clustering.centroids}, {
        "model": model, "side": side, "layer": layer, "space": space, "K": k, "n": n,
        "n_dropped": int(np.count_nonzero(clustering.labels < 0)),
        "backend": clustering.backend, "seed": clustering.params.get("seed"), "inertia": clustering.inertia,
        "n_iter": clustering.n_iter, "converged": clustering.converged, "seconds": round(clustering.seconds, 4),
        "device": clustering.device, "selection": selection, "params": clustering.params,
        "parts": [{"lang": p.lang, "n": p.n} for p in parts or []], "engine_version": __version__,
        **(extra_attrs or {}),
    })
    log.info("wrote %s (n=%d, K=%d, backend %s)", name, n, k, clustering.backend)
    return name


@dataclass
class StoredClustering:
    """A clustering read back from the store, with its attrs."""

    clustering: Clustering
    attrs: dict[str, Any]


def read_clustering(root: Any, *, model: str, side: str, layer: int, space: str, k: int,
                    extra_seed: int | None = None) -> StoredClustering:
    """Read a complete clustering; refuses a missing or incomplete one."""
    stored = read_artefact(root, CLUSTERING, layout.clusters_path(model, side, layer, space, k, extra_seed))
    attrs = stored.attrs
    clustering = Clustering(stored["labels"], stored["centroids"], float(attrs["inertia"]), int(attrs["n_iter"]),
                            str(attrs["backend"]), float(attrs["seconds"]), str(attrs.get("device", "cpu")),
                            attrs.get("converged"), dict(attrs.get("params", {})))
    return StoredClustering(clustering, attrs)
