"""``run.scheduler: slurm`` on a real one-node SLURM cluster (``tests/slurm/node.py``): worker jobs submitted by
dask-jobqueue give the tables of a ``sync`` run; a worker job cancelled mid-run costs no result; a 2-GPU job
(the node's GPUs are SLURM ``gres`` over stand-in device files) runs one worker per GPU, each its own GPU first,
beside a CPU-only job that takes the CPU stages."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from engine.config import validate_config
from engine.schedule import run_pipeline
from tests.reliability.helpers import config_data, results_of
from tests.slurm.node import Node, missing, no_stand_in_gpus


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    reason = missing()
    if reason:
        pytest.skip(reason)
    pytest.importorskip("dask_jobqueue", reason="the slurm extra (dask-jobqueue) is not installed")
    root = tmp_path_factory.mktemp("slurm")
    node = Node(root, cpus=max(4, os.cpu_count() or 2), gpus=0 if no_stand_in_gpus(root) else 2).start()
    before = os.environ.get("SLURM_CONF")
    os.environ.update(node.env)  # sbatch, squeue and scancel of dask-jobqueue and of the tests
    try:
        yield node
    finally:
        node.stop()
        if before is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = before


@pytest.fixture(scope="module")
def reference(tiny_models, bible_links, tmp_path_factory):
    """The sync run the SLURM runs must equal."""
    folder = tmp_path_factory.mktemp("slurm-reference")
    run_pipeline(validate_config(config_data(tiny_models["bert"], bible_links, folder, "sync")), progress=False)
    return results_of(folder / "sync")


def _slurm_config(tiny_models, bible_links, tmp_path, name):
    data = config_data(tiny_models["bert"], bible_links, tmp_path, name, scheduler="slurm")
    data["run"]["slurm"] = {"jobs_min": 2, "jobs_max": 2, "cores": 1, "memory": "2GB", "walltime": "00:20:00",
                            "wait_s": 120}
    return validate_config(data)


def _computed(run_dir: Path) -> list[dict]:
    journal = json.loads((run_dir / "tasks.json").read_text())
    return [p for p in journal.values() if p.get("computed") and "worker" in p]


def _workers(run_dir: Path) -> set[str]:
    return {p["worker"] for p in _computed(run_dir)}


def _gpu_config(tiny_models, bible_links, tmp_path, name, jobs_max=1, cpu_cores=1):
    """Jobs of 2 GPUs (2 cores) and one CPU-only job beside them."""
    reason = no_stand_in_gpus(tmp_path)
    if reason:
        pytest.skip(reason)
    data = config_data(tiny_models["bert"], bible_links, tmp_path, name, scheduler="slurm")
    data["run"]["slurm"] = {"jobs_min": 1, "jobs_max": jobs_max, "cores": 2, "gpus": 2, "memory": "3GB",
                            "walltime": "00:20:00", "wait_s": 120,
                            "cpu": {"jobs": 1, "cores": cpu_cores, "memory": "2GB"}}
    return validate_config(data)


def test_worker_jobs_under_slurm_give_the_tables_of_a_sync_run(slurm, tiny_models, bible_links, tmp_path,
                                                               reference):
    config = _slurm_config(tiny_models, bible_links, tmp_path, "slurm")
    summary = run_pipeline(config, progress=False)
    pd.testing.assert_frame_equal(results_of(summary.run_dir), reference)
    workers = _workers(summary.run_dir)
    assert workers and all(w.startswith("slurm-") for w in workers), workers
    outputs = {p.name for p in (summary.run_dir / "slurm").glob("babelscope-worker-*.out")}
    for worker in workers:  # each worker really was a SLURM job: its job id, its job output
        assert f"babelscope-worker-{worker.removeprefix('slurm-')}.out" in outputs, (worker, outputs)
    assert slurm.drained() == []  # the jobs ended with the run


def test_a_worker_job_cancelled_mid_run_costs_no_result(slurm, tiny_models, bible_links, tmp_path, reference):
    config = _slurm_config(tiny_models, bible_links, tmp_path, "cancel")
    cache = Path(config.run.dir) / "cache"
    cancelled: list[str] = []

    def cancel_one_job_once_work_is_done() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            jobs = slurm.squeue()
            if len(jobs) == 2 and cache.exists() and any(cache.rglob("*.json")):
                subprocess.run(["scancel", jobs[0]], check=True)
                cancelled.append(jobs[0])
                return
            time.sleep(0.2)

    watcher = threading.Thread(target=cancel_one_job_once_work_is_done, daemon=True)
    watcher.start()
    summary = run_pipeline(config, progress=False)
    watcher.join()
    assert cancelled, "no job was cancelled: the run ended before two jobs ran and a task finished"
    pd.testing.assert_frame_equal(results_of(summary.run_dir), reference)


def test_a_store_the_worker_jobs_do_not_see_is_refused_by_name(slurm, tiny_models, bible_links, tmp_path):
    """Worker jobs whose Python runs in its own mount namespace, an empty file system mounted over the run's
    folders: the client's store is not there for them, and the run stops naming it."""
    import shutil
    import sys

    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is not installed")
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    python = tmp_path / "python-elsewhere"
    python.write_text(f"#!/bin/sh\nexec unshare -m sh -c 'mount -t tmpfs none {hidden} && exec {sys.executable} "
                      f"\"$@\"' python-elsewhere \"$@\"\n")
    python.chmod(0o755)
    data = _slurm_config(tiny_models, bible_links, hidden, "unseen").model_dump(mode="json")
    data["run"]["slurm"].update(jobs_min=1, jobs_max=1, python=str(python), log_dir=str(tmp_path / "jobs"))
    from engine.errors import ConfigError

    with pytest.raises(ConfigError, match=rf"store '{hidden}/unseen.zarr' is not on a file system the SLURM jobs "
                                          rf"see: a worker on host '[^']+' could not read back \.shared-check-\w+ "
                                          rf"written there by the client on '[^']+'; put store.path on a shared "
                                          rf"file system"):
        run_pipeline(validate_config(data), progress=False)
    assert slurm.drained() == []  # its job cancelled


def test_a_two_gpu_job_runs_one_worker_per_gpu_each_seeing_its_own_first(slurm, tiny_models, bible_links, tmp_path,
                                                                        monkeypatch):
    from engine.schedule.placement import dask_client
    from engine.schedule.resources import WORKER_ENV

    config = _gpu_config(tiny_models, bible_links, tmp_path, "workers")
    for folder in (config.store.path, config.run.dir):  # the shared-folder check writes into both
        Path(folder).mkdir(parents=True)
    # sbatch exports this process's environment, where an earlier default LocalCluster's nanny may have set it
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)

    def where() -> tuple[str, str | None, str]:
        return os.environ[WORKER_ENV], os.environ.get("CUDA_VISIBLE_DEVICES"), os.environ["SLURM_JOB_ID"]

    with dask_client(config) as (client, placement):
        client.wait_for_workers(3, timeout=120)
        seen = sorted(client.run(where).values())
        # distributed's default MALLOC_TRIM_THRESHOLD_ (slow k-means temporaries) is not in any worker job
        assert set(client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_")).values()) == {None}
        resources = sorted(str(w.get("resources")) for w in client.scheduler_info(n_workers=-1)["workers"].values())
    assert placement.gpu and placement.cpu
    jobs = {job for _, _, job in seen}
    assert len(jobs) == 2, seen
    (cpu_job,) = {job for name, _, job in seen if name == f"slurm-{job}"}
    (gpu_job,) = jobs - {cpu_job}
    assert sorted(seen) == sorted([(f"slurm-{cpu_job}", "", cpu_job), (f"slurm-{gpu_job}-gpu0", "0,1", gpu_job),
                                   (f"slurm-{gpu_job}-gpu1", "1,0", gpu_job)]), seen
    assert resources == ["{'CPU': 1.0}", "{'GPU': 1.0}", "{'GPU': 1.0}"]
    assert slurm.drained() == []


def test_gpu_stages_go_to_the_gpu_workers_and_cpu_stages_to_the_cpu_only_job(slurm, tiny_models, bible_links,
                                                                            tmp_path, reference):
    """GPU jobs scaled adaptively (1 to 2) beside the fixed CPU-only job, which scaling leaves alone."""
    import re

    summary = run_pipeline(_gpu_config(tiny_models, bible_links, tmp_path, "gpus", jobs_max=2), progress=False)
    pd.testing.assert_frame_equal(results_of(summary.run_dir), reference)
    computed = _computed(summary.run_dir)
    gpu_tasks = [p for p in computed if p["stage"] in ("extract", "cluster")]
    cpu_tasks = [p for p in computed if p["stage"] not in ("extract", "cluster")]
    assert gpu_tasks and cpu_tasks
    for task in gpu_tasks:  # a GPU worker, its own GPU first
        match = re.fullmatch(r"slurm-(\d+)-gpu([01])", task["worker"])
        assert match, task
        assert task["visible_devices"] == {"0": "0,1", "1": "1,0"}[match[2]], task
    gpu_jobs = {re.fullmatch(r"slurm-(\d+)-gpu[01]", t["worker"])[1] for t in gpu_tasks}
    cpu_workers = {t["worker"] for t in cpu_tasks}
    assert len(cpu_workers) == 1 and not cpu_workers & {f"slurm-{j}" for j in gpu_jobs}, (cpu_workers, gpu_jobs)
    (cpu_worker,) = cpu_workers
    assert re.fullmatch(r"slurm-\d+", cpu_worker)
    outputs = {p.name for p in (summary.run_dir / "slurm").glob("*.out")}
    assert {f"babelscope-worker-{j}.out" for j in gpu_jobs} | {
        f"babelscope-cpu-worker-{cpu_worker.removeprefix('slurm-')}.out"} <= outputs, outputs
    assert slurm.drained() == []


def test_a_cancelled_cpu_only_job_is_submitted_again_and_the_run_completes(slurm, tiny_models, bible_links,
                                                                          tmp_path, reference):
    """The CPU stages wait for a CPU-only job, so the one cancelled must be replaced for the run to finish; a
    job of 2 workers, which distributed itself would not replace."""
    config = _gpu_config(tiny_models, bible_links, tmp_path, "cpu-cancel", cpu_cores=2)
    cache = Path(config.run.dir) / "cache"
    cancelled: list[str] = []

    def cancel_the_cpu_job_after_its_first_task() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if (cache / "align").exists() and any((cache / "align").glob("*.json")):
                done = subprocess.run(["squeue", "-h", "-n", "babelscope-cpu-worker", "-o", "%i"], check=True,
                                      capture_output=True, text=True)
                (job,) = done.stdout.split()
                subprocess.run(["scancel", job], check=True)
                cancelled.append(job)
                return
            time.sleep(0.2)

    watcher = threading.Thread(target=cancel_the_cpu_job_after_its_first_task, daemon=True)
    watcher.start()
    summary = run_pipeline(config, progress=False)
    watcher.join()
    assert cancelled, "the CPU-only job was not cancelled: no alignment task finished"
    pd.testing.assert_frame_equal(results_of(summary.run_dir), reference)
    cpu_outputs = sorted((summary.run_dir / "slurm").glob("babelscope-cpu-worker-*.out"))
    assert len(cpu_outputs) == 2, cpu_outputs  # the cancelled job and the one submitted in its place
    workers = {p["worker"] for p in _computed(summary.run_dir) if p["stage"] in ("select", "metrics")}
    assert workers and f"slurm-{cancelled[0]}" not in workers, workers  # the later CPU stages: on the new job
    assert slurm.drained() == []
