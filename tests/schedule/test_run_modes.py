"""`babelscope run` in the reference clustering mode and with a k-means seed spread, end to end (tiny model)."""

from __future__ import annotations

import pandas as pd
import pytest

from engine.config import validate_config
from engine.report.tables import read_results, read_run_tables
from engine.schedule import run_pipeline

VERSES = 100
K = 8


def config(model, links, tmp_path, *, seed=212, n_seeds=2, mode="reference", report=True):
    return validate_config({
        "models": [{"name": str(model), "label": "tiny"}],
        "corpus": {"source": "bible", "languages": ["en", "de"], "count": VERSES},
        "extract": {"device": "cpu", "layers": [0, 2]},
        "align": {"links": {"en-de": str(links)}},
        "cluster": {"ks": [K], "device": "cpu", "mode": mode, "seed": seed, "n_seeds": n_seeds},
        "metrics": {"repeats": 5, "device": "cpu"},
        "store": {"path": str(tmp_path / "run.zarr")},
        "run": {"dir": str(tmp_path / "run"), "scheduler": "sync", "report": report},
    })


def _values(frame: pd.DataFrame) -> pd.DataFrame:
    key = ["layer", "metric", "direction"]
    return frame.sort_values(key)[key + ["value", "baseline_mean", "n_points", "n_dropped"]].reset_index(drop=True)


@pytest.fixture(scope="module")
def spread_run(tiny_models, bible_links, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("modes")
    summary = run_pipeline(config(tiny_models["bert"], bible_links, tmp), progress=False)
    return tmp, summary


def test_reference_mode_drops_and_counts_the_last_point(spread_run):
    tmp, summary = spread_run
    results = read_results(summary.run_dir)
    assert sorted(results["seed"].unique()) == [212, 213]
    first = results[results["seed"] == 212]
    dropped = first.set_index(["layer", "metric", "direction"])["n_dropped"]
    assert set(dropped.xs("forward", level="direction")) == {1}  # the source space's last point
    assert set(dropped.xs("mean", level="direction")) == {2}  # both spaces'
    assert set(dropped.xs("joint", level="direction")) == {1}  # the joint COLAP space's
    from engine.store import layout, open_store

    root = open_store(tmp / "run.zarr")
    selection = layout.calign_selection("en", "de")
    n_en = root[layout.selection_path(selection, "tiny", "encoder", "en")]["rows"].shape[0]
    forward = first[(first["metric"] == "calign") & (first["direction"] == "forward")]
    assert set(forward["n_points"]) == {n_en - 1}
    folder = summary.run_dir / "clusters" / "tiny" / "encoder" / "layer_2"
    lines = (folder / selection / "en" / f"clusters-{K}.txt").read_text(encoding="utf-8").splitlines()
    assert len(lines) == n_en - 1 and all(len(line.split("|||")) == 5 for line in lines)
    assert (folder / selection / "en" / "seed213" / f"clusters-{K}.txt").is_file()
    assert (folder / "colap" / "joint-en-de" / f"clusters-{K}.txt").is_file()
    tables = read_run_tables(summary.run_dir)
    concepts = tables.concepts[(tables.concepts["lang"] == "en") & (tables.concepts["layer"] == 2)]
    assert concepts.drop_duplicates("cluster")["n_tokens"].sum() == n_en - 1  # the dropped row is in no concept


def test_seed_spread_in_tables_and_report(spread_run):
    tmp, summary = spread_run
    tables = read_run_tables(summary.run_dir)
    assert set(tables.results["seed"]) == {212}  # what the tables and plots show
    assert sorted(tables.seeds["seed"].unique()) == [212, 213]
    assert len(tables.seeds) == 2 * len(tables.results)
    assert (tables.curves.groupby(["layer", "metric", "direction", "theta"]).size() == 1).all()
    plots = sorted(p.name for p in (summary.run_dir / "plots").glob("seeds_*.png"))
    assert plots == [f"seeds_tiny_encoder_en-de_k{K}.png"]
    html = (summary.run_dir / "report.html").read_text(encoding="utf-8")
    assert "over 2 k-means seeds" in html and "Spread over k-means seeds" in html


def test_first_seed_and_spread_seed_agree_with_one_seed_runs(spread_run, tiny_models, bible_links):
    """The first seed's work is the one-seed run's (nothing computed again); the second seed's rows equal a run
    whose first seed it is."""
    tmp, summary = spread_run
    both = read_results(summary.run_dir)
    alone = run_pipeline(config(tiny_models["bert"], bible_links, tmp, n_seeds=1, report=False), progress=False)
    assert alone.computed.get("cluster", 0) == 0 and alone.computed.get("metrics", 0) == 0
    pd.testing.assert_frame_equal(_values(read_results(alone.run_dir)), _values(both[both["seed"] == 212]))
    second = run_pipeline(config(tiny_models["bert"], bible_links, tmp, seed=213, n_seeds=1, report=False),
                          progress=False)
    pd.testing.assert_frame_equal(_values(read_results(second.run_dir)), _values(both[both["seed"] == 213]))


def test_reference_mode_refuses_settings_it_does_not_have(tiny_models, bible_links, tmp_path):
    from engine.errors import ConfigError

    data = config(tiny_models["bert"], bible_links, tmp_path).model_dump(mode="json")
    data["cluster"]["backend"] = "torch"
    with pytest.raises(ConfigError, match=r"cluster.backend must be 'auto' or 'sklearn' with cluster.mode "
                                          r"reference .*; got \{.*'backend': 'torch'"):
        validate_config(data)
