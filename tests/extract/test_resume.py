"""Interrupted extraction resumes and ends with the same arrays as an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import yaml

from engine.config import validate_config
from engine.errors import StoreError
from engine.extract import run_extraction
from engine.extract import stage as stage_module
from engine.store import layout, open_store, store_info


def bible_lines(n: int) -> dict[str, list[str]]:
    from engine.corpus import load_bible

    corpus = load_bible(["en", "de"], count=n)
    return {lang: [" ".join(words) for words in corpus.words(lang)] for lang in corpus.languages}


def config_dict(model, tmp_path, store_name: str, n: int = 60) -> dict:
    files = {}
    for lang, lines in bible_lines(n).items():
        path = tmp_path / f"{lang}.txt"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        files[lang] = str(path)
    return {
        "models": [{"name": str(model), "label": "tiny"}],
        "corpus": {"source": "text", "files": files, "pretokenized": True},
        "extract": {"batch_tokens": 256, "layers": [0, 2], "device": "cpu"},
        "store": {"path": str(tmp_path / store_name), "chunk_rows": 32, "shard_rows": 64},
    }


def arrays(store) -> dict[str, np.ndarray]:
    root = open_store(store)
    out = {}
    for lang in ("en", "de"):
        for layer in (0, 2):
            out[f"{lang}/{layer}"] = root[layout.activations_path("tiny", "encoder", lang)][f"layer_{layer}"][:]
        for key in ("type_id", "sentence", "position"):
            out[f"{lang}/{key}"] = root[layout.words_path("tiny", "encoder", lang)][key][:]
    return out


def test_interrupt_then_resume_equals_uninterrupted(tiny_models, tmp_path, monkeypatch):
    full = validate_config(config_dict(tiny_models["xlmr"], tmp_path, "full.zarr"))
    run_extraction(full, progress=False)
    expected = arrays(full.store.path)

    cut = validate_config(config_dict(tiny_models["xlmr"], tmp_path, "cut.zarr"))
    calls = {"n": 0}
    real = stage_module.make_batches

    def interrupting(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:  # inside the fourth shard of the first language
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(stage_module, "make_batches", interrupting)
    with pytest.raises(KeyboardInterrupt):
        run_extraction(cut, progress=False)
    monkeypatch.setattr(stage_module, "make_batches", real)

    info = store_info(cut.store.path)["activations"]
    assert len(info) == 1 and not info[0]["complete"]
    assert 0 < info[0]["shards_done"] < info[0]["shards"]
    with pytest.raises(StoreError, match="incomplete"):
        from engine.store import open_activations

        open_activations(open_store(cut.store.path), "tiny", "encoder", "en")

    summaries = run_extraction(cut, progress=False)
    assert summaries[0].shards_computed == info[0]["shards"] - info[0]["shards_done"]
    got = arrays(cut.store.path)
    for key, value in expected.items():
        np.testing.assert_array_equal(got[key], value, err_msg=key)

    again = run_extraction(cut, progress=False)  # complete: nothing recomputed
    assert [s.shards_computed for s in again] == [0, 0]


def test_kill_minus_nine_then_resume(tiny_models, tmp_path):
    """A real process killed with SIGKILL mid-extraction; the re-run completes with identical arrays."""
    data = config_dict(tiny_models["bert"], tmp_path, "killed.zarr", n=150)
    data["extract"]["batch_tokens"] = 256
    data["store"].update({"chunk_rows": 32, "shard_rows": 64})
    path = tmp_path / "killed.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    done_dir = tmp_path / "killed.zarr" / "activations" / "tiny" / "encoder" / "en" / "shard_done" / "c"
    proc = subprocess.Popen([sys.executable, "-m", "engine.cli", "extract", str(path), "--no-progress"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ})
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if done_dir.exists() and len(list(done_dir.iterdir())) >= 3:
                break
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert done_dir.exists(), "the extraction never reached its third shard"
    info = store_info(tmp_path / "killed.zarr")["activations"]
    assert not all(group["complete"] for group in info)

    run_extraction(validate_config(data), progress=False)
    data_full = {**data, "store": {**data["store"], "path": str(tmp_path / "clean.zarr")}}
    run_extraction(validate_config(data_full), progress=False)
    got, expected = arrays(tmp_path / "killed.zarr"), arrays(tmp_path / "clean.zarr")
    for key, value in expected.items():
        np.testing.assert_array_equal(got[key], value, err_msg=key)
