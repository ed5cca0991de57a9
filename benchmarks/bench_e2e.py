"""End to end: ``babelscope run`` wall time per stage, and the reference pipeline's job side by side.

1. **default**: ``babelscope run configs/default.yaml`` into a fresh store and run folder (what ``make run``
   does once the model is prepared; ``--cold-home`` also times the model conversion into an empty
   ``BABELSCOPE_HOME``). Goal: cold <= 10 min.
2. **paper job**: en-de, the first 2,000 Bible verses (KJV, Elberfelder), layer 6, CALIGN with K=100 and
   K=400 at theta 0.5 and 0.9 (top-1 dictionary from eflomal grow-diag-final-and links), COLAP on the joint
   K=100 clustering at theta 0.3. babelscope runs it as one ``babelscope run`` (eflomal included), then
   again into a fresh store on the links exported from the first (the reference job takes its links as
   given: the like-for-like figure); the reference way is measured in the same run on the same machine:
   - extraction one sentence at a time, all 13 layers, JSON lines (``bench_extract._reference_way``), and
     reading layer 6 back from that JSON, timed on a sample of verses of each language and scaled to the
     job's word count;
   - scikit-learn ``KMeans(random_state=212)`` on the same selected rows, each space and K, timed whole;
   - CALIGN and COLAP by literal loops over those clusterings (``bench_metrics``), timed whole.
   Goal: >= 10x (the issue measured the released scripts at ~983 s here).

    python benchmarks/bench_e2e.py                 # both parts at full size
    python benchmarks/bench_e2e.py --skip-default  # the paper job only
    python benchmarks/bench_e2e.py --smoke         # tiny, only to keep the script working
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import markdown_table, write_result  # noqa: E402

log = logging.getLogger("bench_e2e")
LAYER, MODEL, SIDE = 6, "me5-small", "encoder"


def babelscope_run(config: Path, env: dict[str, str], overrides: list[str]) -> dict[str, Any]:
    """Wall seconds of ``babelscope run`` in a child process, and the run's per-stage task seconds."""
    command = [sys.executable, "-m", "engine.cli", "run", str(config), "--no-progress"]
    for item in overrides:
        command += ["--set", item]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(f"babelscope run failed ({done.returncode}):\n{done.stderr[-3000:]}")
    run_dir = next(Path(line.split(":", 1)[1].strip().rsplit(" (", 1)[0]) for line in done.stdout.splitlines()
                   if line.startswith("run folder:"))
    meta = json.loads((run_dir / "results.json").read_text())
    return {"wall_s": wall, "run_s": meta["seconds"], "stage_task_s": meta["stage_seconds"],
            "computed": meta["computed"], "run_dir": str(run_dir), "store": meta["store"]}


def bench_default(tmp: Path, smoke: bool, cold_home: bool) -> dict[str, Any]:
    env = dict(os.environ)
    prepare_s = None
    if cold_home:
        env["BABELSCOPE_HOME"] = str(tmp / "home")
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "engine.cli", "material", "prepare"], env=env, cwd=ROOT, check=True,
                       capture_output=True)
        prepare_s = time.perf_counter() - start
    overrides = [f"store.path={tmp / 'default.zarr'}", f"run.dir={tmp / 'default'}"]
    if smoke:
        overrides += ["corpus.count=12", "corpus.languages=[en, de]", "align.pairs=[[en, de]]",
                      "extract.layers=[0, 1]", "cluster.ks=[4]", "metrics.repeats=2"]
    result = babelscope_run(ROOT / "configs" / "default.yaml", env, overrides)
    result["prepare_s"] = prepare_s
    result["cold_s"] = result["wall_s"] + (prepare_s or 0.0)
    return result


def paper_config(tmp: Path, verses: int, ks: list[int], repeats: int, links: Path | None = None,
                 name: str = "paper", dtype: str = "auto") -> Path:
    data = {
        "models": [{"name": MODEL}],
        "corpus": {"source": "bible", "languages": ["en", "de"], "count": verses},
        "extract": {"layers": [LAYER], "sides": ["encoder"], "aggregation": "last", "dtype": dtype},
        "align": {"pairs": [["en", "de"]], "symmetrization": "grow-diag-final-and"},
        "cluster": {"ks": ks, "seed": 212},
        "metrics": {"calign": {"theta": 0.9, "top_n": 1, "min_types": 1}, "colap": {"theta": 0.3},
                    "repeats": repeats},
        "store": {"path": str(tmp / f"{name}.zarr")},
        "run": {"dir": str(tmp / name), "report": False},
    }
    if links is not None:
        data["align"]["links"] = {"en-de": str(links)}
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _spaces(ks: list[int]) -> list[tuple[str, list[str], int]]:
    """(selection, languages, K) of the reference job: CALIGN per language at every K, COLAP joint at K[0]."""
    return [*(("calign-en-de", [lang], k) for k in ks for lang in ("en", "de")), ("colap", ["en", "de"], ks[0])]


def reference_clustering(store: str, ks: list[int]) -> tuple[float, dict[tuple, np.ndarray], list[dict]]:
    """sklearn KMeans(random_state=212) on the same selected rows: seconds, labels by space, inertia rows."""
    from sklearn.cluster import KMeans

    from engine.cluster.store import read_clustering
    from engine.select.store import read_selection
    from engine.store import layout, open_store

    root = open_store(store)
    total, labels, rows = 0.0, {}, []
    for selection, langs, k in _spaces(ks):
        parts = [root[layout.activations_path(MODEL, SIDE, lang)][layout.layer_name(LAYER)].oindex[
            read_selection(root, selection, MODEL, SIDE, lang).rows, :] for lang in langs]
        x = np.concatenate(parts).astype(np.float32)
        start = time.perf_counter()
        fitted = KMeans(n_clusters=k, random_state=212).fit(x)
        seconds = time.perf_counter() - start
        total += seconds
        labels[(selection, tuple(langs), k)] = fitted.labels_
        ours = read_clustering(root, model=MODEL, side=SIDE, layer=LAYER, space=layout.cluster_space(langs, selection),
                               k=k)
        rows.append({"space": layout.cluster_space(langs, selection), "k": k, "n": len(x), "sklearn_s": seconds,
                     "sklearn_iter": int(fitted.n_iter_), "inertia_ours_vs_sklearn": ours.attrs["inertia"] /
                     float(fitted.inertia_)})
    return total, labels, rows


def reference_metrics(store: str, labels: dict[tuple, np.ndarray], ks: list[int]) -> float:
    """Seconds for CALIGN (theta 0.5 and 0.9, both K) and COLAP (theta 0.3) by literal loops."""
    from benchmarks.bench_metrics import literal_calign_rows, literal_colap
    from engine.dictionary.store import read_store_dictionary
    from engine.select.store import read_selection
    from engine.store import layout, open_store, read_strings

    root = open_store(store)
    vocab = {lang: read_strings(root, layout.vocab_path(lang)) for lang in ("en", "de")}
    dictionary = read_store_dictionary(root, "en", "de")
    top: dict[str, list[str]] = {}
    for src, tgt, rank in zip(dictionary.src, dictionary.tgt, dictionary.rank, strict=True):
        if rank < 1:
            top.setdefault(src, []).append(tgt)
    start = time.perf_counter()
    for k in ks:
        sets = {}
        for lang in ("en", "de"):
            chosen = read_selection(root, "calign-en-de", MODEL, SIDE, lang)
            groups: list[set[str]] = [set() for _ in range(k)]
            for label, type_id in zip(labels[("calign-en-de", (lang,), k)], chosen.type_id, strict=True):
                groups[int(label)].add(vocab[lang][int(type_id)])
            sets[lang] = groups
        for theta in (0.5, 0.9):
            literal_calign_rows(range(k), sets["en"], sets["de"], top, theta, 1, 0.0)
    joint = labels[("colap", ("en", "de"), ks[0])]
    sizes = [len(read_selection(root, "colap", MODEL, SIDE, lang)) for lang in ("en", "de")]
    literal_colap(joint.tolist(), np.repeat([0, 1], sizes).tolist(), 2, 0.3)
    return time.perf_counter() - start


def reference_extraction(verses: int, sample: int) -> dict[str, float]:
    """The reference extraction's words/s on ``sample`` verses of each language, scaled to ``verses``."""

    from benchmarks.bench_extract import _reference_way
    from benchmarks.common import load_me5
    from engine.corpus import load_bible

    loaded = load_me5()
    corpus = load_bible(["en", "de"], count=verses)
    job_words = sum(len(words) for lang in ("en", "de") for words in corpus.words(lang))
    sample_words, seconds, read_seconds = 0, 0.0, 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for lang in ("en", "de"):
            part = corpus.words(lang)[:sample]
            sample_words += sum(map(len, part))
            seconds += _reference_way(loaded, part, Path(tmp) / f"{lang}.jsonl")
            read_seconds += _read_back(Path(tmp) / f"{lang}.jsonl")
    rate, read_rate = sample_words / seconds, sample_words / read_seconds
    return {"job_words": job_words, "sample_words": sample_words, "words_s": rate, "read_words_s": read_rate,
            "estimated_s": job_words / rate + job_words / read_rate}


def _read_back(path: Path) -> float:
    """Seconds to load the layer-6 vectors back from the reference JSON lines (what its clustering reads)."""
    start = time.perf_counter()
    vectors = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            for feature in json.loads(line)["features"]:
                vectors.append(feature["layers"][LAYER]["values"])
    np.asarray(vectors, dtype=np.float32)
    return time.perf_counter() - start


def bench_paper(tmp: Path, verses: int, ks: list[int], sample: int, repeats: int, dtype: str) -> dict[str, Any]:
    config = paper_config(tmp, verses, ks, repeats, dtype=dtype)
    ours = babelscope_run(config, dict(os.environ), [])
    # the reference job takes the word links as given: the same job again on the exported links, fresh store
    subprocess.run([sys.executable, "-m", "engine.cli", "align", str(config), "--export", str(tmp / "links")],
                   cwd=ROOT, check=True, capture_output=True)
    given = babelscope_run(paper_config(tmp, verses, ks, repeats, tmp / "links" / "en-de.links", "given", dtype),
                           dict(os.environ), [])
    extraction = reference_extraction(verses, sample)
    cluster_s, labels, inertia_rows = reference_clustering(ours["store"], ks)
    metrics_s = reference_metrics(ours["store"], labels, ks)
    reference_s = extraction["estimated_s"] + cluster_s + metrics_s
    return {"babelscope": ours, "babelscope_links_given": given,
            "reference": {"extraction": extraction, "clustering_s": cluster_s, "metrics_s": metrics_s,
                          "total_s": reference_s},
            "speedup": reference_s / ours["wall_s"], "speedup_links_given": reference_s / given["wall_s"],
            "clusterings": inertia_rows}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, only to check the script runs")
    parser.add_argument("--verses", type=int, default=2000)
    parser.add_argument("--ks", type=int, nargs="+", default=[100, 400])
    parser.add_argument("--reference-sample", type=int, default=40, help="verses per language run the reference way")
    parser.add_argument("--repeats", type=int, default=20, help="permutations of the run's baselines")
    parser.add_argument("--skip-default", action="store_true")
    parser.add_argument("--dtype", default="auto", help="extract.dtype of the paper job (auto = float32 on CPU)")
    parser.add_argument("--cold-home", action="store_true", help="also time the model conversion (empty home)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    if args.smoke:
        args.verses, args.ks, args.reference_sample, args.repeats = 30, [4, 8], 3, 2

    from engine.material import prepare_material

    prepare_material(MODEL)
    payload: dict[str, Any] = {"smoke": args.smoke, "goals": {"default_cold_s": "<= 600", "paper_speedup": ">= 10"}}
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        if not args.skip_default:
            payload["default"] = bench_default(tmp, args.smoke, args.cold_home)
        payload["paper"] = bench_paper(tmp, args.verses, args.ks, args.reference_sample, args.repeats, args.dtype)
        payload["paper"]["dtype"] = args.dtype
    path = write_result("e2e", payload, args.out)
    if "default" in payload:
        d = payload["default"]
        row = {"run": "default", "wall_s": d["wall_s"], "prepare_s": d["prepare_s"] or "(cached)",
               **{f"{k}_task_s": v for k, v in d["stage_task_s"].items()}}
        print(markdown_table([row], list(row)))
        print()
    p = payload["paper"]
    ref = p["reference"]
    columns = ["verses", "babelscope_s", "babelscope_links_given_s", "reference_extraction_s",
               "reference_clustering_s", "reference_metrics_s", "reference_total_s", "speedup",
               "speedup_links_given"]
    print(markdown_table([{"verses": args.verses, "babelscope_s": p["babelscope"]["wall_s"],
                           "babelscope_links_given_s": p["babelscope_links_given"]["wall_s"],
                           "reference_extraction_s": ref["extraction"]["estimated_s"],
                           "reference_clustering_s": ref["clustering_s"], "reference_metrics_s": ref["metrics_s"],
                           "reference_total_s": ref["total_s"], "speedup": p["speedup"],
                           "speedup_links_given": p["speedup_links_given"]}], columns))
    print()
    print(markdown_table(p["clusterings"], ["space", "k", "n", "sklearn_s", "sklearn_iter",
                                            "inertia_ours_vs_sklearn"]))
    print(f"results: {path}")
    return payload


if __name__ == "__main__":
    main()
