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


def resolve_compute_dtype(spec: str, device):
    """``auto`` = float32 on CPU (fidelity to the reference), bfloat16 on CUDA (float16 where bf16 is absent)."""
    import torch

    if spec == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
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
    cupy.cuda.Device(int(device.partition(":")[2] or 0)).use()
    return cupy
