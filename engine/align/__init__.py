"""Word alignment: eflomal runs, symmetrisation, Pharaoh files, gold-standard scores, links in the store.

The stage (``run_align``, ``align_pair``) is loaded on first use, so importing the link tools stays light.
"""

from __future__ import annotations

from typing import Any

from engine.align.eflomal_backend import EflomalOptions, eflomal_available, run_eflomal
from engine.align.links import Links, format_pharaoh, parse_pharaoh, read_pharaoh, write_pharaoh
from engine.align.quality import AlignmentQuality, alignment_quality
from engine.align.store import CorpusTokens, corpus_tokens, read_links, write_links
from engine.align.symmetrize import SYMMETRIZATIONS, grow_diag_final_and_pairs, symmetrize

__all__ = [
    "AlignSummary",
    "AlignmentQuality",
    "CorpusTokens",
    "EflomalOptions",
    "Links",
    "SYMMETRIZATIONS",
    "align_pair",
    "alignment_quality",
    "corpus_tokens",
    "eflomal_available",
    "format_pharaoh",
    "grow_diag_final_and_pairs",
    "parse_pharaoh",
    "read_links",
    "read_pharaoh",
    "run_align",
    "run_eflomal",
    "symmetrize",
    "write_links",
    "write_pharaoh",
]

_STAGE = ("AlignSummary", "align_pair", "run_align")


def __getattr__(name: str) -> Any:
    if name in _STAGE:
        from engine.align import stage

        return getattr(stage, name)
    raise AttributeError(f"module 'engine.align' has no attribute {name!r}")
