"""Extraction: word-level activations from any Hugging Face model into the store."""

from engine.extract.run import GroupPlan, check_space, extract_range, finish_group, plan_group, run_extraction
from engine.extract.stage import ExtractionSummary, GroupSpec, group_specs, requested_layers

__all__ = ["ExtractionSummary", "GroupPlan", "GroupSpec", "check_space", "extract_range", "finish_group", "group_specs",
           "plan_group", "requested_layers", "run_extraction"]
