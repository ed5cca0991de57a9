"""Precision, recall and AER on hand-made gold sets."""

from __future__ import annotations

import math

import pytest

from engine.align import Links, alignment_quality


def test_sure_and_possible_counts_worked_by_hand():
    predicted = Links.from_pairs([[(0, 0), (1, 1), (2, 2)], [(0, 1)]])
    sure = Links.from_pairs([[(0, 0), (1, 2)], [(0, 1), (1, 0)]])
    possible = Links.from_pairs([[(1, 1)], []])
    q = alignment_quality(predicted, sure, possible)
    # A = 4 links; A∩S = {(0,0,0), (1,0,1)} = 2; P = S ∪ {(0,1,1)} so A∩P = 3; |S| = 4.
    assert (q.n_predicted, q.n_sure, q.n_possible, q.n_sure_found, q.n_possible_found) == (4, 4, 5, 2, 3)
    assert q.precision == pytest.approx(3 / 4)
    assert q.recall == pytest.approx(2 / 4)
    assert q.aer == pytest.approx(1 - (2 + 3) / (4 + 4))


def test_perfect_and_disjoint():
    gold = Links.from_pairs([[(0, 0), (1, 1)]])
    perfect = alignment_quality(gold, gold)
    assert (perfect.precision, perfect.recall, perfect.aer) == (1.0, 1.0, 0.0)
    wrong = alignment_quality(Links.from_pairs([[(0, 1)]]), gold)
    assert (wrong.precision, wrong.recall, wrong.aer) == (0.0, 0.0, 1.0)


def test_empty_prediction_is_nan_precision():
    q = alignment_quality(Links.from_pairs([[]]), Links.from_pairs([[(0, 0)]]))
    assert math.isnan(q.precision) and q.recall == 0.0 and q.aer == 1.0
