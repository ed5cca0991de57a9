"""`babelscope run` end to end on a tiny model: LocalCluster, external Dask processes, sync, and the cache."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from engine.config import validate_config
from engine.schedule import run_pipeline

VERSES = 100


@pytest.fixture(scope="module")
def links_file(bible_links):
    return bible_links


def make_config(model, links, tmp_path, name: str, scheduler: str = "sync", ks=(8,), store=None, metrics=None,
                **run):
    return validate_config({
        "models": [{"name": str(model), "label": "tiny"}],
        "corpus": {"source": "bible", "languages": ["en", "de"], "count": VERSES},
        "extract": {"device": "cpu"},  # CPU numerics are what these compare (a GPU host picks bfloat16)
        "align": {"links": {"en-de": str(links)}},
        "cluster": {"ks": list(ks), "device": "cpu"},
        "metrics": {"repeats": 5, "device": "cpu", **(metrics or {})},
        "store": {"path": str(tmp_path / f"{name}.zarr"), **(store or {})},
        "run": {"dir": str(tmp_path / name), "scheduler": scheduler, "report": False, **run},
    })


def results_of(run_dir) -> pd.DataFrame:
    from engine.report.tables import read_results

    table = read_results(run_dir)
    return table.sort_values(["layer", "metric", "direction", "k"]).reset_index(drop=True)


def test_local_cluster_equals_sync(tiny_models, links_file, tmp_path, monkeypatch, caplog):
    """Extraction split into sentence ranges (4 store shards a task) on 2 workers equals one process; a
    re-run with everything cached answers from the cache without starting a cluster."""
    small = {"chunk_rows": 64, "shard_rows": 128}
    sync = run_pipeline(make_config(tiny_models["bert"], links_file, tmp_path, "sync", store=small,
                                    extract_shards_per_task=4), progress=False)
    local_config = make_config(tiny_models["bert"], links_file, tmp_path, "local", "local", store=small,
                               n_workers=2, extract_shards_per_task=4)
    with caplog.at_level(logging.WARNING, logger="distributed"):
        local = run_pipeline(local_config, progress=False)
    # the workers exit when asked (no nanny kills one after 4 s), and nothing warns (no port clash either)
    assert [r.getMessage() for r in caplog.records if r.name.startswith("distributed")] == []
    assert sync.computed == local.computed
    assert local.computed["extract"] >= 2 * 5  # ~2,700 words a language: 22 shards, 6 tasks
    assert {k: v for k, v in local.computed.items() if k != "extract"} == {
        "extract_done": 2, "align": 1, "select": 1, "cluster": 9, "metrics": 3}
    a, b = results_of(sync.run_dir), results_of(local.run_dir)
    assert len(a) == 3 * 7  # 3 layers x (calign and eligible for each direction and their mean, colap)
    pd.testing.assert_frame_equal(a, b)
    assert set(a["metric"]) == {"calign", "calign_eligible", "colap"}
    assert a["value"].between(0, 1).all()
    from engine.store import open_store

    for lang in ("en", "de"):  # the sharded store equals the single-shard one
        one = open_store(tmp_path / "sync.zarr")[f"activations/tiny/encoder/{lang}/layer_2"][:]
        many = open_store(tmp_path / "local.zarr")[f"activations/tiny/encoder/{lang}/layer_2"][:]
        np.testing.assert_array_equal(one, many)

    import engine.schedule.executor

    def no_cluster(config):
        raise AssertionError("a fully cached re-run started a Dask cluster")

    monkeypatch.setattr(engine.schedule.executor, "dask_client", no_cluster)
    again = run_pipeline(local_config, progress=False)
    assert again.computed == {} and sum(again.cached.values()) == sum(local.computed.values())
    pd.testing.assert_frame_equal(results_of(again.run_dir), b)


def test_cache_skips_done_work_and_k_recomputes_only_downstream(tiny_models, links_file, tmp_path, monkeypatch):
    first = run_pipeline(make_config(tiny_models["bert"], links_file, tmp_path, "c"), progress=False)
    assert first.cached == {}
    import transformers

    import engine.extract.models

    def no_loading(*args):
        raise AssertionError("a fully cached re-run loaded a tokenizer or weights")

    with monkeypatch.context() as patched:  # nothing to extract: the model's config is all a re-run reads
        patched.setattr(engine.extract.models, "_fast_tokenizer", no_loading)
        patched.setattr(transformers.AutoModel, "from_pretrained", no_loading)
        again = run_pipeline(make_config(tiny_models["bert"], links_file, tmp_path, "c"), progress=False)
    assert again.computed == {}
    assert sum(again.cached.values()) == sum(first.computed.values())
    changed = run_pipeline(make_config(tiny_models["bert"], links_file, tmp_path, "c", ks=(6,)), progress=False)
    assert changed.computed == {"cluster": 9, "metrics": 3}
    assert changed.cached == {"extract": 2, "extract_done": 2, "align": 1, "select": 1}
    assert set(results_of(changed.run_dir)["k"]) == {6}
    lines = run_pipeline(make_config(tiny_models["bert"], links_file, tmp_path, "c", ks=(6,),
                                     metrics={"calign": {"null_model": "lines", "mode": "reference"}}),
                         progress=False)
    assert lines.computed == {"metrics": 3}  # another null model: the metrics again, on the same clusterings
    kinds = results_of(lines.run_dir).groupby("metric")["baseline_kind"].unique()
    assert set(kinds["calign"]) == {"shuffled-dictionary-lines"} and set(kinds["colap"]) == {"permuted-languages"}
    from engine.store import layout, open_store

    stored = open_store(tmp_path / "c.zarr")[layout.alignment_path("tiny", "encoder", 1, "calign-en-de", 6, "forward")]
    assert {stored.attrs["params"][p] for p in ("null", "mode")} == {"lines", "reference"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_external_scheduler_and_workers(tiny_models, links_file, tmp_path):
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    bin_dir = f"{sys.prefix}/bin"
    procs = [subprocess.Popen([f"{bin_dir}/dask", "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.3)
        for _ in range(2):
            procs.append(subprocess.Popen([f"{bin_dir}/dask", "worker", address, "--nthreads", "1", "--nworkers", "1",
                                           "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=90)
        remote = run_pipeline(make_config(tiny_models["bert"], links_file, tmp_path, "remote", address),
                              progress=False)
        local = run_pipeline(make_config(tiny_models["bert"], links_file, tmp_path, "inproc"), progress=False)
        pd.testing.assert_frame_equal(results_of(remote.run_dir), results_of(local.run_dir))
    finally:
        for proc in procs[::-1]:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_unreachable_scheduler_is_named(tiny_models, links_file, tmp_path):
    from engine.errors import ConfigError

    address = f"tcp://127.0.0.1:{_free_port()}"
    with pytest.raises(ConfigError, match=f"no Dask scheduler answers at '{address}'"):
        run_pipeline(make_config(tiny_models["bert"], links_file, tmp_path, "none", address), progress=False)


def test_calign_across_encoder_and_decoder_sides_end_to_end(tiny_models, links_file, tmp_path):
    """select.calign.side_pairs [[encoder, decoder]]: the CALIGN set pairs English encoder states with German
    decoder states; the run clusters each language on its own side and measures them against each other."""
    from engine.dictionary.store import read_store_dictionary
    from engine.metrics import TypeClusters, calign
    from engine.select import read_selection
    from engine.store import layout, open_store

    data = make_config(tiny_models["t5"], links_file, tmp_path, "mixed", ks=(6,)).model_dump(mode="json")
    data["extract"]["sides"] = ["encoder", "decoder"]
    data["select"]["calign"]["side_pairs"] = [["encoder", "decoder"]]
    summary = run_pipeline(validate_config(data), progress=False)
    results = results_of(summary.run_dir)
    calign_rows = results[results["metric"] == "calign"]
    assert set(calign_rows["side"]) == {"encoder-decoder"}
    assert set(results[results["metric"] == "colap"]["side"]) == {"encoder", "decoder"}
    assert sorted(calign_rows["layer"].unique()) == [0, 1, 2]

    root = open_store(tmp_path / "mixed.zarr")
    selection = layout.calign_selection("en", "de", "encoder", "decoder")
    assert selection == "calign-en-de-encoder-decoder"
    clusters = {}
    for lang, side in (("en", "encoder"), ("de", "decoder")):
        labels = root[layout.clusters_path("tiny", side, 1, layout.cluster_space([lang], selection), 6)]["labels"][:]
        chosen = read_selection(root, selection, "tiny", side, lang)
        clusters[lang] = TypeClusters.from_tokens(labels, chosen.type_id, n_clusters=6,
                                                  vocab=[str(w) for w in root[layout.vocab_path(lang)][:]])
    spec = validate_config(data).metrics.calign
    direct = calign(clusters["en"], clusters["de"], read_store_dictionary(root, "en", "de"), theta=spec.theta,
                    top_n=spec.top_n, min_types=spec.min_types, size_ratio=spec.size_ratio, repeats=0)
    row = calign_rows[(calign_rows["layer"] == 1) & (calign_rows["direction"] == "forward")].iloc[0]
    assert row["value"] == pytest.approx(direct.forward.value)
    assert row["n_points"] == len(read_selection(root, selection, "tiny", "encoder", "en"))

    from engine.report.tables import read_run_tables

    concepts = read_run_tables(summary.run_dir).concepts
    assert set(concepts["side"]) == {"encoder-decoder"} and set(concepts["lang"]) == {"en", "de"}
