"""Shared fixtures: offline environment, tiny random models built once per session, small real corpora."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


from tests.lanes import OPTIONAL, REQUIRE_GPU, cupy_device, torch_cuda


def pytest_runtest_setup(item: pytest.Item) -> None:
    """``gpu`` tests skip with the reason where the GPU they need is absent (``cupy`` ones by CuPy's own
    device check, the others by torch's); under ``BABELSCOPE_REQUIRE_GPU=1`` (``make gpu-check``) they fail."""
    if "gpu" not in item.keywords:
        return
    reason = cupy_device() if "cupy" in item.keywords else torch_cuda()
    if reason is None:
        return
    if REQUIRE_GPU:
        pytest.fail(f"BABELSCOPE_REQUIRE_GPU is set: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Under BABELSCOPE_REQUIRE_GPU a ``gpu`` test may only skip for a missing optional extra (cuML, faiss on the
    GPU, dask-cuda: reasons starting ``optional:``); any other skip is a failure, so the lane cannot pass
    without running on a GPU."""
    outcome = yield
    report = outcome.get_result()
    if not (REQUIRE_GPU and report.skipped and "gpu" in item.keywords):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    if not reason.removeprefix("Skipped: ").startswith(OPTIONAL):
        report.outcome = "failed"
        report.longrepr = f"BABELSCOPE_REQUIRE_GPU is set, and this gpu test skipped: {reason}"


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
