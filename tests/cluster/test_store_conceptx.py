"""Clusterings written to and read from the store; ConceptX export and import."""

from __future__ import annotations

import numpy as np
import pytest

from engine.cluster import (
    align_conceptx,
    cluster_space,
    export_conceptx,
    read_clustering,
    read_conceptx,
)
from engine.errors import ConfigError, InputDataError, StoreError
from engine.select import Selection, write_selection
from engine.store import layout, open_store

MODEL, SIDE, LAYER = "me5-small", "encoder", 6


@pytest.fixture(scope="module")
def selection(me5_store):
    """A stored selection 'every3' (every third row of en and de), as the selection stage would write it."""
    root = open_store(me5_store, mode="r+")
    for lang in ("en", "de"):
        type_id = np.asarray(root[layout.words_path(MODEL, SIDE, lang)]["type_id"][:])
        rows = np.arange(0, type_id.shape[0], 3, dtype=np.int64)
        none = np.full(rows.shape, -1)
        write_selection(root, "every3", MODEL, SIDE, lang, Selection(rows, type_id[rows], none, none))
    return "every3"


def test_language_space_round_trip(me5_store):
    stored = cluster_space(me5_store, model=MODEL, side=SIDE, layer=LAYER, langs=["en"], k=20, seed=3)
    root = open_store(me5_store)
    name = layout.clusters_path(MODEL, SIDE, LAYER, "en", 20)
    assert name == "clusters/me5-small/encoder/layer_6/en/k20"
    group = root[name]
    attrs = dict(group.attrs)
    assert attrs["complete"] is True
    assert attrs["backend"] == "torch" and attrs["seed"] == 3 and attrs["K"] == 20
    assert attrs["selection"] is None and attrs["parts"] == [{"lang": "en", "n": group["labels"].shape[0]}]
    n_en = root[layout.words_path(MODEL, SIDE, "en")]["type_id"].shape[0]
    assert group["labels"].shape == (n_en,) and group["labels"].dtype == np.int32
    assert group["centroids"].shape == (20, 384) and group["centroids"].dtype == np.float32
    again = read_clustering(root, model=MODEL, side=SIDE, layer=LAYER, space="en", k=20)
    np.testing.assert_array_equal(again.clustering.labels, stored.clustering.labels)
    assert again.clustering.inertia == pytest.approx(attrs["inertia"])


def test_incomplete_clustering_is_refused(me5_store):
    cluster_space(me5_store, model=MODEL, side=SIDE, layer=LAYER, langs=["de"], k=7, seed=1)
    root = open_store(me5_store, mode="r+")
    root[layout.clusters_path(MODEL, SIDE, LAYER, "de", 7)].attrs["complete"] = False
    with pytest.raises(StoreError, match="incomplete"):
        read_clustering(root, model=MODEL, side=SIDE, layer=LAYER, space="de", k=7)
    with pytest.raises(StoreError, match="has no clustering"):
        read_clustering(root, model=MODEL, side=SIDE, layer=LAYER, space="de", k=8)


def test_joint_space_with_selection_and_conceptx_export(me5_store, selection, tmp_path):
    stored = cluster_space(me5_store, model=MODEL, side=SIDE, layer=LAYER, langs=["en", "de"], k=15,
                           selection=selection, seed=0)
    root = open_store(me5_store)
    parts = stored.attrs["parts"]
    assert [p["lang"] for p in parts] == ["en", "de"] and stored.attrs["selection"] == "every3"
    assert stored.clustering.n == sum(p["n"] for p in parts)

    path = tmp_path / "joint.txt"
    space = layout.cluster_space(["en", "de"], selection)  # the one spelling of a space of a selection's rows
    count = export_conceptx(root, path, model=MODEL, side=SIDE, layer=LAYER, space=space, k=15)
    assert count == stored.clustering.n  # every row: no P[:-1]
    lines = path.read_text(encoding="utf-8").splitlines()
    first = lines[0].split("|||")
    en_vocab = [str(w) for w in root[layout.vocab_path("en")][:]]
    en_words = root[layout.words_path(MODEL, SIDE, "en")]
    assert first == [en_vocab[en_words["type_id"][0]], "0", str(en_words["sentence"][0]),
                     str(en_words["position"][0]), str(stored.clustering.labels[0])]
    clusters = read_conceptx(path)
    np.testing.assert_array_equal(clusters.cluster, stored.clustering.labels)
    assert max(clusters.occurrence[np.array(clusters.words) == "the"]) > 10  # occurrences count per word

    n_sentences = int(root.attrs["n_sentences"])
    en_rows = np.asarray(root[layout.selection_path("every3", MODEL, SIDE, "en")]["rows"][:])
    de_rows = np.asarray(root[layout.selection_path("every3", MODEL, SIDE, "de")]["rows"][:])
    en_labels = align_conceptx(clusters, root, model=MODEL, side=SIDE, lang="en", rows=en_rows)
    de_labels = align_conceptx(clusters, root, model=MODEL, side=SIDE, lang="de", rows=de_rows,
                               sentence_offset=n_sentences)
    np.testing.assert_array_equal(np.concatenate([en_labels, de_labels]), stored.clustering.labels)
    all_en = align_conceptx(clusters, root, model=MODEL, side=SIDE, lang="en")
    assert (all_en == -1).sum() == len(all_en) - len(en_rows)  # rows outside the selection: no line


def test_conceptx_parse_errors_name_file_and_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("In|||0|||0|||0|||3\nbeginning|||0|||0|||x|||1\n", encoding="utf-8")
    with pytest.raises(InputDataError, match=r"bad\.txt:2: occurrence, sentence, position and cluster must be "):
        read_conceptx(path)
    path.write_text("In|||0|||0|||3\n", encoding="utf-8")
    with pytest.raises(InputDataError, match=r"bad\.txt:1: expected word\|\|\|occurrence"):
        read_conceptx(path)
    path.write_text("a|||b|||0|||1|||2|||7\n\n", encoding="utf-8")  # a word holding ||| survives
    parsed = read_conceptx(path)
    assert parsed.words == ["a|||b"] and parsed.cluster.tolist() == [7] and len(parsed) == 1


def test_conceptx_from_another_corpus_is_refused(me5_store, tmp_path):
    root = open_store(me5_store)
    path = tmp_path / "other.txt"
    path.write_text("Zebra|||0|||0|||0|||1\n", encoding="utf-8")
    with pytest.raises(InputDataError, match="has word 'Zebra' at sentence 0, position 0, where the store has"):
        align_conceptx(read_conceptx(path), root, model=MODEL, side=SIDE, lang="en")


def test_ward_through_the_stage(me5_store, selection):
    from sklearn.cluster import AgglomerativeClustering

    stored = cluster_space(me5_store, model=MODEL, side=SIDE, layer=LAYER, langs=["en"], k=12, selection=selection,
                           method="ward")
    assert stored.attrs["method"] == "ward" and stored.attrs["backend"] == "ward"
    root = open_store(me5_store)
    rows = np.asarray(root[layout.selection_path(selection, MODEL, SIDE, "en")]["rows"][:])
    vectors = np.asarray(root[layout.activations_path(MODEL, SIDE, "en")]["layer_6"][:], dtype=np.float32)[rows]
    np.testing.assert_array_equal(stored.clustering.labels, AgglomerativeClustering(12).fit(vectors).labels_)
    with pytest.raises(ConfigError, match="method of cluster_space must be one of kmeans, ward, reference; "
                                          "got 'dbscan'"):
        cluster_space(me5_store, model=MODEL, side=SIDE, layer=LAYER, langs=["en"], k=12, method="dbscan")
