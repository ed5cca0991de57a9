"""Run tables: schema checks with exact messages, Parquet/CSV/JSON round trips, nested concept columns."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from engine.errors import InputDataError, StoreError
from engine.report.tables import read_results, read_run_tables, validate_results, write_run_tables
from engine.results import CONCEPT_COLUMNS, CURVE_COLUMNS, RESULT_COLUMNS
from tests.report.helpers import curves_frame, results_frame


def concepts_frame() -> pd.DataFrame:
    example = {"lang": "en", "sentence": 3, "ref": "Gen 1:4", "position": 1, "text": "And God said"}
    return pd.DataFrame([
        {"model": "tiny", "side": "encoder", "layer": 1, "lang": "en", "k": 8, "cluster": 0, "n_tokens": 10,
         "n_types": 1, "top_words": [["God", 10]], "aligned_to": 0, "match_share": 1.0, "aligned": True,
         "other": "de", "examples": [example]},
        {"model": "tiny", "side": "encoder", "layer": 1, "lang": "joint-en-de", "k": 8, "cluster": 0,
         "n_tokens": 18, "n_types": 2, "top_words": [["God", 10, "en"], ["Gott", 8, "de"]], "aligned_to": -1,
         "match_share": np.nan, "aligned": False, "other": None, "examples": []},
    ], columns=CONCEPT_COLUMNS)


def test_round_trip_keeps_every_table(tmp_path):
    results, curves, concepts = results_frame(), curves_frame(), concepts_frame()
    files = write_run_tables(tmp_path, results, curves, concepts, meta={"config": {"k": 8}, "seconds": 1.5})
    assert sorted(p.name for p in files.values()) == ["concepts.parquet", "curves.parquet", "results.csv",
                                                      "results.json", "results.parquet"]
    tables = read_run_tables(tmp_path)
    assert list(tables.results.columns) == RESULT_COLUMNS and list(tables.curves.columns) == CURVE_COLUMNS
    pd.testing.assert_frame_equal(tables.results, validate_results(results))
    pd.testing.assert_frame_equal(read_results(tmp_path / "results.csv"), tables.results)
    assert len(tables.curves) == len(curves)
    assert tables.concepts["top_words"].tolist() == [[["God", 10]], [["God", 10, "en"], ["Gott", 8, "de"]]]
    assert tables.concepts["examples"].iloc[0] == [{"lang": "en", "sentence": 3, "ref": "Gen 1:4", "position": 1,
                                                    "text": "And God said"}]
    assert tables.concepts["other"].tolist() == ["de", ""]
    assert tables.meta["config"] == {"k": 8} and tables.meta["seconds"] == 1.5
    assert tables.meta["rows"] == {"results": len(results), "curves": len(curves), "concepts": 2}
    assert tables.meta["versions"]["babelscope"] and tables.meta["versions"]["pandas"] == pd.__version__
    colap = tables.results[tables.results["metric"] == "colap"]
    assert colap["top_n"].isna().all() and colap["baseline_kind"].eq("permuted-languages").all()
    eligible = tables.results[tables.results["metric"] == "calign_eligible"]
    assert eligible["baseline_kind"].eq("shuffled-dictionary-types").all() and eligible["repeats"].eq(20).all()


def test_optional_tables_and_examples(tmp_path):
    write_run_tables(tmp_path, results_frame(), None, concepts_frame().drop(columns=["examples"]))
    tables = read_run_tables(tmp_path)
    assert tables.curves.empty and list(tables.curves.columns) == CURVE_COLUMNS
    assert tables.concepts["examples"].tolist() == [[], []]


@pytest.mark.parametrize(("change", "message"), [
    (lambda df: df.drop(columns=["p_value", "seed"]),
     "the results table of write_run_tables must be complete (every column of engine.results); got \"it lacks "
     "['p_value', 'seed']\""),
    (lambda df: df.assign(metric="CALIGN"),
     "column 'metric' of the results table must be one of calign | calign_eligible | colap; got 'CALIGN'"),
    (lambda df: df.assign(direction="both"),
     "column 'direction' of the results table must be one of forward | backward | mean | joint; got 'both'"),
    (lambda df: df.assign(layer=1.5), "column 'layer' of the results table must be integers; got 1.5"),
    (lambda df: df.assign(value="high"), "column 'value' of the results table must be numeric; got 'high'"),
    (lambda df: df.assign(baseline_kind="random"),
     "column 'baseline_kind' of the results table must be one of shuffled-dictionary-types | "
     "shuffled-dictionary-lines | permuted-languages; got 'random'"),
    (lambda df: df.assign(pair="de-en"),
     "column 'pair' of the results table must be '{src}-{tgt}' (en-de); got 'de-en'"),
])
def test_invalid_results_are_refused_before_writing(tmp_path, change, message):
    with pytest.raises(InputDataError) as info:
        write_run_tables(tmp_path / "run", change(results_frame(pairs=[("en", "de")])))
    assert str(info.value) == message
    assert not (tmp_path / "run").exists()


def test_duplicate_rows_are_refused(tmp_path):
    frame = results_frame()
    with pytest.raises(InputDataError, match=r"one row per model/side/layer/pair/metric/direction/k/theta/top_n/"
                                             r"min_types/seed; got .*2 rows sharing a key"):
        write_run_tables(tmp_path, pd.concat([frame, frame.iloc[[0]]]))


def test_missing_layer_and_bad_words_are_refused():
    frame = results_frame()
    frame.loc[3, "layer"] = None
    with pytest.raises(InputDataError, match="column 'layer' of the results table must be an integer in every row; "
                                             "got 'a missing value in row 3'"):
        validate_results(frame)
    concepts = concepts_frame()
    concepts.at[0, "top_words"] = [["God"]]
    with pytest.raises(InputDataError, match=r"column 'top_words' of the concepts table must be lists of \[word, "
                                             r"count\] or \[word, count, lang\]; got \"\['God'\] in row 0\""):
        write_run_tables("unused", results_frame(), None, concepts)


def test_reading_something_else_says_what_is_missing(tmp_path):
    with pytest.raises(StoreError, match="has no results.parquet"):
        read_run_tables(tmp_path)
    with pytest.raises(StoreError, match="does not exist"):
        read_results(tmp_path / "nope")


def test_results_json_is_plain_json(tmp_path):
    write_run_tables(tmp_path, results_frame(), meta={"when": pd.Timestamp("2024-01-01")})
    payload = json.loads((tmp_path / "results.json").read_text())
    assert payload["format"] == "babelscope-run" and payload["when"].startswith("2024-01-01")
