"""The model a worker thread keeps between extraction tasks (loading me5-small alone takes 1-4 s, once per
task otherwise), and its release before the stages that want the (GPU) memory."""

from __future__ import annotations

import gc
import threading
from typing import Any

from engine.config import ModelSpec

__all__ = ["kept_model", "release_worker_model"]

# worker thread -> (identity, weights loaded, LoadedModel): the model of its last extraction task
_KEPT_MODELS: dict[int, tuple[str, bool, Any]] = {}


def kept_model(spec: ModelSpec, device: Any, weights: bool) -> Any:
    """``load_model``, kept by this worker thread between extraction tasks. A kept model with weights also
    serves a tokenizer-only request. Kept per thread, so tasks running side by side in one worker never share
    a model (extraction hooks into it); keyed by spec, device and the model folder's file stats, so a model
    saved again in place is loaded again."""
    from engine.extract.models import load_model, source_signature

    identity = f"{spec.model_dump_json()}|{device}|{source_signature(spec)}"
    thread = threading.get_ident()
    kept = _KEPT_MODELS.get(thread)
    if kept is not None and kept[0] == identity and (kept[1] or not weights):
        return kept[2]
    _KEPT_MODELS.pop(thread, None)  # let the previous model go before loading the next
    loaded = load_model(spec, device, weights=weights)
    _KEPT_MODELS[thread] = (identity, weights, loaded)
    return loaded


def release_worker_model() -> None:
    """Drop this thread's kept model: the tasks after extraction want its (GPU) memory."""
    if _KEPT_MODELS.pop(threading.get_ident(), None) is not None:
        gc.collect()
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
