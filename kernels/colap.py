"""COLAP kernels: the label × language histogram as one ``bincount(label·L + lang)``, and its permuted nulls.

Dispatch on the inputs' array module (NumPy or CuPy), same signature on both. Shapes: n tokens, K clusters,
L languages, R repetitions.
"""

from __future__ import annotations

from typing import Any

from kernels import get_array_module
from kernels._cupy import to_device
from kernels.errors import KernelError, param_message

__all__ = ["label_language_counts", "permuted_label_language_counts"]

_MAX_BLOCK_ITEMS = 20_000_000  # tokens × repetitions per bincount


def _check(labels: Any, langs: Any, n_clusters: int, n_langs: int, owner: str) -> None:
    if labels.ndim != 1 or labels.shape != langs.shape:
        raise KernelError(param_message("langs", owner, f"a 1-D array shaped like labels {labels.shape}",
                                            f"shape {langs.shape}"))
    for name, values, bound in (("labels", labels, n_clusters), ("langs", langs, n_langs)):
        if values.size and (int(values.min()) < 0 or int(values.max()) >= bound):
            lo, hi = int(values.min()), int(values.max())
            raise KernelError(param_message(name, owner, f"in [0, {bound})", f"values in [{lo}, {hi}]"))


def label_language_counts(labels: Any, langs: Any, n_clusters: int, n_langs: int) -> Any:
    """Tokens of each language in each cluster: int64 [K, L]. labels: int [n]; langs: int [n]."""
    _check(labels, langs, n_clusters, n_langs, "label_language_counts")
    xp = get_array_module(labels, langs)
    return _counts(xp, labels, langs, n_clusters, n_langs)


def _counts(xp: Any, labels: Any, langs: Any, n_clusters: int, n_langs: int) -> Any:
    key = labels.astype(xp.int64) * n_langs + langs.astype(xp.int64)
    return xp.bincount(key, minlength=n_clusters * n_langs).reshape(n_clusters, n_langs).astype(xp.int64)


def permuted_label_language_counts(labels: Any, langs: Any, n_clusters: int, n_langs: int, perms: Any) -> Any:
    """Histograms with language labels permuted over tokens: int64 [R, K, L].

    Repetition r gives token i the language ``langs[perms[r, i]]``; each block of repetitions is one bincount
    over ``r·K·L + label·L + lang``. perms: int [R, n], host or device
    (``kernels.calign.random_permutations`` makes them).
    """
    _check(labels, langs, n_clusters, n_langs, "permuted_label_language_counts")
    if perms.ndim != 2 or perms.shape[1] != labels.shape[0]:
        raise KernelError(param_message("perms", "permuted_label_language_counts",
                                            f"of shape (R, {labels.shape[0]})", perms.shape))
    xp = get_array_module(labels, langs)
    return _permuted_counts(xp, labels, langs, n_clusters, n_langs, to_device(xp, perms))


def _permuted_counts(xp: Any, labels: Any, langs: Any, n_clusters: int, n_langs: int, perms: Any) -> Any:
    n_reps, n_tokens = perms.shape
    cells = n_clusters * n_langs
    out = xp.zeros((n_reps, n_clusters, n_langs), dtype=xp.int64)
    base = labels.astype(xp.int64) * n_langs
    langs = langs.astype(xp.int64)
    per_block = max(1, min(n_reps, _MAX_BLOCK_ITEMS // max(1, n_tokens)))
    for start in range(0, n_reps, per_block):
        block = perms[start:start + per_block]
        n_block = block.shape[0]
        key = (xp.arange(n_block, dtype=xp.int64)[:, None] * cells + base[None, :] + langs[block]).ravel()
        counts = xp.bincount(key, minlength=n_block * cells)
        out[start:start + n_block] = counts.reshape(n_block, n_clusters, n_langs)
    return out
