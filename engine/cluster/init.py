"""Seeded k-means initialisation in torch: greedy k-means++ and k-means|| (Bahmani et al., 2012).

Both read the data through :meth:`RowSource.blocks`, so they work on streamed (Zarr) sources; random
choices come from a NumPy ``Generator`` so a seed gives the same centres on CPU and CUDA (up to float
rounding). Neither reproduces scikit-learn's random stream: to compare with sklearn from the same start,
pass the centres explicitly (``init=array``).
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import torch

from engine.cluster.parallel import map_blocks
from engine.cluster.source import RowSource, block_rows_for
from engine.gemm import affine

log = logging.getLogger(__name__)


def sq_distances(source: RowSource, centers: torch.Tensor, block_rows: int, device: Any) -> torch.Tensor:
    """Squared distances of every row to each of ``centers`` [m, d]: float32 [n, m] on ``device``."""
    out = torch.empty((source.n, centers.shape[0]), dtype=torch.float32, device=device)
    cnorm = (centers * centers).sum(1)
    m2c = (-2.0 * centers).contiguous()

    def work(lo: int, x: torch.Tensor, xx: torch.Tensor) -> None:
        dist = affine(x, m2c, cnorm)
        dist += xx[:, None]
        out[lo:lo + x.shape[0]] = dist.clamp_min_(0.0)

    for _ in map_blocks(source, block_rows, device, work):
        pass
    return out


def kmeans_plusplus(source: RowSource, k: int, rng: np.random.Generator, block_rows: int, device: Any,
                    weights: np.ndarray | None = None) -> np.ndarray:
    """Greedy k-means++ (2 + log k local trials, as scikit-learn): float32 [k, d] centres.

    ``weights`` [n] (optional) makes it the weighted variant used on k-means|| candidates.
    """
    n = source.n
    trials = 2 + int(math.log(k))
    w = None if weights is None else torch.as_tensor(weights, dtype=torch.float64, device=device)
    if w is None:
        first = int(rng.integers(n))
    else:
        first = int(rng.choice(n, p=weights / weights.sum()))
    chosen = [first]
    centers = [source.take(np.array([first]))[0]]
    closest = sq_distances(source, torch.from_numpy(centers[0][None]).to(device), block_rows, device)[:, 0]
    weighted = closest.double() if w is None else closest.double() * w
    pot = float(weighted.sum())
    for _ in range(1, k):
        cumulative = torch.cumsum(weighted, 0)
        targets = torch.as_tensor(rng.random(trials) * pot, dtype=torch.float64, device=device)
        candidates = torch.searchsorted(cumulative, targets).clamp_max_(n - 1).cpu().numpy()
        vectors = source.take(candidates)
        dist = sq_distances(source, torch.from_numpy(vectors).to(device), block_rows, device)
        torch.minimum(dist, closest[:, None], out=dist)
        cand_weighted = dist.double() if w is None else dist.double() * w[:, None]
        pots = cand_weighted.sum(0)
        best = int(torch.argmin(pots))
        closest, weighted, pot = dist[:, best].clone(), cand_weighted[:, best].clone(), float(pots[best])
        chosen.append(int(candidates[best]))
        centers.append(vectors[best])
    return np.stack(centers).astype(np.float32)


def kmeans_parallel(source: RowSource, k: int, rng: np.random.Generator, block_rows: int, device: Any,
                    rounds: int = 5, oversampling: float = 2.0) -> np.ndarray:
    """k-means||: ``rounds`` passes each sampling about ``oversampling * k`` rows with probability ∝ d²,
    one pass weighting the candidates by the rows they attract, then weighted k-means++ on the candidates.
    Costs ``rounds + 2`` passes over the data instead of k-means++'s ``k``. Returns float32 [k, d].
    """
    n = source.n
    ell = oversampling * k
    first = int(rng.integers(n))
    picked = {first}
    candidates = [source.take(np.array([first]))]
    closest = sq_distances(source, torch.from_numpy(candidates[0]).to(device), block_rows, device)[:, 0]
    for _ in range(rounds):
        phi = float(closest.double().sum())
        if phi <= 0.0:
            break
        prob = (closest.double() * (ell / phi)).clamp_max_(1.0).cpu().numpy()
        draw = np.flatnonzero(rng.random(n) < prob)
        draw = np.array([i for i in draw if int(i) not in picked], dtype=np.int64)
        if not len(draw):
            continue
        picked.update(int(i) for i in draw)
        new = source.take(draw)
        candidates.append(new)
        dist = sq_distances(source, torch.from_numpy(new).to(device), block_rows, device)
        closest = torch.minimum(closest, dist.min(dim=1).values)
    pool = np.concatenate(candidates)
    if len(pool) < k:  # tiny or degenerate data: top up with distinct random rows
        rest = np.setdiff1d(np.arange(n), np.fromiter(picked, dtype=np.int64))
        extra = rng.choice(rest, size=min(len(rest), k - len(pool)), replace=False)
        pool = np.concatenate([pool, source.take(np.sort(extra))])
    weights = _attraction(source, torch.from_numpy(pool).to(device), block_rows, device)
    log.info("k-means||: %d candidates from %d rounds for k=%d", len(pool), rounds, k)
    pool_source = RowSource([(pool, None)], chunk_rows=len(pool))
    pool_source.prepare(pool_source.transform)
    return kmeans_plusplus(pool_source, k, rng, block_rows_for(k, torch.device(device).type), device,
                           weights=weights + 1e-12)


def _attraction(source: RowSource, pool: torch.Tensor, block_rows: int, device: Any) -> np.ndarray:
    """Number of rows whose nearest candidate is each row of ``pool`` [m, d] -> float64 [m]."""
    pnorm = (pool * pool).sum(1)
    m2p = (-2.0 * pool).contiguous()

    def work(lo: int, x: torch.Tensor, xx: torch.Tensor) -> torch.Tensor:
        dist = affine(x, m2p, pnorm)
        return torch.bincount(dist.argmin(dim=1), minlength=pool.shape[0])

    counts = torch.zeros(pool.shape[0], dtype=torch.float64, device=device)
    for part in map_blocks(source, block_rows, device, work):
        counts += part
    return counts.cpu().numpy()
