"""The metrics of a run, registered in one place: the task graph, the metrics stage, the run tables and the
report's plots read :data:`METRICS`.

A metric entry says which clustered spaces it needs for a language pair (so the graph schedules their
clusterings), whether a config turns it on, which ``metric`` / ``direction`` values its table rows carry, how
its baseline reads (a floor or a ceiling), how the report draws it, and which function measures it (named
``module:function``, imported when a metrics task runs, so reading the registry stays light). Adding a
metric: its module (the computation, its rows and its measure function), one entry here, and its thresholds
in the config's ``metrics`` section.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.store import layout

__all__ = ["METRICS", "Metric", "Space", "SidePair", "by_name", "enabled_metrics", "of_table_metric", "side_label",
           "table_metrics"]

SidePair = tuple[str, str]  # (source side, target side)


@dataclass(frozen=True)
class Space:
    """A clustered space a metric reads: the rows of ``selection`` of ``langs`` on ``side``."""

    side: str
    selection: str
    langs: tuple[str, ...]


def side_label(sides: SidePair) -> str:
    """The ``side`` column of a pair of sides: ``encoder``, or ``encoder-decoder`` when the two differ."""
    return sides[0] if sides[0] == sides[1] else f"{sides[0]}-{sides[1]}"


def _same_sides(config: Any) -> list[SidePair]:
    return [(side, side) for side in config.extract.sides]


def _calign_sides(config: Any) -> list[SidePair]:
    pairs = config.select.calign.side_pairs
    return [tuple(p) for p in pairs] if pairs else _same_sides(config)


def _calign_spaces(src: str, tgt: str, sides: SidePair) -> list[Space]:
    selection = layout.calign_selection(src, tgt, *sides)
    return [Space(sides[0], selection, (src,)), Space(sides[1], selection, (tgt,))]


def _colap_spaces(src: str, tgt: str, sides: SidePair) -> list[Space]:
    return [Space(sides[0], layout.COLAP_SELECTION, (src, tgt))]


@dataclass(frozen=True)
class Metric:
    """One metric of a run (see the module docstring)."""

    name: str  # also its headline ``metric`` value in the tables
    label: str  # how the report names it
    table_metrics: tuple[str, ...]  # every ``metric`` value its rows carry
    directions: tuple[str, ...]  # the ``direction`` values its rows carry
    baseline_kinds: tuple[tuple[str, str], ...]  # the ``baseline_kind`` values of its rows, each with its words
    baseline_role: str  # "floor" (chance level to beat) or "ceiling" (random mixing)
    color: str  # its colour in the plots
    description: str  # what its value is, for the report (one clause)
    baseline_meaning: str  # what its baseline gives, for the report
    enabled: Callable[[Any], bool]  # config -> whether a run measures it
    side_pairs: Callable[[Any], list[SidePair]]  # config -> the (source, target) sides it is measured on
    spaces: Callable[[str, str, SidePair], list[Space]]  # (src, tgt, sides) -> the clusterings it reads
    measure_path: str  # "module:function": f(root, unit, spec, cluster_seed) -> (result rows, curve rows)
    stores_alignment: bool = False  # its measure writes per-cluster alignments (layout.alignment_path)

    def baseline_label(self, kind: str | None = None) -> str:
        """The baseline ``kind`` (default: its first) in words."""
        labels = dict(self.baseline_kinds)
        return labels[kind] if kind in labels else self.baseline_kinds[0][1]

    def measure(self) -> Callable[..., tuple[list[dict], list[dict]]]:
        """The measure function, imported on first use."""
        module, _, function = self.measure_path.partition(":")
        return getattr(importlib.import_module(module), function)


METRICS: tuple[Metric, ...] = (
    Metric("calign", "CALIGN", ("calign", "calign_eligible"), ("forward", "backward", "mean"),
           (("shuffled-dictionary-types", "shuffled dictionary (target types relabelled)"),
            ("shuffled-dictionary-lines", "shuffled dictionary (target lines shuffled)")), "floor", "#1f77b4",
           "share of a language's concepts (clusters) with a translation-equivalent concept in the other language",
           "what chance alignment gives", enabled=lambda config: config.select.calign.enabled,
           side_pairs=_calign_sides, spaces=_calign_spaces, measure_path="engine.metrics.stage:measure_calign",
           stores_alignment=True),
    Metric("colap", "COLAP", ("colap",), ("joint",), (("permuted-languages", "permuted languages"),), "ceiling",
           "#d62728", "share of clusters of the joint space that mix both languages", "what random mixing gives",
           enabled=lambda config: config.select.colap.enabled, side_pairs=_same_sides, spaces=_colap_spaces,
           measure_path="engine.metrics.stage:measure_colap"),
)


def by_name(name: str) -> Metric:
    """The registered metric ``name`` (KeyError naming the registered ones otherwise)."""
    for metric in METRICS:
        if metric.name == name:
            return metric
    raise KeyError(f"no metric {name!r}; registered: {[m.name for m in METRICS]}")


def of_table_metric(value: str) -> Metric:
    """The registered metric whose rows carry ``metric == value`` (e.g. ``calign_eligible`` -> CALIGN)."""
    for metric in METRICS:
        if value in metric.table_metrics:
            return metric
    raise KeyError(f"no metric writes rows {value!r}; registered: {list(table_metrics())}")


def enabled_metrics(config: Any) -> list[Metric]:
    """The metrics a config measures, in registry order (a ``cluster.metric_ks`` key naming no metric is
    refused here, the registry being the one place that knows the metrics)."""
    from engine.errors import ConfigError, param_message

    names = [metric.name for metric in METRICS]
    for name in config.cluster.metric_ks:
        if name not in names:
            raise ConfigError(param_message("cluster.metric_ks", "the run", "keyed by the metrics ("
                                            + " | ".join(names) + ")", name))
    return [metric for metric in METRICS if metric.enabled(config)]


def table_metrics() -> tuple[str, ...]:
    """Every ``metric`` value of the results and curves tables."""
    return tuple(name for metric in METRICS for name in metric.table_metrics)
