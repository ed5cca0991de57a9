"""CALIGN and COLAP of one model × side × layer × language pair, as rows of the run tables."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from engine.config import Config
from engine.store import layout

log = logging.getLogger(__name__)


def _sig(sig: Any) -> dict[str, Any]:
    if sig is None:
        return {"baseline_mean": None, "baseline_sd": None, "p_value": None}
    return {"baseline_mean": float(sig.mean), "baseline_sd": float(sig.sd), "p_value": float(sig.p_value)}


def _calign(config: Config, root: Any, model: str, side: str, layer: int, src: str, tgt: str, k: int,
            base: dict[str, Any]) -> tuple[list[dict], list[dict], dict[str, Any]]:
    from engine.dictionary.store import read_store_dictionary
    from engine.metrics import TypeClusters, calign
    from engine.schedule.tasks import _labels, cluster_space_name
    from engine.select.store import calign_name, read_selection
    from engine.store import read_strings

    spec = config.metrics.calign
    selection = calign_name(src, tgt)
    clusters = {}
    for lang in (src, tgt):
        labels, _ = _labels(root, model, side, layer, cluster_space_name(selection, [lang]), k)
        chosen = read_selection(root, selection, model, side, lang)
        clusters[lang] = TypeClusters.from_tokens(labels, chosen.type_id, n_clusters=k,
                                                  vocab=read_strings(root, layout.vocab_path(lang)))
    dictionary = read_store_dictionary(root, src, tgt)
    reverse = read_store_dictionary(root, tgt, src) if layout.dictionary_path(tgt, src) in root else None
    result = calign(clusters[src], clusters[tgt], dictionary, theta=spec.theta, top_n=spec.top_n,
                    min_types=spec.min_types, size_ratio=spec.size_ratio, reverse_dictionary=reverse,
                    both_directions=spec.both_directions, repeats=config.metrics.repeats, seed=config.metrics.seed,
                    device=config.metrics.device)
    rows, curves = [], []
    common = {**base, "theta": spec.theta, "top_n": spec.top_n, "min_types": spec.min_types,
              "baseline_kind": "shuffled-dictionary"}
    directions = [("forward", result.forward, src, tgt)]
    if result.backward is not None:
        directions.append(("backward", result.backward, tgt, src))
    for name, d, a, _ in directions:  # src/tgt name the pair; direction says which way
        n_points = int(clusters[a].labels.shape[0])
        shared = {**common, "direction": name, "n_clusters": d.n_clusters,
                  "n_degenerate": d.n_single_type, "n_points": n_points}
        rows.append({**shared, "metric": "calign", "value": d.value, **_sig(d.null)})
        rows.append({**shared, "metric": "calign_eligible", "value": d.value_eligible, **_sig(d.null_eligible)})
        curve = d.curve()
        curves += [{**base, "metric": "calign", "direction": name, "theta": float(t),
                    "value": float(v)} for t, v in zip(curve.thetas, curve.values, strict=True)]
    if result.backward is not None:
        rows.append({**common, "direction": "mean", "metric": "calign", "value": result.mean,
                     "baseline_mean": None, "baseline_sd": None, "p_value": None, "n_clusters": k,
                     "n_degenerate": None, "n_points": None})
    return rows, curves, {"calign": result, "clusters": clusters}


def _colap(config: Config, root: Any, model: str, side: str, layer: int, src: str, tgt: str, k: int,
           base: dict[str, Any]) -> tuple[list[dict], list[dict]]:
    from engine.metrics import colap
    from engine.schedule.tasks import _labels, cluster_space_name
    from engine.select.store import COLAP

    labels, attrs = _labels(root, model, side, layer, cluster_space_name(COLAP, [src, tgt]), k)
    counts = [int(part["n"]) for part in attrs["parts"]]
    langs = np.repeat(np.arange(len(counts)), counts)
    spec = config.metrics.colap
    result = colap(labels, langs, languages=[src, tgt], n_clusters=k, theta=spec.theta,
                   repeats=config.metrics.repeats, seed=config.metrics.seed, device=config.metrics.device)
    row = {**base, "metric": "colap", "direction": "joint", "value": result.value, **_sig(result.null),
           "baseline_kind": "permuted-languages", "theta": spec.theta, "top_n": None, "min_types": None,
           "n_points": int(labels.shape[0]), "n_clusters": result.n_clusters,
           "n_degenerate": result.n_single_language}
    curve = result.curve()
    curves = [{**base, "metric": "colap", "direction": "joint", "theta": float(t), "value": float(v)}
              for t, v in zip(curve.thetas, curve.values, strict=True)]
    return [row], curves


def measure_pair(config: Config, root: Any, model: str, side: str, layer: int, src: str, tgt: str, k: int
                 ) -> dict[str, Any]:
    """Rows (``results``, ``curves``, ``concepts``) for one model × side × layer × pair × K."""
    base = {"model": model, "side": side, "layer": layer, "pair": layout.pair_name(src, tgt), "src": src,
            "tgt": tgt, "k": k, "seed": config.cluster.seed}
    results: list[dict] = []
    curves: list[dict] = []
    concepts: list[dict] = []
    if config.select.calign.enabled:
        rows, curve_rows, extra = _calign(config, root, model, side, layer, src, tgt, k, base)
        results += rows
        curves += curve_rows
        concepts += _concept_rows(root, base, extra)
    if config.select.colap.enabled:
        rows, curve_rows = _colap(config, root, model, side, layer, src, tgt, k, base)
        results += rows
        curves += curve_rows
    return {"results": results, "curves": curves, "concepts": concepts}


def _concept_rows(root: Any, base: dict[str, Any], extra: dict[str, Any]) -> list[dict]:
    """Per-cluster rows of both languages for the concept browser (top words, aligned concept)."""
    try:
        from engine.report.concepts import concept_rows
    except ImportError:
        return []
    return concept_rows(root, base, extra["calign"], extra["clusters"])
