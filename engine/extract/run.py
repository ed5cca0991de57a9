"""``babelscope extract``: every model × side × language of a config into one store."""

from __future__ import annotations

import logging
from typing import Any

from engine.config import BibleCorpusSpec, Config
from engine.device import resolve_compute_dtype, resolve_device
from engine.errors import ConfigError
from engine.extract.stage import ExtractionSummary, decoder_source, extract_language

log = logging.getLogger(__name__)


def load_corpus(config: Config) -> Any:
    """The :class:`~engine.corpus.Corpus` a config names."""
    from engine.corpus import load_bible, load_text_files

    spec = config.corpus
    if isinstance(spec, BibleCorpusSpec):
        return load_bible(spec.languages, start=spec.start, count=spec.count, versions=spec.versions or None)
    return load_text_files(spec.files, pretokenized=spec.pretokenized)


def run_extraction(config: Config, *, overwrite: bool = False, progress: bool = True) -> list[ExtractionSummary]:
    """Extract all configured models, sides and languages; returns one summary per group."""
    import torch

    from engine.extract.models import load_model
    from engine.store import init_store

    corpus = load_corpus(config)
    root = init_store(config.store.path, corpus, overwrite=overwrite)
    corpus_hash = corpus.content_hash()
    device = resolve_device(config.extract.device)
    compute_dtype = resolve_compute_dtype(config.extract.dtype, device)
    log.info("extracting on %s, compute dtype %s", device, compute_dtype)
    summaries = []
    for spec in config.models:
        loaded = load_model(spec, device)
        for side in config.extract.sides:
            if side not in loaded.sides:
                raise ConfigError(f"sides of extract lists {side!r}, but model {spec.name!r} has only "
                                  f"{list(loaded.sides)}")
            for lang in corpus.languages:
                sources = corpus.words(decoder_source(config, lang)) if side == "decoder" else None
                summaries.append(extract_language(root, loaded, side, lang, config, corpus.words(lang), sources,
                                                  corpus_hash, compute_dtype, device, overwrite=overwrite,
                                                  progress=progress))
        del loaded
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return summaries
