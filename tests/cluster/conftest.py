"""Fixtures for the clustering tests: real me5-small activations (built once per session) and blobs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

ME5_VERSES = 120  # en + de Bible verses: about 3 300 English and 3 100 German words


@pytest.fixture(scope="session")
def me5_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with real me5-small layer-6 activations of en and de Bible verses (about 15 s, once)."""
    from engine.config import validate_config
    from engine.extract import run_extraction
    from engine.material import prepare_material

    prepare_material("me5-small")
    path = tmp_path_factory.mktemp("cluster-me5") / "run.zarr"
    config = validate_config({
        "models": [{"name": "me5-small"}],
        "corpus": {"source": "bible", "languages": ["en", "de"], "count": ME5_VERSES},
        "extract": {"layers": [6], "device": "cpu"},
        "store": {"path": str(path)},
    })
    run_extraction(config, progress=False)
    return path


@pytest.fixture(scope="session")
def me5_en(me5_store: Path) -> np.ndarray:
    """English layer-6 activations as float32 [n, 384]."""
    from engine.store import layout, open_store

    root = open_store(me5_store)
    return np.asarray(root[layout.activations_path("me5-small", "encoder", "en")]["layer_6"][:], dtype=np.float32)


@pytest.fixture(scope="session")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    """Well-separated Gaussian blobs: X float32 [3000, 16], true labels [3000] (12 clusters)."""
    from sklearn.datasets import make_blobs

    x, y = make_blobs(n_samples=3000, centers=12, n_features=16, cluster_std=0.6, center_box=(-20, 20),
                      random_state=7)
    return x.astype(np.float32), y

