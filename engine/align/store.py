"""Links in the store (``links/{src}-{tgt}``) and the store's corpus as flat token arrays.

A links group holds ``sentence``, ``src_pos``, ``tgt_pos`` (int32 [n_links]) and attrs (method, aligner,
corpus hash, counts); it is trusted only once its ``complete`` attr is set, which is written last.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.align.links import Links
from engine.errors import StoreError
from engine.store import layout
from engine.store.artefacts import LINKS, read_artefact, write_artefact
from engine.store.core import read_strings

__all__ = ["CorpusTokens", "corpus_tokens", "read_links", "write_links"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CorpusTokens:
    """One language of the store's corpus, flattened.

    offsets: int64 [n_sentences + 1]  tokens of sentence s are ``offsets[s]:offsets[s+1]``
    type_id: int32 [n_tokens]         type of each token (index into ``vocab``), in corpus order
    """

    lang: str
    offsets: np.ndarray
    type_id: np.ndarray
    vocab: list[str]

    @property
    def n_sentences(self) -> int:
        return int(self.offsets.shape[0] - 1)

    @property
    def lengths(self) -> np.ndarray:
        """int64 [n_sentences] words per sentence."""
        return np.diff(self.offsets)

    def words(self, sentence: int) -> list[str]:
        """The words of one sentence."""
        ids = self.type_id[self.offsets[sentence]:self.offsets[sentence + 1]]
        return [self.vocab[i] for i in ids.tolist()]

    def sentences(self) -> list[list[str]]:
        """Every sentence as a list of words."""
        return [self.words(s) for s in range(self.n_sentences)]

    def token_index(self, sentence: np.ndarray, position: np.ndarray) -> np.ndarray:
        """int64 flat token index of (sentence, position) pairs (arrays of one shape)."""
        return self.offsets[np.asarray(sentence, dtype=np.int64)] + np.asarray(position, dtype=np.int64)


def corpus_tokens(root: Any, lang: str) -> CorpusTokens:
    """Read ``corpus/{lang}`` and ``vocab/{lang}`` of a store into a :class:`CorpusTokens`."""
    if not root.attrs.get("corpus_complete"):
        raise StoreError("the store's corpus section is incomplete; re-run extract or align to rewrite it")
    languages = list(root.attrs.get("languages", []))
    if lang not in languages:
        raise StoreError(f"store has no language {lang!r}; it holds {languages}")
    sentences = read_strings(root, layout.corpus_path(lang))
    vocab = read_strings(root, layout.vocab_path(lang))
    index = {word: i for i, word in enumerate(vocab)}
    lengths = np.zeros(len(sentences) + 1, dtype=np.int64)
    ids: list[int] = []
    for s, text in enumerate(sentences):
        words = text.split(" ") if text else []
        try:
            ids.extend(index[w] for w in words)
        except KeyError as exc:
            raise StoreError(f"{layout.corpus_path(lang)} sentence {s} holds word {exc.args[0]!r}, missing from "
                             f"{layout.vocab_path(lang)}; the store is damaged") from None
        lengths[s + 1] = len(words)
    return CorpusTokens(lang, np.cumsum(lengths), np.asarray(ids, dtype=np.int32), vocab)


def write_links(root: Any, src: str, tgt: str, links: Links, attrs: dict[str, Any]) -> None:
    """Store ``links`` under ``links/{src}-{tgt}`` (replacing what was there); ``complete`` is set last."""
    name = layout.links_path(src, tgt)
    write_artefact(root, LINKS, name, {"sentence": links.sentence, "src_pos": links.src, "tgt_pos": links.tgt},
                   {**attrs, "src": src, "tgt": tgt, "n_links": len(links)})
    log.info("stored %d links in %s", len(links), name)


def read_links(root: Any, src: str, tgt: str) -> tuple[Links, dict[str, Any]]:
    """The complete links of a language pair and their attrs."""
    stored = read_artefact(root, LINKS, layout.links_path(src, tgt), label=layout.pair_name(src, tgt))
    links = Links(stored["sentence"].astype(np.int32), stored["src_pos"].astype(np.int32),
                  stored["tgt_pos"].astype(np.int32))
    return links, stored.attrs
