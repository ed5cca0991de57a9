"""Clusterings in the store: ``clusters/{model}/{side}/layer_{i}/{space}/k{K}/{labels,centroids}``.

``labels`` int32 [n_selected] are row-aligned with the clustered rows: for a language space, the selection's
rows (or all activation rows without a selection); for ``joint-{a}-{b}``, the rows of ``a`` then those of
``b`` (attrs ``parts`` gives each language's count). ``centroids`` float32 [K, d]. attrs: backend, seed, K,
inertia, n_iter, seconds, device, selection, params; ``complete`` is written last.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine import __version__
from engine.cluster.api import Clustering, fit
from engine.errors import ConfigError, StoreError, param_message
from engine.faults import failpoint
from engine.store import layout
from engine.store.core import WRITE_ALL_CHUNKS, checked, open_activations, open_store

log = logging.getLogger(__name__)


@dataclass
class Part:
    """One language's share of a clustered space."""

    lang: str
    rows: np.ndarray | None  # int64 row indices into activations (None = all rows)
    n: int


def space_name(langs: list[str]) -> str:
    """``en`` for one language, ``joint-en-de`` for two."""
    if len(langs) == 1:
        return langs[0]
    if len(langs) == 2:
        return layout.joint_space(langs[0], langs[1])
    raise ConfigError(param_message("langs", "cluster_space", "one or two languages", langs))


def selection_rows(root: Any, selection: str, model: str, side: str, lang: str) -> np.ndarray:
    """The int64 row indices of a stored selection (refuses an incomplete one)."""
    name = layout.selection_path(selection, model, side, lang)
    if name not in root or "rows" not in root[name]:
        raise StoreError(f"store has no selection {name!r} (run the selection stage first)")
    group = root[name]
    if group.attrs.get("complete") is False:
        raise StoreError(f"selection {name!r} is incomplete; re-run the selection stage")
    return np.asarray(group["rows"][:], dtype=np.int64)


def write_clustering(root: Any, clustering: Clustering, *, model: str, side: str, layer: int, space: str,
                     selection: str | None = None, parts: list[Part] | None = None,
                     extra_attrs: dict[str, Any] | None = None) -> str:
    """Write ``clustering`` at its layout path (replacing what is there); return the group name."""
    name = layout.clusters_path(model, side, layer, space, clustering.k)
    if name in root:
        del root[name]
    group = root.require_group(name)
    group.attrs["complete"] = False
    n, k = clustering.n, clustering.k
    labels = group.create_array("labels", shape=(n,), dtype="int32", chunks=(max(1, min(n, 1 << 20)),),
                                compressors=checked(), config=WRITE_ALL_CHUNKS)
    labels[:] = clustering.labels.astype(np.int32)
    failpoint("cluster.write")
    centroids = group.create_array("centroids", shape=clustering.centroids.shape, dtype="float32",
                                   chunks=clustering.centroids.shape, compressors=checked(),
                                   config=WRITE_ALL_CHUNKS)
    centroids[:] = clustering.centroids.astype(np.float32)
    group.attrs.update({
        "model": model, "side": side, "layer": layer, "space": space, "K": k, "n": n,
        "backend": clustering.backend, "seed": clustering.params.get("seed"), "inertia": clustering.inertia,
        "n_iter": clustering.n_iter, "converged": clustering.converged, "seconds": round(clustering.seconds, 4),
        "device": clustering.device, "selection": selection, "params": clustering.params,
        "parts": [{"lang": p.lang, "n": p.n} for p in parts or []], "engine_version": __version__,
        **(extra_attrs or {}),
    })
    group.attrs["complete"] = True
    log.info("wrote %s (n=%d, K=%d, backend %s)", name, n, k, clustering.backend)
    return name


@dataclass
class StoredClustering:
    """A clustering read back from the store, with its attrs."""

    clustering: Clustering
    attrs: dict[str, Any]


def read_clustering(root: Any, *, model: str, side: str, layer: int, space: str, k: int) -> StoredClustering:
    """Read a complete clustering; refuses a missing or incomplete one."""
    name = layout.clusters_path(model, side, layer, space, k)
    if name not in root:
        raise StoreError(f"store has no clustering {name!r}")
    group = root[name]
    attrs = dict(group.attrs)
    if not attrs.get("complete"):
        raise StoreError(f"clustering {name!r} is incomplete (interrupted run?); cluster again")
    clustering = Clustering(np.asarray(group["labels"][:]), np.asarray(group["centroids"][:]),
                            float(attrs["inertia"]), int(attrs["n_iter"]), str(attrs["backend"]),
                            float(attrs["seconds"]), str(attrs.get("device", "cpu")), attrs.get("converged"),
                            dict(attrs.get("params", {})))
    return StoredClustering(clustering, attrs)


def space_parts(root: Any, *, model: str, side: str, layer: int, langs: list[str],
                selection: str | None) -> list[tuple[Any, Part]]:
    """(activation array of ``layer``, Part) for each language of a space."""
    out = []
    for lang in langs:
        group = open_activations(root, model, side, lang)
        layer_key = layout.layer_name(layer)
        if layer_key not in group:
            raise StoreError(f"activations {layout.activations_path(model, side, lang)!r} have no {layer_key} "
                             f"(extracted layers: {group.attrs.get('layers')})")
        array = group[layer_key]
        rows = None if selection is None else selection_rows(root, selection, model, side, lang)
        out.append((array, Part(lang, rows, int(array.shape[0]) if rows is None else len(rows))))
    return out


def cluster_space(store: str | Path, *, model: str, side: str, layer: int, langs: list[str], k: int,
                  selection: str | None = None, method: str = "kmeans", **options: Any) -> StoredClustering:
    """Stage: cluster one model × side × layer × space from the store and write the result back.

    ``langs``: one language, or two for the joint space. ``selection``: name of a stored selection (None =
    all rows). ``method``: ``kmeans`` (``options`` go to :func:`engine.cluster.fit`) or ``ward``
    (``options`` go to :func:`engine.cluster.agglomerative.ward`). Returns what was written.
    """
    if method not in ("kmeans", "ward"):
        raise ConfigError(param_message("method", "cluster_space", "one of kmeans, ward", method))
    if not isinstance(langs, list) or not langs or not all(isinstance(x, str) for x in langs):
        raise ConfigError(param_message("langs", "cluster_space", "a list of one or two language codes", langs))
    space = space_name(langs)
    root = open_store(store, mode="r+")
    pairs = space_parts(root, model=model, side=side, layer=layer, langs=langs, selection=selection)
    source = [(array, part.rows) for array, part in pairs]
    if method == "ward":
        from engine.cluster.agglomerative import ward

        clustering = ward(source, k, **options)
    else:
        clustering = fit(source, k, **options)
    parts = [part for _, part in pairs]
    write_clustering(root, clustering, model=model, side=side, layer=layer, space=space, selection=selection,
                     parts=parts, extra_attrs={"method": method})
    return read_clustering(root, model=model, side=side, layer=layer, space=space, k=k)
