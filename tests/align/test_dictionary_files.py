"""``align.dictionary.files``: a pair's dictionary read from a file (reference format, TSV) instead of built
from its links, cut to the corpus words with each kept entry's rank."""

from __future__ import annotations

import pytest

from engine.align.stage import run_align
from engine.config import validate_config
from engine.dictionary import read_store_dictionary
from engine.errors import ConfigError
from engine.store import open_store
from tests.conftest import BIBLE_LINK_VERSES


def _config(tmp_path, links, files, **corpus):
    return validate_config({
        "models": [{"name": "me5-small"}],
        "corpus": {"source": "bible", "languages": ["en", "de"], "count": BIBLE_LINK_VERSES, **corpus},
        "align": {"links": {"en-de": str(links)}, "dictionary": {"files": files}},
        "store": {"path": str(tmp_path / "s.zarr")},
    })


def test_a_reference_dictionary_file_replaces_the_one_built_from_links(tmp_path, bible_links):
    path = tmp_path / "en-de.txt"  # "heaven" first goes to a word the corpus lacks: it keeps rank 1 for Himmel
    path.write_text("God -> Gott: Probability = 0.9, Count = 9\n"
                    "heaven -> Paradies: Probability = 0.6, Count = 3\n"
                    "heaven -> Himmel: Probability = 0.4, Count = 2\n"
                    "unicorn -> Einhorn: Probability = 1.0, Count = 1\n")
    run_align(_config(tmp_path, bible_links, {"en-de": {"path": str(path)}}))
    stored = read_store_dictionary(open_store(tmp_path / "s.zarr"), "en", "de")
    assert list(zip(stored.src, stored.tgt, stored.rank.tolist(), strict=True)) == [
        ("God", "Gott", 0), ("heaven", "Himmel", 1)]
    assert stored.meta["imported"] == str(path) and stored.meta["entries_in_file"] == 4


def test_a_tsv_dictionary_ranked_by_probability(tmp_path, bible_links):
    path = tmp_path / "en-de.tsv"
    path.write_text("# en\tde\tp\nlight\tLicht\t0.2\nlight\tHimmel\t0.7\n")
    run_align(_config(tmp_path, bible_links, {"en-de": {"path": str(path), "format": "tsv", "mode": "sorted"}}))
    stored = read_store_dictionary(open_store(tmp_path / "s.zarr"), "en", "de")
    assert dict(zip(stored.tgt, stored.rank.tolist(), strict=True)) == {"Himmel": 0, "Licht": 1}


def test_a_dictionary_file_of_a_pair_not_aligned_is_refused_by_name(tmp_path, bible_links):
    with pytest.raises(ConfigError, match=r"align.dictionary.files has key 'en-fr'; expected one of the aligned "
                                          r"pairs \['en-de'\]"):
        run_align(_config(tmp_path, bible_links, {"en-fr": {"path": str(tmp_path / "x.txt")}}))
