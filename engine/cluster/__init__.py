"""Concept discovery: k-means (torch, scikit-learn, cuML, faiss backends) and Ward clustering of word vectors.

Importing this package needs neither CUDA nor cuML nor faiss; optional backends are imported when used and
raise :class:`engine.errors.BackendUnavailableError` (with the reason and what to install) when unusable.
"""

from engine.cluster.agglomerative import ward, ward_memory_bytes
from engine.cluster.api import BACKENDS, REFERENCE_SEED, Clustering, fit
from engine.cluster.conceptx import ConceptXClusters, align_conceptx, export_conceptx, read_conceptx
from engine.cluster.stage import cluster_space
from engine.cluster.store import StoredClustering, read_clustering, write_clustering

__all__ = [
    "BACKENDS",
    "REFERENCE_SEED",
    "Clustering",
    "ConceptXClusters",
    "StoredClustering",
    "align_conceptx",
    "cluster_space",
    "export_conceptx",
    "fit",
    "read_clustering",
    "read_conceptx",
    "ward",
    "ward_memory_bytes",
    "write_clustering",
]
