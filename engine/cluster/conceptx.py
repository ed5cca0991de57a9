"""ConceptX cluster files: one token per line, ``word|||occurrence|||sentence|||position|||cluster``.

Export writes a stored clustering in this form so existing ConceptX tools can read our clusters; import reads
such a file (a clustering made elsewhere) and aligns it with our rows for the metrics.

Conventions of our export (the fields are ints, 0-based):

* ``occurrence``: how many earlier lines of the file hold the same word (0 for its first line);
* ``sentence``/``position``: the word's sentence index and word position in ``corpus/{lang}``;
* joint spaces: ConceptX reads one token stream, so the sentences of the i-th language of the space are
  offset by ``i * n_sentences`` (the reference's convention). The store itself never relies on that: it
  records each language's rows explicitly (clustering attrs ``parts``).

The reference script clusters ``P[:-1]``, dropping the last token; our files hold every clustered row (the
reference mode writes the script's own file: :mod:`engine.cluster.reference`).
Words are written as they are; the parser splits from the right, so a word holding ``|||`` survives.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.cluster.store import read_clustering
from engine.errors import InputDataError, StoreError
from engine.store import layout
from engine.store.artefacts import read_words, selected_rows
from engine.store.core import read_strings

log = logging.getLogger(__name__)

SEP = "|||"


@dataclass
class ConceptXClusters:
    """The rows of a ConceptX cluster file (all arrays int64 [n_lines], ``words`` a list of n_lines)."""

    words: list[str]
    occurrence: np.ndarray
    sentence: np.ndarray
    position: np.ndarray
    cluster: np.ndarray

    def __len__(self) -> int:
        return len(self.words)


def read_conceptx(path: str | Path) -> ConceptXClusters:
    """Parse a ConceptX cluster file; a malformed line raises InputDataError naming file and line."""
    path = Path(path)
    words: list[str] = []
    numbers: list[tuple[int, int, int, int]] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.rstrip("\n").rstrip("\r")
            if not line.strip():
                continue
            fields = line.rsplit(SEP, 4)
            if len(fields) != 5 or not fields[0]:
                raise InputDataError(f"{path}:{number}: expected word|||occurrence|||sentence|||position|||cluster; "
                                     f"got {line!r}")
            try:
                values = tuple(int(x) for x in fields[1:])
            except ValueError:
                raise InputDataError(f"{path}:{number}: occurrence, sentence, position and cluster must be "
                                     f"integers; got {line!r}") from None
            words.append(fields[0])
            numbers.append(values)  # type: ignore[arg-type]
    table = np.array(numbers, dtype=np.int64).reshape(-1, 4)
    return ConceptXClusters(words, table[:, 0], table[:, 1], table[:, 2], table[:, 3])


def write_conceptx(path: str | Path, words: list[str], sentence: np.ndarray, position: np.ndarray,
                   cluster: np.ndarray) -> int:
    """Write one line per token (occurrence numbered per word in file order); returns the line count."""
    seen: dict[str, int] = {}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for word, sent, pos, label in zip(words, sentence.tolist(), position.tolist(), cluster.tolist(),
                                          strict=True):
            occurrence = seen.get(word, 0)
            seen[word] = occurrence + 1
            handle.write(f"{word}{SEP}{occurrence}{SEP}{sent}{SEP}{pos}{SEP}{label}\n")
    return len(words)


def _language_rows(root: Any, model: str, side: str, lang: str, selection: str | None) -> np.ndarray:
    if selection is not None:
        return selected_rows(root, selection, model, side, lang)
    return np.arange(read_words(root, model, side, lang, ["type_id"])["type_id"].shape[0], dtype=np.int64)


def _tokens(root: Any, model: str, side: str, lang: str, rows: np.ndarray) -> tuple[list[str], np.ndarray,
                                                                                    np.ndarray]:
    words = read_words(root, model, side, lang)
    vocab = read_strings(root, layout.vocab_path(lang))
    type_id = words["type_id"][rows]
    return [vocab[t] for t in type_id.tolist()], words["sentence"][rows], words["position"][rows]


def export_conceptx(root: Any, path: str | Path, *, model: str, side: str, layer: int, space: str,
                    k: int) -> int:
    """Write a stored clustering as a ConceptX cluster file; returns the number of lines."""
    stored = read_clustering(root, model=model, side=side, layer=layer, space=space, k=k)
    parts = stored.attrs.get("parts") or [{"lang": space, "n": stored.clustering.n}]
    selection = stored.attrs.get("selection")
    n_sentences = int(root.attrs.get("n_sentences", 0))
    words: list[str] = []
    sentences, positions = [], []
    for index, part in enumerate(parts):
        rows = _language_rows(root, model, side, part["lang"], selection)
        if len(rows) != part["n"]:
            raise StoreError(f"clustering {space!r} holds {part['n']} rows of {part['lang']!r} but its rows now "
                             f"number {len(rows)} (selection or activations changed); cluster again")
        w, s, p = _tokens(root, model, side, part["lang"], rows)
        words += w
        sentences.append(s + index * n_sentences)
        positions.append(p)
    labels = np.asarray(stored.clustering.labels)
    kept = np.flatnonzero(labels >= 0)  # a row left out of the fit (reference mode) has no cluster to write
    count = write_conceptx(path, [words[i] for i in kept.tolist()], np.concatenate(sentences)[kept],
                           np.concatenate(positions)[kept], labels[kept])
    log.info("exported %d tokens of %s to %s", count, space, path)
    return count


def align_conceptx(clusters: ConceptXClusters, root: Any, *, model: str, side: str, lang: str,
                   rows: np.ndarray | None = None, sentence_offset: int = 0, check_words: bool = True) -> np.ndarray:
    """Labels int32 [n_rows] of an imported file for our ``rows`` of ``lang`` (-1 where the file has none).

    Tokens are matched by (sentence - ``sentence_offset``, position); with ``check_words`` a matched token
    whose word differs from ours raises InputDataError (the file was made from another corpus).
    """
    if rows is None:
        rows = _language_rows(root, model, side, lang, None)
    words, sentence, position = _tokens(root, model, side, lang, np.asarray(rows, dtype=np.int64))
    n_pos = int(max(position.max(initial=0), clusters.position.max(initial=0))) + 1
    ours = sentence * n_pos + position
    theirs = (clusters.sentence - sentence_offset) * n_pos + clusters.position
    order = np.argsort(theirs, kind="stable")
    found = np.searchsorted(theirs[order], ours)
    found = np.minimum(found, max(len(order) - 1, 0))
    hit = (theirs[order][found] == ours) if len(order) else np.zeros(len(ours), dtype=bool)
    labels = np.full(len(ours), -1, dtype=np.int32)
    lines = order[found[hit]]
    labels[hit] = clusters.cluster[lines].astype(np.int32)
    if check_words:
        for row, line in zip(np.flatnonzero(hit).tolist(), lines.tolist(), strict=True):
            if clusters.words[line] != words[row]:
                raise InputDataError(f"ConceptX line {line + 1} has word {clusters.words[line]!r} at sentence "
                                     f"{int(sentence[row])}, position {int(position[row])}, where the store has "
                                     f"{words[row]!r} (another corpus or tokenization?)")
    missing = int((~hit).sum())
    if missing:
        log.warning("%d of %d rows of %s have no line in the ConceptX file (label -1)", missing, len(ours), lang)
    return labels
