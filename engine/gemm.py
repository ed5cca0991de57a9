"""Float32 GEMMs on the fastest exact path at hand: k-means' distance product and a model's Linear layers.

On CPU, torch's ``mm`` calls its BLAS (MKL in the PyPI wheels). On the AVX-512 AMD EPYC of our benchmarks
MKL's float32 GEMM runs at about half the speed of oneDNN's (100 vs 200-230 GFLOP/s per core on k-means
shapes; a whole me5-small forward pass runs 1.7x faster on oneDNN), which the same wheel ships and reaches
through ``torch.ops.mkldnn._linear_pointwise`` (strided float32 tensors in and out, float32 arithmetic;
``benchmarks/bench_cluster.py`` and ``bench_extract.py`` show both). That operator is internal to torch, so
it is used only after a probe on first use shows it is present and agrees with float64 to float32 rounding
(a build without oneDNN, or one told to compute float32 matmuls in bfloat16, fails the probe); otherwise, and
on CUDA (cuBLAS), ``torch.addmm`` / ``F.linear``. The choice is made once per process and logged;
``BABELSCOPE_CPU_GEMM=blas`` keeps stock torch (``onednn`` insists on oneDNN). Only an AMD CPU was measured;
where ``bench_cluster.py``'s "torch, BLAS GEMM" row comes out ahead (Intel's MKL may), set ``blas``.

* :func:`affine` — ``x @ weight.T + bias`` for k-means (:mod:`engine.cluster`), and :func:`row_min`, the
  nearest centre of each row of its result;
* :func:`onednn_linears` — a loaded model's ``nn.Linear`` layers run through the same path on CPU in float32
  (anything else — autocast, other dtypes, CUDA, gradients — goes to ``F.linear`` as before).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator

import numpy as np
import torch

from engine.errors import ConfigError, param_message

log = logging.getLogger(__name__)

CPU_GEMMS = ("onednn", "blas")
ENV = "BABELSCOPE_CPU_GEMM"  # auto (default) | onednn | blas: force one (blas = stock torch numerics)
_PROBE_TOLERANCE = 1e-5  # relative to the product of norms; bfloat16 arithmetic is off by ~1e-3
_LOCK = threading.Lock()
_chosen: str | None = None


def _onednn(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "none", [], "")


def _probe() -> tuple[str, str]:
    """(gemm, reason): oneDNN when it runs here and agrees with float64 to float32 rounding."""
    if not torch.backends.mkldnn.is_available():
        return "blas", "torch was built without oneDNN"
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(67, 96, generator=generator)
    weight = torch.randn(13, 96, generator=generator)
    bias = torch.randn(13, generator=generator)
    try:
        got = _onednn(x, weight, bias)
    except (RuntimeError, AttributeError) as exc:  # missing operator, unsupported CPU
        return "blas", f"torch.ops.mkldnn._linear_pointwise failed ({type(exc).__name__}: {exc})"
    want = x.double() @ weight.double().T + bias.double()
    scale = float(x.norm(dim=1).max() * weight.norm(dim=1).max())
    error = float((got.double() - want).abs().max()) / scale
    if got.shape != want.shape or got.dtype != torch.float32 or not error <= _PROBE_TOLERANCE:
        return "blas", f"oneDNN's product is off by {error:.2g} of the norms (not float32 arithmetic)"
    return "onednn", "oneDNN float32 matmul agrees with float64 to float32 rounding"


def _choose() -> tuple[str, str]:
    """(gemm, reason): ``BABELSCOPE_CPU_GEMM`` (``auto`` | ``onednn`` | ``blas``) if set, else the probe."""
    wanted = os.environ.get(ENV, "auto").strip().lower() or "auto"
    if wanted not in ("auto", *CPU_GEMMS):
        raise ConfigError(param_message(ENV, "the environment", "one of auto, onednn, blas", wanted))
    if wanted == "blas":
        return "blas", f"{ENV}=blas"
    chosen, reason = _probe()
    if wanted == "onednn" and chosen != "onednn":
        raise ConfigError(f"{ENV}=onednn, but oneDNN's GEMM is unusable here: {reason}")
    return chosen, reason if wanted == "auto" else f"{ENV}=onednn; {reason}"


def cpu_gemm() -> str:
    """The CPU GEMM this process uses, ``onednn`` or ``blas`` (chosen once, the choice logged)."""
    global _chosen
    if _chosen is not None:
        return _chosen
    with _LOCK:
        if _chosen is None:
            _chosen, reason = _choose()
            log.info("CPU float32 GEMM: %s (%s)", _chosen, reason)
        return _chosen


@contextlib.contextmanager
def use_cpu_gemm(name: str) -> Iterator[None]:
    """Force ``onednn`` or ``blas`` within the block (benchmarks compare both); process-wide, not per thread."""
    global _chosen
    if name not in CPU_GEMMS:
        raise ValueError(f"cpu gemm must be one of {', '.join(CPU_GEMMS)}, got {name!r}")
    before = cpu_gemm()
    if name == "onednn":
        usable, reason = _probe()
        if usable != "onednn":
            raise RuntimeError(f"oneDNN GEMM is unusable here: {reason}")
    _chosen = name
    try:
        yield
    finally:
        _chosen = before


def affine(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """``x [m, d] @ weight [k, d].T + bias [k]`` as a new [m, k] tensor (float32 in, float32 out), on x's device."""
    if x.device.type == "cpu" and x.dtype == torch.float32 and cpu_gemm() == "onednn":
        return _onednn(x.contiguous(), weight.contiguous(), None if bias is None else bias.contiguous())
    if bias is None:
        return torch.mm(x, weight.T)
    return torch.addmm(bias, x, weight.T)


def row_min(dist: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The smallest entry of each row of ``dist`` [m, k] and its column, the first one on ties (what
    ``dist.min(dim=1)`` gives): values [m], indices int64 [m], on dist's device.

    On CPU through NumPy's ``argmin``: torch's CPU ``min`` with indices does not vectorise over a row and took
    1.3 ms for a [1024, 1000] float32 block where NumPy took 0.09 ms (the value-only ``amin`` 0.07 ms), about a
    tenth of a k-means assignment pass at K=1000 beside its GEMM.
    """
    if dist.device.type != "cpu" or dist.requires_grad or dist.dim() != 2 or not dist.shape[1]:
        values, index = dist.min(dim=1)
        return values, index
    array = dist.contiguous().numpy()
    index = array.argmin(axis=1)
    return torch.from_numpy(array[np.arange(array.shape[0]), index]), torch.from_numpy(index.astype(np.int64))


class OneDNNLinear(torch.nn.Module):
    """An ``nn.Linear`` whose float32 CPU inference runs on oneDNN; the same parameters, the same state_dict."""

    def __init__(self, linear: torch.nn.Linear):
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.weight = linear.weight
        self.bias = linear.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [..., in_features] -> [..., out_features]."""
        if (x.device.type != "cpu" or x.dtype != torch.float32 or self.weight.dtype != torch.float32
                or torch.is_autocast_enabled("cpu") or (torch.is_grad_enabled() and self.weight.requires_grad)
                or cpu_gemm() != "onednn"):
            return torch.nn.functional.linear(x, self.weight, self.bias)
        rows = x.reshape(-1, self.in_features).contiguous()
        return _onednn(rows, self.weight, self.bias).reshape(*x.shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


def onednn_linears(model: torch.nn.Module) -> int:
    """Replace every plain ``nn.Linear`` of ``model`` (in place) by :class:`OneDNNLinear`; returns how many.

    Only where the CPU GEMM is ``onednn``; subclasses of ``nn.Linear`` are left alone.
    """
    if cpu_gemm() != "onednn":
        return 0
    swapped = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if type(child) is torch.nn.Linear:
                setattr(parent, name, OneDNNLinear(child))
                swapped += 1
    return swapped
