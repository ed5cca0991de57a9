"""Pharaoh links: parsing, round trip, and the exact messages for bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.align import Links, format_pharaoh, parse_pharaoh, read_pharaoh, write_pharaoh
from engine.errors import InputDataError

SRC_LEN = [3, 2, 4]
TGT_LEN = [2, 5, 1]


def test_parse_sorts_and_dedups():
    links = parse_pharaoh(["2-1 0-0 0-0", "", "3-0 1-0"], SRC_LEN, TGT_LEN)
    assert links.sentence.tolist() == [0, 0, 2, 2]
    assert links.src.tolist() == [0, 2, 1, 3]
    assert links.tgt.tolist() == [0, 1, 0, 0]
    assert links.sentence.dtype == np.int32
    assert links.pairs_of(2) == [(1, 0), (3, 0)]
    assert links.pairs_of(1) == []


def test_round_trip_through_a_file(tmp_path):
    links = Links.from_pairs([[(0, 1), (2, 0)], [], [(3, 0)]])
    path = write_pharaoh(tmp_path / "out" / "en-de.links", links, 3)
    assert path.read_text(encoding="utf-8") == "0-1 2-0\n\n3-0\n"
    back = read_pharaoh(path, SRC_LEN, TGT_LEN)
    assert [a.tolist() for a in (back.sentence, back.src, back.tgt)] == \
        [a.tolist() for a in (links.sentence, links.src, links.tgt)]


def test_index_out_of_range_names_file_line_index_and_length(tmp_path):
    path = tmp_path / "a.links"
    path.write_text("0-0\n1-4 1-5\n0-0\n", encoding="utf-8")
    with pytest.raises(InputDataError) as err:
        read_pharaoh(path, SRC_LEN, TGT_LEN)
    assert str(err.value) == f"{path}: line 2: target index 5 of link '1-5' must be < sentence length 5 (sentence 1)"
    path.write_text("0-0\n0-0\n4-0\n", encoding="utf-8")
    with pytest.raises(InputDataError) as err:
        read_pharaoh(path, SRC_LEN, TGT_LEN)
    assert str(err.value) == f"{path}: line 3: source index 4 of link '4-0' must be < sentence length 4 (sentence 2)"


def test_malformed_link_message(tmp_path):
    path = tmp_path / "b.links"
    path.write_text("0-0\n0-1 1:1\n\n", encoding="utf-8")
    with pytest.raises(InputDataError) as err:
        read_pharaoh(path, SRC_LEN, TGT_LEN)
    assert str(err.value) == (f"link '1:1' on line 2 of {path} must be of the form i-j with non-negative integers "
                              f"i and j; got '0-1 1:1'")


@pytest.mark.parametrize(("text", "message"), [
    ("0-0\n0-0\n", "2 lines but 3 sentence pairs; a Pharaoh file holds one line per sentence pair"),
    ("0-0\n\n\n0-0\n", "line 4: more lines than sentence pairs (3); a Pharaoh file holds one line per sentence pair"),
])
def test_wrong_line_count(tmp_path, text, message):
    path = tmp_path / "c.links"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputDataError) as err:
        read_pharaoh(path, SRC_LEN, TGT_LEN)
    assert str(err.value) == f"{path}: {message}"


def test_missing_file_and_check_bounds(tmp_path):
    with pytest.raises(InputDataError, match="links file .*nope.links' does not exist"):
        read_pharaoh(tmp_path / "nope.links", SRC_LEN, TGT_LEN)
    links = Links.from_pairs([[(0, 0)], [(1, 4)], [(0, 1)]])
    with pytest.raises(InputDataError) as err:
        links.check_bounds(np.array(SRC_LEN), np.array(TGT_LEN), "links en-de")
    assert str(err.value) == "links en-de: sentence 2: target index 1 of link '0-1' must be < sentence length 1"


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sets(st.tuples(st.integers(0, 9), st.integers(0, 9)), max_size=8), min_size=1, max_size=6))
def test_format_parse_round_trip(sentences):
    links = Links.from_pairs(sentences)
    lines = format_pharaoh(links, len(sentences))
    back = parse_pharaoh(lines, [10] * len(sentences), [10] * len(sentences))
    assert [a.tolist() for a in (back.sentence, back.src, back.tgt)] == \
        [a.tolist() for a in (links.sentence, links.src, links.tgt)]
    width = 10
    again = Links.from_keys(links.keys(width), width)
    assert again.src.tolist() == links.src.tolist() and again.sentence.tolist() == links.sentence.tolist()
