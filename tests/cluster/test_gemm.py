"""engine.gemm in k-means: oneDNN and BLAS products against float64, the probe's fallbacks, k-means on each."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import gemm
from engine.cluster import fit
from engine.errors import ConfigError
from tests.cluster.helpers import seeded_centres

ONEDNN_REASON = gemm._probe()[1]
needs_onednn = pytest.mark.skipif(gemm._probe()[0] != "onednn", reason=ONEDNN_REASON)


def _check_against_float64(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> None:
    got = gemm.affine(x, weight, bias)
    want = x.double() @ weight.double().T + (0.0 if bias is None else bias.double())
    assert got.dtype == torch.float32 and got.shape == want.shape
    # float32 rounding of a d-term dot product, bounded by the norms (Cauchy-Schwarz)
    bound = x.double().norm(dim=1)[:, None] * weight.double().norm(dim=1)[None, :] * x.shape[1] * 2.0 ** -22
    if bias is not None:
        bound = bound + bias.double().abs() * 2.0 ** -22
    assert bool(((got.double() - want).abs() <= bound + 1e-30).all())


@pytest.mark.parametrize("name", [pytest.param("onednn", marks=needs_onednn), "blas"])
@settings(max_examples=40, deadline=None)
@given(m=st.integers(1, 300), d=st.integers(1, 96), k=st.integers(1, 70), with_bias=st.booleans(),
       transposed=st.booleans(), seed=st.integers(0, 2**31 - 1))
def test_affine_matches_float64(name, m, d, k, with_bias, transposed, seed):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(m, d, generator=generator) * 4 + 1
    if transposed:  # a strided view, as a caller may pass
        x = torch.randn(d, m, generator=generator).T
    weight = torch.randn(k, d, generator=generator)
    bias = torch.randn(k, generator=generator) * 10 if with_bias else None
    with gemm.use_cpu_gemm(name):
        _check_against_float64(x, weight, bias)


def test_hand_made_product():
    x = torch.tensor([[1.0, 2.0], [0.0, -1.0], [3.0, 0.5]])
    weight = torch.tensor([[1.0, 0.0], [2.0, -2.0]])
    bias = torch.tensor([10.0, -1.0])
    want = torch.tensor([[11.0, -3.0], [10.0, 1.0], [13.0, 4.0]])
    for name in ("onednn", "blas") if gemm._probe()[0] == "onednn" else ("blas",):
        with gemm.use_cpu_gemm(name):
            torch.testing.assert_close(gemm.affine(x, weight, bias), want, rtol=0, atol=0)
            torch.testing.assert_close(gemm.affine(x, weight), want - bias, rtol=0, atol=0)


def test_probe_falls_back_when_the_operator_fails(monkeypatch, caplog):
    def broken(*args):
        raise RuntimeError("no such operator")

    monkeypatch.setattr(gemm, "_onednn", broken)
    monkeypatch.setattr(gemm, "_chosen", None)
    with caplog.at_level(logging.INFO, logger="engine.gemm"):
        assert gemm.cpu_gemm() == "blas"
    assert "CPU float32 GEMM: blas (torch.ops.mkldnn._linear_pointwise failed (RuntimeError: no such operator))" \
        in caplog.text
    x, weight = torch.randn(5, 3), torch.randn(2, 3)
    torch.testing.assert_close(gemm.affine(x, weight), x @ weight.T)


def test_probe_refuses_reduced_precision(monkeypatch, caplog):
    """A oneDNN told to compute float32 matmuls in bfloat16 is not used."""
    def rounded(x, weight, bias):
        return torch.nn.functional.linear(x.bfloat16(), weight.bfloat16(), bias.bfloat16()).float()

    monkeypatch.setattr(gemm, "_onednn", rounded)
    monkeypatch.setattr(gemm, "_chosen", None)
    with caplog.at_level(logging.INFO, logger="engine.gemm"):
        assert gemm.cpu_gemm() == "blas"
    assert "of the norms (not float32 arithmetic)" in caplog.text


def test_unknown_gemm_name():
    with pytest.raises(ValueError, match="cpu gemm must be one of onednn, blas, got 'mkl'"):
        with gemm.use_cpu_gemm("mkl"):
            pass


@needs_onednn
def test_both_gemms_give_sklearns_labels_on_separated_data(blobs):
    x, _ = blobs
    start = seeded_centres(x, 12)
    runs = {}
    for name in ("onednn", "blas"):
        with gemm.use_cpu_gemm(name):
            runs[name] = fit(x, 12, backend="torch", init=start)
    ref = fit(x, 12, backend="sklearn", init=start)
    for run in runs.values():
        np.testing.assert_array_equal(run.labels, ref.labels)
    assert runs["onednn"].n_iter == runs["blas"].n_iter == ref.n_iter


@needs_onednn
def test_both_gemms_agree_on_me5(me5_en):
    start = seeded_centres(me5_en, 60, seed=2)
    runs = {}
    for name in ("onednn", "blas"):
        with gemm.use_cpu_gemm(name):
            runs[name] = fit(me5_en, 60, backend="torch", init=start)
    assert runs["onednn"].inertia == pytest.approx(runs["blas"].inertia, rel=1e-4)
    # products rounded in another order may flip near-ties; almost every row keeps its cluster
    assert float((runs["onednn"].labels == runs["blas"].labels).mean()) >= 0.99


@pytest.mark.parametrize(("value", "chosen"), [("blas", "blas"), ("BLAS", "blas"), ("", gemm._probe()[0])])
def test_environment_forces_a_gemm(monkeypatch, caplog, value, chosen):
    monkeypatch.setenv("BABELSCOPE_CPU_GEMM", value)
    monkeypatch.setattr(gemm, "_chosen", None)
    with caplog.at_level(logging.INFO, logger="engine.gemm"):
        assert gemm.cpu_gemm() == chosen
    if value:
        assert "CPU float32 GEMM: blas (BABELSCOPE_CPU_GEMM=blas)" in caplog.text


def test_environment_value_is_checked(monkeypatch):
    monkeypatch.setenv("BABELSCOPE_CPU_GEMM", "mkl")
    monkeypatch.setattr(gemm, "_chosen", None)
    with pytest.raises(ConfigError, match="BABELSCOPE_CPU_GEMM of the environment must be one of auto, onednn, "
                                          "blas; got 'mkl'"):
        gemm.cpu_gemm()


def test_environment_insisting_on_onednn_where_it_is_unusable(monkeypatch):
    def broken(*args):
        raise RuntimeError("no such operator")

    monkeypatch.setenv("BABELSCOPE_CPU_GEMM", "onednn")
    monkeypatch.setattr(gemm, "_onednn", broken)
    monkeypatch.setattr(gemm, "_chosen", None)
    with pytest.raises(ConfigError, match="BABELSCOPE_CPU_GEMM=onednn, but oneDNN's GEMM is unusable here"):
        gemm.cpu_gemm()


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(1, 30), st.integers(0, 2**32 - 1), st.booleans())
def test_row_min_is_min_with_the_first_index_on_ties(m, k, seed, ties):
    """The NumPy-backed row minimum gives torch.min(dim=1)'s values and first-index tie rule."""
    from engine.gemm import row_min

    rng = np.random.default_rng(seed)
    values = rng.integers(0, 3, size=(m, k)) if ties else rng.normal(size=(m, k))  # small integers: many ties
    dist = torch.from_numpy(values.astype(np.float32))
    got_values, got_index = row_min(dist)
    want_values, want_index = dist.min(dim=1)
    assert torch.equal(got_values, want_values) and torch.equal(got_index, want_index)
    assert got_index.dtype == torch.int64
    assert all(int(np.flatnonzero(values[i] == values[i].min())[0]) == int(got_index[i]) for i in range(m))
