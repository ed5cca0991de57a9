"""``run.scheduler: slurm``: the run's workers as SLURM jobs, through dask-jobqueue's ``SLURMCluster``.

The client (``babelscope run``, on a login or submit node) starts a Dask scheduler and submits worker jobs
(``run.slurm``: partition, account, walltime, cores, memory, GPUs, extra ``#SBATCH`` lines), scaled between
``jobs_min`` and ``jobs_max``. A CPU job runs one single-threaded worker per core; a GPU job (``gpus: 1``,
``--gres=gpu:1``) runs one worker that advertises the ``GPU`` resource, so extraction and clustering go to it
(one model copy per GPU) while its other threads take CPU stages. Each worker names itself
``slurm-$SLURM_JOB_ID``, which every task it computed records.

The store and the run folder must be on a file system every job sees: the first worker reads back a file the
client wrote, and the run stops with a clear error if it cannot. A job that dies (preempted, past its
walltime, ``scancel``) loses no finished work: Dask runs its tasks again elsewhere, the scaler submits a new
job, and every task that had finished is in the cache (a half-written extraction shard is not flagged done,
so it is written again).
"""

from __future__ import annotations

import logging
import socket
import sys
import uuid
from pathlib import Path
from typing import Any

from engine.config import Config
from engine.errors import BackendUnavailableError, ConfigError
from engine.schedule.resources import WORKER_ENV, Placement

log = logging.getLogger(__name__)

__all__ = ["check_shared_store", "job_script", "slurm_client_cluster"]

#: the scheduler address a dry run's job script shows (the real one is chosen when the run starts)
DRY_RUN_ADDRESS = "tcp://SCHEDULER-HOST:PORT"


def _jobqueue() -> Any:
    try:
        import dask_jobqueue
    except ImportError:
        raise BackendUnavailableError("run.scheduler: slurm needs dask-jobqueue (pip install 'babelscope[slurm]')"
                                      ) from None
    return dask_jobqueue


def job_options(config: Config) -> dict[str, Any]:
    """``SLURMCluster`` / ``SLURMJob`` keyword arguments of ``run.slurm``."""
    spec = config.run.slurm
    gpu = spec.gpus > 0
    directives = [*(["--gres=gpu:1"] if gpu else []), *spec.extra]
    prologue = [f"export {WORKER_ENV}=slurm-$SLURM_JOB_ID", *spec.prologue]
    worker_args = ["--resources", "GPU=1"] if gpu else []
    return {
        "queue": spec.partition, "account": spec.account, "walltime": spec.walltime,
        "cores": spec.cores, "processes": 1 if gpu else spec.cores, "memory": spec.memory,
        "job_extra_directives": directives, "job_script_prologue": prologue,
        "python": spec.python or sys.executable, "interface": spec.interface,
        "log_directory": str(Path(spec.log_dir or Path(config.run.dir) / "slurm").absolute()),
        "job_name": "babelscope-worker", "worker_extra_args": worker_args,
    }


def job_script(config: Config) -> str:
    """The job script ``babelscope run`` would submit for each worker (the scheduler address a placeholder)."""
    jobqueue = _jobqueue()
    options = job_options(config)
    folder = Path(options["log_directory"])
    missing = [p for p in (folder, *folder.parents) if not p.exists()]  # dask-jobqueue creates the job log folder
    try:
        return jobqueue.SLURMCluster.job_cls(scheduler=DRY_RUN_ADDRESS, name="babelscope-worker",
                                             **options).job_script()
    finally:
        for path in missing:  # innermost first: a dry run leaves nothing behind
            try:
                path.rmdir()
            except OSError:
                break


def slurm_client_cluster(config: Config) -> tuple[Any, Any, Placement]:
    """Start the scheduler, submit the worker jobs (scaled as ``run.slurm`` says) and connect a client."""
    from distributed import Client

    jobqueue = _jobqueue()
    spec = config.run.slurm
    options = job_options(config)
    Path(options["log_directory"]).mkdir(parents=True, exist_ok=True)
    cluster = jobqueue.SLURMCluster(**options, scheduler_options={"dashboard_address": ":0"})
    if spec.jobs_min == spec.jobs_max:
        cluster.scale(jobs=spec.jobs_max)
    else:
        cluster.adapt(minimum_jobs=spec.jobs_min, maximum_jobs=spec.jobs_max)
    log.info("scheduler slurm: %s worker job(s) of %d core(s), %s%s, walltime %s, partition %s; job output in %s",
             spec.jobs_max if spec.jobs_min == spec.jobs_max else f"{spec.jobs_min}-{spec.jobs_max}", spec.cores,
             spec.memory, ", 1 GPU" if spec.gpus else "", spec.walltime, spec.partition or "(default)",
             options["log_directory"])
    client = Client(cluster)
    return client, cluster, Placement(gpu=spec.gpus > 0)


def _read_back(path: str) -> tuple[str | None, str]:
    """On a worker: the token in ``path`` (None when the file is not there) and the worker's host."""
    try:
        return Path(path).read_text(encoding="utf-8"), socket.gethostname()
    except OSError:
        return None, socket.gethostname()


def check_shared_store(client: Any, config: Config) -> None:
    """Refuse a store or run folder the worker jobs do not see: a file the client writes into each is read
    back by the first worker to start (waiting ``run.slurm.wait_s`` for one)."""
    from distributed import TimeoutError as DaskTimeout

    wait = config.run.slurm.wait_s
    log.info("scheduler slurm: waiting for the first worker job to start (squeue shows it; up to %.0f s)", wait)
    try:
        client.wait_for_workers(1, timeout=wait)
    except (TimeoutError, DaskTimeout):
        raise ConfigError(f"scheduler slurm: no worker job started within run.slurm.wait_s={wait:g} s (see "
                          f"squeue, and the job output in {job_options(config)['log_directory']})") from None
    for what, folder in (("store", Path(config.store.path)), ("run folder", Path(config.run.dir))):
        token = uuid.uuid4().hex
        probe = folder / f".shared-check-{token[:12]}"
        probe.write_text(token, encoding="utf-8")
        try:
            seen, host = client.submit(_read_back, str(probe), pure=False).result()
        finally:
            probe.unlink(missing_ok=True)
        if seen != token:
            raise ConfigError(
                f"{what} {str(folder)!r} is not on a file system the SLURM jobs see: a worker on host {host!r} "
                f"could not read back {probe.name} written there by the client on {socket.gethostname()!r}; put "
                f"{'store.path' if what == 'store' else 'run.dir'} on a shared file system")
