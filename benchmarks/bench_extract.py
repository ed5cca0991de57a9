"""Extraction throughput and memory: babelscope vs a bare forward pass vs the reference way.

Same model (me5-small, all 13 layers), same sentences, same machine, one run:
- ceiling: the same length-bucketed batches through the model as babelscope loads it (float32 Linear layers
  on oneDNN where usable, see engine/gemm.py), all hidden states kept, nothing stored;
- stock forward: the same batches through stock torch (Linear layers on torch's BLAS), for the kernel's share;
- babelscope: the extraction stage into a fresh Zarr store (tokenisation, gathering, fp16, writing);
- reference way: one sentence at a time, per-word re-tokenisation, all layers, JSON lines with 8-decimal
  floats (a literal re-implementation of the released extraction's approach, on stock torch), timed on a
  subset.
Memory: peak RSS of the extraction stage in a child process at 1x and 4x the corpus.
Decoder-only: gemma-3-270m (all 19 hidden states, float32) against its own bare forward pass, when its extra
is installed.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (  # noqa: E402
    best_of,
    bible_sentences,
    extract_fresh,
    load_me5,
    markdown_table,
    me5_config,
    parse_args,
    write_result,
)

log = logging.getLogger("bench_extract")


def _bare_forward(loaded, config, sentences, dtype) -> float:
    """Seconds for the same batches through the model, keeping every hidden state, storing nothing."""
    import torch

    from engine.extract.forward import pad_batch
    from engine.extract.memory import batch_tokens_for
    from engine.extract.plan import make_batches, plan_sentences

    plans = plan_sentences(loaded.tokenizer, sentences, 0, loaded.max_tokens, "window")
    budget = batch_tokens_for(config.extract.batch_tokens, loaded, list(range(13)), torch.device("cpu"), 4)
    batches = make_batches([s for p in plans for s in p.segments], budget, config.extract.max_batch_size)
    pad = loaded.tokenizer.pad_token_id
    start = time.perf_counter()
    with torch.inference_mode(), torch.autocast("cpu", dtype=dtype, enabled=dtype != torch.float32):
        for batch in batches:
            ids, mask = pad_batch([s.input_ids for s in batch], pad, torch.device("cpu"))
            loaded.model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
    return time.perf_counter() - start


def _reference_way(loaded, sentences, out_file: Path) -> float:
    """Seconds for the one-sentence-at-a-time JSON extraction of ``sentences``, on stock torch's BLAS."""
    import torch

    from engine.gemm import use_cpu_gemm

    tokenizer, model = loaded.tokenizer, loaded.model
    start = time.perf_counter()
    with open(out_file, "w", encoding="utf-8") as fh, torch.no_grad(), use_cpu_gemm("blas"):
        for index, words in enumerate(sentences):
            counts = [len(tokenizer.tokenize(word)) for word in words]  # per-word re-tokenisation
            ids = tokenizer(" ".join(words), return_tensors="pt")
            states = model(**ids, output_hidden_states=True).hidden_states
            stacked = torch.stack(states)[:, 0].numpy()  # [layers, tokens, hidden]
            ends = np.cumsum(counts)  # last subword of each word, after the <s> token
            features = []
            for word, end in zip(words, ends, strict=True):
                position = min(int(end), stacked.shape[1] - 2)
                features.append({"token": word, "layers": [
                    {"index": layer, "values": [round(float(x), 8) for x in stacked[layer, position]]}
                    for layer in range(stacked.shape[0])]})
            fh.write(json.dumps({"linex_index": index, "features": features}) + "\n")
    return time.perf_counter() - start


def _child_peak_rss(verses: int) -> float:
    """Peak RSS (MiB) of a child process that runs the extraction of ``verses`` English verses."""
    with tempfile.TemporaryDirectory() as tmp:
        root, store = str(Path(__file__).resolve().parent.parent), str(Path(tmp) / "m.zarr")
        code = (
            f"import sys; sys.path.insert(0, {root!r})\n"
            "from benchmarks.common import me5_config\n"
            "from engine.extract import run_extraction\n"
            f"run_extraction(me5_config({store!r}, {verses}), progress=False)\n"
            "import resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        return int(out.stdout.strip().splitlines()[-1]) / 1024


def _decoder_row(name: str, verses: int, repeats: int, folder: Path) -> dict | None:
    """The same measurement on a decoder-only material model (float32, all its layers): babelscope's words/s and
    its ratio to the bare forward pass; None when its extra is not installed."""
    import torch

    from engine.config import validate_config
    from engine.extract.models import load_model
    from engine.material import missing_package

    if missing_package(name):
        log.info("%s row skipped: %s", name, missing_package(name))
        return None
    config = validate_config({"models": [{"name": name}], "corpus": {"source": "bible", "languages": ["en"],
                                                                     "count": verses},
                              "extract": {"dtype": "float32", "device": "cpu"}, "store": {"path": str(folder)}})
    loaded = load_model(config.models[0], torch.device("cpu"))
    sentences = bible_sentences("en", verses)
    words = sum(map(len, sentences))
    t_bare = t_ours = float("inf")
    for _ in range(repeats):
        t_bare = min(t_bare, _bare_forward(loaded, config, sentences, torch.float32))
        t_ours = min(t_ours, extract_fresh(loaded, config))
    return {"dtype": "float32", "model": name, "words": words, "bare_words_s": words / t_bare,
            "babelscope_words_s": words / t_ours, "ratio_to_ceiling": t_bare / t_ours}


def _arguments(parser) -> None:
    parser.add_argument("--verses", type=int, default=400)
    parser.add_argument("--reference-verses", type=int, default=40)
    parser.add_argument("--bf16-verses", type=int, default=60, help="bfloat16 is slow on CPUs without bf16 units")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--gemma-verses", type=int, default=100, help="verses of the gemma-3-270m row (its "
                        "extra installed), 0: none")


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(__doc__, _arguments, argv)
    if args.smoke:
        args.verses, args.reference_verses, args.bf16_verses, args.repeats = 12, 3, 4, 1
        args.gemma_verses = min(args.gemma_verses, 3)

    import torch

    from engine.gemm import use_cpu_gemm

    loaded = load_me5()
    sentences = bible_sentences("en", args.verses)
    ref_sentences = sentences[: args.reference_verses]
    ref_words = sum(map(len, ref_sentences))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for dtype_name, dtype, verses in (("float32", torch.float32, args.verses),
                                          ("bfloat16", torch.bfloat16, min(args.bf16_verses, args.verses))):
            config = me5_config(Path(tmp) / f"{dtype_name}.zarr", verses, dtype_name)
            part = sentences[:verses]
            words = sum(map(len, part))
            t_bare = t_stock = t_ours = float("inf")
            for _ in range(args.repeats):  # interleaved, so all see the same machine load
                t_bare = min(t_bare, _bare_forward(loaded, config, part, dtype))
                with use_cpu_gemm("blas"):
                    t_stock = min(t_stock, _bare_forward(loaded, config, part, dtype))
                t_ours = min(t_ours, extract_fresh(loaded, config))
            rows.append({"dtype": dtype_name, "words": words, "stock_forward_words_s": words / t_stock,
                         "bare_words_s": words / t_bare, "babelscope_words_s": words / t_ours,
                         "ratio_to_ceiling": t_bare / t_ours, "ratio_to_stock_forward": t_stock / t_ours})
        t_ref, _ = best_of(1, lambda: _reference_way(loaded, ref_sentences, Path(tmp) / "ref.jsonl"))
        gemma = _decoder_row("gemma-3-270m", args.gemma_verses, args.repeats, Path(tmp) / "gemma.zarr") \
            if args.gemma_verses else None
    reference_rate = ref_words / t_ref
    for row in rows:
        row["reference_words_s"] = reference_rate
        row["speedup_over_reference"] = row["babelscope_words_s"] / reference_rate
    small = max(2, args.verses // 4)
    rss = {"verses_1x": small, "verses_4x": 4 * small, "peak_rss_mib_1x": _child_peak_rss(small),
           "peak_rss_mib_4x": _child_peak_rss(4 * small)}
    rss["growth"] = rss["peak_rss_mib_4x"] / rss["peak_rss_mib_1x"]
    payload = {"smoke": args.smoke, "layers": 13, "model": "me5-small", "rows": rows, "memory": rss,
               "decoder_only": [gemma] if gemma else [],
               "goals": {"ratio_to_ceiling": ">= 0.85", "speedup_fp32": ">= 7.5", "speedup_bf16": ">= 12",
                         "rss_growth": "<= 1.1"}}
    path = write_result("extract", payload, args.out)
    print(markdown_table(rows, ["dtype", "words", "stock_forward_words_s", "bare_words_s", "babelscope_words_s",
                                "ratio_to_ceiling", "ratio_to_stock_forward", "reference_words_s",
                                "speedup_over_reference"]))
    print(markdown_table([rss], list(rss)))
    if gemma:
        print(markdown_table([gemma], list(gemma)))
    print(f"results: {path}")
    return payload


if __name__ == "__main__":
    main()
