"""Where a run's tasks go: on a host with GPUs, one single-threaded GPU worker per GPU for the GPU stages
(extraction, clustering) and CPU workers for the rest (alignment, selection, metrics), so no GPU holds more
than one model copy and the CPU stages never queue behind GPU work.

Each GPU worker sees its own GPU first (``CUDA_VISIBLE_DEVICES`` rotated), so ``cuda`` / ``auto`` there is that
GPU; CPU workers see none, so ``auto`` is the CPU. A config naming a GPU by index (``cuda:1``) would name a
different GPU on every worker: with GPU workers it is refused. GPU tasks ask for the ``GPU`` resource and the
others for ``CPU``; an existing scheduler (``tcp://…``) is used as its workers advertise these resources.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from engine.config import Config
from engine.errors import ConfigError
from engine.schedule.resources import WORKER_ENV, WORKER_ENV_UNSET, Placement, own_first

log = logging.getLogger(__name__)

__all__ = ["AUTO_LOCAL_MIN_WORDS", "WORKER_ENV", "Placement", "check_devices", "choose_scheduler", "dask_client",
           "gpu_count", "placement_cluster", "visible_order", "worker_specs"]


#: ``scheduler: auto`` on a host without GPUs runs in process below this many words (all models, sides and
#: languages): starting worker processes, each loading the model, costs more than parallel tasks win back
#: (measured by ``benchmarks/bench_scheduler.py``)
AUTO_LOCAL_MIN_WORDS = 100_000


def usable_cores() -> int:
    """Cores this process may run on (its affinity, where the OS tells it)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def choose_scheduler(config: Config, words: int) -> tuple[str, str]:
    """The scheduler a run uses, and why: ``run.scheduler`` as configured, or for ``auto`` ``local`` on a host
    with GPUs (one GPU worker per GPU), when ``run.n_workers`` asks for workers, or when the run is large enough
    (``words`` of every model × side × language at least :data:`AUTO_LOCAL_MIN_WORDS`) on more than one core;
    else ``sync``."""
    scheduler = config.run.scheduler
    if scheduler != "auto":
        return scheduler, "as configured"
    if gpus := gpu_count():
        return "local", f"{gpus} GPU(s): one GPU worker each"
    if config.run.n_workers:
        return "local", f"run.n_workers={config.run.n_workers}"
    cores = usable_cores()
    if cores < 2:
        return "sync", "one core: worker processes would only add their start"
    if words < AUTO_LOCAL_MIN_WORDS:
        return "sync", (f"no GPU, {words:,} words < {AUTO_LOCAL_MIN_WORDS:,}: in one process is quicker than "
                        f"starting {cores} worker processes that each load the model")
    return "local", f"no GPU, {words:,} words >= {AUTO_LOCAL_MIN_WORDS:,}: {cores} worker processes"


def gpu_count() -> int:
    """CUDA devices torch sees here (0 without a CUDA build or a driver)."""
    try:
        import torch
    except ImportError:  # pragma: no cover
        return 0
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def visible_order(gpu: int, n_gpus: int) -> str:
    """``CUDA_VISIBLE_DEVICES`` of GPU worker ``gpu``: its own device first (its ``cuda:0``), then the others."""
    return own_first([str(i) for i in range(n_gpus)], gpu)


def worker_specs(n_gpus: int, n_cpu: int) -> dict[str, dict[str, Any]]:
    """``distributed.SpecCluster`` worker specs: ``gpu-{i}`` (resource GPU, its GPU first) and ``cpu-{j}``
    (resource CPU, no GPU visible), each a single-threaded worker in its own process."""
    from distributed import Nanny

    specs: dict[str, dict[str, Any]] = {}
    common = {"nthreads": 1, "dashboard": False}
    for i in range(n_gpus):
        name = f"gpu-{i}"
        env = {"CUDA_VISIBLE_DEVICES": visible_order(i, n_gpus), WORKER_ENV: name}
        specs[name] = {"cls": Nanny, "options": {**common, "resources": {"GPU": 1}, "name": name, "env": env}}
    for j in range(n_cpu):
        name = f"cpu-{j}"
        env = {"CUDA_VISIBLE_DEVICES": "", WORKER_ENV: name}
        specs[name] = {"cls": Nanny, "options": {**common, "resources": {"CPU": 1}, "name": name, "env": env}}
    return specs


def placement_cluster(n_gpus: int, n_cpu: int) -> Any:
    """A local cluster of ``n_gpus`` GPU workers and ``n_cpu`` CPU workers (see :func:`worker_specs`)."""
    from distributed import Scheduler, SpecCluster

    scheduler = {"cls": Scheduler, "options": {"dashboard_address": ":0"}}
    return SpecCluster(workers=worker_specs(n_gpus, n_cpu), scheduler=scheduler, silence_logs=logging.WARNING)


_INDEXED = re.compile(r"^cuda:\d+$")


def check_devices(config: Config) -> None:
    """With GPU workers every worker owns one GPU, seen as its ``cuda:0``: a device named by index is refused."""
    for section in ("extract", "cluster", "metrics"):
        device = getattr(config, section).device
        if _INDEXED.match(device):
            raise ConfigError(f"{section}.device={device!r} names one GPU by index, but with GPU workers "
                              f"(run.scheduler={config.run.scheduler!r} on a host with GPUs) each worker owns its "
                              f"own GPU, seen as cuda:0; set {section}.device to auto or cuda")


@contextmanager
def dask_client(config: Config) -> Iterator[tuple[Any, Placement]]:
    """A connected ``distributed.Client`` for the configured scheduler, and the placement its workers allow."""
    from distributed import Client, LocalCluster

    scheduler = config.run.scheduler
    if scheduler.startswith(("tcp://", "tls://", "ucx://")):
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise ConfigError(f"scheduler of run: no Dask scheduler answers at {scheduler!r} ({exc})") from None
        try:
            resources = [w.get("resources") or {} for w in client.scheduler_info(n_workers=-1)["workers"].values()]
            placement = Placement(any("GPU" in r for r in resources), any("CPU" in r for r in resources))
            if placement.gpu:
                check_devices(config)
            yield client, placement
        finally:
            client.close()
        return
    if scheduler == "slurm":
        from engine.schedule.slurm import check_shared_store, slurm_client_cluster

        if config.run.slurm.gpus:
            check_devices(config)
        client, cluster, placement = slurm_client_cluster(config)
        try:
            check_shared_store(client, config)
            yield client, placement
        finally:
            client.close()
            cluster.close()
        return
    cores = usable_cores()
    gpus = gpu_count()
    if scheduler == "cuda" and not gpus:
        log.warning("scheduler cuda: no CUDA device is visible (torch.cuda.is_available() is False); running on "
                    "a LocalCluster of CPU workers")
    import dask

    with dask.config.set(WORKER_ENV_UNSET):  # read by the nannies as they spawn the workers
        if gpus and scheduler in ("cuda", "local"):
            check_devices(config)
            n_gpu = min(gpus, config.run.n_workers or gpus) if scheduler == "cuda" else gpus
            n_cpu = max(1, cores - n_gpu)
            log.info("scheduler %s on a host with %d GPU(s): %d GPU worker(s) (one per GPU) for extraction and "
                     "clustering, %d CPU worker(s) for the other stages", scheduler, gpus, n_gpu, n_cpu)
            cluster, placement = placement_cluster(n_gpu, n_cpu), Placement(gpu=True, cpu=True)
        else:
            workers = config.run.n_workers or max(1, cores)
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                                   silence_logs=logging.WARNING)  # ":0": any free port, never a clash on 8787
            placement = Placement()
    client = Client(cluster)
    try:
        yield client, placement
    finally:
        client.close()
        close_workers(cluster)
        cluster.close()


#: how long a worker process may take to exit once asked (a worker that imported torch and transformers takes
#: 2-4 s to finalise on a busy 2-core machine, past distributed's default of 4 s, after which it is killed)
WORKER_EXIT_S = 60.0


def close_workers(cluster: Any) -> None:
    """Ask every worker of a local cluster to close, together, and wait up to :data:`WORKER_EXIT_S` for their
    processes to exit (instead of their nannies killing them after 4 s)."""
    import asyncio

    async def close_all(nannies: list[Any]) -> None:
        await asyncio.gather(*(n.close(timeout=WORKER_EXIT_S, reason="babelscope-run-done") for n in nannies),
                             return_exceptions=True)

    nannies = [w for w in cluster.workers.values() if hasattr(w, "close")]
    try:
        cluster.sync(close_all, nannies)
    except Exception as exc:  # noqa: BLE001 - cluster.close() below still ends whatever is left
        log.debug("closing the workers: %s", exc)
