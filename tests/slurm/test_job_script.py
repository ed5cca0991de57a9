"""The job script of ``run.scheduler: slurm`` (no SLURM needed) and ``babelscope run --dry-run``."""

from __future__ import annotations

import subprocess
import sys

import pytest

from engine.config import validate_config

pytest.importorskip("dask_jobqueue", reason="the slurm extra (dask-jobqueue) is not installed")

BASE = {"models": [{"name": "me5-small"}], "corpus": {"source": "bible", "languages": ["en", "de"], "count": 10}}


def _config(tmp_path, **slurm):
    return validate_config({**BASE, "run": {"scheduler": "slurm", "dir": str(tmp_path / "run"), "slurm": slurm}})


def test_a_gpu_job_holds_one_gpu_worker_that_advertises_it(tmp_path):
    from engine.schedule.slurm import DRY_RUN_ADDRESS, job_script

    script = job_script(_config(tmp_path, partition="gpu", account="proj", walltime="2-00:00:00", cores=4,
                                memory="16GiB", gpus=1, extra=["--constraint=a100"], prologue=["module load cuda"],
                                python="/opt/venv/bin/python"))
    lines = script.splitlines()
    for directive in ("-p gpu", "-A proj", "--cpus-per-task=4", "--mem=16G", "-t 2-00:00:00", "--gres=gpu:1",
                      "--constraint=a100", f"-o {tmp_path}/run/slurm/babelscope-worker-%J.out"):
        assert f"#SBATCH {directive}" in lines, directive
    assert lines.index("export BABELSCOPE_WORKER=slurm-$SLURM_JOB_ID") < lines.index("module load cuda")
    command = lines[-1]
    assert command.startswith(f"/opt/venv/bin/python -m distributed.cli.dask_worker {DRY_RUN_ADDRESS} ")
    assert "--nthreads 4" in command and "--resources GPU=1" in command and "--nworkers" not in command


def test_a_cpu_job_runs_one_single_threaded_worker_per_core(tmp_path):
    from engine.schedule.slurm import job_script

    script = job_script(_config(tmp_path, cores=3))
    assert "--gres" not in script and "GPU=1" not in script
    command = script.splitlines()[-1]
    assert "--nworkers 3" in command and "--nthreads 1" in command
    assert f"#SBATCH -e {tmp_path}/run/slurm/babelscope-worker-%J.err" in script


def test_dry_run_prints_the_job_script_and_writes_nothing(tmp_path):
    command = [sys.executable, "-m", "engine.cli", "run", "configs/default.yaml", "--dry-run", "--set",
               "run.scheduler=slurm", "--set", f"run.dir={tmp_path / 'run'}", "--set",
               f"store.path={tmp_path / 's.zarr'}", "--set", "run.slurm.jobs_max=4"]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    assert done.stdout.startswith("# babelscope run would submit 1 to 4 (adaptive) job(s) of this script with "
                                  "sbatch (the scheduler address is chosen when the run starts):\n#!/usr/bin/env bash")
    assert "#SBATCH -J babelscope-worker" in done.stdout
    assert list(tmp_path.iterdir()) == []
    other = subprocess.run(command[:6] + ["--set", f"run.dir={tmp_path / 'run'}"], capture_output=True, text=True,
                           check=True)
    assert other.stdout.strip() == "run.scheduler='auto' submits no jobs (only slurm does); nothing to show"
