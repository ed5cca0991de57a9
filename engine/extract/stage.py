"""The extraction stage: corpus → model → one float16 vector per word per layer in the store.

Work is cut into shards of ``store.shard_rows`` rows. A shard is computed from the sentences that overlap
it (a sentence straddling two shards is run twice, once for each), written whole, then flagged in
``shard_done``; a re-run skips flagged shards, so an interrupted extraction resumes and ends with the
same arrays. The group's ``complete`` attr is set last.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from engine import __version__
from engine.config import Config, ExtractSpec, ModelSpec, StoreSpec, content_hash
from engine.errors import ConfigError, StoreError
from engine.extract.forward import aggregate, gather_indices, hidden_states
from engine.extract.memory import batch_tokens_for
from engine.extract.models import LoadedModel
from engine.extract.plan import LanguagePlan, make_batches, plan_language, plan_sentences
from engine.extract.words import word_mode
from engine.extract.writer import ShardWriter
from engine.store import layout
from engine.store.artefacts import MISSING, WORDS, is_complete, read_words
from engine.store.core import build_vocab, checked, write_array_1d

log = logging.getLogger(__name__)


@dataclass
class ExtractionSummary:
    """What one model × side × language extraction did."""

    model: str
    side: str
    lang: str
    n_rows: int
    layers: list[int]
    shards_computed: int
    shards_total: int
    seconds: float
    stats: dict[str, int]

    @property
    def words_per_second(self) -> float:
        return self.stats.get("computed_words", 0) / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class GroupSpec:
    """One model × side × language to extract, with the config sections its vectors depend on."""

    model: ModelSpec
    side: str
    lang: str
    extract: ExtractSpec
    store: StoreSpec
    languages: tuple[str, ...]  # the corpus languages (a decoder's source language is one of them)

    @property
    def names(self) -> tuple[str, str, str]:
        """Its (activations, words, missing) groups in the store."""
        return layout.extraction_paths(self.model.key, self.side, self.lang)

    @property
    def source_lang(self) -> str | None:
        """The language fed to the encoder when this is a decoder side (None for an encoder)."""
        return decoder_source(self.extract, self.languages, self.lang) if self.side == "decoder" else None


def group_specs(config: Config) -> list[GroupSpec]:
    """Every model × side × language a config extracts, in the order a run plans them."""
    languages = tuple(config.corpus.languages)
    return [GroupSpec(model, side, lang, config.extract, config.store, languages)
            for model in config.models for side in config.extract.sides for lang in languages]


def requested_layers(spec: ExtractSpec, n_layers: int, owner: str) -> list[int]:
    """The layer list of ``spec`` checked against a model with ``n_layers`` transformer layers."""
    if spec.layers == "all":
        return list(range(n_layers + 1))
    bad = [layer for layer in spec.layers if layer > n_layers]
    if bad:
        raise ConfigError(f"layers {bad} of extract exceed the {n_layers} layers of {owner} (valid: 0..{n_layers})")
    return list(spec.layers)


def decoder_source(spec: ExtractSpec, languages: tuple[str, ...] | list[str], lang: str) -> str:
    """The language fed to the encoder when extracting decoder states of ``lang`` (of corpus ``languages``)."""
    mapping = spec.decoder_sources
    if lang in mapping:
        return mapping[lang]
    others = [other for other in languages if other != lang]
    if len(others) == 1:
        return others[0]
    raise ConfigError(
        f"decoder side of language {lang!r} needs a source language: set extract.decoder_sources.{lang} "
        f"to one of {others}"
    )


def _compressors(store: StoreSpec) -> Any:
    if store.compressor == "none":
        return None
    from zarr.codecs import BloscCodec, ZstdCodec

    return ZstdCodec(level=1) if store.compressor == "zstd" else BloscCodec(cname="lz4", clevel=1, shuffle="shuffle")


def _extract_hash(loaded: LoadedModel, group: GroupSpec, layers: list[int], compute_dtype: torch.dtype,
                  corpus_hash: str) -> str:
    """What makes a group's vectors what they are (model, layers, extraction, dtype, corpus, chunking), hashed:
    from the model's config alone, no tokenizer."""
    store = group.store
    return content_hash({
        "model": loaded.spec.identity(),
        "model_source": loaded.base_attrs.get("model_source"),
        "fingerprint": loaded.base_attrs.get("fingerprint"),
        "side": group.side,
        "lang": group.lang,
        "source_lang": group.source_lang,
        "layers": layers,
        "extract": group.extract.semantic(),
        "compute_dtype": _dtype_name(compute_dtype),
        "corpus_hash": corpus_hash,
        "store": {"chunk_rows": store.chunk_rows, "shard_rows": store.shard_rows, "compressor": store.compressor},
    })


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _group_attrs(loaded: LoadedModel, group: GroupSpec, layers: list[int], compute_dtype: torch.dtype,
                 corpus_hash: str, extract_hash: str) -> dict[str, Any]:
    side = group.side
    return {
        **loaded.attrs,
        "side": side,
        "lang": group.lang,
        "source_lang": group.source_lang,
        "layers": layers,
        "hidden_size": loaded.hidden_size,
        "aggregation": group.extract.aggregation,
        "word_mapping": word_mode(loaded.tokenizer),  # engine.extract.words: word_ids() or text offsets
        "long_sentences": group.extract.long_sentences,
        "compute_dtype": _dtype_name(compute_dtype),
        "storage_dtype": "float16",
        "corpus_hash": corpus_hash,
        "engine_version": __version__,
        "decoder_teacher_forcing": "labels shifted right" if side == "decoder" else None,
        "extract_hash": extract_hash,
        "complete": False,
    }


def _prepare_group(root: Any, name: str, extract_hash: str, overwrite: bool) -> bool:
    """Return True if the group is already complete (nothing to do). Refuses an incompatible group."""
    if name in root:
        held = root[name].attrs.get("extract_hash")
        if overwrite:
            for prefix in layout.EXTRACTION_SECTIONS:
                path = layout.extraction_group(prefix, layout.extraction_of(name))
                if path in root:
                    del root[path]
        elif held != extract_hash:
            raise StoreError(
                f"{name!r} in the store was written by an incompatible config (extract_hash {held} != "
                f"{extract_hash}: model, layers, aggregation, dtype or chunking differ); "
                f"use --overwrite or another store path"
            )
        elif root[name].attrs.get("complete"):
            return True
    return False


def _create_arrays(root: Any, names: tuple[str, str, str], plan: LanguagePlan, layers: list[int], hidden: int,
                   store: StoreSpec, attrs: dict[str, Any]) -> tuple[dict[int, Any], Any]:
    act_name, words_name, missing_name = names
    n_rows = plan.n_rows
    n_shards = max(1, -(-n_rows // store.shard_rows))
    group = root.require_group(act_name)
    if layout.SHARD_DONE not in group:
        group.attrs.update({**attrs, "plan_stats": plan.stats})
        for table, name, values in ((WORDS, words_name, (plan.type_id, plan.sentence, plan.position)),
                                    (MISSING, missing_name, (plan.missing_sentence, plan.missing_position))):
            meta = root.require_group(name)
            for (key, dtype), column in zip(table.arrays.items(), values, strict=True):
                write_array_1d(meta, key, column, dtype)
        chunk_rows = min(store.chunk_rows, max(1, n_rows))
        shard_rows = -(-min(store.shard_rows, max(1, n_rows)) // chunk_rows) * chunk_rows
        for layer in layers:
            group.create_array(layout.layer_name(layer), shape=(n_rows, hidden), dtype="float16",
                               chunks=(chunk_rows, hidden), shards=(shard_rows, hidden),
                               compressors=checked(_compressors(store)), fill_value=np.float16("nan"),
                               overwrite=True)
        done = group.create_array(layout.SHARD_DONE, shape=(n_shards,), dtype="uint8", chunks=(1,), fill_value=0,
                                  overwrite=True)
        done.attrs["shard_rows"] = store.shard_rows
    elif (held := int(root[words_name]["type_id"].shape[0])) != n_rows:
        raise StoreError(f"{act_name!r} holds {held} rows but this corpus plans {n_rows}; use --overwrite")
    arrays = {layer: group[layout.layer_name(layer)] for layer in layers}
    return arrays, group[layout.SHARD_DONE]


@dataclass
class ExtractionJob:
    """An extraction whose arrays exist in the store: what shard workers and the finishing step need."""

    names: tuple[str, str, str]  # activations, words, missing group names
    side: str
    lang: str
    layers: list[int]
    plan: LanguagePlan
    arrays: dict[int, Any]
    done: Any  # zarr uint8 [n_shards]

    @property
    def n_shards(self) -> int:
        return int(self.done.shape[0])

    def rows_in(self, shards: list[int], shard_rows: int) -> int:
        """Rows (words) the store shards ``shards`` hold (the last shard may be short)."""
        return sum(min(self.plan.n_rows, (s + 1) * shard_rows) - s * shard_rows for s in shards)


def _stored_plan(root: Any, group: GroupSpec, n_sentences: int) -> LanguagePlan | None:
    """The row plan of a group whose arrays already exist, read back from its word arrays (no re-tokenising)."""
    act_name, words_name, missing_name = group.names
    if act_name not in root or layout.SHARD_DONE not in root[act_name] or words_name not in root:
        return None
    stats = root[act_name].attrs.get("plan_stats")
    if stats is None or missing_name not in root:
        return None
    key, side, lang = group.model.key, group.side, group.lang
    words = read_words(root, key, side, lang, resuming=True)
    missing = read_words(root, key, side, lang, table=MISSING, resuming=True)
    sentence = words["sentence"].astype(np.int32)
    row_start = np.searchsorted(sentence, np.arange(n_sentences + 1), side="left").astype(np.int64)
    return LanguagePlan(row_start, words["type_id"].astype(np.int32), sentence, words["position"].astype(np.int32),
                        missing["sentence"].astype(np.int32), missing["position"].astype(np.int32), dict(stats))


def begin_extraction(root: Any, loaded: LoadedModel, group: GroupSpec,
                     texts: Callable[[], tuple[list[list[str]], list[list[str]] | None]], corpus_hash: str,
                     compute_dtype: torch.dtype, *, overwrite: bool = False) -> ExtractionJob | None:
    """Plan the rows and create the arrays of one model × side × language (None when already complete).

    The one place the layer list is derived (from the model's own layer count). Needs the tokenizer and model
    config only (``loaded.model`` may be None): it runs on a client before shard tasks that load the weights.
    ``texts()``: the group's sentences and, on a decoder side, its encoder sentences; neither they nor the
    tokenizer are read when the group is complete.
    """
    layers = requested_layers(group.extract, loaded.n_layers[group.side], loaded.spec.name)
    extract_hash = _extract_hash(loaded, group, layers, compute_dtype, corpus_hash)
    names = group.names
    if _prepare_group(root, names[0], extract_hash, overwrite):
        log.info("%s complete in the store, skipping", names[0])
        return None
    attrs = _group_attrs(loaded, group, layers, compute_dtype, corpus_hash, extract_hash)
    sentences, sources = texts()
    plan = _stored_plan(root, group, len(sentences))
    if plan is None:
        _, word_index = build_vocab(sentences)
        plan = plan_language(loaded.tokenizer, sentences, word_index, loaded.max_tokens, group.extract.long_sentences,
                             sources)
    arrays, done = _create_arrays(root, names, plan, layers, loaded.hidden_size, group.store, attrs)
    if plan.stats["missing_words"]:
        log.warning("%s: %d words yield no subword or exceed the model length; they get no vector (listed in %s)",
                    names[0], plan.stats["missing_words"], names[2])
    if plan.stats["windowed_sentences"] or plan.stats["skipped_sentences"]:
        log.warning("%s: %d sentences over %d tokens split into windows, %d skipped", names[0],
                    plan.stats["windowed_sentences"], loaded.max_tokens, plan.stats["skipped_sentences"])
    return ExtractionJob(names, group.side, group.lang, layers, plan, arrays, done)


def open_extraction(root: Any, group: GroupSpec, n_sentences: int) -> ExtractionJob | None:
    """The job of a group :func:`begin_extraction` planned (None when it is complete): its layers, row plan and
    arrays as stored, so shard tasks and the finishing step neither re-tokenise nor re-derive anything."""
    names = group.names
    if is_complete(root, names[0]):
        return None
    plan = _stored_plan(root, group, n_sentences)
    if plan is None:
        raise StoreError(f"{names[0]!r} has no planned arrays; plan the extraction first (babelscope run does)")
    stored = root[names[0]]
    layers = [int(layer) for layer in stored.attrs["layers"]]
    arrays = {layer: stored[layout.layer_name(layer)] for layer in layers}
    return ExtractionJob(names, group.side, group.lang, layers, plan, arrays, stored[layout.SHARD_DONE])


def shards_written(root: Any, group: GroupSpec, first: int, stop: int) -> bool:
    """Whether shards ``first:stop`` of a planned group are flagged written."""
    name = group.names[0]
    return name in root and layout.SHARD_DONE in root[name] and bool(root[name][layout.SHARD_DONE][first:stop].all())


def extract_shards(job: ExtractionJob, loaded: LoadedModel, group: GroupSpec, sentences: list[list[str]],
                   sources: list[list[str]] | None, compute_dtype: torch.dtype, device: torch.device,
                   shards: range | None = None, *, progress: bool = True,
                   on_words: Callable[[int], None] | None = None) -> tuple[int, int]:
    """Compute and write the not-yet-done shards of ``shards`` (default: all); returns (shards, words).

    ``progress``: a word bar on the terminal; ``on_words(n)``: called as each batch's ``n`` words are computed.
    """
    wanted = range(job.n_shards) if shards is None else shards
    flags = job.done[:]
    todo = [s for s in wanted if not flags[s]] if job.plan.n_rows else []
    words = _run_shards(loaded, job, group, sentences, sources, todo, compute_dtype, device, progress, on_words)
    return len(todo), words


def finish_extraction(root: Any, job: ExtractionJob, computed_words: int, seconds: float) -> dict[str, Any]:
    """Record the stats and set ``complete`` once every shard is written (refuses otherwise)."""
    group = root[job.names[0]]
    if not all(job.done[:]):
        missing = [i for i, flag in enumerate(job.done[:]) if not flag]
        raise StoreError(f"{job.names[0]}: shards {missing[:10]} were not written; re-run to resume")
    stats = {**job.plan.stats, "computed_words": computed_words}
    group.attrs.update({"n_rows": job.plan.n_rows, "n_missing": job.plan.stats["missing_words"], "stats": stats,
                        "seconds": round(seconds, 3)})
    group.attrs["complete"] = True
    log.info("%s: %d rows x %d layers in %.1f s", job.names[0], job.plan.n_rows, len(job.layers), seconds)
    return stats


def summary_of(root: Any, group: GroupSpec, job: ExtractionJob | None, shards_computed: int,
               seconds: float, stats: dict[str, Any] | None) -> ExtractionSummary:
    """What an extraction of ``group`` did (``job`` None: it was complete already)."""
    key = group.model.key
    if job is None:
        stored = root[group.names[0]]
        return ExtractionSummary(key, group.side, group.lang, int(stored.attrs["n_rows"]), list(stored.attrs["layers"]),
                                 0, int(stored[layout.SHARD_DONE].shape[0]), 0.0, dict(stored.attrs.get("stats", {})))
    return ExtractionSummary(key, group.side, group.lang, job.plan.n_rows, job.layers, shards_computed, job.n_shards,
                             seconds, stats or {})


def _run_shards(loaded: LoadedModel, job: ExtractionJob, group: GroupSpec, sentences: list[list[str]],
                sources: list[list[str]] | None, todo: list[int], compute_dtype: torch.dtype, device: torch.device,
                progress: bool, on_words: Callable[[int], None] | None) -> int:
    spec, shard_rows = group.extract, group.store.shard_rows
    side, layers, plan, label = job.side, job.layers, job.plan, job.names[0]
    n_layers = loaded.n_layers[side]
    tokenizer = loaded.tokenizer
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    start_id = getattr(loaded.model.config, "decoder_start_token_id", None)
    if start_id is None:
        start_id = pad_id
    total_rows = job.rows_in(todo, shard_rows)
    writer = ShardWriter(job.arrays, job.done, shard_rows, plan.n_rows, spec.queue_size)
    bar = tqdm(total=total_rows, desc=label, unit="word", unit_scale=True, disable=not progress, leave=False)
    autocast = (torch.autocast(device.type, dtype=compute_dtype) if compute_dtype != torch.float32 else None)
    budget = batch_tokens_for(spec.batch_tokens, loaded, layers, device, 4 if autocast is None else 2)
    computed = 0
    try:
        for shard in todo:
            lo, hi = shard * shard_rows, min(plan.n_rows, (shard + 1) * shard_rows)
            first = int(np.searchsorted(plan.row_start, lo, side="right")) - 1
            last = int(np.searchsorted(plan.row_start, hi, side="left"))  # exclusive sentence bound
            chunk = sentences[first:last]
            sentence_plans = plan_sentences(tokenizer, chunk, first, loaded.max_tokens, spec.long_sentences,
                                            None if sources is None else sources[first:last])
            segments = [seg for sp in sentence_plans for seg in sp.segments]
            kept = {first + i: sp.kept for i, sp in enumerate(sentence_plans)}
            for batch in make_batches(segments, budget, spec.max_batch_size):
                row_of, rows, n_slots_so_far = [], [], 0
                for seg in batch:  # word position -> output slot; slot -> shard-local row
                    positions = kept[seg.sentence]
                    sentence_rows = plan.row_start[seg.sentence] + np.arange(len(positions))
                    seg_positions = np.unique(seg.token_word[seg.token_word >= 0])
                    in_seg = np.isin(positions, seg_positions) & (sentence_rows >= lo) & (sentence_rows < hi)
                    mapping = np.full(len(sentences[seg.sentence]), -1, dtype=np.int64)
                    mapping[positions[in_seg]] = np.arange(in_seg.sum()) + n_slots_so_far
                    n_slots_so_far += int(in_seg.sum())
                    row_of.append(mapping)
                    rows.append(sentence_rows[in_seg] - lo)
                local = np.concatenate(rows)
                if not len(local):
                    continue
                tokens, slots, n_slots = gather_indices(batch, max(len(s) for s in batch), row_of, spec.aggregation)
                token_index = torch.from_numpy(tokens).to(device)
                with torch.inference_mode():
                    with autocast if autocast is not None else contextlib.nullcontext():
                        picked, width = hidden_states(loaded.model, side, n_layers, layers, batch, pad_id, start_id,
                                                      device, token_index)
                    if width != max(len(s) for s in batch):
                        raise RuntimeError("padded width mismatch")
                    vectors = aggregate(picked, layers, torch.from_numpy(slots).to(device), n_slots, spec.aggregation)
                    event = None
                    if device.type == "cuda":
                        host = torch.empty(vectors.shape, dtype=vectors.dtype, pin_memory=True)
                        host.copy_(vectors, non_blocking=True)
                        event = torch.cuda.Event()
                        event.record()
                        vectors = host
                writer.put_rows(shard, local, vectors, event)
                computed += len(local)
                bar.update(len(local))
                if on_words is not None:
                    on_words(len(local))
            writer.end_shard(shard)
        writer.close()
    except BaseException:
        writer.abort()
        raise
    finally:
        bar.close()
    return computed
