"""The reference clustering mode: the released pipeline's cluster files, byte for byte, on real me5 activations."""

from __future__ import annotations

import numpy as np
import pytest

from engine.cluster import cluster_space, export_conceptx, read_clustering
from engine.cluster.reference import fit_reference, write_reference_clusters
from engine.errors import ConfigError
from engine.select import Selection, write_selection
from engine.store import layout, open_store
from engine.store.core import read_strings
from tests.cluster import released

MODEL, SIDE, LAYER = "me5-small", "encoder", 6
MAX_FREQ = 3  # the released filter's maximum frequency: small, so the cap really drops tokens


def _rows_by_position(root, lang):
    """(sentence, position) -> activation row of ``lang``."""
    words = root[layout.words_path(MODEL, SIDE, lang)]
    return {(int(s), int(p)): row for row, (s, p) in enumerate(zip(words["sentence"][:], words["position"][:],
                                                                       strict=True))}


def _released_space(root, langs, tmp_path, k, max_freq=None):
    """The released pipeline on the store's own text and activations: the token strings and points of the space
    it would cluster (capped at ``max_freq`` a word), saved as its scripts save them, and its cluster file.
    Returns (file bytes, the store rows of each language in the pipeline's order)."""
    texts = [read_strings(root, layout.corpus_path(lang)) for lang in langs]
    entries = released.dataset(texts)
    if max_freq is not None:
        entries = released.cap(entries, max_freq)
    lookup = [_rows_by_position(root, lang) for lang in langs]
    rows = [[] for _ in langs]
    points = []
    for _, (index, s, p) in entries:
        row = lookup[index][(s, p)]
        rows[index].append(row)
        array = root[layout.activations_path(MODEL, SIDE, langs[index])][layout.layer_name(LAYER)]
        points.append(np.asarray(array[row], dtype=np.float64))
    np.save(tmp_path / "processed-vocab.npy", [token for token, _ in entries])
    np.save(tmp_path / "processed-point.npy", np.array(points))
    out = tmp_path / f"clusters-{k}.txt"
    released.kmeans_cluster_file(tmp_path / "processed-vocab.npy", tmp_path / "processed-point.npy", k, out)
    return out.read_bytes(), [np.asarray(r, dtype=np.int64) for r in rows]


def _store_selection(root, name, langs, rows):
    for lang, picked in zip(langs, rows, strict=True):
        type_id = np.asarray(root[layout.words_path(MODEL, SIDE, lang)]["type_id"][:])[picked]
        none = np.full(picked.shape, -1)
        write_selection(root, name, MODEL, SIDE, lang, Selection(picked, type_id, none, none))


def test_language_space_file_equals_the_released_one(me5_store, tmp_path):
    """Every English row: the same KMeans call on the same float64 points, the last point dropped, the same
    token numbering and cluster order give the released script's file byte for byte."""
    root = open_store(me5_store, mode="r+")
    expected, (rows,) = _released_space(root, ["en"], tmp_path, k=12)
    assert np.array_equal(np.sort(rows), np.arange(len(rows)))  # every row, in corpus order
    stored = cluster_space(root, model=MODEL, side=SIDE, layer=LAYER, langs=["en"], k=12, method="reference",
                           seed=212)
    labels = stored.clustering.labels
    assert labels[-1] == -1 and (labels[:-1] >= 0).all() and stored.attrs["n_dropped"] == 1
    assert stored.clustering.params["mode"] == "reference" and stored.clustering.params["dtype"] == "float64"
    ours = tmp_path / "ours.txt"
    count = write_reference_clusters(root, ours, model=MODEL, side=SIDE, layer=LAYER, langs=["en"], selection=None,
                                     k=12)
    assert count == len(rows) - 1
    assert ours.read_bytes() == expected
    assert export_conceptx(root, tmp_path / "conceptx.txt", model=MODEL, side=SIDE, layer=LAYER, space="en",
                           k=12) == len(rows) - 1  # the dropped row has no cluster to export
    first = expected.decode("utf-8").splitlines()[0]
    assert first.split("|||")[1] == "1"  # occurrences count from 1, as the released scripts number them


def test_capped_joint_space_file_equals_the_released_one(me5_store, tmp_path):
    """A joint en+de space of the first MAX_FREQ tokens of each word: German sentences follow the English ones,
    a word's count runs on across the two files, and the last German token is the dropped point."""
    root = open_store(me5_store, mode="r+")
    langs = ["en", "de"]
    expected, rows = _released_space(root, langs, tmp_path, k=20, max_freq=MAX_FREQ)
    n_sentences = int(root.attrs["n_sentences"])
    _store_selection(root, "capped", langs, rows)
    stored = cluster_space(root, model=MODEL, side=SIDE, layer=LAYER, langs=langs, k=20, selection="capped",
                           method="reference", seed=212)
    assert stored.attrs["parts"] == [{"lang": "en", "n": len(rows[0])}, {"lang": "de", "n": len(rows[1])}]
    ours = tmp_path / "ours.txt"
    write_reference_clusters(root, ours, model=MODEL, side=SIDE, layer=LAYER, langs=langs, selection="capped", k=20)
    assert ours.read_bytes() == expected
    lines = expected.decode("utf-8").splitlines()
    assert max(int(line.split("|||")[2]) for line in lines) >= n_sentences  # German sentence numbers offset
    assert len(rows[0]) < root[layout.words_path(MODEL, SIDE, "en")]["type_id"].shape[0]  # the cap dropped some


def test_reference_fit_refuses_too_few_points():
    points = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    with pytest.raises(ConfigError, match=r"K=5 must be <= number of points=4 \(the reference mode clusters all "
                                          r"but the last of 5 points\)"):
        fit_reference(points, 5)
    result = fit_reference(points, 4, seed=1)
    assert result.labels.tolist()[-1] == -1 and sorted(set(result.labels[:-1].tolist())) == [0, 1, 2, 3]


def test_seed_spread_clusterings_sit_beside_the_first(me5_store):
    root = open_store(me5_store, mode="r+")
    first = cluster_space(root, model=MODEL, side=SIDE, layer=LAYER, langs=["de"], k=9, seed=212)
    other = cluster_space(root, model=MODEL, side=SIDE, layer=LAYER, langs=["de"], k=9, seed=213, extra_seed=213)
    assert layout.clusters_path(MODEL, SIDE, LAYER, "de", 9, 213).endswith("/de/k9-seed213")
    again = read_clustering(root, model=MODEL, side=SIDE, layer=LAYER, space="de", k=9)
    np.testing.assert_array_equal(again.clustering.labels, first.clustering.labels)
    assert other.attrs["seed"] == 213 and first.attrs["seed"] == 212
    assert not np.array_equal(other.clustering.labels, first.clustering.labels)
