"""Device and compute-dtype choice, made once per task, with the reason logged."""

from __future__ import annotations

import logging
import re
from types import ModuleType

from engine.errors import BackendUnavailableError, ConfigError, param_message

log = logging.getLogger(__name__)

_DEVICE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def resolve_device(spec: str = "auto"):
    """Turn ``auto | cpu | cuda | cuda:N`` into a ``torch.device``; ``auto`` falls back to CPU with a log line."""
    import torch

    if not isinstance(spec, str) or not _DEVICE.match(spec):
        raise ConfigError(param_message("device", "extract", "one of auto, cpu, cuda, cuda:N", spec))
    if spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        log.info("device auto -> cpu (torch.cuda.is_available() is False)")
        return torch.device("cpu")
    device = torch.device(spec)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(param_message("device", "extract", "usable: CUDA is not available here", spec))
        index = device.index or 0
        if index >= torch.cuda.device_count():
            raise ConfigError(
                f"device={spec!r} of extract names GPU {index}, but only {torch.cuda.device_count()} are visible"
            )
    return device


def native_bf16(device) -> bool:
    """Whether the GPU ``device`` computes in bfloat16 natively (compute capability 8.0, Ampere, or later). Asked
    of that device, not of the thread's current one, and not counting emulation (what
    ``torch.cuda.is_bf16_supported()`` would, on older cards, at float32 speed or worse)."""
    import torch

    index = device.index if device.index is not None else torch.cuda.current_device()
    return tuple(torch.cuda.get_device_capability(index)) >= (8, 0)


def resolve_compute_dtype(spec: str, device):
    """``auto`` = float32 on CPU (fidelity to the reference), bfloat16 on CUDA (float16 where the GPU has no
    native bfloat16)."""
    import torch

    if spec == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if native_bf16(device) else torch.float16
        return torch.float32
    table = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
    if spec not in table:
        raise ConfigError(param_message("dtype", "extract", "one of auto, float32, bfloat16, float16", spec))
    return table[spec]


def array_module(device: str, owner: str) -> ModuleType:
    """The metric kernels' array module, chosen once per task: ``cpu`` -> NumPy, ``cuda[:i]`` -> CuPy (on GPU i),
    ``auto`` -> CuPy when it imports and sees a GPU, else NumPy (logged)."""
    import numpy as np

    if not isinstance(device, str) or not _DEVICE.match(device):
        raise ConfigError(param_message("device", owner, "one of auto, cpu, cuda, cuda:N", device))
    if device == "cpu":
        return np
    if device == "auto":
        try:
            import cupy

            if cupy.cuda.runtime.getDeviceCount() > 0:
                return cupy
            reason = "CuPy sees no GPU"
        except Exception as exc:  # noqa: BLE001 - any failure means "no usable GPU"; the reason is logged
            reason = f"CuPy unusable: {exc}"
        log.info("device auto -> cpu for %s (%s)", owner, reason)
        return np
    from kernels._cupy import INSTALL_HINT
    try:
        import cupy
    except ImportError as exc:
        raise BackendUnavailableError(f"device={device!r} of {owner} needs CuPy, which is not importable ({exc}); "
                                      f"{INSTALL_HINT}") from exc
    return cupy


def array_device(xp: ModuleType, device: str):
    """The context the metric kernels run in: for CuPy, GPU ``cuda:N`` (the N-th visible device; ``cuda`` and
    ``auto``: the current one) made current only inside it, so the thread's current device, which torch relies
    on, is left as it was; for NumPy, nothing."""
    import contextlib

    if xp.__name__ != "cupy" or not device.startswith("cuda:"):
        return contextlib.nullcontext()
    return xp.cuda.Device(int(device.partition(":")[2]))
