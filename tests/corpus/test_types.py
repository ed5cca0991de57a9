"""Corpus: validation, accessors, and a content hash that is stable and sensitive."""

from __future__ import annotations

import subprocess
import sys

import pytest

from engine.corpus import Corpus
from engine.errors import ConfigError, InputDataError


def make(en: list[list[str]] | None = None, de: list[list[str]] | None = None) -> Corpus:
    en = en if en is not None else [["In", "the", "beginning"], ["Amen", "."]]
    de = de if de is not None else [["Im", "Anfang"], ["Amen", "."]]
    return Corpus(("en", "de"), {"en": en, "de": de}, ["line 1", "line 2"], {"provider": "test"}, {})


def test_accessors() -> None:
    corpus = make()
    assert corpus.n_sentences() == 2
    assert corpus.words("de")[0] == ["Im", "Anfang"]
    with pytest.raises(ConfigError, match=r"lang of Corpus.words must be one of \['en', 'de'\]; got 'fr'"):
        corpus.words("fr")


def test_validation() -> None:
    with pytest.raises(InputDataError, match="one sentence per ref"):
        make(de=[["Im", "Anfang"]])
    with pytest.raises(InputDataError, match="sentences keys of Corpus must be the languages"):
        Corpus(("en",), {"de": [["a"]]}, ["line 1"])
    with pytest.raises(InputDataError, match="non-empty tuple"):
        Corpus(["en"], {"en": [["a"]]}, ["line 1"])  # type: ignore[arg-type]


def test_content_hash_stable_across_processes() -> None:
    corpus = make()
    code = (
        "from engine.corpus import Corpus\n"
        "c = Corpus(('en', 'de'), {'en': [['In', 'the', 'beginning'], ['Amen', '.']],"
        " 'de': [['Im', 'Anfang'], ['Amen', '.']]}, ['x', 'y'], {'other': 1}, {'n': 2})\n"
        "print(c.content_hash())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == corpus.content_hash()
    assert len(corpus.content_hash()) == 64 and corpus.content_hash() == make().content_hash()


def test_content_hash_sensitive() -> None:
    base = make().content_hash()
    assert make(en=[["In", "the", "Beginning"], ["Amen", "."]]).content_hash() != base
    assert make(en=[["In", "the beginning"], ["Amen", "."]]).content_hash() != base  # token boundary
    assert make(en=[["In", "the", "beginning", "Amen", "."], []]).content_hash() != base  # line boundary
    swapped = make(en=[["Im", "Anfang"], ["Amen", "."]], de=[["In", "the", "beginning"], ["Amen", "."]])
    assert swapped.content_hash() != base
    reordered = Corpus(("de", "en"), make().sentences, ["line 1", "line 2"])
    assert reordered.content_hash() != base
