"""Extraction drivers over the stage functions of :mod:`engine.extract.stage`: the three steps of a run's tasks
(plan on the client, shard ranges on workers, finish) and ``babelscope extract``'s whole extraction in one
process. Both drive one model × side × language as a :class:`~engine.extract.stage.GroupSpec`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.config import Config, ModelSpec
from engine.corpus import load_corpus
from engine.device import resolve_compute_dtype, resolve_device
from engine.errors import ConfigError
from engine.extract.models import LoadedModel, load_model
from engine.extract.stage import (
    ExtractionSummary,
    GroupSpec,
    begin_extraction,
    extract_shards,
    finish_extraction,
    group_specs,
    open_extraction,
    requested_layers,
    summary_of,
)
from engine.files import check_free_space
from engine.store import layout
from engine.store.core import read_sentences

log = logging.getLogger(__name__)

__all__ = ["GroupPlan", "Loader", "check_space", "extract_range", "finish_group", "plan_group", "run_extraction"]

#: ``(spec, device, weights) -> LoadedModel``: :func:`load_model`, or a worker's cache of it
Loader = Callable[[ModelSpec, Any, bool], LoadedModel]


def _load(spec: ModelSpec, device: Any, weights: bool) -> LoadedModel:
    return load_model(spec, device, weights=weights)


@dataclass(frozen=True)
class GroupPlan:
    """A planned extraction: its store shards, the layers it stores, its words (rows), and the words and bytes its
    unwritten shards hold."""

    n_shards: int
    layers: list[int]
    pending_bytes: int = 0
    pending_words: int = 0
    n_words: int = 0


def _devices(group: GroupSpec) -> tuple[Any, Any]:
    device = resolve_device(group.extract.device)
    return device, resolve_compute_dtype(group.extract.dtype, device)


def _texts(root: Any, group: GroupSpec) -> tuple[list[list[str]], list[list[str]] | None]:
    """The group's sentences (and a decoder's encoder sentences) from the store's corpus section."""
    source = group.source_lang
    return read_sentences(root, group.lang), None if source is None else read_sentences(root, source)


def _check_side(loaded: LoadedModel, group: GroupSpec) -> None:
    if group.side not in loaded.sides:
        raise ConfigError(f"sides of extract lists {group.side!r}, but model {group.model.name!r} has only "
                          f"{list(loaded.sides)}")


def plan_group(root: Any, group: GroupSpec, load: Loader = _load, *, overwrite: bool = False) -> GroupPlan:
    """Plan the rows and create the arrays of ``group`` (the tokenizer and model config only, no weights)."""
    device, dtype = _devices(group)
    loaded = load(group.model, device, False)
    _check_side(loaded, group)
    job = begin_extraction(root, loaded, group, lambda: _texts(root, group), root.attrs["corpus_hash"], dtype,
                           overwrite=overwrite)
    if job is None:
        stored = root[group.names[0]]
        layers = [int(layer) for layer in stored.attrs["layers"]]
        stats = stored.attrs.get("plan_stats") or {}  # the group's own metadata: no array is opened here
        n_words = int(stats.get("words", 0)) - int(stats.get("missing_words", 0))
        return GroupPlan(int(stored[layout.SHARD_DONE].shape[0]), layers, n_words=n_words)
    done = job.done[:]
    words = job.rows_in([s for s in range(job.n_shards) if not done[s]], group.store.shard_rows)
    return GroupPlan(job.n_shards, job.layers, words * loaded.hidden_size * 2 * len(job.layers), words,  # float16
                     job.plan.n_rows)


def _pending_estimate(root: Any, group: GroupSpec, loaded: LoadedModel, overwrite: bool) -> int:
    """Bytes a group still writes, before it is planned: none when complete, else its unwritten shards (a
    group planned already) or one float16 row per corpus word of every requested layer (an upper bound)."""
    name = group.names[0]
    if name in root and not overwrite:
        stored = root[name]
        if stored.attrs.get("complete") is True:
            return 0
        if layout.SHARD_DONE in stored:
            done = stored[layout.SHARD_DONE][:]
            layers = len(stored.attrs.get("layers", []))
            rows = int(stored[layout.layer_name(stored.attrs["layers"][0])].shape[0]) if layers else 0
            return int(rows * loaded.hidden_size * 2 * layers * (1.0 - float(done.mean())))
    layers = len(requested_layers(group.extract, loaded.n_layers.get(group.side, 0), loaded.spec.name))
    words = sum(len(sentence) for sentence in read_sentences(root, group.lang))
    return words * loaded.hidden_size * 2 * layers


def check_space(store: Any, plans: list[GroupPlan]) -> None:
    """Refuse before any shard is written when the store's disk cannot take what ``plans`` still write."""
    check_free_space(store, sum(p.pending_bytes for p in plans), f"the activations of store {str(store)!r}")


def extract_range(root: Any, group: GroupSpec, first: int, stop: int, load: Loader = _load, *,
                  progress: bool = False, on_words: Callable[[int], None] | None = None) -> tuple[int, int]:
    """Compute and write the unwritten shards ``first:stop`` of a planned group; returns (shards, words).
    ``on_words(n)`` hears of every batch of ``n`` words computed."""
    job = open_extraction(root, group, int(root.attrs["n_sentences"]))
    if job is None:
        return 0, 0
    device, dtype = _devices(group)
    loaded = load(group.model, device, True)
    sentences, sources = _texts(root, group)
    return extract_shards(job, loaded, group, sentences, sources, dtype, device, range(first, stop),
                          progress=progress, on_words=on_words)


def finish_group(root: Any, group: GroupSpec, computed_words: int, seconds: float,
                 computed_shards: int = 0) -> ExtractionSummary:
    """Mark a group complete once every shard is written (refuses otherwise); what its extraction did."""
    job = open_extraction(root, group, int(root.attrs["n_sentences"]))
    stats = None if job is None else finish_extraction(root, job, computed_words, seconds)
    return summary_of(root, group, job, computed_shards, seconds, stats)


def run_extraction(config: Config, *, overwrite: bool = False, progress: bool = True) -> list[ExtractionSummary]:
    """``babelscope extract``: every configured model, side and language in this process, one model at a time
    (resuming what an earlier run left); returns one summary per group."""
    import torch

    from engine.store import init_store

    root = init_store(config.store.path, load_corpus(config.corpus), overwrite=overwrite)
    groups = group_specs(config)
    summaries = []
    for spec in config.models:
        device = resolve_device(config.extract.device)
        log.info("extracting %s on %s, compute dtype %s", spec.name, device,
                 resolve_compute_dtype(config.extract.dtype, device))
        loaded = load_model(spec, device)

        def kept(_spec: ModelSpec, _device: Any, _weights: bool, loaded: LoadedModel = loaded) -> LoadedModel:
            return loaded

        mine = [g for g in groups if g.model == spec]
        for group in mine:
            _check_side(loaded, group)
        check_free_space(config.store.path, sum(_pending_estimate(root, g, loaded, overwrite) for g in mine),
                         f"the activations of store {str(config.store.path)!r}")
        for group in mine:
            started = time.perf_counter()
            plan = plan_group(root, group, kept, overwrite=overwrite)
            n_shards, words = extract_range(root, group, 0, plan.n_shards, kept, progress=progress)
            summaries.append(finish_group(root, group, words, time.perf_counter() - started, n_shards))
        del loaded
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return summaries
