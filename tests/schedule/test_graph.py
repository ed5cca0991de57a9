"""The task graph at a size a large study builds (thousands of tasks): every clustering once, each metrics task
wired to its clusterings, and work linear in the number of tasks (no scan of the graph per task)."""

from __future__ import annotations

import dataclasses
from collections import Counter

import pytest

from engine.config import validate_config
from engine.extract import GroupPlan
from engine.schedule import graph as graph_module

LANGS = ["en", "de", "es", "fr", "ar", "ru", "it", "pt", "nl", "sv"]


def _config(n_models: int, ks: list[int]):
    return validate_config({
        "models": [{"name": f"m{i}", "label": f"m{i}"} for i in range(n_models)],
        "corpus": {"source": "bible", "languages": LANGS},
        "cluster": {"ks": ks},
        "run": {"extract_shards_per_task": 1},
    })


def _plans(config, layers: int, shards: int) -> dict:
    return {(m.key, "encoder", lang): GroupPlan(shards, list(range(layers + 1)))
            for m in config.models for lang in LANGS}


class _Counting:
    """Counts reads of a Task's fields (a scan of the graph per task reads them graph-size times over)."""

    reads = 0


@dataclasses.dataclass
class CountingTask(graph_module.Task):
    def __getattribute__(self, name):
        if name in ("stage", "key", "name"):
            _Counting.reads += 1
        return super().__getattribute__(name)


@pytest.mark.parametrize("n_models,ks,layers,shards", [(1, [100], 6, 10), (2, [100, 400, 1000], 24, 60)])
def test_graph_at_thousands_of_tasks_is_built_in_linear_work(monkeypatch, n_models, ks, layers, shards):
    config = _config(n_models, ks)
    monkeypatch.setattr(graph_module, "Task", CountingTask)
    _Counting.reads = 0
    tasks = graph_module.build_graph(config, "hash", _plans(config, layers, shards))
    reads = _Counting.reads
    stages = Counter(t.stage for t in tasks)
    pairs = len(LANGS) - 1
    per_layer = n_models * (layers + 1) * len(ks)
    assert stages["cluster"] == per_layer * pairs * 3  # CALIGN src, CALIGN tgt and COLAP joint of each pair
    assert stages["metrics"] == per_layer * pairs
    assert stages["extract"] == n_models * len(LANGS) * shards
    assert len({t.dask_key for t in tasks}) == len(tasks)
    by_key = {t.dask_key: t for t in tasks}
    for task in tasks:  # every dependency comes earlier in the list (topological order)
        assert all(by_key[d] is not task for d in task.deps)
    position = {t.dask_key: i for i, t in enumerate(tasks)}
    assert all(position[d] < position[t.dask_key] for t in tasks for d in t.deps)
    metrics = [t for t in tasks if t.stage == "metrics"]
    assert all(len(t.deps) == 3 and all(d.startswith("cluster-") for d in t.deps) for t in metrics)
    # linear: a bounded number of field reads per task (a scan per clustering would read ~tasks x clusterings)
    assert reads <= 10 * len(tasks), (reads, len(tasks))
    if len(tasks) > 5000:
        assert stages["cluster"] > 2000


def test_a_k_per_metric_clusters_each_metrics_spaces_at_its_own_ks():
    """CALIGN at K=100 and 400, COLAP at 100: the joint spaces are never clustered at 400."""
    config = validate_config({
        "models": [{"name": "m0", "label": "m0"}], "corpus": {"source": "bible", "languages": ["en", "de"]},
        "cluster": {"ks": [50], "metric_ks": {"calign": [100, 400], "colap": [100]}}})
    tasks = graph_module.build_graph(config, "hash", {("m0", "encoder", lang): GroupPlan(1, [0, 1])
                                                      for lang in ("en", "de")})
    clusters = Counter((t.args[5] == ["en", "de"], t.args[6]) for t in tasks if t.stage == "cluster")
    assert clusters == {(False, 100): 4, (False, 400): 4, (True, 100): 2}  # 2 layers × (en, de) and the joint
    metrics = {t.name: t.args[1] for t in tasks if t.stage == "metrics"}
    assert metrics == {"m0-encoder-0-en-de-k100": ["calign", "colap"], "m0-encoder-1-en-de-k100": ["calign", "colap"],
                       "m0-encoder-0-en-de-k400": ["calign"], "m0-encoder-1-en-de-k400": ["calign"]}
    plain = validate_config({**config.model_dump(mode="json"), "cluster": {"ks": [50]}})
    assert {t.key for t in graph_module.build_graph(plain, "hash", {("m0", "encoder", lang): GroupPlan(1, [0, 1])
                                                                   for lang in ("en", "de")})
            if t.stage == "cluster" and t.args[6] == 100} == set()


def test_metric_ks_name_registered_metrics_only():
    from engine.errors import ConfigError

    config = validate_config({"models": [{"name": "m"}], "corpus": {"source": "bible", "languages": ["en", "de"]},
                              "cluster": {"metric_ks": {"colapse": [10]}}})
    with pytest.raises(ConfigError, match=r"cluster.metric_ks of the run must be keyed by the metrics \(calign \| "
                                          r"colap\); got 'colapse'"):
        graph_module.build_graph(config, "hash", {("m", "encoder", lang): GroupPlan(1, [0]) for lang in ("en", "de")})
