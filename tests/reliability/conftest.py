"""The uninterrupted reference run that every fault test compares against (made once per session)."""

from __future__ import annotations

import pytest

from engine.config import validate_config
from engine.schedule import run_pipeline

from .helpers import config_data, results_of, stored_arrays


@pytest.fixture(scope="session")
def reference(tiny_models, bible_links, tmp_path_factory):
    """An uninterrupted run: its store arrays and results table."""
    tmp_path = tmp_path_factory.mktemp("uninterrupted")
    summary = run_pipeline(validate_config(config_data(tiny_models["bert"], bible_links, tmp_path, "ref")),
                           progress=False)
    return stored_arrays(tmp_path / "ref.zarr"), results_of(summary.run_dir)
