"""Array kernels with one NumPy reference and one CuPy twin each, dispatched on the input's array module.

``import kernels`` never imports CuPy; :func:`get_array_module` looks it up only when asked.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def get_array_module(*arrays: Any):
    """Return ``cupy`` if any argument is a CuPy array, else ``numpy`` (CuPy is never imported here)."""
    for array in arrays:
        module = type(array).__module__
        if module.startswith("cupy"):
            import cupy

            return cupy
    return np
