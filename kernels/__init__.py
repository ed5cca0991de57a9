"""Array kernels of the metrics: one implementation each, written against the array API that NumPy (with
``scipy.sparse``) and CuPy (with ``cupyx.scipy.sparse``) share, dispatched on the input's array module. The
plain brute-force references they are tested against live in ``tests/kernels/brute.py``.

Kernels are leaf code: they import nothing from ``engine`` and raise their own :class:`KernelError`.
``import kernels`` never imports CuPy; :func:`get_array_module` looks it up only when asked.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kernels.errors import KernelError, KernelUnavailableError

__all__ = ["KernelError", "KernelUnavailableError", "get_array_module"]


def get_array_module(*arrays: Any):
    """Return ``cupy`` if any argument is a CuPy array, else ``numpy`` (CuPy is never imported here)."""
    for array in arrays:
        module = type(array).__module__
        if module.startswith("cupy"):
            import cupy

            return cupy
    return np
