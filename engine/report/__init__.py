"""Results and report of a run: the tidy tables, plots, the static HTML report and run comparison.

What a run calls (the table rows of each metric come from :mod:`engine.metrics.rows`)::

    from engine.report import build_concepts, concept_rows, render_report, write_run_tables
    concepts = build_concepts(store, model=..., side=..., layer=..., k=..., calign={(src, tgt): result},
                              joint=[(src, tgt)])
    write_run_tables(run_dir, pd.DataFrame(rows), pd.DataFrame(curve_rows), concepts, meta={"config": ...})
    render_report(run_dir, store)                      # -> run_dir / "report.html"
    compare(run_a, run_b)                              # -> DataFrame of differences

matplotlib and jinja2 load on first use (pandas and pyarrow with the tables).
"""

from __future__ import annotations

from engine.report.compare import compare, write_compare
from engine.report.concepts import build_concepts, concept_rows
from engine.report.html import render_report
from engine.report.plots import make_plots
from engine.report.tables import RunTables, read_results, read_run_tables, write_run_tables

__all__ = [
    "RunTables", "build_concepts", "compare", "concept_rows", "make_plots",
    "read_results", "read_run_tables", "render_report", "write_compare", "write_run_tables",
]
