"""PNG plots of a run (matplotlib, no pyplot state: figures are drawn with the Agg canvas, safe in workers).

* ``excess`` and ``degenerate``: chance-corrected CALIGN and degenerate concepts, see :mod:`engine.report.chance`.
* ``layers``:   CALIGN and COLAP vs layer, one plot per model × side × pair × K, each metric with its baseline
                band (mean ± sd): the shuffled-dictionary band of CALIGN is a floor (chance alignment; the legend
                names its null model, target types relabelled or target lines shuffled), the
                permuted-language band of COLAP a ceiling (random mixing); the legend says which is which.
* ``heatmap``:  layer × pair of CALIGN (mean of both directions, else forward) and COLAP, one per model × side × K.
* ``curves``:   metric vs θ, one line per layer, one plot per model × side × pair × K.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd

from engine.metrics.registry import METRICS, by_name
from engine.report.figures import DIRECTION_STYLE, Plot, arrow, figure, save, slug

log = logging.getLogger(__name__)

__all__ = ["Plot", "make_plots", "plot_curves", "plot_heatmaps", "plot_layers", "slug"]

def _band(ax, frame: pd.DataFrame, color: str, label: str) -> None:
    base = frame.dropna(subset=["baseline_mean"])
    if base.empty:
        return
    sd = base["baseline_sd"].fillna(0.0).to_numpy()
    mean = base["baseline_mean"].to_numpy()
    ax.fill_between(base["layer"], mean - sd, mean + sd, color=color, alpha=0.18, linewidth=0, label=label)
    ax.plot(base["layer"], mean, color=color, alpha=0.6, linewidth=0.8, linestyle=(0, (4, 3)))


def _layer_figure(frame: pd.DataFrame, model: str, side: str, pair: str, k: int):
    src, tgt = frame["src"].iloc[0], frame["tgt"].iloc[0]
    fig = figure(6.4, 5.0)
    ax = fig.add_subplot()
    for m in METRICS:
        metric, color, name, kind = m.name, m.color, m.label, m.baseline_role
        part = frame[frame["metric"] == metric]
        thetas = sorted(part["theta"].dropna().unique())
        banded = False
        for theta in thetas:
            at = part[part["theta"] == theta]
            suffix = f", θ={theta:g}" if len(thetas) > 1 else f" (θ={theta:g})"
            directions = [d for d in ("mean", "forward", "backward", "joint") if d in set(at["direction"])]
            for direction in directions:
                line = at[at["direction"] == direction].sort_values("layer")
                style, width, marker = DIRECTION_STYLE[direction]
                ax.plot(line["layer"], line["value"], linestyle=style, linewidth=width, marker=marker, markersize=4,
                        color=color, label=f"{name} {arrow(direction, src, tgt)}{suffix}")
            for direction in directions:  # one band: of the mean (else forward, backward) / joint line
                line = at[at["direction"] == direction].sort_values("layer")
                if not banded and line["baseline_mean"].notna().any():
                    which = "" if direction in ("mean", "joint") else f" ({arrow(direction, src, tgt)})"
                    null = m.baseline_label(line["baseline_kind"].dropna().iloc[0])
                    _band(ax, line, color, f"{name} baseline{which}: {null}, a {kind} (mean ± sd)")
                    banded = True
    layers = sorted(frame["layer"].unique())
    ax.set_xticks(layers if len(layers) <= 25 else layers[:: math.ceil(len(layers) / 25)])
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("layer")
    ax.set_ylabel("share of clusters")
    ax.set_title(f"{model} ({side}) · {pair} · K={k}")
    ax.grid(alpha=0.3)
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    return fig


def plot_layers(results: pd.DataFrame, out_dir: str | Path) -> list[Plot]:
    """CALIGN and COLAP vs layer with baseline bands, one PNG per model × side × pair × K."""
    plots = []
    data = results[results["metric"].isin([m.name for m in METRICS])]
    for (model, side, pair, k), frame in data.groupby(["model", "side", "pair", "k"], sort=True):
        path = Path(out_dir) / f"layers_{slug(model, side, pair, f'k{k}')}.png"
        save(_layer_figure(frame, model, side, pair, int(k)), path)
        plots.append(Plot(path, "layers", f"{model} ({side}) · {pair} · K={k}", model, side, pair))
    return plots


def _headline(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    part = frame[frame["metric"] == metric]
    for direction in ("mean", "forward", "joint"):
        if (part["direction"] == direction).any():
            part = part[part["direction"] == direction]
            break
    theta = part["theta"].dropna().min() if part["theta"].notna().any() else None
    return part if theta is None else part[part["theta"] == theta]


def _heat(ax, part: pd.DataFrame, title: str, fig) -> None:
    grid = part.pivot_table(index="pair", columns="layer", values="value", aggfunc="first")
    image = ax.imshow(grid.to_numpy(dtype=float), vmin=0, vmax=1, cmap="viridis", aspect="auto")
    ax.set_xticks(range(grid.shape[1]), [str(c) for c in grid.columns])
    ax.set_yticks(range(grid.shape[0]), list(grid.index))
    ax.set_xlabel("layer")
    ax.set_title(title, fontsize=10)
    if grid.size <= 400:
        for (i, j), value in np.ndenumerate(grid.to_numpy(dtype=float)):
            if not math.isnan(value):
                ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if value < 0.6 else "black")
    fig.colorbar(image, ax=ax, shrink=0.9)


def plot_heatmaps(results: pd.DataFrame, out_dir: str | Path) -> list[Plot]:
    """Heatmaps layer × pair of CALIGN and COLAP, one PNG per model × side × K."""
    plots = []
    for (model, side, k), frame in results.groupby(["model", "side", "k"], sort=True):
        parts = [(m, _headline(frame, m.name)) for m in METRICS]
        parts = [(m, p) for m, p in parts if not p.empty]
        if not parts:
            continue
        n_pairs = frame["pair"].nunique()
        fig = figure(4.8 * len(parts) + 0.6, 1.6 + 0.35 * n_pairs)
        for i, (metric, part) in enumerate(parts):
            direction = part["direction"].iloc[0]
            theta = part["theta"].iloc[0]
            label = metric.label
            what = {"mean": "mean of directions", "forward": "src→tgt", "joint": "joint space"}.get(direction, "")
            _heat(fig.add_subplot(1, len(parts), i + 1), part, f"{label} ({what}, θ={theta:g})", fig)
        fig.suptitle(f"{model} ({side}) · K={k}", fontsize=11)
        path = Path(out_dir) / f"heatmap_{slug(model, side, f'k{k}')}.png"
        save(fig, path)
        plots.append(Plot(path, "heatmap", f"{model} ({side}) · K={k}", model, side))
    return plots


def plot_curves(curves: pd.DataFrame, out_dir: str | Path, results: pd.DataFrame | None = None) -> list[Plot]:
    """Metric vs θ (one line per layer), one PNG per model × side × pair × K; a vertical line marks the θ the
    results table reports (when ``results`` is given)."""
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from matplotlib.ticker import MaxNLocator

    plots = []
    data = curves[curves["metric"].isin([m.name for m in METRICS])]
    for (model, side, pair, k), frame in data.groupby(["model", "side", "pair", "k"], sort=True):
        panels = [(m.name, d) for m in METRICS for d in m.directions
                  if ((frame["metric"] == m.name) & (frame["direction"] == d)).any()]
        src, tgt = frame["src"].iloc[0], frame["tgt"].iloc[0]
        layers = sorted(frame["layer"].unique())
        norm = Normalize(vmin=min(layers), vmax=max(max(layers), min(layers) + 1))
        cmap = colormaps["viridis"]
        fig = figure(3.3 * len(panels) + 1.0, 3.4)
        axes = [fig.add_subplot(1, len(panels), i + 1) for i in range(len(panels))]
        for ax, (metric, direction) in zip(axes, panels, strict=True):
            part = frame[(frame["metric"] == metric) & (frame["direction"] == direction)]
            for layer, line in part.groupby("layer", sort=True):
                line = line.sort_values("theta")
                ax.plot(line["theta"], line["value"], color=cmap(norm(layer)), linewidth=1.4, marker=".")
            if results is not None:
                used = results[(results["model"] == model) & (results["side"] == side) & (results["pair"] == pair)
                               & (results["metric"] == metric) & (results["k"] == k)]["theta"].dropna().unique()
                for theta in used:
                    ax.axvline(theta, color="grey", linewidth=0.8, linestyle="--")
            ax.set_title(f"{by_name(metric).label} {arrow(direction, src, tgt)}", fontsize=9)
            ax.set_xlabel("θ")
            ax.set_ylim(-0.02, 1.02)
            ax.grid(alpha=0.3)
        axes[0].set_ylabel("share of clusters")
        bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=axes, label="layer", shrink=0.9)
        bar.locator = MaxNLocator(integer=True)
        bar.update_ticks()
        fig.suptitle(f"{model} ({side}) · {pair} · K={k}: value vs θ", fontsize=10)
        path = Path(out_dir) / f"curves_{slug(model, side, pair, f'k{k}')}.png"
        save(fig, path)
        plots.append(Plot(path, "curves", f"{model} ({side}) · {pair} · K={k}", model, side, pair))
    return plots


def make_plots(results: pd.DataFrame, curves: pd.DataFrame, out_dir: str | Path) -> list[Plot]:
    """Every plot of a run into ``out_dir`` (validated tables, see :mod:`engine.report.tables`)."""
    from engine.report.chance import plot_degenerate, plot_excess

    out_dir = Path(out_dir)
    plots = (plot_excess(results, out_dir) + plot_layers(results, out_dir) + plot_degenerate(results, out_dir)
             + plot_heatmaps(results, out_dir) + plot_curves(curves, out_dir, results))
    log.info("%d plots written to %s", len(plots), out_dir)
    return plots
