"""Placement on a GPU host, shown on CPU: a cluster whose workers declare the GPU resource (two fake GPUs) runs
extraction and clustering on the GPU workers, one per GPU, each seeing its own GPU first, and alignment,
selection and metrics on the CPU workers, which see none."""

from __future__ import annotations

import json
import re

import pytest

from engine.config import validate_config
from engine.errors import ConfigError
from engine.schedule import run_pipeline
from engine.schedule.placement import Placement, check_devices, placement_cluster, visible_order, worker_specs
from tests.schedule.test_run import make_config


def test_worker_specs_give_each_gpu_worker_its_own_gpu_first():
    specs = worker_specs(3, 2)
    assert list(specs) == ["gpu-0", "gpu-1", "gpu-2", "cpu-0", "cpu-1"]
    assert [specs[f"gpu-{i}"]["options"]["env"]["CUDA_VISIBLE_DEVICES"] for i in range(3)] == \
        ["0,1,2", "1,2,0", "2,0,1"]
    assert all(specs[f"cpu-{j}"]["options"]["env"]["CUDA_VISIBLE_DEVICES"] == "" for j in range(2))
    assert all(spec["options"]["nthreads"] == 1 for spec in specs.values())  # one model copy per GPU
    assert specs["gpu-1"]["options"]["resources"] == {"GPU": 1} and specs["cpu-0"]["options"]["resources"] == \
        {"CPU": 1}
    assert visible_order(0, 1) == "0"


def test_tasks_ask_for_the_resource_of_their_stage():
    both = Placement(gpu=True, cpu=True)
    assert both.resources(True) == {"GPU": 1} and both.resources(False) == {"CPU": 1}
    assert Placement(gpu=True).resources(False) is None  # workers without a CPU resource take anything
    assert Placement().resources(True) is None


def test_a_gpu_named_by_index_is_refused_with_gpu_workers(tiny_models, tmp_path):
    config = make_config(tiny_models["bert"], tmp_path / "links", tmp_path, "x", "cuda")
    check_devices(config)
    data = config.model_dump(mode="json")
    data["cluster"]["device"] = "cuda:1"
    with pytest.raises(ConfigError, match=r"cluster.device='cuda:1' names one GPU by index, but with GPU workers "
                                          r"\(run.scheduler='cuda' on a host with GPUs\) each worker owns its own "
                                          r"GPU, seen as cuda:0; set cluster.device to auto or cuda"):
        check_devices(validate_config(data))


def test_gpu_stages_run_on_gpu_workers_and_the_rest_on_cpu_workers(tiny_models, bible_links, tmp_path):
    cluster = placement_cluster(2, 2)
    try:
        config = make_config(tiny_models["bert"], bible_links, tmp_path, "placed", cluster.scheduler_address,
                             store={"chunk_rows": 64, "shard_rows": 128})
        data = config.model_dump(mode="json")
        for section in ("extract", "cluster", "metrics"):
            data[section]["device"] = "cpu"  # no real GPU here; where the tasks ran is what is checked
        summary = run_pipeline(validate_config(data), progress=False)
    finally:
        cluster.close()
    tasks = json.loads((summary.run_dir / "tasks.json").read_text())
    where = {}
    for payload in tasks.values():
        where.setdefault(payload["stage"], set()).add((payload["worker"], payload["visible_devices"]))
    gpu_workers = {("gpu-0", "0,1"), ("gpu-1", "1,0")}
    for stage in ("extract", "cluster"):
        assert where[stage] <= gpu_workers, (stage, where[stage])
    assert where["extract"] == gpu_workers  # both GPUs took extraction ranges
    for stage in ("align", "select", "metrics", "extract_done"):
        assert {worker for worker, _ in where[stage]} <= {"cpu-0", "cpu-1"}, (stage, where[stage])
        assert {devices for _, devices in where[stage]} == {""}
    assert {p["device"] for p in tasks.values() if p["stage"] in ("extract", "cluster")} == {"cpu"}


@pytest.mark.parametrize(("scheduler", "gpus", "cores", "words", "n_workers", "chosen", "why"), [
    ("auto", 0, 2, 10_000, None, "sync", r"no GPU, 10,000 words < [\d,]+: in one process is quicker than "
                                         r"starting 2 worker processes that each load the model"),
    ("auto", 0, 2, 10**7, None, "local", r"no GPU, 10,000,000 words >= [\d,]+: 2 worker processes"),
    ("auto", 0, 1, 10**7, None, "sync", r"one core: worker processes would only add their start"),
    ("auto", 2, 2, 10, None, "local", r"2 GPU\(s\): one GPU worker each"),
    ("auto", 0, 2, 10, 3, "local", r"run.n_workers=3"),
    ("sync", 4, 16, 10**7, None, "sync", r"as configured"),
    ("local", 0, 2, 10, None, "local", r"as configured"),
])
def test_auto_runs_in_process_unless_workers_pay(tiny_models, tmp_path, monkeypatch, scheduler, gpus, cores, words,
                                                 n_workers, chosen, why):
    import engine.schedule.placement as placement

    monkeypatch.setattr(placement, "gpu_count", lambda: gpus)
    monkeypatch.setattr(placement, "usable_cores", lambda: cores)
    config = make_config(tiny_models["bert"], tmp_path / "links", tmp_path, "x", scheduler, n_workers=n_workers)
    got, reason = placement.choose_scheduler(config, words)
    assert got == chosen and re.fullmatch(why, reason), reason


def test_the_default_scheduler_is_auto_and_says_what_it_chose(tiny_models, bible_links, tmp_path, monkeypatch):
    import engine.schedule.placement as placement
    from tests.reliability.helpers import config_data

    monkeypatch.setattr(placement, "gpu_count", lambda: 0)  # the same choice on a GPU host or a 1-core one
    monkeypatch.setattr(placement, "usable_cores", lambda: 2)
    data = config_data(tiny_models["bert"], bible_links, tmp_path, "auto")
    del data["run"]["scheduler"]
    config = validate_config(data)
    assert config.run.scheduler == "auto"
    run_pipeline(config, progress=False)
    log = (tmp_path / "auto" / "run.log").read_text()
    assert re.search(r"run .*/auto: \d+ tasks on scheduler sync \(auto: no GPU, [\d,]+ words < [\d,]+: in one "
                     r"process is quicker than starting 2 worker processes that each load the model\)", log)
    assert json.loads((tmp_path / "auto" / "results.json").read_text())["scheduler"] == "sync"


WORKER_MALLOC = """
import json, os, types
from distributed import Client, LocalCluster
from engine.schedule.placement import dask_client

def trim():
    return os.environ.get("MALLOC_TRIM_THRESHOLD_")

config = types.SimpleNamespace(run=types.SimpleNamespace(scheduler="local", n_workers=1))
with dask_client(config) as (client, _):
    ours = list(client.run(trim).values())
with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=":0") as cluster, Client(cluster) as client:
    plain = list(client.run(trim).values())
print(json.dumps([ours, plain]))
"""


def test_local_workers_keep_glibc_dynamic_mmap_threshold(tmp_path):
    """distributed starts workers with MALLOC_TRIM_THRESHOLD_=65536 (which pins glibc's mmap threshold, so large
    temporaries are mapped and unmapped on every k-means pass); our local workers start without it. A fresh
    process, since a nanny also sets it in the process that starts it."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if k != "MALLOC_TRIM_THRESHOLD_"}
    done = subprocess.run([sys.executable, "-c", WORKER_MALLOC], capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).resolve().parents[2], env=env, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    ours, plain = json.loads(done.stdout.strip().splitlines()[-1])
    assert ours == [None] and plain == ["65536"]
