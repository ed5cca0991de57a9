"""Metric curves over a threshold grid, from per-cluster shares in one pass (sort once, search the grid).

A cluster passes at θ iff its share is strictly greater than θ, exactly as the single-threshold metrics test it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.errors import ConfigError, param_message

__all__ = ["CALIGN_THETAS", "COLAP_THETAS", "Curve", "threshold_curve"]

CALIGN_THETAS = tuple(float(x) for x in np.round(np.linspace(0.5, 1.0, 11), 2))  # 0.50, 0.55, ..., 1.00
COLAP_THETAS = tuple(float(x) for x in np.round(np.linspace(0.05, 0.5, 10), 2))  # 0.05, 0.10, ..., 0.50


@dataclass(frozen=True)
class Curve:
    """values[i] = passing clusters / denominator at thetas[i]; counts[i] = passing clusters."""

    thetas: np.ndarray
    counts: np.ndarray
    denominator: int
    values: np.ndarray

    def to_dict(self) -> dict:
        return {"thetas": self.thetas.tolist(), "counts": self.counts.tolist(), "denominator": self.denominator,
                "values": self.values.tolist()}


def threshold_curve(shares: np.ndarray, thetas: tuple[float, ...] | np.ndarray, denominator: int) -> Curve:
    """Count ``shares > θ`` for every θ: shares float [n] (the candidates), thetas float [m]; value = count / den."""
    grid = np.asarray(thetas, dtype=np.float64)
    if grid.ndim != 1 or grid.size == 0 or not np.isfinite(grid).all():
        raise ConfigError(param_message("thetas", "threshold_curve", "a non-empty 1-D list of finite numbers",
                                        list(np.ravel(grid))))
    if denominator < 0:
        raise ConfigError(param_message("denominator", "threshold_curve", "a non-negative integer", denominator))
    return _threshold_curve(np.asarray(shares, dtype=np.float64).ravel(), grid, int(denominator))


def _threshold_curve(shares: np.ndarray, grid: np.ndarray, denominator: int) -> Curve:
    ordered = np.sort(shares)
    counts = (ordered.shape[0] - np.searchsorted(ordered, grid, side="right")).astype(np.int64)
    values = counts / denominator if denominator else np.zeros(grid.shape[0])
    return Curve(grid, counts, denominator, values)
