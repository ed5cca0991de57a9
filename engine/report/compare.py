"""Compare two runs (e.g. a pre-trained and a fine-tuned model): Δ = B − A per model, side, layer, pair, metric.
Beside the deltas, both runs' headline metrics are drawn against relative depth (layer / deepest layer), which
lines up models of different depth (an encoder of 12 layers and a decoder of 18).

Rows are matched on side, pair, metric, direction and layer, and on the model: the same model names in both
runs, or the one model of each run, or an explicit ``model_map`` (A's name -> B's). Settings (K, θ) join too
when a run sweeps them; a setting with one value per run is compared across (``k_a``/``k_b``, ``theta_a``/
``theta_b`` say which), with a warning when the runs' values differ.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from engine.errors import ConfigError, InputDataError, param_message
from engine.metrics.registry import METRICS, by_name
from engine.report.tables import first_seed_rows, read_results

log = logging.getLogger(__name__)

__all__ = ["COMPARE_COLUMNS", "compare", "compare_summary", "write_compare"]

BASE_KEY = ["side", "pair", "src", "tgt", "metric", "direction", "layer"]
SETTINGS = ["k", "theta", "top_n", "min_types"]
COMPARE_COLUMNS = [
    "model_a", "model_b", "side", "pair", "src", "tgt", "metric", "direction", "layer", "k_a", "k_b", "theta_a",
    "theta_b", "value_a", "value_b", "delta", "baseline_mean_a", "baseline_mean_b", "p_value_a", "p_value_b",
]


def _model_map(a: pd.DataFrame, b: pd.DataFrame, model_map: Mapping[str, str] | None) -> dict[str, str]:
    models_a, models_b = sorted(a["model"].unique()), sorted(b["model"].unique())
    if model_map:
        if not isinstance(model_map, Mapping):
            raise ConfigError(param_message("model_map", "compare", "a mapping of A's model -> B's",
                                            type(model_map).__name__))
        unknown = [m for m in model_map if m not in models_a] + [m for m in model_map.values() if m not in models_b]
        if unknown:
            raise ConfigError(param_message("model_map", "compare", f"models of run A {models_a} mapped to "
                                            f"models of run B {models_b}", dict(model_map)))
        return dict(model_map)
    if models_a == models_b:
        return {m: m for m in models_a}
    if len(models_a) == 1 and len(models_b) == 1:
        return {models_a[0]: models_b[0]}
    raise ConfigError(param_message("model_map", "compare", f"given when the runs' models differ (A: {models_a}, "
                                    f"B: {models_b}); e.g. --model {models_a[0]}={models_b[0]}", None))


def _swept(frame: pd.DataFrame, column: str) -> bool:
    return bool((frame.groupby("metric")[column].nunique(dropna=True) > 1).any())


def compare(run_a: str | Path | pd.DataFrame, run_b: str | Path | pd.DataFrame, *,
            model_map: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Δ = value_b − value_a per matched row (columns ``COMPARE_COLUMNS``); runs are folders, results files
    or validated results DataFrames. Rows of only one run are kept with a NaN Δ. A run clustered under several
    k-means seeds is compared on its first seed's rows."""
    a = first_seed_rows(run_a if isinstance(run_a, pd.DataFrame) else read_results(run_a))
    b = first_seed_rows(run_b if isinstance(run_b, pd.DataFrame) else read_results(run_b))
    mapping = _model_map(a, b, model_map)
    a = a[a["model"].isin(list(mapping))].rename(columns={"model": "model_a"})
    b = b[b["model"].isin(list(mapping.values()))].rename(columns={"model": "model_b"})
    inverse = {v: k for k, v in mapping.items()}
    b["model_a"] = b["model_b"].map(inverse)
    key = ["model_a", *BASE_KEY]
    for column in SETTINGS:
        if _swept(a, column) or _swept(b, column):
            key.append(column)
            continue
        for metric in sorted(set(a["metric"]) & set(b["metric"])):
            va = a.loc[a["metric"] == metric, column].dropna().unique()
            vb = b.loc[b["metric"] == metric, column].dropna().unique()
            if len(va) and len(vb) and va[0] != vb[0]:
                log.warning("compare: %s of %s differs (A %s, B %s); compared across it", column, metric, va[0], vb[0])
    keep = ["value", "baseline_mean", "p_value", "k", "theta"]
    merged = a[key + [c for c in keep if c not in key]].merge(
        b[key + ["model_b"] + [c for c in keep if c not in key]], on=key, how="outer", suffixes=("_a", "_b"),
        indicator=True)
    for column in ("k", "theta"):
        if column in key:
            merged[f"{column}_a"] = merged[f"{column}_b"] = merged[column]
    merged["model_b"] = merged["model_b"].fillna(merged["model_a"].map(mapping))
    merged["delta"] = merged["value_b"] - merged["value_a"]
    unmatched = merged["_merge"] != "both"
    if unmatched.any():
        log.warning("compare: %d rows of A and %d of B have no counterpart (delta NaN)",
                    int((merged["_merge"] == "left_only").sum()), int((merged["_merge"] == "right_only").sum()))
    if not (~unmatched).any():
        raise InputDataError(param_message("runs", "compare", "sharing at least one model/side/pair/metric/layer "
                                           "row", "no row in common"))
    for column in ("k_a", "k_b"):
        merged[column] = merged[column].astype("Int64")
    out = merged[COMPARE_COLUMNS].sort_values(["model_a", "side", "k_a", "pair", "metric", "direction", "layer"])
    return out.reset_index(drop=True)


def compare_summary(diff: pd.DataFrame) -> pd.DataFrame:
    """Per model pair × side × K × pair × metric × direction: mean Δ over layers and the layer of the largest |Δ|."""
    rows = []
    group = ["model_a", "model_b", "side", "k_a", "pair", "metric", "direction"]
    for names, frame in diff.dropna(subset=["delta"]).groupby(group, sort=True):
        peak = frame.loc[frame["delta"].abs().idxmax()]
        rows.append({**dict(zip(group, names, strict=True)), "mean_delta": float(frame["delta"].mean()),
                     "peak_layer": int(peak["layer"]), "peak_delta": float(peak["delta"]), "layers": len(frame)})
    return pd.DataFrame(rows)


def _headline(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    part = frame[frame["metric"] == metric]
    for direction in ("mean", "forward", "joint"):
        if (part["direction"] == direction).any():
            return part[part["direction"] == direction]
    return part


def _plot(diff: pd.DataFrame, out_dir: Path) -> list[Path]:
    from matplotlib.figure import Figure

    from engine.report.figures import DPI, slug

    paths = []
    for (model_a, model_b, side, k), frame in diff.groupby(["model_a", "model_b", "side", "k_a"], sort=True):
        panels = [(m.name, _headline(frame, m.name)) for m in METRICS]
        panels = [(m, p) for m, p in panels if p["delta"].notna().any()]
        if not panels:
            continue
        fig = Figure(figsize=(5.2 * len(panels), 4.2), dpi=DPI, layout="constrained")
        for i, (metric, part) in enumerate(panels):
            ax = fig.add_subplot(1, len(panels), i + 1)
            for pair, line in part.groupby("pair", sort=True):
                line = line.sort_values("layer")
                ax.plot(line["layer"], line["delta"], marker="o", markersize=4, label=pair)
            ax.axhline(0, color="black", linewidth=0.8)
            layers = sorted(part["layer"].unique())
            ax.set_xticks(layers if len(layers) <= 25 else layers[:: -(-len(layers) // 25)])
            ax.set_xlabel("layer")
            ax.set_ylabel("Δ (B − A)")
            ax.set_title(f"{by_name(metric).label} ({part['direction'].iloc[0]})", fontsize=10)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8, frameon=False)
        name = model_a if model_a == model_b else f"{model_b} − {model_a}"
        fig.suptitle(f"{name} ({side}) · K={k}: B − A per layer", fontsize=11)
        path = out_dir / f"compare_{slug(model_a, model_b, side, f'k{k}')}.png"
        fig.savefig(path, dpi=DPI, format="png", metadata={"Software": None})
        paths.append(path)
    return paths


def headline_by_depth(results: pd.DataFrame) -> pd.DataFrame:
    """Per model × side × K × pair × layer, what the report headlines: CALIGN above chance (eligible-only, the
    mean of both directions, minus its floor; the value itself without a floor) and COLAP, with the layer's
    relative depth (layer / the model's deepest measured layer), so models of different depth line up."""
    from engine.report.chance import excess_rows

    calign = _headline(results[results["metric"] == "calign_eligible"], "calign_eligible")
    excess = excess_rows(calign)
    calign = excess.assign(y=excess["excess"]) if len(excess) else calign.assign(y=calign["value"])
    colap = _headline(results[results["metric"] == "colap"], "colap")
    parts = [calign.assign(quantity="calign"), colap.assign(quantity="colap", y=colap["value"])]
    out = pd.concat(parts, ignore_index=True)[["model", "side", "k", "pair", "layer", "quantity", "y"]]
    deepest = out.groupby("model")["layer"].transform("max").clip(lower=1)
    return out.assign(depth=out["layer"] / deepest)


def _plot_depth(a: pd.DataFrame, b: pd.DataFrame, mapping: Mapping[str, str], out_dir: Path) -> list[Path]:
    """Both runs' headline metrics against relative depth, one figure per model pair (A solid, B dashed)."""
    from matplotlib.figure import Figure

    from engine.report.figures import DPI, slug

    rows_a, rows_b = headline_by_depth(a), headline_by_depth(b)
    paths = []
    for model_a, model_b in mapping.items():
        mine_a, mine_b = rows_a[rows_a["model"] == model_a], rows_b[rows_b["model"] == model_b]
        fig = Figure(figsize=(10.4, 4.2), dpi=DPI, layout="constrained")
        for i, (quantity, label) in enumerate((("calign", "CALIGN above chance (eligible-only − floor)"),
                                               ("colap", "COLAP"))):
            ax = fig.add_subplot(1, 2, i + 1)
            for (pair, k), line in pd.concat([mine_a.assign(run="A"), mine_b.assign(run="B")]).loc[
                    lambda f, q=quantity: f["quantity"] == q].groupby(["pair", "k"], sort=True):
                for run, style, model in (("A", "-", model_a), ("B", "--", model_b)):
                    part = line[line["run"] == run].sort_values("depth")
                    if len(part):
                        ax.plot(part["depth"], part["y"], linestyle=style, marker="o", markersize=3,
                                label=f"{model} · {pair} · K={k}")
            if quantity == "calign":
                ax.axhline(0, color="black", linewidth=0.8)
            ax.set_xlabel("relative depth (layer / deepest layer)")
            ax.set_title(label, fontsize=10)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7, frameon=False)
        fig.suptitle(f"{model_a} (A, solid) and {model_b} (B, dashed) by relative depth", fontsize=11)
        path = out_dir / f"depth_{slug(model_a, model_b)}.png"
        fig.savefig(path, dpi=DPI, format="png", metadata={"Software": None})
        paths.append(path)
    return paths


def write_compare(run_a: str | Path, run_b: str | Path, out_dir: str | Path, *,
                  model_map: Mapping[str, str] | None = None) -> tuple[pd.DataFrame, dict[str, Path | list[Path]]]:
    """:func:`compare`, then write ``compare.csv``, ``compare.parquet``, ``compare_summary.csv`` and plots
    into ``out_dir``; return the differences and the written files."""
    diff = compare(run_a, run_b, model_map=model_map)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path | list[Path]] = {"csv": out / "compare.csv", "parquet": out / "compare.parquet",
                                           "summary": out / "compare_summary.csv"}
    diff.to_csv(files["csv"], index=False)
    diff.to_parquet(files["parquet"], index=False)
    compare_summary(diff).to_csv(files["summary"], index=False)
    a, b = (first_seed_rows(read_results(run)) for run in (run_a, run_b))
    files["plots"] = _plot(diff, out) + _plot_depth(a, b, _model_map(a, b, model_map), out)
    log.info("comparison written to %s (%d rows, %d matched)", out, len(diff), int(np.isfinite(diff["delta"]).sum()))
    return diff, files
