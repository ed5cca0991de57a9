"""A short real run: me5-small on 200 en–de verses, three layers. What does CALIGN show against chance?"""

from __future__ import annotations

import pytest

from engine.config import validate_config
from engine.schedule import run_pipeline


@pytest.mark.slow
def test_calign_at_the_deepest_layer_beats_the_shuffled_dictionary(tmp_path):
    from engine.report.tables import read_results

    config = validate_config({
        "models": [{"name": "me5-small"}],
        "corpus": {"source": "bible", "languages": ["en", "de"], "count": 200},
        "extract": {"layers": [0, 6, 12], "device": "cpu"},
        "align": {"eflomal": {"n_samplers": 1}},
        "cluster": {"ks": [50]},
        "metrics": {"repeats": 20, "calign": {"theta": 0.5, "top_n": 1, "min_types": 1}},
        "store": {"path": str(tmp_path / "me5.zarr")},
        "run": {"dir": str(tmp_path / "run"), "scheduler": "sync", "report": False},
    })
    summary = run_pipeline(config, progress=False)
    results = read_results(summary.run_dir)
    deepest = results[(results.layer == 12) & (results.metric == "calign") & (results.direction == "forward")]
    [row] = deepest.itertuples()
    assert row.value > row.baseline_mean + 2 * row.baseline_sd
    assert row.p_value <= 0.05
    colap = results[(results.metric == "colap")]
    assert colap["value"].between(0, 1).all() and len(colap) == 3
