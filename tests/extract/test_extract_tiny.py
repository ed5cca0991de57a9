"""Extraction with tiny random models: stored vectors equal a literal per-sentence forward pass."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import zarr

from engine.config import validate_config
from engine.extract import run_extraction
from engine.store import layout, open_store
from tests.extract.reference import reference_vectors

EN = [
    "In the beginning God created the heaven and the earth .",
    "Unbelievably , the well-known philosopher's manuscripts (1611) were re-examined !",
    "And God said , Let there be light : and there was light .",
    "Zwölf Boxkämpfer jagen Viktor quer über den großen Sylter Deich .",
    "x",
]
DE = [
    "Im Anfang schuf Gott die Himmel und die Erde .",
    "Unglaublicherweise wurden die Manuskripte des bekannten Philosophen ( 1611 ) erneut geprüft !",
    "Und Gott sprach : Es werde Licht ! und es ward Licht .",
    "The quick brown fox jumps over the lazy dog .",
    "y",
]


def write_corpus(folder: Path) -> dict[str, str]:
    files = {}
    for lang, lines in (("en", EN), ("de", DE)):
        path = folder / f"{lang}.txt"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        files[lang] = str(path)
    return files


def make_config(model: Path, files: dict[str, str], store: Path, **extract) -> object:
    return validate_config({
        "models": [{"name": str(model), "label": "tiny"}],
        "corpus": {"source": "text", "files": files, "pretokenized": True},
        "extract": {"batch_tokens": 64, "device": "cpu", **extract},
        "store": {"path": str(store), "chunk_rows": 8, "shard_rows": 16},
    })


def stored_vectors(store: Path, side: str, lang: str, layers: list[int]) -> dict[tuple[int, int], np.ndarray]:
    root = open_store(store)
    group = root[layout.activations_path("tiny", side, lang)]
    assert group.attrs["complete"] is True
    words = root[layout.words_path("tiny", side, lang)]
    sent, pos = words["sentence"][:], words["position"][:]
    stacked = np.stack([group[layout.layer_name(i)][:] for i in layers], axis=1).astype(np.float32)
    return {(int(s), int(p)): stacked[r] for r, (s, p) in enumerate(zip(sent, pos, strict=True))}


def assert_match(stored: dict, reference: dict) -> None:
    assert stored.keys() == reference.keys()
    for key, ref in reference.items():
        np.testing.assert_allclose(stored[key], ref, rtol=2e-3, atol=5e-3, err_msg=str(key))


@pytest.mark.parametrize("aggregation", ["first", "last", "mean"])
@pytest.mark.parametrize("kind", ["bert", "xlmr", "t5"])
def test_encoder_vectors_equal_direct_forward(tiny_models, tmp_path, kind, aggregation):
    files = write_corpus(tmp_path)
    store = tmp_path / "run.zarr"
    config = make_config(tiny_models[kind], files, store, aggregation=aggregation)
    [summary_en, summary_de] = run_extraction(config, progress=False)
    layers = [0, 1, 2]
    assert summary_en.layers == layers
    for lang, lines in (("en", EN), ("de", DE)):
        sentences = [line.split() for line in lines]
        ref = reference_vectors(tiny_models[kind], sentences, layers, aggregation)
        assert_match(stored_vectors(store, "encoder", lang, layers), ref)


def test_multi_subword_words_are_present(tiny_models):
    """The corpus really exercises aggregation: some words split into several subwords."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_models["xlmr"])
    enc = tok(EN[1].split(), is_split_into_words=True)
    counts = np.bincount([w for w in enc.word_ids() if w is not None])
    assert counts.max() >= 3


@pytest.mark.parametrize("aggregation", ["last", "mean"])
def test_decoder_vectors_equal_teacher_forced_labels(tiny_models, tmp_path, aggregation):
    files = write_corpus(tmp_path)
    store = tmp_path / "run.zarr"
    config = make_config(tiny_models["t5"], files, store, aggregation=aggregation, sides=["encoder", "decoder"])
    summaries = run_extraction(config, progress=False)
    assert [(s.side, s.lang) for s in summaries] == [("encoder", "en"), ("encoder", "de"), ("decoder", "en"),
                                                      ("decoder", "de")]
    root = open_store(store)
    assert root[layout.activations_path("tiny", "decoder", "de")].attrs["source_lang"] == "en"
    de = [line.split() for line in DE]
    en = [line.split() for line in EN]
    ref = reference_vectors(tiny_models["t5"], de, [0, 1, 2], aggregation, side="decoder", sources=en)
    assert_match(stored_vectors(store, "decoder", "de", [0, 1, 2]), ref)


@pytest.mark.parametrize("kind", ["bert", "t5"])
@pytest.mark.parametrize("layers", [[0], [1], [0, 1]])
def test_truncated_forward_equals_full(tiny_models, tmp_path, kind, layers):
    """Stopping the model below the top layer gives the same vectors as the full pass."""
    files = write_corpus(tmp_path)
    store = tmp_path / "run.zarr"
    run_extraction(make_config(tiny_models[kind], files, store, layers=layers), progress=False)
    ref = reference_vectors(tiny_models[kind], [line.split() for line in EN], layers, "last")
    assert_match(stored_vectors(store, "encoder", "en", layers), ref)


def test_store_reads_with_plain_zarr_and_dask(tiny_models, tmp_path):
    import dask.array as da

    files = write_corpus(tmp_path)
    store = tmp_path / "run.zarr"
    run_extraction(make_config(tiny_models["bert"], files, store), progress=False)
    array = zarr.open_array(str(store / "activations/tiny/encoder/en/layer_1"), mode="r")
    assert array.dtype == np.float16
    assert array.shape == (sum(len(line.split()) for line in EN), 64)
    lazy = da.from_zarr(str(store / "activations/tiny/encoder/en/layer_1"))
    np.testing.assert_array_equal(lazy.compute(), array[:])
    assert not np.isnan(array[:]).any()
    vocab = zarr.open_array(str(store / "vocab/en"), mode="r")[:]
    type_id = zarr.open_array(str(store / "words/tiny/encoder/en/type_id"), mode="r")[:]
    assert [str(vocab[t]) for t in type_id[:3]] == ["In", "the", "beginning"]
    root = open_store(store)
    attrs = root["activations/tiny/encoder/en"].attrs
    assert attrs["aggregation"] == "last" and attrs["compute_dtype"] == "float32"
    assert attrs["storage_dtype"] == "float16" and attrs["complete"] is True


def test_bfloat16_compute_is_recorded_and_close(tiny_models, tmp_path):
    files = write_corpus(tmp_path)
    store = tmp_path / "run.zarr"
    run_extraction(make_config(tiny_models["bert"], files, store, dtype="bfloat16"), progress=False)
    root = open_store(store)
    assert root["activations/tiny/encoder/en"].attrs["compute_dtype"] == "bfloat16"
    ref = reference_vectors(tiny_models["bert"], [line.split() for line in EN], [0, 1, 2], "last")
    stored = stored_vectors(store, "encoder", "en", [0, 1, 2])
    for key, value in ref.items():
        np.testing.assert_allclose(stored[key], value, atol=0.15)


@pytest.mark.parametrize("mode", ["window", "skip"])
def test_long_sentences_windowed_or_skipped_and_reported(tiny_models, tmp_path, mode):
    long_en = " ".join(f"word{i % 37}" for i in range(200))  # far over the tiny model's 128 tokens
    files = {}
    for lang, lines in (("en", [EN[0], long_en]), ("de", [DE[0], "kurz ."])):
        path = tmp_path / f"{lang}.txt"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        files[lang] = str(path)
    store = tmp_path / "run.zarr"
    [summary, _] = run_extraction(make_config(tiny_models["bert"], files, store, long_sentences=mode), progress=False)
    n_short = len(EN[0].split())
    if mode == "window":
        assert summary.stats["windowed_sentences"] == 1 and summary.stats["segments"] >= 3
        assert summary.n_rows == n_short + 200
        from transformers import AutoTokenizer

        from engine.extract.plan import plan_sentences

        tokenizer = AutoTokenizer.from_pretrained(tiny_models["bert"])
        [plan] = plan_sentences(tokenizer, [long_en.split()], 1, 128, "window")
        rows = stored_vectors(store, "encoder", "en", [2])
        for segment in plan.segments:  # each window is its own model input: equal to a pass over its words
            assert len(segment) <= 128
            positions = sorted(set(segment.token_word[segment.token_word >= 0].tolist()))
            ref = reference_vectors(tiny_models["bert"], [[long_en.split()[p] for p in positions]], [2], "last")
            for i, p in enumerate(positions):
                np.testing.assert_allclose(rows[(1, p)], ref[(0, i)], rtol=2e-3, atol=5e-3)
    else:
        assert summary.stats["skipped_sentences"] == 1
        assert summary.n_rows == n_short and summary.stats["missing_words"] == 200
        root = open_store(store)
        missing = root[layout.missing_path("tiny", "encoder", "en")]
        assert set(missing["sentence"][:]) == {1}
