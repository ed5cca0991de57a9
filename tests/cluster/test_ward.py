"""Ward agglomerative clustering (what ConceptX uses) and its O(n²) memory guard."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import AgglomerativeClustering

from engine.cluster import ward, ward_memory_bytes
from engine.errors import ConfigError


def test_ward_equals_sklearn(blobs):
    x, truth = blobs
    x = x[:800]
    result = ward(x, 12)
    reference = AgglomerativeClustering(n_clusters=12, linkage="ward").fit(x)
    np.testing.assert_array_equal(result.labels, reference.labels_)
    assert result.backend == "ward" and result.n_iter == 0
    means = np.stack([x[result.labels == j].mean(0) for j in range(12)])
    np.testing.assert_allclose(result.centroids, means, rtol=1e-5, atol=1e-5)
    inertia = float(((x.astype(np.float64) - means[result.labels]) ** 2).sum())
    assert result.inertia == pytest.approx(inertia, rel=1e-6)


def test_ward_on_selected_store_rows(me5_store):
    from engine.store import layout, open_store

    root = open_store(me5_store)
    array = root[layout.activations_path("me5-small", "encoder", "en")]["layer_6"]
    rows = np.arange(0, 600, 2)
    result = ward(array, 10, rows=rows)
    expected = AgglomerativeClustering(n_clusters=10).fit(np.asarray(array[:], np.float32)[rows]).labels_
    np.testing.assert_array_equal(result.labels, expected)


def test_guard_refuses_with_numbers_and_alternatives():
    x = np.zeros((3000, 16), dtype=np.float32)
    need = ward_memory_bytes(3000, 16)
    assert need == 8 * 3000 * 2999 // 2 + 8 * 3000 * 16
    with pytest.raises(ConfigError) as info:
        ward(x, 5, memory_limit=1 << 20)
    assert str(info.value) == (
        "Ward clustering of n=3000 points (d=16) needs about 0.03 GiB (O(n^2) pairwise distances), over the "
        "limit of 0.00 GiB; alternatives: k-means (engine.cluster.fit, backend 'torch' streams from the store), "
        "a smaller selection (fewer occurrences per word type), or a higher memory_limit on a larger machine"
    )


def test_guard_default_refuses_a_corpus_scale_n(monkeypatch):
    """200 000 tokens would need ~149 GiB: refused before anything is read."""
    import engine.cluster.agglomerative as module

    monkeypatch.setattr(module, "available_memory_bytes", lambda: 64 << 30)
    with pytest.raises(ConfigError, match=r"n=200000 points \(d=384\) needs about 149\.\d+ GiB.*limit of 32\.00 GiB"):
        module.ward_guard(200_000, 384)


def test_ward_k_larger_than_n():
    with pytest.raises(ConfigError, match=r"^K=11 must be <= number of points=10$"):
        ward(np.zeros((10, 2), dtype=np.float32), 11)
