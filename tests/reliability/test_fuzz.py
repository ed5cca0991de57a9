"""Fuzz: random selection configs on a real store never exceed their caps or break their rules, and
CALIGN / COLAP over random clusterings of what they select always lie in [0, 1]."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.config import validate_config
from engine.store import layout, open_store

from .helpers import config_data

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
FREQUENCY = st.integers(0, 4)
CEILING = st.one_of(st.none(), st.integers(0, 60))


@pytest.fixture(scope="module")
def store_data(tiny_models, bible_links, tmp_path_factory):
    """A store with extracted words and imported links: what the selection stage reads."""
    from engine.align.stage import run_align
    from engine.extract import run_extraction

    data = config_data(tiny_models["bert"], bible_links, tmp_path_factory.mktemp("fuzz"), "fuzz")
    data["extract"]["layers"] = [0]
    config = validate_config(data)
    run_extraction(config, progress=False)
    run_align(config)
    root = open_store(config.store.path)
    assert all(root[layout.missing_path("tiny", "encoder", lang)]["sentence"].shape[0] == 0 for lang in ("en", "de"))
    return data


@st.composite
def select_sections(draw):
    return {
        "max_sentence_words": draw(st.integers(5, 80)),
        "colap": {"max_per_type": draw(st.integers(1, 20)), "sampling": draw(st.sampled_from(["first", "reservoir"])),
                  "seed": draw(st.integers(0, 9)), "min_frequency": draw(FREQUENCY),
                  "delete_frequency": draw(CEILING)},
        "calign": {"max_per_pair": draw(st.integers(1, 20)), "min_frequency": draw(FREQUENCY),
                   "delete_frequency": draw(CEILING), "duplicates": draw(st.sampled_from(["reference", "dedup"]))},
    }


def _sentence_lengths(root, lang: str) -> np.ndarray:
    return np.array([len(str(line).split()) for line in root[layout.corpus_path(lang)][:]])


@SETTINGS
@given(select=select_sections(), seed=st.integers(0, 2**16), theta=st.floats(0, 1), top_n=st.integers(1, 5),
       min_types=st.integers(0, 3), size_ratio=st.floats(0, 2), colap_theta=st.floats(0, 0.6))
def test_selections_keep_their_caps_and_metrics_stay_in_unit_interval(store_data, select, seed, theta, top_n,
                                                                      min_types, size_ratio, colap_theta):
    from engine.dictionary.store import read_store_dictionary
    from engine.metrics import TypeClusters, calign, colap
    from engine.select import run_select
    from engine.select.store import calign_name, read_selection
    from engine.store import read_strings

    config = validate_config({**store_data, "select": select})
    run_select(config)
    root = open_store(config.store.path)
    keep = (_sentence_lengths(root, "en") < select["max_sentence_words"]) & (
        _sentence_lengths(root, "de") < select["max_sentence_words"])
    rng = np.random.default_rng(seed)
    joint_labels, joint_langs = [], []
    for index, lang in enumerate(("en", "de")):
        chosen = read_selection(root, "colap", "tiny", "encoder", lang)
        words = root[layout.words_path("tiny", "encoder", lang)]
        sentence, type_id = words["sentence"][:], words["type_id"][:]
        assert np.all(np.diff(chosen.rows) > 0)  # rows unique and ascending
        assert np.all(type_id[chosen.rows] == chosen.type_id)
        assert keep[sentence[chosen.rows]].all()
        per_type = np.bincount(chosen.type_id) if len(chosen) else np.zeros(0, int)
        assert per_type.max(initial=0) <= select["colap"]["max_per_type"]
        counts = np.bincount(type_id[keep[sentence]], minlength=len(per_type))  # corpus frequency, kept pairs
        present = np.flatnonzero(per_type)
        assert (counts[present] >= select["colap"]["min_frequency"]).all()
        if select["colap"]["delete_frequency"] is not None:
            assert (counts[present] <= select["colap"]["delete_frequency"]).all()
        joint_labels.append(rng.integers(0, 6, len(chosen)))
        joint_langs.append(np.full(len(chosen), index))

    name = calign_name("en", "de")
    src, tgt = (read_selection(root, name, "tiny", "encoder", lang) for lang in ("en", "de"))
    if select["calign"]["duplicates"] == "reference":
        assert len(src) == len(tgt)  # one source and one target row per kept link
    pair = src.type_id.astype(np.int64) * (int(src.partner_type.max(initial=0)) + 1) + src.partner_type
    linked = np.unique(pair, return_counts=True)[1]
    assert linked.max(initial=0) <= select["calign"]["max_per_pair"]
    if select["calign"]["duplicates"] == "dedup":
        assert len(np.unique(src.rows)) == len(src.rows)
    else:  # every token has a vector here (see store_data): a kept pair has min(cap, its link frequency) rows
        assert (linked >= min(select["calign"]["max_per_pair"], select["calign"]["min_frequency"])).all()

    if len(src) >= 2:
        k = int(rng.integers(1, min(len(src), 8) + 1))
        clusters = [TypeClusters.from_tokens(rng.integers(0, k, len(sel)), sel.type_id, n_clusters=k,
                                             vocab=read_strings(root, layout.vocab_path(lang)))
                    for sel, lang in ((src, "en"), (tgt, "de"))]
        result = calign(*clusters, read_store_dictionary(root, "en", "de"), theta=theta, top_n=top_n,
                        min_types=min_types, size_ratio=size_ratio, repeats=3, seed=seed)
        for direction in (result.forward, result.backward):
            for value in (direction.value, direction.value_eligible, direction.null.mean):
                assert np.isnan(value) or 0.0 <= value <= 1.0
    labels, langs = np.concatenate(joint_labels), np.concatenate(joint_langs)
    if len(labels):
        overlap = colap(labels, langs, languages=["en", "de"], n_clusters=6, theta=colap_theta, repeats=3, seed=seed)
        assert 0.0 <= overlap.value <= 1.0 and 0.0 <= overlap.null.mean <= 1.0
