"""The static single-file report of a run folder: ``report.html`` with embedded plots, tables and concept browser.

Everything is inside the file (PNG plots as base64, the browser's data as JSON, vanilla JS and CSS): it opens
from disk with no server and references no external URL.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import struct
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from engine import __version__
from engine.errors import BabelscopeError, StoreError
from engine.files import write_text_atomic
from engine.metrics.registry import METRICS, of_table_metric
from engine.report.browser import browser_data, embed_json
from engine.report.chance import DEGENERATE_NOTE, excess_rows
from engine.report.figures import Plot
from engine.report.plots import make_plots
from engine.report.seeds import plot_seed_spread, spread_rows
from engine.report.tables import RunTables, read_run_tables

log = logging.getLogger(__name__)

__all__ = ["REPORT_HTML", "render_report"]

REPORT_HTML = "report.html"
PLOT_SECTIONS = [("excess", "CALIGN above chance: eligible-only CALIGN minus its floor"),
                 ("layers", "Raw CALIGN and COLAP across layers (single-type concepts included)"),
                 ("degenerate", "Degenerate concepts per layer"), ("heatmap", "Layer × pair (raw values)"),
                 ("curves", "Raw metric vs threshold θ"),
                 ("seeds", "Spread over k-means seeds: each layer's mean ± sd")]
SUMMARY_COLUMNS = ["CALIGN above chance (eligible-only − floor)", "COLAP", "raw CALIGN (all concepts)"]
TABLE_COLUMNS = ["model", "side", "k", "pair", "metric", "direction", "layer", "value", "baseline", "null model",
                 "p_value", "repeats", "theta", "top_n", "min_types", "n_points", "n_clusters", "n_degenerate",
                 "n_dropped"]


def _fmt(value: Any, spec: str = ".3f") -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return format(value, spec) if isinstance(value, float) else str(value)


def _table_rows(results: pd.DataFrame) -> list[list[str]]:
    order = results.sort_values(["model", "side", "k", "pair", "metric", "direction", "theta", "layer"])
    rows = []
    for r in order.itertuples(index=False):
        base = "—" if math.isnan(r.baseline_mean) else \
            f"{r.baseline_mean:.3f} ± {_fmt(r.baseline_sd)} ({of_table_metric(r.metric).baseline_role})"
        rows.append([r.model, r.side, str(r.k), r.pair, r.metric, r.direction, str(r.layer), _fmt(r.value), base,
                     _fmt(r.baseline_kind), _fmt(r.p_value, ".3g"), _fmt(r.repeats),
                     _fmt(r.theta, "g"), _fmt(r.top_n), _fmt(r.min_types),
                     _fmt(r.n_points), _fmt(r.n_clusters), _fmt(r.n_degenerate), _fmt(r.n_dropped)])
    return rows


def _headline_part(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The rows of ``metric`` in its headline direction (mean of both, else forward, else its own)."""
    part = frame[frame["metric"] == metric]
    headline = next((d for d in ("mean", "forward", "joint", "backward") if (part["direction"] == d).any()), None)
    return part[part["direction"] == headline].dropna(subset=["value"])


def _p(row: Any) -> str:
    return "" if math.isnan(row["p_value"]) else f", p = {row['p_value']:.3g} of {int(row['repeats'])} repeats"


def _seed_note(spread: pd.DataFrame, quantity: str, layer: int) -> str:
    """"; over N seeds m ± sd" for a layer of the seed spread (empty for a one-seed run)."""
    row = spread[(spread["quantity"] == quantity) & (spread["layer"] == layer)]
    if row.empty:
        return ""
    r = row.iloc[0]
    return f"; over {int(r['n_seeds'])} k-means seeds {r['mean']:+.3f} ± {r['sd']:.3f}" if quantity != "colap" else \
        f"; over {int(r['n_seeds'])} k-means seeds {r['mean']:.3f} ± {r['sd']:.3f}"


def _excess_cell(frame: pd.DataFrame, spread: pd.DataFrame) -> str:
    part = excess_rows(_headline_part(frame, "calign_eligible"))
    if part.empty:
        eligible = _headline_part(frame, "calign_eligible")
        if eligible.empty:
            return "—"
        best = eligible.loc[eligible["value"].idxmax()]
        return f"eligible-only {best['value']:.3f} at layer {best['layer']} (no floor: metrics.repeats is 0)"
    best = part.loc[part["excess"].idxmax()]
    sd = "" if math.isnan(best["baseline_sd"]) else f" ± {best['baseline_sd']:.3f}"
    return (f"<b>{best['excess']:+.3f}</b>{sd} at layer {best['layer']} (eligible-only {best['value']:.3f}, "
            f"floor {best['baseline_mean']:.3f}{_p(best)}{_seed_note(spread, 'calign_excess', best['layer'])})")


def _peak_cell(frame: pd.DataFrame, metric: str, spread: pd.DataFrame | None = None) -> str:
    part = _headline_part(frame, metric)
    if part.empty:
        return "—"
    best = part.loc[part["value"].idxmax()]
    base = "" if math.isnan(best["baseline_mean"]) else \
        f" ({of_table_metric(metric).baseline_role} {best['baseline_mean']:.3f}{_p(best)})"
    seeds = "" if spread is None else _seed_note(spread, metric, best["layer"])
    return f"{best['value']:.3f} at layer {best['layer']}{base}{seeds}"


def _summary(results: pd.DataFrame, spread: pd.DataFrame) -> list[dict[str, Any]]:
    """Per model × side × pair × K, the cells of :data:`SUMMARY_COLUMNS`: CALIGN's peak excess over its floor
    (eligible-only, the mean of both directions), COLAP's peak, and raw CALIGN's peak, second and labelled;
    with several k-means seeds, the peak layer's mean ± sd over them (``spread``: :func:`spread_rows`)."""
    from markupsafe import Markup  # jinja2's; the cells hold numbers and fixed words only

    out = []
    for (model, side, pair, k), frame in results.groupby(["model", "side", "pair", "k"], sort=True):
        mine = spread[(spread["model"] == model) & (spread["side"] == side) & (spread["pair"] == pair)
                      & (spread["k"] == k)]
        cells = [_excess_cell(frame, mine), _peak_cell(frame, "colap", mine), _peak_cell(frame, "calign")]
        out.append({"model": model, "side": side, "pair": pair, "k": str(k), "peaks": [Markup(c) for c in cells]})
    return out


def _null_models(results: pd.DataFrame) -> list[str]:
    """Each baseline kind of the results in words (e.g. the CALIGN floor's null model)."""
    kinds = results["baseline_kind"].dropna().unique()
    return [f"{of_table_metric(metric).label} {of_table_metric(metric).baseline_role}: "
            f"{of_table_metric(metric).baseline_label(kind)}"
            for metric, kind in sorted({(m, k) for m, k in zip(results["metric"], results["baseline_kind"],
                                                               strict=True) if k in kinds})
            if metric in {m.name for m in METRICS}]


def _image(plot: Plot) -> dict[str, Any]:
    raw = plot.path.read_bytes()
    width, height = struct.unpack(">II", raw[16:24])  # the PNG IHDR: the page reserves the space before decoding
    return {"title": plot.title, "file": plot.path.name, "width": width, "height": height,
            "src": "data:image/png;base64," + base64.b64encode(raw).decode("ascii")}


def _store_summary(store: str | Path | None) -> dict[str, Any] | None:
    if store is None:
        return None
    from engine.store import store_info

    try:
        info = store_info(store)
    except StoreError as exc:
        log.warning("report: store %s not summarised (%s)", store, exc)
        return None
    return {"path": str(store), "languages": ", ".join(info["languages"]), "n_sentences": info["n_sentences"],
            "source": json.dumps(info.get("corpus_source"), default=str)}


def _template_text(name: str) -> str:
    return resources.files("engine.report").joinpath("templates", name).read_text(encoding="utf-8")


def _render(tables: RunTables, plots: list[Plot], title: str, store: dict[str, Any] | None) -> str:
    import jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    template = env.from_string(_template_text("report.html.j2"))
    results = tables.results
    meta = tables.meta
    sections = [{"kind": kind, "heading": heading, "images": [_image(p) for p in plots if p.kind == kind]}
                for kind, heading in PLOT_SECTIONS]
    return template.render(
        title=title, engine_version=__version__, written=meta.get("written", ""),
        models=sorted(results["model"].unique()), pairs=sorted(results["pair"].unique()),
        layers=sorted(int(x) for x in results["layer"].unique()), store=store,
        summary=_summary(results, spread_rows(tables.seeds)), summary_columns=SUMMARY_COLUMNS,
        degenerate_note=DEGENERATE_NOTE,
        null_models=_null_models(results), metrics=METRICS, sections=[s for s in sections if s["images"]],
        table_columns=TABLE_COLUMNS, table_rows=_table_rows(results),
        concept_json=embed_json(browser_data(tables.concepts)), n_concepts=len(tables.concepts),
        versions=meta.get("versions", {}),
        meta_json=json.dumps({k: v for k, v in meta.items() if k != "versions"}, indent=2, default=str,
                             ensure_ascii=False),
        css=_template_text("report.css"), js=_template_text("report.js"),
    )


def render_report(run_dir: str | Path, store: str | Path | None = None, *, title: str | None = None) -> Path:
    """Write ``run_dir/report.html`` (and ``run_dir/plots/*.png``) from the run tables; return its path.

    ``store`` (optional; default: the ``store`` of results.json when it exists) adds the corpus summary to the
    header; concepts come from ``concepts.parquet``.
    """
    run_dir = Path(run_dir)
    tables = read_run_tables(run_dir)
    if store is None and isinstance(tables.meta.get("store"), str) and Path(tables.meta["store"]).is_dir():
        store = tables.meta["store"]
    if tables.results.empty:
        raise BabelscopeError(f"run folder {str(run_dir)!r} has an empty results table; nothing to report")
    plots = make_plots(tables.results, tables.curves, run_dir / "plots") + plot_seed_spread(tables.seeds,
                                                                                           run_dir / "plots")
    title = title or f"babelscope report — {run_dir.resolve().name}"
    html = _render(tables, plots, title, _store_summary(store))
    path = run_dir / REPORT_HTML
    write_text_atomic(path, html)
    log.info("report written to %s (%d plots, %d result rows, %d concepts; %.1f MB)", path, len(plots),
             len(tables.results), len(tables.concepts), len(html) / 1e6)
    return path
