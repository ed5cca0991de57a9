"""``run.scheduler: slurm`` on a real one-node SLURM cluster (``tests/slurm/node.py``): worker jobs submitted by
dask-jobqueue give the tables of a ``sync`` run; a worker job cancelled mid-run costs no result."""

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
from tests.slurm.node import Node, missing


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    reason = missing()
    if reason:
        pytest.skip(reason)
    pytest.importorskip("dask_jobqueue", reason="the slurm extra (dask-jobqueue) is not installed")
    node = Node(tmp_path_factory.mktemp("slurm"), cpus=os.cpu_count() or 2).start()
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


def _workers(run_dir: Path) -> set[str]:
    journal = json.loads((run_dir / "tasks.json").read_text())
    return {p["worker"] for p in journal.values() if p.get("computed") and "worker" in p}


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
