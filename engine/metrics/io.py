"""Import of cluster files made elsewhere (ConceptX / the reference code) and of reference dictionaries.

Cluster files, one token per line, in one of two layouts (fields separated by ``|||``; the word may itself
contain ``|||``, so fields are split from the right):

    word|||occurrence|||sentence|||position|||cluster      (five fields; sentence and position are integers)
    word|||cluster                                        (two fields)

Blank lines are skipped; anything else that does not fit the layout of the file's first line is an error
naming the file and line. Languages are never inferred from row order, except on import of a joint file
through :func:`joint_tokens_from_file`, where the user gives the reference's sentence-index split.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.errors import ConfigError, InputDataError, param_message
from engine.metrics.clusters import TypeClusters, natural_order

log = logging.getLogger(__name__)

__all__ = ["ClusterFile", "read_cluster_file", "type_clusters_from_file", "joint_tokens_from_file",
           "read_reference_dictionary"]

SEP = "|||"
LAYOUTS = {5: "word|||occurrence|||sentence|||position|||cluster", 2: "word|||cluster"}


@dataclass(frozen=True)
class ClusterFile:
    """The lines of a cluster file. words, clusters: str [n]; occurrence, sentence, position: int64 [n]
    (five-field files) or None (two-field files)."""

    path: str
    words: list[str]
    clusters: list[str]
    occurrence: np.ndarray | None
    sentence: np.ndarray | None
    position: np.ndarray | None

    def __len__(self) -> int:
        return len(self.words)


def _bad_line(path: Path, number: int, n_fields: int, line: str) -> InputDataError:
    return InputDataError(param_message(f"line {number} of {path}", "read_cluster_file", LAYOUTS[n_fields],
                                        line))


def read_cluster_file(path: str | Path) -> ClusterFile:
    """Read a five- or two-field cluster file (the layout is taken from the first non-blank line)."""
    path = Path(path)
    if not path.is_file():
        raise InputDataError(param_message("path", "read_cluster_file", "an existing cluster file", str(path)))
    from engine.corpus.textfiles import read_lines

    lines = [(i, line.strip()) for i, line in enumerate(read_lines(path)[0], start=1)]
    lines = [(i, line) for i, line in lines if line]
    if not lines:
        raise InputDataError(param_message("path", "read_cluster_file", "a file with at least one line",
                                           f"{path} (empty)"))
    first_number, first = lines[0]
    n_fields = 5 if first.count(SEP) >= 4 else 2 if first.count(SEP) == 1 else 0
    if n_fields == 0:
        raise InputDataError(param_message(f"line {first_number} of {path}", "read_cluster_file",
                                           f"{LAYOUTS[5]} or {LAYOUTS[2]}", first))
    return _parse(path, lines, n_fields)


def _five_fields(line: str) -> list[int] | None:
    """occurrence, sentence, position of a line in the five-field layout, or None if it is not one."""
    fields = [f.strip() for f in line.rsplit(SEP, 4)]
    if len(fields) != 5 or not fields[0] or not fields[-1]:
        return None
    try:
        return [int(f) for f in fields[1:4]]
    except ValueError:
        return None


def _parse(path: Path, lines: list[tuple[int, str]], n_fields: int) -> ClusterFile:
    words, clusters, numbers = [], [], []
    for number, line in lines:
        fields = [f.strip() for f in line.rsplit(SEP, n_fields - 1)]
        if len(fields) != n_fields or not fields[0] or not fields[-1]:
            raise _bad_line(path, number, n_fields, line)
        if n_fields == 2 and _five_fields(line) is not None:  # a word may hold |||, but not three integers too
            raise InputDataError(param_message(
                f"line {number} of {path}", "read_cluster_file",
                f"{LAYOUTS[2]} like the file's first line (this line has the five-field layout {LAYOUTS[5]})",
                line))
        words.append(fields[0])
        clusters.append(fields[-1])
        if n_fields == 5:
            values = _five_fields(line)
            if values is None:
                raise _bad_line(path, number, n_fields, line)
            if min(values) < 0:
                names = ("occurrence", "sentence", "position")
                field = names[next(i for i, v in enumerate(values) if v < 0)]
                raise InputDataError(param_message(f"{field} on line {number} of {path}", "read_cluster_file",
                                                   "a non-negative integer", line))
            numbers.append(values)
    if n_fields == 2:
        return ClusterFile(str(path), words, clusters, None, None, None)
    table = np.asarray(numbers, dtype=np.int64).reshape(-1, 3)
    return ClusterFile(str(path), words, clusters, table[:, 0], table[:, 1], table[:, 2])


def type_clusters_from_file(path: str | Path) -> TypeClusters:
    """A cluster file as sets of word types (CALIGN); cluster names in numeric order when all are integers."""
    data = read_cluster_file(path)
    clusters = TypeClusters.from_words(data.words, data.clusters)
    log.info("%s: %d lines, %d types, %d clusters", path, len(data), clusters.n_types, clusters.n_clusters)
    return clusters


def joint_tokens_from_file(path: str | Path, split: int, languages: Sequence[str] = ("src", "tgt")
                           ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """A joint five-field cluster file as COLAP tokens: (labels int64 [n], langs int64 [n], cluster names [K]).

    The reference's convention, accepted on import only: lines with sentence index < ``split`` are
    ``languages[0]``, the others ``languages[1]``.
    """
    if isinstance(split, bool) or not isinstance(split, int) or split < 1:
        raise ConfigError(param_message("split", "joint_tokens_from_file", "a positive sentence index", split))
    if len(languages) != 2:
        raise ConfigError(param_message("languages", "joint_tokens_from_file", "two names", list(languages)))
    data = read_cluster_file(path)
    if data.sentence is None:
        raise InputDataError(param_message("path", "joint_tokens_from_file",
                                           f"a five-field file ({LAYOUTS[5]}) to split by sentence", str(path)))
    names = natural_order(data.clusters)
    index = {name: i for i, name in enumerate(names)}
    labels = np.fromiter((index[c] for c in data.clusters), np.int64, len(data))
    langs = (data.sentence >= split).astype(np.int64)
    counts = np.bincount(langs, minlength=2)
    if counts.min() == 0:
        log.warning("%s: split=%d leaves %d tokens of %s and %d of %s (sentence indices %d..%d)", path, split,
                    counts[0], languages[0], counts[1], languages[1], data.sentence.min(), data.sentence.max())
    return labels, langs, names


def read_reference_dictionary(path: str | Path, mode: str = "reference"):
    """Read ``src -> tgt: Probability = p, Count = c`` lines with the dictionary stage's reader.

    The reader lives in :mod:`engine.dictionary` (issue 4); it is looked up lazily so this module works
    without it, and a clear error says so when it is absent.
    """
    import engine.dictionary as dictionary_module

    reader = getattr(dictionary_module, "read_reference", None)
    if reader is None:
        raise ConfigError(param_message(
            "dictionary reader", "read_reference_dictionary",
            "engine.dictionary.read_reference(path, mode=...) (the dictionary stage, issue 4)",
            "absent from this checkout; build a Dictionary in Python and call engine.metrics.calign"))
    return reader(path, mode=mode)
