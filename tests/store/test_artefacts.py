"""Conformance of the artefact layer: every kind of artefact written and read through its stage's wrapper
round-trips; ``complete`` is false while any array is written and set last; an interrupted, incomplete,
missing or damaged artefact is refused with its kind and path."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zarr

from engine.align.links import Links
from engine.align.store import read_links, write_links
from engine.cluster.api import Clustering
from engine.cluster.store import Part, read_clustering, write_clustering
from engine.corpus import Corpus
from engine.dictionary import Dictionary
from engine.dictionary.store import read_store_dictionary, write_store_dictionary
from engine.errors import StoreError
from engine.metrics import TypeClusters, calign
from engine.metrics.store import read_alignment, write_alignment
from engine.select import Selection, read_selection, write_selection
from engine.store import init_store, is_complete, layout, open_store
from engine.store.artefacts import ALIGNMENT, CLUSTERING, DICTIONARY, LINKS, SELECTION, Artefact

SENTENCES = {"en": [s.split() for s in ("in the beginning God created", "and God saw the light", "and it was good")],
             "de": [s.split() for s in ("im Anfang schuf Gott", "und Gott sah das Licht", "und es war gut")]}


@dataclass
class Case:
    """One artefact: how its wrapper writes it, reads it back (arrays by name) and where it lives."""

    artefact: Artefact
    path: str
    write: Any
    read: Any
    expected: dict[str, np.ndarray]
    attrs: dict[str, Any]


def _calign():
    rng = np.random.default_rng(1)
    src = TypeClusters.from_tokens(rng.integers(0, 4, 30), rng.integers(0, 9, 30), n_clusters=4, n_types=9)
    tgt = TypeClusters.from_tokens(rng.integers(0, 4, 30), rng.integers(0, 9, 30), n_clusters=4, n_types=9)
    return calign(src, tgt, (np.arange(9), np.arange(9)), theta=0.2, top_n=1, repeats=0)


def _links(root) -> dict[str, np.ndarray]:
    links, _ = read_links(root, "en", "de")
    return {"sentence": links.sentence, "src_pos": links.src, "tgt_pos": links.tgt}


def _dictionary(root) -> dict[str, np.ndarray]:
    d = read_store_dictionary(root, "en", "de")
    return {"prob": d.prob, "count": d.count, "rank": d.rank, "words": np.array(d.src + d.tgt)}


def _selection(root) -> dict[str, np.ndarray]:
    s = read_selection(root, "calign-en-de", "m", "encoder", "en")
    return {"rows": s.rows, "type_id": s.type_id, "partner_type": s.partner_type, "partner_row": s.partner_row}


def _clustering(root) -> dict[str, np.ndarray]:
    c = read_clustering(root, model="m", side="encoder", layer=2, space=layout.cluster_space(["en"], "calign-en-de"),
                        k=3).clustering
    return {"labels": c.labels, "centroids": c.centroids}


def _alignment(root) -> dict[str, np.ndarray]:
    a = read_alignment(root, model="m", side="encoder", layer=2, selection="calign-en-de", k=4)
    return {"sizes": a.forward.sizes, "best_target": a.forward.best_target, "match_share": a.forward.match_share,
            "aligned": a.forward.aligned, "back_sizes": a.backward.sizes,
            "targets": np.array([len(t) for t in a.forward.target_lists()] + sum(a.forward.target_lists(), []))}


def _cases() -> dict[str, Case]:
    links = Links(np.array([0, 0, 1, 2], np.int32), np.array([0, 3, 1, 2], np.int32), np.array([0, 3, 1, 2], np.int32))
    dictionary = Dictionary(["God", "light", "good"], ["Gott", "Licht", "gut"], np.array([1.0, 0.5, 0.25]),
                            np.array([2, 1, 1]), np.array([0, 0, 0], np.int32), {"source": "test"})
    selection = Selection(np.array([0, 2, 4], np.int64), np.array([0, 2, 3], np.int32), np.array([1, -1, 2], np.int32),
                          np.array([5, -1, 7], np.int64), {"kind": "calign"})
    clustering = Clustering(np.array([0, 1, 1, 0, 2], np.int32), np.arange(12, dtype=np.float32).reshape(3, 4), 1.5, 4,
                            "torch", 0.1, params={"seed": 3})
    result = _calign()
    space = layout.cluster_space(["en"], "calign-en-de")
    return {
        "links": Case(LINKS, layout.links_path("en", "de"),
                      lambda root: write_links(root, "en", "de", links, {"method": "test"}), _links,
                      {"sentence": links.sentence, "src_pos": links.src, "tgt_pos": links.tgt}, {"method": "test"}),
        "dictionary": Case(DICTIONARY, layout.dictionary_path("en", "de"),
                           lambda root: write_store_dictionary(root, "en", "de", dictionary), _dictionary,
                           {"prob": dictionary.prob, "count": dictionary.count, "rank": dictionary.rank,
                            "words": np.array(dictionary.src + dictionary.tgt)}, {"n_entries": 3}),
        "selection": Case(SELECTION, layout.selection_path("calign-en-de", "m", "encoder", "en"),
                          lambda root: write_selection(root, "calign-en-de", "m", "encoder", "en", selection),
                          _selection, {"rows": selection.rows, "type_id": selection.type_id,
                                       "partner_type": selection.partner_type, "partner_row": selection.partner_row},
                          {"kind": "calign", "n_rows": 3}),
        "clustering": Case(CLUSTERING, layout.clusters_path("m", "encoder", 2, space, 3),
                           lambda root: write_clustering(root, clustering, model="m", side="encoder", layer=2,
                                                         space=space, selection="calign-en-de",
                                                         parts=[Part("en", None, 5)]), _clustering,
                           {"labels": clustering.labels, "centroids": clustering.centroids},
                           {"inertia": 1.5, "selection": "calign-en-de", "parts": [{"lang": "en", "n": 5}]}),
        "alignment": Case(ALIGNMENT, layout.alignment_path("m", "encoder", 2, "calign-en-de", 4, "forward"),
                          lambda root: write_alignment(root, {"forward": result.forward, "backward": result.backward},
                                                       model="m", side="encoder", layer=2, selection="calign-en-de",
                                                       k=4, attrs={"src": "en"}), _alignment,
                          {"sizes": result.forward.sizes, "best_target": result.forward.best_target,
                           "match_share": result.forward.match_share, "aligned": result.forward.aligned,
                           "back_sizes": result.backward.sizes,
                           "targets": np.array([len(t) for t in result.forward.target_lists()]
                                               + sum(result.forward.target_lists(), []))},
                          {"src": "en", "direction": "forward"}),
    }


CASES = _cases()


@pytest.fixture
def root(tmp_path: Path):
    refs = [f"Gen 1:{i + 1}" for i in range(3)]
    init_store(tmp_path / "s.zarr", Corpus(("en", "de"), SENTENCES, refs))
    return open_store(tmp_path / "s.zarr", mode="r+")


@pytest.fixture(params=sorted(CASES))
def case(request) -> Case:
    return CASES[request.param]


def test_round_trip(root, case):
    case.write(root)
    assert is_complete(root, case.path)
    got = case.read(root)
    assert sorted(got) == sorted(case.expected)
    for name, values in case.expected.items():
        np.testing.assert_array_equal(got[name], values, err_msg=name)
    attrs = dict(root[case.path].attrs)
    assert {k: attrs[k] for k in case.attrs} == case.attrs


def test_complete_is_false_while_arrays_are_written_and_set_last(root, case, monkeypatch):
    seen = []
    create = zarr.Group.create_array

    def recording(self, name, *args, **kwargs):
        if self.path == case.path:
            seen.append((name, self.attrs.get("complete")))
        return create(self, name, *args, **kwargs)

    monkeypatch.setattr(zarr.Group, "create_array", recording)
    case.write(root)
    assert [name for name, _ in seen] == list(case.artefact.arrays)
    assert all(flag is False for _, flag in seen)
    assert root[case.path].attrs["complete"] is True


def test_an_interrupted_write_is_refused_with_its_name(root, case, monkeypatch):
    case.write(root)  # a complete earlier version is replaced, never trusted half-rewritten
    last = list(case.artefact.arrays)[-1]
    create = zarr.Group.create_array

    def failing(self, name, *args, **kwargs):
        if self.path == case.path and name == last:
            raise OSError(28, "No space left on device")
        return create(self, name, *args, **kwargs)

    monkeypatch.setattr(zarr.Group, "create_array", failing)
    with pytest.raises(OSError):
        case.write(root)
    monkeypatch.undo()
    assert not is_complete(root, case.path)
    with pytest.raises(StoreError, match=re.escape(str(case.artefact.incomplete(case.path)))):
        case.read(root)


def test_missing_and_incomplete_artefacts_are_refused_with_their_name(root, case):
    with pytest.raises(StoreError, match=f"store has no {case.artefact.kind} .*'{case.path}'"):
        case.read(root)
    case.write(root)
    root[case.path].attrs["complete"] = False
    message = str(case.artefact.incomplete(case.path))
    assert message.startswith(f"{case.artefact.kind} '{case.path}' ") and case.artefact.hint in message
    with pytest.raises(StoreError, match=re.escape(message)):
        case.read(root)
    root[case.path].attrs["complete"] = "yes"  # one rule: only True is complete
    assert not is_complete(root, case.path)


def test_a_damaged_chunk_or_a_missing_array_is_refused_naming_the_array(root, case, tmp_path):
    case.write(root)
    member = next(iter(case.artefact.arrays))
    chunk = next((tmp_path / "s.zarr" / case.path / member / "c").rglob("*"))
    raw = bytearray(chunk.read_bytes())
    raw[0] ^= 0xFF
    chunk.write_bytes(bytes(raw))
    with pytest.raises(StoreError, match=f"array '{case.path}/{member}' is damaged where rows"):
        case.read(root)
    del root[f"{case.path}/{member}"]
    with pytest.raises(StoreError, match=f"'{case.path}': it has no array '{member}'; the store is damaged"):
        case.read(root)


def test_words_are_trusted_with_their_activations(tiny_models, tmp_path):
    from engine.config import validate_config
    from engine.extract import run_extraction
    from engine.store.artefacts import activation_layer, open_activations, read_words

    files = {}
    for lang, sentences in SENTENCES.items():
        files[lang] = tmp_path / f"{lang}.txt"
        files[lang].write_text("\n".join(" ".join(s) for s in sentences) + "\n", encoding="utf-8")
    config = validate_config({"models": [{"name": str(tiny_models["bert"]), "label": "tiny"}],
                              "corpus": {"source": "text", "files": {k: str(v) for k, v in files.items()}},
                              "extract": {"device": "cpu"}, "store": {"path": str(tmp_path / "x.zarr")}})
    run_extraction(config, progress=False)
    root = open_store(config.store.path, mode="r+")
    words = read_words(root, "tiny", "encoder", "en")
    assert words["sentence"].tolist() == [s for s, sentence in enumerate(SENTENCES["en"]) for _ in sentence]
    assert activation_layer(root, "tiny", "encoder", "en", 2).shape[0] == len(words["type_id"])
    with pytest.raises(StoreError, match="activations 'activations/tiny/encoder/en' have no layer_9"):
        activation_layer(root, "tiny", "encoder", "en", 9)
    name = layout.activations_path("tiny", "encoder", "en")
    root[name].attrs["complete"] = False
    for read in (lambda: open_activations(root, "tiny", "encoder", "en"), lambda: read_words(root, "tiny", "encoder",
                                                                                             "en")):
        with pytest.raises(StoreError, match=f"activations '{name}' are incomplete"):
            read()
    assert read_words(root, "tiny", "encoder", "en", resuming=True)["type_id"].shape == words["type_id"].shape


def test_the_alignment_fixture_has_a_source_aligned_to_several_targets():
    """So the stored relation's round trip above covers multi-target sources."""
    assert max(len(t) for t in _calign().forward.target_lists()) > 1
