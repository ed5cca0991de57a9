"""A small real run (tiny BERT, 100 Bible verses, imported eflomal links) and ways to compare stores."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd

from engine.faults import ENV
from engine.store import open_store, read_lock
from engine.store.verify import _owner, check_store

VERSES = 100
STORE = {"chunk_rows": 64, "shard_rows": 128}


def config_data(model, links, tmp_path, name: str, scheduler: str = "sync") -> dict:
    return {
        "models": [{"name": str(model), "label": "tiny"}],
        "corpus": {"source": "bible", "languages": ["en", "de"], "count": VERSES},
        "extract": {"batch_tokens": 512, "device": "cpu"},
        "align": {"links": {"en-de": str(links)}},
        "cluster": {"ks": [8], "backend": "torch", "device": "cpu"},
        "metrics": {"repeats": 5, "device": "cpu"},
        "store": {"path": str(tmp_path / f"{name}.zarr"), **STORE},
        "run": {"dir": str(tmp_path / name), "scheduler": scheduler, "report": False,
                "extract_shards_per_task": 2},
    }


def results_of(run_dir) -> pd.DataFrame:
    from engine.report.tables import read_results

    table = read_results(run_dir)
    return table.sort_values(["layer", "metric", "direction", "k"]).reset_index(drop=True)


def stored_arrays(path) -> dict[str, np.ndarray]:
    """Every array of every artefact marked complete (and every flagged extraction shard), by path."""
    root = open_store(path)
    out = {}
    with warnings.catch_warnings():  # a killed writer's *.partial files, which the next run sweeps
        warnings.filterwarnings("ignore", message="Object at .* is not recognized as a component")
        members = list(root.members(max_depth=None))
    for name, node in members:
        if not hasattr(node, "shape") or name.endswith("shard_done"):
            continue
        group = root[name.rsplit("/", 1)[0]]
        if name.startswith("activations/"):
            done = group["shard_done"][:].astype(bool)
            rows = np.repeat(done, int(group["shard_done"].attrs["shard_rows"]))[: node.shape[0]]
            out[name] = node[:][rows]
        elif name.startswith(("corpus/", "vocab/")):
            if root.attrs.get("corpus_complete"):
                out[name] = node[:]
        else:  # links, dictionaries, selections, clusterings only when marked complete; row metadata always
            owner = _owner(root, name)
            if owner not in root or root[owner].attrs.get("complete", True):
                out[name] = node[:]
    return out


def assert_trusted_parts_match(path, reference: dict[str, np.ndarray]) -> None:
    """What a killed run left marked complete reads back whole and equals the uninterrupted run."""
    assert check_store(path) == []
    for name, values in stored_arrays(path).items():
        expected = reference[name]
        if name.startswith("activations/"):
            assert values.shape[0] <= expected.shape[0]
            continue  # flagged rows are compared after the resume (row masks differ in length here)
        np.testing.assert_array_equal(values, expected, err_msg=name)


def cli_run(config_file, failpoint: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != ENV}
    if failpoint:
        env[ENV] = failpoint
    return subprocess.run([sys.executable, "-m", "engine.cli", "run", str(config_file), "--no-progress"],
                          env=env, capture_output=True, text=True, timeout=timeout)


def finish_and_compare(config_file, store, run_dir, reference, stale_lock: bool = True) -> None:
    arrays, results = reference
    done = cli_run(config_file)
    assert done.returncode == 0, done.stderr[-3000:]
    assert ("clearing a stale lock" in done.stderr) == stale_lock  # a killed run leaves its lock behind
    assert read_lock(store) is None
    debris = [p for folder in (store, run_dir) for p in folder.rglob("*") if p.name.endswith((".partial", ".tmp"))]
    assert debris == []  # the resumed run swept what the killed writers left
    got = stored_arrays(store)
    assert sorted(got) == sorted(arrays)
    for name, values in arrays.items():
        np.testing.assert_array_equal(got[name], values, err_msg=name)
    pd.testing.assert_frame_equal(results_of(run_dir), results)
