"""Running a model on a batch of segments and gathering one vector per word per requested layer.

Layers follow Hugging Face ``output_hidden_states``: 0 = embeddings, i = output of transformer layer i, the top
one the model's output (final norm applied). Forward hooks pick each requested layer's word tokens as the pass
produces it, so only those rows are kept; when the deepest requested layer is below the top the pass stops
there, so layers above it cost nothing. Encoder–decoder models: the ``encoder`` side runs the encoder
alone; the ``decoder`` side runs the whole encoder on the source and the decoder teacher-forced on the
target (decoder input = labels shifted right, as ``labels=`` does), so position i holds the state that
predicts target token i.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

from engine.extract.plan import Segment


class _StopForward(Exception):
    """Raised from a hook once every requested layer has been captured."""


def find_layer_list(model: Any, side: str, n_layers: int) -> torch.nn.ModuleList:
    """The ModuleList of transformer layers of ``side`` (BERT ``encoder.layer``, T5 ``block``, ``layers``…)."""
    if getattr(model.config, "is_encoder_decoder", False):
        stack = model.get_encoder() if side == "encoder" else model.get_decoder()
    else:
        stack = model
    candidates = [
        (name, module)
        for name, module in stack.named_modules()
        if isinstance(module, torch.nn.ModuleList) and len(module) == n_layers
    ]
    # the shallowest list wins: T5 blocks hold their own 2-element ``layer`` lists
    candidates.sort(key=lambda item: item[0].count("."))
    shallow = [item for item in candidates if item[0].count(".") == candidates[0][0].count(".")] if candidates else []
    for suffix in ("layer", "layers", "block", "h"):
        for name, module in shallow:
            if name.split(".")[-1] == suffix:
                return module
    if len(shallow) == 1:
        return shallow[0][1]
    raise RuntimeError(f"cannot find the {n_layers} transformer layers of {type(stack).__name__} ({side})")


@contextmanager
def _taps(layer_list: torch.nn.ModuleList, layers: list[int], keep: Any, stop: bool):
    """Hooks that hand hidden state i (0 = what enters the first layer, i = the output of layer i) to
    ``keep(i, state)`` for each of ``layers``; with ``stop`` the pass ends after the deepest of them."""
    deepest = max(layers) if layers else -1
    handles = []

    def pre_hook(module, args, kwargs):
        keep(0, args[0] if args else kwargs["hidden_states"])
        if stop and deepest == 0:
            raise _StopForward

    def make_hook(index: int):
        def hook(module, args, output):
            keep(index, output[0] if isinstance(output, (tuple, list)) else output)
            if stop and index == deepest:
                raise _StopForward

        return hook

    try:
        if 0 in layers:
            handles.append(layer_list[0].register_forward_pre_hook(pre_hook, with_kwargs=True))
        for i in layers:
            if i >= 1:
                handles.append(layer_list[i - 1].register_forward_hook(make_hook(i)))
        yield
    finally:
        for handle in handles:
            handle.remove()


def pad_batch(rows: list[np.ndarray], pad_id: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = r
        mask[i, : len(r)] = 1
    return torch.from_numpy(ids).to(device), torch.from_numpy(mask).to(device)


def hidden_states(
    model: Any,
    side: str,
    n_layers: int,
    layers: list[int],
    batch: list[Segment],
    pad_id: int,
    decoder_start_id: int | None,
    device: torch.device,
    tokens: torch.Tensor,
) -> tuple[dict[int, torch.Tensor], int]:
    """The rows ``tokens`` (flat indices into the padded ``[B, T]`` batch) of each requested layer's hidden state,
    ``{layer: [n_tokens, H]}`` on ``device``, and the padded width T.

    Each state is picked as the pass produces it (hooks), so no more than one whole layer is held at a time; a
    model spread over GPUs (device_map) moves only the picked rows. The top layer is the model's output
    (``last_hidden_state``: its final norm applied, as ``output_hidden_states`` has it); below it the pass stops
    after the deepest requested layer.
    """
    encdec = getattr(model.config, "is_encoder_decoder", False)
    ids, mask = pad_batch([seg.input_ids for seg in batch], pad_id, device)
    kwargs: dict[str, Any] = {}
    if side == "decoder":
        src, src_mask = pad_batch([seg.source_ids for seg in batch], pad_id, device)
        start = torch.full((ids.shape[0], 1), decoder_start_id, dtype=ids.dtype, device=device)
        decoder_ids = torch.cat([start, ids[:, :-1]], dim=1)  # shift right: position i sees labels < i
        kwargs = {"input_ids": src, "attention_mask": src_mask, "decoder_input_ids": decoder_ids,
                  "decoder_attention_mask": mask}
        runner = model
    else:
        kwargs = {"input_ids": ids, "attention_mask": mask}
        runner = model.get_encoder() if encdec else model
    picked: dict[int, torch.Tensor] = {}

    def keep(index: int, state: torch.Tensor) -> None:
        flat = state.reshape(-1, state.shape[-1])
        picked[index] = flat.index_select(0, tokens.to(flat.device)).to(device)

    top = n_layers in layers
    below = [layer for layer in layers if layer < n_layers]
    with _taps(find_layer_list(model, side, n_layers), below, keep, stop=not top):
        try:
            out = runner(**kwargs, return_dict=True)
        except _StopForward:
            out = None
    if top:
        keep(n_layers, out.last_hidden_state)
    return {layer: picked[layer] for layer in layers}, ids.shape[1]


def gather_indices(
    batch: list[Segment], width: int, row_of: list[np.ndarray], aggregation: str
) -> tuple[np.ndarray, np.ndarray, int]:
    """Flat token indices into ``[B*T]`` and the output slot of each, for one batch.

    ``row_of[b]`` maps word position -> output slot (or -1) for segment b. Returns
    (token_index int64 [n_tok], slot int64 [n_tok], n_slots) where for ``first``/``last`` each slot has
    exactly one token (tokens are then ordered by slot), for ``mean`` every token of the word.
    """
    tok_parts, slot_parts = [], []
    for b, seg in enumerate(batch):
        tw = seg.token_word
        valid = np.nonzero(tw >= 0)[0]
        slots = row_of[b][tw[valid]]
        keep = slots >= 0
        valid, slots = valid[keep], slots[keep]
        if aggregation in ("first", "last") and len(valid):
            # tokens of a word are contiguous and ascending; keep the first or last of each run
            if aggregation == "first":
                pick = np.r_[True, slots[1:] != slots[:-1]]
            else:
                pick = np.r_[slots[1:] != slots[:-1], True]
            valid, slots = valid[pick], slots[pick]
        tok_parts.append(valid.astype(np.int64) + b * width)
        slot_parts.append(slots.astype(np.int64))
    tokens = np.concatenate(tok_parts) if tok_parts else np.zeros(0, np.int64)
    slots = np.concatenate(slot_parts) if slot_parts else np.zeros(0, np.int64)
    if aggregation in ("first", "last"):  # one token per slot: order tokens by slot so slot i <-> tokens[i]
        order = np.argsort(slots, kind="stable")
        tokens, slots = tokens[order], slots[order]
    return tokens, slots, int(slots.max()) + 1 if len(slots) else 0


def aggregate(
    picked: dict[int, torch.Tensor], layers: list[int], slots: torch.Tensor, n_slots: int, aggregation: str,
) -> torch.Tensor:
    """Word vectors ``[n_layers, n_slots, H]`` in float16 from the picked token rows of each layer
    (:func:`hidden_states` with :func:`gather_indices`' tokens), computed on their device."""
    first = picked[layers[0]]
    hidden = first.shape[-1]
    out = torch.empty((len(layers), n_slots, hidden), dtype=torch.float16, device=first.device)
    if aggregation == "mean":
        counts = torch.zeros(n_slots, dtype=torch.float32, device=first.device)
        counts.index_add_(0, slots, torch.ones_like(slots, dtype=torch.float32))
    for li, layer in enumerate(layers):
        rows = picked[layer]
        if aggregation == "mean":
            acc = torch.zeros((n_slots, hidden), dtype=torch.float32, device=rows.device)
            acc.index_add_(0, slots, rows.float())
            out[li] = (acc / counts[:, None]).to(torch.float16)
        else:  # one token per slot, ordered by slot (see gather_indices)
            out[li].copy_(rows)
    return out
