"""Reference mode on crafted files equals the literal reference algorithm (tests/metrics/literal.py)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine.dictionary
from engine.metrics import calign, colap, joint_tokens_from_file, read_reference_dictionary, type_clusters_from_file
from tests.metrics import literal
from tests.metrics.test_metrics_calign import make_dictionary

HAS_READER = hasattr(engine.dictionary, "read_reference")


def write_clusters(path: Path, lines, five_fields: bool) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for i, (word, cluster) in enumerate(lines):
            fields = [word, str(i % 3), str(i // 4), str(i % 4), cluster] if five_fields else [word, cluster]
            handle.write("|||".join(fields) + "\n")


def write_dictionary(path: Path, entries) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for src, tgt, prob in entries:
            handle.write(f"{src} -> {tgt}: Probability = {prob}, Count = 3\n")


@st.composite
def crafted(draw):
    src_words = [f"w{i}" for i in range(draw(st.integers(1, 12)))]
    tgt_words = [f"W{i}" for i in range(draw(st.integers(1, 12)))]
    clusters = lambda words: draw(st.lists(  # noqa: E731
        st.tuples(st.sampled_from(words), st.sampled_from(["0", "1", "2", "3", "10"])), min_size=1, max_size=30))
    entries = draw(st.lists(st.tuples(st.sampled_from(src_words + ["oov"]), st.sampled_from(tgt_words + ["OOV"]),
                                      st.sampled_from(["0.1", "0.25", "0.5", "0.9"])), max_size=40))
    return dict(src=clusters(src_words), tgt=clusters(tgt_words), entries=entries,
                five=draw(st.booleans()), top_n=draw(st.integers(1, 3)),
                theta=draw(st.sampled_from([0.0, 0.2, 0.25, 0.5, 0.6, 0.75, 0.9, 1.0])),
                min_types=draw(st.integers(0, 2)), size_ratio=draw(st.sampled_from([0.0, 0.5, 1.0])))


@settings(max_examples=150, deadline=None)
@given(crafted())
def test_reference_mode_reproduces_the_reference_aligned_sets(p):
    with tempfile.TemporaryDirectory() as tmp:
        src_file, tgt_file, dict_file = Path(tmp, "src.txt"), Path(tmp, "tgt.txt"), Path(tmp, "dict.txt")
        write_clusters(src_file, p["src"], p["five"])
        write_clusters(tgt_file, p["tgt"], p["five"])
        write_dictionary(dict_file, p["entries"])
        src_sets, tgt_sets = literal.read_clusters(src_file), literal.read_clusters(tgt_file)
        want = literal.aligned_clusters(src_sets, tgt_sets, literal.read_dictionary_first_n(dict_file, p["top_n"]),
                                        p["theta"], p["min_types"], p["size_ratio"])
        src, tgt = type_clusters_from_file(src_file), type_clusters_from_file(tgt_file)
        dictionaries = [make_dictionary([(s, t, float(prob)) for s, t, prob in p["entries"]])]
        if HAS_READER:
            dictionaries.append(read_reference_dictionary(dict_file, mode="reference"))
    for dictionary in dictionaries:
        result = calign(src, tgt, dictionary, theta=p["theta"], top_n=p["top_n"], min_types=p["min_types"],
                        size_ratio=p["size_ratio"], mode="reference", repeats=0, both_directions=False)
        assert set(result.forward.aligned_names()) == want
        assert result.forward.n_clusters == len(src_sets)
        assert result.forward.value == len(want) / len(src_sets)


@pytest.mark.skipif(not HAS_READER, reason="engine.dictionary.read_reference (issue 4) is not in this checkout")
def test_reference_mode_through_the_dictionary_reader(tmp_path):
    entries = [("a", "X", "0.1"), ("a", "A", "0.9"), ("b", "B", "1.0")]
    write_dictionary(tmp_path / "d.txt", entries)
    write_clusters(tmp_path / "s.txt", [("a", "0"), ("b", "0")], True)
    write_clusters(tmp_path / "t.txt", [("A", "0"), ("B", "0")], True)
    src, tgt = type_clusters_from_file(tmp_path / "s.txt"), type_clusters_from_file(tmp_path / "t.txt")
    dictionary = read_reference_dictionary(tmp_path / "d.txt", mode="reference")
    result = calign(src, tgt, dictionary, theta=0.5, top_n=1, mode="reference", repeats=0)
    assert result.forward.match_share.tolist() == [0.5] and result.forward.n_aligned == 0


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 9), st.sampled_from(["0", "1", "2", "7"])), min_size=1, max_size=60),
       st.integers(1, 9), st.sampled_from([0.0, 0.1, 0.25, 0.3, 0.5, 0.75]))
def test_colap_on_a_joint_file_split_by_sentence_equals_the_literal_count(tokens, split, theta):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "joint.txt")
        path.write_text("".join(f"w{i}|||0|||{sent}|||{i}|||{c}\n" for i, (sent, c) in enumerate(tokens)),
                        encoding="utf-8")
        labels, langs, names = joint_tokens_from_file(path, split, ("en", "de"))
    result = colap(labels, langs, languages=["en", "de"], names=names, theta=theta, repeats=0)
    cluster_of = [c for _, c in tokens]
    lang_of = [0 if sent < split else 1 for sent, _ in tokens]
    want = literal.overlapping_clusters(cluster_of, lang_of, [0, 1], theta)
    assert {names[i] for i in np.flatnonzero(result.overlapping)} == want
    assert result.value == len(want) / len(set(cluster_of))


@settings(max_examples=150, deadline=None)
@given(crafted())
def test_exported_alignment_lines_equal_the_released_scripts_printout(p):
    """Every aligned target, multi-target lines and the script's set order included."""
    from engine.metrics.export import reference_alignment_lines
    from engine.metrics.io import read_cluster_file

    with tempfile.TemporaryDirectory() as tmp:
        src_file, tgt_file, dict_file = Path(tmp, "src.txt"), Path(tmp, "tgt.txt"), Path(tmp, "dict.txt")
        write_clusters(src_file, p["src"], p["five"])
        write_clusters(tgt_file, p["tgt"], p["five"])
        write_dictionary(dict_file, p["entries"])
        want = literal.reference_alignment_printout(src_file, tgt_file,
                                                    literal.read_dictionary_first_n(dict_file, p["top_n"]),
                                                    p["theta"], p["min_types"], p["size_ratio"])
        src, tgt = type_clusters_from_file(src_file), type_clusters_from_file(tgt_file)
        orders = [list(dict.fromkeys(read_cluster_file(f).clusters)) for f in (src_file, tgt_file)]
    dictionary = make_dictionary([(s, t, float(prob)) for s, t, prob in p["entries"]])
    result = calign(src, tgt, dictionary, theta=p["theta"], top_n=p["top_n"], min_types=p["min_types"],
                    size_ratio=p["size_ratio"], mode="reference", repeats=0, both_directions=False)
    assert reference_alignment_lines(result.forward, *orders) == want


def test_a_source_cluster_aligned_to_two_targets_lists_both_in_the_scripts_order(tmp_path):
    """Two target clusters 10 and 3 both hold the source words' translations: the script's set prints 10 first."""
    from engine.metrics.export import write_reference_alignment
    from engine.metrics.io import read_cluster_file

    write_clusters(tmp_path / "s.txt", [("a", "12"), ("b", "12"), ("c", "5")], False)
    write_clusters(tmp_path / "t.txt", [("A", "3"), ("B", "3"), ("A", "10"), ("B", "10"), ("C", "10"), ("Z", "7")],
                   False)
    write_dictionary(tmp_path / "d.txt", [("a", "A", "0.9"), ("b", "B", "0.9"), ("c", "Q", "0.9")])
    src, tgt = type_clusters_from_file(tmp_path / "s.txt"), type_clusters_from_file(tmp_path / "t.txt")
    result = calign(src, tgt, make_dictionary([("a", "A", 0.9), ("b", "B", 0.9), ("c", "Q", 0.9)]), theta=0.5,
                    top_n=1, repeats=0)
    assert [tgt.names[t] for t in result.forward.target_lists()[src.names.index("12")]] == ["3", "10"]
    assert result.forward.to_dict(per_cluster=True)["clusters"][src.names.index("12")]["targets"] == ["3", "10"]
    orders = [list(dict.fromkeys(read_cluster_file(tmp_path / f).clusters)) for f in ("s.txt", "t.txt")]
    path = write_reference_alignment(tmp_path / "aligned.txt", result.forward, *orders)
    assert path.read_text() == "Source Cluster 12 is aligned to Target Clusters: 10, 3\n"
