"""Bilingual dictionaries (word -> translations with probabilities), shared by alignment and CALIGN."""

from engine.dictionary.build import build_dictionary, dictionary_from_links
from engine.dictionary.freedict import read_freedict
from engine.dictionary.io import read_reference, read_tsv, write_reference
from engine.dictionary.store import read_store_dictionary, write_store_dictionary
from engine.dictionary.types import Dictionary

__all__ = [
    "Dictionary",
    "build_dictionary",
    "dictionary_from_links",
    "read_freedict",
    "read_reference",
    "read_store_dictionary",
    "read_tsv",
    "write_reference",
    "write_store_dictionary",
]
