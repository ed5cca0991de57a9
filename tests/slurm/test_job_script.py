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
    assert "--preload engine.schedule.gpu_worker" in command and "export BABELSCOPE_JOB_GPUS=1" in lines
    assert "export DASK_DISTRIBUTED__NANNY__PRE_SPAWN_ENVIRON=\"{'MALLOC_TRIM_THRESHOLD_': None}\"" in lines


def test_a_job_of_n_gpus_runs_n_workers_that_share_its_cores(tmp_path):
    from engine.schedule.slurm import job_script

    lines = job_script(_config(tmp_path, cores=8, memory="64GiB", gpus=4)).splitlines()
    assert "#SBATCH --gres=gpu:4" in lines and "export BABELSCOPE_JOB_GPUS=4" in lines
    command = lines[-1]
    for part in ("--nworkers 4", "--nthreads 2", "--memory-limit 16.00GiB", "--resources GPU=1",
                 "--preload engine.schedule.gpu_worker"):
        assert part in command, part


def test_cpu_only_jobs_beside_gpu_jobs_take_the_gpu_jobs_settings_they_do_not_set(tmp_path):
    from engine.schedule.slurm import job_script

    config = _config(tmp_path, partition="gpu", account="proj", cores=4, memory="16GiB", gpus=1,
                     extra=["--qos=long"], prologue=["module load python"],
                     cpu={"jobs": 3, "cores": 6, "partition": "cpu", "walltime": "10:00:00"})
    lines = job_script(config, cpu=True).splitlines()
    for directive in ("-J babelscope-cpu-worker", "-p cpu", "-A proj", "--cpus-per-task=6", "--mem=16G",
                      "-t 10:00:00", f"-o {tmp_path}/run/slurm/babelscope-cpu-worker-%J.out"):
        assert f"#SBATCH {directive}" in lines, directive
    assert not any("--gres" in line or "--qos=long" in line for line in lines)  # the GPU jobs' extra lines
    assert lines.index("export BABELSCOPE_WORKER=slurm-$SLURM_JOB_ID") < lines.index("module load python")
    assert "export CUDA_VISIBLE_DEVICES=" in lines  # no GPU: device auto is the CPU there
    command = lines[-1]
    assert "--nworkers 6" in command and "--nthreads 1" in command and "--resources CPU=1" in command
    assert "--preload" not in command


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
    both = subprocess.run(command + ["--set", "run.slurm.gpus=1", "--set", "run.slurm.cpu.jobs=2"],
                          capture_output=True, text=True, check=True).stdout
    gpu_script, cpu_script = both.split("\n\n# and 2 CPU-only job(s) of this script beside them:\n")
    assert "#SBATCH --gres=gpu:1" in gpu_script and "#SBATCH -J babelscope-cpu-worker" in cpu_script
    assert list(tmp_path.iterdir()) == []
    other = subprocess.run(command[:6] + ["--set", f"run.dir={tmp_path / 'run'}"], capture_output=True, text=True,
                           check=True)
    assert other.stdout.strip() == "run.scheduler='auto' submits no jobs (only slurm does); nothing to show"


def test_cpu_only_jobs_have_their_own_extra_lines_and_prologue_when_set(tmp_path):
    from engine.schedule.slurm import job_script

    config = _config(tmp_path, gpus=1, extra=["--constraint=a100"], prologue=["module load cuda"],
                     cpu={"jobs": 1, "extra": ["--constraint=epyc"], "prologue": ["source /venv/bin/activate"]})
    lines = job_script(config, cpu=True).splitlines()
    assert "#SBATCH --constraint=epyc" in lines and "#SBATCH --constraint=a100" not in lines
    assert "source /venv/bin/activate" in lines and "module load cuda" not in lines
