"""Selection rules on arrays: exact counts on crafted input, and equality with literal transcriptions of the
reference filters (ConceptX ``frequency_filter_data.py``, CALIGN ``parallel_frequency_filter_data.py``)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import ConfigError, InputDataError
from engine.select import calign_links, capped, check_enough_points, colap_rows, keep_sentences


def test_check_enough_points_message():
    check_enough_points(400, 400, "x")
    with pytest.raises(InputDataError) as err:
        check_enough_points(120, 400, "selection colap tiny/encoder/en")
    assert str(err.value) == "selection colap tiny/encoder/en: K=400 must be <= number of points=120"


def test_length_filter_drops_pairs_at_300_words_on_either_side():
    en = np.array([299, 300, 5, 12])
    de = np.array([10, 10, 301, 299])
    assert keep_sentences([en, de]).tolist() == [True, False, False, True]
    assert keep_sentences([en], 6).tolist() == [False, False, True, False]
    with pytest.raises(ConfigError) as err:
        keep_sentences([en], 0)
    assert str(err.value) == "max_sentence_words of select must be a positive integer; got 0"
    with pytest.raises(InputDataError, match=r"different sentence counts \(3 != 4\)"):
        keep_sentences([en, de[:3]])


def test_colap_caps_first_come_and_frequency_thresholds():
    # 20 rows of type 0 over sentences 0..19, then 3 rows of type 1, then 1 row of type 2 in dropped sentence 20
    row_type = np.array([0] * 20 + [1, 1, 1] + [2])
    row_sentence = np.array(list(range(20)) + [21, 21, 22] + [20])
    keep = np.ones(23, dtype=bool)
    keep[20] = False
    counts = np.bincount(row_type[keep[row_sentence]], minlength=3)
    rows = colap_rows(row_type, row_sentence, keep, counts)
    assert rows.tolist() == list(range(15)) + [20, 21, 22]
    assert colap_rows(row_type, row_sentence, keep, counts, max_per_type=2).tolist() == [0, 1, 20, 21]
    assert colap_rows(row_type, row_sentence, keep, counts, min_frequency=4).tolist() == list(range(15))
    assert colap_rows(row_type, row_sentence, keep, counts, delete_frequency=19).tolist() == [20, 21, 22]
    priority = np.linspace(1, 0, 24)  # later rows first
    assert colap_rows(row_type, row_sentence, keep, counts, priority=priority).tolist() == \
        list(range(5, 20)) + [20, 21, 22]


def test_capped_with_priority_ties_fall_back_to_order():
    groups = np.array([0, 0, 0, 1, 0])
    assert capped(groups, 2).tolist() == [True, True, False, True, False]
    assert capped(groups, 2, np.array([0.5, 0.5, 0.1, 0.0, 0.5])).tolist() == [True, False, True, True, False]


def test_calign_pairs_caps_and_missing_vectors():
    # link k: pair (src_type, tgt_type); 18 links of pair (0,0), link 1 has no vector, link 17 in a dropped sentence
    src = np.array([0] * 18 + [1, 1, 2])
    tgt = np.array([0] * 18 + [1, 1, 0])
    counted = np.ones(21, dtype=bool)
    counted[17] = False
    usable = np.ones(21, dtype=bool)
    usable[1] = False
    index, stats = calign_links(src, tgt, counted, usable, 3)
    assert index.tolist() == [0] + list(range(2, 16)) + [18, 19, 20]
    assert stats == {"links": 21, "links_in_kept_sentences": 20, "links_without_vector": 1,
                     "links_below_min_frequency": 0, "links_over_delete_frequency": 0, "links_over_cap": 1,
                     "links_kept": 18, "pairs": 3}
    index, stats = calign_links(src, tgt, counted, usable, 3, min_frequency=2, delete_frequency=5)
    assert index.tolist() == [18, 19]
    assert (stats["links_below_min_frequency"], stats["links_over_delete_frequency"]) == (1, 17)


def reference_colap(types, sentences, keep, cap, min_freq, del_freq):
    """frequency_filter_data.py: word counts over the kept text, then one pass in corpus order."""
    word_count = Counter(t for t, s in zip(types, sentences, strict=True) if keep[s])
    current: Counter = Counter()
    out = []
    for row, (t, s) in enumerate(zip(types, sentences, strict=True)):
        if not keep[s]:
            continue
        if del_freq is not None and word_count[t] > del_freq:
            continue
        if word_count[t] >= min_freq:
            if current[t] < cap:
                out.append(row)
                current[t] += 1
    return out


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 9)), max_size=120), st.integers(1, 6),
       st.integers(0, 4), st.one_of(st.none(), st.integers(0, 20)), st.lists(st.booleans(), min_size=10, max_size=10))
def test_colap_equals_reference_loop(rows, cap, min_freq, del_freq, keep):
    rows = sorted(rows, key=lambda r: r[1])  # rows are in corpus (sentence) order
    types = np.array([t for t, _ in rows], dtype=np.int64)
    sentences = np.array([s for _, s in rows], dtype=np.int64)
    keep = np.array(keep)
    counts = np.bincount(types[keep[sentences]], minlength=6) if len(rows) else np.zeros(6, np.int64)
    got = colap_rows(types, sentences, keep, counts, max_per_type=cap, min_frequency=min_freq,
                     delete_frequency=del_freq)
    assert got.tolist() == reference_colap(types.tolist(), sentences.tolist(), keep, cap, min_freq, del_freq)
    assert all(c <= cap for c in Counter(types[got].tolist()).values())
    assert ((got >= 0) & (got < len(rows))).all() and (np.diff(got) > 0).all()


def reference_calign(pairs, counted, usable, cap, min_freq, del_freq):
    """parallel_frequency_filter_data.py over links in corpus order (links without vectors skipped)."""
    pair_counts = Counter(p for p, c in zip(pairs, counted, strict=True) if c)
    current: Counter = Counter()
    out = []
    for k, (p, c, u) in enumerate(zip(pairs, counted, usable, strict=True)):
        if not c or not u:
            continue
        if del_freq is not None and pair_counts[p] > del_freq:
            continue
        if pair_counts[p] < min_freq:
            continue
        current[p] += 1
        if current[p] <= cap:
            out.append(k)
    return out


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3), st.booleans(), st.booleans()), max_size=100),
       st.integers(1, 5), st.integers(0, 3), st.one_of(st.none(), st.integers(0, 15)))
def test_calign_equals_reference_loop(links, cap, min_freq, del_freq):
    src = np.array([x[0] for x in links], dtype=np.int64)
    tgt = np.array([x[1] for x in links], dtype=np.int64)
    counted = np.array([x[2] for x in links], dtype=bool)
    usable = np.array([x[3] for x in links], dtype=bool)
    index, stats = calign_links(src, tgt, counted, usable, 4, max_per_pair=cap, min_frequency=min_freq,
                                delete_frequency=del_freq)
    pairs = list(zip(src.tolist(), tgt.tolist(), strict=True))
    assert index.tolist() == reference_calign(pairs, counted.tolist(), usable.tolist(), cap, min_freq, del_freq)
    assert all(c <= cap for c in Counter(pairs[k] for k in index.tolist()).values())
    assert stats["links_kept"] == len(index)
