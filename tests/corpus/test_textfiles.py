"""load_text_files: alignment, dropped empty lines, exact error messages, pretokenized input."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from engine.corpus import load_text_files
from engine.errors import ConfigError, InputDataError


def write(path: Path, data: str | bytes) -> Path:
    """Write text (UTF-8) or raw bytes."""
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def test_aligned_files(tmp_path: Path) -> None:
    en = write(tmp_path / "en.txt", "Hello, world!\nDon't panic.\n")
    de = write(tmp_path / "de.txt", "Hallo, Welt!\r\nKeine Panik.")  # CRLF, no final newline
    corpus = load_text_files({"en": en, "de": str(de)})
    assert corpus.languages == ("en", "de")
    assert corpus.words("en") == [["Hello", ",", "world", "!"], ["Don't", "panic", "."]]
    assert corpus.words("de") == [["Hallo", ",", "Welt", "!"], ["Keine", "Panik", "."]]
    assert corpus.refs == ["line 1", "line 2"]
    assert (
        corpus.source["provider"] == "text_files" and corpus.source["word_tokenizer"] == "babelscope-punct-v1"
    )
    assert corpus.source["files"] == {"en": str(en.resolve()), "de": str(de.resolve())}
    assert corpus.stats["n_pairs"] == 2 and corpus.stats["dropped_empty"] == {"en": 0, "de": 0}
    json.dumps(corpus.source), json.dumps(corpus.stats)


def test_bom_is_ignored(tmp_path: Path) -> None:
    en = write(tmp_path / "en.txt", "\ufeffHi\n")
    assert load_text_files({"en": en}).words("en") == [["Hi"]]


def test_pretokenized_passthrough(tmp_path: Path) -> None:
    en = write(tmp_path / "en.txt", "don't,  stop  l'homme-x\n3.14 ...\n")
    de = write(tmp_path / "de.txt", "a b\nc\n")
    corpus = load_text_files({"en": en, "de": de}, pretokenized=True)
    assert corpus.words("en") == [["don't,", "stop", "l'homme-x"], ["3.14", "..."]]
    assert corpus.source["pretokenized"] is True and corpus.source["word_tokenizer"] == "whitespace"


def test_empty_lines_dropped_from_all_languages(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    en = write(tmp_path / "en.txt", "one\n\nthree\nfour\n \n")
    de = write(tmp_path / "de.txt", "eins\nzwei\n\t\nvier\n\u200e\n")
    with caplog.at_level(logging.WARNING, logger="engine.corpus"):
        corpus = load_text_files({"en": en, "de": de})
    assert corpus.words("en") == [["one"], ["four"]] and corpus.words("de") == [["eins"], ["vier"]]
    assert corpus.refs == ["line 1", "line 4"]
    assert corpus.stats["dropped_empty"] == {"en": 2, "de": 2}
    assert corpus.stats["n_dropped"] == 3 and corpus.stats["dropped_refs"] == ["line 2", "line 3", "line 5"]
    assert "dropped 3 of 5 sentence pairs" in caplog.text and "line 2" in caplog.text


def test_nothing_left_is_an_error(tmp_path: Path) -> None:
    en = write(tmp_path / "en.txt", "a\n\n")
    de = write(tmp_path / "de.txt", "\nb\n")
    with pytest.raises(InputDataError, match="no sentence pair left: all 2 pairs are empty"):
        load_text_files({"en": en, "de": de})


def test_mismatched_line_counts(tmp_path: Path) -> None:
    en = write(tmp_path / "en.txt", "a\nb\nc\n")
    de = write(tmp_path / "de.txt", "a\nb\n")
    fr = write(tmp_path / "fr.txt", "a\nb\nc\n")
    with pytest.raises(InputDataError) as info:
        load_text_files({"en": en, "de": de, "fr": fr})
    assert str(info.value) == (
        "line counts of load_text_files must be equal across files; "
        f"got {{'{en.resolve()}': 3, '{de.resolve()}': 2, '{fr.resolve()}': 3}}"
    )


def test_invalid_utf8_names_file_and_line(tmp_path: Path) -> None:
    en = write(tmp_path / "en.txt", "fine\nalso fine\n")
    de = write(tmp_path / "de.txt", b"gut\nka\xffputt\n")
    with pytest.raises(InputDataError) as info:
        load_text_files({"en": en, "de": de})
    assert str(info.value) == (
        f"line 2 of {de.resolve()} must be valid UTF-8 (invalid start byte at byte 2 of the line); "
        "got b'ka\\xffputt'"
    )


def test_missing_file(tmp_path: Path) -> None:
    en = write(tmp_path / "en.txt", "a\n")
    missing = tmp_path / "nope" / "de.txt"
    with pytest.raises(InputDataError) as info:
        load_text_files({"en": en, "de": missing})
    assert str(info.value) == f"files['de'] of load_text_files must be an existing file; got '{missing}'"


def test_empty_file_and_bad_arguments(tmp_path: Path) -> None:
    en = write(tmp_path / "en.txt", "")
    with pytest.raises(InputDataError, match="must be files with at least one line"):
        load_text_files({"en": en})
    with pytest.raises(ConfigError, match="files of load_text_files must be a non-empty mapping"):
        load_text_files({})
