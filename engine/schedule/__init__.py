"""The conductor: a Dask task graph over models × sides × layers × languages, cached by content."""

from engine.schedule.run import RunSummary, run_pipeline

__all__ = ["RunSummary", "run_pipeline"]
