"""Running a task graph: in process (``sync``) or on Dask (``local`` / ``cuda``: a local cluster, with one GPU
worker per GPU where there are GPUs, see :mod:`engine.schedule.placement`; ``slurm``: worker jobs on a SLURM
cluster, see :mod:`engine.schedule.slurm`; or an existing scheduler by address)."""

from __future__ import annotations

import logging
from typing import Any

from engine.config import Config
from engine.errors import BabelscopeError, StoreError, TaskFailedError
from engine.schedule.graph import Task
from engine.schedule.placement import dask_client
from engine.schedule.progress import TOPIC, Progress, listening
from engine.schedule.tasks import NotCached, TaskContext

log = logging.getLogger(__name__)


def context(config: Config) -> TaskContext:
    """What every task of the run shares."""
    return TaskContext(config.store.path, config.run.dir, config.run.threads_per_task)


def task_failed(key: str, exc: BaseException, ctx: TaskContext) -> BaseException:
    """Log which task failed, in one line; the error to raise: a babelscope error as it is (its message names
    the input at fault), a refused write (disk full, read-only) as the StoreError naming the file, a store node
    whose metadata no longer parses (named, with the repair), or else a :class:`TaskFailedError` naming the
    task (traceback in run.log)."""
    from engine.files import WRITE_ERRNOS, write_error
    from engine.store.verify import unreadable_metadata

    if isinstance(exc, OSError) and exc.errno in WRITE_ERRNOS:  # disk full, read-only: named like any refused write
        exc = write_error(exc.filename or ctx.store, exc)
    elif not isinstance(exc, BabelscopeError) and (damaged := unreadable_metadata(ctx.store)):
        exc = StoreError(f"store {str(ctx.store)!r}: {damaged[0].describe()}; run `babelscope info {ctx.store} "
                         f"--repair`, then run again")
    log.error("task %s failed: %s", key, exc if isinstance(exc, BabelscopeError) else f"{type(exc).__name__}: {exc}")
    if isinstance(exc, BabelscopeError):
        return exc
    return TaskFailedError(f"task {key} failed: {type(exc).__name__}: {exc} (the traceback is in "
                           f"{ctx.run_dir}/run.log)")


def _reraise(error: BaseException, cause: BaseException) -> None:
    if error is cause:
        raise error
    raise error from cause


def notice(payload: dict[str, Any]) -> None:
    """Log (on the client, so in run.log too) what a finished task warns of: a space skipped, an empty alignment."""
    for warning in payload.get("warnings", []):
        log.warning("%s", warning)
    if payload.get("stage") == "cluster" and payload.get("skipped"):
        log.warning("%s", payload["skipped"])


def cached_results(config: Config, graph: list[Task]) -> dict[str, dict[str, Any]] | None:
    """Every task's payload when all of them are cached and their artefacts complete (checked here, in
    topological order, without starting workers or loading a model); None as soon as one would compute."""
    from dataclasses import replace

    ctx = replace(context(config), probe=True)
    results: dict[str, dict[str, Any]] = {}
    for task in graph:
        try:
            results[task.dask_key] = task.fn(ctx, *task.args, task.key, *[results[d] for d in task.deps])
        except NotCached:
            return None
        except Exception as exc:  # noqa: BLE001 - a damaged artefact: the real run reports it, naming the task
            log.debug("cache probe stopped at %s: %s", task.dask_key, exc)
            return None
    return results


def run_sync(config: Config, graph: list[Task], progress: bool, words_total: int = 0) -> dict[str, dict[str, Any]]:
    """Every task in this process, in topological order (``words_total``: words extraction has to compute, for
    the progress shown inside its tasks)."""
    ctx = context(config)
    results: dict[str, dict[str, Any]] = {}
    with Progress([t.stage for t in graph], progress, workers=1, run_dir=ctx.run_dir,
                  words_total=words_total) as bar, listening(bar.running):
        for task in graph:
            try:
                results[task.dask_key] = task.fn(ctx, *task.args, task.key, *[results[d] for d in task.deps])
            except Exception as exc:  # noqa: BLE001 - named and re-raised
                _reraise(task_failed(task.dask_key, exc, ctx), exc)
            notice(results[task.dask_key])
            bar.step(task.stage, task.dask_key, results[task.dask_key])
    return results


def run_dask(config: Config, graph: list[Task], progress: bool, words_total: int = 0) -> dict[str, dict[str, Any]]:
    """Submit the graph to Dask; dependencies travel as futures (small summaries), never arrays. Running
    extraction tasks report their words as worker events (see :mod:`engine.schedule.progress`)."""
    from distributed import as_completed

    ctx = context(config)
    with dask_client(config) as (client, placement):
        futures = {}
        for task in graph:
            futures[task.dask_key] = client.submit(
                task.fn, ctx, *task.args, task.key, *[futures[d] for d in task.deps], key=task.dask_key,
                pure=False, priority=task.priority, resources=placement.resources(task.gpu))
        stage_of = {task.dask_key: task.stage for task in graph}
        results: dict[str, dict[str, Any]] = {}
        workers = sum(int(w.get("nthreads", 1)) for w in client.scheduler_info(n_workers=-1)["workers"].values())
        with Progress([task.stage for task in graph], progress, workers=workers, run_dir=ctx.run_dir,
                      words_total=words_total) as bar:
            client.subscribe_topic(TOPIC, lambda event: bar.running(str(event[1]["key"]), int(event[1]["words"])))
            for future in as_completed(list(futures.values())):
                try:
                    results[future.key] = future.result()
                except Exception as exc:  # noqa: BLE001 - named and re-raised
                    for other in futures.values():
                        other.cancel()
                    _reraise(task_failed(str(future.key), exc, ctx), exc)
                notice(results[future.key])
                bar.step(stage_of[future.key], str(future.key), results[future.key])
    return results
