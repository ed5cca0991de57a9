"""What survives chance: the report's first plots and its headline numbers.

* ``excess``:     eligible-only CALIGN minus its shuffled-dictionary floor (value − null mean, band ± null sd),
                  per layer, for the mean of both directions and each direction; zero is chance.
* ``degenerate``: per layer, single-type CALIGN clusters (each direction) and single-language COLAP clusters.

A single-type cluster (one word type) passes the CALIGN test whenever that word's translation sits in any
target concept, so raw CALIGN counts it aligned almost by construction; eligible-only CALIGN (more than
``min_types`` types) leaves it out, and the excess over the floor removes what chance alignment gives.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from engine.metrics.registry import by_name
from engine.report.figures import DIRECTION_STYLE, Plot, arrow, figure, save, slug

__all__ = ["DEGENERATE_NOTE", "excess_rows", "plot_degenerate", "plot_excess"]

DEGENERATE_NOTE = ("A single-type CALIGN concept (one word type) passes the alignment test whenever its word's "
                   "translation sits in any concept of the other language, so raw CALIGN counts it aligned almost "
                   "by construction; a single-language COLAP concept can never overlap. Eligible-only CALIGN "
                   "leaves single-type concepts out, and its excess over the floor is what chance does not give.")


def excess_rows(results: pd.DataFrame) -> pd.DataFrame:
    """The ``calign_eligible`` rows with a floor, with ``excess`` = value − baseline_mean (its spread is
    ``baseline_sd``)."""
    part = results[(results["metric"] == "calign_eligible")].dropna(subset=["value", "baseline_mean"])
    return part.assign(excess=part["value"] - part["baseline_mean"])


def _excess_figure(frame: pd.DataFrame, model: str, side: str, pair: str, k: int):
    src, tgt = frame["src"].iloc[0], frame["tgt"].iloc[0]
    color = by_name("calign").color
    fig = figure(6.4, 4.2)
    ax = fig.add_subplot()
    ax.axhline(0.0, color="black", linewidth=0.8)
    for direction in [d for d in ("mean", "forward", "backward") if d in set(frame["direction"])]:
        line = frame[frame["direction"] == direction].sort_values("layer")
        style, width, marker = DIRECTION_STYLE[direction]
        label = f"{arrow(direction, src, tgt)}"
        ax.plot(line["layer"], line["excess"], linestyle=style, linewidth=width, marker=marker, markersize=4,
                color=color, label=label)
        if direction == "mean" or "mean" not in set(frame["direction"]):
            sd = line["baseline_sd"].fillna(0.0)
            ax.fill_between(line["layer"], line["excess"] - sd, line["excess"] + sd, color=color, alpha=0.18,
                            linewidth=0, label=f"± sd of the floor ({arrow(direction, src, tgt)})")
    kind = by_name("calign").baseline_label(frame["baseline_kind"].dropna().iloc[0])
    layers = sorted(frame["layer"].unique())
    ax.set_xticks(layers if len(layers) <= 25 else layers[:: math.ceil(len(layers) / 25)])
    ax.set_xlabel("layer")
    ax.set_ylabel("eligible-only CALIGN − floor")
    ax.set_title(f"{model} ({side}) · {pair} · K={k}: CALIGN above chance", fontsize=10)
    ax.grid(alpha=0.3)
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=2, fontsize=8, frameon=False,
               title=f"floor: {kind}; 0 = chance", title_fontsize=8)
    return fig


def plot_excess(results: pd.DataFrame, out_dir: str | Path) -> list[Plot]:
    """Chance-corrected CALIGN vs layer, one PNG per model × side × pair × K (none without a floor)."""
    plots = []
    for (model, side, pair, k), frame in excess_rows(results).groupby(["model", "side", "pair", "k"], sort=True):
        path = Path(out_dir) / f"excess_{slug(model, side, pair, f'k{k}')}.png"
        save(_excess_figure(frame, model, side, pair, int(k)), path)
        plots.append(Plot(path, "excess", f"{model} ({side}) · {pair} · K={k}", model, side, pair))
    return plots


def plot_degenerate(results: pd.DataFrame, out_dir: str | Path) -> list[Plot]:
    """Degenerate concepts vs layer (single-type CALIGN per direction, single-language COLAP), one PNG per
    model × side × pair × K."""
    plots = []
    wanted = ((results["metric"] == "calign") & results["direction"].isin(["forward", "backward"])) | (
        results["metric"] == "colap")
    data = results[wanted].dropna(subset=["n_degenerate"])
    for (model, side, pair, k), frame in data.groupby(["model", "side", "pair", "k"], sort=True):
        src, tgt = frame["src"].iloc[0], frame["tgt"].iloc[0]
        fig = figure(6.4, 3.8)
        ax = fig.add_subplot()
        for (metric, direction), line in frame.groupby(["metric", "direction"], sort=True):
            line = line.sort_values("layer").drop_duplicates("layer")
            style, width, marker = DIRECTION_STYLE[direction]
            what = "single-type" if metric == "calign" else "single-language"
            ax.plot(line["layer"], line["n_degenerate"], linestyle=style, linewidth=width, marker=marker,
                    markersize=4, color=by_name(metric).color,
                    label=f"{by_name(metric).label} {arrow(direction, src, tgt)}: {what} concepts")
        ax.set_xlabel("layer")
        ax.set_ylabel(f"concepts (of K={k})")
        ax.set_ylim(bottom=0)
        ax.set_title(f"{model} ({side}) · {pair} · K={k}: degenerate concepts", fontsize=10)
        ax.grid(alpha=0.3)
        fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=1, fontsize=8, frameon=False)
        path = Path(out_dir) / f"degenerate_{slug(model, side, pair, f'k{k}')}.png"
        save(fig, path)
        plots.append(Plot(path, "degenerate", f"{model} ({side}) · {pair} · K={k}", model, side, pair))
    return plots
