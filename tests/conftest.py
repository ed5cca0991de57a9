"""Shared fixtures: offline environment, tiny random models built once per session, small real corpora."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip ``gpu`` tests on machines without CUDA, with the reason."""
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:  # pragma: no cover
        has_cuda = False
    if has_cuda:
        return
    skip = pytest.mark.skip(reason="needs a CUDA device (torch.cuda.is_available() is False)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Folders of tiny random BERT, XLM-R and T5 models (2 layers, width 64) with trained tokenizers."""
    from engine.material.tiny import TINY_KINDS, build_tiny_model

    root = tmp_path_factory.mktemp("tiny-models")
    return {kind: build_tiny_model(kind, root / kind) for kind in TINY_KINDS}


BIBLE_LINK_VERSES = 100


@pytest.fixture(scope="session")
def bible_links(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real eflomal en-de links of the first 100 verses, exported once, so the runs that import them align
    identically (eflomal takes no seed)."""
    from engine.align.stage import run_align
    from engine.config import validate_config

    folder = tmp_path_factory.mktemp("links")
    config = validate_config({
        "models": [{"name": "me5-small"}],
        "corpus": {"source": "bible", "languages": ["en", "de"], "count": BIBLE_LINK_VERSES},
        "align": {"eflomal": {"n_samplers": 1}},
        "store": {"path": str(folder / "align.zarr")},
    })
    run_align(config, export_dir=folder)
    return folder / "en-de.links"
