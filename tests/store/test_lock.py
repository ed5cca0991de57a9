"""One run per store: a live holder is named and refused, a stale lock from a dead process is cleared."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from engine.errors import StoreError
from engine.store.lock import acquire_lock, lock_path, read_lock, release_lock, store_lock

HOLD = """
import sys, time
from engine.store.lock import acquire_lock
acquire_lock(sys.argv[1], "holder test")
print("locked", flush=True)
time.sleep(120)
"""


def _holder(store) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(store)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_lock_is_taken_and_released(tmp_path):
    store = tmp_path / "a.zarr"
    with store_lock(store, "unit") as holder:
        held = read_lock(store)
        assert held["pid"] == os.getpid() and held["host"] == socket.gethostname() and held["command"] == "unit"
        assert holder["since"] == held["since"]
    assert read_lock(store) is None and not lock_path(store).exists()


def test_second_run_is_refused_naming_the_holder(tmp_path):
    store = tmp_path / "busy.zarr"
    proc = _holder(store)
    try:
        expected = (f"store '{store}' is in use by pid {proc.pid} on host '{socket.gethostname()}' since "
                    f"{read_lock(store)['since']} (holder test); wait for it to finish (lock '{lock_path(store)}')")
        with pytest.raises(StoreError) as info:
            acquire_lock(store)
        assert str(info.value) == expected
    finally:
        proc.kill()
        proc.wait()


def test_stale_lock_of_a_killed_process_is_cleared(tmp_path, caplog):
    store = tmp_path / "stale.zarr"
    proc = _holder(store)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert read_lock(store)["pid"] == proc.pid  # kill -9 left it behind
    with caplog.at_level(logging.WARNING, logger="engine.store.lock"):
        holder = acquire_lock(store)
    assert holder["pid"] == os.getpid() and read_lock(store)["pid"] == os.getpid()
    assert f"clearing a stale lock left by pid {proc.pid}" in caplog.text
    release_lock(store, holder)


def test_reused_pid_is_not_taken_for_the_holder(tmp_path):
    """Our own pid with another start time: the recorded process is gone even though the pid lives."""
    store = tmp_path / "reused.zarr"
    lock_path(store).write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "pid_start": "1",
                                            "since": "2026-01-01T00:00:00+00:00", "command": "old"}))
    holder = acquire_lock(store)
    assert read_lock(store)["since"] == holder["since"]
    release_lock(store, holder)


def test_unreadable_lock_is_stale_and_foreign_host_is_refused(tmp_path):
    store = tmp_path / "odd.zarr"
    lock_path(store).write_text("{half a lock")  # a holder that died while writing it
    release_lock(store, acquire_lock(store))
    lock_path(store).write_text(json.dumps({"pid": 1, "host": "node-17", "since": "2026-01-01T00:00:00+00:00",
                                            "command": "babelscope run"}))
    with pytest.raises(StoreError) as info:
        acquire_lock(store)
    assert str(info.value) == (
        f"store '{store}' is locked by pid 1 on host 'node-17' since 2026-01-01T00:00:00+00:00 (babelscope run), "
        f"which cannot be checked from host '{socket.gethostname()}'; once that run is gone, remove "
        f"'{lock_path(store)}'")


def test_run_pipeline_refuses_a_locked_store(tmp_path):
    from engine.config import validate_config
    from engine.schedule import run_pipeline

    config = validate_config({"models": [{"name": "me5-small"}],
                              "corpus": {"source": "bible", "languages": ["en", "de"], "count": 5},
                              "store": {"path": str(tmp_path / "r.zarr")},
                              "run": {"dir": str(tmp_path / "r"), "scheduler": "sync"}})
    proc = _holder(tmp_path / "r.zarr")
    try:
        started = time.monotonic()
        with pytest.raises(StoreError, match=f"is in use by pid {proc.pid} on host"):
            run_pipeline(config, progress=False)
        assert time.monotonic() - started < 30
        assert not (tmp_path / "r.zarr").exists()  # refused before touching the store
    finally:
        proc.kill()
        proc.wait()


def test_two_real_runs_on_one_store(tiny_models, bible_links, tmp_path):
    """Two `babelscope run` processes on one store (two run folders): the second is refused naming the first,
    which finishes."""
    import yaml

    from tests.reliability.helpers import config_data

    config_file = tmp_path / "both.yaml"
    config_file.write_text(yaml.safe_dump(config_data(tiny_models["bert"], bible_links, tmp_path, "both")))
    command = [sys.executable, "-m", "engine.cli", "run", str(config_file), "--no-progress"]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while read_lock(tmp_path / "both.zarr") is None and time.monotonic() < deadline and first.poll() is None:
            time.sleep(0.02)
        second = subprocess.run([*command, "--set", f"run.dir={tmp_path / 'other'}"], capture_output=True, text=True,
                                timeout=120)
        assert second.returncode == 2
        assert second.stderr.strip().splitlines()[-1].startswith(
            f"error: store '{tmp_path / 'both.zarr'}' is in use by pid {first.pid} on host '{socket.gethostname()}'")
        assert first.wait(timeout=300) == 0, first.stderr.read()[-3000:]
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert read_lock(tmp_path / "both.zarr") is None
