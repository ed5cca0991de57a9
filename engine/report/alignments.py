"""Every aligned target of a run, in the released scripts' text format, beside the run tables.

``{run.dir}/alignments/{model}_{side}_layer{L}_k{K}_{src}-{tgt}.txt``: one file per model × side × layer × K ×
direction, from the ``concepts`` table, clusters by their ids ascending (see :mod:`engine.metrics.export`).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pandas as pd

from engine.files import write_text_atomic
from engine.metrics.export import alignment_lines
from engine.report.figures import slug

log = logging.getLogger(__name__)

__all__ = ["ALIGNMENTS_DIR", "write_run_alignments"]

ALIGNMENTS_DIR = "alignments"


def write_run_alignments(concepts: pd.DataFrame, folder: str | Path) -> list[Path]:
    """Write one file per model × side × layer × K × direction of ``concepts`` into ``folder``, replacing the
    folder as a whole (no file of an earlier run remains); return the files."""
    folder = Path(folder)
    staging = folder.with_name(f".{folder.name}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    written = []
    part = concepts[concepts["other"] != ""]
    for (model, side, layer, k, src, tgt), frame in part.groupby(["model", "side", "layer", "k", "lang", "other"],
                                                                 sort=True):
        frame = frame.sort_values("cluster")
        sources = [(str(c), [str(t) for t in sorted(targets)])
                   for c, targets in zip(frame["cluster"], frame["aligned_targets"], strict=True)]
        name = f"{slug(model, side, f'layer{layer}', f'k{k}', f'{src}-{tgt}')}.txt"
        write_text_atomic(staging / name, "".join(f"{line}\n" for line in alignment_lines(sources)))
        written.append(folder / name)
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    if written:
        log.info("%d alignment files (every aligned target, in the released scripts' format) in %s", len(written),
                 folder)
    return written
