"""Every block loop with more than one block, on CPU: the kernels' and the k-means' block sizes lowered until
each problem spans many blocks, and the answers equal the one-block ones."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import kernels.calign as kc
import kernels.colap as kco
from engine.cluster import source as source_module
from engine.cluster.source import RowSource, Transform
from tests.kernels.test_calign_kernels import matrices, problems


@settings(max_examples=60, deadline=None)
@given(problems(), st.integers(1, 5), st.integers(0, 2**16), st.integers(1, 40), st.integers(1, 50))
def test_calign_blocks_equal_one_block(p, repeats, seed, max_dense, max_nnz):
    a_src, dic, a_tgt = matrices(p)
    sizes = kc.row_counts(a_src), kc.row_counts(a_tgt)
    matches = kc.match_counts(a_src, dic, a_tgt)
    perms = kc.random_permutations(p["v_tgt"], repeats, seed)
    whole = (kc.best_matches(matches, *sizes, p["size_ratio"]),
             kc.shuffled_best_matches(a_src, dic, a_tgt, perms, *sizes, p["size_ratio"]))
    before = kc._MAX_DENSE, kc._MAX_BLOCK_NNZ
    kc._MAX_DENSE, kc._MAX_BLOCK_NNZ = max_dense, max_nnz  # a few cells / entries a block: many blocks
    try:
        blocked = (kc.best_matches(matches, *sizes, p["size_ratio"]),
                   kc.shuffled_best_matches(a_src, dic, a_tgt, perms, *sizes, p["size_ratio"]))
    finally:
        kc._MAX_DENSE, kc._MAX_BLOCK_NNZ = before
    for one, many in zip((*whole[0], whole[1]), (*blocked[0], blocked[1]), strict=True):
        np.testing.assert_array_equal(one, many)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 300), st.integers(1, 8), st.integers(1, 4), st.integers(1, 6), st.integers(1, 500),
       st.integers(0, 2**16))
def test_colap_blocks_equal_one_block(n, k, n_langs, repeats, max_items, seed):
    rng = np.random.default_rng(seed)
    labels, langs = rng.integers(0, k, n), rng.integers(0, n_langs, n)
    perms = kc.random_permutations(n, repeats, seed)
    whole = kco.permuted_label_language_counts(labels, langs, k, n_langs, perms)
    before = kco._MAX_BLOCK_ITEMS
    kco._MAX_BLOCK_ITEMS = max_items
    try:
        blocked = kco.permuted_label_language_counts(labels, langs, k, n_langs, perms)
    finally:
        kco._MAX_BLOCK_ITEMS = before
    np.testing.assert_array_equal(whole, blocked)


@pytest.mark.parametrize("block_rows", [1, 7, 64])
def test_kmeans_blocks_and_the_block_by_block_copy_path_equal_one_block(monkeypatch, block_rows):
    """Lloyd over many blocks, and over rows that 'do not fit the device' (copied block by block, the path a
    GPU too small for the rows takes), give the one-block labels and centres."""
    from engine.cluster.torch_kmeans import lloyd

    rng = np.random.default_rng(3)
    x = np.concatenate([rng.normal(c, 0.3, (60, 6)) for c in (0.0, 4.0, 8.0)]).astype(np.float32)
    start = x[[0, 60, 120]].copy()

    def run(fits: bool, rows: int):
        monkeypatch.setattr(RowSource, "_fits_on", lambda self, device: fits)
        source = RowSource([(x, None)])
        source.prepare(Transform())
        return lloyd(source, start, max_iter=20, tol=0.0, device=torch.device("cpu"), block_rows=rows)

    one = run(True, len(x))
    for fits in (True, False):
        many = run(fits, block_rows)
        np.testing.assert_array_equal(many.labels, one.labels)
        np.testing.assert_allclose(many.centroids, one.centroids, rtol=1e-6, atol=1e-6)
        assert many.n_iter == one.n_iter
    assert source_module.block_rows_for(1000, "cuda") >= 1024  # the CUDA block size stays large
