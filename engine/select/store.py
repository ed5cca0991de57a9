"""Selections in the store: ``selections/{name}/{model}/{side}/{lang}/{rows,type_id,partner_type,partner_row}``.

``rows`` (int64) index the rows of ``activations/{model}/{side}/{lang}`` — vectors are never copied;
``type_id`` (int32) is the row's word type in ``vocab/{lang}``; ``partner_type`` (int32) and ``partner_row``
(int64) name the linked word on the other side (CALIGN), -1 where the row is not linked (COLAP). In the
reference-compatible CALIGN mode row i of the source and row i of the target selection are the two ends of
one link. Attrs: kind, lang, side, model, partner_lang, partner_side, params, stats, ``complete`` (last).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.errors import InputDataError
from engine.select.core import check_enough_points
from engine.store import layout
from engine.store.artefacts import SELECTION, read_artefact, write_artefact

__all__ = ["COLAP", "Selection", "calign_name", "read_selection", "write_selection"]

COLAP = layout.COLAP_SELECTION
calign_name = layout.calign_selection  # the names are the layout's (selections/{name}/...)


@dataclass(frozen=True)
class Selection:
    """Selected rows of one model × side × language.

    rows:         int64 [n]  row indices into the activations
    type_id:      int32 [n]  word type of each row
    partner_type: int32 [n]  linked word's type in the partner language, -1 if none
    partner_row:  int64 [n]  linked word's row in the partner's activations, -1 if none
    """

    rows: np.ndarray
    type_id: np.ndarray
    partner_type: np.ndarray
    partner_row: np.ndarray
    attrs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.rows)
        for name in ("type_id", "partner_type", "partner_row"):
            if len(getattr(self, name)) != n:
                raise InputDataError(f"{name} of Selection must have one entry per row ({n}); "
                                     f"got {len(getattr(self, name))}")

    def __len__(self) -> int:
        return int(self.rows.shape[0])

    @property
    def n_types(self) -> int:
        """Distinct word types among the rows."""
        return int(np.unique(self.type_id).shape[0])

    def check_k(self, k: int, where: str | None = None) -> None:
        """Raise when ``k`` clusters are asked of fewer points (see :func:`check_enough_points`)."""
        label = where or f"selection {self.attrs.get('name')} {self.attrs.get('model')}/{self.attrs.get('side')}/" \
                         f"{self.attrs.get('lang')}"
        check_enough_points(len(self), k, label)


def write_selection(root: Any, name: str, model: str, side: str, lang: str, selection: Selection) -> None:
    """Store ``selection`` (replacing what was there); ``complete`` is set last."""
    write_artefact(root, SELECTION, layout.selection_path(name, model, side, lang),
                   {"rows": selection.rows, "type_id": selection.type_id, "partner_type": selection.partner_type,
                    "partner_row": selection.partner_row},
                   {**selection.attrs, "name": name, "model": model, "side": side, "lang": lang,
                    "n_rows": len(selection), "n_types": selection.n_types})


def read_selection(root: Any, name: str, model: str, side: str, lang: str) -> Selection:
    """A complete stored selection."""
    stored = read_artefact(root, SELECTION, layout.selection_path(name, model, side, lang), label=name)
    return Selection(*(stored[member].astype(dtype) for member, dtype in SELECTION.arrays.items()),
                     dict(stored.attrs))
