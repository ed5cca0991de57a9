"""CALIGN kernels against the literal loops of tests/kernels/brute.py."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels import calign as kc
from kernels.errors import KernelError
from tests.kernels import brute


@st.composite
def problems(draw):
    k_src, k_tgt = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    v_src, v_tgt = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    n_src, n_tgt, n_dict = draw(st.integers(0, 40)), draw(st.integers(0, 40)), draw(st.integers(0, 30))
    ints = lambda hi, n: np.asarray(draw(st.lists(st.integers(0, hi - 1), min_size=n, max_size=n)),  # noqa: E731
                                    dtype=np.int64)
    return dict(k_src=k_src, k_tgt=k_tgt, v_src=v_src, v_tgt=v_tgt,
                src_labels=ints(k_src, n_src), src_types=ints(v_src, n_src),
                tgt_labels=ints(k_tgt, n_tgt), tgt_types=ints(v_tgt, n_tgt),
                dict_src=ints(v_src, n_dict), dict_tgt=ints(v_tgt, n_dict),
                size_ratio=draw(st.sampled_from([None, 0.0, 0.5, 1.0, 2.0])))


def matrices(p):
    a_src = kc.membership(p["src_labels"], p["src_types"], p["k_src"], p["v_src"])
    dic = kc.membership(p["dict_src"], p["dict_tgt"], p["v_src"], p["v_tgt"])
    a_tgt = kc.membership(p["tgt_labels"], p["tgt_types"], p["k_tgt"], p["v_tgt"])
    return a_src, dic, a_tgt


@settings(max_examples=150, deadline=None)
@given(problems())
def test_match_counts_and_best_equal_the_literal_loop(p):
    src_sets = brute.clusters_as_sets(p["src_labels"], p["src_types"], p["k_src"])
    tgt_sets = brute.clusters_as_sets(p["tgt_labels"], p["tgt_types"], p["k_tgt"])
    expected = brute.match_counts(src_sets, tgt_sets, brute.translations_of(p["dict_src"], p["dict_tgt"]))
    a_src, dic, a_tgt = matrices(p)
    got = kc.match_counts(a_src, dic, a_tgt)
    np.testing.assert_array_equal(got.toarray().astype(np.int64), expected)
    sizes_src, sizes_tgt = kc.row_counts(a_src), kc.row_counts(a_tgt)
    assert sizes_src.tolist() == [len(s) for s in src_sets]
    best_t, best_m = kc.best_matches(got, sizes_src, sizes_tgt, p["size_ratio"])
    want_t, want_m = brute.best_matches(expected, src_sets, tgt_sets, p["size_ratio"])
    np.testing.assert_array_equal(best_t, want_t)
    np.testing.assert_array_equal(best_m, want_m)


@settings(max_examples=80, deadline=None)
@given(problems(), st.integers(1, 4), st.integers(0, 2**16))
def test_shuffled_best_matches_equal_literal_shuffled_dictionaries(p, repeats, seed):
    a_src, dic, a_tgt = matrices(p)
    perms = kc.random_permutations(p["v_tgt"], repeats, seed)
    got = kc.shuffled_best_matches(a_src, dic, a_tgt, perms, kc.row_counts(a_src), kc.row_counts(a_tgt),
                                   p["size_ratio"])
    src_sets = brute.clusters_as_sets(p["src_labels"], p["src_types"], p["k_src"])
    tgt_sets = brute.clusters_as_sets(p["tgt_labels"], p["tgt_types"], p["k_tgt"])
    for r in range(repeats):
        shuffled = brute.translations_of(p["dict_src"], perms[r][p["dict_tgt"]])  # t -> perms[r, t]
        counts = brute.match_counts(src_sets, tgt_sets, shuffled)
        want = brute.best_matches(counts, src_sets, tgt_sets, p["size_ratio"])[1]
        np.testing.assert_array_equal(got[r], want)


@settings(max_examples=80, deadline=None)
@given(problems(), st.integers(1, 4), st.integers(0, 2**16))
def test_shuffled_lines_best_matches_equal_literal_line_shuffles(p, repeats, seed):
    a_src, _, a_tgt = matrices(p)
    pairs_src, pairs_tgt = np.asarray(p["dict_src"]), np.asarray(p["dict_tgt"])
    perms = kc.random_permutations(pairs_src.shape[0], repeats, seed)
    got = kc.shuffled_lines_best_matches(a_src, pairs_src, pairs_tgt, a_tgt, perms, kc.row_counts(a_src),
                                         kc.row_counts(a_tgt), p["size_ratio"])
    assert got.shape == (repeats, p["k_src"])
    src_sets = brute.clusters_as_sets(p["src_labels"], p["src_types"], p["k_src"])
    tgt_sets = brute.clusters_as_sets(p["tgt_labels"], p["tgt_types"], p["k_tgt"])
    for r in range(repeats):
        lines = [(int(pairs_src[i]), int(pairs_tgt[perms[r, i]])) for i in range(pairs_src.shape[0])]
        shuffled = brute.translations_of([s for s, _ in lines], [t for _, t in lines])
        counts = brute.match_counts(src_sets, tgt_sets, shuffled)
        want = brute.best_matches(counts, src_sets, tgt_sets, p["size_ratio"])[1]
        np.testing.assert_array_equal(got[r], want)


def test_shuffled_lines_keep_each_words_entry_count_and_can_break_a_shared_translation():
    """Two source types share target 0; with the lines swapped against a third entry they no longer share."""
    a_src = kc.membership(np.array([0, 0]), np.array([0, 1]), 1, 3)  # S0 = {0, 1}
    a_tgt = kc.membership(np.array([0, 1]), np.array([0, 1]), 2, 2)  # T0 = {0}, T1 = {1}
    pairs_src, pairs_tgt = np.array([0, 1, 2]), np.array([0, 0, 1])
    sizes = kc.row_counts(a_src), kc.row_counts(a_tgt)
    identity = kc.shuffled_lines_best_matches(a_src, pairs_src, pairs_tgt, a_tgt, np.array([[0, 1, 2]]), *sizes)
    swapped = kc.shuffled_lines_best_matches(a_src, pairs_src, pairs_tgt, a_tgt, np.array([[0, 2, 1]]), *sizes)
    assert identity.tolist() == [[2]] and swapped.tolist() == [[1]]  # relabelling target types keeps the 2


@settings(max_examples=80, deadline=None)
@given(problems(), st.sampled_from([0.0, 0.25, 0.5, 0.75, 0.9]), st.integers(0, 2))
def test_aligned_targets_equal_every_pair_the_literal_test_passes(p, theta, min_types):
    a_src, dic, a_tgt = matrices(p)
    got = kc.aligned_targets(kc.match_counts(a_src, dic, a_tgt), kc.row_counts(a_src), kc.row_counts(a_tgt), theta,
                             min_types, p["size_ratio"])
    src_sets = brute.clusters_as_sets(p["src_labels"], p["src_types"], p["k_src"])
    tgt_sets = brute.clusters_as_sets(p["tgt_labels"], p["tgt_types"], p["k_tgt"])
    counts = brute.match_counts(src_sets, tgt_sets, brute.translations_of(p["dict_src"], p["dict_tgt"]))
    want = [(i, j) for i, source in enumerate(src_sets) for j, target in enumerate(tgt_sets)
            if source and target and counts[i, j] / len(source) > theta and len(source) > min_types
            and (p["size_ratio"] is None or len(source) / len(target) > p["size_ratio"]) and counts[i, j] > 0]
    assert list(zip(got[0].tolist(), got[1].tolist(), strict=True)) == want


def test_cluster_type_counts_counts_distinct_types_and_tokens():
    labels = np.array([0, 0, 0, 2, 2])
    types = np.array([5, 5, 1, 1, 0])
    n_types, n_tokens = kc.cluster_type_counts(labels, types, 4, 6)
    assert n_types.tolist() == [2, 0, 2, 0]
    assert n_tokens.tolist() == [3, 0, 2, 0]


def test_random_permutations_are_seeded_permutations():
    a, b = kc.random_permutations(7, 3, 11), kc.random_permutations(7, 3, 11)
    np.testing.assert_array_equal(a, b)
    assert all(sorted(row) == list(range(7)) for row in a.tolist())
    assert not np.array_equal(a, kc.random_permutations(7, 3, 12))


def test_bad_inputs_name_the_parameter_and_both_numbers():
    message = r"cols of membership must be in \[0, 3\); got 'values in \[0, 3\]'"
    with pytest.raises(KernelError, match=message):
        kc.membership(np.array([0, 1]), np.array([0, 3]), 2, 3)
    a = kc.membership(np.array([0]), np.array([0]), 1, 2)
    with pytest.raises(KernelError, match="shapes of match_counts"):
        kc.match_counts(a, a, a)


@pytest.mark.gpu
@pytest.mark.cupy
@settings(max_examples=30, deadline=None)
@given(problems(), st.integers(1, 3), st.integers(0, 2**16))
def test_cupy_kernels_equal_their_numpy_twins(p, repeats, seed):
    cp = pytest.importorskip("cupy")
    on_gpu = {k: (cp.asarray(v) if isinstance(v, np.ndarray) else v) for k, v in p.items()}
    a_src, dic, a_tgt = matrices(p)
    g_src, g_dic, g_tgt = matrices(on_gpu)
    for host, dev in ((a_src, g_src), (dic, g_dic), (a_tgt, g_tgt)):
        np.testing.assert_array_equal(host.toarray(), dev.toarray().get())
    m_host, m_dev = kc.match_counts(a_src, dic, a_tgt), kc.match_counts(g_src, g_dic, g_tgt)
    np.testing.assert_array_equal(m_host.toarray(), m_dev.toarray().get())
    sizes = (kc.row_counts(a_src), kc.row_counts(a_tgt))
    g_sizes = (kc.row_counts(g_src), kc.row_counts(g_tgt))
    for h, g in zip(kc.best_matches(m_host, *sizes, p["size_ratio"]),
                    kc.best_matches(m_dev, *g_sizes, p["size_ratio"]), strict=True):
        np.testing.assert_array_equal(h, g.get())
    perms = kc.random_permutations(p["v_tgt"], repeats, seed)
    np.testing.assert_array_equal(
        kc.shuffled_best_matches(a_src, dic, a_tgt, perms, *sizes, p["size_ratio"]),
        kc.shuffled_best_matches(g_src, g_dic, g_tgt, perms, *g_sizes, p["size_ratio"]).get())
    for h, g in zip(kc.aligned_targets(m_host, *sizes, 0.5, 1, p["size_ratio"]),
                    kc.aligned_targets(m_dev, *g_sizes, 0.5, 1, p["size_ratio"]), strict=True):
        np.testing.assert_array_equal(h, g.get())
    lines = kc.random_permutations(len(p["dict_src"]), repeats, seed)
    pairs = np.asarray(p["dict_src"]), np.asarray(p["dict_tgt"])
    np.testing.assert_array_equal(
        kc.shuffled_lines_best_matches(a_src, *pairs, a_tgt, lines, *sizes, p["size_ratio"]),
        kc.shuffled_lines_best_matches(g_src, *(cp.asarray(a) for a in pairs), g_tgt, lines, *g_sizes,
                                       p["size_ratio"]).get())
    for h, g in zip(kc.cluster_type_counts(p["src_labels"], p["src_types"], p["k_src"], p["v_src"]),
                    kc.cluster_type_counts(on_gpu["src_labels"], on_gpu["src_types"], p["k_src"], p["v_src"]),
                    strict=True):
        np.testing.assert_array_equal(h, g.get())
