"""What a worker offers and how it names itself: shared by the local and the SLURM clusters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["WORKER_ENV", "Placement", "own_first"]

WORKER_ENV = "BABELSCOPE_WORKER"  # the worker's name, in its environment (tasks record where they ran)


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
