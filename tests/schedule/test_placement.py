"""Placement on a GPU host, shown on CPU: a cluster whose workers declare the GPU resource (two fake GPUs) runs
extraction and clustering on the GPU workers, one per GPU, each seeing its own GPU first, and alignment,
selection and metrics on the CPU workers, which see none."""

from __future__ import annotations

import json

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
