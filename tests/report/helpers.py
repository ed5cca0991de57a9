"""Fixtures of the report tests: hand-made run tables and a small crafted store with clusterings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from engine.corpus import Corpus
from engine.metrics import CalignResult, TypeClusters, calign
from engine.select import Selection, write_selection
from engine.store import init_store, layout, write_artefact
from engine.store.artefacts import CLUSTERING

LAYERS = [0, 1, 2, 3, 4]
PAIRS = [("en", "de"), ("en", "ar")]


def results_frame(models=("tiny",), shift: float = 0.0, layers=LAYERS, pairs=PAIRS, k: int = 8) -> pd.DataFrame:
    """CALIGN (forward, backward, mean, eligible) and COLAP per model × layer × pair, with baselines."""
    rows = []
    for m, model in enumerate(models):
        for p, (src, tgt) in enumerate(pairs):
            for layer in layers:
                base = {"model": model, "side": "encoder", "layer": layer, "pair": f"{src}-{tgt}", "src": src,
                        "tgt": tgt, "k": k, "seed": 0, "n_points": 400, "n_clusters": k,
                        "n_degenerate": 1 + layer % 3}
                rise = layer / max(layers) if max(layers) else 0.0
                cal = 0.2 + 0.5 * rise - 0.1 * p + 0.05 * m + shift
                for direction, value in (("forward", cal), ("backward", cal - 0.05), ("mean", cal - 0.025)):
                    rows.append({**base, "metric": "calign", "direction": direction, "value": value,
                                 "baseline_mean": 0.1, "baseline_sd": 0.03, "p_value": 0.05, "repeats": 20,
                                 "baseline_kind": "shuffled-dictionary-types", "theta": 0.5, "top_n": 5,
                                 "min_types": 0})
                    rows.append({**base, "metric": "calign_eligible", "direction": direction,  # floor 0.3 + dip
                                 "value": value + 0.05, "baseline_mean": 0.3 + 0.2 * (layer == 4),
                                 "baseline_sd": 0.02, "p_value": 0.05, "repeats": 20,
                                 "baseline_kind": "shuffled-dictionary-types", "theta": 0.5, "top_n": 5,
                                 "min_types": 0})
                rows.append({**base, "metric": "colap", "direction": "joint", "value": 0.1 + 0.4 * rise + shift,
                             "baseline_mean": 0.9, "baseline_sd": 0.02, "p_value": 1.0, "repeats": 20,
                             "baseline_kind": "permuted-languages", "theta": 0.3, "top_n": None,
                             "min_types": None})
    return pd.DataFrame(rows)


def curves_frame(models=("tiny",), layers=LAYERS, pairs=PAIRS, k: int = 8) -> pd.DataFrame:
    rows = []
    for model in models:
        for src, tgt in pairs:
            for layer in layers:
                key = {"model": model, "side": "encoder", "layer": layer, "pair": f"{src}-{tgt}", "src": src,
                       "tgt": tgt, "k": k}
                for theta in np.round(np.linspace(0.5, 1.0, 6), 2):
                    rows.append({**key, "metric": "calign", "direction": "forward", "theta": theta,
                                 "value": (1 - theta) * (1 + layer) / 5})
                for theta in np.round(np.linspace(0.05, 0.5, 4), 2):
                    rows.append({**key, "metric": "colap", "direction": "joint", "theta": theta,
                                 "value": (0.5 - theta) * (1 + layer) / 5})
    return pd.DataFrame(rows)


EN = [
    "In the beginning God created the heaven and the earth .",
    "And the earth was without form , and void ; and darkness was upon the face of the deep .",
    "And the Spirit of God moved upon the face of the waters .",
    "And God said , Let there be light : and there was light .",
    "And God saw the light , that it was good : and God divided the light from the darkness .",
    "And God called the light Day , and the darkness he called Night .",
    "And God said , Let there be a firmament in the midst of the waters .",
    "And God called the firmament Heaven .",
    "And God called the dry land Earth ; and the waters called he Seas : and God saw that it was good .",
    "<script>alert('x')</script> & \"quotes\" </script> in a verse .",
]
DE = [
    "Im Anfang schuf Gott die Himmel und die Erde .",
    "Und die Erde war wüst und leer , und Finsternis war über der Tiefe .",
    "Und der Geist Gottes schwebte über den Wassern .",
    "Und Gott sprach : Es werde Licht ! und es ward Licht .",
    "Und Gott sah das Licht , daß es gut war ; und Gott schied das Licht von der Finsternis .",
    "Und Gott nannte das Licht Tag , und die Finsternis nannte er Nacht .",
    "Und Gott sprach : Es werde eine Feste inmitten der Wasser .",
    "Und Gott nannte die Feste Himmel .",
    "Und Gott nannte das Trockene Erde , und die Sammlung der Wasser nannte er Meere .",
    "<b>bold</b> und </script> im Vers .",
]
REFS = [f"Gen 1:{i + 1}" for i in range(len(EN))]
# concept id -> (English words, German words): the clusters of layer 1 follow these
CONCEPTS = {
    0: ("God", "Gott Gottes"), 1: ("light Day", "Licht Tag"), 2: ("earth Earth land", "Erde Trockene"),
    3: ("heaven Heaven firmament", "Himmel Feste"), 4: ("waters Seas", "Wasser Wassern Meere"),
    5: ("darkness Night", "Finsternis Nacht"), 6: ("said called", "sprach nannte"),
}
K = 8
MODEL, SIDE = "tiny", "encoder"


def _labels(words: list[str], concept_of: dict[str, int], layer: int) -> np.ndarray:
    if layer == 0:  # an early layer: clusters by word length, no concepts
        return np.array([min(len(w), K) - 1 for w in words], dtype=np.int32)
    return np.array([concept_of.get(w, K - 1) for w in words], dtype=np.int32)


def _write_labels(root, layer: int, space: str, labels: np.ndarray, selection: str, parts) -> None:
    write_artefact(root, CLUSTERING, layout.clusters_path(MODEL, SIDE, layer, space, K),
                   {"labels": labels, "centroids": np.zeros((K, 4), dtype=np.float32)},
                   {"K": K, "selection": selection, "parts": parts})


def crafted_store(folder: Path) -> tuple[Path, dict[int, CalignResult]]:
    """A store of 10 verses (en, de) with words, selections and K=8 clusterings at layers 0 and 1.

    The CALIGN selection drops the first word of every sentence; layer 1 clusters by the hand-made
    concepts (so aligned clusters), layer 0 by word length. Returns the store and the CALIGN result per layer.
    """
    store = folder / "run.zarr"
    sentences = {"en": [s.split() for s in EN], "de": [s.split() for s in DE]}
    root = init_store(store, Corpus(("en", "de"), sentences, REFS))
    vocab = {lang: [str(w) for w in root[layout.vocab_path(lang)][:]] for lang in ("en", "de")}
    tokens = {}
    for lang in ("en", "de"):
        index = {w: i for i, w in enumerate(vocab[lang])}
        flat = [(s, p, index[w]) for s, words in enumerate(sentences[lang]) for p, w in enumerate(words)]
        sentence, position, type_id = (np.array(a, dtype=np.int32) for a in zip(*flat, strict=True))
        words = root.require_group(layout.words_path(MODEL, SIDE, lang))
        for key, values in (("type_id", type_id), ("sentence", sentence), ("position", position)):
            words.create_array(key, shape=values.shape, dtype="int32", overwrite=True)[:] = values
        # the extraction's group (no vectors needed here): its words are trusted once it is complete
        root.require_group(layout.activations_path(MODEL, SIDE, lang)).attrs.update(
            {"n_rows": int(type_id.shape[0]), "complete": True})
        rows = np.flatnonzero(position > 0).astype(np.int64)  # CALIGN rows: not the first word
        none = np.full(rows.shape, -1)
        write_selection(root, "calign-en-de", MODEL, SIDE, lang, Selection(rows, type_id[rows], none, none))
        every = np.arange(type_id.shape[0], dtype=np.int64)
        none = np.full(every.shape, -1)
        write_selection(root, "colap", MODEL, SIDE, lang, Selection(every, type_id, none, none))
        tokens[lang] = (rows, type_id)
    concept_of = {lang: {w: c for c, pair in CONCEPTS.items() for w in pair[i].split()}
                  for i, lang in enumerate(("en", "de"))}
    results = {}
    for layer in (0, 1):
        clusters = {}
        joint = []
        for lang in ("en", "de"):
            rows, type_id = tokens[lang]
            words = [vocab[lang][t] for t in type_id]
            labels = _labels([words[r] for r in rows], concept_of[lang], layer)
            _write_labels(root, layer, lang, labels, "calign-en-de", [{"lang": lang, "n": len(rows)}])
            clusters[lang] = TypeClusters.from_tokens(labels, type_id[rows], n_clusters=K, vocab=vocab[lang])
            joint.append(_labels(words, concept_of[lang], layer))
        _write_labels(root, layer, "joint-en-de", np.concatenate(joint), "colap",
                      [{"lang": lang, "n": len(j)} for lang, j in zip(("en", "de"), joint, strict=True)])
        index = {lang: {w: i for i, w in enumerate(vocab[lang])} for lang in ("en", "de")}
        pairs = [(index["en"][e], index["de"][d]) for c, (es, ds) in CONCEPTS.items() for e in es.split()
                 for d in ds.split()]
        src, tgt = (np.array(a) for a in zip(*pairs, strict=True))
        results[layer] = calign(clusters["en"], clusters["de"], (src, tgt), theta=0.5, top_n=5, repeats=5)
    return store, results
