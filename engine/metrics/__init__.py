"""CALIGN and COLAP with the reference's exact semantics (design.md §5), curves over θ and permutation nulls.

Python API::

    from engine.metrics import TypeClusters, calign, colap
    src = TypeClusters.from_tokens(labels_en, type_ids_en, vocab=vocab_en)   # or type_clusters_from_file(path)
    tgt = TypeClusters.from_tokens(labels_de, type_ids_de, vocab=vocab_de)
    result = calign(src, tgt, dictionary, theta=0.9, top_n=5, min_types=1)   # Dictionary or type-id pairs
    result.forward.value, result.forward.value_eligible, result.mean, result.forward.null.p_value
    result.forward.curve()                                                   # value at θ = 0.50 .. 1.00
    overlap = colap(labels, langs, languages=["en", "de"], theta=0.3)        # theta is a fraction
    overlap.value, overlap.pairwise, overlap.n_single_language, overlap.curve()
"""

from engine.metrics.calign import CalignDirection, CalignResult, calign, dictionary_pairs
from engine.metrics.clusters import TypeClusters
from engine.metrics.colap import ColapResult, colap
from engine.metrics.curves import CALIGN_THETAS, COLAP_THETAS, Curve, threshold_curve
from engine.metrics.io import (
    ClusterFile,
    joint_tokens_from_file,
    read_cluster_file,
    read_reference_dictionary,
    type_clusters_from_file,
)
from engine.metrics.significance import DEFAULT_REPEATS, Significance, significance

__all__ = [
    "CALIGN_THETAS", "COLAP_THETAS", "DEFAULT_REPEATS",
    "CalignDirection", "CalignResult", "ClusterFile", "ColapResult", "Curve", "Significance", "TypeClusters",
    "calign", "colap", "dictionary_pairs", "joint_tokens_from_file", "read_cluster_file",
    "read_reference_dictionary", "significance", "threshold_curve", "type_clusters_from_file",
]
