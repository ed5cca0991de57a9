"""Extraction tasks keep their worker's model between tasks; a changed model folder or another thread loads anew."""

from __future__ import annotations

import os
import threading

import torch

from engine.config import ModelSpec
from engine.schedule import tasks


def test_model_is_kept_between_tasks_and_released(tiny_models):
    spec = ModelSpec(name=str(tiny_models["bert"]))
    cpu = torch.device("cpu")
    tasks.release_worker_model()
    first = tasks._worker_model(spec, cpu, True)
    assert tasks._worker_model(spec, cpu, True) is first
    assert tasks._worker_model(spec, cpu, False) is first  # weights also serve a tokenizer-only request
    tasks.release_worker_model()
    again = tasks._worker_model(spec, cpu, True)
    assert again is not first and again.model is not None
    tasks.release_worker_model()


def test_tokenizer_only_model_is_not_served_for_weights(tiny_models):
    spec = ModelSpec(name=str(tiny_models["xlmr"]))
    cpu = torch.device("cpu")
    tasks.release_worker_model()
    plan = tasks._worker_model(spec, cpu, False)
    assert plan.model is None
    full = tasks._worker_model(spec, cpu, True)
    assert full is not plan and full.model is not None
    tasks.release_worker_model()


def test_a_model_saved_again_in_place_is_loaded_again(tiny_models, tmp_path):
    import shutil

    folder = tmp_path / "model"
    shutil.copytree(tiny_models["bert"], folder)
    spec = ModelSpec(name=str(folder))
    cpu = torch.device("cpu")
    tasks.release_worker_model()
    first = tasks._worker_model(spec, cpu, True)
    config = folder / "config.json"
    stat = config.stat()
    os.utime(config, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert tasks._worker_model(spec, cpu, True) is not first
    tasks.release_worker_model()


def test_threads_never_share_a_model(tiny_models):
    spec = ModelSpec(name=str(tiny_models["bert"]))
    cpu = torch.device("cpu")
    tasks.release_worker_model()
    mine = tasks._worker_model(spec, cpu, True)
    theirs = []
    thread = threading.Thread(target=lambda: (theirs.append(tasks._worker_model(spec, cpu, True)),
                                              tasks.release_worker_model()))
    thread.start()
    thread.join()
    assert theirs and theirs[0] is not mine
    assert tasks._worker_model(spec, cpu, True) is mine
    tasks.release_worker_model()
