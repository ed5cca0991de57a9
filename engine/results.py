"""The tidy tables a run writes into its run folder (schema shared by the scheduler and the report).

``results``  one row per model × side × layer × language pair × metric (× direction):
    model, side ("encoder", or "encoder-decoder" for a metric across two sides), layer, pair ("en-de"), src, tgt,
    metric ("calign" | "calign_eligible" | "colap": the registered metrics' values),
    direction ("forward" | "backward" | "mean" | "joint"), value, baseline_mean, baseline_sd, p_value,
    repeats (the permutations behind baseline and p-value),
    baseline_kind (floors "shuffled-dictionary-types" | "shuffled-dictionary-lines", ceiling "permuted-languages"),
    k, theta, top_n, min_types, seed, n_points, n_clusters,
    n_degenerate (single-type clusters for CALIGN, single-language for COLAP),
    n_dropped (points of the measured spaces left out of their fit: the reference mode's last point of each)
    A run with several k-means seeds (cluster.n_seeds) has one row per seed (the seed column); the report's
    tables and plots read the first seed's rows and show the others as each layer's spread.
``curves``   value over θ: model, side, layer, pair, src, tgt, metric, direction, k, theta, value
``concepts`` one row per cluster of a language space (for the concept browser):
    model, side, layer, lang, k, cluster, n_tokens, n_types, top_words (list of [word, count]),
    aligned_to (target-language cluster or -1), match_share, aligned (bool), aligned_targets (every aligned
    target cluster, a list), other (target language)
    + examples (added for the browser): list of {lang, sentence, ref, position, text}, a few occurrences of
    the cluster's top words; text is a window of the sentence (words joined by " "), position the word's
    index in that window. A language space's cluster has one row per other language it was aligned to
    (other "" when none). A joint space (lang "joint-en-de") has aligned_to -1, other "" and top_words
    entries [word, count, lang]. Rows are built by engine.report.concepts.build_concepts.
Files in a run folder: results.parquet + results.csv, curves.parquet, concepts.parquet, results.json
(config, versions, timings), plots/*.png, report.html, run.log.
"""

from __future__ import annotations

from engine.metrics.registry import METRICS as _REGISTERED
from engine.metrics.registry import table_metrics

RESULT_COLUMNS = [
    "model", "side", "layer", "pair", "src", "tgt", "metric", "direction", "value", "baseline_mean",
    "baseline_sd", "p_value", "repeats", "baseline_kind", "k", "theta", "top_n", "min_types", "seed", "n_points",
    "n_clusters", "n_degenerate", "n_dropped",
]
CURVE_COLUMNS = ["model", "side", "layer", "pair", "src", "tgt", "metric", "direction", "k", "theta", "value"]
CONCEPT_COLUMNS = [
    "model", "side", "layer", "lang", "k", "cluster", "n_tokens", "n_types", "top_words", "aligned_to",
    "match_share", "aligned", "aligned_targets", "other",
    "examples",  # added by the report: example sentences of the concept browser (see the docstring)
]
# the values of the metric, direction and baseline_kind columns: those of the registered metrics
METRICS = table_metrics()
DIRECTIONS = tuple(dict.fromkeys(d for metric in _REGISTERED for d in metric.directions))
BASELINE_KINDS = tuple(kind for metric in _REGISTERED for kind, _ in metric.baseline_kinds)  # floors and ceilings

