"""A damaged store: ``info --check`` names each damaged array and chunk, a reader names the array it could
not read, and ``--repair`` + a re-run recompute only what was damaged, ending with the original arrays."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from engine.cluster.stage import cluster_space
from engine.config import validate_config
from engine.errors import StoreError
from engine.schedule import run_pipeline
from engine.store import open_store
from engine.store.verify import Damage, check_store, repair_store

from .helpers import config_data, stored_arrays

EN = "activations/tiny/encoder/en"
DE = "activations/tiny/encoder/de"


@pytest.fixture
def finished(tiny_models, bible_links, reference, tmp_path):
    """The reference run's config, finished in ``tmp_path``, and the reference arrays."""
    config = validate_config(config_data(tiny_models["bert"], bible_links, tmp_path, "whole"))
    run_pipeline(config, progress=False)
    return config, tmp_path / "whole.zarr", reference[0]


def _flip(path, offset: int = 100) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def _cluster(root) -> str:
    return next(f"clusters/{name}" for name, node in root["clusters"].members(max_depth=None)
                if "labels" in name and "colap" in name).rsplit("/", 1)[0]


def test_check_names_each_damaged_chunk_and_repair_recomputes_only_that(finished):
    config, store, arrays = finished
    assert check_store(store) == []
    clusters = _cluster(open_store(store))
    _flip(store / EN / "layer_1" / "c" / "2" / "0")  # a bit flip inside shard 2 (rows 256:384)
    (store / DE / "layer_2" / "c" / "0" / "0").unlink()  # a lost shard file (rows 0:128)
    _flip(store / clusters / "labels" / "c" / "0", offset=10)

    damage = check_store(store)
    assert [(d.array, d.chunk, d.rows) for d in damage] == [
        (f"{DE}/layer_2", (0, 0), (0, 128)),
        (f"{EN}/layer_1", (2, 0), (256, 384)),
        (f"{clusters}/labels", (0,), (0, open_store(store)[f"{clusters}/labels"].shape[0])),
    ]
    assert damage[0].reason == "missing shard file 'c/0/0'"
    assert damage[1].reason.startswith("unreadable shard 'c/2/0' (ValueError: Stored and computed checksum")
    assert damage[2].reason.startswith("unreadable chunk 'c/0' (ValueError: Stored and computed checksum")

    cli = subprocess.run([sys.executable, "-m", "engine.cli", "info", str(store), "--check"], capture_output=True,
                         text=True)
    assert cli.returncode == 1
    assert "check: 3 damaged object(s)" in cli.stdout
    assert f"{EN}/layer_1 shard (2, 0) (rows 256:384): unreadable shard 'c/2/0'" in cli.stdout
    assert f"{DE}/layer_2 shard (0, 0) (rows 0:128): missing shard file 'c/0/0'" in cli.stdout
    assert f"{clusters}/labels chunk (0,) (rows 0:" in cli.stdout

    with pytest.raises(StoreError) as info:  # a reader of the damaged layer names the array and rows
        cluster_space(store, model="tiny", side="encoder", layer=1, langs=["en"], k=4, selection="colap")
    assert str(info.value).startswith(f"array '{EN}/layer_1' is damaged where rows ")
    assert "`babelscope info STORE --check` names the chunks, `--repair` recomputes them" in str(info.value)
    nan_rows = f"array '{DE}/layer_2' holds NaN in 128 of the rows 0:.* read \\(a missing chunk\\?\\)"
    with pytest.raises(StoreError, match=nan_rows):
        cluster_space(store, model="tiny", side="encoder", layer=2, langs=["de"], k=4, selection="colap")

    actions = repair_store(store, damage)
    assert actions == [
        f"{DE}/layer_2: extraction shards [0] marked for recomputation",
        f"{EN}/layer_1: extraction shards [2] marked for recomputation",
        f"{clusters}/labels: {clusters} marked incomplete",
    ]
    again = run_pipeline(config, progress=False)
    # one sentence range (2 shards) per damaged shard, the two groups re-finished, the one clustering redone
    assert again.computed == {"extract": 2, "extract_done": 2, "cluster": 1}
    assert check_store(store) == []
    got = stored_arrays(store)
    for name, values in arrays.items():
        np.testing.assert_array_equal(got[name], values, err_msg=name)


def test_damaged_row_metadata_redoes_that_extraction_only(finished):
    config, store, arrays = finished
    _flip(store / "words/tiny/encoder/en/sentence/c/0", offset=20)
    damage = check_store(store)
    assert [d.array for d in damage] == ["words/tiny/encoder/en/sentence"]
    assert repair_store(store) == ["words/tiny/encoder/en/sentence: extraction tiny/encoder/en removed (its row "
                                   "plan is damaged); it is redone whole"]
    again = run_pipeline(config, progress=False)
    assert set(again.computed) == {"extract", "extract_done"} and again.computed["extract_done"] == 1
    got = stored_arrays(store)
    for name, values in arrays.items():
        np.testing.assert_array_equal(got[name], values, err_msg=name)


def test_unreadable_metadata_is_named_by_the_run_and_repaired(finished):
    config, store, arrays = finished
    (store / EN / "layer_0" / "zarr.json").write_text("{not json")
    damage = check_store(store)
    assert damage and damage[0] == Damage(f"{EN}/layer_0", None, None, damage[0].reason)
    assert damage[0].reason.startswith("unreadable metadata zarr.json")
    cli = subprocess.run([sys.executable, "-m", "engine.cli", "info", str(store), "--check"], capture_output=True,
                         text=True)
    assert cli.returncode == 1 and f"{EN}/layer_0: unreadable metadata zarr.json" in cli.stdout
    with pytest.raises(StoreError) as info:  # the run names the node and the repair, not a JSONDecodeError
        run_pipeline(config.model_copy(update={"cluster": config.cluster.model_copy(update={"ks": [9]})}),
                     progress=False)
    assert str(info.value) == (f"store {str(store)!r}: {EN}/layer_0: unreadable metadata zarr.json (Expecting "
                               f"property name enclosed in double quotes: line 1 column 2 (char 1)); run "
                               f"`babelscope info {store} --repair`, then run again")
    assert repair_store(store, damage) == [f"{EN}/layer_0: unreadable metadata; extraction tiny/encoder/en "
                                           f"removed, it is redone whole"]
    again = run_pipeline(config, progress=False)
    assert again.computed["extract_done"] == 1 and check_store(store) == []
    got = stored_arrays(store)
    for name, values in arrays.items():
        np.testing.assert_array_equal(got[name], values, err_msg=name)


def test_a_repaired_shard_is_not_flagged_by_the_next_check(finished):
    _, store, _ = finished
    _flip(store / EN / "layer_1" / "c" / "2" / "0")
    damage = check_store(store)
    assert len(damage) == 1
    cli = subprocess.run([sys.executable, "-m", "engine.cli", "info", str(store), "--repair"], capture_output=True,
                         text=True)
    assert cli.returncode == 0, cli.stderr
    assert f"repair: {EN}/layer_1: extraction shards [2] marked for recomputation" in cli.stdout
    check = subprocess.run([sys.executable, "-m", "engine.cli", "info", str(store), "--check"], capture_output=True,
                           text=True)
    assert check.returncode == 0, check.stdout
    assert "check: every chunk reads back" in check.stdout


def test_info_lists_every_artefact_and_names_the_incomplete(finished):
    _, store, _ = finished
    clusters = _cluster(open_store(store))
    _flip(store / clusters / "labels" / "c" / "0", offset=10)
    repair_store(store)
    cli = subprocess.run([sys.executable, "-m", "engine.cli", "info", str(store)], capture_output=True, text=True)
    assert cli.returncode == 0, cli.stderr
    lines = cli.stdout.splitlines()
    links = open_store(store)["links/en-de"].attrs["n_links"]
    assert "  links: 1 complete" in lines and f"    en-de: n_links {links}, method as imported" in lines
    assert "  dictionaries: 1 complete" in lines and "  selections: 4 complete" in lines
    assert "  clusterings: 8 complete, 1 incomplete" in lines
    assert any(line.startswith(f"    {clusters.split('/', 1)[1]}: K 8, n ") and line.endswith(" incomplete")
               for line in lines)
    assert "  metric alignments: 6 complete" in lines  # 3 layers x 2 directions
    as_json = json.loads(subprocess.run([sys.executable, "-m", "engine.cli", "info", str(store), "--json"],
                                        capture_output=True, text=True).stdout)
    assert [c["path"] for c in as_json["clusters"] if not c["complete"]] == [clusters]
    assert {len(as_json[s]) for s in ("links", "dictionaries")} == {1} and len(as_json["alignments"]) == 6
