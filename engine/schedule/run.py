"""``babelscope run``: the whole analysis of one config — extraction to report — as one task graph."""

from __future__ import annotations

import json
import logging
import platform
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine import __version__
from engine.config import Config
from engine.errors import BabelscopeError, TaskFailedError
from engine.files import disk_errors, remove_write_debris, write_text_atomic

log = logging.getLogger(__name__)


@dataclass
class RunSummary:
    """What a run did: tasks computed and cached per stage, and where its outputs are."""

    run_dir: Path
    computed: dict[str, int]
    cached: dict[str, int]
    seconds: float
    stage_seconds: dict[str, float]
    files: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # spaces not clustered (fewer points than K), and why


def _versions() -> dict[str, Any]:
    """Versions of what computed the results, from the installed distributions (importing them would cost
    seconds a cached run does not otherwise spend)."""
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, Any] = {"babelscope": __version__, "python": platform.python_version()}
    for name, distribution in (("torch", "torch"), ("transformers", "transformers"), ("zarr", "zarr"),
                               ("numpy", "numpy"), ("dask", "dask"), ("distributed", "distributed"),
                               ("sklearn", "scikit-learn")):
        try:
            out[name] = version(distribution)
        except PackageNotFoundError:
            out[name] = None
    return out


def _prepare(config: Config, overwrite: bool = False) -> tuple[str, dict[tuple[str, str, str], Any]]:
    """On the client, before any task: embedded material converted, the store's corpus section written, and
    each extraction planned (arrays created), so shard tasks only fill rows. Returns the corpus hash and the
    plan (store shards, layers) of every model × side × language."""
    from engine.corpus import load_corpus
    from engine.extract import check_space, group_specs, plan_group
    from engine.material import resolve_material_model
    from engine.schedule.models import kept_model
    from engine.store import init_store

    for spec in config.models:
        resolve_material_model(spec.name)
    corpus = load_corpus(config.corpus)
    root = init_store(config.store.path, corpus, overwrite=overwrite)
    plans = {(g.model.key, g.side, g.lang): plan_group(root, g, kept_model, overwrite=overwrite)
             for g in group_specs(config)}
    check_space(config.store.path, list(plans.values()))
    return corpus.content_hash(), plans


def _tables(results: dict[str, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    tables: dict[str, list[dict[str, Any]]] = {"results": [], "curves": [], "concepts": []}
    for key in sorted(results):
        payload = results[key]
        if payload.get("stage") == "metrics":
            for name in tables:
                tables[name] += payload.get(name, [])
    return tables


def _write_outputs(config: Config, tables: dict[str, list[dict]], meta: dict[str, Any]) -> dict[str, str]:
    import pandas as pd

    from engine.report.tables import write_run_tables
    from engine.results import CONCEPT_COLUMNS, CURVE_COLUMNS, RESULT_COLUMNS

    frames = [pd.DataFrame(tables[name], columns=columns) for name, columns in
              (("results", RESULT_COLUMNS), ("curves", CURVE_COLUMNS), ("concepts", CONCEPT_COLUMNS))]
    files = write_run_tables(config.run.dir, *frames, meta)
    if config.run.report and tables["results"]:
        from engine.report import render_report

        files["report"] = str(render_report(config.run.dir, config.store.path))
    return {k: str(v) for k, v in files.items()}


def run_pipeline(config: Config, *, progress: bool = True, overwrite: bool = False) -> RunSummary:
    """Run (or resume) the analysis of ``config``; returns counts of computed and cached tasks.

    ``overwrite`` replaces a store written for another corpus and redoes every extraction of this config
    (as ``babelscope extract --overwrite``); without it such a store is refused.

    The run folder and the store are locked for the whole run: a second run on either is refused with the
    holder named. A failure is written to ``run.log`` (the task that failed, and its traceback) before it is
    raised.
    """
    from engine.store.lock import store_lock

    started = time.perf_counter()
    run_dir = Path(config.run.dir)
    with disk_errors(run_dir), store_lock(run_dir, f"babelscope run (store {config.store.path})", "run folder"):
        run_dir.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(run_dir / "run.log", encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        engine_log = logging.getLogger("engine")
        engine_log.addHandler(handler)
        previous_level = engine_log.level
        if engine_log.getEffectiveLevel() > logging.INFO:
            engine_log.setLevel(logging.INFO)
        try:
            with disk_errors(config.store.path), store_lock(config.store.path,
                                                            f"babelscope run (run folder {run_dir})"):
                return _run_locked(config, run_dir, started, progress, overwrite)
        except BaseException as exc:
            _log_failure(handler, exc)
            raise
        finally:
            engine_log.removeHandler(handler)
            engine_log.setLevel(previous_level)
            handler.close()


def _log_failure(handler: logging.Handler, exc: BaseException) -> None:
    """The run's last words in run.log: the error in one line, then (in the file only) its traceback."""
    what = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
    origin = exc.__cause__ if isinstance(exc, TaskFailedError) else exc
    trace = None
    if origin is not None and not isinstance(origin, BabelscopeError | KeyboardInterrupt):
        trace = (type(origin), origin, origin.__traceback__)
    record = log.makeRecord(log.name, logging.ERROR, __file__, 0, "run %s: %s", (what, _one_line(exc)), trace)
    handler.handle(record)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().replace("\n", " ") or "(no message)"
    return text if isinstance(exc, BabelscopeError) else f"{type(exc).__name__}: {text}"


def _run_locked(config: Config, run_dir: Path, started: float, progress: bool, overwrite: bool) -> RunSummary:
    from engine.metrics.registry import enabled_metrics
    from engine.schedule.executor import cached_results, run_dask, run_sync
    from engine.schedule.graph import build_graph
    from engine.schedule.placement import choose_scheduler

    enabled_metrics(config)  # refuses a cluster.metric_ks naming no metric before anything is written
    if len(config.corpus.languages) > 1:  # and an align key (links, dictionary file) naming no aligned pair
        from engine.align.stage import check_pair_keys, resolve_pairs

        check_pair_keys(config.align, resolve_pairs(config.align.pairs, list(config.corpus.languages)))
    for folder in (config.store.path, run_dir):  # what an earlier, killed run left half-written
        remove_write_debris(folder)
    corpus_hash, plans = _prepare(config, overwrite)
    graph = build_graph(config, corpus_hash, plans)
    scheduler, why = choose_scheduler(config, sum(plan.n_words for plan in plans.values()))
    log.info("run %s: %d tasks on scheduler %s%s", run_dir, len(graph), scheduler,
             f" (auto: {why})" if config.run.scheduler == "auto" else "")
    chosen = config.model_copy(update={"run": config.run.model_copy(update={"scheduler": scheduler})})
    results = cached_results(chosen, graph) if scheduler != "sync" else None
    if results is not None:
        log.info("run %s: every task is cached and its artefact complete; nothing to compute", run_dir)
    else:
        words_total = sum(plan.pending_words for plan in plans.values())
        results = (run_sync if scheduler == "sync" else run_dask)(chosen, graph, progress, words_total)
    computed, cached, stage_seconds = Counter(), Counter(), Counter()
    for payload in results.values():
        stage = payload.get("stage", "?")
        (computed if payload.get("computed") else cached)[stage] += 1
        if payload.get("computed"):
            stage_seconds[stage] += float(payload.get("seconds", 0.0))
    seconds = time.perf_counter() - started
    meta = {"config": config.model_dump(mode="json"), "config_hash": config.config_hash(),
            "versions": _versions(), "corpus_hash": corpus_hash, "seconds": round(seconds, 2),
            "stage_seconds": {k: round(v, 2) for k, v in stage_seconds.items()},
            "computed": dict(computed), "cached": dict(cached), "store": str(config.store.path),
            "scheduler": scheduler,
            "skipped": sorted(p["skipped"] for p in results.values()
                              if p.get("stage") == "cluster" and p.get("skipped"))}
    files = _write_outputs(config, _tables(results), meta)
    write_text_atomic(run_dir / "tasks.json", json.dumps(results, indent=1, default=str))
    log.info("run %s done in %.1f s: computed %s, cached %s", run_dir, seconds, dict(computed), dict(cached))
    return RunSummary(run_dir, dict(computed), dict(cached), seconds, dict(stage_seconds), files, meta["skipped"])
