"""Reference-format and TSV dictionary files: round trip, reading modes, exact messages for bad lines."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.dictionary import Dictionary, build_dictionary, read_reference, read_tsv, write_reference
from engine.dictionary.io import REFERENCE_LINE, format_reference
from engine.errors import ConfigError, InputDataError

# File order deliberately disagrees with probability for "LORD": the released code takes the first lines.
REFERENCE_TEXT = """\
LORD -> HERRN: Probability = 0.25, Count = 1
LORD -> Jehova: Probability = 0.5, Count = 2
God -> Gott: Probability = 0.9047619047619048, Count = 76
LORD -> HERR: Probability = 0.25, Count = 1
God -> Gottes: Probability = 0.09523809523809523, Count = 8
: -> :: Probability = 1.0, Count = 3
"""


def write(tmp_path, text, name="dict.txt"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def ranked(d):
    return [(s, t, int(r)) for s, t, r in zip(d.src, d.tgt, d.rank, strict=True)]


def test_reference_mode_keeps_file_order(tmp_path):
    d = read_reference(write(tmp_path, REFERENCE_TEXT), mode="reference")
    assert ranked(d) == [("LORD", "HERRN", 0), ("LORD", "Jehova", 1), ("God", "Gott", 0), ("LORD", "HERR", 2),
                         ("God", "Gottes", 1), (":", ":", 0)]
    top2 = d.top(2)
    assert list(zip(top2.src, top2.tgt, strict=True)) == [("LORD", "HERRN"), ("LORD", "Jehova"), ("God", "Gott"),
                                                          ("God", "Gottes"), (":", ":")]
    assert d.prob[2] == 0.9047619047619048 and d.count.tolist() == [1, 2, 76, 1, 8, 3]


def test_sorted_mode_ranks_by_probability_then_count_then_word(tmp_path):
    d = read_reference(write(tmp_path, REFERENCE_TEXT))
    assert ranked(d) == [("LORD", "HERRN", 2), ("LORD", "Jehova", 0), ("God", "Gott", 0), ("LORD", "HERR", 1),
                         ("God", "Gottes", 1), (":", ":", 0)]
    assert d.meta == {"source": str(tmp_path / "dict.txt"), "format": "reference", "mode": "sorted"}


def test_round_trip_is_exact(tmp_path):
    original = read_reference(write(tmp_path, REFERENCE_TEXT), mode="reference")
    path = write_reference(tmp_path / "out" / "copy.txt", original)
    again = read_reference(path, mode="reference")
    assert path.read_text(encoding="utf-8").splitlines() == [
        "LORD -> HERRN: Probability = 0.25, Count = 1",
        "LORD -> Jehova: Probability = 0.5, Count = 2",
        "LORD -> HERR: Probability = 0.25, Count = 1",
        "God -> Gott: Probability = 0.9047619047619048, Count = 76",
        "God -> Gottes: Probability = 0.09523809523809523, Count = 8",
        ": -> :: Probability = 1.0, Count = 3",
    ]
    assert sorted(ranked(again)) == sorted(ranked(original))
    assert sorted(zip(again.src, again.tgt, again.prob.tolist(), strict=True)) == \
        sorted(zip(original.src, original.tgt, original.prob.tolist(), strict=True))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 4)), min_size=1, max_size=40))
def test_built_dictionary_round_trips_in_both_modes(tmp_path_factory, pairs):
    vocab_s, vocab_t = ["God", "LORD", "said", "ä"], ["Gott", "Herr", "sprach", "ß", "Ελ"]
    built = build_dictionary(np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs]), vocab_s, vocab_t)
    path = write_reference(tmp_path_factory.mktemp("rt") / "d.txt", built)
    for mode in ("sorted", "reference"):
        back = read_reference(path, mode=mode)
        assert back.src == built.src and back.tgt == built.tgt
        assert back.prob.tolist() == built.prob.tolist() and back.rank.tolist() == built.rank.tolist()
        assert back.count.tolist() == built.count.tolist()


@pytest.mark.parametrize(("line", "message"), [
    ("God Gott 0.5 3", f"line 2 of {{path}} must be {REFERENCE_LINE}; got 'God Gott 0.5 3'"),
    ("God -> Gott: Probability = 1.5, Count = 3", "probability on line 2 of {path} must be a number in [0, 1]; "
                                                   "got '1.5'"),
    ("God -> Gott: Probability = x, Count = 3", "probability on line 2 of {path} must be a number in [0, 1]; "
                                                 "got 'x'"),
    ("God -> Gott: Probability = 0.5, Count = 3.0", "count on line 2 of {path} must be a non-negative integer; "
                                                     "got '3.0'"),
])
def test_malformed_line_messages(tmp_path, line, message):
    path = write(tmp_path, "God -> Gottes: Probability = 0.5, Count = 1\n" + line + "\n")
    with pytest.raises(InputDataError) as err:
        read_reference(path)
    assert str(err.value) == message.format(path=path)


def test_repeated_entry_is_an_error_only_in_sorted_mode(tmp_path):
    path = write(tmp_path, "a -> b: Probability = 0.5, Count = 1\n\na -> b: Probability = 0.5, Count = 1\n")
    with pytest.raises(InputDataError) as err:
        read_reference(path)
    assert str(err.value) == (f"{path}: line 3 repeats the entry 'a' -> 'b' of line 1; use mode='reference' to keep "
                              f"repeated lines as the released code does")
    assert ranked(read_reference(path, mode="reference")) == [("a", "b", 0), ("a", "b", 1)]


def test_bad_mode_missing_file_and_unwritable_words(tmp_path):
    with pytest.raises(ConfigError) as err:
        read_reference(write(tmp_path, ""), mode="file")
    assert str(err.value) == "mode of read_reference must be one of sorted|reference; got 'file'"
    with pytest.raises(InputDataError, match="dictionary file .*none.txt' does not exist"):
        read_reference(tmp_path / "none.txt")
    bad = Dictionary(["a -> b"], ["c"], np.array([1.0]), np.array([1]), np.array([0], np.int32))
    with pytest.raises(InputDataError, match="source word 'a -> b' of dictionary entry 0 cannot be written"):
        format_reference(bad)


def test_tsv(tmp_path):
    path = write(tmp_path, "# en\tde\nGod\tGott\t0.9\nGod\tGottes\nLORD\tJehova\t0.5\n\nGod\tHerr\t0.95\n", "d.tsv")
    d = read_tsv(path)
    assert ranked(d) == [("God", "Gott", 0), ("God", "Gottes", 1), ("LORD", "Jehova", 0), ("God", "Herr", 2)]
    assert np.isnan(d.prob[1]) and d.count.tolist() == [0, 0, 0, 0]
    assert ranked(read_tsv(path, mode="sorted")) == [("God", "Gott", 1), ("God", "Gottes", 2), ("LORD", "Jehova", 0),
                                                     ("God", "Herr", 0)]
    bad = write(tmp_path, "God\tGott\nGod Gott\n", "bad.tsv")
    with pytest.raises(InputDataError) as err:
        read_tsv(bad)
    assert str(err.value) == (f"line 2 of {bad} must be 'src<TAB>tgt' or 'src<TAB>tgt<TAB>p' with non-empty words; "
                              f"got 'God Gott'")
