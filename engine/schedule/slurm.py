"""``run.scheduler: slurm``: the run's workers as SLURM jobs, through dask-jobqueue's ``SLURMCluster``.

The client (``babelscope run``, on a login or submit node) starts a Dask scheduler and submits worker jobs
(``run.slurm``: partition, account, walltime, cores, memory, GPUs, extra ``#SBATCH`` lines), scaled between
``jobs_min`` and ``jobs_max``. A CPU job runs one single-threaded worker per core. A GPU job (``gpus: N``,
``--gres=gpu:N``) runs one worker per GPU, each advertising the ``GPU`` resource and seeing its own GPU first
(:mod:`engine.schedule.gpu_worker`), so extraction and clustering go to them with one model copy per GPU;
their other threads take the CPU stages, unless ``run.slurm.cpu`` adds CPU-only jobs beside them, which then
take every CPU stage (resource ``CPU``). Each worker names itself ``slurm-$SLURM_JOB_ID`` (GPU workers
``slurm-<job>-gpu<id>``), which every task it computed records.

The store and the run folder must be on a file system every job sees: the first worker reads back a file the
client wrote, and the run stops with a clear error if it cannot. A job that dies (preempted, past its
walltime, ``scancel``) loses no finished work: Dask runs its tasks again elsewhere, the cluster submits a new
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
from engine.schedule.gpu_worker import GPUS_ENV
from engine.schedule.resources import WORKER_ENV, WORKER_ENV_UNSET_EXPORT, Placement

log = logging.getLogger(__name__)

__all__ = ["check_shared_store", "cpu_job_options", "job_options", "job_script", "slurm_client_cluster"]

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
    """``SLURMCluster`` / ``SLURMJob`` keyword arguments of ``run.slurm``'s (GPU or CPU) worker jobs."""
    spec = config.run.slurm
    gpus = spec.gpus
    directives = [*([f"--gres=gpu:{gpus}"] if gpus else []), *spec.extra]
    prologue = [f"export {WORKER_ENV}=slurm-$SLURM_JOB_ID", *([f"export {GPUS_ENV}={gpus}"] if gpus else []),
                WORKER_ENV_UNSET_EXPORT, *spec.prologue]
    worker_args = ["--resources", "GPU=1", "--preload", "engine.schedule.gpu_worker"] if gpus else []
    return {
        "queue": spec.partition, "account": spec.account, "walltime": spec.walltime,
        "cores": spec.cores, "processes": gpus or spec.cores, "memory": spec.memory,
        "job_extra_directives": directives, "job_script_prologue": prologue,
        "python": spec.python or sys.executable, "interface": spec.interface,
        "log_directory": str(Path(spec.log_dir or Path(config.run.dir) / "slurm").absolute()),
        "job_name": "babelscope-worker", "worker_extra_args": worker_args,
    }


def cpu_job_options(config: Config) -> dict[str, Any]:
    """The keyword arguments of ``run.slurm.cpu``'s CPU-only jobs beside GPU jobs: one single-threaded worker
    per core, each advertising the ``CPU`` resource; what ``run.slurm.cpu`` leaves unset is the GPU jobs'
    (but not their ``extra`` lines)."""
    spec, cpu = config.run.slurm, config.run.slurm.cpu
    cores = cpu.cores or spec.cores
    prologue = spec.prologue if cpu.prologue is None else cpu.prologue
    return {**job_options(config), "queue": cpu.partition or spec.partition, "walltime": cpu.walltime or spec.walltime,
            "cores": cores, "processes": cores, "memory": cpu.memory or spec.memory,
            "job_extra_directives": list(cpu.extra), "job_script_prologue": [  # no GPU: ``auto`` is the CPU
                f"export {WORKER_ENV}=slurm-$SLURM_JOB_ID", "export CUDA_VISIBLE_DEVICES=", WORKER_ENV_UNSET_EXPORT,
                *prologue],
            "job_name": "babelscope-cpu-worker", "worker_extra_args": ["--resources", "CPU=1"]}


def job_script(config: Config, cpu: bool = False) -> str:
    """The job script ``babelscope run`` would submit for each (GPU or, with ``cpu``, CPU-only) worker job, the
    scheduler address a placeholder."""
    jobqueue = _jobqueue()
    options = cpu_job_options(config) if cpu else job_options(config)
    folder = Path(options["log_directory"])
    missing = [p for p in (folder, *folder.parents) if not p.exists()]  # dask-jobqueue creates the job log folder
    try:
        return jobqueue.SLURMCluster.job_cls(scheduler=DRY_RUN_ADDRESS, name=options["job_name"],
                                             **options).job_script()
    finally:
        for path in missing:  # innermost first: a dry run leaves nothing behind
            try:
                path.rmdir()
            except OSError:
                break


def _cluster_class(jobqueue: Any) -> type:
    """dask-jobqueue's ``SLURMCluster`` with two additions: a fixed set of CPU-only jobs beside the (scaled or
    adaptive) GPU jobs, which scaling never removes; and a job whose workers are all gone (preempted, past its
    walltime, cancelled) submitted again, a multi-worker job too (distributed replaces only single-worker
    jobs, and only under adaptive scaling)."""
    import asyncio

    import dask
    from dask.utils import parse_timedelta
    from distributed.core import Status
    from distributed.deploy.adaptive import Adaptive

    class KeepCpuJobs(Adaptive):
        async def workers_to_close(self, target: int) -> list[str]:
            return [w for w in await super().workers_to_close(target) if not self.cluster.is_cpu_worker(w)]

    class BabelscopeSLURMCluster(jobqueue.SLURMCluster):
        def __init__(self, *, cpu_jobs: int = 0, cpu_options: dict[str, Any] | None = None, **options: Any):
            super().__init__(**options)
            kwargs = {**self._job_kwargs, **(cpu_options or {})}
            spec: dict[str, Any] = {"cls": self.job_cls, "options": kwargs}
            if kwargs["processes"] > 1:
                spec["group"] = [f"-{i}" for i in range(kwargs["processes"])]
            self._cpu_specs = {f"cpu-job-{i}": spec for i in range(cpu_jobs)}
            self._cpu_workers = cpu_jobs * kwargs["processes"]
            if cpu_jobs:
                self.worker_spec.update(self._cpu_specs)
                self.loop.add_callback(self._correct_state)

        def is_cpu_worker(self, name: str) -> bool:
            return self._job_of(name) in self._cpu_specs

        def _job_of(self, worker: str) -> str | None:
            """The job (its spec name) worker ``worker`` belongs to."""
            for job, spec in self.worker_spec.items():
                if worker == str(job) or worker in {f"{job}{suffix}" for suffix in spec.get("group", ())}:
                    return str(job)
            return None

        def scale(self, n: int | None = None, jobs: int = 0, memory: Any = None, cores: Any = None) -> Any:
            """Scale the GPU jobs (``n`` counts every worker, the CPU-only jobs' too, as adaptive scaling does);
            a closing cluster (``scale(0)``) ends the CPU-only jobs too."""
            for name in self._cpu_specs:
                self.worker_spec.pop(name, None)
            if self.status in (Status.closing, Status.closed):
                return super().scale(0)
            try:
                return super().scale(None if n is None else max(0, n - self._cpu_workers), jobs, memory, cores)
            finally:
                self.worker_spec.update(self._cpu_specs)

        async def scale_down(self, workers: Any) -> None:
            await super().scale_down([w for w in workers if not self.is_cpu_worker(str(w))])

        def adapt(self, *args: Any, minimum_jobs: int | None = None, maximum_jobs: int | None = None,
                  **kwargs: Any) -> Any:
            per_job = self._dummy_job.worker_processes
            return super().adapt(*args, Adaptive=KeepCpuJobs,
                                 minimum=(minimum_jobs or 0) * per_job + self._cpu_workers,
                                 maximum=(maximum_jobs or 0) * per_job + self._cpu_workers, **kwargs)

        def _update_worker_status(self, op: str, msg: Any) -> None:
            if op == "remove" and self.status == Status.running:
                job = self._job_of(str(self.scheduler_info["workers"].get(msg, {}).get("name", "")))
                if job is not None:  # once distributed has given up on the worker, as it does itself
                    delay = parse_timedelta(dask.config.get("distributed.deploy.lost-worker-timeout"))
                    asyncio.get_running_loop().call_later(delay + 0.5, self._replace_if_gone, job)
            super()._update_worker_status(op, msg)

        def _replace_if_gone(self, job: str) -> None:
            if self.status != Status.running or job not in self.worker_spec:
                return  # closing, or scaled away on purpose
            if any(self._job_of(str(w.get("name"))) == job for w in self.scheduler_info["workers"].values()):
                return  # some of its workers are still there
            ended = self.workers.pop(job, None)
            log.warning("scheduler slurm: worker job %s (%s) has no worker left (preempted, past its walltime or "
                        "cancelled): submitting a new one", getattr(ended, "job_id", None) or "?", job)
            if ended is not None:
                self._futures.add(asyncio.ensure_future(ended.close()))
            self._correct_state()

    return BabelscopeSLURMCluster


def slurm_client_cluster(config: Config) -> tuple[Any, Any, Placement]:
    """Start the scheduler, submit the worker jobs (scaled as ``run.slurm`` says) and connect a client."""
    from distributed import Client

    jobqueue = _jobqueue()
    spec = config.run.slurm
    options = job_options(config)
    Path(options["log_directory"]).mkdir(parents=True, exist_ok=True)
    scheduler_options = {"dashboard_address": ":0"}
    cluster = _cluster_class(jobqueue)(**options, scheduler_options=scheduler_options, cpu_jobs=spec.cpu.jobs,
                                       cpu_options=cpu_job_options(config) if spec.cpu.jobs else None)
    if spec.jobs_min == spec.jobs_max:
        cluster.scale(jobs=spec.jobs_max)
    else:
        cluster.adapt(minimum_jobs=spec.jobs_min, maximum_jobs=spec.jobs_max)
    jobs = spec.jobs_max if spec.jobs_min == spec.jobs_max else f"{spec.jobs_min}-{spec.jobs_max}"
    log.info("scheduler slurm: %s worker job(s) of %d core(s), %s%s, walltime %s, partition %s%s; job output in %s",
             jobs, spec.cores, spec.memory, f", {spec.gpus} GPU(s)" if spec.gpus else "", spec.walltime,
             spec.partition or "(default)", f"; {spec.cpu.jobs} CPU-only job(s) beside them" if spec.cpu.jobs else "",
             options["log_directory"])
    client = Client(cluster)
    return client, cluster, Placement(gpu=spec.gpus > 0, cpu=spec.cpu.jobs > 0)


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
