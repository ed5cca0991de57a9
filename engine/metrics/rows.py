"""Rows of the ``results`` and ``curves`` tables from metric results (so no caller spells the schema by hand).

Each function returns ``(result_rows, curve_rows)``: lists of dicts with the columns of :mod:`engine.results`;
collect them over the sweep and build the DataFrames with ``pandas.DataFrame(rows)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.errors import ConfigError, param_message
from engine.metrics.calign import CalignDirection, CalignResult
from engine.metrics.colap import ColapResult
from engine.metrics.curves import Curve
from engine.metrics.significance import Significance, significance

__all__ = ["calign_rows", "colap_rows", "jsonable_rows"]

Rows = list[dict[str, Any]]


def _null(null: Significance | None, kind: str) -> dict[str, Any]:
    if null is None:
        return {"baseline_mean": np.nan, "baseline_sd": np.nan, "p_value": np.nan, "repeats": None,
                "baseline_kind": None}
    return {"baseline_mean": null.mean, "baseline_sd": null.sd, "p_value": null.p_value, "repeats": null.repeats,
            "baseline_kind": kind}


def _check_common(owner: str, model: Any, side: Any, layer: Any, src: Any, tgt: Any, k: Any) -> None:
    for name, value in (("model", model), ("side", side), ("src", src), ("tgt", tgt)):
        if not isinstance(value, str) or not value:
            raise ConfigError(param_message(name, owner, "a non-empty string", value))
    for name, value in (("layer", layer), ("k", k)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
            raise ConfigError(param_message(name, owner, "a non-negative integer", value))


def _curve_rows(base: dict[str, Any], metric: str, direction: str, curve: Curve) -> Rows:
    return [{**base, "metric": metric, "direction": direction, "theta": float(t), "value": float(v)}
            for t, v in zip(curve.thetas, curve.values, strict=True)]


def _mean_null(a: Significance | None, b: Significance | None, observed: float) -> Significance | None:
    if a is None or b is None or a.repeats != b.repeats or observed != observed:
        return None
    return significance(observed, (a.null + b.null) / 2)


def calign_rows(result: CalignResult, *, model: str, side: str, layer: int, src: str, tgt: str, k: int,
                n_points: int | tuple[int, int], seed: int | None = None,
                n_dropped: int | tuple[int, int] = 0) -> tuple[Rows, Rows]:
    """Rows of one CALIGN result: calign and calign_eligible per direction and for the mean of both directions.

    ``n_points``: points clustered on the source side, or (source, target); the mean row gets their sum.
    ``n_dropped``: points of the spaces left out of their fit (the reference mode's last point), likewise.
    The mean row's baseline averages the two directions' nulls repetition by repetition. ``seed`` fills the
    seed column (e.g. the clustering's); default: the seed of the metric's permutations.
    """
    owner = "calign_rows"
    if not isinstance(result, CalignResult):
        raise ConfigError(param_message("result", owner, "a CalignResult", type(result).__name__))
    _check_common(owner, model, side, layer, src, tgt, k)
    points = (n_points, n_points) if not isinstance(n_points, tuple) else n_points
    dropped = (n_dropped, n_dropped) if not isinstance(n_dropped, tuple) else n_dropped
    p = result.params
    key = {"model": model, "side": side, "layer": int(layer), "pair": f"{src}-{tgt}", "src": src, "tgt": tgt,
           "k": int(k)}
    settings = {"theta": p["theta"], "top_n": p["top_n"], "min_types": p["min_types"],
                "seed": p["seed"] if seed is None else seed}
    directions: list[tuple[str, CalignDirection, int, int]] = [("forward", result.forward, points[0], dropped[0])]
    if result.backward is not None:
        directions.append(("backward", result.backward, points[1], dropped[1]))
    rows: Rows = []
    curves: Rows = []
    kind = f"shuffled-dictionary-{p.get('null', 'types')}"
    for name, d, n, gone in directions:
        common = {**key, "direction": name, **settings, "n_points": n, "n_clusters": d.n_clusters,
                  "n_degenerate": d.n_single_type, "n_dropped": gone}
        rows.append({**common, "metric": "calign", "value": d.value, **_null(d.null, kind)})
        rows.append({**common, "metric": "calign_eligible", "value": d.value_eligible,
                     **_null(d.null_eligible, kind)})
        curves += _curve_rows(key, "calign", name, d.curve())
        curves += _curve_rows(key, "calign_eligible", name, d.curve(eligible_only=True))
    if result.backward is not None:
        f, b = result.forward, result.backward
        mean = {**key, "direction": "mean", **settings, "n_points": points[0] + points[1],
                "n_clusters": f.n_clusters + b.n_clusters, "n_degenerate": f.n_single_type + b.n_single_type,
                "n_dropped": dropped[0] + dropped[1]}
        rows.append({**mean, "metric": "calign", "value": result.mean,
                     **_null(_mean_null(f.null, b.null, result.mean), kind)})
        eligible = (f.value_eligible + b.value_eligible) / 2  # NaN when a direction has no eligible concept
        rows.append({**mean, "metric": "calign_eligible", "value": eligible,
                     **_null(_mean_null(f.null_eligible, b.null_eligible, eligible), kind)})
        cf, cb = f.curve(), b.curve()
        curves += _curve_rows(key, "calign", "mean", Curve(cf.thetas, cf.counts + cb.counts,
                                                           cf.denominator + cb.denominator,
                                                           (cf.values + cb.values) / 2))
    return rows, curves


def colap_rows(result: ColapResult, *, model: str, side: str, layer: int, src: str, tgt: str, k: int,
               n_points: int, seed: int | None = None, n_dropped: int = 0) -> tuple[Rows, Rows]:
    """Rows of one COLAP result of the joint space of ``src`` and ``tgt`` (direction ``joint``).

    The baseline (permuted languages) is a ceiling; ``n_degenerate`` counts single-language clusters.
    ``seed`` and ``n_dropped`` as in :func:`calign_rows`.
    """
    owner = "colap_rows"
    if not isinstance(result, ColapResult):
        raise ConfigError(param_message("result", owner, "a ColapResult", type(result).__name__))
    _check_common(owner, model, side, layer, src, tgt, k)
    langs = [src, tgt]
    if not set(langs) <= set(result.languages):
        raise ConfigError(param_message("src/tgt", owner, f"languages of the result {result.languages}", langs))
    key = {"model": model, "side": side, "layer": int(layer), "pair": f"{src}-{tgt}", "src": src, "tgt": tgt,
           "k": int(k)}
    value = result.value
    curve = result.curve()
    if len(result.languages) > 2:  # the pair's own share, not the all-language one
        i, j = result.languages.index(src), result.languages.index(tgt)
        value = float(result.pairwise[i, j])
        curve = result.curve(languages=langs)
    row = {**key, "metric": "colap", "direction": "joint", "value": value,
           **_null(result.null if len(result.languages) == 2 else None, "permuted-languages"),
           "theta": result.theta, "top_n": None, "min_types": None,
           "seed": result.params.get("seed") if seed is None else seed,
           "n_points": n_points, "n_clusters": result.n_clusters, "n_degenerate": result.n_single_language,
           "n_dropped": n_dropped}
    return [row], _curve_rows(key, "colap", "joint", curve)


def jsonable_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Table rows with NaN -> None and NumPy scalars -> Python values, so they survive the JSON task cache."""
    out = []
    for row in rows:
        clean = {}
        for name, value in row.items():
            if isinstance(value, np.generic):
                value = value.item()
            if isinstance(value, float) and value != value:
                value = None
            clean[name] = value
        out.append(clean)
    return out
