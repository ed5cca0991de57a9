"""Bilingual dictionaries (word -> translations with probabilities), shared by alignment and CALIGN."""

from engine.dictionary.types import Dictionary

__all__ = ["Dictionary"]
