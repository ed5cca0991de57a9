"""Subword tokens of pre-split words: the model input of a sentence and the word each token belongs to.

Two ways, chosen once per tokenizer by a probe (the choice is logged and recorded with the extraction):

* ``words`` — ``tokenizer(words, is_split_into_words=True)`` and its ``word_ids()``. Right for tokenizers
  that split on whitespace themselves and mark every word alike (WordPiece; SentencePiece with a word-start
  mark on every word, as XLM-R and mT5), where it gives exactly the tokens of the sentence as text. This is
  how the reference extraction maps subwords to words.
* ``text`` — the sentence as text (its words joined by single spaces) with the tokenizer's offset mapping;
  each token goes to the word its characters belong to (a token of spaces only, to the word after it). Right
  for byte-level BPE (GPT-2, Llama 3, Qwen: a space is part of the next word's first token) and for
  SentencePiece models that mark only the start of the text (Llama 2, Gemma), where encoding words one by
  one would drop the space before each word and give tokens the model never sees in running text.

The probe encodes a few sentences both ways and takes ``words`` when the ids agree, else ``text``. Special
tokens (a BOS that causal models always add, ``[CLS]``, ``</s>``) belong to no word either way.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any

import numpy as np

from engine.corpus.wordtok import is_invisible_word

log = logging.getLogger(__name__)

__all__ = ["MODES", "encode_words", "word_mode"]

MODES = ("words", "text")
_PROBES = (
    ["In", "the", "beginning", "God", "created", "the", "heaven", "and", "the", "earth", "."],
    ["Im", "Anfang", "schuf", "Gott", "Himmel", "und", "Erde", ",", "sprach", "er", ":", "«", "Licht", "»"],
    ["في", "البدء", "خلق", "الله", "السموات", "والأرض"],
)
_MODE_OF: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def word_mode(tokenizer: Any) -> str:
    """``words`` or ``text`` for ``tokenizer`` (probed once, then remembered; see the module)."""
    try:
        return _MODE_OF[tokenizer]
    except (KeyError, TypeError):
        pass
    split = tokenizer(list(_PROBES), is_split_into_words=True, add_special_tokens=True)["input_ids"]
    joined = tokenizer([" ".join(words) for words in _PROBES], add_special_tokens=True)["input_ids"]
    mode = "words" if [list(x) for x in split] == [list(x) for x in joined] else "text"
    log.info("%s: subwords mapped to words by %s", type(tokenizer).__name__,
             "word_ids() of the words (the tokens equal the text's)" if mode == "words" else
             "character offsets in the sentence's text (encoding words one by one would change its tokens)")
    try:
        _MODE_OF[tokenizer] = mode
    except TypeError:  # not weak-referenceable: probed each time
        pass
    return mode


def _token_words_from_offsets(words: list[str], offsets: np.ndarray, special: np.ndarray) -> np.ndarray:
    """Word position of each token [n_tokens] (-1: special or outside every word) from its character span in
    ``" ".join(words)``."""
    lengths = np.fromiter((len(w) for w in words), np.int64, len(words))
    starts = np.concatenate([[0], np.cumsum(lengths + 1)[:-1]]).astype(np.int64)
    size = int(starts[-1] + lengths[-1]) if len(words) else 0
    char_word = np.full(size + 1, -1, dtype=np.int64)
    for position, (start, length) in enumerate(zip(starts.tolist(), lengths.tolist(), strict=True)):
        char_word[start:start + length] = position
    out = np.full(len(offsets), -1, dtype=np.int32)
    for t, (lo, hi) in enumerate(offsets.tolist()):
        if special[t] or hi <= lo:
            continue
        inside = char_word[lo:hi]
        inside = inside[inside >= 0]
        if len(inside):
            out[t] = inside[-1]  # a token over two words (rare) goes to the later one
        else:  # spaces only: the start of the next word
            following = int(np.searchsorted(starts, lo, side="left"))
            out[t] = following if following < len(words) else -1
    return out


def encode_words(tokenizer: Any, batch: list[list[str]]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(input_ids int64 [n_tokens], token_word int32 [n_tokens]) per sentence of ``batch``, special tokens
    included (word -1), words made only of invisible characters given no token."""
    if not batch:
        return []
    if word_mode(tokenizer) == "words":
        encoded = tokenizer(batch, is_split_into_words=True, add_special_tokens=True, truncation=False,
                            return_attention_mask=False)
        pairs = [(ids, np.array([-1 if w is None else w for w in encoded.word_ids(i)], dtype=np.int32))
                 for i, ids in enumerate(encoded["input_ids"])]
    else:
        encoded = tokenizer([" ".join(words) for words in batch], add_special_tokens=True, truncation=False,
                            return_attention_mask=False, return_offsets_mapping=True,
                            return_special_tokens_mask=True)
        pairs = [(ids, _token_words_from_offsets(words, np.asarray(encoded["offset_mapping"][i], dtype=np.int64)
                                                 .reshape(-1, 2), np.asarray(encoded["special_tokens_mask"][i])))
                 for i, (ids, words) in enumerate(zip(encoded["input_ids"], batch, strict=True))]
    out = []
    for (ids, token_word), words in zip(pairs, batch, strict=True):
        invisible = [w for w, word in enumerate(words) if is_invisible_word(word)]
        if invisible:  # e.g. a lone zero-width joiner, which a SentencePiece tokenizer turns into a bare "▁"
            token_word[np.isin(token_word, invisible)] = -1
        out.append((np.asarray(ids, dtype=np.int64), token_word))
    return out
