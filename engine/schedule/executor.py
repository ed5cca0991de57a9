"""Running a task graph: in process (``sync``) or on Dask (``local`` / ``cuda``: a local cluster, with one GPU
worker per GPU where there are GPUs, see :mod:`engine.schedule.placement`; or an existing scheduler by
address)."""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Any

from tqdm.auto import tqdm

from engine.config import Config
from engine.errors import BabelscopeError, StoreError, TaskFailedError
from engine.schedule.graph import Task
from engine.schedule.placement import dask_client
from engine.schedule.tasks import TaskContext

log = logging.getLogger(__name__)


LOG_EVERY_S = 60.0  # a run logs where it is this often (and whenever a stage finishes), bar or no bar


class Progress:
    """A task bar on a terminal, and a log line (``run.log`` too) every :data:`LOG_EVERY_S` seconds and at the end
    of each stage: tasks done per stage, elapsed time and the time left at the pace so far."""

    def __init__(self, stages: list[str], progress: bool):
        self.totals, self.done = Counter(stages), Counter()
        self.bar = tqdm(total=len(stages), desc="run", unit="task", disable=not progress, leave=True)
        self.started = self.logged = time.perf_counter()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.bar.close()

    def line(self) -> str:
        return " ".join(f"{s} {self.done[s]}/{self.totals[s]}" for s in self.totals)

    def step(self, stage: str) -> None:
        self.done[stage] += 1
        self.bar.set_postfix_str(self.line())
        self.bar.update()
        now = time.perf_counter()
        if now - self.logged >= LOG_EVERY_S or self.done[stage] == self.totals[stage]:
            self.logged = now
            finished, total = sum(self.done.values()), sum(self.totals.values())
            elapsed = now - self.started
            left = elapsed / finished * (total - finished) if finished else float("nan")
            log.info("run: %d/%d tasks (%s), %s elapsed, about %s left at this pace", finished, total, self.line(),
                     _clock(elapsed), _clock(left))


def _clock(seconds: float) -> str:
    if seconds != seconds:
        return "?"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def context(config: Config) -> TaskContext:
    """What every task of the run shares."""
    return TaskContext(config.store.path, config.run.dir, config.run.threads_per_task)


def task_failed(key: str, exc: BaseException, ctx: TaskContext) -> BaseException:
    """Log which task failed, in one line; the error to raise: a babelscope error as it is (its message names
    the input at fault), a store node whose metadata no longer parses (named, with the repair), or else a
    :class:`TaskFailedError` naming the task (traceback in run.log)."""
    from engine.store.verify import unreadable_metadata

    if not isinstance(exc, BabelscopeError) and (damaged := unreadable_metadata(ctx.store)):
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


def run_sync(config: Config, graph: list[Task], progress: bool) -> dict[str, dict[str, Any]]:
    """Every task in this process, in topological order."""
    ctx = context(config)
    results: dict[str, dict[str, Any]] = {}
    with Progress([t.stage for t in graph], progress) as bar:
        for task in graph:
            try:
                results[task.dask_key] = task.fn(ctx, *task.args, task.key, *[results[d] for d in task.deps])
            except Exception as exc:  # noqa: BLE001 - named and re-raised
                _reraise(task_failed(task.dask_key, exc, ctx), exc)
            notice(results[task.dask_key])
            bar.step(task.stage)
    return results


def run_dask(config: Config, graph: list[Task], progress: bool) -> dict[str, dict[str, Any]]:
    """Submit the graph to Dask; dependencies travel as futures (small summaries), never arrays."""
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
        with Progress([task.stage for task in graph], progress) as bar:
            for future in as_completed(list(futures.values())):
                try:
                    results[future.key] = future.result()
                except Exception as exc:  # noqa: BLE001 - named and re-raised
                    for other in futures.values():
                        other.cancel()
                    _reraise(task_failed(str(future.key), exc, ctx), exc)
                notice(results[future.key])
                bar.step(stage_of[future.key])
    return results
