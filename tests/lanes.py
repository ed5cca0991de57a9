"""Which test lane runs here: the GPU a ``gpu`` test needs, and whether its absence is a failure."""

from __future__ import annotations

import os

REQUIRE_GPU = os.environ.get("BABELSCOPE_REQUIRE_GPU", "") not in ("", "0")
OPTIONAL = "optional: "  # a skip reason starting so is allowed under BABELSCOPE_REQUIRE_GPU (a missing extra)


def torch_cuda() -> str | None:
    """Why torch cannot use CUDA here (None: it can)."""
    try:
        import torch
    except ImportError:  # pragma: no cover
        return "torch is not installed"
    if not torch.cuda.is_available():
        return f"needs a CUDA device (torch {torch.__version__}: torch.cuda.is_available() is False)"
    return None


def cupy_device() -> str | None:
    """Why CuPy cannot use a GPU here, by CuPy's own check (None: it can)."""
    try:
        import cupy
    except ImportError as exc:
        return f"needs CuPy with a CUDA device (import cupy failed: {exc})"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # noqa: BLE001 - any CUDA runtime failure means "no usable GPU"
        return f"needs a CUDA device CuPy can use ({type(exc).__name__}: {exc})"
    return None if count > 0 else "needs a CUDA device (CuPy sees 0)"
