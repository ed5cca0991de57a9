"""The tidy tables a run writes into its run folder (schema shared by the scheduler and the report).

``results``  one row per model × side × layer × language pair × metric (× direction):
    model, side, layer, pair ("en-de"), src, tgt, metric ("calign" | "calign_eligible" | "colap"),
    direction ("forward" | "backward" | "mean" | "joint"), value, baseline_mean, baseline_sd, p_value,
    baseline_kind ("shuffled-dictionary" floor | "permuted-languages" ceiling), k, theta, top_n, min_types,
    seed, n_points, n_clusters, n_degenerate (single-type clusters for CALIGN, single-language for COLAP)
``curves``   value over θ: model, side, layer, pair, src, tgt, metric, direction, k, theta, value
``concepts`` one row per cluster of a language space (for the concept browser):
    model, side, layer, lang, k, cluster, n_tokens, n_types, top_words (list of [word, count]),
    aligned_to (target-language cluster or -1), match_share, aligned (bool), other (target language)
Files in a run folder: results.parquet + results.csv, curves.parquet, concepts.parquet, results.json
(config, versions, timings), plots/*.png, report.html, run.log.
"""

from __future__ import annotations

RESULT_COLUMNS = [
    "model", "side", "layer", "pair", "src", "tgt", "metric", "direction", "value", "baseline_mean",
    "baseline_sd", "p_value", "baseline_kind", "k", "theta", "top_n", "min_types", "seed", "n_points",
    "n_clusters", "n_degenerate",
]
CURVE_COLUMNS = ["model", "side", "layer", "pair", "src", "tgt", "metric", "direction", "k", "theta", "value"]
CONCEPT_COLUMNS = [
    "model", "side", "layer", "lang", "k", "cluster", "n_tokens", "n_types", "top_words", "aligned_to",
    "match_share", "aligned", "other",
]
