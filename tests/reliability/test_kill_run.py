"""``kill -9`` of a real ``babelscope run`` at named and at random moments; every re-run resumes, and the
finished store and results equal an uninterrupted run's. Nothing is ever marked complete unless it is."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import yaml

from engine.faults import ENV
from engine.store import read_lock

from .helpers import assert_trusted_parts_match, cli_run, config_data, finish_and_compare


def test_kill_at_named_moments_then_resume(tiny_models, bible_links, tmp_path, reference):
    """Inside a shard write, inside Lloyd iterations, half-way through storing a clustering, between two
    output tables: each kill leaves only whole artefacts marked complete, and each re-run goes further."""
    data = config_data(tiny_models["bert"], bible_links, tmp_path, "killed")
    config_file = tmp_path / "killed.yaml"
    config_file.write_text(yaml.safe_dump(data, sort_keys=False))
    store, run_dir = tmp_path / "killed.zarr", tmp_path / "killed"
    for point in ("extract.shard_write@5", "cluster.iteration@3", "cluster.write@4", "run.tables"):
        killed = cli_run(config_file, point)
        assert killed.returncode == -signal.SIGKILL, (point, killed.stderr[-3000:])
        assert read_lock(store)["pid"] > 0  # SIGKILL leaves the lock: the next run must see it is stale
        assert_trusted_parts_match(store, reference[0])
        if point == "run.tables":
            assert not (run_dir / "results.json").exists()  # the run's tables never appeared half-written
    finish_and_compare(config_file, store, run_dir, reference)


def test_kill_at_random_moments_then_resume(tiny_models, bible_links, tmp_path, reference):
    """SIGKILL from outside at seeded random moments while the run works, three times over, then a clean
    finish. A moment is a random number of further finished tasks plus a random delay, so every kill lands
    inside the run whatever the machine's speed (extraction, clustering, metrics, whatever it is doing)."""
    data = config_data(tiny_models["bert"], bible_links, tmp_path, "random")
    config_file = tmp_path / "random.yaml"
    config_file.write_text(yaml.safe_dump(data, sort_keys=False))
    store, run_dir = tmp_path / "random.zarr", tmp_path / "random"
    rng = random.Random(20261201)
    env = {k: v for k, v in os.environ.items() if k != ENV}
    n_tasks = 39  # 23 extraction ranges, 2 group checks, align, select, 9 clusterings, 3 metrics

    def finished_tasks() -> int:
        return len(list((run_dir / "cache").glob("*/*.json")))

    kills = 0
    for _ in range(3):
        before = finished_tasks()
        target = before + rng.randint(0, max(0, n_tasks - before - 3))
        proc = subprocess.Popen([sys.executable, "-m", "engine.cli", "run", str(config_file), "--no-progress"],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while finished_tasks() < target and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.3) if target > before else rng.uniform(1.0, 4.0))
        if proc.poll() is not None:
            break  # it finished before the kill came
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
        if store.exists():
            assert_trusted_parts_match(store, reference[0])
    assert kills >= 2
    finish_and_compare(config_file, store, run_dir, reference, stale_lock=proc.returncode != 0)


def test_kill_of_a_local_cluster_run_takes_its_workers_along(tiny_models, bible_links, tmp_path, reference):
    """The client of a LocalCluster run killed while its workers extract: no worker outlives it to write
    into the store behind the next run's back, and the next run finishes with the uninterrupted result."""
    import psutil

    data = config_data(tiny_models["bert"], bible_links, tmp_path, "local", scheduler="local")
    data["run"]["n_workers"] = 2
    config_file = tmp_path / "local.yaml"
    config_file.write_text(yaml.safe_dump(data, sort_keys=False))
    store, run_dir = tmp_path / "local.zarr", tmp_path / "local"
    env = {k: v for k, v in os.environ.items() if k != ENV}
    proc = subprocess.Popen([sys.executable, "-m", "engine.cli", "run", str(config_file), "--no-progress"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    extract_cache = run_dir / "cache" / "extract"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if extract_cache.is_dir() and any(extract_cache.glob("*.json")):
            break
        time.sleep(0.05)
    children = psutil.Process(proc.pid).children(recursive=True)
    assert len(children) >= 2, "the run ended before its workers were seen"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    gone, alive = psutil.wait_procs(children, timeout=30)
    assert alive == [], f"workers outlived the killed client: {alive}"
    assert_trusted_parts_match(store, reference[0])
    finish_and_compare(config_file, store, run_dir, reference)
