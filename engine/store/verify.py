"""Checking a store chunk by chunk, and repairing it by marking only the damaged work for recomputation.

``check_store`` reads every stored object (a chunk, or a shard of a sharded array) of every array and
reports each that is missing, unreadable, fails its crc32c checksum, or (activations) holds NaN rows
where a shard is flagged written. ``repair_store`` then un-flags exactly the damaged extraction shards
(or, for damaged row metadata, clears that one extraction group), and marks damaged alignments,
selections and clusterings incomplete, so the next ``babelscope run`` / ``extract`` recomputes those and
nothing else.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np

from engine.files import remove_write_debris
from engine.store import layout
from engine.store.core import open_store

log = logging.getLogger(__name__)

__all__ = ["Damage", "check_store", "repair_store"]


@dataclass(frozen=True)
class Damage:
    """One damaged stored object: ``array`` path in the store, the object's grid coordinates ``chunk`` (None
    for a node whose metadata is unreadable), the ``rows`` it covers, what is wrong, and whether the object is
    a ``chunk`` or (sharded arrays) a ``shard`` file."""

    array: str
    chunk: tuple[int, ...] | None
    rows: tuple[int, int] | None
    reason: str
    unit: str = "chunk"

    def describe(self) -> str:
        where = "" if self.chunk is None else f" {self.unit} {self.chunk}"
        rows = "" if self.rows is None else f" (rows {self.rows[0]}:{self.rows[1]})"
        return f"{self.array}{where}{rows}: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _nodes(path: Path) -> tuple[list[str], list[Damage]]:
    """Array paths under the store, found on disk so an unreadable ``zarr.json`` is reported, not fatal."""
    arrays, damage = [], []
    for meta in sorted(path.rglob("zarr.json")):
        rel = meta.parent.relative_to(path).as_posix()
        if rel == ".":
            continue
        try:
            node = json.loads(meta.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            damage.append(Damage(rel, None, None, f"unreadable metadata zarr.json ({exc})"))
            continue
        if node.get("node_type") == "array":
            arrays.append(rel)
    return arrays, damage


def _flags(root: Any, name: str) -> tuple[np.ndarray, int, bool] | None:
    """For an activation layer array: its group's shard_done flags, extraction shard rows, completeness."""
    if layout.section(name) != layout.ACTIVATIONS or not layout.is_layer_name(name.rsplit("/", 1)[-1]):
        return None
    group = root[name.rsplit("/", 1)[0]]
    if layout.SHARD_DONE not in group:
        return None
    done = group[layout.SHARD_DONE]
    return np.asarray(done[:]).astype(bool), int(done.attrs.get("shard_rows") or 1), bool(group.attrs.get("complete"))


def _check_array(root: Any, path: Path, name: str) -> list[Damage]:
    array = root[name]
    shape = tuple(int(n) for n in array.shape)
    # a missing done flag only means "recompute"
    if not shape or 0 in shape or name.rsplit("/", 1)[-1] == layout.SHARD_DONE:
        return []
    sharded = getattr(array, "shards", None) is not None
    block = tuple(int(n) for n in (array.shards if sharded else array.chunks))
    unit = "shard" if sharded else "chunk"
    flags = _flags(root, name)
    owner = _owner(root, name)
    if flags is None and owner in root and root[owner].attrs.get("complete") is False:
        return []  # not trusted by any reader, and recomputed by the next run anyway
    out = []
    for coords in product(*(range(-(-n // b)) for n, b in zip(shape, block, strict=True))):
        region = tuple(slice(c * b, min(n, (c + 1) * b)) for c, b, n in zip(coords, block, shape, strict=True))
        rows = (region[0].start, region[0].stop)
        needed = True
        if flags is not None:
            done, shard_rows, complete = flags
            needed = complete or bool(done[rows[0] // shard_rows:-(-rows[1] // shard_rows)].any())
        if not needed:  # a shard marked for recomputation: no reader trusts it, the next run rewrites it
            continue
        key = array.metadata.encode_chunk_key(coords)
        if not (path / name / key).is_file():
            out.append(Damage(name, coords, rows, f"missing {unit} file {key!r}", unit))
            continue
        try:
            values = array[region]
        except Exception as exc:  # zarr raises ValueError (checksum), codec or decode errors
            out.append(Damage(name, coords, rows, f"unreadable {unit} {key!r} ({type(exc).__name__}: {exc})", unit))
            continue
        if flags is not None and np.isnan(values).any():
            out.append(Damage(name, coords, rows, "NaN rows where the shard is flagged written", unit))
    return out


def unreadable_metadata(path: str | Path) -> list[Damage]:
    """The nodes of the store at ``path`` whose ``zarr.json`` does not parse (no chunk is read)."""
    return _nodes(Path(path))[1]


def check_store(path: str | Path, *, progress: bool = False) -> list[Damage]:
    """Every damaged object of the store at ``path`` that a reader would trust (empty list: it reads back
    whole). Artefacts marked incomplete are not checked: no reader uses them and the next run redoes them;
    of an incomplete extraction, the shards flagged written are checked."""
    from tqdm.auto import tqdm

    path = Path(path)
    root = open_store(path)
    arrays, damage = _nodes(path)
    for name in tqdm(arrays, desc="check", unit="array", disable=not progress):
        try:
            damage += _check_array(root, path, name)
        except Exception as exc:  # an array whose metadata parses but does not open
            damage.append(Damage(name, None, None, f"cannot open array ({type(exc).__name__}: {exc})"))
    for item in damage:
        log.debug("store %s: %s", path, item.describe())
    if damage:
        log.warning("store %s: %d damaged object(s), first: %s", path, len(damage), damage[0].describe())
    return damage


def _incomplete(root: Any, name: str) -> bool:
    if name in root and root[name].attrs.get("complete"):
        root[name].attrs["complete"] = False
        return True
    return False


def _artefacts(root: Any, prefix: str) -> list[str]:
    """Groups under ``prefix`` that carry a ``complete`` attr."""
    if prefix not in root:
        return []
    return [f"{prefix}/{sub}" for sub, node in root[prefix].members(max_depth=None) if "complete" in node.attrs]


def _owner(root: Any, name: str) -> str:
    """The artefact group (the one carrying ``complete``) that owns ``name``."""
    parts = name.split("/")
    for n in range(len(parts) - 1, 0, -1):
        group = "/".join(parts[:n])
        if group in root and "complete" in root[group].attrs:
            return group
    return parts[0]


def _repair_one(root: Any, item: Damage, actions: list[str]) -> None:
    top = layout.section(item.array)
    if top in (layout.CORPUS, layout.VOCAB):
        root.attrs["corpus_complete"] = False
        actions.append(f"{item.array}: corpus section marked for rewriting")
        return
    if top in (layout.WORDS, layout.MISSING):  # the row plan of an extraction: that whole group is redone
        rest = layout.extraction_of(item.array)
        for prefix in layout.EXTRACTION_SECTIONS:
            if layout.extraction_group(prefix, rest) in root:
                del root[layout.extraction_group(prefix, rest)]
        actions.append(f"{item.array}: extraction {rest} removed (its row plan is damaged); it is redone whole")
        return
    if item.array not in root:  # removed with its extraction group above
        return
    flags = _flags(root, item.array)
    if flags is not None and item.rows is not None:
        group = root[item.array.rsplit("/", 1)[0]]
        shard_rows = flags[1]
        shards = list(range(item.rows[0] // shard_rows, -(-item.rows[1] // shard_rows)))
        for shard in shards:
            group[layout.SHARD_DONE][shard] = 0
        group.attrs["complete"] = False
        actions.append(f"{item.array}: extraction shards {shards} marked for recomputation")
        return
    owner = _owner(root, item.array)
    _incomplete(root, owner)
    actions.append(f"{item.array}: {owner} marked incomplete")
    if top in (layout.LINKS, layout.DICTIONARIES):  # the pair is re-aligned: what was selected from its links too
        pair = layout.pair_of(owner)
        src, _, tgt = pair.partition("-")
        for other in (layout.links_path(src, tgt), layout.dictionary_path(src, tgt)):
            _incomplete(root, other)
        names = layout.calign_selections_of_pair(pair)
        for name in sorted(names):
            for sub in _artefacts(root, f"{layout.SELECTIONS}/{name}"):
                if _incomplete(root, sub):
                    actions.append(f"{sub}: marked incomplete (selected from the links of {pair})")
        for section, what in ((layout.CLUSTERS, "clusters"), (layout.ALIGNMENTS, "aligns")):
            for sub in _artefacts(root, section):
                if names & set(sub.split("/")) and _incomplete(root, sub):
                    actions.append(f"{sub}: marked incomplete ({what} a selection of {pair})")


def _repair_metadata(path: Path, root: Any, item: Damage, actions: list[str]) -> None:
    """A node whose zarr.json does not parse: its folder is removed and what owns it marked for recomputation
    (an extraction's arrays: that extraction is redone whole)."""
    import shutil

    top = layout.section(item.array)
    if top in (layout.CORPUS, layout.VOCAB):
        shutil.rmtree(path / item.array)
        root.attrs["corpus_complete"] = False
        actions.append(f"{item.array}: unreadable metadata, removed; corpus section marked for rewriting")
        return
    if top in layout.EXTRACTION_SECTIONS and item.array.count("/") >= 3:
        rest = layout.extraction_of(item.array)
        for prefix in layout.EXTRACTION_SECTIONS:
            shutil.rmtree(path / layout.extraction_group(prefix, rest), ignore_errors=True)
        actions.append(f"{item.array}: unreadable metadata; extraction {rest} removed, it is redone whole")
        return
    owner = _owner(root, item.array)
    shutil.rmtree(path / item.array)
    if owner != item.array:
        _incomplete(root, owner)
        actions.append(f"{item.array}: unreadable metadata, removed; {owner} marked incomplete")
    else:
        actions.append(f"{item.array}: unreadable metadata, removed; the next run writes it again")


def repair_store(path: str | Path, damage: list[Damage] | None = None) -> list[str]:
    """Mark what ``damage`` (default: a fresh :func:`check_store`) touches for recomputation; returns the
    actions taken, one line each. Re-run ``babelscope run`` (or ``extract``) afterwards."""
    path = Path(path)
    damage = check_store(path) if damage is None else damage
    root = open_store(path, mode="r+")
    actions: list[str] = []
    if removed := remove_write_debris(path):
        actions.append(f"removed {removed} temporary file(s) left by an interrupted write")
    unreadable = [d for d in damage if d.chunk is None and d.reason.startswith("unreadable metadata")]
    for item in unreadable:
        if (path / item.array).exists():
            _repair_metadata(path, root, item, actions)
    for item in damage:
        if item not in unreadable and (path / item.array).exists():
            _repair_one(root, item, actions)
    for line in actions:
        log.info("repair %s: %s", path, line)
    return actions
