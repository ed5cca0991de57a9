"""Task functions of a run: cache check → one stage function → record. Each gets a :class:`TaskContext` (store,
run folder, threads), the config sections its stage reads, its cache ``key`` and its inputs' summaries, and
returns a small JSON-able summary (never arrays), so it runs the same in-process or on a Dask worker.

A task whose key is cached and whose artefact is still complete returns at once with ``computed: False``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.schedule.cache import TaskCache
from engine.schedule.models import kept_model, release_worker_model
from engine.schedule.placement import WORKER_ENV
from engine.store import layout
from engine.store.artefacts import is_complete

Payload = dict[str, Any]


@dataclass(frozen=True)
class TaskContext:
    """What every task of one run shares: the store, the run folder, and torch/BLAS threads per task."""

    store: Path
    run_dir: Path
    threads: int
    probe: bool = False  # only answer from the cache: a task with nothing cached raises NotCached

    def root(self, mode: str = "r+") -> Any:
        from engine.store import open_store

        return open_store(self.store, mode=mode)


@contextmanager
def _threads(n: int) -> Iterator[None]:
    """Same torch and BLAS thread count in every scheduler, so results do not depend on where a task ran."""
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with threadpool_limits(n):
            yield
    finally:
        torch.set_num_threads(before)


class NotCached(Exception):
    """Raised by a task run with ``TaskContext.probe`` when it would have to compute."""


def _run(ctx: TaskContext, stage: str, key: str, fresh: Callable[[Payload], bool],
         compute: Callable[[], Payload]) -> Payload:
    """The cached payload if ``fresh(payload)`` holds of it, else ``compute()`` (timed, cached)."""
    cache = TaskCache(ctx.run_dir)
    hit = cache.get(stage, key)
    if hit is not None and fresh(hit):
        return {**hit, "computed": False}
    if ctx.probe:
        raise NotCached(key)
    started = time.perf_counter()
    with _threads(ctx.threads):
        payload = compute()
    payload = {**payload, "key": key, "stage": stage, "seconds": round(time.perf_counter() - started, 3)}
    if os.environ.get(WORKER_ENV):  # where it ran (GPU placement): the worker and the GPUs it sees, in order
        payload.update(worker=os.environ[WORKER_ENV], visible_devices=os.environ.get("CUDA_VISIBLE_DEVICES"))
    cache.put(stage, key, payload)
    return {**payload, "computed": True}


def task_extract(ctx: TaskContext, group: Any, first: int, stop: int, key: str) -> Payload:
    """Compute and write shards ``first:stop`` of one model × side × language (arrays already planned)."""
    from engine.extract import extract_range
    from engine.extract.stage import shards_written

    root = ctx.root()

    def compute() -> Payload:
        from engine.device import resolve_device
        from engine.schedule.progress import task_reporter

        n_shards, n_words = extract_range(root, group, first, stop, kept_model, on_words=task_reporter(key))
        return {"group": group.names[0], "shards": [first, stop], "computed_shards": n_shards, "words": n_words,
                "device": str(resolve_device(group.extract.device))}

    return _run(ctx, "extract", key, lambda _: shards_written(root, group, first, stop), compute)


def task_extract_done(ctx: TaskContext, group: Any, key: str, *shards: Payload) -> Payload:
    """Check every shard of one model × side × language is written and mark the group complete."""
    from engine.extract import finish_group

    root = ctx.root()

    def compute() -> Payload:
        n_words = sum(int(r.get("words", 0)) for r in shards if r.get("computed"))
        seconds = sum(float(r.get("seconds", 0.0)) for r in shards if r.get("computed"))
        summary = finish_group(root, group, n_words, seconds)
        return {"group": group.names[0], "n_rows": summary.n_rows,
                "words_per_second": round(n_words / seconds, 1) if seconds else None,
                "missing": summary.stats.get("missing_words", 0)}

    return _run(ctx, "extract_done", key, lambda _: is_complete(root, group.names[0]), compute)


def task_align(ctx: TaskContext, spec: Any, src: str, tgt: str, key: str) -> Payload:
    """Word links and dictionary of one language pair (``spec``: the config's ``align`` section)."""
    from engine.align.stage import align_configured

    release_worker_model()
    root = ctx.root()

    def compute() -> Payload:
        s = align_configured(root, spec, src, tgt)
        return {"pair": layout.pair_name(src, tgt), "n_links": s.n_links, "dictionary_words": s.n_dictionary_words,
                "warnings": s.warnings}

    return _run(ctx, "align", key, lambda _: is_complete(root, layout.links_path(src, tgt)), compute)


def task_select(ctx: TaskContext, inputs: Any, key: str, *upstream: Payload) -> Payload:
    """Every selection (COLAP and CALIGN sets) of the run (``inputs``: :class:`engine.select.SelectInputs`)."""
    from engine.select.stage import select_all

    release_worker_model()
    root = ctx.root()

    def compute() -> Payload:
        summaries = select_all(root, inputs)
        return {"sizes": {f"{s.name}/{s.model}/{s.side}/{s.lang}": s.n_rows for s in summaries}}

    def fresh(held: Payload) -> bool:
        return all(is_complete(root, f"{layout.SELECTIONS}/{name}") for name in held.get("sizes", {}))

    return _run(ctx, "select", key, fresh, compute)


def task_cluster(ctx: TaskContext, spec: Any, model: str, side: str, layer: int, selection: str, langs: list[str],
                 k: int, extra_seed: int | None, key: str, *upstream: Payload) -> Payload:
    """k-means of one model × side × layer × space into the store (``spec``: the config's ``cluster`` section;
    ``extra_seed``: a further seed of the seed spread, None for the first). In the reference mode the released
    script's cluster file is written too, under ``{run.dir}/clusters/``."""
    from engine.cluster.reference import DROPPED, reference_file_path
    from engine.cluster.stage import cluster_space, fit_options, space_size

    release_worker_model()
    root = ctx.root()
    where = layout.cluster_space(langs, selection)
    name = layout.clusters_path(model, side, layer, where, k, extra_seed)
    reference = spec.mode == "reference"
    export = ctx.run_dir / reference_file_path(model, side, layer, where, k, extra_seed) if reference else None

    def compute() -> Payload:
        n = space_size(root, model=model, side=side, layer=layer, langs=list(langs), selection=selection)
        usable = n - DROPPED if reference else n
        if usable < k:
            reason = (f"space {where} of {model}/{side} layer {layer} has {usable} points"
                      f"{' to cluster (reference mode: all but the last)' if reference else ''}, fewer than K={k} "
                      f"(cluster.ks): not clustered, its metrics skipped")
            return {"path": name, "n": n, "skipped": reason}
        stored = cluster_space(root, model=model, side=side, layer=layer, langs=list(langs), k=k,
                               selection=selection, extra_attrs={"cache_key": key}, extra_seed=extra_seed,
                               **fit_options(spec, extra_seed))
        c = stored.clustering
        payload = {"path": name, "n": c.n, "inertia": c.inertia, "n_iter": c.n_iter, "backend": c.backend,
                   "device": c.device, "n_dropped": int(stored.attrs.get("n_dropped", 0))}
        if export is not None:
            from engine.cluster.reference import write_reference_clusters

            write_reference_clusters(root, export, model=model, side=side, layer=layer, langs=list(langs),
                                     selection=selection, k=k, extra_seed=extra_seed)
            payload["reference_file"] = str(export)
        return payload

    return _run(ctx, "cluster", key, lambda held: bool(held.get("skipped")) or (
        is_complete(root, name) and root[name].attrs.get("cache_key") == key
        and (export is None or export.is_file())), compute)


def task_metrics(ctx: TaskContext, spec: Any, metrics: list[str], cluster_seed: int, unit: Any, key: str,
                 *upstream: Payload) -> Payload:
    """The ``metrics`` of one :class:`~engine.metrics.stage.MeasureUnit` as table rows, and the concept browser's
    rows of its spaces when a metric stored their alignment (``spec``: the config's ``metrics`` section;
    ``cluster_seed`` fills the seed column)."""
    from engine.metrics.stage import cluster_paths, measure_pair, measured, stores_alignment
    from engine.report.concepts import concept_rows

    release_worker_model()
    root = ctx.root()
    skipped = {p["path"]: p["skipped"] for p in upstream if p.get("skipped")}  # spaces too small for K
    runnable = [m for m in metrics if not any(path in skipped for path in cluster_paths(unit, m))]

    def compute() -> Payload:
        rows = measure_pair(root, unit, spec, runnable, cluster_seed) if runnable else {"results": [], "curves": []}
        browsed = stores_alignment(runnable) and unit.extra_seed is None  # the browser shows the first seed's
        concepts = concept_rows(root, model=unit.model, sides=unit.sides, layer=unit.layer, src=unit.src,
                                tgt=unit.tgt, k=unit.k) if browsed else []
        return {**rows, "concepts": concepts, "skipped": sorted(skipped.values())}

    return _run(ctx, "metrics", key, lambda _: measured(root, unit, runnable), compute)
