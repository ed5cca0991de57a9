"""Lazy access to CuPy and ``cupyx.scipy.sparse``; nothing here imports CuPy at module import time."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from kernels.errors import KernelUnavailableError

INSTALL_HINT = ("install the CuPy of your CUDA (babelscope[gpu-cu13]: cupy-cuda13x; babelscope[gpu-cu12]: "
                "cupy-cuda12x) on a machine with a CUDA device")


def require_cupy() -> ModuleType:
    """Return the ``cupy`` module, or raise :class:`KernelUnavailableError` saying what to install."""
    try:
        import cupy
    except ImportError as exc:  # pragma: no cover - depends on the machine
        raise KernelUnavailableError(f"CuPy is not importable ({exc}); {INSTALL_HINT}") from exc
    return cupy


def sparse_module(xp: ModuleType) -> ModuleType:
    """``scipy.sparse`` for NumPy, ``cupyx.scipy.sparse`` for CuPy."""
    if xp is np:
        import scipy.sparse

        return scipy.sparse
    try:
        import cupyx.scipy.sparse
    except ImportError as exc:  # pragma: no cover - depends on the machine
        raise KernelUnavailableError(f"cupyx.scipy.sparse is not importable ({exc}); "
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
