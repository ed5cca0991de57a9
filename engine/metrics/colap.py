"""COLAP: how many clusters of a joint (multilingual) clustering mix the languages.

Definition (design.md §5): cluster C overlaps iff ``n_a(C)/|C| > theta`` and ``n_b(C)/|C| > theta`` (strict,
float division, token counts; |C| counts the tokens of every language). Value = overlapping / non-empty
clusters. **theta is a fraction** (0.3 = 30 %); the reference takes a percent (its 30 is our 0.3).

N languages: ``pairwise[a, b]`` is the share of clusters where languages a and b both pass (the diagonal: a
passes), and ``value`` is the share where *every* language passes (for two languages, the pairwise value).

Null (``repeats`` > 0): language labels permuted over tokens. Random mixing makes nearly every cluster
overlap, so this null is a **ceiling**, not a floor; read it beside ``n_single_language``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.device import array_device, array_module
from engine.errors import BabelscopeError, ConfigError, param_message
from engine.metrics.curves import COLAP_THETAS, Curve, threshold_curve
from engine.metrics.significance import (
    DEFAULT_REPEATS,
    Significance,
    check_repeats,
    check_seed,
    significance,
)
from kernels._cupy import to_device, to_host
from kernels.calign import random_permutations
from kernels.colap import label_language_counts, permuted_label_language_counts

log = logging.getLogger(__name__)

__all__ = ["ColapResult", "colap"]


@dataclass(frozen=True)
class ColapResult:
    """counts: int64 [K, L] tokens per cluster and language; shares: float64 [K, L] (0 for empty clusters)."""

    languages: list[str]
    theta: float
    counts: np.ndarray
    names: list[str]
    null: Significance | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def sizes(self) -> np.ndarray:
        return self.counts.sum(axis=1)

    @property
    def shares(self) -> np.ndarray:
        sizes = self.sizes[:, None]
        return np.divide(self.counts, sizes, out=np.zeros(self.counts.shape), where=sizes > 0)

    @property
    def n_clusters(self) -> int:
        return int(np.count_nonzero(self.sizes))

    @property
    def passes(self) -> np.ndarray:
        """bool [K, L]: language l's share of cluster k is > theta."""
        return self.shares > self.theta

    @property
    def overlapping(self) -> np.ndarray:
        """bool [K]: every language passes."""
        return self.passes.all(axis=1) & (self.sizes > 0)

    @property
    def value(self) -> float:
        return _share(int(self.overlapping.sum()), self.n_clusters)

    @property
    def pairwise(self) -> np.ndarray:
        """float64 [L, L]: share of clusters where languages a and b both pass (diagonal: a passes)."""
        passes = self.passes.astype(np.int64)
        both = passes.T @ passes
        return both / self.n_clusters if self.n_clusters else np.zeros(both.shape)

    @property
    def n_single_language(self) -> int:
        """Non-empty clusters holding tokens of one language only."""
        return int(np.count_nonzero((self.counts > 0).sum(axis=1) == 1))

    def curve(self, thetas=COLAP_THETAS, languages: Sequence[str] | None = None) -> Curve:
        """The value at every θ (every language, or only ``languages``) from the shares, one pass."""
        cols = [self._index(lang) for lang in languages] if languages else list(range(len(self.languages)))
        nonempty = self.sizes > 0
        return threshold_curve(self.shares[nonempty][:, cols].min(axis=1), thetas, self.n_clusters)

    def _index(self, language: str) -> int:
        if language not in self.languages:
            raise ConfigError(param_message("language", "ColapResult.curve", "one of " + ", ".join(self.languages),
                                            language))
        return self.languages.index(language)

    def to_dict(self, per_cluster: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "metric": "colap", "params": self.params, "languages": self.languages, "theta": self.theta,
            "value": self.value, "n_clusters": self.n_clusters, "n_overlapping": int(self.overlapping.sum()),
            "n_empty": int(self.sizes.shape[0] - self.n_clusters), "n_single_language": self.n_single_language,
            "pairwise": self.pairwise.tolist(), "null_ceiling": self.null.to_dict() if self.null else None,
            "curve": self.curve().to_dict(),
        }
        if per_cluster:
            out["clusters"] = [{"name": n, "counts": c.tolist(), "overlapping": bool(o)}
                               for n, c, o in zip(self.names, self.counts, self.overlapping, strict=True)]
        return out


def _share(count: int, total: int) -> float:
    return count / total if total else 0.0


def _check(labels: np.ndarray, langs: np.ndarray, theta, n_langs: int, repeats, seed) -> None:
    owner = "colap"
    for name, array in (("labels", labels), ("langs", langs)):
        if array.ndim != 1 or not (array.size == 0 or np.issubdtype(array.dtype, np.integer)):
            raise BabelscopeError(param_message(name, owner, "a 1-D integer array", f"{array.dtype} {array.shape}"))
    if labels.shape != langs.shape:
        raise BabelscopeError(param_message("langs", owner, f"one per token ({labels.shape[0]})",
                                            f"{langs.shape[0]} values"))
    if isinstance(theta, bool) or not isinstance(theta, int | float) or not 0 <= theta <= 1:
        hint = f" (a percent? the reference's {theta} is {theta / 100:g} here)" if isinstance(theta, int | float) \
            and 1 < theta <= 100 else ""
        raise ConfigError(param_message("theta", owner, "a fraction in [0, 1] (0.3 = 30 %)", theta) + hint)
    if n_langs < 2:
        raise ConfigError(param_message("languages", owner, "at least two languages", n_langs))
    check_repeats(repeats, owner)
    check_seed(seed, owner)


def colap(labels, langs, *, languages: Sequence[str] | None = None, n_clusters: int | None = None,
          names: Sequence[str] | None = None, theta: float = 0.3, repeats: int = DEFAULT_REPEATS, seed: int = 0,
          device: str = "cpu") -> ColapResult:
    """COLAP of a joint clustering: labels int [n_tokens] (cluster per token), langs int [n_tokens] in [0, L).

    ``languages`` names the L languages (default "0", "1", ...); ``n_clusters`` defaults to max label + 1;
    ``names`` names the clusters. ``repeats`` permuted-language nulls (a ceiling; 0 = none), seeded by ``seed``.
    The default theta is a placeholder (the paper's value is not known); configs set it.
    """
    labels, langs = np.asarray(labels), np.asarray(langs)
    n_langs = len(languages) if languages is not None else (int(langs.max()) + 1 if langs.size else 0)
    _check(labels, langs, theta, n_langs, repeats, seed)
    k = n_clusters if n_clusters is not None else (int(labels.max()) + 1 if labels.size else 0)
    if names is not None and len(names) != k:
        raise BabelscopeError(param_message("names", "colap", f"one per cluster ({k})", f"{len(names)} names"))
    xp = array_module(device, "colap")
    with array_device(xp, device):
        return _colap(xp, labels, langs, k, [str(x) for x in languages] if languages else
                      [str(i) for i in range(n_langs)], [str(x) for x in names] if names else
                      [str(i) for i in range(k)], float(theta), repeats, seed, device)


def _colap(xp: Any, labels: np.ndarray, langs: np.ndarray, k: int, languages: list[str], names: list[str],
           theta: float, repeats: int, seed: int, device: str) -> ColapResult:
    d_labels, d_langs = to_device(xp, labels), to_device(xp, langs)
    counts = to_host(label_language_counts(d_labels, d_langs, k, len(languages)))
    params = {"theta": theta, "repeats": repeats, "seed": seed, "device": device}
    result = ColapResult(languages, theta, counts, names, None, params)
    if result.n_clusters == 0:
        log.warning("COLAP: the clustering has no tokens; the value is 0")
    if not repeats:
        return result
    perms = random_permutations(labels.shape[0], repeats, seed)
    null_counts = to_host(permuted_label_language_counts(d_labels, d_langs, k, len(languages), perms))
    sizes = null_counts.sum(axis=2, keepdims=True)
    shares = np.divide(null_counts, sizes, out=np.zeros(null_counts.shape), where=sizes > 0)
    null_overlap = ((shares > theta).all(axis=2) & (sizes[..., 0] > 0)).sum(axis=1)
    null = significance(result.value, null_overlap / result.n_clusters if result.n_clusters
                        else np.zeros(repeats))
    if not math.isnan(null.mean):
        log.debug("COLAP null (permuted languages, a ceiling): %.3f ± %.3f", null.mean, null.sd)
    return ColapResult(languages, theta, counts, names, null, params)
