"""Dictionary files: the reference text format and plain TSV.

Reference format (what the released CALIGN code reads), one entry per line, a source word's lines sorted
by probability, descending::

    God -> Gott: Probability = 0.8260869565217391, Count = 76

Reading modes (the ``rank`` of each entry, which :meth:`Dictionary.top` cuts on):

- ``sorted`` (default for the reference format): by probability descending, ties by count descending,
  then target word; NaN probabilities last. A repeated (source, target) pair is an error.
- ``reference``: the order of the lines in the file, per source word, duplicates kept — exactly what the
  released code does when it keeps "the first N lines" of each word (it ignores the probabilities).

TSV: ``src<TAB>tgt[<TAB>p]`` per line; blank lines and lines starting with ``#`` are skipped; missing
probabilities are NaN and counts 0. Its default mode is ``reference`` (file order).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from engine.dictionary.build import group_rank
from engine.dictionary.types import Dictionary
from engine.errors import ConfigError, InputDataError, param_message
from engine.files import write_text_atomic

__all__ = ["MODES", "REFERENCE_LINE", "rank_entries", "read_reference", "read_tsv", "write_reference",
           "format_reference"]

MODES = ("sorted", "reference")
REFERENCE_LINE = "'src -> tgt: Probability = p, Count = c' (p a number in [0, 1], c a non-negative integer)"
_REFERENCE = re.compile(r"(?P<src>.+?) -> (?P<tgt>.+): Probability = (?P<p>\S+), Count = (?P<c>\S+)")
_INTEGER = re.compile(r"\d+")


def rank_entries(src: list[str], tgt: list[str], prob: np.ndarray, count: np.ndarray, mode: str) -> np.ndarray:
    """int32 [n] rank of each entry among its source word's entries (see the module doc for ``mode``)."""
    if mode not in MODES:
        raise ConfigError(param_message("mode", "dictionary reader", f"one of {'|'.join(MODES)}", mode))
    if not src:
        return np.zeros(0, np.int32)
    _, src_group = np.unique(np.asarray(src, dtype=str), return_inverse=True)
    if mode == "reference":
        return group_rank(src_group).astype(np.int32)
    _, tgt_rank = np.unique(np.asarray(tgt, dtype=str), return_inverse=True)
    neg_p = np.where(np.isnan(prob), np.inf, -prob)
    order = np.lexsort((tgt_rank, -count, neg_p, src_group))
    rank = np.empty(len(src), dtype=np.int32)
    rank[order] = group_rank(src_group[order])
    return rank


def _check_duplicates(src: list[str], tgt: list[str], lines: list[int], origin: str) -> None:
    seen: dict[tuple[str, str], int] = {}
    for s, t, line in zip(src, tgt, lines, strict=True):
        first = seen.setdefault((s, t), line)
        if first != line:
            raise InputDataError(f"{origin}: line {line} repeats the entry {s!r} -> {t!r} of line {first}; "
                                 f"use mode='reference' to keep repeated lines as the released code does")


def _parse_probability(text: str, line: int, origin: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (0.0 <= value <= 1.0 or math.isnan(value)):
        raise InputDataError(param_message(f"probability on line {line}", origin, "a number in [0, 1]", text))
    return value


def parse_reference(lines: Iterable[str], origin: str = "<dictionary>", mode: str = "sorted") -> Dictionary:
    """Parse reference-format lines (blank lines skipped); errors name ``origin``, the line and the format."""
    if mode not in MODES:
        raise ConfigError(param_message("mode", "read_reference", f"one of {'|'.join(MODES)}", mode))
    src: list[str] = []
    tgt: list[str] = []
    probs: list[float] = []
    counts: list[int] = []
    line_of: list[int] = []
    for number, raw in enumerate(lines, start=1):
        text = raw.strip()
        if not text:
            continue
        match = _REFERENCE.fullmatch(text)
        if match is None:
            raise InputDataError(param_message(f"line {number}", origin, REFERENCE_LINE, text))
        if not _INTEGER.fullmatch(match["c"]):
            raise InputDataError(param_message(f"count on line {number}", origin, "a non-negative integer",
                                               match["c"]))
        src.append(match["src"].strip())
        tgt.append(match["tgt"].strip())
        probs.append(_parse_probability(match["p"], number, origin))
        counts.append(int(match["c"]))
        line_of.append(number)
    if mode == "sorted":
        _check_duplicates(src, tgt, line_of, origin)
    prob = np.asarray(probs, dtype=np.float64)
    count = np.asarray(counts, dtype=np.int64)
    return Dictionary(src, tgt, prob, count, rank_entries(src, tgt, prob, count, mode),
                      {"source": origin, "format": "reference", "mode": mode})


def _open_text(path: str | Path) -> tuple[Path, list[str]]:
    path = Path(path)
    if not path.is_file():
        raise InputDataError(f"dictionary file {str(path)!r} does not exist")
    try:
        return path, path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise InputDataError(f"{path}: not valid UTF-8 at byte {exc.start}") from None


def read_reference(path: str | Path, mode: str = "sorted") -> Dictionary:
    """Read a reference-format dictionary file (``mode`` ``sorted`` or ``reference``, see the module doc)."""
    path, lines = _open_text(path)
    return parse_reference(lines, str(path), mode)


def format_reference(dictionary: Dictionary) -> list[str]:
    """Reference-format lines: source words in first-appearance order, each word's entries by rank."""
    for side, words in (("source", dictionary.src), ("target", dictionary.tgt)):
        for i, word in enumerate(words):
            if not word.strip() or word != word.strip() or "\n" in word or " -> " in word or (
                    side == "target" and ": Probability = " in word):
                raise InputDataError(f"{side} word {word!r} of dictionary entry {i} cannot be written in the "
                                     f"reference format (empty, padded, multi-line or holding a separator)")
    n = len(dictionary)
    if n == 0:
        return []
    _, first_index, group = np.unique(np.asarray(dictionary.src, dtype=str), return_index=True,
                                      return_inverse=True)
    order = np.lexsort((np.arange(n), dictionary.rank, first_index[group]))
    return [f"{dictionary.src[i]} -> {dictionary.tgt[i]}: Probability = {float(dictionary.prob[i])!r}, "
            f"Count = {int(dictionary.count[i])}" for i in order.tolist()]


def write_reference(path: str | Path, dictionary: Dictionary) -> Path:
    """Write ``dictionary`` in the reference format (atomically: temp file, then rename)."""
    return write_text_atomic(path, "".join(line + "\n" for line in format_reference(dictionary)))


def read_tsv(path: str | Path, mode: str = "reference") -> Dictionary:
    """Read ``src<TAB>tgt[<TAB>p]`` lines (``#`` comments and blank lines skipped)."""
    if mode not in MODES:
        raise ConfigError(param_message("mode", "read_tsv", f"one of {'|'.join(MODES)}", mode))
    path, lines = _open_text(path)
    src: list[str] = []
    tgt: list[str] = []
    probs: list[float] = []
    line_of: list[int] = []
    for number, raw in enumerate(lines, start=1):
        text = raw.rstrip("\r")
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        fields = text.split("\t")
        if len(fields) not in (2, 3) or not fields[0].strip() or not fields[1].strip():
            raise InputDataError(param_message(f"line {number}", str(path),
                                               "'src<TAB>tgt' or 'src<TAB>tgt<TAB>p' with non-empty words", text))
        src.append(fields[0].strip())
        tgt.append(fields[1].strip())
        probs.append(_parse_probability(fields[2].strip(), number, str(path)) if len(fields) == 3 else math.nan)
        line_of.append(number)
    if mode == "sorted":
        _check_duplicates(src, tgt, line_of, str(path))
    prob = np.asarray(probs, dtype=np.float64)
    count = np.zeros(len(src), dtype=np.int64)
    meta: dict[str, Any] = {"source": str(path), "format": "tsv", "mode": mode}
    return Dictionary(src, tgt, prob, count, rank_entries(src, tgt, prob, count, mode), meta)
