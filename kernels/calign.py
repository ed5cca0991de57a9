"""CALIGN kernels: binary membership matrices, match counts ``M = A_s · [D · A_tᵀ > 0]``, best targets.

Every function dispatches on its inputs' array module (NumPy + ``scipy.sparse`` or CuPy +
``cupyx.scipy.sparse``) and has the same signature on both. Sparse matrices hold float32 ones, so counts
are exact up to 2**24 types per cluster. Shapes: K source clusters, K' target clusters, V_s / V_t types.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kernels import get_array_module
from kernels._cupy import sparse_module, to_device
from kernels.errors import KernelError, param_message

__all__ = [
    "membership",
    "row_counts",
    "cluster_type_counts",
    "match_counts",
    "best_matches",
    "aligned_targets",
    "random_permutations",
    "shuffled_best_matches",
    "shuffled_lines_best_matches",
]

_MAX_BLOCK_NNZ = 40_000_000  # entries of the stacked [D · A_tᵀ > 0] per block of repetitions
_MAX_DENSE = 1 << 24  # cells of one dense block of match counts


def _check_index(name: str, owner: str, values: Any, bound: int) -> None:
    if values.ndim != 1:
        raise KernelError(param_message(name, owner, "a 1-D integer array", f"shape {values.shape}"))
    if values.size and (int(values.min()) < 0 or int(values.max()) >= bound):
        lo, hi = int(values.min()), int(values.max())
        raise KernelError(param_message(name, owner, f"in [0, {bound})", f"values in [{lo}, {hi}]"))


def membership(rows: Any, cols: Any, n_rows: int, n_cols: int) -> Any:
    """Binary CSR matrix [n_rows, n_cols] with a one at each (rows[i], cols[i]); duplicates collapse.

    rows, cols: int [n] (e.g. per-token cluster labels and type ids, or dictionary source/target types).
    """
    xp = get_array_module(rows, cols)
    if rows.shape != cols.shape:
        raise KernelError(param_message("cols", "membership", f"of shape {rows.shape} like rows",
                                            f"shape {cols.shape}"))
    _check_index("rows", "membership", rows, n_rows)
    _check_index("cols", "membership", cols, n_cols)
    return _membership(xp, rows, cols, n_rows, n_cols)


def _unique_sorted(xp: Any, key: Any) -> Any:
    """Sorted distinct values of an int64 array (sort + neighbour test; faster than ``unique`` here)."""
    key = xp.sort(key)
    keep = xp.ones(key.shape[0], dtype=bool)
    keep[1:] = key[1:] != key[:-1]
    return key[keep]


def _membership(xp: Any, rows: Any, cols: Any, n_rows: int, n_cols: int) -> Any:
    sp = sparse_module(xp)
    key = _unique_sorted(xp, rows.astype(xp.int64) * max(n_cols, 1) + cols.astype(xp.int64))
    indptr = xp.zeros(n_rows + 1, dtype=xp.int64)
    indptr[1:] = xp.cumsum(xp.bincount(key // max(n_cols, 1), minlength=n_rows))
    return sp.csr_matrix((xp.ones(key.shape[0], dtype=xp.float32), (key % max(n_cols, 1)).astype(xp.int32),
                          indptr), shape=(n_rows, n_cols))


def row_counts(matrix: Any) -> Any:
    """Stored entries per row of a canonical CSR matrix: int64 [n_rows] (types per cluster)."""
    xp = get_array_module(matrix.indptr)
    return xp.diff(matrix.indptr).astype(xp.int64)


def cluster_type_counts(labels: Any, types: Any, n_clusters: int, n_types: int) -> tuple[Any, Any]:
    """Distinct types and tokens per cluster from per-token arrays: (int64 [K], int64 [K])."""
    xp = get_array_module(labels, types)
    _check_index("labels", "cluster_type_counts", labels, n_clusters)
    _check_index("types", "cluster_type_counts", types, n_types)
    key = _unique_sorted(xp, labels.astype(xp.int64) * max(n_types, 1) + types.astype(xp.int64))
    n_distinct = xp.bincount(key // max(n_types, 1), minlength=n_clusters).astype(xp.int64)
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
        raise KernelError(param_message(
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
        raise KernelError(param_message("matches", "best_matches", f"of shape ({size_src.shape[0]}, "
                                            f"{size_tgt.shape[0]}) from the sizes", matches.shape))
    xp = get_array_module(size_src, size_tgt)
    best_t, best_m = _best_in_groups(xp, matches, size_src, size_tgt, size_ratio, 1)
    return best_t[:, 0], best_m[:, 0]


def _best_in_groups(xp: Any, matches: Any, size_src: Any, size_tgt: Any, size_ratio: float | None,
                    n_groups: int) -> tuple[Any, Any]:
    """Row-wise best over each group of K' columns of matches [K, n_groups·K']: two int64 [K, n_groups].

    Works on dense row blocks of at most ``_MAX_DENSE`` cells; ``argmax`` keeps the lowest column on ties.
    """
    k_src, k_tgt = matches.shape[0], size_tgt.shape[0]
    best_t = xp.full((k_src, n_groups), -1, dtype=xp.int64)
    best_m = xp.zeros((k_src, n_groups), dtype=xp.int64)
    if k_tgt == 0:
        return best_t, best_m
    rows_per_block = max(1, _MAX_DENSE // (n_groups * k_tgt))
    for start in range(0, k_src, rows_per_block):
        stop = min(k_src, start + rows_per_block)
        dense = matches[start:stop].toarray().reshape(stop - start, n_groups, k_tgt)  # float32, exact counts
        if size_ratio is not None and size_ratio > 0:  # m > 0 means both sizes > 0, so |S|/|T| > 0 holds
            with np.errstate(divide="ignore", invalid="ignore"):
                admissible = size_src[start:stop, None] / size_tgt[None, :] > size_ratio
            dense *= admissible[:, None, :]
        arg = xp.argmax(dense, axis=2)
        top = xp.rint(xp.take_along_axis(dense, arg[..., None], axis=2)[..., 0]).astype(xp.int64)
        best_m[start:stop] = top
        best_t[start:stop] = xp.where(top > 0, arg, -1)
    return best_t, best_m


def aligned_targets(matches: Any, size_src: Any, size_tgt: Any, theta: float, min_types: int,
                    size_ratio: float | None = None) -> tuple[Any, Any]:
    """Every aligned (source, target) cluster pair: two int64 [n_pairs], by source then target.

    S is aligned to T when M[S, T] / |S| > theta, |S| > min_types and |S| / |T| > size_ratio (all strict, as
    :func:`best_matches`' admissibility; no size test when ``size_ratio`` is None); only stored entries of M
    (M > 0) can pass. matches: CSR [K, K']; size_src: int64 [K]; size_tgt: int64 [K'].
    """
    if matches.shape != (size_src.shape[0], size_tgt.shape[0]):
        raise KernelError(param_message("matches", "aligned_targets", f"of shape ({size_src.shape[0]}, "
                                        f"{size_tgt.shape[0]}) from the sizes", matches.shape))
    xp = get_array_module(size_src, size_tgt)
    coo = matches.tocoo()
    rows, cols = coo.row.astype(xp.int64), coo.col.astype(xp.int64)
    m = xp.rint(coo.data).astype(xp.int64)
    s, t = size_src[rows].astype(xp.float64), size_tgt[cols].astype(xp.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        keep = (m > 0) & (m / s > theta) & (size_src[rows] > min_types)
        if size_ratio is not None:
            keep &= s / t > size_ratio
    rows, cols = rows[keep], cols[keep]
    order = xp.lexsort(xp.stack([cols, rows]))
    return rows[order], cols[order]


def random_permutations(n: int, repeats: int, seed: int) -> np.ndarray:
    """Seeded permutations of ``range(n)``, made on the host: int64 [repeats, n] (device-independent)."""
    rng = np.random.default_rng(seed)
    out = np.empty((repeats, n), dtype=np.int64)
    for r in range(repeats):  # one row at a time: faster than Generator.permuted on a broadcast 2-D array
        out[r] = rng.permutation(n)
    return out


def shuffled_best_matches(a_src: Any, dictionary: Any, a_tgt: Any, perms: Any, size_src: Any, size_tgt: Any,
                          size_ratio: float | None = None) -> Any:
    """Best match counts under shuffled dictionaries: int64 [R, K].

    Repetition r maps every target type t to ``perms[r, t]`` (D'[s, perms[r, t]] = D[s, t]), which equals
    matching against A_t with columns permuted; all repetitions of a block go through one sparse product
    ``A_s · [D · [A_t π_1; …; A_t π_R]ᵀ > 0]``. perms: int [R, V_t] (host or device).
    """
    if perms.ndim != 2 or perms.shape[1] != a_tgt.shape[1]:
        raise KernelError(param_message("perms", "shuffled_best_matches",
                                            f"of shape (R, {a_tgt.shape[1]})", perms.shape))
    xp = get_array_module(size_src, size_tgt)
    return _shuffled_best_matches(xp, a_src, dictionary, a_tgt, to_device(xp, perms), size_src, size_tgt,
                                  size_ratio)


def _shuffled_best_matches(xp: Any, a_src: Any, dictionary: Any, a_tgt: Any, perms: Any, size_src: Any,
                           size_tgt: Any, size_ratio: float | None) -> Any:
    sp = sparse_module(xp)
    n_reps, n_tgt = perms.shape
    k_src, k_tgt = a_src.shape[0], a_tgt.shape[0]
    clusters_per_type = max(1.0, a_tgt.nnz / max(1, n_tgt))
    per_rep = max(1, int(dictionary.nnz * clusters_per_type) + a_tgt.nnz)  # ~ nnz of one [D · A_tᵀ]
    per_block = max(1, min(n_reps, _MAX_BLOCK_NNZ // per_rep))
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
        matches = _match_counts(a_src, dictionary, stacked)  # [K, n_block·K']
        _, best_m = _best_in_groups(xp, matches, size_src, size_tgt, size_ratio, n_block)
        out[start:start + n_block] = best_m.T
    return out


def shuffled_lines_best_matches(a_src: Any, pairs_src: Any, pairs_tgt: Any, a_tgt: Any, perms: Any, size_src: Any,
                                size_tgt: Any, size_ratio: float | None = None) -> Any:
    """Best match counts when the dictionary's target *lines* are shuffled: int64 [R, K].

    Repetition r gives dictionary entry i the target of entry ``perms[r, i]`` (D_r = [pairs_src[i],
    pairs_tgt[perms[r, i]]]): each source type keeps its number of entries and the target column its
    multiset, but source types that shared a translation no longer do (unlike :func:`shuffled_best_matches`,
    which relabels target types). A block of repetitions goes through one sparse product
    ``A_s · [[D_1 … D_R] · diag(A_t, …, A_t)ᵀ > 0]``. pairs_src, pairs_tgt: int [E]; perms: int [R, E].
    """
    owner = "shuffled_lines_best_matches"
    xp = get_array_module(size_src, size_tgt)
    if pairs_src.shape != pairs_tgt.shape or pairs_src.ndim != 1:
        raise KernelError(param_message("pairs_tgt", owner, f"a 1-D array of shape {pairs_src.shape} like "
                                        "pairs_src", f"shape {pairs_tgt.shape}"))
    _check_index("pairs_src", owner, pairs_src, a_src.shape[1])
    _check_index("pairs_tgt", owner, pairs_tgt, a_tgt.shape[1])
    if perms.ndim != 2 or perms.shape[1] != pairs_src.shape[0]:
        raise KernelError(param_message("perms", owner, f"of shape (R, {pairs_src.shape[0]})", perms.shape))
    return _shuffled_lines_best_matches(xp, a_src, to_device(xp, pairs_src), to_device(xp, pairs_tgt), a_tgt,
                                        to_device(xp, perms), size_src, size_tgt, size_ratio)


def _shuffled_lines_best_matches(xp: Any, a_src: Any, pairs_src: Any, pairs_tgt: Any, a_tgt: Any, perms: Any,
                                 size_src: Any, size_tgt: Any, size_ratio: float | None) -> Any:
    n_reps, n_pairs = perms.shape
    v_src, v_tgt = a_src.shape[1], a_tgt.shape[1]
    k_src, k_tgt = a_src.shape[0], a_tgt.shape[0]
    clusters_per_type = max(1.0, a_tgt.nnz / max(1, v_tgt))
    per_rep = max(1, int(n_pairs * clusters_per_type) + a_tgt.nnz)  # ~ nnz of one [D_r · A_tᵀ]
    per_block = max(1, min(n_reps, _MAX_BLOCK_NNZ // per_rep))
    out = xp.zeros((n_reps, k_src), dtype=xp.int64)
    src64, tgt64 = pairs_src.astype(xp.int64), pairs_tgt.astype(xp.int64)
    for start in range(0, n_reps, per_block):
        block = perms[start:start + per_block].astype(xp.int64)
        n_block = block.shape[0]
        offsets = xp.arange(n_block, dtype=xp.int64)[:, None]
        columns = (tgt64[block] + offsets * v_tgt).ravel()  # D_r's targets, in the r-th block of V_t columns
        stacked = _membership(xp, xp.broadcast_to(src64, block.shape).ravel(), columns, v_src, n_block * v_tgt)
        diagonal = _membership(xp, (xp.arange(n_block, dtype=xp.int64)[:, None] * k_tgt
                                    + _row_ids(xp, a_tgt)[None, :]).ravel(),
                               (a_tgt.indices.astype(xp.int64)[None, :] + offsets * v_tgt).ravel(),
                               n_block * k_tgt, n_block * v_tgt)
        matches = _match_counts(a_src, stacked, diagonal)  # [K, n_block·K']
        _, best_m = _best_in_groups(xp, matches, size_src, size_tgt, size_ratio, n_block)
        out[start:start + n_block] = best_m.T
    return out


def _row_ids(xp: Any, matrix: Any) -> Any:
    """The row of every stored entry of a CSR matrix: int64 [nnz]."""
    return xp.repeat(xp.arange(matrix.shape[0], dtype=xp.int64), xp.diff(matrix.indptr).astype(xp.int64))
