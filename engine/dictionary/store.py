"""Dictionaries in the store: ``dictionaries/{src}-{tgt}/{src_type,tgt_type,count,rank}`` + ``prob``.

Type ids index ``vocab/{src}`` and ``vocab/{tgt}``; the group's ``complete`` attr is written last.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from engine.dictionary.types import Dictionary
from engine.errors import StoreError
from engine.store import layout
from engine.store.core import open_complete, read_strings, remove_group, write_array_1d

__all__ = ["read_store_dictionary", "write_store_dictionary"]

log = logging.getLogger(__name__)


def _type_ids(words: list[str], vocab: list[str], lang: str) -> np.ndarray:
    index = {w: i for i, w in enumerate(vocab)}
    ids = np.fromiter((index.get(w, -1) for w in words), np.int64, len(words))
    if (ids < 0).any():
        word = words[int(np.argmax(ids < 0))]
        raise StoreError(f"dictionary word {word!r} is not in vocab/{lang}; only dictionaries over the store's "
                         f"vocabularies can be stored")
    return ids


def write_store_dictionary(root: Any, src: str, tgt: str, dictionary: Dictionary,
                           attrs: dict[str, Any] | None = None) -> None:
    """Store ``dictionary`` (its words must be in the store's vocabularies) under ``dictionaries/{src}-{tgt}``."""
    src_ids = _type_ids(dictionary.src, read_strings(root, layout.vocab_path(src)), src)
    tgt_ids = _type_ids(dictionary.tgt, read_strings(root, layout.vocab_path(tgt)), tgt)
    name = layout.dictionary_path(src, tgt)
    remove_group(root, name)
    group = root.require_group(name)
    group.attrs.update({**(attrs or {}), "meta": dictionary.meta, "src": src, "tgt": tgt,
                        "n_entries": len(dictionary), "complete": False})
    write_array_1d(group, "src_type", src_ids, "int32")
    write_array_1d(group, "tgt_type", tgt_ids, "int32")
    write_array_1d(group, "count", dictionary.count, "int32")
    write_array_1d(group, "prob", dictionary.prob, "float64")
    write_array_1d(group, "rank", dictionary.rank, "int32")
    group.attrs["complete"] = True
    log.info("stored dictionary %s: %d entries", name, len(dictionary))


def read_store_dictionary(root: Any, src: str, tgt: str) -> Dictionary:
    """The complete stored dictionary of a language pair, as a :class:`Dictionary` of words."""
    group = open_complete(root, layout.dictionary_path(src, tgt), f"dictionary {src}-{tgt}",
                          "run `babelscope align`")
    src_vocab = read_strings(root, layout.vocab_path(src))
    tgt_vocab = read_strings(root, layout.vocab_path(tgt))
    src_ids, tgt_ids = group["src_type"][:], group["tgt_type"][:]
    return Dictionary([src_vocab[i] for i in src_ids.tolist()], [tgt_vocab[i] for i in tgt_ids.tolist()],
                      group["prob"][:].astype(np.float64), group["count"][:].astype(np.int64),
                      group["rank"][:].astype(np.int32), dict(group.attrs.get("meta", {})))
