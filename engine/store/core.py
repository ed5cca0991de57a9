"""Opening, initialising and inspecting a Zarr v3 store of word activations.

Artefacts (groups with a ``complete`` attr) are read and written through :mod:`engine.store.artefacts`.
"""

from __future__ import annotations

import json
import logging
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine import __version__
from engine.errors import StoreError
from engine.store import layout

if TYPE_CHECKING:
    import zarr

    from engine.corpus import Corpus

log = logging.getLogger(__name__)


def _zarr():
    import zarr

    return zarr


def open_store(path: str | Path, mode: str = "r") -> zarr.Group:
    """Open an existing babelscope store (``mode`` ``r`` or ``r+``), checking its format."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise StoreError(f"store {str(path)!r} is a file, not a folder; a store is a folder with a zarr.json")
    if not (path / "zarr.json").is_file():
        raise StoreError(f"store {str(path)!r} does not exist (no zarr.json)")
    root = _zarr().open_group(str(path), mode=mode)
    fmt = root.attrs.get("format")
    if fmt != layout.STORE_FORMAT:
        raise StoreError(f"{str(path)!r} is a Zarr group but not a babelscope store (format={fmt!r})")
    version = root.attrs.get("format_version")
    if version != layout.FORMAT_VERSION:
        raise StoreError(
            f"store {str(path)!r} has format_version={version!r}; this engine reads {layout.FORMAT_VERSION}"
        )
    return root


def build_vocab(sentences: list[list[str]]) -> tuple[list[str], dict[str, int]]:
    """Word types in first-seen corpus order, and the word -> type_id map."""
    index: dict[str, int] = {}
    for words in sentences:
        for word in words:
            if word not in index:
                index[word] = len(index)
    return list(index), index


def checked(compressors: Any = None) -> list[Any]:
    """``compressors`` followed by a crc32c checksum of every chunk, so damage is found on read."""
    from zarr.codecs import Crc32cCodec

    if compressors is None:
        return [Crc32cCodec()]
    head = list(compressors) if isinstance(compressors, list | tuple) else [compressors]
    return [*head, Crc32cCodec()]


#: every chunk is stored even when it equals the fill value: a chunk file that is absent is then damage
WRITE_ALL_CHUNKS = {"write_empty_chunks": True}


def _write_strings(root: zarr.Group, name: str, values: list[str]) -> None:
    data = np.array(values, dtype=str) if values else np.array([], dtype=str)
    chunk = max(1, min(len(values), 65536))
    array = root.create_array(name, shape=(len(values),), dtype=str, chunks=(chunk,), overwrite=True,
                              compressors=checked(), config=WRITE_ALL_CHUNKS)
    if values:
        array[:] = data


def _same_corpus(path: Path, corpus_hash: str) -> bool:
    try:
        return open_store(path).attrs.get("corpus_hash") == corpus_hash
    except StoreError:
        return False


def init_store(path: str | Path, corpus: Corpus, *, overwrite: bool = False) -> zarr.Group:
    """Create (or re-open) a store for ``corpus``: corpus text, refs and vocabularies.

    Re-opening a store made from the same corpus is a no-op; a store of another corpus (or a folder that is
    not a babelscope store) is refused unless ``overwrite``, which then removes it first.
    """
    path = Path(path)
    corpus_hash = corpus.content_hash()
    if path.exists() and overwrite and not _same_corpus(path, corpus_hash):
        log.info("removing store %s (overwrite: it holds another corpus or is not a babelscope store)", path)
        shutil.rmtree(path)
    if path.exists():
        if not (path / "zarr.json").is_file():
            if any(path.iterdir()):
                raise StoreError(f"{str(path)!r} exists but is not a Zarr store; use --overwrite or another path")
        else:
            root = open_store(path, mode="r+")
            held = root.attrs.get("corpus_hash")
            if held != corpus_hash:
                raise StoreError(
                    f"store {str(path)!r} was written for another corpus (corpus_hash {held} != {corpus_hash}, "
                    f"source {root.attrs.get('corpus_source')}); use --overwrite or another store path"
                )
            if root.attrs.get("corpus_complete"):
                return root
            log.info("store %s: corpus section incomplete, rewriting it", path)
    zarr = _zarr()
    root = zarr.open_group(str(path), mode="a")
    root.attrs.update(
        {
            "format": layout.STORE_FORMAT,
            "format_version": layout.FORMAT_VERSION,
            "engine_version": __version__,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "corpus_hash": corpus_hash,
            "corpus_source": corpus.source,
            "corpus_stats": corpus.stats,
            "languages": list(corpus.languages),
            "n_sentences": corpus.n_sentences(),
            "corpus_complete": False,
        }
    )
    _write_strings(root, layout.REFS_PATH, list(corpus.refs))
    for lang in corpus.languages:
        sentences = corpus.words(lang)
        _write_strings(root, layout.corpus_path(lang), [" ".join(words) for words in sentences])
        vocab, _ = build_vocab(sentences)
        _write_strings(root, layout.vocab_path(lang), vocab)
    root.attrs["corpus_complete"] = True
    log.info("store %s initialised: %d sentences, languages %s", path, corpus.n_sentences(), corpus.languages)
    return root


def remove_group(root: zarr.Group, name: str) -> None:
    """Delete a group or array (and its files) if present."""
    if name in root:
        del root[name]


def read_strings(root: zarr.Group, name: str) -> list[str]:
    """A stored string array as a Python list."""
    if name not in root:
        raise StoreError(f"store has no array {name!r}")
    return [str(v) for v in root[name][:]]


def read_sentences(root: zarr.Group, lang: str) -> list[list[str]]:
    """The store's word-tokenized sentences of ``lang`` (the corpus section is the run's one copy of the text)."""
    if not root.attrs.get("corpus_complete"):
        raise StoreError("the store's corpus section is incomplete; re-run extract or align to rewrite it")
    return [text.split(" ") if text else [] for text in read_strings(root, layout.corpus_path(lang))]


def write_array_1d(group: Any, name: str, values: np.ndarray, dtype: str) -> None:
    """Write a 1-D array (chunks of at most 65,536 rows), replacing any previous one."""
    values = np.asarray(values, dtype=dtype)
    chunk = max(1, min(int(values.shape[0]), 65536))
    array = group.create_array(name, shape=values.shape, dtype=dtype, chunks=(chunk,), overwrite=True,
                               compressors=checked(), config=WRITE_ALL_CHUNKS)
    if values.shape[0]:
        array[:] = values


def read_rows(array: Any, rows: Any, *, points: bool = False) -> np.ndarray:
    """``array[rows]`` (``points``: an orthogonal pick of row indices) from a Zarr array, naming the array and
    rows when a chunk is unreadable (checksum, truncated file) or missing (it reads back as NaN)."""
    try:
        values = np.asarray(array.oindex[rows, :] if points else array[rows])
    except Exception as exc:  # zarr raises ValueError (checksum) or codec/decode errors
        raise StoreError(f"array {array.path!r} is damaged where rows {_span(rows)} are read ({exc}); "
                         f"`babelscope info STORE --check` names the chunks, `--repair` recomputes them") from exc
    if values.dtype.kind == "f" and np.isnan(values).any():
        bad = np.flatnonzero(np.isnan(values).reshape(len(values), -1).any(axis=1))
        raise StoreError(f"array {array.path!r} holds NaN in {len(bad)} of the rows {_span(rows)} read (a missing "
                         f"chunk?); `babelscope info STORE --check` names the chunks, `--repair` recomputes them")
    return values


def _span(rows: Any) -> str:
    if isinstance(rows, slice):
        return f"{rows.start or 0}:{'end' if rows.stop is None else rows.stop}"
    rows = np.asarray(rows)
    return f"{int(rows.min())}..{int(rows.max())}" if rows.size else "(none)"


#: per artefact section, the attrs that ``info`` shows of each artefact
_ARTEFACT_FIELDS = {
    layout.LINKS: ("n_links", "method"),
    layout.DICTIONARIES: ("n_entries",),
    layout.SELECTIONS: ("n_rows", "n_types"),
    layout.CLUSTERS: ("K", "n", "inertia", "n_iter", "backend", "device"),
    layout.ALIGNMENTS: ("k", "direction"),
}


def _artefacts_on_disk(path: Path) -> dict[str, list[dict[str, Any]]]:
    """Every artefact group (one carrying ``complete``) of the sections after extraction, read from the
    zarr.json files directly: ``{section: [{"path", "complete", ...fields}]}``; an unreadable one is listed."""
    out: dict[str, list[dict[str, Any]]] = {section: [] for section in _ARTEFACT_FIELDS}
    for section, fields in _ARTEFACT_FIELDS.items():
        for meta in sorted((path / section).rglob("zarr.json")) if (path / section).is_dir() else []:
            rel = meta.parent.relative_to(path).as_posix()
            try:
                node = json.loads(meta.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                out[section].append({"path": rel, "complete": False, "unreadable": True})
                continue
            attrs = node.get("attributes") or {}
            if node.get("node_type") == "group" and "complete" in attrs:
                out[section].append({"path": rel, "complete": bool(attrs["complete"]),
                                     **{f: attrs.get(f) for f in fields if f in attrs}})
    return out


def store_info(path: str | Path) -> dict[str, Any]:
    """What a store holds: corpus, vocabularies, each activation group with its completeness, and the links,
    dictionaries, selections, clusterings and metric alignments (each with ``complete``)."""
    root = open_store(path)
    attrs = dict(root.attrs)
    languages = attrs.get("languages", [])
    info: dict[str, Any] = {
        "path": str(path),
        "engine_version": attrs.get("engine_version"),
        "corpus_hash": attrs.get("corpus_hash"),
        "corpus_source": attrs.get("corpus_source"),
        "n_sentences": attrs.get("n_sentences"),
        "languages": languages,
        "vocab_sizes": {
            lang: int(root[layout.vocab_path(lang)].shape[0]) for lang in languages if layout.vocab_path(lang) in root
        },
        "activations": [],
    }
    info.update(_artefacts_on_disk(Path(path)))
    if layout.ACTIVATIONS not in root:
        return info
    for model_name, model_group in sorted(root[layout.ACTIVATIONS].groups()):
        for side, side_group in sorted(model_group.groups()):
            for lang, group in sorted(side_group.groups()):
                gattrs = dict(group.attrs)
                done = group[layout.SHARD_DONE][:] if layout.SHARD_DONE in group else np.zeros(0, np.uint8)
                info["activations"].append(
                    {
                        "model": model_name,
                        "side": side,
                        "lang": lang,
                        "layers": gattrs.get("layers", []),
                        "n_rows": gattrs.get("n_rows"),
                        "hidden": gattrs.get("hidden_size"),
                        "n_missing": gattrs.get("n_missing"),
                        "aggregation": gattrs.get("aggregation"),
                        "compute_dtype": gattrs.get("compute_dtype"),
                        "complete": bool(gattrs.get("complete", False)),
                        "shards_done": int(done.sum()),
                        "shards": int(done.shape[0]),
                    }
                )
    return info
