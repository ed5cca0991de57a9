"""Literal, loop-by-loop implementations of the definitions (design.md §5), written for the tests only."""

from __future__ import annotations

import numpy as np


def clusters_as_sets(labels, types, n_clusters):
    """Cluster k = the set of types of the tokens labelled k."""
    sets = [set() for _ in range(n_clusters)]
    for label, word in zip(labels, types, strict=True):
        sets[int(label)].add(int(word))
    return sets


def translations_of(src_types, tgt_types):
    table = {}
    for s, t in zip(src_types, tgt_types, strict=True):
        table.setdefault(int(s), set()).add(int(t))
    return table


def match_counts(src_sets, tgt_sets, table):
    """m(S, T) = number of source types in S with at least one translation in T."""
    out = np.zeros((len(src_sets), len(tgt_sets)), dtype=np.int64)
    for i, source in enumerate(src_sets):
        for j, target in enumerate(tgt_sets):
            for word in source:
                for translation in table.get(word, ()):
                    if translation in target:
                        out[i, j] += 1
                        break
    return out


def best_matches(counts, src_sets, tgt_sets, size_ratio):
    best_t = np.full(len(src_sets), -1, dtype=np.int64)
    best_m = np.zeros(len(src_sets), dtype=np.int64)
    for i, source in enumerate(src_sets):
        for j, target in enumerate(tgt_sets):
            m = counts[i, j]
            if m <= 0:
                continue
            if size_ratio is not None and not len(source) / len(target) > size_ratio:
                continue
            if m > best_m[i]:
                best_t[i], best_m[i] = j, m
    return best_t, best_m


def label_language_counts(labels, langs, n_clusters, n_langs):
    out = np.zeros((n_clusters, n_langs), dtype=np.int64)
    for label, lang in zip(labels, langs, strict=True):
        out[int(label), int(lang)] += 1
    return out
