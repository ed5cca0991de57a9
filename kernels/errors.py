"""The kernels' own error types: kernels are leaf code and import nothing from ``engine``.

Messages follow the project's one template, ``"{param} of {owner} must be {expected}; got {value!r}"``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["KernelError", "KernelUnavailableError", "param_message"]


class KernelError(ValueError):
    """A kernel was given arrays of the wrong shape, dtype or range (the message names the argument)."""


class KernelUnavailableError(KernelError, ImportError):
    """CuPy (or ``cupyx.scipy.sparse``) is asked for but cannot be imported; the message says what to install."""


def param_message(param: str, owner: str, expected: str, value: Any) -> str:
    """``"{param} of {owner} must be {expected}; got {value!r}"``."""
    return f"{param} of {owner} must be {expected}; got {value!r}"
