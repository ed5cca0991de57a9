"""What a worker offers and how it names itself: shared by the local and the SLURM clusters."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["WORKER_ENV", "Placement"]

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
