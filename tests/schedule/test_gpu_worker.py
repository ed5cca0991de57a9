"""Each worker of a multi-GPU SLURM job takes its own GPU (``engine.schedule.gpu_worker``, the workers' preload)."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.schedule.gpu_worker import GPUS_ENV, job_devices, own_gpu
from engine.schedule.resources import WORKER_ENV, own_first


@pytest.mark.parametrize(("env", "name", "visible", "worker"), [
    ({GPUS_ENV: "2", "CUDA_VISIBLE_DEVICES": "0,1", WORKER_ENV: "slurm-7"}, "SLURMCluster-3-0", "0,1", "slurm-7-gpu0"),
    ({GPUS_ENV: "2", "CUDA_VISIBLE_DEVICES": "0,1", WORKER_ENV: "slurm-7"}, "SLURMCluster-3-1", "1,0", "slurm-7-gpu1"),
    ({GPUS_ENV: "3", "CUDA_VISIBLE_DEVICES": "4,6,7", WORKER_ENV: "slurm-9"}, "j-2", "7,4,6", "slurm-9-gpu7"),
    ({GPUS_ENV: "1", "CUDA_VISIBLE_DEVICES": "3", WORKER_ENV: "slurm-5"}, "SLURMCluster-12", "3", "slurm-5-gpu3"),
    ({GPUS_ENV: "2", "SLURM_JOB_GPUS": "2,5", WORKER_ENV: "slurm-1"}, "w-1", "5,2", "slurm-1-gpu5"),
    ({GPUS_ENV: "2"}, "w-1", "1,0", "w-1-gpu1"),
])
def test_each_worker_sees_its_own_gpu_first_and_names_it(env, name, visible, worker):
    assert own_gpu(env, name) == {"CUDA_VISIBLE_DEVICES": visible, WORKER_ENV: worker}


def test_fewer_gpus_listed_than_workers_is_logged_and_shared(caplog):
    env = {GPUS_ENV: "2", "CUDA_VISIBLE_DEVICES": "3"}
    with caplog.at_level(logging.WARNING, logger="engine.schedule.gpu_worker"):
        assert own_gpu(env, "j-1")["CUDA_VISIBLE_DEVICES"] == "3"
    assert "the job lists 1 GPU(s) (3) for 2 workers: some workers share a GPU" in caplog.text


def test_a_worker_name_without_its_index_is_refused():
    with pytest.raises(ValueError, match="worker name 'j-x' of a 2-GPU job does not end in -<index>"):
        own_gpu({GPUS_ENV: "2", "CUDA_VISIBLE_DEVICES": "0,1"}, "j-x")


def test_an_empty_list_falls_back_to_the_first_devices():
    assert job_devices({"CUDA_VISIBLE_DEVICES": " , "}, 3) == ["0", "1", "2"]


@given(st.lists(st.text("0123456789", min_size=1, max_size=2), min_size=1, max_size=8, unique=True), st.data())
def test_own_first_is_a_rotation_that_starts_with_the_own_gpu(devices, data):
    index = data.draw(st.integers(0, len(devices) - 1))
    order = own_first(devices, index).split(",")
    assert order[0] == devices[index] and sorted(order) == sorted(devices)
    assert order == devices[index:] + devices[:index]
