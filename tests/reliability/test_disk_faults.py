"""A disk too small for the run (refused before extraction, with both numbers), a disk that fills during the
run, and a read-only output folder: a clear error naming the path, nothing marked complete, and once the disk
has room again the run resumes to the uninterrupted result. Uses real tmpfs mounts (root)."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid

import numpy as np
import pandas as pd
import pytest
import yaml

from engine.config import validate_config
from engine.errors import StoreError
from engine.schedule import run_pipeline
from engine.store import store_info
from engine.store.verify import check_store

from .helpers import config_data, results_of, stored_arrays


@pytest.fixture
def tmpfs(tmp_path):
    """Mount a tmpfs of a given size (MiB) under tmp_path; skipped where mounting is not allowed."""
    mounted = []

    def mount(size_mib: int, name: str = "disk"):
        point = tmp_path / f"{name}-{uuid.uuid4().hex[:6]}"
        point.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mib}m", "tmpfs", str(point)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN): {done.stderr.strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


def _remount(point, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(point)], check=True)


def test_short_disk_is_refused_before_extraction_and_the_run_resumes_once_there_is_room(
        tiny_models, bible_links, tmp_path, tmpfs, reference):
    disk = tmpfs(1)  # the corpus fits, the activations (about 2 MB) and the run's slack do not
    data = config_data(tiny_models["bert"], bible_links, disk, "short")
    data["run"]["dir"] = str(tmp_path / "short")
    config = validate_config(data)
    with pytest.raises(StoreError) as info:
        run_pipeline(config, progress=False)
    assert re.fullmatch(rf"not enough disk space for the activations of store '{disk}/short.zarr': about "
                        rf"0\.\d GB required, 0\.\d GB available on the disk of '{disk}/short.zarr'; free space, "
                        rf"or set store.path to a larger disk", str(info.value)), str(info.value)
    groups = store_info(disk / "short.zarr")["activations"]
    assert groups and not any(group["complete"] or group["shards_done"] for group in groups)

    _remount(disk, "size=128m")
    summary = run_pipeline(config, progress=False)
    arrays, results = reference
    got = stored_arrays(disk / "short.zarr")
    for name, values in arrays.items():
        np.testing.assert_array_equal(got[name], values, err_msg=name)
    pd.testing.assert_frame_equal(results_of(summary.run_dir), results)


def test_disk_filling_during_the_run_is_named_and_the_run_resumes_once_there_is_room(
        tiny_models, bible_links, tmp_path, tmpfs, reference, monkeypatch):
    import engine.extract.run as extract_run

    disk = tmpfs(96)  # passes the check at the start; then another writer fills the disk
    ballast = disk / "ballast"
    real = extract_run.check_free_space

    def check_then_fill(*args, **kwargs):
        real(*args, **kwargs)
        import shutil

        free = shutil.disk_usage(disk).free
        with open(ballast, "wb") as fh:
            fh.write(b"\0" * max(0, free - 256 * 1024))

    monkeypatch.setattr(extract_run, "check_free_space", check_then_fill)
    data = config_data(tiny_models["bert"], bible_links, disk, "full")
    data["run"]["dir"] = str(tmp_path / "full")
    config = validate_config(data)
    with pytest.raises(StoreError) as info:
        run_pipeline(config, progress=False)
    message = str(info.value)
    assert message.startswith(f"cannot write '{disk}/full.zarr")
    assert message.endswith(": No space left on device (errno 28); nothing there is marked complete")
    groups = store_info(disk / "full.zarr")["activations"]
    assert groups and not any(group["complete"] for group in groups)
    assert check_store(disk / "full.zarr") == []  # what is flagged written reads back whole

    monkeypatch.setattr(extract_run, "check_free_space", real)
    ballast.unlink()
    summary = run_pipeline(config, progress=False)
    arrays, results = reference
    got = stored_arrays(disk / "full.zarr")
    for name, values in arrays.items():
        np.testing.assert_array_equal(got[name], values, err_msg=name)
    pd.testing.assert_frame_equal(results_of(summary.run_dir), results)


def test_read_only_store_and_run_folder_are_named(tiny_models, bible_links, tmp_path, tmpfs):
    disk = tmpfs(8)
    _remount(disk, "ro")
    data = config_data(tiny_models["bert"], bible_links, disk, "ro")
    data["run"]["dir"] = str(tmp_path / "ro-run")
    config_file = tmp_path / "ro.yaml"
    config_file.write_text(yaml.safe_dump(data, sort_keys=False))
    done = subprocess.run([sys.executable, "-m", "engine.cli", "run", str(config_file), "--no-progress"],
                          capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip().endswith(
        f"error: cannot write '{disk}/ro.zarr.lock': Read-only file system (errno 30); nothing there is marked "
        f"complete")

    data["store"]["path"] = str(tmp_path / "rw.zarr")  # writable store, read-only run folder
    data["run"]["dir"] = str(disk / "run")
    with pytest.raises(StoreError) as info:
        run_pipeline(validate_config(data), progress=False)
    assert str(info.value) == (f"cannot write '{disk}/run.lock': Read-only file system (errno 30); nothing there is "
                               f"marked complete")
    assert not (tmp_path / "rw.zarr").exists()


def test_atomic_files_get_the_mode_of_a_plain_write(tmp_path):
    """Written beside their name and renamed: readable by others like any file this process makes."""
    import os

    from engine.files import write_text_atomic

    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    atomic = write_text_atomic(tmp_path / "atomic.txt", "x")
    assert os.stat(atomic).st_mode == os.stat(plain).st_mode
    assert [p.name for p in tmp_path.iterdir()] in (["plain.txt", "atomic.txt"], ["atomic.txt", "plain.txt"])


def test_debris_of_killed_writers_is_swept_and_nothing_else(tmp_path):
    from engine.files import remove_write_debris

    keep = [tmp_path / "zarr.json", tmp_path / "c" / "0" / "1", tmp_path / "results.csv", tmp_path / "notes.tmp"]
    debris = [tmp_path / "c" / "0" / "1.5fd17adb3395477ba85c9a4e1b96aa1c.partial",
              tmp_path / "cache" / "extract" / ".abc.json.k2j3h4.tmp"]
    for path in keep + debris:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    assert remove_write_debris(tmp_path) == 2
    assert all(p.exists() for p in keep) and not any(p.exists() for p in debris)
