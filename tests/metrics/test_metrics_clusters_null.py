"""TypeClusters construction and the CALIGN null recomputed literally from its documented permutations."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import BabelscopeError
from engine.metrics import TypeClusters, calign
from kernels.calign import random_permutations
from tests.metrics import literal


def test_from_tokens_collapses_repeats_and_validates():
    clusters = TypeClusters.from_tokens([1, 1, 0, 1], [2, 2, 0, 0], n_types=4)
    assert clusters.n_clusters == 2 and clusters.sizes().tolist() == [1, 2] and clusters.names == ["0", "1"]
    with pytest.raises(BabelscopeError, match=r"types of TypeClusters.from_tokens must be one per token \(2\)"):
        TypeClusters.from_tokens([0, 1], [0])
    with pytest.raises(BabelscopeError, match=r"types of TypeClusters.from_tokens must be in \[0, 2\)"):
        TypeClusters.from_tokens([0, 1], [0, 2], n_types=2)
    with pytest.raises(BabelscopeError, match=r"names of TypeClusters.from_tokens must be one per cluster \(2\)"):
        TypeClusters.from_tokens([0, 1], [0, 1], names=["a"])
    with pytest.raises(BabelscopeError, match="labels of TypeClusters.from_tokens must be a 1-D integer array"):
        TypeClusters.from_tokens([0.5], [0])


def test_null_equals_literal_values_under_the_documented_permutations():
    rng = np.random.default_rng(4)
    n_src, n_tgt, clustered = 30, 40, 25  # target types 25..39 are in the vocabulary but in no cluster
    src = TypeClusters.from_tokens(rng.integers(0, 6, 60), rng.integers(0, n_src, 60), 6, n_src)
    tgt = TypeClusters.from_tokens(rng.integers(0, 5, 60), rng.integers(0, clustered, 60), 5, n_tgt)
    pairs = (np.repeat(np.arange(n_src), 2), rng.integers(0, n_tgt, 2 * n_src))
    theta, repeats, seed = 0.3, 6, 9
    result = calign(src, tgt, pairs, theta=theta, repeats=repeats, seed=seed, both_directions=False).forward

    sets = lambda c: {str(k): {int(t) for lab, t in zip(c.labels, c.types, strict=True) if lab == k}  # noqa: E731
                      for k in range(c.n_clusters) if (c.labels == k).any()}
    present = np.flatnonzero(np.bincount(tgt.types, minlength=n_tgt) > 0)
    perms = np.tile(np.arange(n_tgt), (repeats, 1))
    perms[:, present] = present[random_permutations(present.shape[0], repeats, seed)]
    for r in range(repeats):
        table: dict[int, list[int]] = {}
        for s, t in zip(pairs[0].tolist(), pairs[1].tolist(), strict=True):
            table.setdefault(s, []).append(int(perms[r, t]))
        aligned = literal.aligned_clusters(sets(src), sets(tgt), table, theta, 0, 0.0)
        assert result.null.null[r] == len(aligned) / len(sets(src))


def test_lines_null_equals_literal_values_under_the_documented_line_shuffles():
    rng = np.random.default_rng(5)
    n_src, n_tgt, clustered = 30, 40, 25
    src = TypeClusters.from_tokens(rng.integers(0, 6, 60), rng.integers(0, n_src, 60), 6, n_src)
    tgt = TypeClusters.from_tokens(rng.integers(0, 5, 60), rng.integers(0, clustered, 60), 5, n_tgt)
    pairs = (np.repeat(np.arange(n_src), 2), rng.integers(0, n_tgt, 2 * n_src))
    theta, repeats, seed = 0.3, 6, 3
    result = calign(src, tgt, pairs, theta=theta, null="lines", repeats=repeats, seed=seed)
    assert result.params["null"] == "lines"

    sets = lambda c: {str(k): {int(t) for lab, t in zip(c.labels, c.types, strict=True) if lab == k}  # noqa: E731
                      for k in range(c.n_clusters) if (c.labels == k).any()}
    lines = random_permutations(pairs[0].shape[0], repeats, seed)
    for direction, (s_clusters, t_clusters, (a, b)) in (("forward", (src, tgt, pairs)),
                                                        ("backward", (tgt, src, (pairs[1], pairs[0])))):
        null = getattr(result, direction).null
        for r in range(repeats):
            table: dict[int, list[int]] = {}
            for i, s in enumerate(a.tolist()):  # entry i takes the target of entry lines[r, i]
                table.setdefault(s, []).append(int(b[lines[r, i]]))
            aligned = literal.aligned_clusters(sets(s_clusters), sets(t_clusters), table, theta, 0, 0.0)
            assert null.null[r] == len(aligned) / len(sets(s_clusters)), (direction, r)


def test_the_two_nulls_differ_where_source_words_share_translations():
    """Every source concept's words share one translation: relabelling target types keeps them together (the
    floor stays high), shuffling lines scatters them (the floor drops)."""
    n = 40
    src = TypeClusters.from_tokens(np.repeat(np.arange(10), 4), np.arange(n), 10, n)  # 10 concepts of 4 words
    tgt = TypeClusters.from_tokens(np.arange(40) % 10, np.arange(40), 10, 40)
    pairs = (np.arange(n), np.arange(n) // 4)  # the 4 words of concept c all translate to target type c
    types = calign(src, tgt, pairs, theta=0.9, null="types", repeats=50, seed=1).forward.null
    lines = calign(src, tgt, pairs, theta=0.9, null="lines", repeats=50, seed=1).forward.null
    assert types.mean == 1.0  # any relabelling keeps each concept's one shared translation: all aligned
    assert lines.mean < 0.1


def test_an_unknown_null_model_is_refused_by_name():
    clusters = TypeClusters.from_tokens([0], [0], 1, 1)
    with pytest.raises(BabelscopeError, match=r"null of calign must be one of types \| lines; got 'words'"):
        calign(clusters, clusters, (np.array([0]), np.array([0])), null="words")
