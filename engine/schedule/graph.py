"""The task graph of a run: extract (model × side × language × range of store shards, then a check that marks
the group complete), align (pair), select, cluster (model × side × layer ×
space × K), metrics (model × side × layer × pair × K). Keys are content hashes of each task's settings and
its inputs' keys, so re-runs skip what is done and a changed setting recomputes only what depends on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine.config import Config, content_hash
from engine.schedule import tasks


@dataclass
class Task:
    """One node: ``fn(config, *args, key, *dependency results)``."""

    stage: str
    name: str
    fn: Callable[..., dict[str, Any]]
    args: tuple[Any, ...]
    key: str
    deps: list[str] = field(default_factory=list)
    gpu: bool = False
    priority: int = 0  # Dask runs ready tasks of higher priority first

    @property
    def dask_key(self) -> str:
        return f"{self.stage}-{self.name}-{self.key}"


def layer_counts(config: Config) -> dict[str, dict[str, int]]:
    """Model key -> side -> number of transformer layers (from each model's config only)."""
    from engine.extract.models import model_layer_counts

    return {spec.key: model_layer_counts(spec) for spec in config.models}


def build_graph(config: Config, corpus_hash: str, n_layers: dict[str, dict[str, int]],
                shard_counts: dict[tuple[str, str, str], int]) -> list[Task]:
    """Tasks in a topological order. ``shard_counts``: (model key, side, lang) -> store shards to extract."""
    from engine.align.stage import resolve_pairs
    from engine.extract.stage import requested_layers
    from engine.select.store import COLAP, calign_name

    languages = list(config.corpus.languages)
    pairs = resolve_pairs(config.align.pairs, languages) if len(languages) > 1 else []
    graph: list[Task] = []
    extract_keys = []
    per_task = config.run.extract_shards_per_task
    for index, spec in enumerate(config.models):
        for lang in languages:
            base = content_hash({"stage": "extract", "model": spec.model_dump(mode="json"), "corpus": corpus_hash,
                                 "extract": config.extract.semantic(), "layers": config.extract.layers,
                                 "lang": lang, "store": str(config.store.path),
                                 "sources": config.extract.decoder_sources,
                                 "chunking": [config.store.chunk_rows, config.store.shard_rows]})
            for side in config.extract.sides:
                n_shards = shard_counts[(spec.key, side, lang)]
                shard_tasks = []
                for first in range(0, n_shards, per_task):
                    stop = min(n_shards, first + per_task)
                    key = content_hash([base, side, first, stop])
                    shard_tasks.append(Task("extract", f"{spec.key}-{side}-{lang}-{first}-{stop}", tasks.task_extract,
                                            (index, side, lang, first, stop), key, gpu=True))
                graph += shard_tasks
                key = content_hash([base, side, "done", n_shards])
                graph.append(Task("extract_done", f"{spec.key}-{side}-{lang}", tasks.task_extract_done,
                                  (index, side, lang), key, deps=[t.dask_key for t in shard_tasks]))
                extract_keys.append(key)
    align_keys = {}
    for src, tgt in pairs:
        key = content_hash({"stage": "align", "corpus": corpus_hash, "align": config.align.model_dump(mode="json"),
                            "pair": [src, tgt], "store": str(config.store.path)})
        # no inputs, and selection waits for it: start it before the extraction ranges, which fill the rest
        graph.append(Task("align", f"{src}-{tgt}", tasks.task_align, (src, tgt), key, priority=1))
        align_keys[(src, tgt)] = key
    if not pairs:
        return graph
    select_key = content_hash({"stage": "select", "extract": sorted(extract_keys), "align": sorted(align_keys.values()),
                               "select": config.select.model_dump(mode="json")})
    graph.append(Task("select", "all", tasks.task_select, (), select_key,
                      deps=[t.dask_key for t in graph if t.stage in ("extract_done", "align")]))
    select_dep = graph[-1].dask_key
    cluster_spec = config.cluster.model_dump(mode="json", exclude={"ks"})
    for spec in config.models:
        for side in config.extract.sides:
            for layer in requested_layers(config.extract, n_layers[spec.key][side], spec.name):
                for k in config.cluster.ks:
                    for src, tgt in pairs:
                        spaces = []
                        if config.select.calign.enabled:
                            spaces += [(calign_name(src, tgt), [src]), (calign_name(src, tgt), [tgt])]
                        if config.select.colap.enabled:
                            spaces.append((COLAP, [src, tgt]))
                        cluster_tasks = []
                        for selection, langs in spaces:
                            space = tasks.cluster_space_name(selection, langs)
                            key = content_hash({"stage": "cluster", "select": select_key, "cluster": cluster_spec,
                                                "model": spec.key, "side": side, "layer": layer, "space": space,
                                                "k": k})
                            existing = next((t for t in graph if t.stage == "cluster" and t.key == key), None)
                            if existing is None:
                                existing = Task("cluster", f"{spec.key}-{side}-{layer}-{space}-k{k}",
                                                tasks.task_cluster, (spec.key, side, layer, selection, langs, k),
                                                key, deps=[select_dep], gpu=True)
                                graph.append(existing)
                            cluster_tasks.append(existing)
                        key = content_hash({"stage": "metrics", "clusters": [t.key for t in cluster_tasks],
                                            "align": align_keys[(src, tgt)],
                                            "metrics": config.metrics.model_dump(mode="json"),
                                            "calign_on": config.select.calign.enabled,
                                            "colap_on": config.select.colap.enabled})
                        graph.append(Task("metrics", f"{spec.key}-{side}-{layer}-{src}-{tgt}-k{k}",
                                          tasks.task_metrics, (spec.key, side, layer, src, tgt, k), key,
                                          deps=[t.dask_key for t in cluster_tasks]))
    return graph
