"""CALIGN: hand-computed cases (ties at thresholds, empty clusters, missing words) and literal-definition checks."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.dictionary import Dictionary
from engine.errors import ConfigError
from engine.metrics import CALIGN_THETAS, TypeClusters, calign
from tests.metrics import literal


def make_dictionary(entries):
    """entries: (src, tgt, prob) in file order; rank = file order among the word's entries."""
    seen: dict[str, int] = {}
    ranks = []
    for src, _, _ in entries:
        ranks.append(seen.get(src, 0))
        seen[src] = ranks[-1] + 1
    return Dictionary([e[0] for e in entries], [e[1] for e in entries], np.array([e[2] for e in entries], float),
                      np.ones(len(entries), np.int64), np.array(ranks, np.int32))


def clusters(mapping):
    """{cluster: [words]} -> TypeClusters."""
    words = [w for ws in mapping.values() for w in ws]
    names = [c for c, ws in mapping.items() for _ in ws]
    return TypeClusters.from_words(words, names, names=list(mapping))


IDENTITY = make_dictionary([(w, w.upper(), 1.0) for w in "abcdefgh"])


def test_match_share_exactly_at_theta_is_not_aligned():
    src = clusters({"s": ["a", "b"]})
    tgt = clusters({"t": ["A", "X"]})
    at = calign(src, tgt, IDENTITY, theta=0.5, repeats=0, both_directions=False).forward
    assert at.match_share.tolist() == [0.5] and at.n_aligned == 0
    assert calign(src, tgt, IDENTITY, theta=0.49, repeats=0, both_directions=False).forward.n_aligned == 1


def test_min_types_and_size_ratio_are_strict():
    src = clusters({"s2": ["a", "b"], "s1": ["c"]})
    tgt = clusters({"t2": ["A", "B"], "t1": ["C"]})
    result = calign(src, tgt, IDENTITY, theta=0.5, min_types=1, repeats=0, both_directions=False).forward
    assert result.eligible.tolist() == [True, False]  # |S| = 1 is not > 1
    assert result.aligned_names() == ["s2"] and result.value == 0.5 and result.value_eligible == 1.0
    assert result.n_single_type == 1
    # |S|/|T| = 2/2 = 1.0 is not > 1.0: t2 is inadmissible for s2; s1/t1 = 1 also not > 1
    strict = calign(src, tgt, IDENTITY, theta=0.0, size_ratio=1.0, repeats=0, both_directions=False).forward
    assert strict.n_aligned == 0 and strict.best_target.tolist() == [-1, -1]


def test_size_ratio_picks_the_best_admissible_target():
    src = clusters({"s": ["a", "b", "c", "d"]})
    tgt = clusters({"big": ["A", "B", "C", "D", "X", "Y"], "small": ["A", "B", "C"]})
    free = calign(src, tgt, IDENTITY, theta=0.7, repeats=0, both_directions=False).forward
    assert free.best_target.tolist() == [0] and free.match_share.tolist() == [1.0]
    ratio = calign(src, tgt, IDENTITY, theta=0.7, size_ratio=1.0, repeats=0, both_directions=False).forward
    assert ratio.best_target.tolist() == [1] and ratio.match_share.tolist() == [0.75] and ratio.n_aligned == 1


def test_empty_clusters_are_reported_and_left_out_of_the_denominator():
    src = TypeClusters.from_tokens(np.array([0, 0, 2]), np.array([0, 1, 2]), n_clusters=4, vocab=["a", "b", "c"])
    tgt = clusters({"t": ["A", "B", "C"]})
    result = calign(src, tgt, IDENTITY, theta=0.5, repeats=0, both_directions=False)
    forward = result.forward
    assert forward.sizes.tolist() == [2, 0, 1, 0]
    assert forward.n_clusters == 2 and forward.n_aligned == 2 and forward.value == 1.0
    assert result.to_dict()["forward"]["n_empty"] == 2


def test_words_missing_from_the_dictionary_count_in_size_but_never_match():
    src = clusters({"s": ["a", "b", "zz", "yy"]})
    tgt = clusters({"t": ["A", "B"]})
    forward = calign(src, tgt, IDENTITY, theta=0.5, repeats=0, both_directions=False).forward
    assert forward.match_share.tolist() == [0.5] and forward.n_aligned == 0
    assert (forward.n_types, forward.n_types_translated) == (4, 2)


def test_dictionary_sharing_no_words_gives_zero_and_a_warning(caplog):
    src, tgt = clusters({"s": ["a"]}), clusters({"t": ["A"]})
    unrelated = make_dictionary([("q", "Q", 1.0)])
    with caplog.at_level(logging.WARNING, logger="engine.metrics.calign"):
        result = calign(src, tgt, unrelated, theta=0.5, repeats=3)
    assert result.forward.value == 0.0 and result.backward.value == 0.0 and result.mean == 0.0
    assert "shares no words" in caplog.text
    assert result.forward.null.null.tolist() == [0.0, 0.0, 0.0] and result.forward.null.p_value == 1.0


def test_reference_mode_takes_file_order_and_default_mode_takes_probability():
    entries = [("a", "X", 0.1), ("a", "A", 0.9)]  # file order disagrees with probability
    src, tgt = clusters({"s": ["a"]}), clusters({"t": ["A"]})
    d = make_dictionary(entries)
    reference = calign(src, tgt, d, theta=0.5, top_n=1, mode="reference", repeats=0, both_directions=False)
    default = calign(src, tgt, d, theta=0.5, top_n=1, repeats=0, both_directions=False)
    assert reference.forward.n_aligned == 0 and default.forward.n_aligned == 1
    assert calign(src, tgt, d, theta=0.5, top_n=2, mode="reference", repeats=0).forward.n_aligned == 1


def test_both_directions_and_their_mean_with_a_reverse_dictionary():
    src = clusters({"s1": ["a", "b"], "s2": ["c"]})
    tgt = clusters({"t1": ["A", "B", "C"]})
    reverse = make_dictionary([("A", "a", 1.0)])
    result = calign(src, tgt, IDENTITY, theta=0.5, reverse_dictionary=reverse, repeats=0)
    assert result.forward.value == 1.0  # s1: 2/2, s2: 1/1
    assert result.backward.match_share.tolist() == [pytest.approx(1 / 3)] and result.backward.value == 0.0
    assert result.mean == 0.5
    symmetric = calign(src, tgt, IDENTITY, theta=0.5, repeats=0)  # forward entries read backwards
    assert symmetric.backward.best_target.tolist() == [0] and symmetric.backward.match_share.tolist() == [2 / 3]


def test_null_is_seeded_and_its_p_value_follows_the_formula():
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(60)]
    labels = rng.integers(0, 6, 60)
    src = TypeClusters.from_words(words, labels.tolist())
    tgt = TypeClusters.from_words([w.upper() for w in words], labels.tolist())
    d = make_dictionary([(w, w.upper(), 1.0) for w in words])
    a = calign(src, tgt, d, theta=0.8, repeats=20, seed=5).forward.null
    b = calign(src, tgt, d, theta=0.8, repeats=20, seed=5).forward.null
    np.testing.assert_array_equal(a.null, b.null)
    assert a.observed == 1.0 and a.mean < 0.5
    assert a.p_value == (1 + np.count_nonzero(a.null >= 1.0)) / 21
    assert a.repeats == 20 and a.corrected == pytest.approx(1.0 - a.mean)


@pytest.mark.parametrize("kwargs, match", [
    ({"theta": 90}, "theta of calign must be a fraction"), ({"top_n": 0}, "top_n of calign"),
    ({"min_types": -1}, "min_types of calign"), ({"size_ratio": float("inf")}, "size_ratio of calign"),
    ({"mode": "file"}, "mode of calign must be one of sorted | reference"),
    ({"repeats": -2}, "repeats of calign"), ({"device": "gpu"}, "device of calign"),
])
def test_bad_parameters_name_themselves(kwargs, match):
    src = clusters({"s": ["a"]})
    with pytest.raises(ConfigError, match=match):
        calign(src, src, IDENTITY, **kwargs)


def test_dictionary_needs_vocabularies():
    src = TypeClusters.from_tokens(np.array([0]), np.array([0]))
    with pytest.raises(ConfigError, match="source clusters of calign must be built with a vocabulary"):
        calign(src, src, IDENTITY)


@st.composite
def problems(draw):
    n_src, n_tgt = draw(st.integers(1, 10)), draw(st.integers(1, 10))
    src_words, tgt_words = [f"s{i}" for i in range(n_src)], [f"t{i}" for i in range(n_tgt)]
    pairs = lambda words, k: draw(st.lists(st.tuples(st.sampled_from(words), st.integers(0, k - 1)),  # noqa: E731
                                           min_size=1, max_size=25))
    src_pairs, tgt_pairs = pairs(src_words, draw(st.integers(1, 5))), pairs(tgt_words, draw(st.integers(1, 5)))
    entries = draw(st.lists(st.tuples(st.sampled_from(src_words + ["zz"]), st.sampled_from(tgt_words + ["ZZ"]),
                                      st.sampled_from([0.1, 0.2, 0.5, 0.9])), max_size=30))
    return dict(src=src_pairs, tgt=tgt_pairs, entries=entries, top_n=draw(st.integers(1, 3)),
                theta=draw(st.sampled_from([0.0, 0.25, 1 / 3, 0.5, 2 / 3, 0.75, 1.0])),
                min_types=draw(st.integers(0, 3)), size_ratio=draw(st.sampled_from([0.0, 0.5, 1.0, 1.5])),
                mode=draw(st.sampled_from(["sorted", "reference"])))


def literal_translations(entries, top_n, mode):
    by_word: dict[str, list] = {}
    for src, tgt, prob in entries:
        by_word.setdefault(src, []).append((tgt, prob))
    if mode == "sorted":
        by_word = {w: sorted(es, key=lambda e: -e[1]) for w, es in by_word.items()}  # stable: file order on ties
    return {w: [t for t, _ in es[:top_n]] for w, es in by_word.items()}


@settings(max_examples=200, deadline=None)
@given(problems())
def test_aligned_sets_and_curves_equal_the_literal_definition(p):
    src = TypeClusters.from_words([w for w, _ in p["src"]], [f"c{k}" for _, k in p["src"]])
    tgt = TypeClusters.from_words([w for w, _ in p["tgt"]], [f"c{k}" for _, k in p["tgt"]])
    sets = lambda pairs: {f"c{k}": {w for w, kk in pairs if kk == k} for _, k in pairs}  # noqa: E731
    table = literal_translations(p["entries"], p["top_n"], p["mode"])
    kwargs = dict(top_n=p["top_n"], min_types=p["min_types"], size_ratio=p["size_ratio"], mode=p["mode"])
    result = calign(src, tgt, make_dictionary(p["entries"]), theta=p["theta"], repeats=0, both_directions=False,
                    **kwargs)
    want = literal.aligned_clusters(sets(p["src"]), sets(p["tgt"]), table, p["theta"], p["min_types"],
                                    p["size_ratio"])
    assert set(result.forward.aligned_names()) == want
    assert result.forward.value == len(want) / len(sets(p["src"]))
    curve = result.forward.curve()
    for theta, count in zip(CALIGN_THETAS, curve.counts, strict=True):
        assert count == len(literal.aligned_clusters(sets(p["src"]), sets(p["tgt"]), table, theta,
                                                     p["min_types"], p["size_ratio"]))
