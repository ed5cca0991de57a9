"""FreeDict dictd reading on a tiny dictd pair built here (and on the Debian package when installed)."""

from __future__ import annotations

import gzip

import pytest

from engine.dictionary import freedict as freedict_module
from engine.dictionary import read_freedict
from engine.errors import BackendUnavailableError, InputDataError

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

ENTRIES = [
    ("00-database-info", "This is a test dictionary.\n"),
    ("god", 'God /ɡˈɒd/\nGott <masc> [relig.]\n      "if it pleases God"  - wenn es Gott gefällt\n see: {gods}\n\n'),
    ("lord", 'lord /lˈɔːd/\nHerr <masc>, Gebieter <masc> [soc.]  [hist.]\n      "lord and master"  - Herr und '
             'Meister\n see: {lords}\n\n'),
    ("lord", "Lord /lˈɔːd/\nHerr <masc> [relig.]\n"),
    ("run", "run /ɹˈʌn/ (ran /ɹˈan/ <>, run /ɹˈʌn/ <>) <v>\nlaufen <v, intr>; rennen\n         Note: schnell\n"
            "   Synonym: {sprint}\n\n see: {running}\n"),
    ("run", "run /ɹˈʌn/\n [Am.] Laufmasche <fem>, Lauf  /ɹˈʌn/\nlaufen\n"),
]


def b64(value: int) -> str:
    digits = ""
    while True:
        digits = B64[value % 64] + digits
        value //= 64
        if not value:
            return digits


@pytest.fixture
def dictd(tmp_path):
    """freedict-eng-deu.index + .dict.dz in a temporary folder."""
    data = b""
    index_lines = ["\tA\tB"]  # FreeDict indexes start with entries of an empty headword
    for key, text in ENTRIES:
        raw = text.encode("utf-8")
        index_lines.append(f"{key}\t{b64(len(data))}\t{b64(len(raw))}")
        data += raw
    (tmp_path / "freedict-eng-deu.index").write_text("\n".join(index_lines) + "\n", encoding="utf-8")
    with gzip.open(tmp_path / "freedict-eng-deu.dict.dz", "wb") as handle:
        handle.write(data)
    return tmp_path


def translations(d):
    return [(s, t, int(r)) for s, t, r in zip(d.src, d.tgt, d.rank, strict=True)]


def test_entries_translations_and_ranks(dictd):
    d = read_freedict(dictd / "freedict-eng-deu.index")
    assert translations(d) == [
        ("God", "Gott", 0),
        ("lord", "Herr", 0), ("lord", "Gebieter", 1),
        ("Lord", "Herr", 0),
        ("run", "laufen", 0), ("run", "rennen", 1), ("run", "Laufmasche", 2), ("run", "Lauf", 3),
    ]
    assert d.meta["format"] == "freedict" and d.meta["mode"] == "reference"
    assert all(p != p for p in d.prob) and d.count.tolist() == [0] * 8
    assert translations(d.top(1)) == [("God", "Gott", 0), ("lord", "Herr", 0), ("Lord", "Herr", 0),
                                      ("run", "laufen", 0)]


def test_headword_filter_and_lowercase(dictd, monkeypatch):
    monkeypatch.setattr(freedict_module, "FREEDICT_DIR", dictd)
    d = read_freedict("eng-deu", headwords={"God", "LORD"})
    # the filter matches index keys (lowercase in FreeDict) too, so "LORD" finds both "lord" and "Lord"
    assert translations(d) == [("God", "Gott", 0), ("lord", "Herr", 0), ("lord", "Gebieter", 1), ("Lord", "Herr", 0)]
    d = read_freedict("eng-deu", headwords={"Lord"}, lowercase=True)
    assert translations(d) == [("lord", "herr", 0), ("lord", "gebieter", 1)]


def test_not_installed_and_broken_index(dictd, monkeypatch, tmp_path):
    monkeypatch.setattr(freedict_module, "FREEDICT_DIR", tmp_path / "nowhere")
    with pytest.raises(BackendUnavailableError) as err:
        read_freedict("eng-xyz")
    assert str(err.value) == (f"FreeDict dictionary 'eng-xyz' is not installed ({tmp_path}/nowhere/freedict-eng-xyz"
                              f".index and its .dict.dz are missing); on Debian: apt-get install dict-freedict-eng-xyz")
    index = dictd / "freedict-eng-deu.index"
    index.write_text(index.read_text(encoding="utf-8") + "god\tA!\tB\n", encoding="utf-8")
    with pytest.raises(InputDataError) as err:
        read_freedict(index)
    assert str(err.value) == (f"{index}: line 8: 'A!' is not a dictd base-64 number "
                              f"(expected 'headword<TAB>offset<TAB>length')")
    index.write_text("god\tA\n", encoding="utf-8")
    with pytest.raises(InputDataError, match=r"line 1: expected 'headword<TAB>offset<TAB>length'; got 'god\\tA'"):
        read_freedict(index)


@pytest.mark.skipif(not (freedict_module.FREEDICT_DIR / "freedict-eng-deu.index").is_file(),
                    reason="Debian package dict-freedict-eng-deu is not installed")
def test_installed_eng_deu():
    d = read_freedict("eng-deu", headwords={"God", "Lord", "house"})
    first = {s: t for s, t, r in zip(d.src, d.tgt, d.rank, strict=True) if r == 0}
    assert first["God"] == "Gott" and first["Lord"] == "Herr"
    assert "Haus" in [t for s, t in zip(d.src, d.tgt, strict=True) if s == "house"]
