"""Word links between the sentences of two languages, and the Pharaoh ``i-j`` text format.

A link says word ``src[k]`` of sentence ``sentence[k]`` in the source language is aligned to word ``tgt[k]``
of the same sentence in the target language. Positions are 0-based indices into the store's word-tokenized
sentences (``corpus/{lang}``, words joined by one space); sentences are corpus sentence indices.

Pharaoh files (fast_align, eflomal, awesome-align output) hold one line per sentence pair, links
``i-j`` separated by spaces, ``i`` on the source side; an empty line is a pair with no link.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.errors import InputDataError, param_message
from engine.files import write_text_atomic

__all__ = ["Links", "parse_pharaoh", "read_pharaoh", "write_pharaoh", "format_pharaoh"]

_LINK = re.compile(r"([0-9]+)-([0-9]+)")
_LINE = re.compile(r"\s*[0-9]+-[0-9]+(?:\s+[0-9]+-[0-9]+)*\s*")


@dataclass(frozen=True)
class Links:
    """A set of word links, sorted by (sentence, src, tgt), without duplicates.

    sentence: int32 [n_links]  corpus sentence index
    src:      int32 [n_links]  word position in the source sentence
    tgt:      int32 [n_links]  word position in the target sentence
    """

    sentence: np.ndarray
    src: np.ndarray
    tgt: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.sentence)
        for name in ("src", "tgt"):
            if len(getattr(self, name)) != n:
                raise InputDataError(param_message(name, "Links", f"of length {n} (one per link)",
                                                   len(getattr(self, name))))

    def __len__(self) -> int:
        return int(self.sentence.shape[0])

    @classmethod
    def from_arrays(cls, sentence: Sequence[int] | np.ndarray, src: Sequence[int] | np.ndarray,
                    tgt: Sequence[int] | np.ndarray) -> Links:
        """Links from parallel arrays in any order, possibly with duplicates (sorted and de-duplicated)."""
        s = np.asarray(sentence, dtype=np.int64).ravel()
        i = np.asarray(src, dtype=np.int64).ravel()
        j = np.asarray(tgt, dtype=np.int64).ravel()
        if not (len(s) == len(i) == len(j)):
            raise InputDataError(f"Links.from_arrays needs arrays of one length; got {len(s)}, {len(i)}, {len(j)}")
        if len(s) and min(s.min(), i.min(), j.min()) < 0:
            raise InputDataError(param_message("sentence, src and tgt", "Links", "non-negative", "a negative value"))
        if len(s) == 0:
            empty = np.zeros(0, np.int32)
            return cls(empty, empty.copy(), empty.copy())
        order = np.lexsort((j, i, s))
        s, i, j = s[order], i[order], j[order]
        keep = np.ones(len(s), dtype=bool)
        keep[1:] = (np.diff(s) != 0) | (np.diff(i) != 0) | (np.diff(j) != 0)
        return cls(s[keep].astype(np.int32), i[keep].astype(np.int32), j[keep].astype(np.int32))

    @classmethod
    def from_pairs(cls, per_sentence: Iterable[Iterable[tuple[int, int]]], first_sentence: int = 0) -> Links:
        """Links from one iterable of ``(src, tgt)`` pairs per sentence."""
        s_list: list[int] = []
        i_list: list[int] = []
        j_list: list[int] = []
        for offset, pairs in enumerate(per_sentence):
            for i, j in pairs:
                s_list.append(first_sentence + offset)
                i_list.append(i)
                j_list.append(j)
        return cls.from_arrays(s_list, i_list, j_list)

    def keys(self, width: int) -> np.ndarray:
        """One int64 key per link, ``(sentence * width + src) * width + tgt``; ``width`` > every position."""
        w = np.int64(width)
        return (self.sentence.astype(np.int64) * w + self.src) * w + self.tgt

    @classmethod
    def from_keys(cls, keys: np.ndarray, width: int) -> Links:
        """Inverse of :meth:`keys` (``keys`` sorted and unique)."""
        w = np.int64(width)
        tgt = keys % w
        rest = keys // w
        return cls((rest // w).astype(np.int32), (rest % w).astype(np.int32), tgt.astype(np.int32))

    def sentence_bounds(self, n_sentences: int) -> np.ndarray:
        """int64 [n_sentences + 1]: links of sentence s are ``bounds[s]:bounds[s+1]``."""
        return np.searchsorted(self.sentence, np.arange(n_sentences + 1), side="left").astype(np.int64)

    def pairs_of(self, sentence: int) -> list[tuple[int, int]]:
        """The ``(src, tgt)`` pairs of one sentence."""
        lo, hi = np.searchsorted(self.sentence, [sentence, sentence + 1])
        return list(zip(self.src[lo:hi].tolist(), self.tgt[lo:hi].tolist(), strict=True))

    def check_bounds(self, src_lengths: np.ndarray, tgt_lengths: np.ndarray, origin: str = "links") -> None:
        """Raise InputDataError naming the first link outside its sentence (``*_lengths``: int [n_sentences])."""
        n = len(src_lengths)
        if len(self) and int(self.sentence.max()) >= n:
            k = int(np.argmax(self.sentence >= n))
            raise InputDataError(f"{origin}: sentence index {int(self.sentence[k])} must be < number of "
                                 f"sentences={n}")
        for side, pos, lengths in (("source", self.src, src_lengths), ("target", self.tgt, tgt_lengths)):
            bad = np.flatnonzero(pos >= np.asarray(lengths)[self.sentence]) if len(self) else []
            if len(bad):
                k = int(bad[0])
                s = int(self.sentence[k])
                raise InputDataError(f"{origin}: sentence {s}: {side} index {int(pos[k])} of link "
                                     f"'{int(self.src[k])}-{int(self.tgt[k])}' must be < sentence length "
                                     f"{int(lengths[s])}")


def parse_pharaoh(lines: Iterable[str], src_lengths: Sequence[int] | np.ndarray,
                  tgt_lengths: Sequence[int] | np.ndarray, origin: str = "<links>",
                  first_sentence: int = 0) -> Links:
    """Parse Pharaoh lines (line k = sentence ``first_sentence + k``), checking every index against its sentence.

    ``src_lengths`` / ``tgt_lengths`` (int [n_sentences]) are the word counts of the corpus sentences; the
    number of lines must equal ``n_sentences - first_sentence``. Errors name ``origin``, the line, the link,
    the index and the sentence length.
    """
    src_len = np.asarray(src_lengths, dtype=np.int64)
    tgt_len = np.asarray(tgt_lengths, dtype=np.int64)
    expected = len(src_len) - first_sentence
    texts: list[str] = []
    per_line: list[int] = []
    n_lines = 0
    for n_lines, raw in enumerate(lines, start=1):
        if n_lines > expected:
            raise InputDataError(f"{origin}: line {n_lines}: more lines than sentence pairs ({expected}); "
                                 f"a Pharaoh file holds one line per sentence pair")
        text = raw.rstrip("\r\n")
        if text.strip() and _LINE.fullmatch(text) is None:
            token = next(t for t in text.split() if _LINK.fullmatch(t) is None)
            raise InputDataError(param_message(f"link {token!r} on line {n_lines}", origin,
                                               "of the form i-j with non-negative integers i and j", text))
        texts.append(text)
        per_line.append(text.count("-"))
    if n_lines != expected:
        raise InputDataError(f"{origin}: {n_lines} lines but {expected} sentence pairs; a Pharaoh file holds "
                             f"one line per sentence pair")
    numbers = np.array(" ".join(texts).replace("-", " ").split(), dtype=np.int64).reshape(-1, 2)
    line_of = np.repeat(np.arange(n_lines, dtype=np.int64), per_line)
    sentence = first_sentence + line_of
    for side, column, lengths in (("source", 0, src_len), ("target", 1, tgt_len)):
        bad = np.flatnonzero(numbers[:, column] >= lengths[sentence])
        if bad.size:
            k = int(bad[0])
            s = int(sentence[k])
            token = f"{numbers[k, 0]}-{numbers[k, 1]}"
            raise InputDataError(f"{origin}: line {int(line_of[k]) + 1}: {side} index {int(numbers[k, column])} of "
                                 f"link {token!r} must be < sentence length {int(lengths[s])} (sentence {s})")
    return Links.from_arrays(sentence, numbers[:, 0], numbers[:, 1])


def read_pharaoh(path: str | Path, src_lengths: Sequence[int] | np.ndarray,
                 tgt_lengths: Sequence[int] | np.ndarray) -> Links:
    """Read a Pharaoh links file with one line per corpus sentence pair (see :func:`parse_pharaoh`)."""
    path = Path(path)
    if not path.is_file():
        raise InputDataError(f"links file {str(path)!r} does not exist")
    try:
        with path.open(encoding="utf-8") as handle:
            return parse_pharaoh(handle, src_lengths, tgt_lengths, origin=str(path))
    except UnicodeDecodeError as exc:
        raise InputDataError(f"{path}: not valid UTF-8 at byte {exc.start}") from None


def format_pharaoh(links: Links, n_sentences: int) -> list[str]:
    """One Pharaoh line per sentence (``n_sentences`` lines, empty where a sentence has no link)."""
    if len(links) and int(links.sentence.max()) >= n_sentences:
        raise InputDataError(param_message("n_sentences", "format_pharaoh", "> every link's sentence index",
                                           n_sentences))
    bounds = links.sentence_bounds(n_sentences)
    src, tgt = links.src.tolist(), links.tgt.tolist()
    return [" ".join(f"{src[k]}-{tgt[k]}" for k in range(bounds[s], bounds[s + 1])) for s in range(n_sentences)]


def write_pharaoh(path: str | Path, links: Links, n_sentences: int) -> Path:
    """Write ``links`` as a Pharaoh file of ``n_sentences`` lines (atomically: temp file, then rename)."""
    return write_text_atomic(path, "".join(line + "\n" for line in format_pharaoh(links, n_sentences)))
