"""Concept rows from a crafted store: top words, aligned concepts, example sentences, joint spaces, refusals."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import ConfigError, StoreError
from engine.metrics.store import write_alignment
from engine.report.concepts import build_concepts, concept_rows
from engine.report.tables import validate_concepts
from engine.store import layout, open_store, read_artefact, write_artefact
from engine.store.artefacts import CLUSTERING
from tests.report.helpers import EN, MODEL, SIDE, K, crafted_store


@pytest.fixture(scope="module")
def crafted(tmp_path_factory):
    return crafted_store(tmp_path_factory.mktemp("concepts"))


def concepts(store, result, layer=1, **options):
    return build_concepts(store, model=MODEL, side=SIDE, layer=layer, k=K, calign={("en", "de"): result},
                          joint=[("en", "de")], **options)


def test_language_concepts_and_their_alignment(crafted):
    store, results = crafted
    frame = validate_concepts(concepts(store, results[1]))
    en = frame[frame["lang"] == "en"].set_index("cluster")
    de = frame[frame["lang"] == "de"].set_index("cluster")
    assert en.loc[0, "top_words"] == [["God", 10]]  # "God" never opens a verse, so all 10 are selected
    assert de.loc[0, "top_words"] == [["Gott", 8], ["Gottes", 1]]
    assert en.loc[1, "top_words"] == [["light", 5], ["Day", 1]]
    assert (en["other"] == "de").all() and (de["other"] == "en").all()
    forward = results[1].forward
    assert en["aligned_to"].tolist() == forward.best_target[en.index].tolist()
    assert en["aligned"].tolist() == forward.aligned[en.index].tolist()
    np.testing.assert_allclose(en["match_share"], forward.match_share[en.index])
    assert de["aligned_to"].tolist() == results[1].backward.best_target[de.index].tolist()
    assert en.loc[0, "aligned_to"] == 0 and en.loc[0, "aligned"] and not en.loc[7, "aligned"]
    sizes = np.bincount(open_store(store)[layout.clusters_path(MODEL, SIDE, 1, "en", K)]["labels"][:], minlength=K)
    assert en["n_tokens"].tolist() == sizes[en.index].tolist()


def test_examples_highlight_the_word_in_distinct_sentences(crafted):
    store, results = crafted
    frame = concepts(store, results[1], n_examples=3, window=4)
    for row in frame.itertuples():
        words = {w[0] for w in row.top_words}
        assert 0 < len(row.examples) <= 3
        seen = set()
        for example in row.examples:
            shown = example["text"].split(" ")
            assert shown[example["position"]] in words
            assert len([w for w in shown if w != "…"]) <= 9  # ±4 words around the occurrence
            assert (example["lang"], example["sentence"]) not in seen
            seen.add((example["lang"], example["sentence"]))
            assert example["ref"] == f"Gen 1:{example['sentence'] + 1}"
    god = frame[(frame["lang"] == "en") & (frame["cluster"] == 0)].iloc[0]
    assert [e["sentence"] for e in god.examples] == [0, 2, 3]  # first occurrences, corpus order
    assert god.examples[0]["text"] == "In the beginning God created the heaven and …"
    light = frame[(frame["lang"] == "en") & (frame["cluster"] == 1)].iloc[0]
    assert [e["sentence"] for e in light.examples] == [3, 5, 4]  # light (Gen 1:4), Day (1:6), then light again
    assert {e["text"].split(" ")[e["position"]] for e in light.examples} == {"light", "Day"}  # each top word


def test_joint_space_words_carry_their_language(crafted):
    store, results = crafted
    joint = concepts(store, results[1]).query("lang == 'joint-en-de'").set_index("cluster")
    assert joint.loc[0, "top_words"] == [["God", 10, "en"], ["Gott", 8, "de"], ["Gottes", 1, "de"]]
    assert (joint["aligned_to"] == -1).all() and (joint["other"] == "").all() and joint["match_share"].isna().all()
    langs = {e["lang"] for row in joint["examples"] for e in row}
    assert langs == {"en", "de"}
    assert joint["n_tokens"].sum() == sum(len(s.split()) for s in EN) + open_store(store)[
        layout.words_path(MODEL, SIDE, "de")]["type_id"].shape[0]


def test_concept_rows_read_the_run_spaces_and_the_stored_alignment(crafted):
    store, results = crafted
    root = open_store(store, mode="r+")  # a run stores its clusterings at {selection}/{lang}, and CALIGN's alignment
    selection = layout.calign_selection("en", "de")
    for lang in ("en", "de"):
        source = read_artefact(root, CLUSTERING, layout.clusters_path(MODEL, SIDE, 1, lang, K))
        write_artefact(root, CLUSTERING, layout.clusters_path(MODEL, SIDE, 1, layout.cluster_space([lang], selection),
                                                              K), source.arrays, source.attrs)
    write_alignment(root, {"forward": results[1].forward, "backward": results[1].backward}, model=MODEL, side=SIDE,
                    layer=1, selection=selection, k=K, attrs={})
    rows = concept_rows(root, model=MODEL, sides=(SIDE, SIDE), layer=1, src="en", tgt="de", k=K)
    assert {(r["lang"], r["other"]) for r in rows} == {("en", "de"), ("de", "en")}
    expected = build_concepts(root, model=MODEL, side=SIDE, layer=1, k=K, calign={("en", "de"): results[1]})
    for column in ("lang", "cluster", "top_words", "aligned_to", "aligned", "aligned_targets", "n_tokens", "examples"):
        assert [r[column] for r in rows] == expected[column].tolist(), column
    np.testing.assert_allclose([r["match_share"] for r in rows], expected["match_share"])
    with pytest.raises(StoreError, match="store has no concept alignment 'alignments/tiny/encoder/layer_2/"):
        concept_rows(root, model=MODEL, sides=(SIDE, SIDE), layer=2, src="en", tgt="de", k=K)
    del root[layout.clusters_path(MODEL, SIDE, 1, layout.cluster_space(["de"], selection), K)]
    with pytest.raises(StoreError, match="store has no clustering 'clusters/tiny/encoder/layer_1/calign-en-de/de/k8'"):
        concept_rows(root, model=MODEL, sides=(SIDE, SIDE), layer=1, src="en", tgt="de", k=K)


def test_refusals(crafted):
    store, results = crafted
    with pytest.raises(ConfigError, match="calign of build_concepts must be a result computed on clustering en k8"):
        concepts(store, results[0], layer=1)  # layer 0's result against layer 1's labels
    with pytest.raises(StoreError, match="store has no clustering 'clusters/tiny/encoder/layer_1/en/k9'"):
        build_concepts(store, model=MODEL, side=SIDE, layer=1, k=9, languages=["en"])
    with pytest.raises(ConfigError, match="n_words of build_concepts must be an integer >= 1; got 0"):
        build_concepts(store, model=MODEL, side=SIDE, layer=1, k=K, languages=["en"], n_words=0)
    with pytest.raises(ConfigError, match=r"keys \(src, tgt\)"):
        build_concepts(store, model=MODEL, side=SIDE, layer=1, k=K, calign={"en-de": None})
    plain = build_concepts(store, model=MODEL, side=SIDE, layer=1, k=K, calign={("en", "de"): None})
    assert (plain["other"] == "").all() and (plain["aligned_to"] == -1).all()
