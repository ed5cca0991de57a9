"""The cluster stage, the only writer of clusterings: one model × side × layer × space from the store, back
into the store at ``layout.clusters_path(model, side, layer, layout.cluster_space(langs, selection), K)``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from engine.cluster.api import fit
from engine.cluster.store import Part, StoredClustering, read_clustering, write_clustering
from engine.errors import ConfigError, param_message
from engine.store import layout
from engine.store.artefacts import activation_layer, selected_rows
from engine.store.core import open_store

log = logging.getLogger(__name__)

__all__ = ["METHODS", "cluster_space", "fit_options", "labels_of", "space_parts"]

METHODS = ("kmeans", "ward", "reference")


def fit_options(spec: Any, seed: int | None = None) -> dict[str, Any]:
    """``method`` and its keywords for :func:`cluster_space` from a config's ``cluster`` section (``ks`` aside):
    ``kmeans`` with :func:`engine.cluster.fit`'s, or ``reference`` (``cluster.mode``) with its seed only.
    ``seed``: one of the seed spread's (default: ``spec.seed``)."""
    seed = spec.seed if seed is None else seed
    if spec.mode == "reference":
        return {"method": "reference", "seed": seed}
    return {"method": "kmeans", "seed": seed, "backend": spec.backend, "device": spec.device, "n_init": spec.n_init,
            "max_iter": spec.max_iter, "tol": spec.tol, "normalize": spec.normalize, "whiten": spec.whiten,
            "prune": spec.prune}


def space_parts(root: Any, *, model: str, side: str, layer: int, langs: list[str],
                selection: str | None) -> list[tuple[Any, Part]]:
    """(activation array of ``layer``, Part) for each language of a space."""
    out = []
    for lang in langs:
        array = activation_layer(root, model, side, lang, layer)
        rows = None if selection is None else selected_rows(root, selection, model, side, lang)
        out.append((array, Part(lang, rows, int(array.shape[0]) if rows is None else len(rows))))
    return out


def cluster_space(store: str | Path | Any, *, model: str, side: str, layer: int, langs: list[str], k: int,
                  selection: str | None = None, method: str = "kmeans", extra_attrs: dict[str, Any] | None = None,
                  extra_seed: int | None = None, **options: Any) -> StoredClustering:
    """Stage: cluster one model × side × layer × space from the store and write the result back.

    ``store``: a store path or an open (``r+``) store group. ``langs``: one language, or two for the joint
    space. ``selection``: name of a stored selection (None = all rows). ``method``: ``kmeans`` (``options``
    go to :func:`engine.cluster.fit`), ``ward`` (to :func:`engine.cluster.agglomerative.ward`) or ``reference``
    (to :func:`engine.cluster.reference.fit_reference`). ``extra_attrs`` are stored with the clustering;
    ``extra_seed`` names a further seed of the seed spread (stored beside the first seed's). Returns what was
    written.
    """
    if method not in METHODS:
        raise ConfigError(param_message("method", "cluster_space", f"one of {', '.join(METHODS)}", method))
    if not isinstance(langs, list) or not 1 <= len(langs) <= 2 or not all(isinstance(x, str) for x in langs):
        raise ConfigError(param_message("langs", "cluster_space", "a list of one or two language codes", langs))
    root = open_store(store, mode="r+") if isinstance(store, str | Path) else store
    space = layout.cluster_space(langs, selection)
    pairs = space_parts(root, model=model, side=side, layer=layer, langs=langs, selection=selection)
    source = [(array, part.rows) for array, part in pairs]
    if method == "ward":
        from engine.cluster.agglomerative import ward

        clustering = ward(source, k, **options)
    elif method == "reference":
        from engine.cluster.reference import fit_reference

        clustering = fit_reference(source, k, **options)
    else:
        clustering = fit(source, k, **options)
    write_clustering(root, clustering, model=model, side=side, layer=layer, space=space, selection=selection,
                     parts=[part for _, part in pairs], extra_attrs={"method": method, **(extra_attrs or {})},
                     extra_seed=extra_seed)
    return read_clustering(root, model=model, side=side, layer=layer, space=space, k=k, extra_seed=extra_seed)


def space_size(root: Any, *, model: str, side: str, layer: int, langs: list[str], selection: str | None) -> int:
    """How many points a space has (rows of its selection, or every activation row)."""
    return sum(part.n for _, part in space_parts(root, model=model, side=side, layer=layer, langs=langs,
                                                        selection=selection))


def labels_of(root: Any, *, model: str, side: str, layer: int, langs: list[str], k: int,
              selection: str | None, extra_seed: int | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    """int64 labels [n] of a stored clustering of a space (-1: a row left out of the fit), and its attrs (for
    the metrics)."""
    stored = read_clustering(root, model=model, side=side, layer=layer, space=layout.cluster_space(langs, selection),
                             k=k, extra_seed=extra_seed)
    return np.asarray(stored.clustering.labels, dtype=np.int64), stored.attrs
