"""The released scripts' clustering, reproduced (``cluster.mode: reference``).

The released pipeline saves a space's tokens and points with NumPy (the points float64, parsed back from
JSON), fits scikit-learn ``KMeans(n_clusters=K, random_state=212)`` — every other setting the installed
scikit-learn's default — on ``P[:-1]``, so the last token of every space is never clustered, and writes one
line per clustered token, ``{word}|||{occurrence}|||{sentence}|||{position}|||{cluster}``, grouped by cluster
in the order the clusters first appear among the labels, tokens in row order within a cluster (a dict of lists
filled in row order).

* ``occurrence`` counts the word's tokens up to and including this one, from 1, over the whole text of the
  space's languages in corpus order (before any selection; a joint space's second language continues the
  first's counts, as the pipeline's concatenated dataset does);
* ``sentence`` is the sentence index in ``corpus/{lang}``; the i-th language of a joint space is offset by the
  sentence count of the languages before it; ``position`` is the word's index in its sentence.

:func:`fit_reference` makes the clustering (the dropped row labelled -1: the store keeps labels row-aligned
with the selection, the metrics leave the row out and count it in the results' ``n_dropped``);
:func:`write_reference_clusters` writes a stored one as that file.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from engine.cluster.api import REFERENCE_SEED, Clustering, SourceLike, as_parts, check_int
from engine.cluster.source import RowSource
from engine.cluster.store import read_clustering
from engine.errors import ConfigError, StoreError
from engine.files import write_text_atomic
from engine.store import layout
from engine.store.artefacts import read_words, selected_rows
from engine.store.core import read_strings

log = logging.getLogger(__name__)

__all__ = ["fit_reference", "reference_file_path", "reference_tokens", "write_reference_clusters"]

SEP = "|||"
DROPPED = 1  # the released script fits P[:-1]


def fit_reference(source: SourceLike, k: int, *, rows: Any = None, seed: int = REFERENCE_SEED) -> Clustering:
    """scikit-learn ``KMeans(n_clusters=k, random_state=seed)`` on the float64 rows of ``source`` but the last.

    ``source``/``rows`` as :func:`engine.cluster.fit` takes them (float16 store rows are widened to float64).
    Returns labels int32 [n] (the last -1: not clustered), centroids float32 [k, d], the fit's inertia over the
    n - 1 clustered rows; params record ``mode: reference``, ``n_dropped`` and the scikit-learn version.
    """
    started = time.perf_counter()
    parts = as_parts(source, rows, "fit_reference")
    seed = check_int(seed, "seed", "fit_reference", 0)
    src = RowSource(parts)
    k = check_int(k, "K", "fit_reference", 1)
    if k > src.n - DROPPED:
        raise ConfigError(f"K={k} must be <= number of points={src.n - DROPPED} (the reference mode clusters all "
                          f"but the last of {src.n} points)")
    points = np.concatenate([np.asarray(chunk, dtype=np.float64) for chunk in src.iter_raw()], axis=0)
    return _fit_reference(points, k, seed, started)


def _fit_reference(points: np.ndarray, k: int, seed: int, started: float) -> Clustering:
    """Worker of :func:`fit_reference`: ``points`` float64 [n, d], n - 1 >= k."""
    import sklearn
    from sklearn.cluster import KMeans

    model = KMeans(n_clusters=k, random_state=seed).fit(points[:-DROPPED])
    labels = np.concatenate([model.labels_.astype(np.int32), np.full(DROPPED, -1, dtype=np.int32)])
    seconds = time.perf_counter() - started
    n_iter = int(model.n_iter_)
    params = {"k": k, "seed": seed, "mode": "reference", "n": int(points.shape[0]), "d": int(points.shape[1]),
              "n_dropped": DROPPED, "dtype": "float64", "init": str(model.init), "n_init": model.n_init,
              "max_iter": int(model.max_iter), "tol": float(model.tol), "sklearn": sklearn.__version__}
    log.info("k-means reference (scikit-learn %s, float64, last point dropped): n=%d d=%d K=%d inertia %.6g, "
             "%d iterations, %.2f s", sklearn.__version__, points.shape[0] - DROPPED, points.shape[1], k,
             model.inertia_, n_iter, seconds)
    return Clustering(labels, model.cluster_centers_.astype(np.float32), float(model.inertia_), n_iter, "sklearn",
                      seconds, "cpu", n_iter < model.max_iter, params, {"dropped_rows": [int(points.shape[0]) - 1]})


def _running_counts(words: list[str], counts: dict[str, int]) -> np.ndarray:
    """Each word's count so far, from 1, continuing ``counts`` (updated in place)."""
    out = np.empty(len(words), dtype=np.int64)
    for i, word in enumerate(words):
        counts[word] = counts.get(word, 0) + 1
        out[i] = counts[word]
    return out


def reference_tokens(root: Any, *, model: str, side: str, langs: list[str], selection: str | None
                     ) -> list[str]:
    """``word|||occurrence|||sentence|||position`` of every row of a space, in its row order (see the module)."""
    n_sentences = int(root.attrs.get("n_sentences", 0))
    counts: dict[str, int] = {}
    tokens: list[str] = []
    for index, lang in enumerate(langs):
        words = read_words(root, model, side, lang)
        vocab = read_strings(root, layout.vocab_path(lang))
        order = np.lexsort((words["position"], words["sentence"]))  # corpus order
        text = [vocab[t] for t in words["type_id"][order].tolist()]
        occurrence = np.empty(len(order), dtype=np.int64)
        occurrence[order] = _running_counts(text, counts)
        rows = (np.arange(len(order), dtype=np.int64) if selection is None
                else selected_rows(root, selection, model, side, lang))
        sentence = words["sentence"][rows] + index * n_sentences
        tokens += [f"{vocab[t]}{SEP}{o}{SEP}{s}{SEP}{p}" for t, o, s, p in zip(
            words["type_id"][rows].tolist(), occurrence[rows].tolist(), sentence.tolist(),
            words["position"][rows].tolist(), strict=True)]
    return tokens


def reference_file_path(model: str, side: str, layer: int, space: str, k: int, extra_seed: int | None = None
                        ) -> Path:
    """Where in a run folder the reference mode writes a clustering's file: ``clusters/{model}/{side}/layer_{i}/
    {space}[/seed{s}]/clusters-{K}.txt`` (the released script's file name)."""
    folder = Path("clusters", model, side, layout.layer_name(layer), space)
    if extra_seed is not None:
        folder = folder / f"seed{extra_seed}"
    return folder / f"clusters-{k}.txt"


def write_reference_clusters(root: Any, path: str | Path, *, model: str, side: str, layer: int,
                             langs: list[str], selection: str | None, k: int, extra_seed: int | None = None) -> int:
    """Write a stored clustering as the released script's cluster file (dropped rows left out, clusters in order
    of first appearance); returns the number of lines."""
    space = layout.cluster_space(langs, selection)
    stored = read_clustering(root, model=model, side=side, layer=layer, space=space, k=k, extra_seed=extra_seed)
    labels = np.asarray(stored.clustering.labels)
    tokens = reference_tokens(root, model=model, side=side, langs=langs, selection=selection)
    if len(tokens) != len(labels):
        raise StoreError(f"clustering {space!r} holds {len(labels)} rows but the space now has {len(tokens)} "
                         f"(selection or activations changed); cluster again")
    members: dict[int, list[str]] = {}
    for token, label in zip(tokens, labels.tolist(), strict=True):
        if label >= 0:
            members.setdefault(label, []).append(token)
    lines = [f"{token}{SEP}{label}\n" for label, group in members.items() for token in group]
    write_text_atomic(path, "".join(lines))
    log.info("wrote the reference cluster file of %s K=%d (%d lines) to %s", space, k, len(lines), path)
    return len(lines)
