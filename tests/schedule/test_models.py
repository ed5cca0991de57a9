"""Extraction tasks keep their worker's model between tasks; a changed model folder or another thread loads anew."""

from __future__ import annotations

import os
import threading

import pytest
import torch

from engine.config import ModelSpec
from engine.schedule import models

CPU = torch.device("cpu")


@pytest.fixture(autouse=True)
def _nothing_kept():
    """Each test starts and ends with no model kept by this thread."""
    models.release_worker_model()
    yield
    models.release_worker_model()


def test_model_is_kept_between_tasks_and_released(tiny_models):
    spec = ModelSpec(name=str(tiny_models["bert"]))
    first = models.kept_model(spec, CPU, True)
    assert models.kept_model(spec, CPU, True) is first
    assert models.kept_model(spec, CPU, False) is first  # weights also serve a tokenizer-only request
    models.release_worker_model()
    again = models.kept_model(spec, CPU, True)
    assert again is not first and again.model is not None


def test_tokenizer_only_model_is_not_served_for_weights(tiny_models):
    spec = ModelSpec(name=str(tiny_models["xlmr"]))
    plan = models.kept_model(spec, CPU, False)
    assert plan.model is None
    full = models.kept_model(spec, CPU, True)
    assert full is not plan and full.model is not None


def test_a_model_saved_again_in_place_is_loaded_again(tiny_models, tmp_path):
    import shutil

    folder = tmp_path / "model"
    shutil.copytree(tiny_models["bert"], folder)
    spec = ModelSpec(name=str(folder))
    first = models.kept_model(spec, CPU, True)
    config = folder / "config.json"
    stat = config.stat()
    os.utime(config, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert models.kept_model(spec, CPU, True) is not first


def test_threads_never_share_a_model(tiny_models):
    spec = ModelSpec(name=str(tiny_models["bert"]))
    mine = models.kept_model(spec, CPU, True)
    theirs = []
    thread = threading.Thread(target=lambda: (theirs.append(models.kept_model(spec, CPU, True)),
                                              models.release_worker_model()))
    thread.start()
    thread.join()
    assert theirs and theirs[0] is not mine
    assert models.kept_model(spec, CPU, True) is mine
