"""Parallel text providers (Bible, line-aligned text files) and the word tokenizer.

Providers are registered by ``corpus.source`` in :mod:`engine.corpus.load`. Every provider returns a
:class:`Corpus`: word-tokenized sentences per language, line-aligned, with a ref per pair, a JSON-able
``source`` description and ``stats``.
"""

from __future__ import annotations

from engine.corpus.bible import BIBLE_VERSION_NAMES, BIBLE_VERSIONS, BOOK_ABBREVIATIONS, load_bible
from engine.corpus.load import SOURCES, load_corpus
from engine.corpus.textfiles import load_text_files
from engine.corpus.types import Corpus
from engine.corpus.wordtok import WORD_TOKENIZER, word_tokenize

__all__ = [
    "BIBLE_VERSIONS",
    "BIBLE_VERSION_NAMES",
    "BOOK_ABBREVIATIONS",
    "Corpus",
    "SOURCES",
    "WORD_TOKENIZER",
    "load_bible",
    "load_corpus",
    "load_text_files",
    "word_tokenize",
]
