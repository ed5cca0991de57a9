"""COLAP kernels against literal counting loops."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels.calign import random_permutations
from kernels.colap import label_language_counts, permuted_label_language_counts
from kernels.errors import KernelError
from tests.kernels import brute


@st.composite
def tokens(draw):
    k, n_langs, n = draw(st.integers(1, 7)), draw(st.integers(1, 4)), draw(st.integers(0, 60))
    labels = np.asarray(draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)), dtype=np.int64)
    langs = np.asarray(draw(st.lists(st.integers(0, n_langs - 1), min_size=n, max_size=n)), dtype=np.int32)
    return labels, langs, k, n_langs


@settings(max_examples=150, deadline=None)
@given(tokens(), st.integers(1, 5), st.integers(0, 2**16))
def test_counts_and_permuted_counts_equal_literal_loops(data, repeats, seed):
    labels, langs, k, n_langs = data
    np.testing.assert_array_equal(label_language_counts(labels, langs, k, n_langs),
                                  brute.label_language_counts(labels, langs, k, n_langs))
    perms = random_permutations(labels.shape[0], repeats, seed)
    got = permuted_label_language_counts(labels, langs, k, n_langs, perms)
    assert got.shape == (repeats, k, n_langs)
    for r in range(repeats):
        shuffled = [langs[perms[r, i]] for i in range(labels.shape[0])]
        np.testing.assert_array_equal(got[r], brute.label_language_counts(labels, shuffled, k, n_langs))


def test_permutation_keeps_language_totals_and_cluster_sizes():
    labels = np.repeat(np.arange(10), 30)
    langs = np.tile([0, 1, 1], 100)
    got = permuted_label_language_counts(labels, langs, 10, 2, random_permutations(300, 20, 3))
    assert (got.sum(axis=2) == 30).all()
    assert (got.sum(axis=1) == [100, 200]).all()


def test_out_of_range_language_gives_both_numbers():
    with pytest.raises(KernelError, match=r"langs of label_language_counts must be in \[0, 2\)"):
        label_language_counts(np.array([0, 1]), np.array([0, 2]), 2, 2)
    with pytest.raises(KernelError, match="perms of permuted_label_language_counts"):
        permuted_label_language_counts(np.array([0, 1]), np.array([0, 1]), 2, 2, np.zeros((2, 3), np.int64))


@pytest.mark.gpu
@pytest.mark.cupy
@settings(max_examples=30, deadline=None)
@given(tokens(), st.integers(1, 4), st.integers(0, 2**16))
def test_cupy_colap_kernels_equal_their_numpy_twins(data, repeats, seed):
    cp = pytest.importorskip("cupy")
    labels, langs, k, n_langs = data
    on_gpu = label_language_counts(cp.asarray(labels), cp.asarray(langs), k, n_langs)
    np.testing.assert_array_equal(label_language_counts(labels, langs, k, n_langs), on_gpu.get())
    perms = random_permutations(labels.shape[0], repeats, seed)
    np.testing.assert_array_equal(
        permuted_label_language_counts(labels, langs, k, n_langs, perms),
        permuted_label_language_counts(cp.asarray(labels), cp.asarray(langs), k, n_langs, perms).get())
