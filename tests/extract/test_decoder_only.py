"""Decoder-only models (tiny random Llama, Qwen2 and Gemma 3 with their tokenizer families): one vector per word,
equal to a literal unpadded forward pass of the sentence as text; BOS and padding never leak into a word."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.extract import run_extraction
from engine.extract.words import encode_words, word_mode
from tests.extract.test_extract_tiny import DE, EN, assert_match, make_config, stored_vectors, write_corpus

CAUSAL = ["llama", "qwen2", "gemma3"]


def literal_token_words(text_words, offsets):
    """Each token's word: the word holding the token's last non-space character; a token of spaces only goes to
    the word after it; special tokens (empty spans) to none."""
    spans, at = [], 0
    for word in text_words:
        spans.append((at, at + len(word)))
        at += len(word) + 1
    out = []
    for lo, hi in offsets:
        owner = -1
        for index, (a, b) in enumerate(spans):
            if hi > lo and any(a <= c < b for c in range(lo, hi)):
                owner = index
        if hi > lo and owner == -1:
            owner = next((i for i, (a, _) in enumerate(spans) if a >= lo), -1)
        out.append(owner)
    return out


def reference_causal(folder, sentences, layers, aggregation):
    """{(sentence, position): [n_layers, hidden]}: each sentence alone (no padding) as text through the base
    model with output_hidden_states."""
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder).eval()
    out = {}
    for s, words in enumerate(sentences):
        enc = tokenizer(" ".join(words), return_offsets_mapping=True, return_tensors="pt")
        owners = literal_token_words(words, enc["offset_mapping"][0].tolist())
        with torch.no_grad():
            states = model(input_ids=enc["input_ids"], output_hidden_states=True).hidden_states
        for p in range(len(words)):
            idx = [t for t, w in enumerate(owners) if w == p]
            if idx:
                picked = {"first": idx[0], "last": idx[-1]}[aggregation]
                out[(s, p)] = np.stack([states[layer][0, picked].float().numpy() for layer in layers])
    return out


@pytest.mark.parametrize("aggregation", ["first", "last"])
@pytest.mark.parametrize("kind", CAUSAL)
def test_decoder_only_vectors_equal_an_unpadded_forward(tiny_models, tmp_path, kind, aggregation):
    """Batches of 64 padded tokens mix sentence lengths (right padding, attention mask; Llama has no pad token)."""
    files = write_corpus(tmp_path)
    store = tmp_path / "run.zarr"
    run_extraction(make_config(tiny_models[kind], files, store, aggregation=aggregation), progress=False)
    for lang, lines in (("en", EN), ("de", DE)):
        sentences = [line.split() for line in lines]
        ref = reference_causal(tiny_models[kind], sentences, [0, 1, 2], aggregation)
        assert_match(stored_vectors(store, "encoder", lang, [0, 1, 2]), ref)


@pytest.mark.parametrize("kind", CAUSAL)
def test_truncated_causal_forward_equals_full(tiny_models, tmp_path, kind):
    files = write_corpus(tmp_path)
    store = tmp_path / "run.zarr"
    run_extraction(make_config(tiny_models[kind], files, store, layers=[1]), progress=False)
    ref = reference_causal(tiny_models[kind], [line.split() for line in EN], [1], "last")
    assert_match(stored_vectors(store, "encoder", "en", [1]), ref)


def test_tokenizer_families_map_words(tiny_models):
    from transformers import AutoTokenizer

    words = ["Zwölf", "Boxkämpfer", "jagen", "(1611)", "Viktor", "."]
    for kind in CAUSAL:
        tok = AutoTokenizer.from_pretrained(tiny_models[kind])
        (ids, token_word), = encode_words(tok, [words])
        pieces = tok.convert_ids_to_tokens(ids.tolist())
        assert sorted(set(token_word.tolist()) - {-1}) == list(range(len(words))), kind  # every word has tokens
        assert (np.diff(token_word[token_word >= 0]) >= 0).all(), kind  # in word order
        specials = set(tok.all_special_ids)
        assert all((w == -1) == (i in specials) for i, w in zip(ids.tolist(), token_word.tolist(), strict=True))
        if kind == "qwen2":  # byte-level BPE: the space is part of the next word's first token; no BOS
            assert word_mode(tok) == "text" and tok.bos_token_id is None
            assert pieces[0] == "Z" and any(p.startswith("Ġ") for p in pieces)
            assert int((token_word == 0).sum()) >= 3  # "Zwölf": its "ö" alone is two byte pieces
        else:  # a BOS always in front, never part of a word
            assert ids[0] == tok.bos_token_id and token_word[0] == -1
        split = tok(words, is_split_into_words=True)["input_ids"]
        text = tok(" ".join(words))["input_ids"]
        assert list(ids) == list(text)  # the model sees the sentence as running text
        assert (split == text) == (word_mode(tok) == "words")
    assert AutoTokenizer.from_pretrained(tiny_models["llama"]).pad_token_id is None  # batches pad with id 0


def test_the_probe_keeps_encoders_on_their_word_ids(tiny_models):
    from transformers import AutoTokenizer

    from engine.material import prepare_material

    for folder in (tiny_models["bert"], tiny_models["xlmr"], tiny_models["t5"], prepare_material("me5-small")):
        assert word_mode(AutoTokenizer.from_pretrained(folder)) == "words"


def test_a_causal_model_runs_end_to_end(tiny_models, bible_links, tmp_path):
    from engine.config import validate_config
    from engine.report.tables import read_results
    from engine.schedule import run_pipeline

    config = validate_config({
        "models": [{"name": str(tiny_models["gemma3"]), "label": "tiny-gemma"}],
        "corpus": {"source": "bible", "languages": ["en", "de"], "count": 100},
        "extract": {"device": "cpu"},
        "align": {"links": {"en-de": str(bible_links)}},
        "cluster": {"ks": [8], "device": "cpu"},
        "metrics": {"repeats": 5, "device": "cpu"},
        "store": {"path": str(tmp_path / "run.zarr")},
        "run": {"dir": str(tmp_path / "run"), "scheduler": "sync", "report": False},
    })
    summary = run_pipeline(config, progress=False)
    results = read_results(summary.run_dir)
    assert sorted(results["layer"].unique()) == [0, 1, 2] and set(results["model"]) == {"tiny-gemma"}
    assert results["value"].between(0, 1).all()


def test_weights_in_bfloat16_halve_the_model_and_stay_close(tiny_models, tmp_path):
    from engine.config import ModelSpec
    from engine.extract.models import load_model
    from engine.store import layout, open_store

    spec = ModelSpec(name=str(tiny_models["llama"]), label="tiny", weights_dtype="bfloat16")
    loaded = load_model(spec, torch.device("cpu"))
    assert next(loaded.model.parameters()).dtype == torch.bfloat16
    assert "weights_dtype" in spec.identity() and "weights_dtype" not in ModelSpec(name="x").identity()
    files = write_corpus(tmp_path)
    full, half = tmp_path / "full.zarr", tmp_path / "half.zarr"
    run_extraction(make_config(tiny_models["llama"], files, full), progress=False)
    config = make_config(tiny_models["llama"], files, half)
    config = config.model_copy(update={"models": [spec]})
    run_extraction(config, progress=False)
    group = open_store(half)[layout.activations_path("tiny", "encoder", "en")]
    assert group.attrs["weights_dtype"] == "bfloat16"
    a, b = stored_vectors(full, "encoder", "en", [1, 2]), stored_vectors(half, "encoder", "en", [1, 2])
    for key, value in a.items():
        np.testing.assert_allclose(b[key], value, rtol=0.05, atol=0.05 * float(np.abs(value).max()), err_msg=str(key))


def test_a_model_placed_by_accelerate_gives_the_same_vectors(tiny_models, tmp_path):
    """device_map: the model is loaded through accelerate's placement (without GPUs it keeps every layer on
    the CPU, so only the load and gather path runs here, not a split); the vectors are those of the model moved
    whole. Such a run must be in process."""
    from engine.config import ModelSpec, validate_config
    from engine.errors import ConfigError
    from engine.extract.models import load_model

    spec = ModelSpec(name=str(tiny_models["qwen2"]), label="tiny", device_map="auto")
    loaded = load_model(spec, torch.device("cpu"))
    assert next(loaded.model.parameters()).device.type == "cpu"
    assert spec.identity() == ModelSpec(name=str(tiny_models["qwen2"]), label="tiny").identity()  # not content
    files = write_corpus(tmp_path)
    whole, placed = tmp_path / "whole.zarr", tmp_path / "placed.zarr"
    run_extraction(make_config(tiny_models["qwen2"], files, whole), progress=False)
    config = make_config(tiny_models["qwen2"], files, placed).model_copy(update={"models": [spec]})
    run_extraction(config, progress=False)
    a, b = stored_vectors(whole, "encoder", "de", [0, 1, 2]), stored_vectors(placed, "encoder", "de", [0, 1, 2])
    assert a.keys() == b.keys() and all(np.array_equal(a[key], b[key]) for key in a)
    data = config.model_dump(mode="json")
    data["run"]["scheduler"] = "local"
    with pytest.raises(ConfigError, match=r"spread over the node's GPUs \(device_map\), which one process drives: "
                                          r"set run.scheduler: sync \(got 'local'\)"):
        validate_config(data)
