"""The GPU lane cannot pass without a GPU: ``make gpu-check`` stops at once naming what is missing, a ``gpu``
test fails instead of skipping under BABELSCOPE_REQUIRE_GPU=1 (except for a missing optional extra), and
bench_gpu exits non-zero. These check the CPU machine's side; on a GPU host they do not apply."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.lanes import cupy_device, torch_cuda

ROOT = Path(__file__).resolve().parent.parent
no_gpu = pytest.mark.skipif(torch_cuda() is None or cupy_device() is None, reason="a GPU is present here")
ENV = {k: v for k, v in os.environ.items() if k != "BABELSCOPE_REQUIRE_GPU"}


@no_gpu
def test_make_gpu_check_fails_fast_naming_what_is_missing():
    started = time.perf_counter()
    done = subprocess.run(["make", "gpu-check"], cwd=ROOT, capture_output=True, text=True, timeout=60, env=ENV)
    assert done.returncode != 0
    assert time.perf_counter() - started < 60
    assert "gpu-check: no NVIDIA GPU: nvidia-smi is not on PATH and /dev/nvidia0 does not exist" in done.stderr
    assert "gpu-check: FAIL: this machine cannot run the GPU lane" in done.stderr
    assert not (ROOT / ".venv-gpu").exists()  # nothing was installed


def _pytest(*args: str, switch: bool, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {**ENV, **({"BABELSCOPE_REQUIRE_GPU": "1"} if switch else {}), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300, env=env)


@no_gpu
def test_a_gpu_test_fails_instead_of_skipping_under_the_switch():
    test = "tests/metrics/test_metrics_gpu.py::test_colap_on_cuda_equals_cpu"
    plain = _pytest(test, switch=False)
    assert plain.returncode == 0 and "1 skipped" in plain.stdout, plain.stdout[-2000:]
    strict = _pytest(test, "-rfE", switch=True)
    assert strict.returncode == 1 and "1 error" in strict.stdout, strict.stdout[-2000:]  # failed at setup
    assert "BABELSCOPE_REQUIRE_GPU is set: needs CuPy with a CUDA device" in strict.stdout


def test_only_a_missing_optional_extra_may_skip_under_the_switch(tmp_path):
    """With the GPU taken as present, a gpu test skipping for a missing extra stays a skip; any other skip
    is a failure; a CPU test's skip is left alone."""
    (tmp_path / "conftest.py").write_text(
        "import tests.conftest as lane\n"
        "lane.torch_cuda = lambda: None  # the GPU is taken as present\n"
        "pytest_runtest_setup = lane.pytest_runtest_setup\n"
        "pytest_runtest_makereport = lane.pytest_runtest_makereport\n"
        "def pytest_configure(config):\n"
        "    config.addinivalue_line('markers', 'gpu: gpu lane')\n")
    (tmp_path / "test_lane.py").write_text(
        "import pytest\n"
        "@pytest.mark.gpu\n"
        "def test_optional():\n"
        "    pytest.skip('optional: cuML is not installed')\n"
        "@pytest.mark.gpu\n"
        "def test_other():\n"
        "    pytest.skip('the data set is not there')\n"
        "@pytest.mark.gpu\n"
        "def test_runs():\n"
        "    assert True\n"
        "def test_cpu_skip():\n"
        "    pytest.skip('not a gpu test')\n")
    strict = _pytest(str(tmp_path / "test_lane.py"), "-rA", "--rootdir", str(tmp_path), switch=True, cwd=tmp_path)
    assert "1 failed, 1 passed, 2 skipped" in strict.stdout, strict.stdout[-3000:]
    assert "FAILED" in strict.stdout and "test_other" in strict.stdout.split("FAILED", 1)[1]
    plain = _pytest(str(tmp_path / "test_lane.py"), "--rootdir", str(tmp_path), switch=False, cwd=tmp_path)
    assert "1 passed, 3 skipped" in plain.stdout, plain.stdout[-3000:]


@no_gpu
def test_bench_gpu_exits_non_zero_without_cuda_in_the_lane(tmp_path):
    script = str(ROOT / "benchmarks" / "bench_gpu.py")
    lane = subprocess.run([sys.executable, script, "--smoke", "--out", str(tmp_path), "--require-gpu"],
                          capture_output=True, text=True, timeout=120, env=ENV)
    assert lane.returncode == 1 and "bench_gpu: FAIL: the GPU lane needs a GPU: no CUDA device" in lane.stderr
    plain = subprocess.run([sys.executable, script, "--smoke", "--out", str(tmp_path)], capture_output=True,
                           text=True, timeout=120, env=ENV)
    assert plain.returncode == 0 and "skipped" in plain.stdout


def test_the_bundle_leaves_out_the_tokenizer_packages_requirements():
    """The bundle resolves babelscope's requirements without the tokenizer package (downloaded alone, no deps:
    its own requirements are 110 MB of classifier and runtime) and always carries what the node lacks."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import gpu_lane

    requirements = gpu_lane._requirements()
    assert not any(r.startswith("semantra") for r in requirements)
    assert any(r.startswith("zarr") for r in requirements) and any(r.startswith("pytest") for r in requirements)
    assert gpu_lane._canonical("Pydantic_Core") == "pydantic-core" == gpu_lane._canonical("pydantic.core")
    assert {"pydantic-core", "zarr", "dask", "distributed"} <= gpu_lane.NODE_LACKS
