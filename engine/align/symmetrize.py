"""Symmetrisation of forward and reverse word links: intersection, union, grow-diag-final-and.

grow-diag-final-and follows Koehn's description (Moses ``train-model.perl``, *Statistical Machine
Translation* §4.5):

1. start from the intersection of the two directions;
2. grow-diag: repeat until nothing changes — visit the current links in (src, tgt) order, links added during
   a pass included when they come later in that order; add each of the 8 neighbours (horizontal, vertical,
   diagonal) that is in the union and whose source *or* target word is not yet aligned;
3. final-and: for the forward links, then the reverse links, in (src, tgt) order, add a link when *both* its
   words are still unaligned.
"""

from __future__ import annotations

from bisect import insort
from typing import Literal

import numpy as np

from engine.align.links import Links
from engine.errors import ConfigError, param_message

__all__ = ["SYMMETRIZATIONS", "Symmetrization", "grow_diag_final_and_pairs", "symmetrize"]

Symmetrization = Literal["grow-diag-final-and", "intersection", "union"]
SYMMETRIZATIONS: tuple[str, ...] = ("grow-diag-final-and", "intersection", "union")

_NEIGHBOURS = ((-1, 0), (0, -1), (1, 0), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1))


def symmetrize(forward: Links, reverse: Links, method: str = "grow-diag-final-and") -> Links:
    """Combine forward (src→tgt) and reverse (tgt→src) links, both given as (src, tgt) positions."""
    if method not in SYMMETRIZATIONS:
        raise ConfigError(param_message("method", "symmetrize", f"one of {'|'.join(SYMMETRIZATIONS)}", method))
    width = 1 + max([0] + [int(a.max()) for links in (forward, reverse) for a in (links.src, links.tgt)
                           if len(links)])
    fwd_keys, rev_keys = forward.keys(width), reverse.keys(width)
    if method == "intersection":
        return Links.from_keys(np.intersect1d(fwd_keys, rev_keys), width)
    if method == "union":
        return Links.from_keys(np.union1d(fwd_keys, rev_keys), width)
    return _grow_diag_final_and(forward, reverse, width)


def _grow_diag_final_and(forward: Links, reverse: Links, width: int) -> Links:
    n_sentences = 1 + max([-1] + [int(links.sentence.max()) for links in (forward, reverse) if len(links)])
    fwd_bounds, rev_bounds = forward.sentence_bounds(n_sentences), reverse.sentence_bounds(n_sentences)
    fs, ft, rs, rt = forward.src.tolist(), forward.tgt.tolist(), reverse.src.tolist(), reverse.tgt.tolist()
    out_s: list[int] = []
    out_i: list[int] = []
    out_j: list[int] = []
    for s in range(n_sentences):
        fwd = list(zip(fs[fwd_bounds[s]:fwd_bounds[s + 1]], ft[fwd_bounds[s]:fwd_bounds[s + 1]], strict=True))
        rev = list(zip(rs[rev_bounds[s]:rev_bounds[s + 1]], rt[rev_bounds[s]:rev_bounds[s + 1]], strict=True))
        if not fwd and not rev:
            continue
        for i, j in grow_diag_final_and_pairs(fwd, rev):
            out_s.append(s)
            out_i.append(i)
            out_j.append(j)
    return Links.from_arrays(out_s, out_i, out_j)


def grow_diag_final_and_pairs(forward: list[tuple[int, int]], reverse: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """grow-diag-final-and of one sentence pair's links, each a list of ``(src, tgt)``; sorted result."""
    fwd, rev = set(forward), set(reverse)
    union = fwd | rev
    current = sorted(fwd & rev)
    chosen = set(current)
    src_aligned = {i for i, _ in current}
    tgt_aligned = {j for _, j in current}
    candidates = union - chosen
    # Eligibility only shrinks as links are added, so a link already visited can add nothing in a later pass:
    # later passes visit just the links that were inserted before the cursor (same result, less work).
    visited: set[tuple[int, int]] = set()
    added = True
    while added and candidates:
        added = False
        k = 0
        while k < len(current) and candidates:
            i, j = current[k]
            if (i, j) in visited:
                k += 1
                continue
            visited.add((i, j))
            for di, dj in _NEIGHBOURS:
                point = (i + di, j + dj)
                if point in candidates and (point[0] not in src_aligned or point[1] not in tgt_aligned):
                    candidates.discard(point)
                    chosen.add(point)
                    src_aligned.add(point[0])
                    tgt_aligned.add(point[1])
                    insort(current, point)
                    if point < (i, j):  # inserted before the cursor: keep pointing at (i, j)
                        k += 1
                    added = True
            k += 1
    for direction in (sorted(fwd), sorted(rev)):
        for i, j in direction:
            if (i, j) not in chosen and i not in src_aligned and j not in tgt_aligned:
                chosen.add((i, j))
                src_aligned.add(i)
                tgt_aligned.add(j)
    return sorted(chosen)
