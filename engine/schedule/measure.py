"""CALIGN and COLAP of one model × side × layer × language pair, as rows of the run tables."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from engine.config import Config
from engine.store import layout

log = logging.getLogger(__name__)


def _calign(config: Config, root: Any, key: dict[str, Any]) -> tuple[list[dict], list[dict], list[dict]]:
    from engine.dictionary.store import read_store_dictionary
    from engine.metrics import TypeClusters, calign
    from engine.report import calign_rows, concept_rows
    from engine.schedule.tasks import _labels, cluster_space_name
    from engine.select.store import calign_name, read_selection
    from engine.store import read_strings

    spec = config.metrics.calign
    src, tgt = key["src"], key["tgt"]
    selection = calign_name(src, tgt)
    clusters, n_points = {}, []
    for lang in (src, tgt):
        labels, _ = _labels(root, key["model"], key["side"], key["layer"], cluster_space_name(selection, [lang]),
                            key["k"])
        chosen = read_selection(root, selection, key["model"], key["side"], lang)
        clusters[lang] = TypeClusters.from_tokens(labels, chosen.type_id, n_clusters=key["k"],
                                                  vocab=read_strings(root, layout.vocab_path(lang)))
        n_points.append(len(chosen))
    reverse = read_store_dictionary(root, tgt, src) if layout.dictionary_path(tgt, src) in root else None
    result = calign(clusters[src], clusters[tgt], read_store_dictionary(root, src, tgt), theta=spec.theta,
                    top_n=spec.top_n, min_types=spec.min_types, size_ratio=spec.size_ratio,
                    reverse_dictionary=reverse, both_directions=spec.both_directions,
                    repeats=config.metrics.repeats, seed=config.metrics.seed, device=config.metrics.device)
    rows, curves = calign_rows(result, **key, n_points=(n_points[0], n_points[1]), seed=config.cluster.seed)
    return rows, curves, concept_rows(root, key, result)


def _colap(config: Config, root: Any, key: dict[str, Any]) -> tuple[list[dict], list[dict]]:
    from engine.metrics import colap
    from engine.report import colap_rows
    from engine.schedule.tasks import _labels, cluster_space_name
    from engine.select.store import COLAP

    src, tgt = key["src"], key["tgt"]
    labels, attrs = _labels(root, key["model"], key["side"], key["layer"], cluster_space_name(COLAP, [src, tgt]),
                            key["k"])
    counts = [int(part["n"]) for part in attrs["parts"]]
    langs = np.repeat(np.arange(len(counts)), counts)
    result = colap(labels, langs, languages=[src, tgt], n_clusters=key["k"], theta=config.metrics.colap.theta,
                   repeats=config.metrics.repeats, seed=config.metrics.seed, device=config.metrics.device)
    return colap_rows(result, **key, n_points=int(labels.shape[0]), seed=config.cluster.seed)


def measure_pair(config: Config, root: Any, model: str, side: str, layer: int, src: str, tgt: str, k: int
                 ) -> dict[str, Any]:
    """Rows (``results``, ``curves``, ``concepts``) for one model × side × layer × pair × K."""
    key = {"model": model, "side": side, "layer": layer, "src": src, "tgt": tgt, "k": k}
    results: list[dict] = []
    curves: list[dict] = []
    concepts: list[dict] = []
    if config.select.calign.enabled:
        rows, curve_rows, concepts = _calign(config, root, key)
        results += rows
        curves += curve_rows
    if config.select.colap.enabled:
        rows, curve_rows = _colap(config, root, key)
        results += rows
        curves += curve_rows
    return {"results": _jsonable(results), "curves": _jsonable(curves), "concepts": _jsonable(concepts)}


def _jsonable(rows: list[dict]) -> list[dict]:
    """NaN -> None and NumPy scalars -> Python, so the rows survive the JSON task cache unchanged."""
    out = []
    for row in rows:
        clean = {}
        for name, value in row.items():
            if isinstance(value, np.generic):
                value = value.item()
            if isinstance(value, float) and value != value:
                value = None
            clean[name] = value
        out.append(clean)
    return out
