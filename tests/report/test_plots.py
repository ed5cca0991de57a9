"""Plots: one PNG per model × side × pair × K (layers, curves) and per model × side × K (heatmap), legends
that say which baseline is a floor and which a ceiling."""

from __future__ import annotations

import numpy as np
import pytest

from engine.report.plots import _layer_figure, make_plots, slug
from engine.report.tables import validate_curves, validate_results
from tests.report.helpers import curves_frame, results_frame

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def tables():
    return validate_results(results_frame(models=("tiny", "org/model"))), validate_curves(curves_frame())


def test_every_plot_is_written(tables, tmp_path):
    results, curves = tables
    plots = make_plots(results, curves, tmp_path)
    names = sorted(p.path.name for p in plots)
    per_pair = [f"{kind}_{model}_encoder_{pair}_k8.png" for kind in ("excess", "layers", "degenerate")
                for model in ("tiny", "org-model") for pair in ("en-de", "en-ar")]
    assert names == sorted([
        *per_pair, "heatmap_tiny_encoder_k8.png", "heatmap_org-model_encoder_k8.png",
        "curves_tiny_encoder_en-de_k8.png", "curves_tiny_encoder_en-ar_k8.png",  # curves only for tiny
    ])
    assert [p.kind for p in plots][:4] == ["excess"] * 4  # what survives chance comes first
    for plot in plots:
        data = plot.path.read_bytes()
        assert data.startswith(PNG) and len(data) > 5000
        assert b"http" not in data  # no Software URL in the PNG metadata
    assert {p.kind for p in plots} == {"excess", "layers", "degenerate", "heatmap", "curves"}


def test_layer_plot_bands_and_legend(tables):
    results, _ = tables
    frame = results[(results["model"] == "tiny") & (results["pair"] == "en-de")
                    & results["metric"].isin(["calign", "colap"])]
    fig = _layer_figure(frame, "tiny", "encoder", "en-de", 8)
    [legend] = fig.legends
    labels = [t.get_text() for t in legend.get_texts()]
    assert "CALIGN baseline: shuffled dictionary (target types relabelled), a floor (mean ± sd)" in labels
    assert "COLAP baseline: permuted languages, a ceiling (mean ± sd)" in labels
    assert "CALIGN en→de (θ=0.5)" in labels and "CALIGN de→en (θ=0.5)" in labels
    assert "CALIGN mean of both directions (θ=0.5)" in labels and "COLAP joint en+de (θ=0.3)" in labels
    [ax] = fig.axes
    band = [c for c in ax.collections if c.get_label().startswith("CALIGN baseline")][0]
    ys = band.get_paths()[0].vertices[:, 1]
    np.testing.assert_allclose([ys.min(), ys.max()], [0.07, 0.13])  # 0.1 ± 0.03


def test_band_falls_back_to_a_direction_with_a_baseline(tables):
    results, _ = tables
    frame = results[(results["model"] == "tiny") & (results["pair"] == "en-de") & (results["metric"] == "calign")]
    frame = frame.assign(baseline_mean=np.where(frame["direction"] == "mean", np.nan, frame["baseline_mean"]))
    labels = [t.get_text() for t in _layer_figure(frame, "tiny", "encoder", "en-de", 8).legends[0].get_texts()]
    assert "CALIGN baseline (en→de): shuffled dictionary (target types relabelled), a floor (mean ± sd)" in labels


def test_slug():
    assert slug("intfloat/multilingual-e5-small", "encoder", "k500") == "intfloat-multilingual-e5-small_encoder_k500"
