"""Device and compute-dtype choice, made once per task, with the reason logged."""

from __future__ import annotations

import logging
import re

from engine.errors import ConfigError, param_message

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
