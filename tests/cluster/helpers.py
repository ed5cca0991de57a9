"""Helpers shared by the clustering tests."""

from __future__ import annotations

import numpy as np


def seeded_centres(x: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """k-means++ centres from our torch initialiser (the shared start of torch and sklearn comparisons)."""
    from engine.cluster.source import RowSource, Transform
    from engine.cluster.torch_kmeans import initial_centers

    source = RowSource([(x, None)])
    source.prepare(Transform())
    return initial_centers(source, k, "k-means++", np.random.default_rng(seed), "cpu")
