"""Each worker of a multi-GPU SLURM job takes its own GPU.

A job with ``run.slurm.gpus: N`` runs N worker processes (``dask worker --nworkers N``, named ``<job>-0`` …
``<job>-{N-1}``), all started with the job's GPU list in ``CUDA_VISIBLE_DEVICES`` (set by SLURM for
``--gres=gpu:N``). This module is preloaded into every one of them (``--preload engine.schedule.gpu_worker``)
and runs before the worker takes any task, so before anything touches CUDA: worker ``i`` sees GPU ``i`` of
the job first (its ``cuda:0``) and names itself ``<name>-gpu<id>`` in the tasks it records.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from engine.schedule.resources import WORKER_ENV, own_first

log = logging.getLogger(__name__)

__all__ = ["GPUS_ENV", "dask_setup", "own_gpu"]

GPUS_ENV = "BABELSCOPE_JOB_GPUS"  # GPUs per job (the job script exports it): how many workers share the list


def job_devices(env: Mapping[str, str], n_gpus: int) -> list[str]:
    """The job's GPUs as SLURM lists them (``CUDA_VISIBLE_DEVICES``, else ``SLURM_JOB_GPUS``); without either,
    the first ``n_gpus`` devices."""
    for name in ("CUDA_VISIBLE_DEVICES", "SLURM_JOB_GPUS"):
        listed = [d.strip() for d in env.get(name, "").split(",") if d.strip()]
        if listed:
            return listed
    return [str(i) for i in range(n_gpus)]


def own_gpu(env: Mapping[str, str], worker_name: str) -> dict[str, str]:
    """The environment worker ``worker_name`` of a GPU job sets for itself: ``CUDA_VISIBLE_DEVICES`` with its
    own GPU first, and its name with that GPU's id (``slurm-<job>-gpu<id>``)."""
    n_gpus = max(1, int(env.get(GPUS_ENV, "1")))
    index = 0
    if n_gpus > 1:
        suffix = worker_name.rsplit("-", 1)[-1]
        if not suffix.isdigit():
            raise ValueError(f"worker name {worker_name!r} of a {n_gpus}-GPU job does not end in -<index>")
        index = int(suffix)
    devices = job_devices(env, n_gpus)
    if len(devices) < n_gpus:
        log.warning("the job lists %d GPU(s) (%s) for %d workers: some workers share a GPU", len(devices),
                    ",".join(devices), n_gpus)
    own = index % len(devices)
    name = env.get(WORKER_ENV) or worker_name
    return {"CUDA_VISIBLE_DEVICES": own_first(devices, own), WORKER_ENV: f"{name}-gpu{devices[own]}"}


def dask_setup(worker: Any) -> None:
    """Distributed's preload hook, called in the worker process before it connects to the scheduler."""
    updates = own_gpu(os.environ, str(worker.name))
    os.environ.update(updates)
    log.info("worker %s: CUDA_VISIBLE_DEVICES=%s", updates[WORKER_ENV], updates["CUDA_VISIBLE_DEVICES"])
