"""Task functions of a run. Each reads its inputs from the store by path, writes its own outputs, and
returns a small JSON-able summary (never arrays), so it runs the same in-process or on a Dask worker.

Every task gets its cache ``key`` (see :mod:`engine.schedule.graph`); a task whose key is cached and whose
artefact is still complete returns at once with ``computed: False``.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from engine.config import Config, ModelSpec
from engine.schedule.cache import TaskCache
from engine.store import layout

log = logging.getLogger(__name__)


@contextmanager
def _threads(config: Config) -> Iterator[None]:
    """Same torch and BLAS thread count in every scheduler, so results do not depend on where a task ran."""
    import torch
    from threadpoolctl import threadpool_limits

    n = config.run.threads_per_task
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with threadpool_limits(n):
            yield
    finally:
        torch.set_num_threads(before)


def _cached(config: Config, stage: str, key: str, complete: bool = True) -> dict[str, Any] | None:
    hit = TaskCache(config.run.dir).get(stage, key)
    if hit is not None and complete:
        return {**hit, "computed": False}
    return None


def _done(config: Config, stage: str, key: str, payload: dict[str, Any], started: float) -> dict[str, Any]:
    payload = {**payload, "key": key, "stage": stage, "seconds": round(time.perf_counter() - started, 3)}
    TaskCache(config.run.dir).put(stage, key, payload)
    return {**payload, "computed": True}


def _root(config: Config, mode: str = "r+") -> Any:
    from engine.store import open_store

    return open_store(config.store.path, mode=mode)


def _complete(root: Any, name: str) -> bool:
    return name in root and bool(root[name].attrs.get("complete"))


# worker thread -> (identity, weights loaded, LoadedModel): the model of its last extraction task
_KEPT_MODELS: dict[int, tuple[str, bool, Any]] = {}


def _worker_model(spec: ModelSpec, device: Any, weights: bool) -> Any:
    """``load_model``, kept by this worker thread between extraction tasks (loading me5-small alone takes
    1-4 s, once per task otherwise). A kept model with weights also serves a tokenizer-only request. Kept
    per thread, so tasks running side by side in one worker never share a model (extraction hooks into it).
    """
    from engine.extract.models import load_model, source_signature

    identity = f"{spec.model_dump_json()}|{device}|{source_signature(spec)}"
    thread = threading.get_ident()
    kept = _KEPT_MODELS.get(thread)
    if kept is not None and kept[0] == identity and (kept[1] or not weights):
        return kept[2]
    _KEPT_MODELS.pop(thread, None)  # let the previous model go before loading the next
    loaded = load_model(spec, device, weights=weights)
    _KEPT_MODELS[thread] = (identity, weights, loaded)
    return loaded


def release_worker_model() -> None:
    """Drop this thread's kept model: the tasks after extraction want its (GPU) memory."""
    if _KEPT_MODELS.pop(threading.get_ident(), None) is not None:
        gc.collect()
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def _extraction_inputs(config: Config, model_index: int, side: str, lang: str, weights: bool) -> tuple:
    from engine.device import resolve_compute_dtype, resolve_device
    from engine.extract import load_corpus
    from engine.extract.stage import decoder_source

    corpus = load_corpus(config)
    device = resolve_device(config.extract.device)
    dtype = resolve_compute_dtype(config.extract.dtype, device)
    loaded = _worker_model(config.models[model_index], device, weights)
    sources = corpus.words(decoder_source(config, lang)) if side == "decoder" else None
    return corpus, device, dtype, loaded, corpus.words(lang), sources


def plan_extraction(config: Config, model_index: int, side: str, lang: str) -> int:
    """On the client, before any task: plan the rows and create the arrays; returns the number of shards."""
    from engine.extract.stage import begin_extraction

    root = _root(config)
    name = layout.activations_path(config.models[model_index].key, side, lang)
    corpus, _, dtype, loaded, words, sources = _extraction_inputs(config, model_index, side, lang, weights=False)
    job = begin_extraction(root, loaded, side, lang, config, words, sources, corpus.content_hash(), dtype)
    return job.n_shards if job is not None else int(root[name]["shard_done"].shape[0])


def task_extract(config: Config, model_index: int, side: str, lang: str, first: int, stop: int,
                 key: str) -> dict[str, Any]:
    """Compute and write shards ``first:stop`` of one model × side × language (arrays already exist)."""
    from engine.extract.stage import begin_extraction, extract_shards

    root = _root(config)
    name = layout.activations_path(config.models[model_index].key, side, lang)
    written = name in root and "shard_done" in root[name] and bool(root[name]["shard_done"][first:stop].all())
    if (hit := _cached(config, "extract", key, written)) is not None:
        return hit
    started = time.perf_counter()
    with _threads(config):
        corpus, device, dtype, loaded, words, sources = _extraction_inputs(config, model_index, side, lang, True)
        job = begin_extraction(root, loaded, side, lang, config, words, sources, corpus.content_hash(), dtype)
        n_shards, n_words = (0, 0) if job is None else extract_shards(
            job, loaded, config, words, sources, dtype, device, range(first, stop), progress=False)
    return _done(config, "extract", key, {"group": name, "shards": [first, stop], "computed_shards": n_shards,
                                          "words": n_words}, started)


def task_extract_done(config: Config, model_index: int, side: str, lang: str, key: str,
                      *shards: dict[str, Any]) -> dict[str, Any]:
    """Check every shard of one model × side × language is written and mark the group complete."""
    from engine.extract.stage import begin_extraction, finish_extraction

    root = _root(config)
    name = layout.activations_path(config.models[model_index].key, side, lang)
    if (hit := _cached(config, "extract_done", key, _complete(root, name))) is not None:
        return hit
    started = time.perf_counter()
    corpus, _, dtype, loaded, words, sources = _extraction_inputs(config, model_index, side, lang, weights=False)
    job = begin_extraction(root, loaded, side, lang, config, words, sources, corpus.content_hash(), dtype)
    n_words = sum(int(r.get("words", 0)) for r in shards if r.get("computed"))
    seconds = sum(float(r.get("seconds", 0.0)) for r in shards if r.get("computed"))
    stats = {} if job is None else finish_extraction(root, job, n_words, seconds)
    words_per_second = round(n_words / seconds, 1) if seconds else None
    return _done(config, "extract_done", key, {"group": name, "n_rows": int(root[name].attrs["n_rows"]),
                                               "words_per_second": words_per_second,
                                               "missing": stats.get("missing_words", 0)}, started)


def task_align(config: Config, src: str, tgt: str, key: str) -> dict[str, Any]:
    """Word links and dictionary of one language pair."""
    release_worker_model()
    from engine.align.eflomal_backend import EflomalOptions
    from engine.align.stage import align_pair

    root = _root(config)
    if (hit := _cached(config, "align", key, _complete(root, layout.links_path(src, tgt)))) is not None:
        return hit
    started = time.perf_counter()
    spec = config.align
    pair = layout.pair_name(src, tgt)
    options = EflomalOptions(model=spec.eflomal.model, n_samplers=spec.eflomal.n_samplers,
                             null_prior=spec.eflomal.null_prior, rel_iterations=spec.eflomal.rel_iterations)
    with _threads(config):
        s = align_pair(root, src, tgt, method=spec.symmetrization, options=options,
                       links_file=spec.links.get(pair), reverse_file=spec.reverse_links.get(pair),
                       dictionary=spec.dictionary)
    return _done(config, "align", key, {"pair": pair, "n_links": s.n_links, "dictionary_words": s.n_dictionary_words},
                 started)


def task_select(config: Config, key: str, *inputs: Any) -> dict[str, Any]:
    """Every selection (COLAP and CALIGN sets) of the run; ``inputs`` are the upstream summaries."""
    release_worker_model()
    from engine.select.stage import run_select

    root = _root(config)
    held = TaskCache(config.run.dir).get("select", key)
    if held is not None and all(_complete(root, f"selections/{name}") for name in held.get("sizes", {})):
        return {**held, "computed": False}
    started = time.perf_counter()
    summaries = run_select(config)
    sizes = {f"{s.name}/{s.model}/{s.side}/{s.lang}": s.n_rows for s in summaries}
    return _done(config, "select", key, {"sizes": sizes}, started)


def cluster_space_name(selection: str, langs: list[str]) -> str:
    """Store space of a clustering: ``{selection}/{lang}`` or ``{selection}/joint-{a}-{b}``."""
    inner = langs[0] if len(langs) == 1 else layout.joint_space(*langs)
    return f"{selection}/{inner}"


def task_cluster(config: Config, model: str, side: str, layer: int, selection: str, langs: list[str], k: int,
                 key: str, *inputs: Any) -> dict[str, Any]:
    """k-means of one model × side × layer × space into the store."""
    release_worker_model()
    from engine.cluster.api import fit
    from engine.cluster.store import space_parts, write_clustering

    root = _root(config)
    space = cluster_space_name(selection, langs)
    name = layout.clusters_path(model, side, layer, space, k)
    fresh = _complete(root, name) and root[name].attrs.get("cache_key") == key
    if (hit := _cached(config, "cluster", key, fresh)) is not None:
        return hit
    started = time.perf_counter()
    spec = config.cluster
    with _threads(config):
        pairs = space_parts(root, model=model, side=side, layer=layer, langs=langs, selection=selection)
        clustering = fit([(array, part.rows) for array, part in pairs], k, seed=spec.seed, backend=spec.backend,
                         device=spec.device, n_init=spec.n_init, max_iter=spec.max_iter, tol=spec.tol,
                         normalize=spec.normalize, whiten=spec.whiten)
        write_clustering(root, clustering, model=model, side=side, layer=layer, space=space, selection=selection,
                         parts=[part for _, part in pairs], extra_attrs={"cache_key": key, "method": "kmeans"})
    return _done(config, "cluster", key, {"path": name, "n": clustering.n, "inertia": clustering.inertia,
                                          "n_iter": clustering.n_iter, "backend": clustering.backend}, started)


def _labels(root: Any, model: str, side: str, layer: int, space: str, k: int) -> tuple[np.ndarray, dict[str, Any]]:
    from engine.cluster.store import read_clustering

    stored = read_clustering(root, model=model, side=side, layer=layer, space=space, k=k)
    return np.asarray(stored.clustering.labels, dtype=np.int64), stored.attrs


def task_metrics(config: Config, model: str, side: str, layer: int, src: str, tgt: str, k: int, key: str,
                 *inputs: Any) -> dict[str, Any]:
    """CALIGN (both directions) and COLAP of one model × side × layer × pair × K, as table rows."""
    release_worker_model()
    if (hit := _cached(config, "metrics", key)) is not None:
        return hit
    from engine.schedule.measure import measure_pair

    started = time.perf_counter()
    with _threads(config):
        rows = measure_pair(config, _root(config, "r"), model, side, layer, src, tgt, k)
    return _done(config, "metrics", key, rows, started)
