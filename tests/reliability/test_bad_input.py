"""Bad input across the pipeline, one test each, with the exact message a user sees.

(An unreachable scheduler address: ``tests/schedule/test_run.py::test_unreachable_scheduler_is_named``.)
"""

from __future__ import annotations

import logging
import subprocess
import sys

import numpy as np
import pytest

from engine.errors import ConfigError, InputDataError, ModelUnavailableError

BIBLE = {"models": [{"name": "me5-small"}], "corpus": {"source": "bible", "languages": ["en", "de"]}}


def _write(path, text: str | bytes):
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_mismatched_line_counts(tmp_path):
    from engine.corpus.textfiles import load_text_files

    en, de = _write(tmp_path / "en.txt", "one two\nthree\n"), _write(tmp_path / "de.txt", "eins zwei\n")
    with pytest.raises(InputDataError) as info:
        load_text_files({"en": en, "de": de})
    assert str(info.value) == (f"line counts of load_text_files must be equal across files; got "
                               f"{{'{en}': 2, '{de}': 1}}")


def test_empty_lines_drop_the_pair_and_are_counted(tmp_path, caplog):
    from engine.corpus.textfiles import load_text_files

    en, de = _write(tmp_path / "en.txt", "one\n\nthree\n"), _write(tmp_path / "de.txt", "eins\nzwei\ndrei\n")
    with caplog.at_level(logging.WARNING, logger="engine"):
        corpus = load_text_files({"en": en, "de": de})
    assert corpus.n_sentences() == 2 and corpus.stats["dropped_empty"] == {"en": 1, "de": 0}
    assert caplog.messages == ["load_text_files: dropped 1 of 3 sentence pairs empty in at least one language "
                               "(per language: {'en': 1, 'de': 0}); first: line 2"]


def test_invalid_utf8_names_file_line_and_byte(tmp_path):
    from engine.corpus.textfiles import load_text_files

    en, de = _write(tmp_path / "en.txt", b"ok line\nbad \xff byte\n"), _write(tmp_path / "de.txt", "gut\nschlecht\n")
    with pytest.raises(InputDataError) as info:
        load_text_files({"en": en, "de": de})
    assert str(info.value) == (f"line 2 of {en} must be valid UTF-8 (invalid start byte at byte 4 of the line); "
                               f"got b'bad \\xff byte'")


@pytest.fixture(scope="module")
def xlmr_tokenizer_model(tmp_path_factory):
    """A one-layer random BERT behind the real XLM-R tokenizer (the one me5-small ships), 64 positions: real
    segmentation of odd characters, and sentences that easily exceed the model maximum."""
    import torch
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    from engine.material.me5_tokenizer import shipped_tokenizer_path

    folder = tmp_path_factory.mktemp("xlmr-tok-model")
    tokenizer = PreTrainedTokenizerFast(tokenizer_file=str(shipped_tokenizer_path()), bos_token="<s>",
                                        eos_token="</s>", unk_token="<unk>", pad_token="<pad>", cls_token="<s>",
                                        sep_token="</s>", mask_token="<mask>", model_max_length=64)
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=32, max_position_embeddings=64, pad_token_id=tokenizer.pad_token_id)
              ).save_pretrained(folder)
    return folder


def test_long_sentences_and_words_without_subwords_are_counted_and_named(xlmr_tokenizer_model, tmp_path, caplog):
    """A 100-word sentence (over the 64-token maximum) is windowed; a control character, which the tokenizer
    maps to nothing, gets no row, is listed under missing/ and never shifts its neighbours."""
    from engine.config import validate_config
    from engine.extract import run_extraction
    from engine.store import layout, open_store

    long_line = " ".join(f"w{i}" for i in range(100))
    en = _write(tmp_path / "en.txt", f"In the \x07 beginning\n{long_line}\n")
    de = _write(tmp_path / "de.txt", "Im Anfang\nkurz\n")
    config = validate_config({
        "models": [{"name": str(xlmr_tokenizer_model), "label": "m"}],
        "corpus": {"source": "text", "files": {"en": str(en), "de": str(de)}, "pretokenized": True},
        "extract": {"layers": [1]}, "store": {"path": str(tmp_path / "s.zarr")}})
    with caplog.at_level(logging.WARNING):
        [summary, _] = run_extraction(config, progress=False)
    assert summary.stats["missing_words"] == 1 and summary.stats["windowed_sentences"] == 1
    assert summary.n_rows == 4 - 1 + 100
    name = "activations/m/encoder/en"
    assert caplog.messages == [
        f"{name}: 1 words yield no subword or exceed the model length; they get no vector (listed in "
        f"missing/m/encoder/en)",
        f"{name}: 1 sentences over 64 tokens split into windows, 0 skipped",
    ]
    root = open_store(tmp_path / "s.zarr")
    assert root[layout.missing_path("m", "encoder", "en")]["position"][:].tolist() == [2]
    words = root[layout.words_path("m", "encoder", "en")]
    assert words["position"][:4].tolist() == [0, 1, 3, 0]  # "beginning" keeps position 3


@pytest.mark.parametrize("pretokenized", [True, False])
def test_a_word_of_zero_width_characters_gets_no_row_and_is_counted(pretokenized, xlmr_tokenizer_model, tmp_path):
    """Pretokenized, the XLM-R tokenizer turns a lone zero-width joiner into a bare "▁": still no row, listed
    as missing. Through the word tokenizer the word is removed before extraction and counted in the corpus."""
    from engine.config import validate_config
    from engine.extract import run_extraction
    from engine.store import layout, open_store

    en = _write(tmp_path / "en.txt", "In the \u200d\u200c beginning\n")
    de = _write(tmp_path / "de.txt", "Im Anfang\n")
    config = validate_config({
        "models": [{"name": str(xlmr_tokenizer_model), "label": "m"}],
        "corpus": {"source": "text", "files": {"en": str(en), "de": str(de)}, "pretokenized": pretokenized},
        "extract": {"layers": [1]}, "store": {"path": str(tmp_path / "s.zarr")}})
    [summary, _] = run_extraction(config, progress=False)
    assert summary.n_rows == 3
    root = open_store(tmp_path / "s.zarr")
    words = root[layout.words_path("m", "encoder", "en")]
    missing = root[layout.missing_path("m", "encoder", "en")]["position"][:].tolist()
    if pretokenized:
        assert summary.stats["missing_words"] == 1 and missing == [2]
        assert words["position"][:].tolist() == [0, 1, 3]
        assert "invisible_words_removed" not in root.attrs["corpus_source"]
    else:
        assert summary.stats["missing_words"] == 0 and missing == []
        assert words["position"][:].tolist() == [0, 1, 2]
        assert root.attrs["corpus_source"]["invisible_words_removed"] == {"en": 1, "de": 0}


def test_unknown_bible_language():
    from engine.corpus import load_bible

    with pytest.raises(ConfigError) as info:
        load_bible(["en", "xx"], count=3)
    assert str(info.value) == ("language of load_bible must be one of ['ar', 'de', 'en', 'es', 'fr', 'it', 'ru']; "
                               "got 'xx'")


def test_unknown_model_fails_at_once_offline(monkeypatch):
    import torch

    from engine.config import ModelSpec
    from engine.extract.models import load_model

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailableError) as info:
        load_model(ModelSpec(name="no-such-org/no-such-model"), torch.device("cpu"))
    assert str(info.value).startswith(
        "model 'no-such-org/no-such-model' is not an embedded material name (me5-small, gemma-3-270m), not a local "
        "folder, and not in the local Hugging Face cache; ")


@pytest.mark.parametrize(("section", "expected"), [
    ({"cluster": {"backend": "gpu"}},
     "cluster.backend: Input should be 'auto', 'torch', 'sklearn', 'cuml' or 'faiss'; got 'gpu'"),
    ({"run": {"scheduler": "mycluster"}},
     "run.scheduler: Value error, must be auto, local, cuda, sync, slurm or a scheduler address such as "
     "tcp://127.0.0.1:8786; got 'mycluster'"),
    ({"run": {"scheduler": "slurm", "slurm": {"jobs_min": 3, "jobs_max": 2}}},
     "run.slurm: Value error, jobs_min=3 must be <= jobs_max=2; got {'jobs_min': 3, 'jobs_max': 2}"),
    ({"run": {"slurm": {"gpus": 4, "cores": 2}}},
     "run.slurm: Value error, gpus=4 needs cores >= gpus (each GPU worker has its own thread); got cores=2; got "
     "{'gpus': 4, 'cores': 2}"),
    ({"run": {"slurm": {"cpu": {"jobs": 2}}}},
     "run.slurm: Value error, cpu.jobs=2 adds CPU-only jobs beside GPU jobs, but gpus=0 makes every job a CPU job "
     "already: raise jobs_min/jobs_max instead; got {'cpu': {'jobs': 2}}"),
    ({"run": {"slurm": {"gpus": 1, "cpu": {"walltime": "forever"}}}},
     "run.slurm.cpu.walltime: String should match pattern '^(\\d+-)?\\d{1,2}:\\d{2}(:\\d{2})?$'; got 'forever'"),
    ({"run": {"slurm": {"walltime": 3600}}},
     "run.slurm.walltime: Input should be a valid string; got 3600"),
    ({"run": {"slurm": {"memory": "lots"}}},
     "run.slurm.memory: String should match pattern '^\\d+(\\.\\d+)?\\s*[KMGT]i?B$'; got 'lots'"),
    ({"cluster": {"kss": [3]}},
     "unknown key 'cluster.kss'; allowed keys: backend, device, ks, max_iter, metric_ks, mode, n_init, n_seeds, "
     "normalize, prune, seed, tol, whiten"),
    ({"cluster": {"mode": "reference", "whiten": True}},
     "cluster: Value error, cluster.whiten must be False with cluster.mode reference (scikit-learn's KMeans with its "
     "own defaults, as the released scripts call it); got {'mode': 'reference', 'whiten': True}"),
    ({"cluster": {"n_seeds": 0}},
     "cluster.n_seeds: Input should be greater than or equal to 1; got 0"),
    ({"clusterr": {}},
     "unknown key 'clusterr'; allowed keys: align, cluster, corpus, extract, metrics, models, run, select, store"),
])
def test_bad_config_values_and_unknown_keys(section, expected):
    from engine.config import validate_config

    with pytest.raises(ConfigError) as info:
        validate_config({**BIBLE, **section})
    assert str(info.value) == f"<config>: invalid configuration:\n  - {expected}"


def test_malformed_yaml_names_file_line_and_column(tmp_path):
    bad = _write(tmp_path / "bad.yaml", "models:\n  - name: me5-small\ncorpus: {source: bible, languages: [en, de]\n")
    done = subprocess.run([sys.executable, "-m", "engine.cli", "run", str(bad)], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip() == (f"error: {bad}: line 4, column 1: malformed YAML: expected ',' or '}}', but got "
                                   f"'<stream end>'")


def test_k_larger_than_the_number_of_points():
    from engine.cluster.api import fit

    with pytest.raises(ConfigError) as info:
        fit(np.random.default_rng(0).random((10, 4), dtype=np.float32), 20, seed=0)
    assert str(info.value) == "K=20 must be <= number of points=10"


def test_dictionary_sharing_no_words_gives_zero_with_a_warning(tmp_path, caplog):
    from engine.metrics import TypeClusters, calign, read_reference_dictionary

    src = TypeClusters.from_words(["house", "tree", "dog", "cat"], [0, 0, 1, 1])
    tgt = TypeClusters.from_words(["Haus", "Baum", "Hund", "Katze"], [0, 0, 1, 1])
    path = _write(tmp_path / "d.txt", "car -> Auto: Probability = 0.9, Count = 9\n"
                                      "sun -> Sonne: Probability = 0.8, Count = 4\n")
    with caplog.at_level(logging.WARNING, logger="engine.metrics"):
        result = calign(src, tgt, read_reference_dictionary(path), theta=0.5, top_n=1, repeats=3)
    assert result.value == 0.0
    assert result.forward.value == 0.0 and result.backward.value == 0.0
    assert caplog.messages == [
        f"CALIGN {direction}: the dictionary shares no words with the clusters (0 of 4 source types has a "
        f"translation among the 4 target types present); the value is 0" for direction in ("forward", "backward")]


def test_link_index_out_of_range_names_file_line_and_sentence(tmp_path):
    from engine.align.links import read_pharaoh

    path = _write(tmp_path / "l.links", "0-0 1-1\n0-5\n")
    with pytest.raises(InputDataError) as info:
        read_pharaoh(path, [2, 2], [2, 2])
    assert str(info.value) == (f"{path}: line 2: target index 5 of link '0-5' must be < sentence length 2 "
                               f"(sentence 1)")
