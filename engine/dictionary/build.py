"""Dictionaries built from word links: count(s, t), p(t | s) = count(s, t) / Σ_t' count(s, t').

Entries are ordered by source type id (first-seen corpus order), then by rank: probability descending,
ties by count descending, then by target word (code-point order). ``p`` is computed over *all* links of the
source word, before ``min_count`` / ``min_prob`` / ``top_n`` cut entries, so the probabilities of a built
dictionary sum to 1 per source word only when nothing was cut.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.dictionary.types import Dictionary
from engine.errors import ConfigError, InputDataError, param_message

if TYPE_CHECKING:
    from engine.align.links import Links
    from engine.align.store import CorpusTokens

__all__ = ["build_dictionary", "dictionary_from_links", "group_rank", "word_order"]


def group_rank(groups: np.ndarray) -> np.ndarray:
    """int64 [n]: 0-based occurrence index of each element among equal ``groups`` values, in array order.

    ``group_rank([5, 3, 5, 5, 3]) == [0, 0, 1, 2, 1]``.
    """
    groups = np.asarray(groups)
    n = groups.shape[0]
    if n == 0:
        return np.zeros(0, np.int64)
    order = np.argsort(groups, kind="stable")
    sorted_groups = groups[order]
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    first = np.repeat(starts, np.diff(np.r_[starts, n]))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n, dtype=np.int64) - first
    return rank


def word_order(vocab: Sequence[str]) -> np.ndarray:
    """int64 [n_types]: position of each word in code-point (``sorted``) order."""
    order = np.argsort(np.asarray(list(vocab), dtype=str), kind="stable") if len(vocab) else np.zeros(0, np.int64)
    position = np.empty(len(vocab), dtype=np.int64)
    position[order] = np.arange(len(vocab), dtype=np.int64)
    return position


def _check_options(top_n: int | None, min_count: int, min_prob: float) -> None:
    if top_n is not None and (not isinstance(top_n, int) or isinstance(top_n, bool) or top_n < 1):
        raise ConfigError(param_message("top_n", "build_dictionary", "a positive integer or None", top_n))
    if not isinstance(min_count, int) or isinstance(min_count, bool) or min_count < 1:
        raise ConfigError(param_message("min_count", "build_dictionary", "an integer >= 1", min_count))
    if not (isinstance(min_prob, int | float) and 0.0 <= float(min_prob) <= 1.0):
        raise ConfigError(param_message("min_prob", "build_dictionary", "a number in [0, 1]", min_prob))


def build_dictionary(src_type: np.ndarray, tgt_type: np.ndarray, src_vocab: Sequence[str], tgt_vocab: Sequence[str],
                     *, top_n: int | None = None, min_count: int = 1, min_prob: float = 0.0,
                     meta: dict[str, Any] | None = None) -> Dictionary:
    """A dictionary from one (source type, target type) pair per link.

    src_type, tgt_type: int [n_links] type ids into ``src_vocab`` / ``tgt_vocab``. Keeps entries with
    ``count >= min_count`` and ``p >= min_prob``, then the ``top_n`` best per source word (all if None).
    """
    _check_options(top_n, min_count, min_prob)
    s = np.asarray(src_type, dtype=np.int64).ravel()
    t = np.asarray(tgt_type, dtype=np.int64).ravel()
    if s.shape != t.shape:
        raise InputDataError(f"build_dictionary needs one target type per link: {s.shape[0]} source types != "
                             f"{t.shape[0]} target types")
    for name, ids, vocab in (("src_type", s, src_vocab), ("tgt_type", t, tgt_vocab)):
        if ids.size and (ids.min() < 0 or ids.max() >= len(vocab)):
            bad = int(ids[(ids < 0) | (ids >= len(vocab))][0])
            raise InputDataError(param_message(name, "build_dictionary", f"in [0, {len(vocab)}) (vocabulary size)",
                                               bad))
    src_ids, tgt_ids, count, prob, rank = _count(s, t, len(tgt_vocab), word_order(tgt_vocab), top_n, min_count,
                                                 min_prob)
    info = {"mode": "sorted", "source": "links", "top_n": top_n, "min_count": min_count, "min_prob": min_prob,
            "n_links": int(s.shape[0]), **(meta or {})}
    return Dictionary([src_vocab[i] for i in src_ids.tolist()], [tgt_vocab[i] for i in tgt_ids.tolist()], prob,
                      count, rank, info)


def _count(s: np.ndarray, t: np.ndarray, n_tgt: int, tgt_order: np.ndarray, top_n: int | None, min_count: int,
           min_prob: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Unique pairs with count, p(t|s) and rank, sorted by (source, rank); filters applied."""
    if s.size == 0:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty, np.zeros(0, np.float64), np.zeros(0, np.int32)
    keys, count = np.unique(s * np.int64(n_tgt) + t, return_counts=True)
    src_ids, tgt_ids = keys // n_tgt, keys % n_tgt
    totals = np.bincount(src_ids, weights=count)  # float64 per source type
    prob = count / totals[src_ids]
    keep = (count >= min_count) & (prob >= min_prob)
    src_ids, tgt_ids, count, prob = src_ids[keep], tgt_ids[keep], count[keep], prob[keep]
    order = np.lexsort((tgt_order[tgt_ids], -count, -prob, src_ids))
    src_ids, tgt_ids, count, prob = src_ids[order], tgt_ids[order], count[order], prob[order]
    rank = group_rank(src_ids)
    if top_n is not None:
        top = rank < top_n
        src_ids, tgt_ids, count, prob, rank = src_ids[top], tgt_ids[top], count[top], prob[top], rank[top]
    return src_ids, tgt_ids, count.astype(np.int64), prob.astype(np.float64), rank.astype(np.int32)


def dictionary_from_links(links: Links, src_tokens: CorpusTokens, tgt_tokens: CorpusTokens, *,
                          top_n: int | None = None, min_count: int = 1, min_prob: float = 0.0) -> Dictionary:
    """Build the dictionary of ``links`` over two languages of a store's corpus (see :func:`build_dictionary`)."""
    links.check_bounds(src_tokens.lengths, tgt_tokens.lengths, f"links {src_tokens.lang}-{tgt_tokens.lang}")
    src_type = src_tokens.type_id[src_tokens.token_index(links.sentence, links.src)]
    tgt_type = tgt_tokens.type_id[tgt_tokens.token_index(links.sentence, links.tgt)]
    return build_dictionary(src_type, tgt_type, src_tokens.vocab, tgt_tokens.vocab, top_n=top_n,
                            min_count=min_count, min_prob=min_prob,
                            meta={"languages": [src_tokens.lang, tgt_tokens.lang]})
