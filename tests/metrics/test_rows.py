"""Result and curve rows from real CALIGN / COLAP results pass the schema and carry the results' numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.errors import ConfigError
from engine.metrics import TypeClusters, calign, colap
from engine.metrics.rows import calign_rows, colap_rows
from engine.report.tables import validate_curves, validate_results


@pytest.fixture(scope="module")
def results():
    rng = np.random.default_rng(0)
    src = TypeClusters.from_tokens(rng.integers(0, 6, 200), rng.integers(0, 40, 200), n_clusters=6, n_types=40)
    tgt = TypeClusters.from_tokens(rng.integers(0, 6, 200), rng.integers(0, 40, 200), n_clusters=6, n_types=40)
    pairs = (np.arange(40), np.arange(40))
    cal = calign(src, tgt, pairs, theta=0.3, top_n=1, repeats=7, seed=3)
    col = colap(rng.integers(0, 6, 300), np.repeat([0, 1], 150), languages=["en", "de"], theta=0.3, repeats=7)
    return cal, col


def test_calign_rows(results):
    cal, _ = results
    rows, curves = calign_rows(cal, model="m", side="encoder", layer=2, src="en", tgt="de", k=6, n_points=(200, 190))
    table = validate_results(pd.DataFrame(rows))
    assert sorted(zip(table["metric"], table["direction"], strict=True)) == [
        ("calign", "backward"), ("calign", "forward"), ("calign", "mean"), ("calign_eligible", "backward"),
        ("calign_eligible", "forward"), ("calign_eligible", "mean")]
    forward = table[(table["metric"] == "calign") & (table["direction"] == "forward")].iloc[0]
    assert forward["value"] == cal.forward.value and forward["baseline_mean"] == cal.forward.null.mean
    assert forward["p_value"] == cal.forward.null.p_value and forward["baseline_kind"] == "shuffled-dictionary-types"
    assert forward["repeats"] == cal.forward.null.repeats
    assert forward["n_points"] == 200 and forward["n_degenerate"] == cal.forward.n_single_type
    assert forward["seed"] == 3
    mean = table[(table["metric"] == "calign") & (table["direction"] == "mean")].iloc[0]
    assert mean["value"] == cal.mean and mean["n_points"] == 390
    assert mean["baseline_mean"] == pytest.approx((cal.forward.null.mean + cal.backward.null.mean) / 2)
    eligible = table[(table["metric"] == "calign_eligible") & (table["direction"] == "mean")].iloc[0]
    f, b = cal.forward, cal.backward
    assert eligible["value"] == pytest.approx((f.value_eligible + b.value_eligible) / 2)
    assert eligible["baseline_mean"] == pytest.approx((f.null_eligible.mean + b.null_eligible.mean) / 2)
    curve = validate_curves(pd.DataFrame(curves))
    fwd = curve[(curve["metric"] == "calign") & (curve["direction"] == "forward")]
    np.testing.assert_allclose(fwd["value"], cal.forward.curve().values)
    mean_curve = curve[curve["direction"] == "mean"]["value"].to_numpy()
    np.testing.assert_allclose(mean_curve, (cal.forward.curve().values + cal.backward.curve().values) / 2)


def test_colap_rows(results):
    _, col = results
    rows, curves = colap_rows(col, model="m", side="encoder", layer=0, src="en", tgt="de", k=6, n_points=300)
    [row] = validate_results(pd.DataFrame(rows)).to_dict("records")
    assert row["seed"] == 0  # the permutations' seed, unless given
    assert colap_rows(col, model="m", side="encoder", layer=0, src="en", tgt="de", k=6, n_points=1,
                      seed=42)[0][0]["seed"] == 42
    assert row["value"] == col.value and row["baseline_mean"] == col.null.mean
    assert row["baseline_kind"] == "permuted-languages" and row["n_degenerate"] == col.n_single_language
    assert row["direction"] == "joint" and pd.isna(row["top_n"])
    assert len(validate_curves(pd.DataFrame(curves))) == len(col.curve().thetas)


def test_wrong_inputs(results):
    cal, col = results
    with pytest.raises(ConfigError, match="result of calign_rows must be a CalignResult; got 'ColapResult'"):
        calign_rows(col, model="m", side="encoder", layer=0, src="en", tgt="de", k=6, n_points=1)
    with pytest.raises(ConfigError, match="layer of colap_rows must be a non-negative integer; got -1"):
        colap_rows(col, model="m", side="encoder", layer=-1, src="en", tgt="de", k=6, n_points=1)
    with pytest.raises(ConfigError, match=r"src/tgt of colap_rows must be languages of the result"):
        colap_rows(col, model="m", side="encoder", layer=0, src="en", tgt="fr", k=6, n_points=1)
