"""Our torch Lloyd loop against scikit-learn's KMeans (the reference)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from engine.cluster import fit
from tests.cluster.helpers import seeded_centres


@pytest.mark.parametrize("prune", [False, True])
def test_same_start_gives_identical_labels_on_separated_data(blobs, prune):
    x, _ = blobs
    start = seeded_centres(x, 12)
    ours = fit(x, 12, backend="torch", init=start, prune=prune)
    ref = KMeans(12, init=start, n_init=1, max_iter=300, tol=1e-4).fit(x)
    np.testing.assert_array_equal(ours.labels, ref.labels_)
    np.testing.assert_allclose(ours.centroids, ref.cluster_centers_, rtol=1e-5, atol=1e-5)
    exact = float(((x.astype(np.float64) - ours.centroids[ours.labels]) ** 2).sum())
    assert ours.inertia == pytest.approx(exact, rel=1e-6)
    assert ours.inertia == pytest.approx(ref.inertia_, rel=1e-4)  # sklearn sums its inertia in float32
    assert ours.n_iter == ref.n_iter_
    assert ours.backend == "torch" and ours.converged


@pytest.mark.parametrize("k", [40, 200])
def test_same_start_inertia_within_half_percent_on_me5(me5_en, k):
    start = seeded_centres(me5_en, k, seed=1)
    ours = fit(me5_en, k, backend="torch", init=start)
    ref = fit(me5_en, k, backend="sklearn", init=start)
    assert ref.backend == "sklearn"
    assert abs(ours.inertia - ref.inertia) <= 0.005 * ref.inertia
    assert adjusted_rand_score(ours.labels, ref.labels) > 0.95


@pytest.mark.parametrize("init", ["k-means++", "k-means||"])
def test_independent_fits_recover_blobs(blobs, init):
    x, truth = blobs
    ours = fit(x, 12, backend="torch", init=init, seed=3, n_init=2)
    ref = fit(x, 12, backend="sklearn", seed=3, n_init=2)
    assert adjusted_rand_score(truth, ours.labels) >= 0.99
    assert adjusted_rand_score(ref.labels, ours.labels) >= 0.99
    assert ours.inertia == pytest.approx(ref.inertia, rel=1e-3)


def test_empty_clusters_are_refilled_like_sklearn():
    """Duplicate starting centres leave clusters empty; both relocate them to the farthest rows."""
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 0.1, (50, 4)), rng.normal(10, 0.1, (50, 4)),
                        rng.normal([0, 10, 0, 0], 0.1, (50, 4))]).astype(np.float32)
    start = np.repeat(x[:1], 3, axis=0)  # three identical centres: two clusters start empty
    ours = fit(x, 3, backend="torch", init=start)
    ref = KMeans(3, init=start, n_init=1).fit(x)
    assert np.bincount(ours.labels, minlength=3).min() > 0
    assert adjusted_rand_score(ref.labels_, ours.labels) == 1.0
    assert ours.inertia == pytest.approx(ref.inertia_, rel=1e-4)
