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
from engine.store.artefacts import DICTIONARY, read_artefact, write_artefact
from engine.store.core import read_strings

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
    write_artefact(root, DICTIONARY, name, {"src_type": src_ids, "tgt_type": tgt_ids, "count": dictionary.count,
                                            "prob": dictionary.prob, "rank": dictionary.rank},
                   {**(attrs or {}), "meta": dictionary.meta, "src": src, "tgt": tgt, "n_entries": len(dictionary)})
    log.info("stored dictionary %s: %d entries", name, len(dictionary))


def read_store_dictionary(root: Any, src: str, tgt: str) -> Dictionary:
    """The complete stored dictionary of a language pair, as a :class:`Dictionary` of words."""
    stored = read_artefact(root, DICTIONARY, layout.dictionary_path(src, tgt), label=layout.pair_name(src, tgt))
    src_vocab = read_strings(root, layout.vocab_path(src))
    tgt_vocab = read_strings(root, layout.vocab_path(tgt))
    return Dictionary([src_vocab[i] for i in stored["src_type"].tolist()],
                      [tgt_vocab[i] for i in stored["tgt_type"].tolist()], stored["prob"].astype(np.float64),
                      stored["count"].astype(np.int64), stored["rank"].astype(np.int32),
                      dict(stored.attrs.get("meta", {})))
