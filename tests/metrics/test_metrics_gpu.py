"""The metrics on CuPy (device="cuda") equal the NumPy path exactly, nulls included (skipped without CUDA)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.metrics import TypeClusters, calign, colap


@pytest.mark.gpu
@pytest.mark.cupy
@pytest.mark.parametrize("size_ratio", [0.0, 1.0])
def test_calign_on_cuda_equals_cpu(size_ratio):
    pytest.importorskip("cupy")
    rng = np.random.default_rng(1)
    src = TypeClusters.from_tokens(rng.integers(0, 40, 3000), rng.integers(0, 800, 3000), 40, 800)
    tgt = TypeClusters.from_tokens(rng.integers(0, 30, 3000), rng.integers(0, 700, 3000), 30, 700)
    pairs = (np.repeat(np.arange(800), 3), rng.integers(0, 700, 2400))
    kwargs = dict(theta=0.3, min_types=2, size_ratio=size_ratio, repeats=7, seed=3)
    cpu, gpu = calign(src, tgt, pairs, device="cpu", **kwargs), calign(src, tgt, pairs, device="cuda", **kwargs)
    for a, b in ((cpu.forward, gpu.forward), (cpu.backward, gpu.backward)):
        for name in ("sizes", "best_target", "best_count", "aligned"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        np.testing.assert_array_equal(a.null.null, b.null.null)


@pytest.mark.gpu
@pytest.mark.cupy
def test_colap_on_cuda_equals_cpu():
    pytest.importorskip("cupy")
    rng = np.random.default_rng(2)
    labels, langs = rng.integers(0, 50, 5000), rng.integers(0, 3, 5000)
    cpu = colap(labels, langs, languages=["a", "b", "c"], repeats=5, seed=1, device="cpu")
    gpu = colap(labels, langs, languages=["a", "b", "c"], repeats=5, seed=1, device="cuda")
    np.testing.assert_array_equal(cpu.counts, gpu.counts)
    np.testing.assert_array_equal(cpu.null.null, gpu.null.null)
