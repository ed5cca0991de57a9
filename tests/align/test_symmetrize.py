"""Symmetrisation on hand-made link sets with answers worked out by hand, and against a literal transcription
of Koehn's grow-diag-final-and pseudo-code."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.align import Links, grow_diag_final_and_pairs, symmetrize
from engine.errors import ConfigError


def as_set(links: Links) -> set[tuple[int, int, int]]:
    return set(zip(links.sentence.tolist(), links.src.tolist(), links.tgt.tolist(), strict=True))


# Sentence 0: (1,3) is in the union but its source word 1 is aligned: final-AND refuses it (final would take it);
#             (2,4) has both words unaligned: final-and takes it; (3,1) shares target 1: refused.
FWD_0 = [(0, 0), (1, 1), (1, 3)]
REV_0 = [(0, 0), (1, 1), (3, 1), (2, 4)]
GDFA_0 = [(0, 0), (1, 1), (2, 4)]
# Sentence 1: growth from (1,1) adds (2,1) (source 2 unaligned) then (1,2) (target 2 unaligned); the diagonal
#             neighbour (2,2) comes last and by then both its words are aligned, so it stays out.
FWD_1 = [(1, 1), (2, 1), (2, 2)]
REV_1 = [(1, 1), (1, 2)]
GDFA_1 = [(1, 1), (1, 2), (2, 1)]
# Sentence 2: a diagonal chain grows from the intersection point (0,0) through (1,1) to (2,2); (0,3) is far away.
FWD_2 = [(0, 0), (1, 1), (2, 2), (0, 3)]
REV_2 = [(0, 0)]
GDFA_2 = [(0, 0), (1, 1), (2, 2)]


@pytest.mark.parametrize(("fwd", "rev", "expected"), [(FWD_0, REV_0, GDFA_0), (FWD_1, REV_1, GDFA_1),
                                                       (FWD_2, REV_2, GDFA_2)])
def test_grow_diag_final_and_known_answers(fwd, rev, expected):
    assert grow_diag_final_and_pairs(fwd, rev) == expected


def test_links_level_methods_on_three_sentences():
    forward = Links.from_pairs([FWD_0, FWD_1, FWD_2])
    reverse = Links.from_pairs([REV_0, REV_1, REV_2])
    expected = {(s, i, j) for s, pairs in enumerate([GDFA_0, GDFA_1, GDFA_2]) for i, j in pairs}
    assert as_set(symmetrize(forward, reverse)) == expected
    assert as_set(symmetrize(forward, reverse, "intersection")) == {(0, 0, 0), (0, 1, 1), (1, 1, 1), (2, 0, 0)}
    assert as_set(symmetrize(forward, reverse, "union")) == as_set(forward) | as_set(reverse)
    assert len(symmetrize(forward, reverse, "union")) == 3 + 4 - 2 + 3 + 2 - 1 + 4 + 1 - 1


def test_empty_and_one_sided_sentences():
    forward = Links.from_pairs([[], [(0, 0)], []])
    reverse = Links.from_pairs([[], [], [(1, 1)]])
    assert as_set(symmetrize(forward, reverse)) == {(1, 0, 0), (2, 1, 1)}  # final-and takes lone links
    assert len(symmetrize(forward, reverse, "intersection")) == 0
    assert len(symmetrize(Links.from_pairs([]), Links.from_pairs([]))) == 0


def test_unknown_method_message():
    with pytest.raises(ConfigError) as err:
        symmetrize(Links.from_pairs([]), Links.from_pairs([]), "grow-diag")
    assert str(err.value) == ("method of symmetrize must be one of grow-diag-final-and|intersection|union; "
                              "got 'grow-diag'")


def literal_gdfa(fwd: set, rev: set, n_src: int, n_tgt: int) -> set:
    """Koehn's pseudo-code, line by line (the e/f double loops included)."""
    neighbouring = ((-1, 0), (0, -1), (1, 0), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1))
    alignment = fwd & rev
    union = fwd | rev

    def aligned_e(e):
        return any(a == e for a, _ in alignment)

    def aligned_f(f):
        return any(b == f for _, b in alignment)

    added = True
    while added:
        added = False
        for e in range(n_src):
            for f in range(n_tgt):
                if (e, f) in alignment:
                    for de, df in neighbouring:
                        e_new, f_new = e + de, f + df
                        if (not aligned_e(e_new) or not aligned_f(f_new)) and (e_new, f_new) in union \
                                and (e_new, f_new) not in alignment:
                            alignment.add((e_new, f_new))
                            added = True
    for a in (fwd, rev):
        for e_new in range(n_src):
            for f_new in range(n_tgt):
                if not aligned_e(e_new) and not aligned_f(f_new) and (e_new, f_new) in a:
                    alignment.add((e_new, f_new))
    return alignment


link_sets = st.sets(st.tuples(st.integers(0, 6), st.integers(0, 6)), max_size=20)


@settings(max_examples=300, deadline=None)
@given(link_sets, link_sets)
def test_matches_literal_pseudo_code(fwd, rev):
    result = grow_diag_final_and_pairs(sorted(fwd), sorted(rev))
    assert set(result) == literal_gdfa(set(fwd), set(rev), 7, 7)
    assert (fwd & rev) <= set(result) <= (fwd | rev)
    assert result == sorted(result)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(link_sets, link_sets), min_size=1, max_size=5))
def test_vectorised_methods_equal_set_operations(sentences):
    forward = Links.from_pairs([f for f, _ in sentences])
    reverse = Links.from_pairs([r for _, r in sentences])
    assert as_set(symmetrize(forward, reverse, "intersection")) == as_set(forward) & as_set(reverse)
    assert as_set(symmetrize(forward, reverse, "union")) == as_set(forward) | as_set(reverse)
    expected = {(s, i, j) for s, (f, r) in enumerate(sentences) for i, j in grow_diag_final_and_pairs(sorted(f),
                                                                                                    sorted(r))}
    assert as_set(symmetrize(forward, reverse)) == expected
    same = symmetrize(forward, forward)
    assert as_set(same) == as_set(forward)
