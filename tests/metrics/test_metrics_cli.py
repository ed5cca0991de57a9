"""`babelscope metrics calign|colap` on crafted files, and its bad-input messages."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import engine.dictionary
from engine.cli import app

runner = CliRunner()


@pytest.fixture
def files(tmp_path):
    (tmp_path / "src.txt").write_text("a|||0|||0|||0|||0\nb|||0|||0|||1|||0\nc|||0|||1|||0|||1\nd|||0|||1|||1|||1\n")
    (tmp_path / "tgt.txt").write_text("A|||x\nB|||x\nC|||y\nQ|||y\n")
    (tmp_path / "dict.txt").write_text("a -> A: Probability = 0.9, Count = 9\nb -> B: Probability = 1.0, Count = 3\n"
                                       "c -> Z: Probability = 0.4, Count = 3\nc -> C: Probability = 0.6, Count = 2\n")
    (tmp_path / "joint.txt").write_text("a|||0|||0|||0|||0\nA|||0|||5|||0|||0\nb|||0|||1|||0|||1\n"
                                        "b|||0|||2|||0|||1\n")
    return tmp_path


@pytest.mark.skipif(not hasattr(engine.dictionary, "read_reference"), reason="needs the dictionary reader")
def test_calign_reference_mode_keeps_file_order(files):
    args = ["metrics", "calign", "--src-clusters", str(files / "src.txt"), "--tgt-clusters", str(files / "tgt.txt"),
            "--dictionary", str(files / "dict.txt"), "--theta", "0.4", "--top-n", "1", "--repeats", "3"]
    sorted_run = runner.invoke(app, args + ["--json"])
    assert sorted_run.exit_code == 0, sorted_run.output
    result = json.loads(sorted_run.output)
    assert result["forward"]["n_aligned"] == 2 and result["params"]["mode"] == "sorted"  # c -> C (p 0.6)
    assert result["backward"] is not None and result["forward"]["null"]["repeats"] == 3
    reference = runner.invoke(app, args + ["--mode", "reference", "--one-direction", "--out", str(files / "r.json")])
    assert reference.exit_code == 0, reference.output
    assert "src.txt -> tgt.txt: 0.500 (1/2 clusters aligned" in reference.output  # c -> Z comes first
    saved = json.loads((files / "r.json").read_text())
    assert saved["backward"] is None
    assert [c["aligned"] for c in saved["forward"]["clusters"]] == [True, False]


def test_colap_from_a_joint_file(files):
    result = runner.invoke(app, ["metrics", "colap", "--clusters", str(files / "joint.txt"), "--split", "5",
                                 "--languages", "en,de", "--repeats", "2"])
    assert result.exit_code == 0, result.output
    assert "COLAP theta=0.3 (a fraction) languages=en,de: 0.500 (1/2 clusters overlap; 1 single-language" \
        in result.output


def test_bad_input_exits_2_with_the_message(files):
    percent = runner.invoke(app, ["metrics", "colap", "--clusters", str(files / "joint.txt"), "--split", "5",
                                  "--theta", "30"])
    assert percent.exit_code == 2 and "the reference's 30.0 is 0.3 here" in percent.output
    (files / "bad.txt").write_text("a|||0\nb\n")
    bad = runner.invoke(app, ["metrics", "calign", "--src-clusters", str(files / "bad.txt"), "--tgt-clusters",
                              str(files / "tgt.txt"), "--dictionary", str(files / "dict.txt")])
    assert bad.exit_code == 2 and f"line 2 of {files / 'bad.txt'}" in bad.output


def test_calign_names_the_null_model_it_used(files):
    args = ["metrics", "calign", "--src-clusters", str(files / "src.txt"), "--tgt-clusters", str(files / "tgt.txt"),
            "--dictionary", str(files / "dict.txt"), "--theta", "0.4", "--top-n", "1", "--repeats", "4"]
    default, lines = runner.invoke(app, args), runner.invoke(app, args + ["--null", "lines"])
    assert default.exit_code == 0 and lines.exit_code == 0, (default.output, lines.output)
    assert "shuffled dictionary (types)" in default.output and "shuffled dictionary (lines)" in lines.output
    bad = runner.invoke(app, args + ["--null", "tokens"])
    assert bad.exit_code == 2 and "null of calign must be one of types | lines; got 'tokens'" in bad.output


def test_calign_writes_every_aligned_target_in_the_reference_format(files):
    out = files / "aligned.txt"
    done = runner.invoke(app, ["metrics", "calign", "--src-clusters", str(files / "src.txt"), "--tgt-clusters",
                               str(files / "tgt.txt"), "--dictionary", str(files / "dict.txt"), "--theta", "0.4",
                               "--top-n", "2", "--repeats", "0", "--alignment-out", str(out)])
    assert done.exit_code == 0, done.output
    assert out.read_text() == ("Source Cluster 0 is aligned to Target Clusters: x\n"
                               "Source Cluster 1 is aligned to Target Clusters: y\n")
