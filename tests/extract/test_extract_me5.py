"""The real multilingual-e5-small on real en–de Bible verses: conversion, all 13 layers, store round trip."""

from __future__ import annotations

import numpy as np
import pytest

from engine.config import validate_config
from engine.extract import run_extraction
from engine.store import layout, open_store, read_strings, store_info
from tests.extract.reference import reference_vectors


@pytest.fixture(scope="module")
def me5_store(tmp_path_factory):
    from engine.material import prepare_material

    folder = prepare_material("me5-small")
    store = tmp_path_factory.mktemp("me5") / "run.zarr"
    config = validate_config({
        "models": [{"name": "me5-small"}],
        "corpus": {"source": "bible", "languages": ["en", "de"], "count": 20},
        "store": {"path": str(store)},
    })
    summaries = run_extraction(config, progress=False)
    return folder, store, summaries


def test_all_layers_extracted(me5_store):
    _, store, summaries = me5_store
    assert [(s.lang, s.layers) for s in summaries] == [("en", list(range(13))), ("de", list(range(13)))]
    info = store_info(store)
    assert info["languages"] == ["en", "de"] and info["n_sentences"] == 20
    for group in info["activations"]:
        assert group["complete"] and group["hidden"] == 384 and group["layers"] == list(range(13))
        assert group["n_rows"] > 400


def test_round_trip_equals_direct_forward(me5_store):
    folder, store, _ = me5_store
    root = open_store(store)
    sentences = [line.split(" ") for line in read_strings(root, layout.corpus_path("de"))[:4]]
    ref = reference_vectors(folder, sentences, [0, 6, 12], "last")
    group = root[layout.activations_path("me5-small", "encoder", "de")]
    words = root[layout.words_path("me5-small", "encoder", "de")]
    sent, pos = words["sentence"][:], words["position"][:]
    vocab = read_strings(root, layout.vocab_path("de"))
    type_id = words["type_id"][:]
    for layer_i, layer in enumerate([0, 6, 12]):
        stored = group[layout.layer_name(layer)][:]
        for row in np.nonzero(sent < 4)[0]:
            s, p = int(sent[row]), int(pos[row])
            assert vocab[type_id[row]] == sentences[s][p]
            np.testing.assert_allclose(stored[row].astype(np.float32), ref[(s, p)][layer_i], rtol=5e-3, atol=2e-2)


def test_translations_are_closer_than_unrelated_words(me5_store):
    """Meaning survives the pipeline: at layer 6, 'Gott' is nearer to 'God' than to unrelated English words."""
    _, store, _ = me5_store
    root = open_store(store)

    def mean_vector(lang: str, word: str) -> np.ndarray:
        vocab = read_strings(root, layout.vocab_path(lang))
        words = root[layout.words_path("me5-small", "encoder", lang)]
        rows = np.nonzero(words["type_id"][:] == vocab.index(word))[0]
        layer = root[layout.activations_path("me5-small", "encoder", lang)]["layer_6"]
        return layer[:][rows].astype(np.float32).mean(0)

    def cos(a: np.ndarray, b: np.ndarray) -> float:
        return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))

    gott = mean_vector("de", "Gott")
    assert cos(gott, mean_vector("en", "God")) > max(cos(gott, mean_vector("en", w)) for w in ("waters", "day", "and"))
