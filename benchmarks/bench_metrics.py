"""CALIGN and COLAP: babelscope's kernels vs literal nested loops written from the definition, same data.

CALIGN: K = 1000 source x 1000 target clusters over 50k word types per language, a top-5 dictionary.
  - kernels: ``M = A_s · [D · A_tᵀ > 0]`` (sparse) plus the best admissible target per source cluster, from
    the membership matrices (as the literal loop starts from built Python sets), and from the arrays;
  - calign(): the public function for one direction (validation, membership, thresholds, coverage);
  - null: calign() with 20 shuffled-dictionary repetitions;
  - literal: for S, for T, for w in S, for t in top5(w): t in T — timed on the first source clusters and
    extrapolated to all K when the full loop would take over 60 s (the table says so). Results on the timed
    rows are compared exactly (match counts, best targets, aligned flags).
COLAP: a joint clustering of 300k tokens (two languages) into K = 1000 clusters: one bincount vs a
literal per-cluster count, and the 20-repetition permuted-language null.

    python benchmarks/bench_metrics.py            # full size
    python benchmarks/bench_metrics.py --smoke    # tiny, only to keep the script working
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import best_of, markdown_table, write_result  # noqa: E402

log = logging.getLogger("bench_metrics")

LOOP_BUDGET_S = 60.0  # run the literal loop in full only when it should finish within this


def make_calign_data(k: int, n_types: int, top_n: int, seed: int):
    """Source/target type clusterings (20 % of types in a second cluster) and a top-N dictionary whose first
    translation keeps the concept 70 % of the time."""
    rng = np.random.default_rng(seed)
    concept = rng.integers(0, k, n_types)
    extra = rng.random(n_types) < 0.2

    def clustering(main):
        labels = np.concatenate([main, rng.integers(0, k, int(extra.sum()))])
        types = np.concatenate([np.arange(n_types), np.flatnonzero(extra)])
        return labels, types

    tgt_concept = np.where(rng.random(n_types) < 0.7, concept, rng.integers(0, k, n_types))
    src = clustering(concept)
    tgt = clustering(tgt_concept)
    dict_src = np.repeat(np.arange(n_types), top_n)
    dict_tgt = rng.integers(0, n_types, (n_types, top_n))
    dict_tgt[:, 0] = np.arange(n_types)
    return src, tgt, (dict_src, dict_tgt.ravel())


def literal_calign_rows(rows, src_sets, tgt_sets, top, theta, min_types, size_ratio):
    """The definition, loop by loop, for the given source clusters: (M rows, best target, aligned)."""
    counts = np.zeros((len(rows), len(tgt_sets)), dtype=np.int64)
    best, aligned = [], []
    for r, i in enumerate(rows):
        source = src_sets[i]
        for j, target in enumerate(tgt_sets):
            m = 0
            for word in source:
                for translation in top.get(word, ()):
                    if translation in target:
                        m += 1
                        break
            counts[r, j] = m
        is_aligned, best_j, best_m = False, -1, 0
        for j, target in enumerate(tgt_sets):
            m = counts[r, j]
            admissible = len(target) > 0 and len(source) / len(target) > size_ratio
            if admissible and m > best_m:
                best_j, best_m = j, m
            if source and m / len(source) > theta and len(source) > min_types and admissible:
                is_aligned = True
        best.append(best_j)
        aligned.append(is_aligned)
    return counts, np.array(best), np.array(aligned)


def bench_calign(k: int, n_types: int, top_n: int, repeats: int, seed: int, device: str) -> list[dict]:
    from engine.metrics import TypeClusters, calign
    from kernels import calign as kc

    theta, min_types, size_ratio = 0.5, 1, 0.0
    (s_lab, s_typ), (t_lab, t_typ), pairs = make_calign_data(k, n_types, top_n, seed)
    src = TypeClusters.from_tokens(s_lab, s_typ, k, n_types)
    tgt = TypeClusters.from_tokens(t_lab, t_typ, k, n_types)

    def build():
        return (kc.membership(src.labels, src.types, k, n_types), kc.membership(pairs[0], pairs[1], n_types, n_types),
                kc.membership(tgt.labels, tgt.types, k, n_types))

    def kernel(a_s, d, a_t):
        m = kc.match_counts(a_s, d, a_t)
        return m, kc.best_matches(m, kc.row_counts(a_s), kc.row_counts(a_t), size_ratio)

    build_s, matrices = best_of(5, build)
    kernel_s, (matches, (best_t, _)) = best_of(5, lambda: kernel(*matrices))
    arrays_s, _ = best_of(5, lambda: kernel(*build()))
    run = lambda r: calign(src, tgt, pairs, theta=theta, min_types=min_types, size_ratio=size_ratio,  # noqa: E731
                           both_directions=False, repeats=r, seed=seed, device=device)
    calign_s, result = best_of(3, lambda: run(0))
    null_s, null_result = best_of(1, lambda: run(repeats))

    src_sets = [set() for _ in range(k)]
    for label, word in zip(src.labels.tolist(), src.types.tolist(), strict=True):
        src_sets[label].add(word)
    tgt_sets = [set() for _ in range(k)]
    for label, word in zip(tgt.labels.tolist(), tgt.types.tolist(), strict=True):
        tgt_sets[label].add(word)
    top: dict[int, list[int]] = {}
    for s, t in zip(pairs[0].tolist(), pairs[1].tolist(), strict=True):
        top.setdefault(s, []).append(t)
    probe = max(1, min(k, 2))
    start = time.perf_counter()
    literal_calign_rows(range(probe), src_sets, tgt_sets, top, theta, min_types, size_ratio)
    per_row = (time.perf_counter() - start) / probe
    n_rows = k if per_row * k <= LOOP_BUDGET_S else max(probe, min(k, int(15.0 / per_row)))
    start = time.perf_counter()
    counts, lit_best, lit_aligned = literal_calign_rows(range(n_rows), src_sets, tgt_sets, top, theta, min_types,
                                                        size_ratio)
    loop_s = time.perf_counter() - start
    loop_full_s = loop_s * k / n_rows
    identical = bool(np.array_equal(matches[:n_rows].toarray().astype(np.int64), counts)
                     and np.array_equal(best_t[:n_rows], lit_best)
                     and np.array_equal(result.forward.aligned[:n_rows], lit_aligned))
    extrapolated = n_rows < k
    note = f"loop timed on {n_rows}/{k} source clusters, extrapolated" if extrapolated else "loop run in full"
    log.info("CALIGN: %s; identical on those rows: %s", note, identical)
    size = f"K={k}x{k}, V={n_types:,}, top-{top_n}"
    common = {"metric": "CALIGN", "size": size, "literal_s": loop_full_s, "literal_extrapolated": extrapolated,
              "literal_rows_timed": n_rows, "identical": identical}
    return [
        {**common, "what": "kernels: M + best target, from membership matrices", "babelscope_s": kernel_s,
         "speedup": loop_full_s / kernel_s},
        {**common, "what": "kernels: membership + M + best target, from arrays", "babelscope_s": arrays_s,
         "speedup": loop_full_s / arrays_s, "membership_s": build_s},
        {**common, "what": "calign() one direction", "babelscope_s": calign_s, "speedup": loop_full_s / calign_s,
         "value": result.forward.value},
        {**common, "what": f"calign() + null R={repeats}", "babelscope_s": null_s,
         "null_mean": null_result.forward.null.mean, "p_value": null_result.forward.null.p_value},
    ]


def literal_colap(labels, langs, n_langs, theta):
    """Group tokens by cluster, count each language, test every share: (counts [K, L], overlapping set)."""
    members: dict[int, list[int]] = {}
    for label, lang in zip(labels, langs, strict=True):
        members.setdefault(label, []).append(lang)
    overlapping = set()
    for label, tokens in members.items():
        if all(tokens.count(lang) / len(tokens) > theta for lang in range(n_langs)):
            overlapping.add(label)
    return members, overlapping


def bench_colap(k: int, n_tokens: int, repeats: int, seed: int, device: str) -> list[dict]:
    from engine.metrics import colap
    from kernels.colap import label_language_counts

    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, n_tokens)
    langs = (rng.random(n_tokens) < 0.15 + 0.7 * (labels % 3 == 0)).astype(np.int64)  # a third of them mixed
    kernel_s, counts = best_of(5, lambda: label_language_counts(labels, langs, k, 2))
    colap_s, result = best_of(3, lambda: colap(labels, langs, languages=["a", "b"], theta=0.3, repeats=0,
                                               device=device))
    null_s, null_result = best_of(1, lambda: colap(labels, langs, languages=["a", "b"], theta=0.3,
                                                   repeats=repeats, seed=seed, device=device))
    label_list, lang_list = labels.tolist(), langs.tolist()
    start = time.perf_counter()
    members, overlapping = literal_colap(label_list, lang_list, 2, 0.3)
    loop_s = time.perf_counter() - start
    literal_counts = np.zeros((k, 2), dtype=np.int64)
    for label, tokens in members.items():
        literal_counts[label] = [tokens.count(0), tokens.count(1)]
    identical = bool(np.array_equal(counts, literal_counts)
                     and set(np.flatnonzero(result.overlapping).tolist()) == overlapping)
    size = f"K={k}, {n_tokens:,} tokens, 2 languages"
    common = {"metric": "COLAP", "size": size, "literal_s": loop_s, "literal_extrapolated": False,
              "identical": identical}
    return [
        {**common, "what": "kernel (one bincount)", "babelscope_s": kernel_s, "speedup": loop_s / kernel_s},
        {**common, "what": "colap()", "babelscope_s": colap_s, "speedup": loop_s / colap_s, "value": result.value},
        {**common, "what": f"colap() + null R={repeats} (ceiling)", "babelscope_s": null_s,
         "null_mean": null_result.null.mean},
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, only to keep the script working")
    parser.add_argument("--out", type=Path, default=None, help="folder for metrics.json (default results/)")
    parser.add_argument("--clusters", type=int, default=1000)
    parser.add_argument("--types", type=int, default=50_000)
    parser.add_argument("--top-n", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=300_000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="cpu | cuda[:i] | auto for calign()/colap() rows")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S")
    if args.smoke:
        args.clusters, args.types, args.tokens, args.repeats = 20, 500, 3_000, 3
    rows = bench_calign(args.clusters, args.types, args.top_n, args.repeats, args.seed, args.device)
    rows += bench_colap(args.clusters, args.tokens, args.repeats, args.seed, args.device)
    for row in rows:
        row["literal"] = f"{row['literal_s']:.3g} s" + (" (extrapolated)" if row["literal_extrapolated"] else "")
    print(markdown_table(rows, ["metric", "size", "what", "babelscope_s", "literal", "speedup", "identical"]))
    notes = sorted({f"{r['metric']}: literal loop timed on {r['literal_rows_timed']} of {args.clusters} source "
                    f"clusters and extrapolated linearly" for r in rows if r["literal_extrapolated"]})
    for note in notes:
        print(f"\n{note}")
    path = write_result("metrics", {"smoke": args.smoke, "args": vars(args) | {"out": str(args.out)},
                                    "rows": rows, "notes": notes}, args.out)
    log.info("wrote %s", path)
    return 0 if all(r["identical"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
