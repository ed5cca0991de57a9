"""fit(): input validation with the project's one message template, transforms, backend choice."""

from __future__ import annotations

import logging
import subprocess
import sys

import numpy as np
import pytest
import torch
import zarr

from engine.cluster import REFERENCE_SEED, fit
from engine.cluster.source import RowSource, fit_transform
from engine.errors import BackendUnavailableError, ConfigError, InputDataError
from tests.cluster.helpers import seeded_centres

X = np.random.default_rng(0).normal(size=(120, 6)).astype(np.float32)


def test_k_larger_than_n_names_both_numbers():
    with pytest.raises(ConfigError) as info:
        fit(X, 400)
    assert str(info.value) == "K=400 must be <= number of points=120"


def test_k_larger_than_selected_rows(tmp_path):
    array = zarr.create_array(store=str(tmp_path / "a.zarr"), shape=(500, 6), dtype="float16", chunks=(100, 6))
    array[:] = np.zeros((500, 6), dtype=np.float16)
    with pytest.raises(ConfigError, match=r"^K=50 must be <= number of points=40$"):
        fit(array, 50, rows=np.arange(40))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"k": 0}, "K of fit must be an integer >= 1; got 0"),
    ({"k": 2.5}, "K of fit must be an integer >= 1; got 2.5"),
    ({"k": 3, "backend": "gpu"}, "backend of fit must be one of auto, torch, sklearn, cuml, faiss; got 'gpu'"),
    ({"k": 3, "seed": -1}, "seed of fit must be an integer >= 0; got -1"),
    ({"k": 3, "n_init": 0}, "n_init of fit must be an integer >= 1; got 0"),
    ({"k": 3, "tol": -1.0}, "tol of fit must be a number >= 0; got -1.0"),
    ({"k": 3, "init": "random"},
     "init of fit must be one of auto, k-means++, k-means|| or an array [K, d]; got 'random'"),
    ({"k": 3, "init": np.zeros((2, 6))}, "init of fit must be a finite array of shape (K=3, d=6); "
                                          "got 'array of shape (2, 6)'"),
    ({"k": 3, "whiten": 7}, "whiten of fit must be True, False or a component count <= d=6; got 7"),
    ({"k": 3, "prune": "yes"}, "prune of fit must be True, False or 'auto'; got 'yes'"),
    ({"k": 3, "device": "gpu"}, "device of fit must be one of auto, cpu, cuda, cuda:N; got 'gpu'"),
])
def test_bad_parameters_use_the_template(kwargs, message):
    k = kwargs.pop("k")
    with pytest.raises(ConfigError) as info:
        fit(X, k, **kwargs)
    assert str(info.value) == message


def test_bad_sources():
    with pytest.raises(ConfigError, match="source of fit must be 2-D arrays"):
        fit(X[:, 0], 2)
    with pytest.raises(ConfigError, match="source of fit must be a floating-point array; got 'int64'"):
        fit(np.zeros((10, 2), dtype=np.int64), 2)
    with pytest.raises(InputDataError, match=r"rows of fit must lie in \[0, 120\) .*; got min=0, max=120"):
        fit(X, 2, rows=np.array([0, 120]))
    with pytest.raises(ConfigError, match="parts of one width"):
        fit([(X, None), (X[:, :3], None)], 2)


def test_nan_rows_are_refused():
    bad = X.copy()
    bad[17, 2] = np.nan
    with pytest.raises(InputDataError, match="row 17 of the clustering source holds NaN"):
        fit(bad, 3)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on machines without CUDA")
def test_cuda_requested_without_gpu():
    with pytest.raises(BackendUnavailableError, match="device='cuda' of fit needs a CUDA GPU"):
        fit(X, 3, backend="torch", device="cuda")


def test_defaults_follow_the_reference(caplog):
    with caplog.at_level(logging.INFO, logger="engine.cluster"):
        result = fit(X, 4)
    assert result.params["seed"] == REFERENCE_SEED == 212
    assert result.backend == "torch" and result.device == "cpu"
    assert "backend auto -> torch on cpu" in caplog.text
    assert result.labels.dtype == np.int32 and result.labels.shape == (120,)
    assert result.centroids.dtype == np.float32 and result.centroids.shape == (4, 6)
    assert result.n == 120 and result.k == 4 and result.seconds > 0


def test_prune_auto_turns_on_from_its_row_count(monkeypatch, blobs):
    from engine.cluster import api

    x, _ = blobs
    start = seeded_centres(x, 12)
    small = fit(x, 12, init=start)
    assert small.params["prune"] is False and small.info["prune"] is False
    monkeypatch.setattr(api, "PRUNE_ROWS", len(x))
    large = fit(x, 12, init=start)
    assert large.params["prune"] is True and large.info["prune"] is True
    np.testing.assert_array_equal(large.labels, small.labels)
    assert large.inertia == pytest.approx(small.inertia, rel=1e-6)
    assert fit(x, 12, init=start, backend="sklearn").params["prune"] is False


def test_float16_source_is_computed_in_float32():
    half = X.astype(np.float16)
    start = seeded_centres(half.astype(np.float32), 4)
    a = fit(half, 4, init=start)
    b = fit(half.astype(np.float32), 4, init=start)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert a.centroids.dtype == np.float32


def test_normalize_equals_clustering_unit_rows(blobs):
    x, _ = blobs
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    start = seeded_centres(unit, 12)
    a = fit(x, 12, init=start, normalize=True)
    b = fit(unit, 12, init=start)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_allclose(np.linalg.norm(a.centroids, axis=1), 1.0, atol=0.2)


@pytest.mark.parametrize("whiten", [True, 4])
def test_whitening_gives_unit_covariance(blobs, whiten):
    x, _ = blobs
    source = RowSource([(x, None)])
    variance = fit_transform(source, normalize=False, whiten=whiten, block_rows=1024)
    white = source.materialize().astype(np.float64)
    d = 16 if whiten is True else 4
    assert white.shape == (3000, d)
    np.testing.assert_allclose(white.mean(0), 0.0, atol=1e-4)
    np.testing.assert_allclose(np.cov(white, rowvar=False, bias=True), np.eye(d), atol=1e-3)
    assert variance == pytest.approx(1.0, abs=1e-6)
    assert fit(x, 12, whiten=whiten, seed=1).centroids.shape == (12, d)


def test_import_needs_no_gpu_stack():
    code = ("import sys, engine.cluster; "
            "print(sorted(m for m in ('torch', 'cuml', 'cupy', 'faiss', 'zarr', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
