"""Results and report of a run: the tidy tables, concept rows, plots and the static HTML report."""

from __future__ import annotations

from engine.report.concepts import build_concepts, concept_rows
from engine.report.html import render_report
from engine.report.plots import make_plots
from engine.report.rows import calign_rows, colap_rows
from engine.report.tables import RunTables, read_results, read_run_tables, write_run_tables

__all__ = ["RunTables", "build_concepts", "calign_rows", "colap_rows", "concept_rows", "make_plots", "read_results",
           "read_run_tables", "render_report", "write_run_tables"]
