"""Same config and seed, other chunking: identical activations, selections, clusters and results.

(Across runs and schedulers: the kill tests compare resumed runs with an uninterrupted one, and
``tests/schedule/test_run.py`` compares a 2-worker LocalCluster and external Dask workers with ``sync``.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.config import validate_config
from engine.schedule import run_pipeline

from .helpers import config_data, results_of, stored_arrays


def _run(tiny_models, bible_links, tmp_path, store, batch_tokens, shards_per_task):
    data = config_data(tiny_models["bert"], bible_links, tmp_path, "chunked")
    data["store"].update(store)
    data["extract"]["batch_tokens"] = batch_tokens
    data["run"]["extract_shards_per_task"] = shards_per_task
    summary = run_pipeline(validate_config(data), progress=False)
    return stored_arrays(tmp_path / "chunked.zarr"), results_of(summary.run_dir)


@pytest.mark.parametrize(("chunk_rows", "shards_per_task"), [(32, 1), (128, 5)])
def test_other_storage_chunking_is_bit_identical(tiny_models, bible_links, tmp_path, reference, chunk_rows,
                                                 shards_per_task):
    """Chunk size and task size change nothing the model computes: every array and the table are identical."""
    got, results = _run(tiny_models, bible_links, tmp_path, {"chunk_rows": chunk_rows, "shard_rows": 128}, 512,
                        shards_per_task)
    arrays, expected = reference
    assert sorted(got) == sorted(arrays)
    for name, values in arrays.items():
        np.testing.assert_array_equal(got[name], values, err_msg=name)
    pd.testing.assert_frame_equal(results, expected)


def test_other_batches_agree_within_one_float16_step(tiny_models, bible_links, tmp_path, reference):
    """Other shard and batch sizes pad sentences to other widths, so the float32 GEMMs round differently: a
    few activations move by one float16 step (documented tolerance), centroids by as little; every label,
    selection and metric is unchanged."""
    got, results = _run(tiny_models, bible_links, tmp_path, {"chunk_rows": 32, "shard_rows": 96}, 256, 3)
    arrays, expected = reference
    assert sorted(got) == sorted(arrays)
    for name, values in arrays.items():
        if name.startswith("activations/"):
            step = np.spacing(np.abs(values)).astype(np.float32)
            moved = np.abs(got[name].astype(np.float32) - values.astype(np.float32))
            assert (moved <= step).all(), name
            assert (moved > 0).mean() < 1e-3, name
        elif name.endswith("/centroids"):  # means of the moved rows
            np.testing.assert_allclose(got[name], values, rtol=1e-4, atol=1e-5, err_msg=name)
        else:  # labels, selections, links: identical
            np.testing.assert_array_equal(got[name], values, err_msg=name)
    pd.testing.assert_frame_equal(results, expected)
