"""Token selection: which stored rows enter a clustering (COLAP and CALIGN sets, design §4).

Selections are row indices into the stored activations (plus word type and link partner), never copies
of vectors. The stage (``run_select``) is loaded on first use.
"""

from __future__ import annotations

from typing import Any

from engine.select.core import (
    calign_links,
    capped,
    check_enough_points,
    colap_rows,
    frequency_mask,
    keep_sentences,
)
from engine.select.store import COLAP, Selection, calign_name, read_selection, write_selection

__all__ = [
    "COLAP",
    "SelectSummary",
    "Selection",
    "calign_links",
    "calign_name",
    "capped",
    "check_enough_points",
    "colap_rows",
    "frequency_mask",
    "keep_sentences",
    "read_selection",
    "run_select",
    "select_calign",
    "select_colap",
    "word_rows",
    "write_selection",
]

_STAGE = ("SelectSummary", "run_select", "select_calign", "select_colap", "word_rows")


def __getattr__(name: str) -> Any:
    if name in _STAGE:
        from engine.select import stage

        return getattr(stage, name)
    raise AttributeError(f"module 'engine.select' has no attribute {name!r}")
