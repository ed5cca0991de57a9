"""The artefact layer: one writer and one reader per kind of artefact in the store, one ``complete`` rule, one
error text per artefact.

An artefact is a group holding named arrays (:class:`Artefact` lists them with their dtypes) and attrs. It
is written whole by :func:`write_artefact` — what was there removed, ``complete`` false, every array, then
``complete`` true, last — and trusted only while :func:`is_complete` holds: the group exists and its
``complete`` attr is ``True``. :func:`open_artefact` / :func:`read_artefact` refuse anything else with the
artefact's own message, and reading a damaged chunk names the array and rows (:func:`read_rows`).

Activations are written shard by shard by the extraction (``shard_done`` flags, then ``complete``); their
word tables (``words``, ``missing``) carry no flag of their own: they are trusted with their activations.
The typed wrappers (``read_links`` → ``Links``, ``read_selection`` → ``Selection``, ...) live with their
stages and read and write only through here. Paths come from :mod:`engine.store.layout`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.errors import StoreError
from engine.faults import failpoint
from engine.store import layout
from engine.store.core import WRITE_ALL_CHUNKS, checked, read_rows, remove_group

__all__ = [
    "ALIGNMENT", "ACTIVATIONS", "Artefact", "CLUSTERING", "DICTIONARY", "LINKS", "MISSING", "SELECTION", "Stored",
    "WORDS", "activation_layer", "is_complete", "open_activations", "open_artefact", "read_artefact",
    "read_words", "selected_rows", "write_artefact",
]


@dataclass(frozen=True)
class Artefact:
    """A kind of artefact: its name in messages, how to make it, and its arrays (name -> dtype, in write order).

    ``chunk_rows``: rows per stored chunk; ``failpoint``: the fault point reached after the first array is
    written (tests kill a run there: some arrays stored, ``complete`` not).
    """

    kind: str
    hint: str
    arrays: Mapping[str, str] = field(default_factory=dict)
    plural: bool = False
    chunk_rows: int = 65536
    failpoint: str | None = None

    def missing(self, name: str, label: str | None = None) -> StoreError:
        """The error for an artefact that is not in the store."""
        what = f"{self.kind} {label} ({name!r})" if label else f"{self.kind} {name!r}"
        return StoreError(f"store has no {what}; {self.hint}")

    def incomplete(self, name: str) -> StoreError:
        """The error for an artefact present but not marked complete (interrupted, or marked by a repair)."""
        return StoreError(f"{self.kind} {name!r} {'are' if self.plural else 'is'} incomplete (interrupted run?); "
                          f"{self.hint}")

    def damaged(self, name: str, why: str) -> StoreError:
        """The error for an artefact whose arrays do not fit together."""
        return StoreError(f"{self.kind} {name!r}: {why}; the store is damaged (`babelscope info STORE --check`, "
                          f"`--repair`)")


_EXTRACT_HINT = "run `babelscope extract` (or `babelscope run`)"
ACTIVATIONS = Artefact("activations", _EXTRACT_HINT, plural=True)
WORDS = Artefact("words table", _EXTRACT_HINT, {"type_id": "int32", "sentence": "int32", "position": "int32"})
MISSING = Artefact("missing-words table", _EXTRACT_HINT, {"sentence": "int32", "position": "int32"})
LINKS = Artefact("links", "run `babelscope align`", {"sentence": "int32", "src_pos": "int32", "tgt_pos": "int32"},
                 plural=True)
DICTIONARY = Artefact("dictionary", "run `babelscope align`", {"src_type": "int32", "tgt_type": "int32",
                                                                "count": "int32", "prob": "float64", "rank": "int32"})
SELECTION = Artefact("selection", "run `babelscope select`", {"rows": "int64", "type_id": "int32",
                                                               "partner_type": "int32", "partner_row": "int64"})
CLUSTERING = Artefact("clustering", "cluster again (`babelscope run`)", {"labels": "int32", "centroids": "float32"},
                      chunk_rows=1 << 20, failpoint="cluster.write")
ALIGNMENT = Artefact("concept alignment", "measure again (`babelscope run`)",
                     {"sizes": "int32", "best_target": "int32", "match_share": "float64", "aligned": "uint8",
                      "target_ptr": "int64", "targets": "int32"})


@dataclass(frozen=True)
class Stored:
    """An artefact read back: its arrays (NumPy) and attrs."""

    arrays: dict[str, np.ndarray]
    attrs: dict[str, Any]

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]


def is_complete(root: Any, name: str) -> bool:
    """The one rule: an artefact is trusted iff its group exists and its ``complete`` attr is ``True``."""
    return name in root and root[name].attrs.get("complete") is True


def open_artefact(root: Any, artefact: Artefact, name: str, label: str | None = None) -> Any:
    """The complete group ``name`` holding every array of ``artefact``; refuses anything else, naming it."""
    if name not in root:
        raise artefact.missing(name, label)
    group = root[name]
    if group.attrs.get("complete") is not True:
        raise artefact.incomplete(name)
    absent = [member for member in artefact.arrays if member not in group]
    if absent:
        raise artefact.damaged(name, f"it has no array {absent[0]!r}")
    return group


def _read_members(group: Any, artefact: Artefact, name: str, members: list[str] | None) -> dict[str, np.ndarray]:
    wanted = list(artefact.arrays) if members is None else members
    out = {}
    for member in wanted:
        if member not in group:
            raise artefact.damaged(name, f"it has no array {member!r}")
        out[member] = read_rows(group[member], slice(None))
    return out


def read_artefact(root: Any, artefact: Artefact, name: str, members: list[str] | None = None,
                  label: str | None = None) -> Stored:
    """Arrays (all of ``artefact``'s, or ``members``) and attrs of a complete artefact."""
    group = open_artefact(root, artefact, name, label)
    return Stored(_read_members(group, artefact, name, members), dict(group.attrs))


def write_artefact(root: Any, artefact: Artefact, name: str, arrays: Mapping[str, Any],
                   attrs: Mapping[str, Any]) -> None:
    """Write ``arrays`` (every array of ``artefact``, by name) and ``attrs`` at ``name``, replacing what was there;
    ``complete`` is false until every array is written, then set last."""
    if set(arrays) != set(artefact.arrays):
        raise StoreError(f"{artefact.kind} {name!r} is written with arrays {sorted(arrays)}; it holds "
                         f"{sorted(artefact.arrays)}")
    remove_group(root, name)
    group = root.require_group(name)
    group.attrs.update({**attrs, "complete": False})
    for i, (member, dtype) in enumerate(artefact.arrays.items()):
        values = np.asarray(arrays[member], dtype=dtype)
        rows = max(1, min(int(values.shape[0]), artefact.chunk_rows))
        stored = group.create_array(member, shape=values.shape, dtype=dtype, chunks=(rows, *values.shape[1:]),
                                    compressors=checked(), config=WRITE_ALL_CHUNKS)
        if values.shape[0]:
            stored[...] = values
        if i == 0 and artefact.failpoint:
            failpoint(artefact.failpoint)
    group.attrs["complete"] = True


def selected_rows(root: Any, selection: str, model: str, side: str, lang: str) -> np.ndarray:
    """The int64 activation rows [n] of a complete stored selection (its other arrays are
    ``engine.select.read_selection``'s)."""
    path = layout.selection_path(selection, model, side, lang)
    return read_artefact(root, SELECTION, path, ["rows"], label=selection)["rows"].astype(np.int64)


def open_activations(root: Any, model: str, side: str, lang: str) -> Any:
    """The complete activation group of one model × side × language."""
    return open_artefact(root, ACTIVATIONS, layout.activations_path(model, side, lang))


def activation_layer(root: Any, model: str, side: str, lang: str, layer: int) -> Any:
    """The stored float16 array [n_rows, hidden] of one layer of complete activations."""
    group = open_activations(root, model, side, lang)
    key = layout.layer_name(layer)
    if key not in group:
        raise StoreError(f"activations {layout.activations_path(model, side, lang)!r} have no {key} "
                         f"(extracted layers: {group.attrs.get('layers')})")
    return group[key]


def read_words(root: Any, model: str, side: str, lang: str, members: list[str] | None = None, *,
               table: Artefact = WORDS, resuming: bool = False) -> dict[str, np.ndarray]:
    """The ``words`` (or ``table=MISSING``) arrays of one model × side × language, int64.

    Trusted with complete activations; ``resuming`` (the extraction itself, continuing) reads them while the
    activations are still being written.
    """
    group = None if resuming else open_activations(root, model, side, lang)
    name = (layout.words_path if table is WORDS else layout.missing_path)(model, side, lang)
    if name not in root:
        raise table.damaged(name, f"the activations {layout.activations_path(model, side, lang)!r} have no "
                                  f"{table.kind}")
    arrays = _read_members(root[name], table, name, members)
    lengths = {int(values.shape[0]) for values in arrays.values()}
    if len(lengths) > 1:
        raise table.damaged(name, f"its arrays have different lengths {sorted(lengths)}")
    held = None if group is None else group.attrs.get("n_rows" if table is WORDS else "n_missing")
    if held is not None and lengths and lengths != {int(held)}:
        raise table.damaged(name, f"it has {lengths.pop()} rows where its activations have {held}")
    return {member: values.astype(np.int64) for member, values in arrays.items()}
