"""The task graph of a run: extract (model × side × language × range of store shards, then a check that marks
the group complete), align (pair), select, cluster (model × side × layer × space × K), metrics (model × side
pair × layer × pair × K, with the concept browser's rows of what it measured). Which clusterings a metrics task
needs comes from the metric registry (:mod:`engine.metrics.registry`). Keys are content hashes of each
task's settings and its inputs' keys, so re-runs skip what is done and a changed setting recomputes only what
depends on it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.config import Config, content_hash
from engine.errors import InputDataError
from engine.files import file_digest
from engine.schedule import tasks

log = logging.getLogger(__name__)

SidePair = tuple[str, str]


@dataclass
class Task:
    """One node: ``fn(context, *args, key, *dependency results)``."""

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


def _extraction(config: Config, corpus_hash: str, plans: dict[tuple[str, str, str], Any]) -> list[Task]:
    from engine.extract.stage import group_specs

    graph: list[Task] = []
    per_task = config.run.extract_shards_per_task
    for group in group_specs(config):
        spec, side, lang = group.model, group.side, group.lang
        base = content_hash({"stage": "extract", "model": spec.identity(), "corpus": corpus_hash,
                             "extract": config.extract.semantic(), "layers": config.extract.layers,
                             "lang": lang, "store": str(config.store.path),
                             "sources": config.extract.decoder_sources,
                             "chunking": [config.store.chunk_rows, config.store.shard_rows]})
        n_shards = plans[(spec.key, side, lang)].n_shards
        shard_tasks = []
        for first in range(0, n_shards, per_task):
            stop = min(n_shards, first + per_task)
            shard_tasks.append(Task("extract", f"{spec.key}-{side}-{lang}-{first}-{stop}", tasks.task_extract,
                                    (group, first, stop), content_hash([base, side, first, stop]), gpu=True))
        graph += shard_tasks
        graph.append(Task("extract_done", f"{spec.key}-{side}-{lang}", tasks.task_extract_done, (group,),
                          content_hash([base, side, "done", n_shards]), deps=[t.dask_key for t in shard_tasks]))
    return graph


def _side_pairs(config: Config, metrics: list[Any]) -> list[SidePair]:
    """Every (source side, target side) some metric is measured on: each side with itself first."""
    out = [(side, side) for side in config.extract.sides]
    for metric in metrics:
        out += [sides for sides in metric.side_pairs(config) if sides not in out]
    return out


def _layers(plans: dict[tuple[str, str, str], Any], model: str, sides: SidePair, lang: str) -> list[int]:
    """The layers stored on both sides (as the extraction planned them)."""
    first = plans[(model, sides[0], lang)].layers
    second = set(plans[(model, sides[1], lang)].layers)
    return [layer for layer in first if layer in second]


def _dictionary_digest(config: Config, src: str, tgt: str) -> str | None:
    """The content digest of the pair's imported dictionary file (an edited file is imported again)."""
    from engine.store import layout

    spec = config.align.dictionary.files.get(layout.pair_name(src, tgt))
    if spec is None:
        return None
    path = Path(spec.path)
    if not path.is_file():
        if spec.format == "freedict":
            return str(spec.path)  # a FreeDict name, found where FreeDict is installed
        raise InputDataError(f"align.dictionary.files.{layout.pair_name(src, tgt)}: dictionary file "
                             f"{str(path)!r} does not exist")
    return file_digest(path)


def build_graph(config: Config, corpus_hash: str, plans: dict[tuple[str, str, str], Any]) -> list[Task]:
    """Tasks in a topological order. ``plans``: (model key, side, lang) -> the planned extraction (its store
    shards and layers, :class:`engine.extract.GroupPlan`)."""
    from engine.align.stage import resolve_pairs
    from engine.metrics.registry import enabled_metrics
    from engine.metrics.stage import MeasureUnit
    from engine.select.stage import SelectInputs
    from engine.store import layout

    languages = list(config.corpus.languages)
    pairs = resolve_pairs(config.align.pairs, languages) if len(languages) > 1 else []
    graph = _extraction(config, corpus_hash, plans)
    extract_keys = [t.key for t in graph if t.stage == "extract_done"]
    align_keys = {}
    for src, tgt in pairs:
        key = content_hash({"stage": "align", "corpus": corpus_hash, "align": config.align.model_dump(mode="json"),
                            "pair": [src, tgt], "store": str(config.store.path),
                            "dictionary_file": _dictionary_digest(config, src, tgt)})
        # no inputs, and selection waits for it: start it before the extraction ranges, which fill the rest
        graph.append(Task("align", f"{src}-{tgt}", tasks.task_align, (config.align, src, tgt), key, priority=1))
        align_keys[(src, tgt)] = key
    if not pairs:
        log.warning("corpus.languages holds one language (%s): the run extracts its activations and measures "
                    "nothing, since CALIGN and COLAP compare two languages; add a language to corpus.languages",
                    ", ".join(languages))
        return graph
    select_key = content_hash({"stage": "select", "extract": sorted(extract_keys), "align": sorted(align_keys.values()),
                               "select": config.select.model_dump(mode="json")})
    graph.append(Task("select", "all", tasks.task_select, (SelectInputs.of(config),), select_key,
                      deps=[t.dask_key for t in graph if t.stage in ("extract_done", "align")]))
    select_dep = graph[-1].dask_key
    cluster_spec = _cluster_settings(config)
    metrics_spec = config.metrics.model_dump(mode="json")
    metrics = enabled_metrics(config)
    seeds = config.cluster.seeds()
    clusters: dict[str, Task] = {}
    for spec in config.models:
        for sides in _side_pairs(config, metrics):
            measured = [m for m in metrics if sides in m.side_pairs(config)]
            if not measured:
                continue
            every_k = sorted({k for m in measured for k in config.cluster.ks_of(m.name)})
            for layer in _layers(plans, spec.key, sides, languages[0]):
                for k in every_k:
                    at_k = [m for m in measured if k in config.cluster.ks_of(m.name)]
                    names = [m.name for m in at_k]
                    for src, tgt in pairs:
                        for seed in seeds:
                            extra = None if seed == seeds[0] else seed  # the first seed's are the browser's
                            tail = f"k{k}" if extra is None else f"k{k}-seed{seed}"
                            # a further seed's artefacts live beside the first's and its metrics store no
                            # curves or concepts: its keys differ from those of a run whose first seed it is
                            spread = {} if extra is None else {"spread": True}
                            cluster_tasks: list[Task] = []
                            for space in (s for m in at_k for s in m.spaces(src, tgt, sides)):
                                where = layout.cluster_space(list(space.langs), space.selection)
                                key = content_hash({"stage": "cluster", "select": select_key,
                                                    "cluster": {**cluster_spec, "seed": seed}, "model": spec.key,
                                                    "side": space.side, "layer": layer, "space": where, "k": k,
                                                    **spread})
                                if key not in clusters:
                                    clusters[key] = Task("cluster", f"{spec.key}-{space.side}-{layer}-{where}-{tail}",
                                                         tasks.task_cluster,
                                                         (config.cluster, spec.key, space.side, layer,
                                                          space.selection, list(space.langs), k, extra), key,
                                                         deps=[select_dep], gpu=True)
                                    graph.append(clusters[key])
                                if clusters[key] not in cluster_tasks:
                                    cluster_tasks.append(clusters[key])
                            unit = MeasureUnit(spec.key, sides, layer, src, tgt, k, extra)
                            name = f"{spec.key}-{unit.side}-{layer}-{src}-{tgt}-{tail}"
                            key = content_hash({"stage": "metrics", "clusters": [t.key for t in cluster_tasks],
                                                "align": align_keys[(src, tgt)], "metrics": metrics_spec,
                                                "measured": names, **spread})
                            graph.append(Task("metrics", name, tasks.task_metrics,
                                              (config.metrics, names, seed, unit), key,
                                              deps=[t.dask_key for t in cluster_tasks]))
    return graph


def _cluster_settings(config: Config) -> dict[str, Any]:
    """What a clustering's key hashes of the ``cluster`` section: its settings, not which Ks and seeds the run
    asks for (each task adds its own K and seed); ``mode`` only when it is not the standard one, so the keys of
    standard clusterings did not change when the mode was added."""
    exclude = {"ks", "metric_ks", "n_seeds"} | ({"mode"} if config.cluster.mode == "standard" else set())
    return config.cluster.model_dump(mode="json", exclude=exclude)
