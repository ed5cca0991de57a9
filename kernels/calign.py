"""CALIGN kernels: binary membership matrices, match counts ``M = A_s · [D · A_tᵀ > 0]``, best targets.

Every function dispatches on its inputs' array module (NumPy + ``scipy.sparse`` or CuPy +
``cupyx.scipy.sparse``) and has the same signature on both. Sparse matrices hold float32 ones, so counts
are exact up to 2**24 types per cluster. Shapes: K source clusters, K' target clusters, V_s / V_t types.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.errors import BabelscopeError, param_message
from kernels import get_array_module
from kernels._cupy import sparse_module, to_device

__all__ = [
    "membership",
    "row_counts",
    "cluster_type_counts",
    "match_counts",
    "best_matches",
    "random_permutations",
    "shuffled_best_matches",
]

_MAX_BLOCK_NNZ = 40_000_000  # entries of the stacked [D · A_tᵀ > 0] per block of repetitions


def _check_index(name: str, owner: str, values: Any, bound: int) -> None:
    if values.ndim != 1:
        raise BabelscopeError(param_message(name, owner, "a 1-D integer array", f"shape {values.shape}"))
    if values.size and (int(values.min()) < 0 or int(values.max()) >= bound):
        lo, hi = int(values.min()), int(values.max())
        raise BabelscopeError(param_message(name, owner, f"in [0, {bound})", f"values in [{lo}, {hi}]"))


def membership(rows: Any, cols: Any, n_rows: int, n_cols: int) -> Any:
    """Binary CSR matrix [n_rows, n_cols] with a one at each (rows[i], cols[i]); duplicates collapse.

    rows, cols: int [n] (e.g. per-token cluster labels and type ids, or dictionary source/target types).
    """
    xp = get_array_module(rows, cols)
    if rows.shape != cols.shape:
        raise BabelscopeError(param_message("cols", "membership", f"of shape {rows.shape} like rows",
                                            f"shape {cols.shape}"))
    _check_index("rows", "membership", rows, n_rows)
    _check_index("cols", "membership", cols, n_cols)
    return _membership(xp, rows, cols, n_rows, n_cols)


def _membership(xp: Any, rows: Any, cols: Any, n_rows: int, n_cols: int) -> Any:
    sp = sparse_module(xp)
    data = xp.ones(rows.shape[0], dtype=xp.float32)
    coo = sp.coo_matrix((data, (rows.astype(xp.int32), cols.astype(xp.int32))), shape=(n_rows, n_cols))
    coo.sum_duplicates()
    matrix = coo.tocsr()
    matrix.data.fill(1)
    return matrix


def row_counts(matrix: Any) -> Any:
    """Stored entries per row of a canonical CSR matrix: int64 [n_rows] (types per cluster)."""
    xp = get_array_module(matrix.indptr)
    return xp.diff(matrix.indptr).astype(xp.int64)


def cluster_type_counts(labels: Any, types: Any, n_clusters: int, n_types: int) -> tuple[Any, Any]:
    """Distinct types and tokens per cluster from per-token arrays: (int64 [K], int64 [K])."""
    xp = get_array_module(labels, types)
    _check_index("labels", "cluster_type_counts", labels, n_clusters)
    _check_index("types", "cluster_type_counts", types, n_types)
    key = xp.unique(labels.astype(xp.int64) * n_types + types.astype(xp.int64))
    n_distinct = xp.bincount(key // n_types, minlength=n_clusters).astype(xp.int64)
    n_tokens = xp.bincount(labels.astype(xp.int64), minlength=n_clusters).astype(xp.int64)
    return n_distinct, n_tokens


def _binarise(matrix: Any) -> Any:
    matrix.data = (matrix.data > 0).astype(matrix.data.dtype)
    matrix.eliminate_zeros()
    return matrix


def match_counts(a_src: Any, dictionary: Any, a_tgt: Any) -> Any:
    """``M = A_s · [D · A_tᵀ > 0]`` as CSR float32 [K, K'].

    M[S, T] = number of source types in S with at least one dictionary translation in T.
    a_src: CSR [K, V_s]; dictionary: CSR [V_s, V_t]; a_tgt: CSR [K', V_t] (all binary).
    """
    if a_src.shape[1] != dictionary.shape[0] or dictionary.shape[1] != a_tgt.shape[1]:
        raise BabelscopeError(param_message(
            "shapes", "match_counts", "A_s [K, V_s], D [V_s, V_t], A_t [K', V_t]",
            f"{a_src.shape}, {dictionary.shape}, {a_tgt.shape}"))
    return _match_counts(a_src, dictionary, a_tgt)


def _match_counts(a_src: Any, dictionary: Any, a_tgt: Any) -> Any:
    reach = _binarise((dictionary @ a_tgt.T).tocsr())  # [V_s, K']: source type has a translation in T
    return (a_src @ reach).tocsr()


def best_matches(matches: Any, size_src: Any, size_tgt: Any, size_ratio: float | None = None
                 ) -> tuple[Any, Any]:
    """Best admissible target per source cluster: (best_t int64 [K], best_m int64 [K]).

    A target T is admissible for S when M[S, T] > 0 and, if ``size_ratio`` is given, |S|/|T| > size_ratio
    (float division, strict). Ties go to the lowest target index; rows with no admissible target get -1, 0.
    matches: CSR [K, K']; size_src: int64 [K]; size_tgt: int64 [K'].
    """
    if matches.shape != (size_src.shape[0], size_tgt.shape[0]):
        raise BabelscopeError(param_message("matches", "best_matches", f"of shape ({size_src.shape[0]}, "
                                            f"{size_tgt.shape[0]}) from the sizes", matches.shape))
    xp = get_array_module(size_src, size_tgt)
    coo = matches.tocoo()
    rows, cols = coo.row.astype(xp.int64), coo.col.astype(xp.int64)
    return _best_per_key(xp, rows, cols, rows, cols, coo.data, size_src, size_tgt, size_ratio,
                         size_src.shape[0])


def _best_per_key(xp: Any, keys: Any, cols: Any, src: Any, tgt: Any, data: Any, size_src: Any, size_tgt: Any,
                  size_ratio: float | None, n_keys: int) -> tuple[Any, Any]:
    """Per key, the column with the largest count (lowest column on ties) among admissible entries."""
    counts = xp.rint(data).astype(xp.int64)
    keep = counts > 0
    if size_ratio is not None:
        keep &= size_src[src] / size_tgt[tgt] > size_ratio
    keys, cols, counts = keys[keep], cols[keep], counts[keep]
    order = xp.lexsort(xp.stack([cols, -counts, keys]))
    keys, cols, counts = keys[order], cols[order], counts[order]
    first = xp.ones(keys.shape[0], dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    best_t = xp.full(n_keys, -1, dtype=xp.int64)
    best_m = xp.zeros(n_keys, dtype=xp.int64)
    best_t[keys[first]] = cols[first]
    best_m[keys[first]] = counts[first]
    return best_t, best_m


def random_permutations(n: int, repeats: int, seed: int) -> np.ndarray:
    """Seeded permutations of ``range(n)``, made on the host: int64 [repeats, n] (device-independent)."""
    rng = np.random.default_rng(seed)
    return rng.permuted(np.broadcast_to(np.arange(n, dtype=np.int64), (repeats, n)), axis=1)


def shuffled_best_matches(a_src: Any, dictionary: Any, a_tgt: Any, perms: Any, size_src: Any, size_tgt: Any,
                          size_ratio: float | None = None) -> Any:
    """Best match counts under shuffled dictionaries: int64 [R, K].

    Repetition r maps every target type t to ``perms[r, t]`` (D'[s, perms[r, t]] = D[s, t]), which equals
    matching against A_t with columns permuted; all repetitions of a block go through one sparse product
    ``A_s · [D · [A_t π_1; …; A_t π_R]ᵀ > 0]``. perms: int [R, V_t] (host or device).
    """
    if perms.ndim != 2 or perms.shape[1] != a_tgt.shape[1]:
        raise BabelscopeError(param_message("perms", "shuffled_best_matches",
                                            f"of shape (R, {a_tgt.shape[1]})", perms.shape))
    xp = get_array_module(size_src, size_tgt)
    return _shuffled_best_matches(xp, a_src, dictionary, a_tgt, to_device(xp, perms), size_src, size_tgt,
                                  size_ratio)


def _shuffled_best_matches(xp: Any, a_src: Any, dictionary: Any, a_tgt: Any, perms: Any, size_src: Any,
                           size_tgt: Any, size_ratio: float | None) -> Any:
    sp = sparse_module(xp)
    n_reps, n_tgt = perms.shape
    k_src, k_tgt = a_src.shape[0], a_tgt.shape[0]
    base_nnz = max(1, int(_match_counts(a_src, dictionary, a_tgt).nnz) + a_tgt.nnz + dictionary.nnz)
    per_block = max(1, min(n_reps, _MAX_BLOCK_NNZ // base_nnz))
    inverse = xp.argsort(perms, axis=1)
    out = xp.zeros((n_reps, k_src), dtype=xp.int64)
    indptr = a_tgt.indptr.astype(xp.int64)
    for start in range(0, n_reps, per_block):
        block = inverse[start:start + per_block]  # entry (T, u) of A_t becomes (T, inverse[u])
        n_block = block.shape[0]
        offsets = xp.arange(n_block, dtype=xp.int64)[:, None] * a_tgt.nnz
        stacked_indptr = xp.concatenate([xp.zeros(1, xp.int64), (indptr[1:][None, :] + offsets).ravel()])
        stacked = sp.csr_matrix((xp.ones(n_block * a_tgt.nnz, dtype=xp.float32),
                                 block[:, a_tgt.indices].ravel().astype(xp.int32),
                                 stacked_indptr), shape=(n_block * k_tgt, n_tgt))
        coo = _match_counts(a_src, dictionary, stacked).tocoo()
        rows, cols = coo.row.astype(xp.int64), coo.col.astype(xp.int64)
        rep, tgt = cols // k_tgt, cols % k_tgt
        _, best_m = _best_per_key(xp, rep * k_src + rows, tgt, rows, tgt, coo.data, size_src, size_tgt,
                                  size_ratio, n_block * k_src)
        out[start:start + n_block] = best_m.reshape(n_block, k_src)
    return out
