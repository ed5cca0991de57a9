"""Plain-text summaries of metric results (what ``babelscope metrics`` prints)."""

from __future__ import annotations

import math

from engine.metrics.calign import CalignDirection, CalignResult
from engine.metrics.colap import ColapResult
from engine.metrics.curves import Curve
from engine.metrics.significance import Significance

__all__ = ["calign_lines", "colap_lines"]


def _null(null: Significance | None, label: str) -> str:
    if null is None:
        return ""
    sd = "n/a" if math.isnan(null.sd) else f"{null.sd:.3f}"
    return f"; {label} {null.mean:.3f} ± {sd} (R={null.repeats}), corrected {null.corrected:+.3f}, " \
           f"p = {null.p_value:.3g}"


def _curve(curve: Curve) -> str:
    return "  curve: " + "  ".join(f"{t:.2f}:{v:.3f}" for t, v in zip(curve.thetas, curve.values, strict=True))


def _direction(label: str, d: CalignDirection, null_model: str = "types") -> list[str]:
    eligible = "n/a" if math.isnan(d.value_eligible) else f"{d.value_eligible:.3f}"
    return [
        f"{label}: {d.value:.3f} ({d.n_aligned}/{d.n_clusters} clusters aligned; eligible-only {eligible} of "
        f"{d.n_eligible}; {d.n_single_type} single-type clusters; {d.n_types_translated}/{d.n_types} types "
        f"translated{_null(d.null, f'shuffled dictionary ({null_model})')})",
        _curve(d.curve()),
    ]


def calign_lines(result: CalignResult, src_label: str = "source", tgt_label: str = "target") -> list[str]:
    """One line per direction, its θ curve, and the mean of both directions."""
    p = result.params
    lines = [f"CALIGN theta={p['theta']:g} top_n={p['top_n']} min_types={p['min_types']} "
             f"size_ratio={p['size_ratio']:g} mode={p['mode']}"]
    lines += _direction(f"{src_label} -> {tgt_label}", result.forward, p.get("null", "types"))
    if result.backward is not None:
        lines += _direction(f"{tgt_label} -> {src_label}", result.backward, p.get("null", "types"))
        lines.append(f"mean of both directions: {result.mean:.3f}")
    return lines


def colap_lines(result: ColapResult) -> list[str]:
    """The value, single-language clusters, the permuted-language ceiling, pairwise shares and the θ curve."""
    lines = [f"COLAP theta={result.theta:g} (a fraction) languages={','.join(result.languages)}: {result.value:.3f} "
             f"({int(result.overlapping.sum())}/{result.n_clusters} clusters overlap; {result.n_single_language} "
             f"single-language clusters{_null(result.null, 'permuted languages (a ceiling)')})"]
    if len(result.languages) > 2:
        for a, row in zip(result.languages, result.pairwise, strict=True):
            lines.append(f"  {a}: " + " ".join(f"{b}={v:.3f}" for b, v in zip(result.languages, row, strict=True)))
    lines.append(_curve(result.curve()))
    return lines
