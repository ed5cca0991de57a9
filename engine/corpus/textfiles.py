"""Parallel text from line-aligned UTF-8 files, one file per language.

Lines are split on ``\\n`` (a trailing ``\\r`` is removed, so CRLF files work; a final newline does not
start an extra line) and each line is decoded as strict UTF-8 on its own, so an error names the file and
the 1-based line. A UTF-8 byte-order mark at the start of a file is ignored. A line with no token in some
language (blank, whitespace only, or only invisible characters) drops that pair from every language; the
drops are counted per language in ``stats["dropped_empty"]`` and logged as a warning. Refs read "line 17"
(1-based line number in the files).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from pathlib import Path

from engine.corpus.types import Corpus, build_corpus
from engine.corpus.wordtok import WORD_TOKENIZER, invisible_words, word_tokenize
from engine.errors import ConfigError, InputDataError, param_message

log = logging.getLogger(__name__)

__all__ = ["load_text_files", "read_lines"]

_OWNER = "load_text_files"
_BOM = "\ufeff"


def read_lines(path: Path) -> tuple[list[str], str]:
    """Decode ``path`` line by line as UTF-8; return the lines and the file's SHA-256.

    Raises InputDataError naming the file and the 1-based line of the first invalid byte sequence.
    """
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    raw_lines = data.split(b"\n")
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()
    lines: list[str] = []
    for number, raw in enumerate(raw_lines, start=1):
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            bad = raw[max(exc.start - 8, 0) : exc.end + 8]
            raise InputDataError(
                param_message(
                    f"line {number}",
                    str(path),
                    f"valid UTF-8 ({exc.reason} at byte {exc.start} of the line)",
                    bad,
                )
            ) from None
    if lines and lines[0].startswith(_BOM):
        lines[0] = lines[0][len(_BOM) :]
    return lines, digest


def _validate(files: Mapping[str, str | Path]) -> dict[str, Path]:
    """Check the language -> file mapping; return resolved paths (missing files raise)."""
    if not isinstance(files, Mapping) or not files:
        raise ConfigError(
            param_message("files", _OWNER, "a non-empty mapping of language code to file path", files)
        )
    paths: dict[str, Path] = {}
    for lang, file in files.items():
        if not isinstance(lang, str) or not lang:
            raise ConfigError(param_message("language code", _OWNER, "a non-empty string", lang))
        if not isinstance(file, str | Path) or not str(file):
            raise ConfigError(param_message(f"files[{lang!r}]", _OWNER, "a file path", file))
        path = Path(file).expanduser()
        if not path.is_file():
            raise InputDataError(param_message(f"files[{lang!r}]", _OWNER, "an existing file", str(path)))
        paths[lang] = path.resolve()
    return paths


def load_text_files(files: Mapping[str, str | Path], *, pretokenized: bool = False) -> Corpus:
    """Read line-aligned files ``{lang: path}`` into a Corpus.

    ``pretokenized=True`` splits each line on whitespace only (tokens passed through unchanged); otherwise
    :func:`~engine.corpus.wordtok.word_tokenize` is applied.
    """
    paths = _validate(files)
    languages = tuple(paths)
    lines: dict[str, list[str]] = {}
    digests: dict[str, str] = {}
    for lang, path in paths.items():
        lines[lang], digests[lang] = read_lines(path)
    counts = {str(paths[lang]): len(lines[lang]) for lang in languages}
    if len(set(counts.values())) > 1:
        raise InputDataError(param_message("line counts", _OWNER, "equal across files", counts))
    split = str.split if pretokenized else word_tokenize
    tokenized = {lang: [split(line) for line in lines[lang]] for lang in languages}
    # words made only of invisible characters: the word tokenizer removes them (counted here); pretokenized,
    # they reach extraction, which gives them no row and lists them as missing
    invisible = {} if pretokenized else {lang: sum(invisible_words(line) for line in lines[lang])
                                         for lang in languages}
    for lang, count in invisible.items():
        if count:
            log.info("%s: %d word(s) made only of invisible characters removed by the word tokenizer", paths[lang],
                     count)
    n = len(lines[languages[0]])
    if n == 0:
        raise InputDataError(param_message("files", _OWNER, "files with at least one line", counts))
    refs = [f"line {i}" for i in range(1, n + 1)]
    source = {
        "provider": "text_files",
        "files": {lang: str(path) for lang, path in paths.items()},
        "sha256": digests,
        "n_lines": n,
        "pretokenized": pretokenized,
        "word_tokenizer": "whitespace" if pretokenized else WORD_TOKENIZER,
        **({"invisible_words_removed": invisible} if any(invisible.values()) else {}),
    }
    return build_corpus(languages, tokenized, refs, source=source, owner=_OWNER)
