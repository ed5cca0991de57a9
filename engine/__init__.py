"""babelscope: latent concept analysis of multilingual language models at scale.

Importing ``engine`` is cheap and never touches CUDA, CuPy or RAPIDS; stages import their heavy
dependencies when called.
"""

from __future__ import annotations

import logging

from engine.errors import (
    BabelscopeError,
    BackendUnavailableError,
    ConfigError,
    InputDataError,
    ModelUnavailableError,
    StoreError,
)

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "__version__",
    "BabelscopeError",
    "BackendUnavailableError",
    "ConfigError",
    "InputDataError",
    "ModelUnavailableError",
    "StoreError",
]
