"""COLAP: hand-computed cases (ties at θ, empty clusters, N languages) and the literal definition."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import ConfigError
from engine.metrics import COLAP_THETAS, colap
from tests.metrics import literal


def tokens(clusters):
    """{label: [lang, ...]} -> (labels, langs)."""
    labels = [k for k, langs in clusters.items() for _ in langs]
    return np.array(labels), np.array([lang for langs in clusters.values() for lang in langs])


def test_share_exactly_at_theta_does_not_overlap():
    labels, langs = tokens({0: [0, 0, 0, 0, 0, 0, 0, 1, 1, 1], 1: [0] * 6 + [1] * 4})  # 3/10 and 4/10
    result = colap(labels, langs, languages=["en", "de"], theta=0.3, repeats=0)
    assert result.overlapping.tolist() == [False, True] and result.value == 0.5
    assert colap(labels, langs, languages=["en", "de"], theta=0.29, repeats=0).value == 1.0


def test_empty_and_single_language_clusters():
    labels, langs = tokens({0: [0, 1], 2: [1, 1, 1], 3: [0]})
    result = colap(labels, langs, languages=["en", "de"], n_clusters=5, theta=0.3, repeats=0)
    assert result.sizes.tolist() == [2, 0, 3, 1, 0]
    assert result.n_clusters == 3 and result.value == pytest.approx(1 / 3) and result.n_single_language == 2
    assert result.to_dict()["n_empty"] == 2


def test_three_languages_pairwise_matrix_and_every_language_share():
    labels, langs = tokens({0: [0, 1, 2], 1: [0, 0, 1, 1], 2: [2, 2, 2, 0]})
    result = colap(labels, langs, languages=["en", "de", "fr"], theta=0.2, repeats=0)
    # shares: c0 = 1/3 each; c1 = en .5, de .5, fr 0; c2 = en .25, fr .75
    np.testing.assert_allclose(result.pairwise, [[1, 2 / 3, 2 / 3], [2 / 3, 2 / 3, 1 / 3], [2 / 3, 1 / 3, 2 / 3]])
    assert result.value == pytest.approx(1 / 3) and result.overlapping.tolist() == [True, False, False]
    assert result.curve(languages=["en", "fr"]).counts[COLAP_THETAS.index(0.2)] == 2


def test_permuted_languages_are_a_ceiling():
    labels = np.repeat(np.arange(20), 50)
    langs = np.repeat([0, 1], 500)  # every cluster is monolingual
    result = colap(labels, langs, languages=["en", "de"], theta=0.3, repeats=20, seed=7)
    assert result.value == 0.0 and result.n_single_language == 20
    assert result.null.mean > 0.9 and result.null.p_value == 1.0
    again = colap(labels, langs, languages=["en", "de"], theta=0.3, repeats=20, seed=7)
    np.testing.assert_array_equal(result.null.null, again.null.null)


def test_theta_in_percent_is_refused_with_a_hint():
    with pytest.raises(ConfigError, match=r"theta of colap must be a fraction in \[0, 1\] .*got 30 \(a percent\? "
                                          r"the reference's 30 is 0.3 here\)"):
        colap(np.array([0, 0]), np.array([0, 1]), theta=30)
    with pytest.raises(ConfigError, match="languages of colap must be at least two languages"):
        colap(np.array([0, 0]), np.array([0, 0]), languages=["en"])


def test_no_tokens_gives_zero_and_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="engine.metrics.colap"):
        result = colap(np.zeros(0, int), np.zeros(0, int), languages=["en", "de"], repeats=2)
    assert result.value == 0.0 and "no tokens" in caplog.text


@settings(max_examples=150, deadline=None)
@given(st.integers(2, 4).flatmap(lambda n_langs: st.tuples(
    st.just(n_langs), st.lists(st.tuples(st.integers(0, 6), st.integers(0, n_langs - 1)), max_size=60))),
    st.sampled_from([0.0, 0.1, 0.2, 0.25, 1 / 3, 0.5, 0.75]))
def test_value_pairwise_and_curve_equal_the_literal_definition(data, theta):
    n_langs, pairs = data
    labels, langs = np.array([p[0] for p in pairs], int), np.array([p[1] for p in pairs], int)
    result = colap(labels, langs, languages=[f"l{i}" for i in range(n_langs)], n_clusters=7, theta=theta, repeats=0)
    n_clusters = len(set(labels.tolist()))
    want = literal.overlapping_clusters(labels.tolist(), langs.tolist(), range(n_langs), theta)
    assert set(np.flatnonzero(result.overlapping).tolist()) == want
    assert result.value == (len(want) / n_clusters if n_clusters else 0.0)
    for a in range(n_langs):
        for b in range(n_langs):
            both = literal.overlapping_clusters(labels.tolist(), langs.tolist(), {a, b}, theta)
            assert result.pairwise[a, b] == (len(both) / n_clusters if n_clusters else 0.0)
    curve = result.curve()
    for grid_theta, count in zip(COLAP_THETAS, curve.counts, strict=True):
        assert count == len(literal.overlapping_clusters(labels.tolist(), langs.tolist(), range(n_langs),
                                                         grid_theta))
