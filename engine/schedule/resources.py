"""What a worker offers and how it names itself: shared by the local and the SLURM clusters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["WORKER_ENV", "WORKER_ENV_UNSET", "WORKER_ENV_UNSET_EXPORT", "Placement", "own_first"]

WORKER_ENV = "BABELSCOPE_WORKER"  # the worker's name, in its environment (tasks record where they ran)

#: distributed's nannies start workers with MALLOC_TRIM_THRESHOLD_=65536, which also fixes glibc's mmap threshold
#: at 128 kB: every large temporary (a k-means distance block) is then mapped and unmapped again, page faults
#: included. A whole-Bible clustering (n = 201,745, K = 400, one thread) took 95 s with it and 56 s without, the
#: same 102 s against 56 s in a LocalCluster worker. babelscope starts its workers without it (local and SLURM).
WORKER_ENV_UNSET = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}
#: the same for workers started by ``dask worker`` (SLURM jobs): a line of their job script
WORKER_ENV_UNSET_EXPORT = "export DASK_DISTRIBUTED__NANNY__PRE_SPAWN_ENVIRON=\"{'MALLOC_TRIM_THRESHOLD_': None}\""


@dataclass(frozen=True)
class Placement:
    """Which worker resources the cluster offers; :meth:`resources` says what a task asks for."""

    gpu: bool = False
    cpu: bool = False

    def resources(self, gpu_task: bool) -> dict[str, int] | None:
        if gpu_task and self.gpu:
            return {"GPU": 1}
        if not gpu_task and self.gpu and self.cpu:
            return {"CPU": 1}
        return None


def own_first(devices: Sequence[str], index: int) -> str:
    """``CUDA_VISIBLE_DEVICES`` of the worker owning ``devices[index]``: its own GPU first (its ``cuda:0``),
    then the others in order, so every GPU stays reachable and each worker's default device differs."""
    return ",".join(devices[(index + step) % len(devices)] for step in range(len(devices)))
