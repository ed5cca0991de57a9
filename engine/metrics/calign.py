"""CALIGN: how many source concepts (clusters of word types) have a translation-equivalent target concept.

Definition (design.md §5, from the released reference code): m(S, T) = number of source types in S with at
least one of their top-N translations in T. S is aligned to T iff ``m(S,T)/|S| > theta`` and
``|S| > min_types`` and ``|S|/|T| > size_ratio`` (all strict, float division, sizes in types).
Value = aligned source clusters / non-empty source clusters. (The reference prints the number of source
clusters under "Aligned Clusters"; we count the aligned ones.)

Top-N (the mode names are the dictionary readers'): ``mode="sorted"`` (default) ranks each word's entries by
probability, descending (NaN last; ties keep the dictionary's rank), ``mode="reference"`` keeps
``Dictionary.rank`` as read — ``engine.dictionary.read_reference(path, mode="reference")`` ranks by file
order, which is what the reference does ("the first N lines" of each word); probabilities are then ignored.

Null (``repeats`` > 0), a floor reported as mean ± sd and an empirical p-value beside the value; two models,
named in every row (``baseline_kind``):

* ``null="types"`` (``shuffled-dictionary-types``, default): the dictionary's target *types* are relabelled
  by a permutation of the types present in the target clustering. It keeps the dictionary's structure:
  every source word keeps its number of translations, source words that share a translation still share
  one, and translations to absent types stay absent (coverage is unchanged); only which concept they land
  in is random.
* ``null="lines"`` (``shuffled-dictionary-lines``): the target column of the dictionary's top-N entries is
  shuffled across entries, as shuffling the lines of a dictionary file does. Every source word keeps its
  number of entries and the target column its multiset, but shared translations are broken apart and an
  entry may move onto or off a target type absent from the clustering. It is usually the lower floor (the
  types null keeps the co-translation that lets words of one concept land together by chance).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.device import array_device, array_module
from engine.dictionary import Dictionary
from engine.errors import BabelscopeError, ConfigError, param_message
from engine.metrics.clusters import TypeClusters
from engine.metrics.curves import CALIGN_THETAS, Curve, threshold_curve
from engine.metrics.significance import (
    DEFAULT_REPEATS,
    Significance,
    check_repeats,
    check_seed,
    significance,
)
from kernels import calign as kc
from kernels._cupy import to_device, to_host

log = logging.getLogger(__name__)

__all__ = ["MODES", "NULLS", "CalignDirection", "CalignResult", "calign", "dictionary_pairs"]

MODES = ("sorted", "reference")
NULLS = ("types", "lines")  # the null models (see the module docstring)
Pairs = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class CalignDirection:
    """One direction (source -> target). Per-cluster arrays are [K] over the source clusters.

    best_target: index of the admissible target with the most matches (-1: none); match_share = best_count/size.
    targets: every aligned (source, target) pair, two int64 [n_pairs] by source then target (a source cluster
    is aligned iff it has at least one; the reference lists them all).
    """

    source_names: list[str]
    target_names: list[str]
    sizes: np.ndarray
    best_target: np.ndarray
    best_count: np.ndarray
    match_share: np.ndarray
    eligible: np.ndarray
    aligned: np.ndarray
    n_types: int
    n_types_translated: int
    null: Significance | None = None
    null_eligible: Significance | None = None
    targets: tuple[np.ndarray, np.ndarray] = (np.zeros(0, np.int64), np.zeros(0, np.int64))

    @property
    def n_clusters(self) -> int:
        return int(np.count_nonzero(self.sizes))

    @property
    def n_eligible(self) -> int:
        return int(np.count_nonzero(self.eligible))

    @property
    def n_aligned(self) -> int:
        return int(np.count_nonzero(self.aligned))

    @property
    def n_single_type(self) -> int:
        return int(np.count_nonzero(self.sizes == 1))

    @property
    def value(self) -> float:
        """Aligned / non-empty source clusters (0 when there are none)."""
        return self.n_aligned / self.n_clusters if self.n_clusters else 0.0

    @property
    def value_eligible(self) -> float:
        """Aligned / eligible source clusters (|S| > min_types); NaN when none is eligible."""
        return self.n_aligned / self.n_eligible if self.n_eligible else math.nan

    def aligned_names(self) -> list[str]:
        return [self.source_names[i] for i in np.flatnonzero(self.aligned)]

    def target_lists(self) -> list[list[int]]:
        """The aligned target clusters of every source cluster (indices, ascending; empty: not aligned)."""
        out: list[list[int]] = [[] for _ in self.source_names]
        for s, t in zip(self.targets[0].tolist(), self.targets[1].tolist(), strict=True):
            out[s].append(t)
        return out

    def curve(self, thetas=CALIGN_THETAS, eligible_only: bool = False) -> Curve:
        """The value at every θ of ``thetas`` from the match shares (same strict test as :func:`calign`)."""
        return threshold_curve(self.match_share[self.eligible], thetas,
                               self.n_eligible if eligible_only else self.n_clusters)

    def to_dict(self, per_cluster: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "value": self.value, "value_eligible": None if math.isnan(self.value_eligible) else self.value_eligible,
            "n_clusters": self.n_clusters, "n_eligible": self.n_eligible, "n_aligned": self.n_aligned,
            "n_single_type": self.n_single_type, "n_empty": int(self.sizes.shape[0] - self.n_clusters),
            "n_types": self.n_types, "n_types_translated": self.n_types_translated,
            "null": self.null.to_dict() if self.null else None,
            "null_eligible": self.null_eligible.to_dict() if self.null_eligible else None,
            "curve": self.curve().to_dict(),
        }
        if per_cluster:
            out["clusters"] = [
                {"name": n, "size": int(s), "best_target": self.target_names[t] if t >= 0 else None,
                 "match_share": float(f), "eligible": bool(e), "aligned": bool(a),
                 "targets": [self.target_names[j] for j in ts]}
                for n, s, t, f, e, a, ts in zip(self.source_names, self.sizes, self.best_target, self.match_share,
                                                self.eligible, self.aligned, self.target_lists(), strict=True)]
        return out


@dataclass(frozen=True)
class CalignResult:
    """Forward (source -> target) and, unless asked otherwise, backward (target -> source) CALIGN."""

    forward: CalignDirection
    backward: CalignDirection | None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def value(self) -> float:
        return self.forward.value

    @property
    def mean(self) -> float:
        """Mean of both directions' values (the forward value when only one direction ran)."""
        return self.forward.value if self.backward is None else (self.forward.value + self.backward.value) / 2

    def to_dict(self, per_cluster: bool = False) -> dict[str, Any]:
        return {"metric": "calign", "params": self.params, "value": self.value, "mean": self.mean,
                "forward": self.forward.to_dict(per_cluster),
                "backward": self.backward.to_dict(per_cluster) if self.backward else None}


def _check_params(theta, top_n, min_types, size_ratio, mode, null, repeats, seed) -> None:
    owner = "calign"
    if isinstance(theta, bool) or not isinstance(theta, int | float) or not 0 <= theta <= 1:
        raise ConfigError(param_message("theta", owner, "a fraction in [0, 1] (0.9 = 90 %)", theta))
    if isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 1:
        raise ConfigError(param_message("top_n", owner, "a positive integer", top_n))
    if isinstance(min_types, bool) or not isinstance(min_types, int) or min_types < 0:
        raise ConfigError(param_message("min_types", owner, "a non-negative integer", min_types))
    if isinstance(size_ratio, bool) or not isinstance(size_ratio, int | float) or not 0 <= size_ratio < math.inf:
        raise ConfigError(param_message("size_ratio", owner, "a finite number >= 0", size_ratio))
    if mode not in MODES:
        raise ConfigError(param_message("mode", owner, "one of " + " | ".join(MODES), mode))
    if null not in NULLS:
        raise ConfigError(param_message("null", owner, "one of " + " | ".join(NULLS), null))
    check_repeats(repeats, owner)
    check_seed(seed, owner)


def _rank_by_probability(dictionary: Dictionary) -> Dictionary:
    """Rank each source word's entries by descending probability (NaN last), ties by the dictionary's rank."""
    if len(dictionary) == 0:
        return dictionary
    _, word = np.unique(np.asarray(dictionary.src, dtype=object), return_inverse=True)
    prob = np.where(np.isnan(dictionary.prob), np.inf, -dictionary.prob)
    order = np.lexsort((dictionary.rank, prob, word))
    start = np.r_[0, np.flatnonzero(np.diff(word[order])) + 1]
    position = np.arange(order.shape[0]) - np.repeat(start, np.diff(np.r_[start, order.shape[0]]))
    rank = np.empty(order.shape[0], dtype=np.int32)
    rank[order] = position
    return Dictionary(dictionary.src, dictionary.tgt, dictionary.prob, dictionary.count, rank, dictionary.meta)


def dictionary_pairs(dictionary: Dictionary | Pairs, src: TypeClusters, tgt: TypeClusters, top_n: int,
                     mode: str = "sorted") -> Pairs:
    """The top-N entries as (source type, target type) int64 arrays over the clusterings' vocabularies.

    A :class:`Dictionary` is cut to top-N (see the module docstring for ``mode``) before words are looked up,
    so entries of words outside the clusterings still take their rank slots, as in the reference. A tuple of
    type-id arrays is taken as already cut (``top_n`` and ``mode`` are not applied).
    """
    if isinstance(dictionary, Dictionary):
        for side, clusters in (("source", src), ("target", tgt)):
            if clusters.vocab is None:
                raise ConfigError(param_message(f"{side} clusters", "calign",
                                                "built with a vocabulary to look a Dictionary up", "vocab=None"))
        ranked = dictionary if mode == "reference" else _rank_by_probability(dictionary)
        top = ranked.top(top_n) if len(ranked) else ranked
        return top.type_pairs({w: i for i, w in enumerate(src.vocab)}, {w: i for i, w in enumerate(tgt.vocab)})
    if not isinstance(dictionary, tuple) or len(dictionary) != 2:
        raise ConfigError(param_message("dictionary", "calign", "a Dictionary or a (src_types, tgt_types) tuple",
                                        type(dictionary).__name__))
    pairs = tuple(np.asarray(a, dtype=np.int64).ravel() for a in dictionary)
    if pairs[0].shape != pairs[1].shape:
        raise BabelscopeError(param_message("dictionary", "calign", f"two arrays of one length ({pairs[0].size})",
                                            f"lengths {pairs[0].size} and {pairs[1].size}"))
    for name, values, bound in (("source types", pairs[0], src.n_types), ("target types", pairs[1], tgt.n_types)):
        if values.size and (values.min() < 0 or values.max() >= bound):
            raise BabelscopeError(param_message(f"dictionary {name}", "calign", f"in [0, {bound})",
                                                f"values in [{values.min()}, {values.max()}]"))
    return pairs[0], pairs[1]


def calign(src: TypeClusters, tgt: TypeClusters, dictionary: Dictionary | Pairs, *, theta: float = 0.9,
           top_n: int = 5, min_types: int = 0, size_ratio: float = 0.0, mode: str = "sorted", null: str = "types",
           reverse_dictionary: Dictionary | Pairs | None = None, both_directions: bool = True,
           repeats: int = DEFAULT_REPEATS, seed: int = 0, device: str = "cpu") -> CalignResult:
    """CALIGN of ``src`` against ``tgt`` (and back, unless ``both_directions=False``).

    theta is a fraction in [0, 1]. The backward direction uses ``reverse_dictionary`` (target -> source) when
    given, else the forward top-N entries read backwards. ``repeats`` shuffled-dictionary nulls (0 = none) of
    the ``null`` model (``types`` | ``lines``, see the module docstring), seeded by ``seed``; ``device`` = cpu |
    cuda[:i] | auto picks NumPy or CuPy once for the whole call.
    The defaults of theta and top_n are placeholders (the paper's values are not known); configs set them.
    """
    for name, value in (("src", src), ("tgt", tgt)):
        if not isinstance(value, TypeClusters):
            raise ConfigError(param_message(name, "calign", "a TypeClusters", type(value).__name__))
    _check_params(theta, top_n, min_types, size_ratio, mode, null, repeats, seed)
    xp = array_module(device, "calign")
    forward_pairs = dictionary_pairs(dictionary, src, tgt, top_n, mode)
    params = {"theta": float(theta), "top_n": top_n, "min_types": min_types, "size_ratio": float(size_ratio),
              "mode": mode, "null": null, "repeats": repeats, "seed": seed, "device": device}
    settings = (float(theta), min_types, float(size_ratio), null, repeats, seed)
    with array_device(xp, device):
        forward = _direction(xp, src, tgt, forward_pairs, *settings, "forward")
        backward = None
        if both_directions:
            if reverse_dictionary is None:
                backward_pairs = (forward_pairs[1], forward_pairs[0])
            else:
                backward_pairs = dictionary_pairs(reverse_dictionary, tgt, src, top_n, mode)
            backward = _direction(xp, tgt, src, backward_pairs, *settings, "backward")
    return CalignResult(forward, backward, params)


def _direction(xp: Any, src: TypeClusters, tgt: TypeClusters, pairs: Pairs, theta: float, min_types: int,
               size_ratio: float, null_model: str, repeats: int, seed: int, label: str) -> CalignDirection:
    a_src = kc.membership(to_device(xp, src.labels), to_device(xp, src.types), src.n_clusters, src.n_types)
    a_tgt = kc.membership(to_device(xp, tgt.labels), to_device(xp, tgt.types), tgt.n_clusters, tgt.n_types)
    d = kc.membership(to_device(xp, pairs[0]), to_device(xp, pairs[1]), src.n_types, tgt.n_types)
    size_s, size_t = kc.row_counts(a_src), kc.row_counts(a_tgt)
    matches = kc.match_counts(a_src, d, a_tgt)
    best_t, best_m = kc.best_matches(matches, size_s, size_t, size_ratio)
    targets = tuple(to_host(a) for a in kc.aligned_targets(matches, size_s, size_t, theta, min_types, size_ratio))
    sizes, best_t, best_m = to_host(size_s), to_host(best_t), to_host(best_m)
    share = np.divide(best_m, sizes, out=np.zeros(sizes.shape[0]), where=sizes > 0)
    eligible = sizes > min_types
    aligned = eligible & (share > theta)

    present_s = np.bincount(src.types, minlength=src.n_types) > 0
    present_t = np.bincount(tgt.types, minlength=tgt.n_types) > 0
    translated = np.zeros(src.n_types, dtype=bool)
    translated[pairs[0][present_t[pairs[1]]]] = True
    n_types, n_translated = int(present_s.sum()), int((translated & present_s).sum())
    if sizes.sum() == 0:
        log.warning("CALIGN %s: the source clustering is empty; the value is 0", label)
    elif n_translated == 0:
        log.warning("CALIGN %s: the dictionary shares no words with the clusters (0 of %d source types has a "
                    "translation among the %d target types present); the value is 0", label, n_types,
                    int(present_t.sum()))
    null = null_eligible = None
    if repeats:
        null_m = to_host(_null_matches(xp, null_model, a_src, d, a_tgt, pairs, tgt, size_s, size_t, size_ratio,
                                       repeats, seed))
        null_share = np.divide(null_m, sizes, out=np.zeros(null_m.shape, dtype=np.float64), where=sizes > 0)
        null_aligned = (eligible & (null_share > theta)).sum(axis=1)
        n_clusters, n_eligible = int(np.count_nonzero(sizes)), int(eligible.sum())
        null = significance(aligned.sum() / n_clusters if n_clusters else 0.0,
                            null_aligned / n_clusters if n_clusters else np.zeros(repeats))
        if n_eligible:
            null_eligible = significance(aligned.sum() / n_eligible, null_aligned / n_eligible)
    return CalignDirection(src.names, tgt.names, sizes, best_t, best_m, share, eligible, aligned, n_types,
                           n_translated, null, null_eligible, targets)


def _null_matches(xp: Any, null_model: str, a_src: Any, d: Any, a_tgt: Any, pairs: Pairs, tgt: TypeClusters,
                  size_s: Any, size_t: Any, size_ratio: float, repeats: int, seed: int) -> Any:
    """Best match counts [repeats, K] under the ``null_model`` (see the module docstring)."""
    if null_model == "lines":
        perms = kc.random_permutations(pairs[0].shape[0], repeats, seed)
        return kc.shuffled_lines_best_matches(a_src, to_device(xp, pairs[0]), to_device(xp, pairs[1]), a_tgt,
                                              perms, size_s, size_t, size_ratio)
    present = np.flatnonzero(np.bincount(tgt.types, minlength=tgt.n_types) > 0)
    perms = np.broadcast_to(np.arange(tgt.n_types, dtype=np.int64), (repeats, tgt.n_types)).copy()
    perms[:, present] = present[kc.random_permutations(present.shape[0], repeats, seed)]
    return kc.shuffled_best_matches(a_src, d, a_tgt, perms, size_s, size_t, size_ratio)
