"""Results and report of a run: the tidy tables and the concept rows (more to come: plots, HTML report, comparison)."""

from __future__ import annotations

from engine.report.concepts import build_concepts, concept_rows
from engine.report.rows import calign_rows, colap_rows
from engine.report.tables import RunTables, read_results, read_run_tables, write_run_tables

__all__ = ["RunTables", "build_concepts", "calign_rows", "colap_rows", "concept_rows", "read_results",
           "read_run_tables", "write_run_tables"]
