"""CALIGN's full alignment relation in the released scripts' text format.

``alignClusters.py`` prints, for every source cluster aligned to at least one target cluster::

    Source Cluster 12 is aligned to Target Clusters: 40, 77

Sources come in the order they first appear in the source cluster file; each line's targets are that
script's Python ``set`` of integer cluster names, filled in the order the target clusters first appear in
the target file, and printed in the set's iteration order. :func:`reference_alignment_lines` builds the same
set the same way, so the lines equal the script's byte for byte (its "Aligned Clusters: N" line, which counts
every source cluster, is not written: ``n_aligned`` is the count).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from engine.errors import ConfigError, param_message
from engine.files import write_text_atomic
from engine.metrics.calign import CalignDirection

log = logging.getLogger(__name__)

__all__ = ["alignment_lines", "reference_alignment_lines", "write_reference_alignment"]


def _key(name: str) -> int | str:
    """The script's ``int(cluster)``; a name that is not an integer stays a string."""
    try:
        return int(name.strip())
    except ValueError:
        return name


def _order(names: Sequence[str], order: Sequence[str] | None, what: str) -> list[int]:
    if order is None:
        return list(range(len(names)))
    index = {n: i for i, n in enumerate(names)}
    unknown = [n for n in order if n not in index]
    if unknown:
        raise ConfigError(param_message(what, "reference_alignment_lines", f"cluster names of the clustering "
                                        f"({len(names)} clusters)", unknown[:5]))
    return [index[n] for n in dict.fromkeys(order)] + [i for n, i in index.items() if n not in set(order)]


def reference_alignment_lines(direction: CalignDirection, source_order: Sequence[str] | None = None,
                              target_order: Sequence[str] | None = None) -> list[str]:
    """One ``Source Cluster S is aligned to Target Clusters: T1, T2`` line per aligned source cluster.

    ``source_order`` / ``target_order``: cluster names in the order they first appear in the cluster files
    (default: the clusterings' own order); see the module docstring for the order of the targets.
    """
    if not isinstance(direction, CalignDirection):
        raise ConfigError(param_message("direction", "reference_alignment_lines", "a CalignDirection",
                                        type(direction).__name__))
    targets = direction.target_lists()
    target_rank = {t: r for r, t in enumerate(_order(direction.target_names, target_order, "target_order"))}
    names = direction.target_names
    return alignment_lines([(direction.source_names[s],
                             [names[t] for t in sorted(targets[s], key=target_rank.__getitem__)])
                            for s in _order(direction.source_names, source_order, "source_order")])


def alignment_lines(sources: Sequence[tuple[str, Sequence[str]]]) -> list[str]:
    """The script's lines from (source cluster name, its aligned target names in target-file order) pairs, in
    source order; a source with no target gets no line."""
    lines = []
    for source, aligned in sources:
        if not aligned:
            continue
        printed: set[int | str] = set()
        for target in aligned:
            printed.add(_key(target))
        lines.append(f"Source Cluster {_key(source)} is aligned to Target Clusters: {', '.join(map(str, printed))}")
    return lines


def write_reference_alignment(path: str | Path, direction: CalignDirection, source_order: Sequence[str] | None = None,
                              target_order: Sequence[str] | None = None) -> Path:
    """Write :func:`reference_alignment_lines` to ``path`` (atomically); return the path."""
    lines = reference_alignment_lines(direction, source_order, target_order)
    path = Path(path)
    write_text_atomic(path, "".join(f"{line}\n" for line in lines))
    log.info("%s: %d aligned source clusters, %d (source, target) pairs", path, len(lines),
             int(direction.targets[0].shape[0]))
    return path
