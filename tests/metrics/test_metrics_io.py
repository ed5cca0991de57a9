"""Cluster-file import: both layouts, words holding the separator, and errors naming file and line."""

from __future__ import annotations

import logging

import pytest

from engine.errors import ConfigError, InputDataError
from engine.metrics import joint_tokens_from_file, read_cluster_file, type_clusters_from_file


def test_five_field_file_with_a_separator_inside_a_word(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("the|||0|||0|||0|||10\n\na|||b|||1|||0|||1|||2\nthe|||1|||1|||3|||10\ncat|||0|||2|||0|||2\n")
    data = read_cluster_file(path)
    assert data.words == ["the", "a|||b", "the", "cat"] and data.clusters == ["10", "2", "10", "2"]
    assert data.sentence.tolist() == [0, 0, 1, 2] and data.position.tolist() == [0, 1, 3, 0]
    clusters = type_clusters_from_file(path)
    assert clusters.names == ["2", "10"] and clusters.vocab == ["the", "a|||b", "cat"]
    assert clusters.sizes().tolist() == [2, 1]  # "the" twice in cluster 10 is one type


def test_two_field_file_keeps_first_appearance_order_for_named_clusters(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("dog|||c7\ncat|||c1\ndog|||c1\n")
    clusters = type_clusters_from_file(path)
    assert clusters.names == ["c7", "c1"] and clusters.sizes().tolist() == [1, 2]
    assert read_cluster_file(path).sentence is None


@pytest.mark.parametrize("text, line, expected", [
    ("a|||0|||0|||0|||1\nb|||x|||0|||0|||1\n", 2, "word|||occurrence|||sentence|||position|||cluster"),
    ("a|||1\nb\n", 2, "word|||cluster"),
    ("a|||1\n|||2\n", 2, "word|||cluster"),
    ("a|||b|||c\n", 1, "word|||occurrence|||sentence|||position|||cluster or word|||cluster"),
])
def test_bad_lines_name_file_line_and_layout(tmp_path, text, line, expected):
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(InputDataError, match=f"line {line} of {path} of read_cluster_file must be {expected}"):
        read_cluster_file(path)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(InputDataError, match="an existing cluster file"):
        read_cluster_file(tmp_path / "nope.txt")
    (tmp_path / "empty.txt").write_text("\n\n")
    with pytest.raises(InputDataError, match="at least one line"):
        read_cluster_file(tmp_path / "empty.txt")


def test_joint_split_needs_sentences_and_warns_on_one_sided_splits(tmp_path, caplog):
    two = tmp_path / "two.txt"
    two.write_text("a|||0\n")
    with pytest.raises(InputDataError, match="a five-field file"):
        joint_tokens_from_file(two, 1)
    with pytest.raises(ConfigError, match="split of joint_tokens_from_file must be a positive sentence index"):
        joint_tokens_from_file(two, 0)
    five = tmp_path / "five.txt"
    five.write_text("a|||0|||0|||0|||3\nb|||0|||4|||0|||1\n")
    labels, langs, names = joint_tokens_from_file(five, 2)
    assert names == ["1", "3"] and labels.tolist() == [1, 0] and langs.tolist() == [0, 1]
    with caplog.at_level(logging.WARNING, logger="engine.metrics.io"):
        joint_tokens_from_file(five, 10)
    assert "leaves 2 tokens of src and 0 of tgt" in caplog.text
