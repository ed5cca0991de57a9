"""Shared helpers of the benchmark scripts: machine facts, timing, result files."""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def machine_info() -> dict[str, Any]:
    """CPU model, cores, library versions and BLAS threads, written beside every result."""
    info: dict[str, Any] = {"python": platform.python_version(), "machine": platform.machine(),
                            "cores": os.cpu_count()}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            info["cpu"] = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), "?")
    except OSError:
        info["cpu"] = platform.processor() or "?"
    for name in ("torch", "transformers", "zarr", "numpy", "sklearn", "dask"):
        try:
            info[name] = __import__(name).__version__
        except ImportError:
            info[name] = None
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
        info["cuda"] = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    except ImportError:
        pass
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [{k: p.get(k) for k in ("internal_api", "num_threads", "architecture")}
                        for p in threadpool_info()]
    except ImportError:
        pass
    return info


def best_of(repeats: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    """Smallest wall time of ``repeats`` calls, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def write_result(name: str, payload: dict[str, Any], out: Path | None = None) -> Path:
    """Write ``{name}.json`` (payload + machine info) into the results folder."""
    folder = Path(out) if out else RESULTS
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    partial = path.with_name(f".{path.name}.partial")  # a kill mid-write leaves the previous file whole
    partial.write_text(json.dumps({"benchmark": name, "machine": machine_info(), **payload}, indent=2, default=str))
    os.replace(partial, path)
    return path


def markdown_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """A Markdown table of ``rows`` restricted to ``columns``."""
    def fmt(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:,.3g}" if abs(value) < 100 else f"{value:,.0f}"
        return str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(row.get(c, "")) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


# --- set-up shared by the extraction, scaling and GPU benchmarks ---------------------------------------------
MODEL, SIDE = "me5-small", "encoder"


def parse_args(doc: str, add: Callable[[Any], None], argv: list[str] | None) -> Any:
    """The benchmark's arguments (``add`` adds its own; every script has ``--smoke`` and ``--out``), with
    logging set up."""
    import argparse
    import logging

    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, only to check the script runs")
    add(parser)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    return args


def me5_config(store: Path, verses: int, dtype: str = "float32", languages=("en",), device: str = "cpu") -> Any:
    """A config of me5-small (all layers) over the first ``verses`` Bible verses, into ``store``."""
    from engine.config import validate_config

    return validate_config({
        "models": [{"name": MODEL}],
        "corpus": {"source": "bible", "languages": list(languages), "count": verses},
        "extract": {"dtype": dtype, "device": device},
        "store": {"path": str(store)},
    })


def load_me5(device: str = "cpu") -> Any:
    """me5-small (prepared from its package once) loaded as the extraction loads it."""
    import torch

    from engine.extract.models import load_model
    from engine.material import prepare_material

    prepare_material(MODEL)
    return load_model(me5_config(Path("unused"), 1).models[0], torch.device(device))


def bible_sentences(lang: str, verses: int) -> list[list[str]]:
    """The word-tokenized first ``verses`` verses of ``lang``."""
    from engine.corpus import load_bible

    return load_bible([lang], count=verses).words(lang)


def extract_fresh(loaded: Any, config: Any, lang: str = "en") -> float:
    """Seconds for the extraction stage of ``lang`` (the model already loaded) into a fresh store: planning the
    rows, every shard, and marking the group complete."""
    from engine.corpus import load_corpus
    from engine.extract import extract_range, finish_group, group_specs, plan_group
    from engine.store import init_store

    root = init_store(config.store.path, load_corpus(config.corpus), overwrite=True)
    group = next(g for g in group_specs(config) if g.lang == lang)

    def keep(*_: Any) -> Any:
        return loaded

    start = time.perf_counter()
    plan = plan_group(root, group, keep, overwrite=True)
    _, words = extract_range(root, group, 0, plan.n_shards, keep)
    finish_group(root, group, words, time.perf_counter() - start)
    return time.perf_counter() - start


def layer_rows(store: str | Path, layer: int, lang: str = "en") -> Any:
    """The stored float16 vectors [n, d] of one layer of an extraction made by :func:`extract_fresh`."""
    from engine.store import layout, open_store

    return open_store(store)[layout.activations_path(MODEL, SIDE, lang)][layout.layer_name(layer)]
