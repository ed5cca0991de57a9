"""The edges of the command line and of a run: one clear error (exit 2) where Python would raise, the run
folder locked, failures written to run.log, and spaces too small for K skipped with the rest completed."""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from engine.cli import app
from engine.config import validate_config
from engine.errors import InputDataError, StoreError, TaskFailedError
from engine.schedule import run_pipeline
from engine.store.lock import store_lock

from .helpers import config_data

runner = CliRunner()


def _config_file(tmp_path: Path, data: dict) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return str(path)


def _error(result) -> str:
    assert result.exit_code == 2, result.output
    return result.output.strip().splitlines()[-1]


def test_a_set_value_that_is_not_yaml_is_named(tiny_models, bible_links, tmp_path):
    config = _config_file(tmp_path, config_data(tiny_models["bert"], bible_links, tmp_path, "r"))
    result = runner.invoke(app, ["run", config, "--set", "cluster.ks=[10"])
    assert _error(result) == ("error: --set 'cluster.ks=[10': line 1, column 4: malformed YAML: expected ',' or "
                              "']', but got '<stream end>'")
    assert not (tmp_path / "r").exists() and not (tmp_path / "r.zarr").exists()


def test_a_key_given_twice_is_refused_with_both_lines(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_text("models:\n  - name: me5-small\ncluster: {ks: [10]}\nstore: {path: a.zarr}\n"
                    "cluster:\n  ks: [20]\n", encoding="utf-8")
    result = runner.invoke(app, ["run", str(path)])
    assert _error(result) == (f"error: {path}: line 5, column 1: malformed YAML: duplicate key 'cluster' "
                              f"(first given on line 3)")


@pytest.mark.parametrize("command", ["run", "extract"])
def test_a_store_path_that_is_a_file(command, tiny_models, bible_links, tmp_path):
    config = _config_file(tmp_path, config_data(tiny_models["bert"], bible_links, tmp_path, "r"))
    store = tmp_path / "f.zarr"
    store.write_text("hi\n")
    result = runner.invoke(app, [command, config, "--set", f"store.path={store}", "--no-progress"])
    assert _error(result) == f"error: store {str(store)!r} is a file, not a folder; remove it or choose another path"
    assert store.read_text() == "hi\n"


def test_info_on_a_regular_file(tmp_path):
    store = tmp_path / "f.zarr"
    store.write_text("hi\n")
    result = runner.invoke(app, ["info", str(store)])
    assert _error(result) == (f"error: store {str(store)!r} is a file, not a folder; a store is a folder with a "
                              f"zarr.json")


def test_the_run_folder_is_locked_naming_its_holder(tiny_models, bible_links, tmp_path):
    data = config_data(tiny_models["bert"], bible_links, tmp_path, "r")
    run_dir = Path(data["run"]["dir"])
    with store_lock(run_dir, "babelscope run (store other.zarr)", "run folder") as holder:
        with pytest.raises(StoreError) as info:
            run_pipeline(validate_config({**data, "store": {**data["store"], "path": str(tmp_path / "b.zarr")}}),
                         progress=False)
    assert str(info.value) == (f"run folder {str(run_dir)!r} is in use by pid {os.getpid()} on host "
                               f"{holder['host']!r} since {holder['since']} (babelscope run (store other.zarr)); "
                               f"wait for it to finish (lock {str(run_dir) + '.lock'!r})")
    assert not (tmp_path / "b.zarr").exists() and not (run_dir / "run.log").exists()


def test_a_failed_task_is_named_at_the_end_of_run_log(tiny_models, bible_links, tmp_path):
    bad = tmp_path / "bad.links"
    bad.write_text("0-0\n0-99\n", encoding="utf-8")
    data = config_data(tiny_models["bert"], bible_links, tmp_path, "r")
    data["align"] = {"links": {"en-de": str(bad)}}
    with pytest.raises(InputDataError) as info:
        run_pipeline(validate_config(data), progress=False)
    lines = [line for line in (tmp_path / "r" / "run.log").read_text(encoding="utf-8").splitlines()
             if " engine.schedule.executor: run: " not in line]  # progress lines, from a timer
    assert re.search(r"ERROR engine\.schedule\.executor: task align-en-de-[0-9a-f]{16} failed: (.*)$",
                     lines[-2]).group(1) == str(info.value)
    assert lines[-1].endswith(f"ERROR engine.schedule.run: run failed: {info.value}")


def test_an_unexpected_error_names_its_task_and_leaves_the_traceback_in_run_log(tiny_models, bible_links, tmp_path,
                                                                                 monkeypatch):
    import engine.cluster.stage

    def broken(*args, **kwargs):
        raise RuntimeError("no more memory for the centres")

    monkeypatch.setattr(engine.cluster.stage, "cluster_space", broken)
    data = config_data(tiny_models["bert"], bible_links, tmp_path, "r")
    data["extract"]["layers"] = [1]
    with pytest.raises(TaskFailedError) as info:
        run_pipeline(validate_config(data), progress=False)
    message = str(info.value)
    assert message.startswith("task cluster-tiny-encoder-1-") and message.endswith(
        f" failed: RuntimeError: no more memory for the centres (the traceback is in {tmp_path / 'r'}/run.log)")
    log_text = (tmp_path / "r" / "run.log").read_text(encoding="utf-8")
    assert f"ERROR engine.schedule.run: run failed: {message}\nTraceback (most recent call last):" in log_text
    assert log_text.rstrip().endswith("RuntimeError: no more memory for the centres")


def test_one_language_says_why_nothing_is_measured(tiny_models, bible_links, tmp_path):
    data = config_data(tiny_models["bert"], bible_links, tmp_path, "r")
    data["corpus"]["languages"] = ["en"]
    del data["align"]
    result = runner.invoke(app, ["run", _config_file(tmp_path, data), "--no-progress"])
    assert result.exit_code == 0, result.output
    log_text = (tmp_path / "r" / "run.log").read_text(encoding="utf-8")
    assert ("WARNING engine.schedule.graph: corpus.languages holds one language (en): the run extracts its "
            "activations and measures nothing, since CALIGN and COLAP compare two languages; add a language to "
            "corpus.languages") in log_text


def test_a_space_smaller_than_k_is_skipped_and_the_rest_completes(tiny_models, bible_links, tmp_path, caplog):
    data = config_data(tiny_models["bert"], bible_links, tmp_path, "r")
    data["extract"]["layers"] = [2]
    data["cluster"]["ks"] = [8, 5000]
    with caplog.at_level(logging.WARNING, logger="engine"):
        summary = run_pipeline(validate_config(data), progress=False)
    results = pd.read_csv(tmp_path / "r" / "results.csv")
    assert sorted(set(results["k"])) == [8] and {"calign", "colap"} <= set(results["metric"])
    meta = json.loads((tmp_path / "r" / "results.json").read_text())
    assert meta["skipped"] == summary.skipped and len(summary.skipped) == 3  # two CALIGN spaces, one joint
    for reason in summary.skipped:
        assert reason.startswith("space ") and " of tiny/encoder layer 2 has " in reason
        assert reason.endswith(" points, fewer than K=5000 (cluster.ks): not clustered, its metrics skipped")
        assert reason in caplog.messages
        assert reason in (tmp_path / "r" / "run.log").read_text(encoding="utf-8")


def test_links_that_connect_nothing_warn_and_the_run_completes(tiny_models, bible_links, tmp_path, caplog):
    empty = tmp_path / "empty.links"
    empty.write_text("\n" * 100, encoding="utf-8")
    data = config_data(tiny_models["bert"], bible_links, tmp_path, "r")
    data["extract"]["layers"] = [2]
    data["align"] = {"links": {"en-de": str(empty)}}
    with caplog.at_level(logging.WARNING, logger="engine"):
        summary = run_pipeline(validate_config(data), progress=False)
    assert (f"en-de: links file {str(empty)!r} links no words at all over 100 sentence pairs; CALIGN "
            f"of this pair will find no translations") in caplog.messages
    results = pd.read_csv(tmp_path / "r" / "results.csv")
    assert set(results["metric"]) == {"colap"}  # CALIGN's spaces are empty: skipped, named
    assert len(summary.skipped) == 2 and all(" has 0 points, fewer than K=8 " in r for r in summary.skipped)


def test_a_cluster_file_with_invalid_utf8_names_the_line(tmp_path):
    clusters = tmp_path / "c.txt"
    clusters.write_bytes(b"dog|||0\nc\xffat|||1\n")
    result = runner.invoke(app, ["metrics", "calign", "--src-clusters", str(clusters), "--tgt-clusters",
                                 str(clusters), "--dictionary", str(clusters)])
    assert _error(result) == (f"error: line 2 of {clusters} must be valid UTF-8 (invalid start byte at byte 1 of the "
                              f"line); got b'c\\xffat|||1'")


def test_a_five_field_line_in_a_two_field_file_and_a_negative_index_are_refused(tmp_path):
    from engine.metrics.io import read_cluster_file

    two = tmp_path / "two.txt"
    two.write_text("dog|||0\ncat|||1\ndog|||0|||1|||1|||3\n", encoding="utf-8")
    with pytest.raises(InputDataError) as info:
        read_cluster_file(two)
    assert str(info.value) == (f"line 3 of {two} of read_cluster_file must be word|||cluster like the file's first "
                               f"line (this line has the five-field layout "
                               f"word|||occurrence|||sentence|||position|||cluster); got 'dog|||0|||1|||1|||3'")
    with_bars = _write_text(tmp_path / "w.txt", "dog|||0\na|||b|||0\n")  # ||| inside a word stays allowed
    assert read_cluster_file(with_bars).words == ["dog", "a|||b"]
    five = _write_text(tmp_path / "five.txt", "dog|||0|||1|||1|||3\ncat|||0|||-2|||1|||3\n")
    with pytest.raises(InputDataError) as info:
        read_cluster_file(five)
    assert str(info.value) == (f"sentence on line 2 of {five} of read_cluster_file must be a non-negative integer; "
                               f"got 'cat|||0|||-2|||1|||3'")


def _write_text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_metrics_out_that_is_a_directory_or_under_a_file(tmp_path):
    joint = _write_text(tmp_path / "j.txt", "dog|||0|||0|||0|||0\nHund|||0|||1|||0|||0\n")
    base = ["metrics", "colap", "--clusters", str(joint), "--split", "1", "--repeats", "0", "--out"]
    folder = tmp_path / "out"
    folder.mkdir()
    assert _error(runner.invoke(app, [*base, str(folder)])) == (
        f"error: --out of metrics must be a file path for the JSON result; got '{folder} (a directory)'")
    under = joint / "x.json"
    assert _error(runner.invoke(app, [*base, str(under)])) == (
        f"error: --out of metrics must be a file path for the JSON result; got '{under} ({joint} is a file, not a "
        f"folder)'")
    done = runner.invoke(app, [*base, str(folder / "r.json")])
    assert done.exit_code == 0 and json.loads((folder / "r.json").read_text())["n_clusters"] == 1


def test_run_overwrite_replaces_a_store_of_another_corpus(tiny_models, bible_links, tmp_path):
    from engine.corpus import load_corpus
    from engine.store import init_store

    data = config_data(tiny_models["bert"], bible_links, tmp_path, "r")
    data["extract"]["layers"] = [2]
    other = validate_config({**data, "corpus": {**data["corpus"], "count": 20}})
    init_store(data["store"]["path"], load_corpus(other.corpus))
    config = _config_file(tmp_path, data)
    refused = _error(runner.invoke(app, ["run", config, "--no-progress"]))
    assert refused.startswith(f"error: store {data['store']['path']!r} was written for another corpus (corpus_hash ")
    assert refused.endswith("; use --overwrite or another store path")
    done = runner.invoke(app, ["run", config, "--no-progress", "--overwrite"])
    assert done.exit_code == 0, done.output
    assert f"store: {data['store']['path']}" in done.output
    assert f"results: {tmp_path / 'r' / 'results.csv'}" in done.output
