"""Clusterings seen as sets of word types (what CALIGN compares)."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from engine.errors import BabelscopeError, InputDataError, param_message

__all__ = ["TypeClusters", "natural_order"]


def natural_order(names: Sequence[str]) -> list[str]:
    """Cluster names in numeric order when all are integers, else in order of first appearance."""
    unique = list(dict.fromkeys(names))
    try:
        return sorted(unique, key=int)
    except ValueError:
        return unique


def _int_array(name: str, owner: str, values) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1 or not (array.size == 0 or np.issubdtype(array.dtype, np.integer)):
        raise BabelscopeError(param_message(name, owner, "a 1-D integer array", f"{array.dtype} {array.shape}"))
    return array.astype(np.int64)


@dataclass(frozen=True)
class TypeClusters:
    """Cluster ``labels[i]`` contains word type ``types[i]``; pairs are unique, a type may be in many clusters.

    labels, types: int64 [n_pairs]; names: str [K] (cluster names, reported back); vocab: str [V] or None
    (type id -> word; needed to look words up in a :class:`~engine.dictionary.Dictionary`).
    Empty clusters (a name with no pair) are kept: they count as clusters of size 0, never aligned.
    """

    labels: np.ndarray
    types: np.ndarray
    n_clusters: int
    n_types: int
    names: list[str]
    vocab: list[str] | None = None

    @classmethod
    def from_tokens(cls, labels, types, n_clusters: int | None = None, n_types: int | None = None,
                    names: Sequence[str] | None = None, vocab: Sequence[str] | None = None) -> TypeClusters:
        """From per-token cluster labels and type ids (int [n_tokens] each); repeated tokens collapse."""
        owner = "TypeClusters.from_tokens"
        labels, types = _int_array("labels", owner, labels), _int_array("types", owner, types)
        if labels.shape != types.shape:
            raise BabelscopeError(param_message("types", owner, f"one per token ({labels.shape[0]})",
                                                f"{types.shape[0]} values"))
        k = int(labels.max()) + 1 if n_clusters is None and labels.size else int(n_clusters or 0)
        v = n_types if n_types is not None else (len(vocab) if vocab is not None else
                                                 (int(types.max()) + 1 if types.size else 0))
        for name, values, bound in (("labels", labels, k), ("types", types, v)):
            if values.size and (values.min() < 0 or values.max() >= bound):
                raise BabelscopeError(param_message(name, owner, f"in [0, {bound})",
                                                    f"values in [{values.min()}, {values.max()}]"))
        if names is not None and len(names) != k:
            raise BabelscopeError(param_message("names", owner, f"one per cluster ({k})", f"{len(names)} names"))
        if vocab is not None and len(vocab) != v:
            raise BabelscopeError(param_message("vocab", owner, f"one word per type ({v})", f"{len(vocab)} words"))
        key = np.unique(labels * max(v, 1) + types)
        return cls(key // max(v, 1), key % max(v, 1), k, int(v),
                   [str(n) for n in names] if names is not None else [str(i) for i in range(k)],
                   list(vocab) if vocab is not None else None)

    @classmethod
    def from_words(cls, words: Sequence[str], clusters: Sequence[Hashable],
                   names: Sequence[str] | None = None) -> TypeClusters:
        """From parallel (word, cluster name) lists, e.g. the lines of a cluster file.

        The vocabulary is the words in order of first appearance; clusters are ordered by ``names`` when
        given (names absent from ``clusters`` become empty clusters), else by :func:`natural_order`.
        """
        if len(words) != len(clusters):
            raise BabelscopeError(param_message("clusters", "TypeClusters.from_words",
                                                f"one per word ({len(words)})", f"{len(clusters)} names"))
        cluster_names = [str(c) for c in clusters]
        order = [str(n) for n in names] if names is not None else natural_order(cluster_names)
        cluster_index = {name: i for i, name in enumerate(order)}
        missing = [n for n in dict.fromkeys(cluster_names) if n not in cluster_index]
        if missing:
            raise InputDataError(param_message("names", "TypeClusters.from_words",
                                               "a list holding every cluster name", f"it lacks {missing[:3]}"))
        vocab = list(dict.fromkeys(words))
        word_index = {w: i for i, w in enumerate(vocab)}
        labels = np.fromiter((cluster_index[c] for c in cluster_names), np.int64, len(cluster_names))
        types = np.fromiter((word_index[w] for w in words), np.int64, len(words))
        return cls.from_tokens(labels, types, len(order), len(vocab), order, vocab)

    @classmethod
    def from_type_map(cls, mapping: Mapping[str, Hashable]) -> TypeClusters:
        """From a word -> cluster name map (each word in one cluster)."""
        return cls.from_words(list(mapping.keys()), list(mapping.values()))

    def sizes(self) -> np.ndarray:
        """Types per cluster: int64 [K]."""
        return np.bincount(self.labels, minlength=self.n_clusters).astype(np.int64)
