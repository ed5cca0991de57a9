"""Extraction: word-level activations from any Hugging Face model into the store."""

from engine.extract.run import load_corpus, run_extraction
from engine.extract.stage import ExtractionSummary, extract_language, requested_layers

__all__ = ["ExtractionSummary", "extract_language", "load_corpus", "requested_layers", "run_extraction"]
