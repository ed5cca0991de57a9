"""CALIGN's per-cluster alignment in the store (``layout.alignment_path``), for the concept browser.

One group per direction of a measured pair: ``sizes`` (types per source cluster), ``best_target`` (the
admissible target cluster with the most matches, -1 for none), ``match_share`` and ``aligned``, each [K];
and every aligned target, CSR-style: source cluster i's are ``targets[target_ptr[i]:target_ptr[i + 1]]``
(``target_ptr`` int64 [K+1], ``targets`` int32, ascending per source).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.metrics.calign import CalignDirection
from engine.store import layout
from engine.store.artefacts import ALIGNMENT, is_complete, read_artefact, write_artefact

__all__ = ["ClusterAlignment", "StoredAlignment", "alignment_stored", "read_alignment", "write_alignment"]

DIRECTIONS = ("forward", "backward")


@dataclass(frozen=True)
class ClusterAlignment:
    """One direction's alignment, per source cluster: sizes int [K], best_target int [K] (-1: none),
    match_share float [K], aligned bool [K], and every aligned target (the fields the concept browser shows of
    a CalignDirection)."""

    sizes: np.ndarray
    best_target: np.ndarray
    match_share: np.ndarray
    aligned: np.ndarray
    target_ptr: np.ndarray
    targets: np.ndarray

    def target_lists(self) -> list[list[int]]:
        """The aligned target clusters of every source cluster (ascending; empty: not aligned)."""
        ptr = self.target_ptr
        return [self.targets[ptr[i]:ptr[i + 1]].tolist() for i in range(ptr.shape[0] - 1)]


@dataclass(frozen=True)
class StoredAlignment:
    """Both directions of a pair's CALIGN as stored (``backward`` None when only one direction ran)."""

    forward: ClusterAlignment
    backward: ClusterAlignment | None


def _paths(model: str, side: str, layer: int, selection: str, k: int) -> dict[str, str]:
    return {d: layout.alignment_path(model, side, layer, selection, k, d) for d in DIRECTIONS}


def write_alignment(root: Any, directions: dict[str, CalignDirection | None], *, model: str, side: str, layer: int,
                    selection: str, k: int, attrs: dict[str, Any]) -> None:
    """Store each direction of a CALIGN result (a direction that did not run is removed)."""
    for direction, path in _paths(model, side, layer, selection, k).items():
        d = directions.get(direction)
        if d is None:
            if path in root:
                del root[path]
            continue
        ptr = np.zeros(d.sizes.shape[0] + 1, dtype=np.int64)
        ptr[1:] = np.cumsum(np.bincount(d.targets[0], minlength=d.sizes.shape[0]))
        write_artefact(root, ALIGNMENT, path, {"sizes": d.sizes, "best_target": d.best_target,
                                               "match_share": d.match_share, "aligned": d.aligned,
                                               "target_ptr": ptr, "targets": d.targets[1]},
                       {**attrs, "direction": direction})


def alignment_stored(root: Any, *, model: str, side: str, layer: int, selection: str, k: int) -> bool:
    """Whether the forward direction (at least) is complete in the store, with every aligned target (an
    alignment stored before they were kept is measured again)."""
    path = _paths(model, side, layer, selection, k)["forward"]
    return is_complete(root, path) and "targets" in root[path]


def read_alignment(root: Any, *, model: str, side: str, layer: int, selection: str, k: int) -> StoredAlignment:
    """Both directions of a stored alignment (the backward one may be absent)."""
    found: dict[str, ClusterAlignment | None] = {}
    for direction, path in _paths(model, side, layer, selection, k).items():
        if direction == "backward" and path not in root:
            found[direction] = None
            continue
        stored = read_artefact(root, ALIGNMENT, path)
        found[direction] = ClusterAlignment(stored["sizes"].astype(np.int64), stored["best_target"].astype(np.int64),
                                            stored["match_share"], stored["aligned"].astype(bool),
                                            stored["target_ptr"].astype(np.int64), stored["targets"].astype(np.int64))
    return StoredAlignment(found["forward"], found["backward"])
