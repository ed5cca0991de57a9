"""``load_corpus``: the :class:`~engine.corpus.Corpus` a config's ``corpus`` section names.

Providers are registered by ``spec.source`` in :data:`SOURCES`; the config's discriminated union of corpus
sections (``engine.config.CORPUS_SPECS``) carries one spec class per registered source. A new source is its
provider module, one line here and its spec class in the config.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.corpus.bible import load_bible
from engine.corpus.textfiles import load_text_files
from engine.corpus.types import Corpus
from engine.errors import ConfigError, param_message

__all__ = ["SOURCES", "load_corpus"]


def _bible(spec: Any) -> Corpus:
    return load_bible(spec.languages, start=spec.start, count=spec.count, versions=spec.versions or None)


def _text(spec: Any) -> Corpus:
    return load_text_files(spec.files, pretokenized=spec.pretokenized)


#: ``corpus.source`` -> provider of that section's corpus
SOURCES: dict[str, Callable[[Any], Corpus]] = {"bible": _bible, "text": _text}


def load_corpus(spec: Any) -> Corpus:
    """The corpus of a validated ``corpus`` section (``BibleCorpusSpec``, ``TextCorpusSpec``, ...)."""
    source = getattr(spec, "source", None)
    if source not in SOURCES:
        raise ConfigError(param_message("source", "corpus", f"one of {', '.join(SOURCES)}", source))
    return SOURCES[source](spec)
