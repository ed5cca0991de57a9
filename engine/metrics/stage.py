"""The metrics stage: every registered metric of one model × side pair × layer × language pair × K, from the
clusterings, selections and dictionaries in the store, as rows of the run's ``results`` and ``curves`` tables.

CALIGN also stores its per-cluster alignment (:mod:`engine.metrics.store`), which the concept browser shows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.cluster.stage import labels_of
from engine.dictionary.store import read_store_dictionary
from engine.metrics import registry
from engine.metrics.calign import calign
from engine.metrics.clusters import TypeClusters
from engine.metrics.colap import colap
from engine.metrics.rows import calign_rows, colap_rows, jsonable_rows
from engine.metrics.store import alignment_stored, write_alignment
from engine.select.store import read_selection
from engine.store import layout
from engine.store.core import read_strings

log = logging.getLogger(__name__)

__all__ = ["MeasureUnit", "measure_calign", "measure_colap", "measure_pair", "measured", "stores_alignment"]

Rows = list[dict[str, Any]]


@dataclass(frozen=True)
class MeasureUnit:
    """What one metrics task measures: a model × (source side, target side) × layer × pair × K."""

    model: str
    sides: tuple[str, str]
    layer: int
    src: str
    tgt: str
    k: int
    extra_seed: int | None = None  # a further seed of the seed spread (None: the run's first seed)

    @property
    def side(self) -> str:
        """The tables' ``side``: the side, or ``{src_side}-{tgt_side}`` across two."""
        return registry.side_label(self.sides)

    def row_key(self) -> dict[str, Any]:
        return {"model": self.model, "side": self.side, "layer": self.layer, "src": self.src, "tgt": self.tgt,
                "k": self.k}


def measure_calign(root: Any, unit: MeasureUnit, spec: Any, cluster_seed: int) -> tuple[Rows, Rows]:
    """CALIGN both ways between the pair's two language spaces of its CALIGN selection (rows left out of a fit,
    label -1, are left out here and counted in ``n_dropped``)."""
    settings = spec.calign
    selection = layout.calign_selection(unit.src, unit.tgt, *unit.sides)
    clusters, n_points, dropped = {}, [], []
    for lang, side in zip((unit.src, unit.tgt), unit.sides, strict=True):
        labels, _ = labels_of(root, model=unit.model, side=side, layer=unit.layer, langs=[lang], k=unit.k,
                              selection=selection, extra_seed=unit.extra_seed)
        chosen = read_selection(root, selection, unit.model, side, lang)
        kept = labels >= 0
        clusters[lang] = TypeClusters.from_tokens(labels[kept], chosen.type_id[kept], n_clusters=unit.k,
                                                  vocab=read_strings(root, layout.vocab_path(lang)))
        n_points.append(int(kept.sum()))
        dropped.append(int((~kept).sum()))
    src, tgt = unit.src, unit.tgt
    reverse = read_store_dictionary(root, tgt, src) if layout.dictionary_path(tgt, src) in root else None
    result = calign(clusters[src], clusters[tgt], read_store_dictionary(root, src, tgt), theta=settings.theta,
                    top_n=settings.top_n, min_types=settings.min_types, size_ratio=settings.size_ratio,
                    mode=settings.mode, null=settings.null_model, reverse_dictionary=reverse,
                    both_directions=settings.both_directions, repeats=spec.repeats, seed=spec.seed,
                    device=spec.device)
    if unit.extra_seed is None:  # the concept browser shows the first seed's concepts
        write_alignment(root, {"forward": result.forward, "backward": result.backward}, model=unit.model,
                        side=unit.sides[0], layer=unit.layer, selection=selection, k=unit.k,
                        attrs={"src": src, "tgt": tgt, "sides": list(unit.sides), "params": result.params})
    rows, curves = calign_rows(result, **unit.row_key(), n_points=(n_points[0], n_points[1]), seed=cluster_seed,
                               n_dropped=(dropped[0], dropped[1]))
    return rows, curves if unit.extra_seed is None else []


def measure_colap(root: Any, unit: MeasureUnit, spec: Any, cluster_seed: int) -> tuple[Rows, Rows]:
    """COLAP of the pair's joint space of the COLAP selection."""
    langs = [unit.src, unit.tgt]
    labels, attrs = labels_of(root, model=unit.model, side=unit.sides[0], layer=unit.layer, langs=langs, k=unit.k,
                              selection=layout.COLAP_SELECTION, extra_seed=unit.extra_seed)
    counts = [int(part["n"]) for part in attrs["parts"]]
    lang_of = np.repeat(np.arange(len(counts)), counts)
    kept = labels >= 0  # rows left out of the fit (label -1) are counted in n_dropped
    result = colap(labels[kept], lang_of[kept], languages=langs, n_clusters=unit.k, theta=spec.colap.theta,
                   repeats=spec.repeats, seed=spec.seed, device=spec.device)
    rows, curves = colap_rows(result, **unit.row_key(), n_points=int(kept.sum()), seed=cluster_seed,
                              n_dropped=int((~kept).sum()))
    return rows, curves if unit.extra_seed is None else []


def measure_pair(root: Any, unit: MeasureUnit, spec: Any, metrics: list[str], cluster_seed: int
                 ) -> dict[str, Rows]:
    """Rows (``results``, ``curves``) of the named ``metrics`` of one unit, in registry order.

    ``root``: the store, open ``r+`` (CALIGN stores its alignment); ``spec``: the config's ``metrics`` section;
    ``cluster_seed`` fills the tables' seed column.
    """
    results: Rows = []
    curves: Rows = []
    for metric in registry.METRICS:
        if metric.name in metrics:
            rows, curve_rows = metric.measure()(root, unit, spec, cluster_seed)
            results += rows
            curves += curve_rows
    return {"results": jsonable_rows(results), "curves": jsonable_rows(curves)}


def cluster_paths(unit: MeasureUnit, metric: str) -> list[str]:
    """The store paths of the clusterings ``metric`` reads for ``unit``."""
    return [layout.clusters_path(unit.model, space.side, unit.layer, layout.cluster_space(list(space.langs),
                                                                                          space.selection), unit.k,
                                 unit.extra_seed)
            for space in registry.by_name(metric).spaces(unit.src, unit.tgt, unit.sides)]


def stores_alignment(metrics: list[str]) -> bool:
    """Whether one of the named metrics stores a per-cluster alignment (which the concept browser shows)."""
    return any(metric.stores_alignment for metric in registry.METRICS if metric.name in metrics)


def measured(root: Any, unit: MeasureUnit, metrics: list[str]) -> bool:
    """Whether what the metrics stored of ``unit`` is still complete (rows themselves live in the run folder)."""
    if unit.extra_seed is not None:  # a further seed's metrics store nothing
        return True
    for metric in registry.METRICS:
        if metric.name in metrics and metric.stores_alignment:
            selection = layout.calign_selection(unit.src, unit.tgt, *unit.sides)
            if not alignment_stored(root, model=unit.model, side=unit.sides[0], layer=unit.layer,
                                    selection=selection, k=unit.k):
                return False
    return True
