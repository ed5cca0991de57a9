"""Error types and the one message template used across babelscope.

Every user-facing error names the parameter, file, line or value at fault::

    raise ConfigError(param_message("aggregation", "extract", "one of first|last|mean", "avg"))
    # -> "aggregation of extract must be one of first|last|mean; got 'avg'"
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BabelscopeError",
    "ConfigError",
    "InputDataError",
    "ModelUnavailableError",
    "StoreError",
    "BackendUnavailableError",
    "TaskFailedError",
    "param_message",
]


class BabelscopeError(ValueError):
    """Base class of every error babelscope raises on purpose."""


class ConfigError(BabelscopeError):
    """A configuration file, key or value is invalid."""


class InputDataError(BabelscopeError):
    """A corpus, link or dictionary file is malformed (the message names file and line)."""


class ModelUnavailableError(BabelscopeError):
    """A model id or path cannot be loaded (unknown, or not available offline)."""


class StoreError(BabelscopeError):
    """A store is missing, incomplete, damaged or was written by an incompatible config."""


class BackendUnavailableError(BabelscopeError, ImportError):
    """An optional backend (CUDA, CuPy, cuML, faiss, eflomal) cannot be used; the message says why."""


class TaskFailedError(BabelscopeError):
    """A task of a run raised an unexpected error; the message names the task, run.log holds the traceback."""


def param_message(param: str, owner: str, expected: str, value: Any) -> str:
    """Format the project's one error template.

    >>> param_message("K", "fit", "a positive integer", 0)
    'K of fit must be a positive integer; got 0'
    """
    return f"{param} of {owner} must be {expected}; got {value!r}"
