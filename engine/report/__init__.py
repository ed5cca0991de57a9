"""Results and report of a run: the tidy tables (more to come: concepts, plots, HTML report, comparison)."""

from __future__ import annotations

from engine.report.rows import calign_rows, colap_rows
from engine.report.tables import RunTables, read_results, read_run_tables, write_run_tables

__all__ = ["RunTables", "calign_rows", "colap_rows", "read_results", "read_run_tables", "write_run_tables"]
