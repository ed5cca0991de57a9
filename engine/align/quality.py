"""Aligner quality against gold links: precision, recall and alignment error rate (Och & Ney 2003).

With predicted links A, sure gold links S and possible gold links P (S ⊆ P; P = S when not given)::

    precision = |A ∩ P| / |A|      recall = |A ∩ S| / |S|      AER = 1 - (|A ∩ S| + |A ∩ P|) / (|A| + |S|)

Counts are pooled over all sentences (micro averages), as alignment papers report them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from engine.align.links import Links
from engine.errors import InputDataError

__all__ = ["AlignmentQuality", "alignment_quality"]


@dataclass(frozen=True)
class AlignmentQuality:
    """Scores of one predicted link set against gold (NaN where a denominator is 0)."""

    precision: float
    recall: float
    aer: float
    n_predicted: int
    n_sure: int
    n_possible: int
    n_sure_found: int
    n_possible_found: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def alignment_quality(predicted: Links, sure: Links, possible: Links | None = None) -> AlignmentQuality:
    """Precision, recall and AER of ``predicted`` against ``sure`` (and ``possible``) gold links.

    Sure links count as possible too (P = S ∪ possible). Only sentences are compared as given: restrict the
    prediction to the gold sentences first when gold covers a subset.
    """
    for name, links in (("predicted", predicted), ("sure", sure), ("possible", possible)):
        if links is not None and not isinstance(links, Links):
            raise InputDataError(f"{name} of alignment_quality must be Links; got {type(links).__name__}")
    every = [predicted, sure] + ([possible] if possible is not None else [])
    width = 1 + max([0] + [int(a.max()) for links in every for a in (links.src, links.tgt) if len(links)])
    a = predicted.keys(width)
    s = sure.keys(width)
    p = np.union1d(s, possible.keys(width)) if possible is not None else s
    a_s = int(np.intersect1d(a, s, assume_unique=True).shape[0])
    a_p = int(np.intersect1d(a, p, assume_unique=True).shape[0])
    n_a, n_s = len(a), len(s)
    precision = a_p / n_a if n_a else float("nan")
    recall = a_s / n_s if n_s else float("nan")
    aer = 1.0 - (a_s + a_p) / (n_a + n_s) if n_a + n_s else float("nan")
    return AlignmentQuality(precision, recall, aer, n_a, n_s, len(p), a_s, a_p)
