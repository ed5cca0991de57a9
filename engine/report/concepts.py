"""Rows of the ``concepts`` table (the concept browser's data) from a store's clusterings and CALIGN results.

A concept is a cluster of one space: its top words (word types by token count), example sentences where
those words occur, and, for a language space, the cluster of the other language that CALIGN matched it to.
Labels are read from the stored clustering of each space; the clustered rows are those of the selection named in
the clustering's ``selection`` attr (all activation rows when none), their words from the extraction's words
table and the vocabulary, the sentences from the store's corpus; a run's alignment is read back as CALIGN
stored it (:mod:`engine.metrics.store`). Everything is read through :mod:`engine.store.artefacts`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from engine.errors import ConfigError, StoreError, param_message
from engine.metrics import CalignDirection, CalignResult
from engine.metrics.registry import side_label
from engine.metrics.rows import jsonable_rows
from engine.metrics.store import ClusterAlignment, StoredAlignment, read_alignment
from engine.results import CONCEPT_COLUMNS
from engine.select.store import read_selection
from engine.store import layout
from engine.store.artefacts import CLUSTERING, read_artefact, read_words
from engine.store.core import open_store, read_strings

log = logging.getLogger(__name__)

__all__ = ["build_concepts", "concept_rows"]

OWNER = "build_concepts"


@dataclass
class _Space:
    """The clustered tokens of one space: cluster, language index, type id, sentence and position per token."""

    name: str
    langs: list[str]
    labels: np.ndarray
    lang: np.ndarray
    types: np.ndarray
    sentence: np.ndarray
    position: np.ndarray
    k: int

    def gtype(self, offsets: np.ndarray) -> np.ndarray:
        """Type ids made unique across the space's languages (language i's ids shifted by offsets[i])."""
        return offsets[self.lang] + self.types


class _Reader:
    """Reads (and caches) what the rows need from one store."""

    def __init__(self, root: Any, model: str, side: str) -> None:
        self.root, self.model, self.side = root, model, side
        self._cache: dict[tuple, Any] = {}

    def strings(self, name: str) -> list[str]:
        if ("s", name) not in self._cache:
            self._cache[("s", name)] = read_strings(self.root, name)
        return self._cache[("s", name)]

    def refs(self) -> list[str] | None:
        return self.strings(layout.REFS_PATH) if layout.REFS_PATH in self.root else None

    def words(self, lang: str, key: str) -> np.ndarray:
        if ("w", lang) not in self._cache:
            self._cache[("w", lang)] = read_words(self.root, self.model, self.side, lang)
        return self._cache[("w", lang)][key]

    def rows(self, selection: str | None, lang: str) -> tuple[np.ndarray, np.ndarray]:
        """Row indices and their type ids for ``lang`` under ``selection`` (None: all rows)."""
        if selection is None:
            types = self.words(lang, "type_id")
            return np.arange(types.shape[0]), types
        chosen = read_selection(self.root, selection, self.model, self.side, lang)
        return chosen.rows, chosen.type_id.astype(np.int64)

    def space(self, layer: int, space: str, label: str, langs: list[str], k: int) -> _Space:
        """The clustering stored as ``space`` (shown as ``label``: a language or joint-{a}-{b})."""
        name = layout.clusters_path(self.model, self.side, layer, space, k)
        stored = read_artefact(self.root, CLUSTERING, name, ["labels"])
        labels = stored["labels"].astype(np.int64)
        selection = stored.attrs.get("selection")
        parts = {p["lang"]: int(p["n"]) for p in stored.attrs.get("parts") or []}
        pieces = []
        for i, lang in enumerate(langs):
            rows, types = self.rows(selection, lang)
            if lang in parts and parts[lang] != rows.shape[0]:
                raise StoreError(f"clustering {name!r} says {parts[lang]} rows of {lang} but selection "
                                 f"{selection!r} has {rows.shape[0]}")
            pieces.append((np.full(rows.shape[0], i), types, self.words(lang, "sentence")[rows],
                           self.words(lang, "position")[rows]))
        lang_ix, types, sentence, position = (np.concatenate(a) for a in zip(*pieces, strict=True))
        if labels.shape[0] != types.shape[0]:
            raise StoreError(f"clustering {name!r} has {labels.shape[0]} labels for {types.shape[0]} rows "
                             f"(selection {selection!r})")
        kept = labels >= 0  # -1: a row left out of the fit (the reference mode's last point)
        if int(stored.attrs.get("n_dropped", 0)) != int((~kept).sum()) or labels.max(initial=0) >= k:
            raise StoreError(f"clustering {name!r} has labels outside [0, {k}) beyond its "
                             f"{int(stored.attrs.get('n_dropped', 0))} dropped rows")
        return _Space(label, langs, labels[kept], lang_ix[kept], types[kept], sentence[kept], position[kept], k)


def _top_words(sp: _Space, vocab: list[list[str]], n_words: int) -> tuple[list[list], np.ndarray, list[list[int]]]:
    """Per cluster: top words as [word, count(, lang)], the number of types, and the top words' global type ids."""
    offsets = np.cumsum([0] + [len(v) for v in vocab])
    width = max(int(offsets[-1]), 1)
    uniq, counts = np.unique(sp.labels * width + sp.gtype(offsets), return_counts=True)
    cluster, typ = uniq // width, uniq % width
    order = np.lexsort((typ, -counts, cluster))
    n_types = np.bincount(cluster, minlength=sp.k)
    joint = len(sp.langs) > 1
    top: list[list] = [[] for _ in range(sp.k)]
    top_types: list[list[int]] = [[] for _ in range(sp.k)]
    for i in order:
        c = int(cluster[i])
        if len(top[c]) >= n_words:
            continue
        li = int(np.searchsorted(offsets, typ[i], side="right") - 1)
        entry = [vocab[li][int(typ[i] - offsets[li])], int(counts[i])]
        top[c].append(entry + [sp.langs[li]] if joint else entry)
        top_types[c].append(int(typ[i]))
    return top, n_types, top_types


def _example(reader: _Reader, sp: _Space, token: int, window: int) -> dict[str, Any]:
    lang = sp.langs[int(sp.lang[token])]
    s, p = int(sp.sentence[token]), int(sp.position[token])
    words = reader.strings(layout.corpus_path(lang))[s].split(" ")
    lo, hi = max(0, p - window), min(len(words), p + window + 1)
    shown = (["…"] if lo > 0 else []) + words[lo:hi] + (["…"] if hi < len(words) else [])
    refs = reader.refs()
    return {"lang": lang, "sentence": s, "ref": refs[s] if refs is not None and s < len(refs) else str(s),
            "position": p - lo + (1 if lo > 0 else 0), "text": " ".join(shown)}


SCAN = 512  # tokens of a cluster looked at (in corpus order) when choosing its examples


def _examples(reader: _Reader, sp: _Space, top_types: list[list[int]], n_examples: int,
              window: int, offsets: np.ndarray) -> list[list[dict]]:
    """Up to ``n_examples`` occurrences per cluster from distinct sentences: one of each top word in turn
    (its first occurrence in a sentence not shown yet), then further occurrences of any of its words."""
    order = np.argsort(sp.labels, kind="stable")
    bounds = np.searchsorted(sp.labels[order], np.arange(sp.k + 1))
    gtype = sp.gtype(offsets)
    sentence_key = sp.lang * (int(sp.sentence.max(initial=0)) + 1) + sp.sentence
    out = []
    for c in range(sp.k):
        tokens = order[bounds[c]:bounds[c + 1]][:SCAN]
        types, keys = gtype[tokens], sentence_key[tokens]
        picked: list[int] = []
        for wanted in [*top_types[c], None]:
            fresh = ~np.isin(keys, keys[picked]) if picked else np.ones(tokens.shape[0], dtype=bool)
            candidates = np.flatnonzero(fresh & (types == wanted) if wanted is not None else fresh)
            if wanted is None:  # fill up: one occurrence per further sentence
                _, first = np.unique(keys[candidates], return_index=True)
                candidates = candidates[np.sort(first)]
            picked += candidates[:n_examples - len(picked) if wanted is None else 1].tolist()
            if len(picked) >= n_examples:
                break
        picked = [int(tokens[i]) for i in picked[:n_examples]]
        out.append([_example(reader, sp, t, window) for t in picked])
    return out


def _rows(reader: _Reader, sp: _Space, side: str, layer: int, n_words: int, n_examples: int, window: int,
          alignments: list[tuple[str, CalignDirection | ClusterAlignment | None]]) -> list[dict[str, Any]]:
    vocab = [reader.strings(layout.vocab_path(lang)) for lang in sp.langs]
    top, n_types, top_types = _top_words(sp, vocab, n_words)
    offsets = np.cumsum([0] + [len(v) for v in vocab])
    examples = _examples(reader, sp, top_types, n_examples, window, offsets)
    n_tokens = np.bincount(sp.labels, minlength=sp.k)
    rows = []
    for other, d in alignments or [("", None)]:
        if d is not None:
            if d.sizes.shape[0] != sp.k or not np.array_equal(d.sizes, n_types):
                raise ConfigError(param_message("calign", OWNER, f"a result computed on clustering {sp.name} "
                                                f"k{sp.k} (its types per cluster)", f"{d.sizes.shape[0]} clusters "
                                                f"with other sizes"))
        targets = d.target_lists() if d is not None else []
        for c in range(sp.k):
            if n_tokens[c] == 0:
                continue
            rows.append({"model": reader.model, "side": side, "layer": layer, "lang": sp.name, "k": sp.k,
                         "cluster": c, "n_tokens": int(n_tokens[c]), "n_types": int(n_types[c]),
                         "top_words": top[c], "aligned_to": int(d.best_target[c]) if d is not None else -1,
                         "match_share": float(d.match_share[c]) if d is not None else np.nan,
                         "aligned": bool(d.aligned[c]) if d is not None else False,
                         "aligned_targets": targets[c] if d is not None else [], "other": other,
                         "examples": examples[c]})
    return rows


def _check_int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise ConfigError(param_message(name, OWNER, f"an integer >= {low}", value))
    return int(value)


Alignment = CalignResult | StoredAlignment  # what gives each cluster its aligned concept


def build_concepts(store: str | Path | Any, *, model: str, side: str, layer: int, k: int,
                   calign: Mapping[tuple[str, str], Alignment | None] | None = None,
                   joint: Sequence[tuple[str, str]] = (), languages: Sequence[str] = (),
                   spaces: Mapping[str, str] | None = None, sides: Mapping[str, str] | None = None,
                   n_words: int = 10, n_examples: int = 3, window: int = 12) -> pd.DataFrame:
    """The concept rows of one model × side × layer × K as a DataFrame (columns of ``CONCEPT_COLUMNS``).

    ``calign`` maps a pair (src, tgt) to the CALIGN result computed on the stored clusterings of ``src`` and
    ``tgt`` (TypeClusters from their labels and the selection's type ids), or to its stored alignment (None:
    no alignment): src clusters get the forward direction (other = tgt), tgt clusters the backward one
    (other = src). ``joint``: pairs whose joint space ``joint-{a}-{b}`` to add; ``languages``: more language
    spaces without alignment. ``spaces`` maps a language or joint space to the space name its clustering has
    in the store when that is not the name itself (e.g. {"en": "calign-en-de/en"}); ``sides`` maps a language
    to the side its clustering is on when that is not ``side`` (which the rows carry: e.g. ``encoder-decoder``
    across two sides). ``store`` is a store path or an open store group. Empty clusters get no row;
    ``n_words`` top words and ``n_examples`` sentences (±``window`` words) each.
    """
    for name, value in (("model", model), ("side", side)):
        if not isinstance(value, str) or not value:
            raise ConfigError(param_message(name, OWNER, "a non-empty string", value))
    layer, k = _check_int("layer", layer, 0), _check_int("k", k, 1)
    n_words, n_examples, window = (_check_int("n_words", n_words, 1), _check_int("n_examples", n_examples, 0),
                                   _check_int("window", window, 1))
    where, side_of = dict(spaces or {}), dict(sides or {})
    wanted: dict[str, list[tuple[str, Any]]] = {lang: [] for lang in languages}
    for pair, result in (calign or {}).items():
        if not (isinstance(pair, tuple) and len(pair) == 2 and all(isinstance(x, str) for x in pair)):
            raise ConfigError(param_message("calign", OWNER, "keys (src, tgt) of two language codes", pair))
        if result is not None and not isinstance(result, CalignResult | StoredAlignment):
            raise ConfigError(param_message(f"calign[{pair}]", OWNER, "a CalignResult, a StoredAlignment or None",
                                            type(result).__name__))
        src, tgt = pair
        wanted.setdefault(src, []).append((tgt, result.forward if result else None))
        wanted.setdefault(tgt, []).append((src, result.backward if result else None))
    for pair in joint:
        if not (isinstance(pair, tuple | list) and len(pair) == 2 and all(isinstance(x, str) for x in pair)):
            raise ConfigError(param_message("joint", OWNER, "pairs (a, b) of language codes", pair))
    root = open_store(store) if isinstance(store, str | Path) else store
    readers: dict[str, _Reader] = {}

    def reader_of(lang: str) -> _Reader:
        on = side_of.get(lang, side)
        return readers.setdefault(on, _Reader(root, model, on))

    rows: list[dict[str, Any]] = []
    for lang, alignments in wanted.items():
        reader = reader_of(lang)
        sp = reader.space(layer, where.get(lang, lang), lang, [lang], k)
        aligned = [(other, d) for other, d in alignments if d is not None]
        rows += _rows(reader, sp, side, layer, n_words, n_examples, window, aligned)
    for a, b in joint:
        name, reader = layout.joint_space(a, b), reader_of(a)
        sp = reader.space(layer, where.get(name, name), name, [a, b], k)
        rows += _rows(reader, sp, side, layer, n_words, n_examples, window, [])
    log.debug("concepts of %s/%s layer %d k%d: %d rows", model, side, layer, k, len(rows))
    return pd.DataFrame(rows, columns=CONCEPT_COLUMNS)


def concept_rows(root: Any, *, model: str, sides: tuple[str, str], layer: int, src: str, tgt: str, k: int,
                 **options: Any) -> list[dict[str, Any]]:
    """Concept rows (dicts) of both languages of one measured pair, for a run: the clusterings of its CALIGN
    selection and the alignment CALIGN stored for them. ``sides``: (source side, target side); the rows carry
    ``side`` (or ``{src_side}-{tgt_side}``). ``options`` go to :func:`build_concepts`."""
    selection = layout.calign_selection(src, tgt, *sides)
    alignment = read_alignment(root, model=model, side=sides[0], layer=layer, selection=selection, k=k)
    frame = build_concepts(root, model=model, side=side_label(sides), layer=layer, k=k, calign={(src, tgt): alignment},
                           spaces={lang: layout.cluster_space([lang], selection) for lang in (src, tgt)},
                           sides={src: sides[0], tgt: sides[1]}, **options)
    return jsonable_rows(frame.to_dict("records"))
