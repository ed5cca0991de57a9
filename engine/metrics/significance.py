"""Permutation significance: R null values beside one observed value -> mean, sd, empirical p-value."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engine.errors import ConfigError, param_message

__all__ = ["DEFAULT_REPEATS", "Significance", "significance", "check_repeats", "check_seed"]

DEFAULT_REPEATS = 100  # the smallest p-value is 1/(R+1): under 0.01 from R = 100


@dataclass(frozen=True)
class Significance:
    """An observed value against R values of a permutation null.

    null:    float64 [R]  the metric under each permutation
    mean/sd: of the null (sd with ddof=1; NaN when R < 2)
    p_value: (1 + #{null >= observed}) / (R + 1), the one-sided empirical p-value (never 0)
    """

    observed: float
    null: np.ndarray
    mean: float
    sd: float
    p_value: float

    @property
    def repeats(self) -> int:
        return int(self.null.shape[0])

    @property
    def corrected(self) -> float:
        """Observed minus the null mean (the chance-corrected value)."""
        return self.observed - self.mean

    def to_dict(self) -> dict:
        return {"observed": self.observed, "null_mean": _json_float(self.mean), "null_sd": _json_float(self.sd),
                "p_value": self.p_value, "corrected": _json_float(self.corrected), "repeats": self.repeats}


def _json_float(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def check_repeats(repeats: int, owner: str) -> None:
    """Validate a repetition count (0 = no null)."""
    if isinstance(repeats, bool) or not isinstance(repeats, int | np.integer) or repeats < 0:
        raise ConfigError(param_message("repeats", owner, "a non-negative integer (0 = no null)", repeats))


def check_seed(seed: int, owner: str) -> None:
    """Validate a permutation seed."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ConfigError(param_message("seed", owner, "a non-negative integer", seed))


def significance(observed: float, null: np.ndarray) -> Significance:
    """Summarise ``null`` (float [R], R >= 1) against ``observed``."""
    null = np.asarray(null, dtype=np.float64).ravel()
    if null.size == 0:
        raise ConfigError(param_message("null", "significance", "at least one null value", "an empty array"))
    if not math.isfinite(observed):
        raise ConfigError(param_message("observed", "significance", "a finite number", observed))
    return _significance(float(observed), null)


def _significance(observed: float, null: np.ndarray) -> Significance:
    n = null.shape[0]
    sd = float(null.std(ddof=1)) if n > 1 else math.nan
    p_value = (1 + int(np.count_nonzero(null >= observed))) / (n + 1)
    return Significance(observed, null, float(null.mean()), sd, p_value)
