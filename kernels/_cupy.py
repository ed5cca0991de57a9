"""Lazy access to CuPy and ``cupyx.scipy.sparse``; nothing here imports CuPy at module import time."""

from __future__ import annotations

import logging
import re
from types import ModuleType
from typing import Any

import numpy as np

from engine.errors import BackendUnavailableError, ConfigError, param_message

log = logging.getLogger(__name__)

INSTALL_HINT = "install babelscope[gpu-cu12] (cupy-cuda12x) on a machine with a CUDA device"


def require_cupy() -> ModuleType:
    """Return the ``cupy`` module, or raise :class:`BackendUnavailableError` saying what to install."""
    try:
        import cupy
    except ImportError as exc:  # pragma: no cover - depends on the machine
        raise BackendUnavailableError(f"CuPy is not importable ({exc}); {INSTALL_HINT}") from exc
    return cupy


def sparse_module(xp: ModuleType) -> ModuleType:
    """``scipy.sparse`` for NumPy, ``cupyx.scipy.sparse`` for CuPy."""
    if xp is np:
        import scipy.sparse

        return scipy.sparse
    try:
        import cupyx.scipy.sparse
    except ImportError as exc:  # pragma: no cover - depends on the machine
        raise BackendUnavailableError(f"cupyx.scipy.sparse is not importable ({exc}); "
                                      f"{INSTALL_HINT}") from exc
    return cupyx.scipy.sparse


def to_device(xp: ModuleType, array: Any) -> Any:
    """Move a host array to ``xp``'s device (a no-op for NumPy)."""
    return array if xp is np else xp.asarray(array)


def to_host(array: Any) -> np.ndarray:
    """Return a NumPy copy of a NumPy or CuPy array."""
    if isinstance(array, np.ndarray):
        return array
    get = getattr(array, "get", None)
    return get() if get is not None else np.asarray(array)


_DEVICE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def array_module_for(device: str, owner: str) -> ModuleType:
    """Choose the array module once per task: ``cpu`` -> NumPy, ``cuda[:i]`` -> CuPy (on GPU i), ``auto`` ->
    CuPy when it imports and sees a GPU, else NumPy (logged)."""
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
    cupy = require_cupy()
    cupy.cuda.Device(int(device.partition(":")[2] or 0)).use()
    return cupy
