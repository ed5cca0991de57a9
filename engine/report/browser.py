"""The concept browser's data: the ``concepts`` table regrouped per space, compact, for embedding as JSON.

::

    {"languages": {"en": "#1f77b4", ...},                 # one colour per language (joint spaces)
     "spaces": [{"id": "tiny|encoder|1|8|en|de", "model", "side", "layer", "k", "lang", "partner": "de",
                 "langs": ["en"], "joint": false,
                 "clusters": {"5": {"n_tokens", "n_types", "words": [[word, count, lang]],
                                    "examples": [[ref, position, text, lang]]}},
                 "align": {"de": {"5": [aligned_to, match_share, aligned, [every aligned target]]}}}]}

Spaces are ordered by model, side, K, layer, then languages in first-seen order (a pair's source first).
A language space is the clustering of one measured pair: each pair has its own CALIGN selection, so English
measured against German and against Arabic are two clusterings, two spaces (``partner`` "de" and "ar"; ""
for a joint space or one without alignment). Its ``align`` holds the CALIGN match of every cluster; the
matched concept is in the partner's space of the same pair: same model, side, layer and K, ``lang`` the
partner and ``partner`` this space's language.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd

__all__ = ["LANGUAGE_COLORS", "browser_data", "embed_json", "space_id"]

LANGUAGE_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf",
                   "#7f7f7f", "#bcbd22"]


def space_id(model: str, side: str, layer: int, k: int, lang: str, partner: str = "") -> str:
    return f"{model}|{side}|{int(layer)}|{int(k)}|{lang}|{partner}"


def _langs_of(lang: str) -> list[str]:
    return lang[len("joint-"):].split("-") if lang.startswith("joint-") else [lang]


def _round(value: float) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), 4)


def browser_data(concepts: pd.DataFrame) -> dict[str, Any]:
    """Regroup a validated ``concepts`` table (see :mod:`engine.results`) for the browser."""
    spaces: dict[str, dict[str, Any]] = {}
    languages: list[str] = []
    for row in concepts.itertuples(index=False):
        partner = row.other or ""
        sid = space_id(row.model, row.side, row.layer, row.k, row.lang, partner)
        langs = _langs_of(row.lang)
        for lang in langs:
            if lang not in languages:
                languages.append(lang)
        space = spaces.setdefault(sid, {"id": sid, "model": row.model, "side": row.side, "layer": int(row.layer),
                                        "k": int(row.k), "lang": row.lang, "partner": partner, "langs": langs,
                                        "joint": row.lang.startswith("joint-"), "clusters": {}, "align": {}})
        key = str(int(row.cluster))
        if key not in space["clusters"]:
            own = langs[0]
            space["clusters"][key] = {
                "n_tokens": int(row.n_tokens), "n_types": int(row.n_types),
                "words": [[w[0], int(w[1]), w[2] if len(w) > 2 else own] for w in row.top_words],
                "examples": [[e["ref"], int(e["position"]), e["text"], e["lang"]] for e in row.examples],
            }
        if row.other:
            space["align"].setdefault(row.other, {})[key] = [int(row.aligned_to), _round(row.match_share),
                                                             bool(row.aligned), [int(t) for t in row.aligned_targets]]
    ordered = sorted(spaces.values(), key=lambda s: (s["model"], s["side"], s["k"], s["layer"], s["joint"],
                                                     [languages.index(x) for x in s["langs"]],
                                                     languages.index(s["partner"]) if s["partner"] else -1))
    colors = {lang: LANGUAGE_COLORS[i % len(LANGUAGE_COLORS)] for i, lang in enumerate(languages)}
    return {"languages": colors, "spaces": ordered}


def embed_json(data: Any) -> str:
    """JSON safe inside a ``<script type="application/json">`` element (no ``</script>``, no ``<!--``)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e") \
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
