"""The k-means seed spread of a run clustered under several seeds (``cluster.n_seeds``): per layer, the mean ± sd
over the seeds of what the report headlines — CALIGN above chance (eligible-only, mean of both directions,
minus its floor) and COLAP — with each seed's value as a dot, so a reader sees how far the clustering's seed
alone moves a layer's value.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from engine.metrics.registry import by_name
from engine.report.figures import Plot, figure, save, slug

__all__ = ["SPREAD_COLUMNS", "plot_seed_spread", "spread_rows"]

SPREAD_COLUMNS = ["model", "side", "pair", "k", "quantity", "layer", "mean", "sd", "n_seeds"]
QUANTITIES = {"calign_excess": ("calign", "CALIGN above chance (eligible-only − floor)"),
              "colap": ("colap", "COLAP")}


def _per_seed(seeds: pd.DataFrame) -> pd.DataFrame:
    """One value per model × side × pair × k × quantity × layer × seed."""
    calign = seeds[seeds["metric"] == "calign_eligible"]
    directions = set(calign["direction"])
    calign = calign[calign["direction"] == ("mean" if "mean" in directions else "forward")]
    calign = calign.dropna(subset=["value", "baseline_mean"])
    colap = seeds[seeds["metric"] == "colap"].dropna(subset=["value"])
    parts = [calign.assign(quantity="calign_excess", y=calign["value"] - calign["baseline_mean"]),
             colap.assign(quantity="colap", y=colap["value"])]
    return pd.concat(parts, ignore_index=True)[["model", "side", "pair", "k", "quantity", "layer", "seed", "y"]]


def spread_rows(seeds: pd.DataFrame) -> pd.DataFrame:
    """Mean and sd (ddof 1; 0 for one seed) over seeds per model × side × pair × k × quantity × layer
    (columns ``SPREAD_COLUMNS``) of every seed's results rows."""
    if seeds.empty:
        return pd.DataFrame({c: [] for c in SPREAD_COLUMNS})
    values = _per_seed(seeds)
    grouped = values.groupby(["model", "side", "pair", "k", "quantity", "layer"], sort=True)["y"]
    out = grouped.agg(mean="mean", sd=lambda y: float(np.std(y, ddof=1)) if len(y) > 1 else 0.0,
                      n_seeds="count").reset_index()
    return out[SPREAD_COLUMNS]


def _figure(values: pd.DataFrame, spread: pd.DataFrame, model: str, side: str, pair: str, k: int):
    """One panel per quantity (each on its own scale): the mean over seeds, its ± sd band, each seed a dot."""
    shown = [q for q in QUANTITIES if (spread["quantity"] == q).any()]
    fig = figure(4.2 * len(shown) + 1.0, 3.8)
    axes = fig.subplots(1, len(shown), squeeze=False)[0]
    n_seeds = int(spread["n_seeds"].max())
    layers = sorted(spread["layer"].unique())
    for ax, quantity in zip(axes, shown, strict=True):
        metric, label = QUANTITIES[quantity]
        line = spread[spread["quantity"] == quantity].sort_values("layer")
        color = by_name(metric).color
        ax.plot(line["layer"], line["mean"], linewidth=2.0, marker="o", markersize=4, color=color,
                label=f"mean of {n_seeds} seeds")
        ax.fill_between(line["layer"], line["mean"] - line["sd"], line["mean"] + line["sd"], color=color,
                        alpha=0.2, linewidth=0, label="± sd over seeds")
        dots = values[values["quantity"] == quantity]
        ax.scatter(dots["layer"], dots["y"], s=9, color=color, alpha=0.55, linewidths=0, label="each seed")
        if quantity == "calign_excess":
            ax.axhline(0.0, color="black", linewidth=0.8)
        ax.set_xticks(layers if len(layers) <= 25 else layers[:: math.ceil(len(layers) / 25)])
        ax.set_xlabel("layer")
        ax.set_title(label, fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, frameon=False)
    fig.suptitle(f"{model} ({side}) · {pair} · K={k}: spread over {n_seeds} k-means seeds", fontsize=10)
    return fig


def plot_seed_spread(seeds: pd.DataFrame, out_dir: str | Path) -> list[Plot]:
    """One PNG per model × side × pair × K of a run with several seeds (none for a one-seed run)."""
    if seeds.empty or seeds["seed"].dropna().nunique() < 2:
        return []
    values = _per_seed(seeds)
    spread = spread_rows(seeds)
    plots = []
    for (model, side, pair, k), frame in spread.groupby(["model", "side", "pair", "k"], sort=True):
        mine = values[(values["model"] == model) & (values["side"] == side) & (values["pair"] == pair)
                      & (values["k"] == k)]
        path = Path(out_dir) / f"seeds_{slug(model, side, pair, f'k{k}')}.png"
        save(_figure(mine, frame, model, side, pair, int(k)), path)
        plots.append(Plot(path, "seeds", f"{model} ({side}) · {pair} · K={k}", model, side, pair))
    return plots
