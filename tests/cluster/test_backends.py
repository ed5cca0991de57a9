"""Every k-means backend on the same data; unavailable ones skip with the reason (and say what to install)."""

from __future__ import annotations

import logging
import sys

import numpy as np
import pytest
import torch
from sklearn.metrics import adjusted_rand_score

from engine.cluster import backends as bk
from engine.cluster import fit
from engine.errors import BackendUnavailableError, ConfigError
from tests.cluster.helpers import seeded_centres
from tests.lanes import OPTIONAL


def _faiss_reason(gpu: bool = False) -> str | None:
    """Why the faiss case cannot run ("optional: ...": an extra that is not installed, allowed to skip even in
    the GPU lane)."""
    try:
        bk.import_faiss()
    except BackendUnavailableError as exc:
        return f"{OPTIONAL}{exc}"
    if gpu and torch.cuda.is_available() and not bk.faiss_gpu_count():
        return f"{OPTIONAL}this faiss has no GPU support (faiss.get_num_gpus() == 0); install a faiss GPU build"
    return None


def _cuml_reason() -> str | None:
    if not torch.cuda.is_available():
        return None  # the gpu lane's own check names the missing device
    usable, reason = bk.cuml_usable()
    return None if usable else f"{OPTIONAL}{reason}"


CASES = [
    pytest.param("torch", "cpu", id="torch-cpu"),
    pytest.param("sklearn", "cpu", id="sklearn-cpu"),
    pytest.param("torch", "cuda", id="torch-cuda", marks=pytest.mark.gpu),
    pytest.param("faiss", "cpu", id="faiss-cpu",
                 marks=pytest.mark.skipif(_faiss_reason() is not None, reason=str(_faiss_reason()))),
    pytest.param("faiss", "cuda", id="faiss-cuda",
                 marks=[pytest.mark.gpu, pytest.mark.skipif(_faiss_reason(True) is not None,
                                                            reason=str(_faiss_reason(True)))]),
    pytest.param("cuml", "cuda", id="cuml-cuda",
                 marks=[pytest.mark.gpu, pytest.mark.skipif(_cuml_reason() is not None, reason=str(_cuml_reason()))]),
]


@pytest.mark.parametrize(("backend", "device"), CASES)
def test_backend_recovers_blobs_from_a_shared_start(blobs, backend, device):
    x, truth = blobs
    start = seeded_centres(x, 12)
    result = fit(x, 12, backend=backend, device=device, init=start, max_iter=50)
    reference = fit(x, 12, backend="sklearn", init=start, max_iter=50)
    assert result.backend == backend and result.device.startswith(device)
    assert result.labels.shape == (3000,) and result.centroids.shape == (12, 16)
    assert adjusted_rand_score(truth, result.labels) >= 0.99
    assert adjusted_rand_score(reference.labels, result.labels) >= 0.99
    assert result.inertia == pytest.approx(reference.inertia, rel=1e-3)


@pytest.mark.gpu
def test_torch_cuda_equals_cpu_labels_on_separated_data(blobs):
    x, _ = blobs
    start = seeded_centres(x, 12)
    cpu = fit(x, 12, backend="torch", device="cpu", init=start)
    gpu = fit(x, 12, backend="torch", device="cuda", init=start)
    np.testing.assert_array_equal(cpu.labels, gpu.labels)
    np.testing.assert_allclose(cpu.centroids, gpu.centroids, rtol=1e-4, atol=1e-4)


def test_faiss_missing_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "faiss", None)  # `import faiss` now fails as if it were not installed
    with pytest.raises(BackendUnavailableError) as info:
        fit(np.zeros((10, 2), dtype=np.float32), 2, backend="faiss", device="cpu")
    assert "backend 'faiss' of fit is unavailable: import faiss failed" in str(info.value)
    assert "pip install 'babelscope[faiss]'" in str(info.value)
    assert isinstance(info.value, ImportError)


@pytest.mark.skipif(bk.cuml_usable()[0], reason="cuml is installed here")
def test_cuml_missing_says_what_to_install():
    with pytest.raises(BackendUnavailableError) as info:
        fit(np.zeros((10, 2), dtype=np.float32), 2, backend="cuml")
    text = str(info.value)
    assert "cuml" in text and "cuml-cu12" in text


@pytest.mark.gpu
def test_sklearn_refuses_an_explicit_gpu():
    with pytest.raises(ConfigError, match="device of fit must be 'cpu' or 'auto' for backend 'sklearn'"):
        fit(np.zeros((10, 2), dtype=np.float32), 2, backend="sklearn", device="cuda")


def test_auto_on_cpu_picks_torch_and_logs_why(blobs, caplog):
    x, _ = blobs
    with caplog.at_level(logging.INFO, logger="engine.cluster"):
        result = fit(x[:500], 5, device="cpu")
    assert result.backend == "torch"
    assert "backend auto -> torch on cpu" in caplog.text


def test_cuml_gets_our_start_and_stopping_rule():
    """cuML has no greedy k-means++ (its seeded start is k-means||) and stops on an absolute summed squared
    centre shift: it gets tol scaled by the data's mean variance, as the torch loop does."""
    start = np.ones((3, 2), dtype=np.float32)
    auto = bk.cuml_options(3, seed=7, init="k-means++", max_iter=50, tol=1e-4, variance=2.5)
    assert auto == {"n_clusters": 3, "init": "scalable-k-means++", "max_iter": 50, "tol": pytest.approx(2.5e-4),
                    "random_state": 7}
    assert bk.cuml_options(3, seed=7, init="k-means||", max_iter=5, tol=0.0, variance=1.0)["init"] == \
        "scalable-k-means++"
    assert bk.cuml_options(3, seed=7, init=start, max_iter=5, tol=0.0, variance=1.0)["init"] is start
