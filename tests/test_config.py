"""Config validation: every bad key or value is named, overrides apply, hashes are stable."""

from __future__ import annotations

import pytest

from engine.config import apply_overrides, load_config, validate_config
from engine.errors import ConfigError

BASE = {"models": [{"name": "me5-small"}], "corpus": {"source": "bible", "languages": ["en", "de"], "count": 5}}


def write(tmp_path, text: str):
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_follow_the_reference():
    config = validate_config(BASE)
    assert config.extract.aggregation == "last"
    assert config.extract.layers == "all"
    assert config.extract.sides == ["encoder"]
    assert config.store.shard_rows % config.store.chunk_rows == 0


def test_unknown_key_names_key_and_allowed(tmp_path):
    path = write(tmp_path, "models: [{name: me5-small}]\ncorpus: {source: bible, languages: [en]}\n"
                           "extract: {agregation: mean}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert str(path) in message
    assert "unknown key 'extract.agregation'" in message
    assert "aggregation" in message.split("allowed keys:")[1]


def test_bad_value_names_allowed_values():
    with pytest.raises(ConfigError, match=r"extract.aggregation: Input should be 'first', 'last' or 'mean'; "
                                          r"got 'avg'"):
        validate_config({**BASE, "extract": {"aggregation": "avg"}})


def test_unknown_corpus_source():
    with pytest.raises(ConfigError, match="corpus"):
        validate_config({**BASE, "corpus": {"source": "wiki", "languages": ["en"]}})


def test_malformed_yaml_names_line(tmp_path):
    path = write(tmp_path, "models:\n  - name: me5-small\n corpus: [\n")
    with pytest.raises(ConfigError, match=r"c.yaml: line \d+, column \d+: malformed YAML"):
        load_config(path)


def test_missing_file():
    with pytest.raises(ConfigError, match="does not exist"):
        load_config("no/such/config.yaml")


def test_overrides_parse_yaml_values(tmp_path):
    path = write(tmp_path, "models: [{name: me5-small}]\ncorpus: {source: bible, languages: [en, de]}\n")
    config = load_config(path, ["extract.batch_tokens=64", "extract.layers=[0, 6]", "store.path=x.zarr",
                                "corpus.count=3"])
    assert config.extract.batch_tokens == 64
    assert config.extract.layers == [0, 6]
    assert str(config.store.path) == "x.zarr"
    assert config.corpus.count == 3
    with pytest.raises(ConfigError, match="of the form key.sub=value"):
        apply_overrides({}, ["extract.batch_tokens"])
    with pytest.raises(ConfigError, match="unknown key 'extract.batch_size'"):
        load_config(path, ["extract.batch_size=3"])


def test_shard_rows_must_be_multiple():
    with pytest.raises(ConfigError, match="shard_rows=100 must be a multiple of chunk_rows=64"):
        validate_config({**BASE, "store": {"chunk_rows": 64, "shard_rows": 100}})


def test_decoder_sources_must_name_corpus_languages():
    with pytest.raises(ConfigError, match="'fr', not in corpus"):
        validate_config({**BASE, "extract": {"decoder_sources": {"de": "fr"}}})


def test_model_keys():
    config = validate_config({**BASE, "models": [{"name": "google/mt5-base"}, {"name": "/abs/folder/xlmr/"}]})
    assert [m.key for m in config.models] == ["google--mt5-base", "xlmr"]
    with pytest.raises(ConfigError, match="model keys must be distinct"):
        validate_config({**BASE, "models": [{"name": "a/x"}, {"name": "a/x"}]})


def test_config_hash_stable_and_sensitive():
    a, b = validate_config(BASE), validate_config(BASE)
    assert a.config_hash() == b.config_hash()
    c = validate_config({**BASE, "extract": {"aggregation": "mean"}})
    assert c.config_hash() != a.config_hash()


def test_shipped_configs_validate():
    from pathlib import Path

    folder = Path(__file__).resolve().parent.parent / "configs"
    configs = sorted(folder.glob("*.yaml"))
    assert {p.name for p in configs} >= {"default.yaml", "paper.yaml"}
    for path in configs:
        load_config(path)


def test_batch_tokens_default_depends_on_the_device_and_its_free_memory():
    import torch

    from engine.config import ExtractSpec
    from engine.extract.memory import batch_tokens_for, cuda_batch_tokens

    assert ExtractSpec().batch_tokens is None
    assert batch_tokens_for(None, None, [0], torch.device("cpu"), 4) == 2048
    assert batch_tokens_for(512, None, [0], torch.device("cuda"), 2) == 512
    gib = 2**30
    # me5-small (13 states of 384, MLP 1536, 12 heads) in bfloat16 on 70 GiB free: the upper clamp
    assert cuda_batch_tokens(70 * gib, hidden=384, intermediate=1536, heads=12, states=13, dtype_bytes=2) == 65536
    # an 8B decoder (33 states of 4096, MLP 14336, 32 heads) in bfloat16 with 20 GiB free beside its weights:
    # 426 kB a token
    eight_b = cuda_batch_tokens(20 * gib, hidden=4096, intermediate=14336, heads=32, states=33, dtype_bytes=2)
    assert 2 * (4096 * 37 + 2 * 14336) + 4 * 32 * 512 == 425_984
    assert eight_b == 10 * gib // 425_984 == 25_206
    assert cuda_batch_tokens(2 * gib, hidden=4096, intermediate=14336, heads=32, states=33, dtype_bytes=2) == 2520
    assert cuda_batch_tokens(10**6, hidden=4096, intermediate=14336, heads=32, states=33, dtype_bytes=2) == 1024
