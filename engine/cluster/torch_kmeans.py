"""Our own Lloyd k-means in torch: chunked GEMM + argmin assignment, ``index_add_`` update, on CPU or CUDA.

One iteration is one pass over :meth:`RowSource.blocks` (streamed from Zarr when the source is), so the data
never has to fit in memory; only per-row labels and distance bounds [n] are held. The loop mirrors
scikit-learn's ``_kmeans_single_lloyd`` so that, from the same initial centres, both give the same labels:

* assignment to the first nearest centre (``||c||² - 2 x·c`` by GEMM, float32); centres are the means of
  their rows (float32 sums within a block, float64 across blocks);
* an empty cluster takes the row farthest from its own centre (farthest first, ties by row order) and that
  row leaves its old cluster's sums (sklearn's ``_relocate_empty_clusters``);
* stop when labels do not change (strict convergence) or when the squared centre shift summed over all
  centres is ``<= tol * mean per-feature variance``; then labels are recomputed for the final centres.

``prune=True`` skips rows whose nearest centre provably did not change (Hamerly's bounds: an upper bound on
the distance to the own centre, a lower bound on the distance to any other, and half the gap to the nearest
other centre), so later iterations run the GEMM on a fraction of the rows. The iterates are Lloyd's, up to
float rounding at near-ties; the final labels always come from a full pass. :func:`engine.cluster.fit` turns
it on from ``PRUNE_ROWS`` rows: in 384-d word vectors many rows sit near a boundary, so at 21k rows the saving
did not pay for the bookkeeping, while at 200k rows and hundreds of iterations it halves the fit.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from engine.cluster.init import kmeans_parallel, kmeans_plusplus
from engine.cluster.parallel import map_blocks
from engine.cluster.source import RowSource, block_rows_for
from engine.faults import failpoint
from engine.gemm import affine, row_min

log = logging.getLogger(__name__)

_MARGIN = 1e-4  # relative slack on the pruning test, against float32 rounding of the distances
_GAP_MAX_K = 4096
_FULL_PASS_SHARE = 0.6  # a pruned pass that recomputed more than this share of rows is followed by a full one


@dataclass
class LloydResult:
    """Outcome of one Lloyd run."""

    labels: np.ndarray  # int32 [n]
    centroids: np.ndarray  # float32 [k, d]
    inertia: float
    n_iter: int
    converged: bool
    iter_seconds: list[float] = field(default_factory=list)
    init_seconds: float = 0.0
    recomputed: list[float] = field(default_factory=list)  # share of rows whose distances were computed


class _State:
    """Per-row labels, squared distance to the own centre, distance bounds; per-cluster sums and counts."""

    def __init__(self, n: int, k: int, d: int, device: Any, bounds: bool):
        self.labels = torch.empty(n, dtype=torch.int64, device=device)
        self.mind = torch.empty(n, dtype=torch.float32, device=device)
        self.upper = torch.empty(n, dtype=torch.float32, device=device) if bounds else None
        self.lower = torch.empty(n, dtype=torch.float32, device=device) if bounds else None
        self.sums = torch.zeros((k, d), dtype=torch.float64, device=device)
        self.counts = torch.zeros(k, dtype=torch.float64, device=device)
        self.half_gap: torch.Tensor | None = None  # [k] half the distance to the nearest other centre
        self.sums_valid = False  # sums/counts are those of the labels held (incremental update allowed)
        self.inertia = 0.0
        self.computed = 0


def _nearest(x: torch.Tensor, xx: torch.Tensor, m2c: torch.Tensor, cnorm: torch.Tensor,
             second: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """First nearest centre of each row of x [m, d] given ``m2c = -2 centres`` [k, d] and their squared norms
    [k]: (label [m], squared distance [m], 2nd squared | None)."""
    dist = affine(x, m2c, cnorm)  # [m, k] = ||c||² - 2 x·c
    best, label = row_min(dist)
    other = None
    if second:
        if dist.shape[1] > 1:
            dist.scatter_(1, label[:, None], float("inf"))
            other = (dist.amin(dim=1) + xx).clamp_min_(0.0)
        else:
            other = torch.full_like(best, float("inf"))
    return label, (best + xx).clamp_min_(0.0), other


def assign(source: RowSource, centers: torch.Tensor, block_rows: int, device: Any, state: _State, *,
           update: bool, full: bool = True, exact: bool = False) -> None:
    """One pass: each row's nearest centre into ``state`` (sums and counts too when ``update``).

    ``full=False`` uses the bounds in ``state`` to skip rows whose label cannot have changed; then
    ``state.mind`` and ``state.inertia`` are not refreshed. ``exact``: distances to the chosen centre are
    recomputed as ``||x - c||²`` (the final pass, for an accurate inertia). With ``state.sums_valid`` (sums of
    the labels held), sums change by the rows that changed cluster only, else they are recomputed (float32
    within a block, float64 across). Blocks run in parallel on CPU (:func:`map_blocks`); their results are reduced
    in block order, so nothing depends on the thread count.
    """
    k, d = centers.shape
    m2c = (-2.0 * centers).contiguous()  # [k, d]
    cnorm = (centers * centers).sum(1)
    bounds = state.upper is not None
    incremental = update and state.sums_valid

    def work(lo: int, x: torch.Tensor, xx: torch.Tensor) -> tuple[Any, Any, int]:
        hi = lo + x.shape[0]
        old = state.labels[lo:hi].clone() if incremental else None
        if full:
            label, best, other = _nearest(x, xx, m2c, cnorm, bounds)
            if exact:  # ||x - c||² directly: the GEMM expansion loses digits when norms dwarf distances
                diff = x - centers[label]
                best = (diff * diff).sum(1)
            state.labels[lo:hi] = label
            state.mind[lo:hi] = best
            if bounds:
                state.upper[lo:hi] = best.sqrt()
                state.lower[lo:hi] = other.sqrt()
            computed, total = x.shape[0], best.sum(dtype=torch.float64)
        else:
            label, computed = _pruned_block(x, xx, lo, hi, centers, m2c, cnorm, state)
            total = None
        if not update:
            return total, None, computed
        partial = torch.zeros((k, d), dtype=torch.float32, device=x.device)  # float32 within a block
        if not incremental:
            partial.index_add_(0, label, x)
            return total, (partial, torch.bincount(label, minlength=k)), computed
        moved = torch.nonzero(label != old).flatten()
        if not len(moved):
            return total, None, computed
        rows, before, after = x[moved], old[moved], label[moved]  # these rows change cluster
        partial.index_add_(0, after, rows)
        partial.index_add_(0, before, rows, alpha=-1)
        counts = torch.bincount(after, minlength=k) - torch.bincount(before, minlength=k)
        return total, (partial, counts), computed

    inertia = torch.zeros((), dtype=torch.float64, device=device)
    if update and not incremental:
        state.sums.zero_()
        state.counts.zero_()
    state.computed = 0
    for total, change, computed in map_blocks(source, block_rows, device, work):
        state.computed += computed
        if total is not None:
            inertia += total
        if change is None:
            continue
        state.sums += change[0]  # float64 across blocks, in block order
        state.counts += change[1]
    if update:
        state.sums_valid = True
    if full:
        state.inertia = float(inertia)


def _pruned_block(x: torch.Tensor, xx: torch.Tensor, lo: int, hi: int, centers: torch.Tensor, m2c: torch.Tensor,
                  cnorm: torch.Tensor, state: _State) -> tuple[torch.Tensor, int]:
    """Hamerly step on one block: refresh only rows whose bounds do not prove the label.

    Returns the block's labels [m] and how many rows got full distance computations.
    """
    label = state.labels[lo:hi]
    upper, lower = state.upper[lo:hi], state.lower[lo:hi]
    bound = torch.maximum(lower, state.half_gap[label]) * (1.0 - _MARGIN)
    rows = torch.nonzero(upper > bound).flatten()
    if len(rows):  # tighten the upper bound to the exact distance to the own centre, then test again
        own = centers[label[rows]]
        exact = (xx[rows] + cnorm[label[rows]] - 2.0 * (x[rows] * own).sum(1)).clamp_min_(0.0).sqrt()
        upper[rows] = exact
        rows = rows[exact > bound[rows]]
    if len(rows):
        new_label, best, other = _nearest(x[rows], xx[rows], m2c, cnorm, True)
        label[rows] = new_label
        upper[rows] = best.sqrt()
        lower[rows] = other.sqrt()
    return label, len(rows)


def _move_bounds(state: _State, old: torch.Tensor, new: torch.Tensor) -> None:
    """Loosen the bounds by how far the centres moved; recompute the half gaps between centres."""
    delta = (new.double() - old.double()).norm(dim=1).float()  # [k]
    k = delta.shape[0]
    state.upper += delta[state.labels]
    if k > 1:
        top, where = torch.topk(delta, 2)
        drop = torch.where(state.labels == where[0], top[1], top[0])
        state.lower -= drop
        state.lower.clamp_min_(0.0)
    if k <= _GAP_MAX_K and k > 1:
        gaps = torch.cdist(new[None], new[None])[0]  # float32; the test's relative margin covers its rounding
        gaps.fill_diagonal_(float("inf"))
        state.half_gap = 0.5 * gaps.min(dim=1).values
    else:
        state.half_gap = torch.zeros(k, dtype=torch.float32, device=new.device)


def _relocate_empty(source: RowSource, state: _State) -> int:
    """Give each empty cluster the farthest row from its centre; returns how many were empty."""
    empty = torch.nonzero(state.counts == 0).flatten()
    if not len(empty):
        return 0
    far = np.argsort(-state.mind.cpu().numpy(), kind="stable")[: len(empty)]
    vectors = torch.from_numpy(source.take(far)).to(state.sums.device, torch.float64)
    for slot, row in enumerate(far.tolist()):
        old, new = int(state.labels[row]), int(empty[slot])
        state.sums[old] -= vectors[slot]
        state.counts[old] -= 1
        state.sums[new] = vectors[slot]
        state.counts[new] = 1
    state.sums_valid = False  # the moved rows keep their labels (as in sklearn): recompute sums next pass
    log.debug("relocated %d empty clusters", len(empty))
    return len(empty)


def lloyd(source: RowSource, init: np.ndarray, *, max_iter: int, tol: float, device: Any,
          block_rows: int | None = None, prune: bool = False) -> LloydResult:
    """Lloyd iterations from ``init`` [k, d]; ``tol`` is already scaled by the data variance."""
    k, d = init.shape
    device = torch.device(device)
    block = block_rows or block_rows_for(k, device.type)
    centers = torch.as_tensor(init, dtype=torch.float32, device=device).clone()
    state = _State(source.n, k, d, device, bounds=prune)
    previous: torch.Tensor | None = None
    converged, times, shares = False, [], []
    n_iter, last_full = 0, True
    for n_iter in range(1, max_iter + 1):
        started = time.perf_counter()
        # a pruned pass pays for gathering rows: after one that recomputed most rows, do a full pass instead
        full = not prune or n_iter == 1 or (not last_full and shares[-1] > _FULL_PASS_SHARE)
        last_full = full
        assign(source, centers, block, device, state, update=True, full=full)
        if bool((state.counts == 0).any()):
            if not full:  # relocation needs every row's distance to its centre: redo this pass in full
                assign(source, centers, block, device, state, update=True, full=True)
            _relocate_empty(source, state)
        filled = state.counts > 0
        new = centers.double().clone()
        new[filled] = state.sums[filled] / state.counts[filled, None]
        new = new.float()
        shift = float(((new.double() - centers.double()) ** 2).sum())
        if prune:
            _move_bounds(state, centers, new)
        centers = new
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - started)
        failpoint("cluster.iteration")
        shares.append(state.computed / max(source.n, 1))
        log.debug("iteration %d: centre shift %.3g, %.1f%% rows recomputed", n_iter, shift, 100 * shares[-1])
        if previous is not None and torch.equal(state.labels, previous):
            converged = True
            break
        if shift <= tol:
            converged = True
            break
        previous = state.labels.clone()
    # final labels and inertia against the final centres, from a full pass
    assign(source, centers, block, device, state, update=False, full=True, exact=True)
    return LloydResult(state.labels.to(torch.int32).cpu().numpy(), centers.cpu().numpy(), state.inertia,
                       n_iter, converged, times, recomputed=shares)


def initial_centers(source: RowSource, k: int, init: str, rng: np.random.Generator, device: Any) -> np.ndarray:
    """Seeded ``k-means++`` or ``k-means||`` centres, float32 [k, d]."""
    block = block_rows_for(k, torch.device(device).type)
    if init == "k-means||":
        return kmeans_parallel(source, k, rng, block, device)
    return kmeans_plusplus(source, k, rng, block, device)


def torch_kmeans(source: RowSource, k: int, *, seed: int, init: str | np.ndarray, n_init: int, max_iter: int,
                 tol: float, device: Any, block_rows: int | None = None, prune: bool = False) -> LloydResult:
    """Best of ``n_init`` seeded runs (lowest inertia); with explicit centres, a single run from them."""
    rng = np.random.default_rng(seed)
    best: LloydResult | None = None
    for run in range(n_init):
        started = time.perf_counter()
        if isinstance(init, np.ndarray):
            start = init.astype(np.float32)
        else:
            start = initial_centers(source, k, init, rng, device)
        init_seconds = time.perf_counter() - started
        result = lloyd(source, start, max_iter=max_iter, tol=tol, device=device, block_rows=block_rows,
                       prune=prune)
        result.init_seconds = init_seconds
        log.info("torch k-means run %d/%d: inertia %.6g after %d iterations (init %.2f s, %.4f s/iteration)",
                 run + 1, n_init, result.inertia, result.n_iter, init_seconds,
                 float(np.mean(result.iter_seconds)) if result.iter_seconds else 0.0)
        if best is None or result.inertia < best.inertia:
            best = result
    if best is None:  # n_init >= 1 is validated by fit(); reaching here is a bug
        raise RuntimeError(f"torch k-means ran no initialisation (n_init={n_init})")
    return best
