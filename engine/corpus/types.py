"""The :class:`Corpus` value every provider returns: line-aligned, word-tokenized parallel text."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine.errors import ConfigError, InputDataError, param_message

__all__ = ["Corpus", "MAX_LISTED_REFS", "build_corpus"]

logger = logging.getLogger(__name__)

# At most this many dropped refs are listed in ``stats`` (the count is always exact).
MAX_LISTED_REFS = 100

_HASH_VERSION = b"babelscope-corpus-v1\n"


@dataclass(frozen=True)
class Corpus:
    """Parallel text: ``sentences[lang][i]`` of every language translate each other; ``refs[i]`` names them.

    ``source`` and ``stats`` are JSON-able dicts (provider, versions or files, range, word tokenizer; pair
    and word counts, dropped pairs) meant to be copied into store attrs.
    """

    languages: tuple[str, ...]
    sentences: dict[str, list[list[str]]]
    refs: list[str]
    source: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Check that every language has one sentence per ref."""
        if not isinstance(self.languages, tuple) or not self.languages:
            raise InputDataError(
                param_message("languages", "Corpus", "a non-empty tuple of language codes", self.languages)
            )
        if len(set(self.languages)) != len(self.languages):
            raise InputDataError(param_message("languages", "Corpus", "free of duplicates", self.languages))
        if set(self.sentences) != set(self.languages):
            raise InputDataError(
                param_message(
                    "sentences keys",
                    "Corpus",
                    f"the languages {list(self.languages)}",
                    sorted(self.sentences),
                )
            )
        n = len(self.refs)
        for lang in self.languages:
            if len(self.sentences[lang]) != n:
                raise InputDataError(
                    f"sentences[{lang!r}] of Corpus must have one sentence per ref: "
                    f"{len(self.sentences[lang])} sentences != {n} refs"
                )

    def n_sentences(self) -> int:
        """Number of aligned sentence pairs (rows)."""
        return len(self.refs)

    def words(self, lang: str) -> list[list[str]]:
        """Word-tokenized sentences of one language."""
        try:
            return self.sentences[lang]
        except KeyError:
            raise ConfigError(
                param_message("lang", "Corpus.words", f"one of {list(self.languages)}", lang)
            ) from None

    def content_hash(self) -> str:
        """SHA-256 (hex) over the languages and the tokenized sentences, in order.

        Stable across runs, processes and machines (no Python ``hash``); refs, source and stats are not
        part of it, so two providers yielding the same words give the same hash.
        """
        h = hashlib.sha256(_HASH_VERSION)
        h.update(_encode(list(self.languages)))
        for lang in self.languages:
            h.update(_encode(lang))
            for sentence in self.sentences[lang]:
                h.update(_encode(sentence))
        return h.hexdigest()


def _encode(value: Any) -> bytes:
    """Unambiguous, canonical bytes of a JSON value (one line)."""
    return json.dumps(value, ensure_ascii=True, separators=(",", ":")).encode("ascii") + b"\n"


def build_corpus(
    languages: tuple[str, ...],
    tokenized: dict[str, list[list[str]]],
    refs: list[str],
    *,
    source: dict[str, Any],
    owner: str,
    is_empty: Callable[[list[str]], bool] = lambda words: not words,
    extra_stats: dict[str, Any] | None = None,
) -> Corpus:
    """Drop every pair that is empty in any language (counted per language, logged), then build the Corpus.

    Raises InputDataError when no pair is left; ``owner`` names the caller in messages; ``extra_stats``
    are merged into ``stats``.
    """
    n = len(refs)
    empty = {lang: [is_empty(s) for s in tokenized[lang]] for lang in languages}
    keep = [i for i in range(n) if not any(empty[lang][i] for lang in languages)]
    dropped_empty = {lang: sum(empty[lang]) for lang in languages}
    kept = set(keep)
    dropped_refs = [refs[i] for i in range(n) if i not in kept]
    if not keep:
        raise InputDataError(
            f"{owner}: no sentence pair left: all {n} pairs are empty in at least one language "
            f"(empty per language: {dropped_empty})"
        )
    if dropped_refs:
        logger.warning(
            "%s: dropped %d of %d sentence pairs empty in at least one language (per language: %s); "
            "first: %s",
            owner,
            len(dropped_refs),
            n,
            dropped_empty,
            ", ".join(dropped_refs[:5]),
        )
    sentences = {lang: [tokenized[lang][i] for i in keep] for lang in languages}
    stats = {
        "n_pairs": len(keep),
        "n_input": n,
        "n_dropped": len(dropped_refs),
        "dropped_empty": dropped_empty,
        "dropped_refs": dropped_refs[:MAX_LISTED_REFS],
        "n_words": {lang: sum(len(s) for s in sentences[lang]) for lang in languages},
        **(extra_stats or {}),
    }
    return Corpus(languages, sentences, [refs[i] for i in keep], source, stats)
