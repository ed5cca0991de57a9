"""Comparing runs: deltas per layer and pair, model matching, settings compared across, and the CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from engine.cli import app
from engine.errors import ConfigError, InputDataError
from engine.report.compare import COMPARE_COLUMNS, compare, compare_summary, write_compare
from engine.report.tables import write_run_tables
from tests.report.helpers import results_frame


@pytest.fixture
def runs(tmp_path):
    a, b = tmp_path / "pretrained", tmp_path / "finetuned"
    write_run_tables(a, results_frame(models=("mbert",)))
    finetuned = results_frame(models=("mbert-ft",), shift=0.1)
    finetuned.loc[finetuned["layer"] == 4, "value"] += 0.2  # the last layer gains most
    write_run_tables(b, finetuned)
    return a, b


def test_deltas_per_layer_and_pair(runs):
    diff = compare(*runs)
    # 2 pairs × 5 layers × (3 calign, 3 eligible, 1 colap)
    assert list(diff.columns) == COMPARE_COLUMNS and len(diff) == 70
    assert (diff["model_a"] == "mbert").all() and (diff["model_b"] == "mbert-ft").all()
    np.testing.assert_allclose(diff["delta"], np.where(diff["layer"] == 4, 0.3, 0.1))
    np.testing.assert_allclose(diff["delta"], diff["value_b"] - diff["value_a"])
    assert (diff["k_a"] == 8).all() and (diff["theta_a"] == diff["theta_b"]).all()
    summary = compare_summary(diff)
    row = summary[(summary["pair"] == "en-de") & (summary["metric"] == "colap")].iloc[0]
    assert row["peak_layer"] == 4 and row["peak_delta"] == pytest.approx(0.3)
    assert row["mean_delta"] == pytest.approx(0.14) and row["layers"] == 5


def test_unmatched_rows_and_model_maps(runs, caplog):
    a, b = runs
    more = results_frame(models=("mbert-ft",), layers=[0, 1, 2, 3, 4, 5])  # one layer more in B
    diff = compare(a, more)
    assert diff["delta"].isna().sum() == 14 and set(diff.loc[diff["delta"].isna(), "layer"]) == {5}
    assert "14 of B have no counterpart" in caplog.text
    two_a, two_b = results_frame(models=("x", "y")), results_frame(models=("x2", "y2"), shift=0.05)
    with pytest.raises(ConfigError, match=r"model_map of compare must be given when the runs' models differ "
                                          r"\(A: \['x', 'y'\], B: \['x2', 'y2'\]\); e.g. --model x=x2"):
        compare(two_a, two_b)
    mapped = compare(two_a, two_b, model_map={"x": "y2"})
    assert set(mapped["model_b"]) == {"y2"} and len(mapped) == 70
    with pytest.raises(ConfigError, match="models of run A"):
        compare(two_a, two_b, model_map={"x": "nope"})
    with pytest.raises(InputDataError, match="no row in common"):
        compare(a, results_frame(models=("mbert",), pairs=[("fr", "es")]))


def test_settings_with_one_value_are_compared_across(caplog):
    a = results_frame(models=("m",), k=500)
    b = results_frame(models=("m",), k=1000)
    diff = compare(a, b)
    assert len(diff) == 70 and (diff["k_a"] == 500).all() and (diff["k_b"] == 1000).all()
    assert "k of calign differs (A 500, B 1000); compared across it" in caplog.text
    swept = pd.concat([results_frame(models=("m",), k=500), results_frame(models=("m",), k=1000, shift=0.2)])
    diff = compare(swept, swept)  # a K sweep joins on K
    assert len(diff) == 140 and (diff["k_a"] == diff["k_b"]).all() and (diff["delta"] == 0).all()


def test_write_compare_and_cli(runs, tmp_path):
    a, b = runs
    diff, files = write_compare(a, b, tmp_path / "out")
    assert pd.read_csv(files["csv"]).shape == diff.shape
    assert [p.name for p in files["plots"]] == ["compare_mbert_mbert-ft_encoder_k8.png", "depth_mbert_mbert-ft.png"]
    result = CliRunner().invoke(app, ["compare", str(a), str(b), "--out", str(tmp_path / "cli")])
    assert result.exit_code == 0, result.output
    assert "mbert -> mbert-ft encoder K=8 en-de colap joint: mean delta +0.140 over 5 layers, largest +0.300 at " \
           "layer 4" in result.output
    assert (tmp_path / "cli" / "compare.parquet").is_file() and (tmp_path / "cli" / "compare_summary.csv").is_file()
    bad = CliRunner().invoke(app, ["compare", str(a), str(b), "--model", "mbert"])
    assert bad.exit_code == 2 and "--model of compare must be A_NAME=B_NAME; got 'mbert'" in bad.output
    missing = CliRunner().invoke(app, ["compare", str(a), str(tmp_path / "none")])
    assert missing.exit_code == 2 and "does not exist" in missing.output


def test_report_cli_rerenders(runs):
    a, _ = runs
    result = CliRunner().invoke(app, ["report", str(a)])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith(f"report: {a / 'report.html'}") and (a / "plots").is_dir()


def test_models_of_different_depth_line_up_by_relative_depth(tmp_path):
    """An encoder of 12 layers and a decoder of 18: both end at depth 1; the headline values are the excess over
    the floor (CALIGN) and the value (COLAP)."""
    from engine.report.compare import headline_by_depth

    encoder = results_frame(models=("enc",), layers=list(range(13)))
    decoder = results_frame(models=("dec",), layers=list(range(19)))
    both = headline_by_depth(pd.concat([encoder, decoder], ignore_index=True))
    assert both.groupby("model")["depth"].max().to_dict() == {"dec": 1.0, "enc": 1.0}
    assert both.groupby("model")["layer"].nunique().to_dict() == {"dec": 19, "enc": 13}
    row = both[(both["model"] == "enc") & (both["quantity"] == "calign") & (both["layer"] == 6)
               & (both["pair"] == "en-de")].iloc[0]
    source = encoder[(encoder["metric"] == "calign_eligible") & (encoder["direction"] == "mean")
                     & (encoder["layer"] == 6) & (encoder["pair"] == "en-de")].iloc[0]
    assert row["y"] == pytest.approx(source["value"] - source["baseline_mean"]) and row["depth"] == 0.5
    write_run_tables(tmp_path / "enc", encoder)
    write_run_tables(tmp_path / "dec", decoder)
    _, files = write_compare(tmp_path / "enc", tmp_path / "dec", tmp_path / "out")
    assert "depth_enc_dec.png" in [p.name for p in files["plots"]]
