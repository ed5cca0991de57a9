"""Token selection rules on plain arrays (the reference's filters, vectorised).

Reference semantics (ConceptX ``frequency_filter_data.py`` and the CALIGN code's
``parallel_frequency_filter_data.py``; defaults min 0, max 15, delete 10,000,000):

- a sentence pair is dropped when either side has ``>= max_sentence_words`` (300) words;
- a unit (a word type for COLAP, an aligned (src, tgt) word pair for CALIGN) is dropped when its corpus
  frequency is ``< min_frequency`` or ``> delete_frequency``;
- of the rest, at most ``cap`` (``max`` = 15) occurrences per unit are kept, first come in corpus order.
"""

from __future__ import annotations

import numpy as np

from engine.dictionary.build import group_rank
from engine.errors import ConfigError, InputDataError, param_message

__all__ = ["calign_links", "capped", "check_enough_points", "colap_rows", "frequency_mask", "keep_sentences"]


def check_enough_points(n_points: int, k: int, where: str) -> None:
    """Raise InputDataError when a clustering of ``n_points`` points is asked for ``k`` clusters, k > n_points.

    >>> check_enough_points(120, 400, "selection colap me5-small/encoder/en")
    Traceback (most recent call last):
    engine.errors.InputDataError: selection colap me5-small/encoder/en: K=400 must be <= number of points=120
    """
    if k > n_points:
        raise InputDataError(f"{where}: K={k} must be <= number of points={n_points}")


def keep_sentences(lengths: list[np.ndarray], max_words: int = 300) -> np.ndarray:
    """bool [n_sentences]: True where every language has fewer than ``max_words`` words.

    lengths: one int array [n_sentences] of word counts per language.
    """
    if not isinstance(max_words, int) or max_words < 1:
        raise ConfigError(param_message("max_sentence_words", "select", "a positive integer", max_words))
    if not lengths:
        raise InputDataError("keep_sentences needs the sentence lengths of at least one language")
    n = len(lengths[0])
    keep = np.ones(n, dtype=bool)
    for array in lengths:
        if len(array) != n:
            raise InputDataError(f"keep_sentences: languages have different sentence counts ({len(array)} != {n})")
        keep &= np.asarray(array) < max_words
    return keep


def frequency_mask(counts: np.ndarray, min_frequency: int = 0, delete_frequency: int | None = None) -> np.ndarray:
    """bool [n_units]: ``min_frequency <= count`` and (``count <= delete_frequency`` unless None)."""
    ok = np.asarray(counts) >= min_frequency
    if delete_frequency is not None:
        ok &= np.asarray(counts) <= delete_frequency
    return ok


def capped(groups: np.ndarray, cap: int, priority: np.ndarray | None = None) -> np.ndarray:
    """bool [n]: the first ``cap`` elements of each group, in array order or by ascending ``priority``."""
    if not isinstance(cap, int) or cap < 1:
        raise ConfigError(param_message("cap", "capped", "a positive integer", cap))
    groups = np.asarray(groups)
    if priority is None:
        return group_rank(groups) < cap
    n = groups.shape[0]
    order = np.lexsort((np.arange(n), np.asarray(priority), groups))
    keep = np.zeros(n, dtype=bool)
    keep[order] = group_rank(groups[order]) < cap
    return keep


def colap_rows(row_type: np.ndarray, row_sentence: np.ndarray, keep_sentence: np.ndarray, type_counts: np.ndarray,
               *, max_per_type: int = 15, min_frequency: int = 0, delete_frequency: int | None = None,
               priority: np.ndarray | None = None) -> np.ndarray:
    """int64 [n_selected] ascending row indices of the COLAP set of one language.

    row_type, row_sentence: int [n_rows] (the words table, rows in corpus order);
    keep_sentence: bool [n_sentences]; type_counts: int [n_types] corpus frequency of each type over the
    kept sentences; priority: float [n_rows] (seeded sampling) or None (first come).
    """
    row_type = np.asarray(row_type, dtype=np.int64)
    candidate = np.asarray(keep_sentence)[np.asarray(row_sentence, dtype=np.int64)]
    candidate &= frequency_mask(type_counts, min_frequency, delete_frequency)[row_type]
    rows = np.flatnonzero(candidate)
    keep = capped(row_type[rows], max_per_type, None if priority is None else np.asarray(priority)[rows])
    return rows[keep].astype(np.int64)


def calign_links(src_type: np.ndarray, tgt_type: np.ndarray, counted: np.ndarray, usable: np.ndarray,
                 n_tgt_types: int, *, max_per_pair: int = 15, min_frequency: int = 0,
                 delete_frequency: int | None = None) -> tuple[np.ndarray, dict[str, int]]:
    """Indices (int64, in link order) of the links whose tokens enter the CALIGN set, and counts.

    src_type, tgt_type: int [n_links] types of the linked words, links in corpus order;
    counted: bool [n_links] links of kept sentences (they make the pair frequencies);
    usable: bool [n_links] links whose two tokens have a stored vector.
    """
    pair = np.asarray(src_type, dtype=np.int64) * np.int64(max(1, n_tgt_types)) + np.asarray(tgt_type, np.int64)
    counted = np.asarray(counted, dtype=bool)
    keys, freq = np.unique(pair[counted], return_counts=True)
    pair_freq = np.zeros(pair.shape[0], dtype=np.int64)
    pair_freq[counted] = freq[np.searchsorted(keys, pair[counted])]
    low = counted & (pair_freq < min_frequency)
    high = counted & (pair_freq > delete_frequency) if delete_frequency is not None else np.zeros_like(counted)
    eligible = counted & ~low & ~high & np.asarray(usable, dtype=bool)
    index = np.flatnonzero(eligible)
    keep = capped(pair[index], max_per_pair)
    stats = {"links": int(pair.shape[0]), "links_in_kept_sentences": int(counted.sum()),
             "links_without_vector": int((counted & ~np.asarray(usable, dtype=bool)).sum()),
             "links_below_min_frequency": int(low.sum()), "links_over_delete_frequency": int(high.sum()),
             "links_over_cap": int((~keep).sum()), "links_kept": int(keep.sum()),
             "pairs": int(keys.shape[0])}
    return index[keep].astype(np.int64), stats
