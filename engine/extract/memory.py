"""How many padded tokens an extraction batch may hold: as configured, else a cache-sized batch on CPU, else
sized from the GPU's free memory after the model is loaded (a 270M model and an 8B one want very different
batches on the same card).

On CUDA the estimate counts, per token, the activations one forward pass keeps alive in the compute dtype: the
picked rows of every requested layer (an upper bound: only word tokens are picked), a few working copies of
the residual stream, the MLP's up and gate projections, and attention scores of one segment width (eager
attention materialises them; SDPA kernels need less). Half the free memory is used; the result is
clamped to [1024, 65536] tokens.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

__all__ = ["CPU_BATCH_TOKENS", "batch_tokens_for", "cuda_batch_tokens"]

CPU_BATCH_TOKENS = 2048  # cache-sized: a bare me5-small forward ran 1.3-1.45x the words/s of 8192-token batches
SHARE = 0.5
LOW, HIGH = 1024, 65536
SCORE_WIDTH = 512  # the attention-score width allowed for per token (segments are rarely longer)


def cuda_batch_tokens(free_bytes: int, *, hidden: int, intermediate: int, heads: int, states: int,
                      dtype_bytes: int) -> int:
    """Padded tokens per batch for ``free_bytes`` of free GPU memory (see the module for what is counted)."""
    per_token = dtype_bytes * (hidden * (states + 4) + 2 * intermediate) + 4 * heads * SCORE_WIDTH
    return int(min(HIGH, max(LOW, SHARE * free_bytes // max(per_token, 1))))


def batch_tokens_for(configured: int | None, loaded: Any, layers: list[int], device: Any, dtype_bytes: int) -> int:
    """The batch budget of one extraction: ``extract.batch_tokens`` when set, else per device (see the module)."""
    if configured is not None:
        return configured
    if device.type != "cuda":
        return CPU_BATCH_TOKENS
    import torch

    config = loaded.config
    hidden = loaded.hidden_size
    intermediate = int(getattr(config, "intermediate_size", None) or getattr(config, "d_ff", None) or 4 * hidden)
    heads = int(getattr(config, "num_attention_heads", None) or getattr(config, "num_heads", None) or 1)
    states = len(layers)  # the picked word rows of each requested layer (engine.extract.forward.hidden_states)
    free, _ = torch.cuda.mem_get_info(device)
    tokens = cuda_batch_tokens(free, hidden=hidden, intermediate=intermediate, heads=heads, states=states,
                               dtype_bytes=dtype_bytes)
    log.info("%s on %s: %d padded tokens per batch (%.1f GiB free; extract.batch_tokens sets it)",
             loaded.spec.name, device, tokens, free / 2**30)
    return tokens
