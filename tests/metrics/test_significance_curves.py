"""Empirical p-values and θ curves on hand-computed numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.errors import ConfigError
from engine.metrics import CALIGN_THETAS, COLAP_THETAS, significance, threshold_curve


def test_p_value_counts_ties_as_at_least_as_extreme():
    result = significance(0.5, np.array([0.1, 0.5, 0.7, 0.2]))
    assert result.p_value == (1 + 2) / 5
    assert result.mean == pytest.approx(0.375) and result.sd == pytest.approx(np.std([0.1, 0.5, 0.7, 0.2], ddof=1))
    assert result.corrected == pytest.approx(0.125)
    assert significance(1.0, np.zeros(20)).p_value == 1 / 21
    single = significance(0.3, np.array([0.3]))
    assert math.isnan(single.sd) and single.to_dict()["null_sd"] is None and single.p_value == 1.0


def test_bad_significance_inputs():
    with pytest.raises(ConfigError, match="null of significance must be at least one null value"):
        significance(0.1, np.array([]))
    with pytest.raises(ConfigError, match="observed of significance must be a finite number"):
        significance(float("nan"), np.array([0.1]))


def test_curve_is_strict_and_grids_are_the_round_decimals():
    curve = threshold_curve(np.array([0.5, 0.55, 1.0, 0.7]), CALIGN_THETAS, 5)
    assert CALIGN_THETAS[:3] == (0.5, 0.55, 0.6) and CALIGN_THETAS[-1] == 1.0
    assert COLAP_THETAS[0] == 0.05 and COLAP_THETAS[-1] == 0.5 and len(COLAP_THETAS) == 10
    assert curve.counts.tolist() == [3, 2, 2, 2, 1, 1, 1, 1, 1, 1, 0]
    assert curve.values[0] == 3 / 5
    assert threshold_curve(np.array([]), [0.1], 0).values.tolist() == [0.0]
    with pytest.raises(ConfigError, match="thetas of threshold_curve"):
        threshold_curve(np.array([0.1]), [], 1)


def test_the_default_repeats_allow_p_below_one_percent():
    """Perfectly aligned concepts beat every shuffle: with the default repeats p = 1/(R+1) < 0.01."""
    import numpy as np

    from engine.metrics import DEFAULT_REPEATS, TypeClusters, calign

    labels = np.repeat(np.arange(20), 3)
    clusters = TypeClusters.from_tokens(labels, np.arange(60), 20, 60)
    result = calign(clusters, clusters, (np.arange(60), np.arange(60)), theta=0.9)
    assert result.forward.null.repeats == DEFAULT_REPEATS >= 100
    assert result.forward.null.p_value == 1 / (DEFAULT_REPEATS + 1) < 0.01
