"""Tiny random decoder-only models (Llama, Qwen2, Gemma 3) with the tokenizer families of the real ones.

* ``llama``  — SentencePiece-style BPE: a ``▁`` word-start mark prepended to the *first* word only (as Llama 2's
  converted tokenizer does), ``<s>`` always added in front;
* ``gemma3`` — the same family with Gemma's special tokens (``<bos>`` added in front, ``<pad>``, ``<eos>``);
* ``qwen2``  — byte-level BPE (GPT-2, Llama 3, Qwen): the space before a word is part of its first token, no
  BOS and no pad token.

Trained with ``tokenizers`` on the same Bible verses as :mod:`engine.material.tiny`'s tokenizers (BPE training
is deterministic); weights are random (seeded). They exercise loading, word mapping, padding and the layer
taps of causal models; they carry no meaning.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerFast

__all__ = ["CAUSAL_KINDS", "causal_model", "causal_tokenizer"]

logger = logging.getLogger(__name__)

CAUSAL_KINDS = ("llama", "qwen2", "gemma3")
_MAX_POSITIONS = 256
# kind -> (special tokens in id order, the one added in front or None, pad token or None, eos)
_SPECIALS = {
    "llama": (("<unk>", "<s>", "</s>"), "<s>", None, "</s>"),
    "gemma3": (("<pad>", "<eos>", "<bos>", "<unk>"), "<bos>", "<pad>", "<eos>"),
    "qwen2": (("<|endoftext|>",), None, None, "<|endoftext|>"),
}


def causal_tokenizer(kind: str, texts: tuple[str, ...], vocab_size: int = 1000) -> PreTrainedTokenizerFast:
    """A trained BPE tokenizer of ``kind``'s family (see the module) over ``texts``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    specials, front, pad, eos = _SPECIALS[kind]
    if kind == "qwen2":
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        tok.decoder = decoders.ByteLevel()
        alphabet = pre_tokenizers.ByteLevel.alphabet()
    else:
        tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=False))
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first")
        tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="first")
        alphabet = []
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(specials), initial_alphabet=alphabet,
                                  show_progress=False)
    tok.train_from_iterator(list(texts), trainer=trainer)
    if front is not None:
        tok.post_processor = processors.TemplateProcessing(single=f"{front} $A", pair=f"{front} $A {front} $B",
                                                           special_tokens=[(front, tok.token_to_id(front))])
    elif kind == "qwen2":
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
    names: dict[str, Any] = {"eos_token": eos}
    if front is not None:
        names["bos_token"] = front
    if pad is not None:
        names["pad_token"] = pad
    if "<unk>" in specials:
        names["unk_token"] = "<unk>"
    return PreTrainedTokenizerFast(tokenizer_object=tok, model_max_length=_MAX_POSITIONS, padding_side="right",
                                   model_input_names=["input_ids", "attention_mask"], **names)


def causal_model(kind: str, tok: PreTrainedTokenizerFast, hidden: int, layers: int) -> PreTrainedModel:
    """The random base model (no LM head) of ``kind`` sized to ``tok`` (built under the caller's RNG seed)."""
    common = {"vocab_size": len(tok), "hidden_size": hidden, "intermediate_size": 2 * hidden,
              "num_hidden_layers": layers, "num_attention_heads": 4, "num_key_value_heads": 2,
              "max_position_embeddings": _MAX_POSITIONS, "eos_token_id": tok.eos_token_id,
              "bos_token_id": tok.bos_token_id, "pad_token_id": tok.pad_token_id, "tie_word_embeddings": True}
    if kind == "llama":
        from transformers import LlamaConfig, LlamaModel

        return LlamaModel(LlamaConfig(**common))
    if kind == "qwen2":
        from transformers import Qwen2Config, Qwen2Model

        return Qwen2Model(Qwen2Config(**common))
    from transformers import Gemma3TextConfig, Gemma3TextModel

    # a sliding window shorter than a verse, so both attention kinds really differ on the test sentences
    config = Gemma3TextConfig(**{**common, "num_key_value_heads": 1}, head_dim=hidden // 4, sliding_window=16,
                              query_pre_attn_scalar=hidden // 4, layer_types=["sliding_attention", "full_attention"]
                              * (layers // 2) + ["sliding_attention"] * (layers % 2))
    return Gemma3TextModel(config)
