"""Same seed -> same labels (CPU), whatever the chunk size, thread count or where the rows come from."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import zarr

from engine.cluster import fit
from engine.cluster.source import RowSource
from engine.store import layout, open_store


@pytest.fixture(scope="module")
def en_layer(me5_store):
    root = open_store(me5_store)
    return root[layout.activations_path("me5-small", "encoder", "en")]["layer_6"]


@pytest.fixture(autouse=True)
def always_stream(monkeypatch):
    """These tests are about the streamed path: no in-memory shortcut for small Zarr selections."""
    from engine.cluster import source

    monkeypatch.setattr(source, "MEMORY_BUDGET_BYTES", 0)


def test_same_seed_same_labels_across_runs(me5_en):
    first = fit(me5_en, 30, seed=11, backend="torch")
    second = fit(me5_en, 30, seed=11, backend="torch")
    np.testing.assert_array_equal(first.labels, second.labels)
    np.testing.assert_array_equal(first.centroids, second.centroids)
    assert first.inertia == second.inertia and first.n_iter == second.n_iter
    other = fit(me5_en, 30, seed=12, backend="torch")
    assert not np.array_equal(first.centroids, other.centroids)


@pytest.mark.parametrize("chunk_rows", [300, 5000])
def test_streamed_store_equals_in_memory(me5_en, en_layer, chunk_rows):
    """The float16 store array streamed in small chunks gives exactly the in-memory result."""
    memory = fit(me5_en, 12, seed=5, backend="torch")
    streamed = fit(en_layer, 12, seed=5, backend="torch", chunk_rows=chunk_rows)
    np.testing.assert_array_equal(streamed.labels, memory.labels)
    np.testing.assert_array_equal(streamed.centroids, memory.centroids)
    assert streamed.inertia == memory.inertia
    assert streamed.info["streamed"] and not memory.info["streamed"]


def test_selected_rows_stream_like_a_copy(me5_en, en_layer):
    rows = np.sort(np.random.default_rng(0).choice(len(me5_en), size=1500, replace=False))
    copy = fit(me5_en[rows], 20, seed=2, backend="torch", init="k-means||")
    streamed = fit(en_layer, 20, rows=rows, seed=2, backend="torch", chunk_rows=128, init="k-means||")
    np.testing.assert_array_equal(streamed.labels, copy.labels)
    assert streamed.inertia == copy.inertia


def test_joint_parts_equal_concatenation(me5_store, me5_en):
    root = open_store(me5_store)
    de = root[layout.activations_path("me5-small", "encoder", "de")]["layer_6"]
    de_rows = np.arange(0, de.shape[0], 3)
    joint = np.concatenate([me5_en, np.asarray(de[:], dtype=np.float32)[de_rows]])
    together = fit(joint, 25, seed=4, backend="torch", init="k-means||")
    parts = fit([(me5_en, None), (de, de_rows)], 25, seed=4, backend="torch", chunk_rows=700, init="k-means||")
    assert parts.n == len(me5_en) + len(de_rows)
    np.testing.assert_array_equal(parts.labels, together.labels)


def test_thread_count_does_not_change_labels(me5_en):
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = fit(me5_en, 25, seed=9, backend="torch")
        torch.set_num_threads(max(2, before))
        many = fit(me5_en, 25, seed=9, backend="torch")
    finally:
        torch.set_num_threads(before)
    np.testing.assert_array_equal(one.labels, many.labels)
    np.testing.assert_array_equal(one.centroids, many.centroids)


def test_zarr_source_is_read_in_chunks_never_whole(tmp_path, monkeypatch):
    """Streaming reads at most chunk_rows rows at a time: the rows never have to fit in memory."""
    data = np.random.default_rng(1).normal(size=(2000, 8)).astype(np.float16)
    array = zarr.create_array(store=str(tmp_path / "x.zarr"), shape=data.shape, dtype="float16", chunks=(256, 8))
    array[:] = data
    sizes: list[int] = []
    original = RowSource._read_part

    def spy(self, index, lo, hi):
        sizes.append(hi - lo)
        return original(self, index, lo, hi)

    monkeypatch.setattr(RowSource, "_read_part", spy)
    result = fit(array, 5, seed=0, backend="torch", chunk_rows=300, init="k-means||")
    assert result.n == 2000 and max(sizes) <= 300 and len(sizes) > 10
