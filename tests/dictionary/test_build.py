"""Dictionaries from links: counts, p(t|s), ranking ties, filters; equal to a brute-force count."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.align import Links, corpus_tokens
from engine.corpus import Corpus
from engine.dictionary import build_dictionary, dictionary_from_links, read_store_dictionary, write_store_dictionary
from engine.dictionary.build import group_rank
from engine.errors import ConfigError, InputDataError, StoreError
from engine.store import init_store

SRC_VOCAB = ["God", "said", "light"]
TGT_VOCAB = ["Gott", "sprach", "Licht", "Gottes", "Alpha"]


def entries(d):
    return [(s, t, round(float(p), 6), int(c), int(r)) for s, t, p, c, r in
            zip(d.src, d.tgt, d.prob, d.count, d.rank, strict=True)]


def test_counts_probabilities_and_rank_ties():
    # God: Gott x3, Gottes x1, Alpha x1; said: sprach x2, Licht x2 (tie on p and count -> word order: Licht first)
    src = [0, 0, 0, 0, 0, 1, 1, 1, 1]
    tgt = [0, 3, 0, 4, 0, 1, 2, 2, 1]
    d = build_dictionary(np.array(src), np.array(tgt), SRC_VOCAB, TGT_VOCAB)
    assert entries(d) == [
        ("God", "Gott", 0.6, 3, 0), ("God", "Alpha", 0.2, 1, 1), ("God", "Gottes", 0.2, 1, 2),
        ("said", "Licht", 0.5, 2, 0), ("said", "sprach", 0.5, 2, 1),
    ]
    assert d.meta["mode"] == "sorted" and d.meta["n_links"] == 9
    top1 = d.top(1)
    assert [(s, t) for s, t in zip(top1.src, top1.tgt, strict=True)] == [("God", "Gott"), ("said", "Licht")]


def test_filters_keep_p_of_all_links():
    src = [0, 0, 0, 0, 0, 1, 1, 1, 1]
    tgt = [0, 3, 0, 4, 0, 1, 2, 2, 1]
    d = build_dictionary(np.array(src), np.array(tgt), SRC_VOCAB, TGT_VOCAB, min_count=2)
    assert entries(d) == [("God", "Gott", 0.6, 3, 0), ("said", "Licht", 0.5, 2, 0), ("said", "sprach", 0.5, 2, 1)]
    d = build_dictionary(np.array(src), np.array(tgt), SRC_VOCAB, TGT_VOCAB, min_prob=0.55)
    assert entries(d) == [("God", "Gott", 0.6, 3, 0)]
    d = build_dictionary(np.array(src), np.array(tgt), SRC_VOCAB, TGT_VOCAB, top_n=2)
    assert [e[:2] for e in entries(d)] == [("God", "Gott"), ("God", "Alpha"), ("said", "Licht"), ("said", "sprach")]


def test_bad_options_and_ids():
    with pytest.raises(ConfigError) as err:
        build_dictionary(np.array([0]), np.array([0]), SRC_VOCAB, TGT_VOCAB, top_n=0)
    assert str(err.value) == "top_n of build_dictionary must be a positive integer or None; got 0"
    with pytest.raises(ConfigError, match=r"min_prob of build_dictionary must be a number in \[0, 1\]; got 2"):
        build_dictionary(np.array([0]), np.array([0]), SRC_VOCAB, TGT_VOCAB, min_prob=2)
    with pytest.raises(InputDataError) as err:
        build_dictionary(np.array([0, 7]), np.array([0, 0]), SRC_VOCAB, TGT_VOCAB)
    assert str(err.value) == "src_type of build_dictionary must be in [0, 3) (vocabulary size); got 7"
    assert len(build_dictionary(np.array([], int), np.array([], int), SRC_VOCAB, TGT_VOCAB)) == 0


def test_group_rank():
    assert group_rank(np.array([5, 3, 5, 5, 3])).tolist() == [0, 0, 1, 2, 1]
    assert group_rank(np.array([], dtype=int)).tolist() == []


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 5)), max_size=60))
def test_equals_brute_force(pairs):
    src_vocab = [f"s{i}" for i in range(5)]
    tgt_vocab = ["b", "a", "d", "c", "f", "e"]  # word order differs from id order
    d = build_dictionary(np.array([p[0] for p in pairs], int), np.array([p[1] for p in pairs], int),
                         src_vocab, tgt_vocab)
    counts = Counter(pairs)
    totals = Counter(s for s, _ in pairs)
    expected = []
    for s in sorted(totals):
        items = [(tgt_vocab[t], c / totals[s], c) for (ss, t), c in counts.items() if ss == s]
        items.sort(key=lambda e: (-e[1], -e[2], e[0]))
        expected += [(src_vocab[s], t, p, c, r) for r, (t, p, c) in enumerate(items)]
    got = [(s, t, float(p), int(c), int(r)) for s, t, p, c, r in zip(d.src, d.tgt, d.prob, d.count, d.rank,
                                                                     strict=True)]
    assert got == expected


def tiny_store(tmp_path):
    corpus = Corpus(("en", "de"), {"en": [["God", "said", "light"], ["God", "said"]],
                                   "de": [["Gott", "sprach", "Licht"], ["Gott", "sprach"]]}, ["1", "2"])
    return init_store(tmp_path / "run.zarr", corpus)


def test_from_links_and_store_round_trip(tmp_path):
    root = tiny_store(tmp_path)
    en, de = corpus_tokens(root, "en"), corpus_tokens(root, "de")
    links = Links.from_pairs([[(0, 0), (1, 1), (2, 2)], [(0, 0), (1, 1), (1, 0)]])
    d = dictionary_from_links(links, en, de)
    assert entries(d) == [("God", "Gott", 1.0, 2, 0), ("said", "sprach", 0.666667, 2, 0),
                          ("said", "Gott", 0.333333, 1, 1), ("light", "Licht", 1.0, 1, 0)]
    write_store_dictionary(root, "en", "de", d, {"note": "test"})
    back = read_store_dictionary(root, "en", "de")
    assert entries(back) == entries(d) and back.meta["languages"] == ["en", "de"]
    assert root["dictionaries/en-de"].attrs["complete"] is True
    with pytest.raises(InputDataError, match="links en-de: sentence 1: source index 5 of link '5-0' must be < "
                                             "sentence length 2"):
        dictionary_from_links(Links.from_pairs([[], [(5, 0)]]), en, de)


def test_storing_unknown_words_is_refused(tmp_path):
    root = tiny_store(tmp_path)
    d = build_dictionary(np.array([0]), np.array([0]), ["Satan"], ["Gott"])
    with pytest.raises(StoreError, match="dictionary word 'Satan' is not in vocab/en"):
        write_store_dictionary(root, "en", "de", d)
    with pytest.raises(StoreError, match=r"store has no dictionary en-de \('dictionaries/en-de'\); run `babelscope "
                                         r"align`"):
        read_store_dictionary(root, "en", "de")
