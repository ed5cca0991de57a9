"""Tokenisation into model inputs ("segments") and the row plan of a language.

A *segment* is one model input sequence. Normally a sentence is one segment; a sentence longer than the
model's maximum is split at word boundaries into several windows (``long_sentences="window"``) or skipped.
Words that yield no subword, and words made only of invisible characters (which a tokenizer may still turn
into a bare word-start piece), are *missing*: they get no row, keep their position, and are counted.
Rows of the store follow corpus order: sentence, then word position.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.extract.words import encode_words

TOKENIZE_BATCH = 1024


@dataclass
class Segment:
    """One model input.

    input_ids:  int64 [n_tokens] with special tokens (decoder side: the labels)
    token_word: int32 [n_tokens] word position of each token in its sentence, -1 for special tokens
    source_ids: int64 [n_source] encoder input for the decoder side, else None
    """

    sentence: int
    input_ids: np.ndarray
    token_word: np.ndarray
    source_ids: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.input_ids.shape[0])


@dataclass
class SentencePlan:
    """Segments of one sentence and which word positions get a vector (ascending)."""

    segments: list[Segment]
    kept: np.ndarray  # int32 positions with a vector
    missing: np.ndarray  # int32 positions without one
    windowed: bool = False
    skipped: bool = False


@dataclass
class LanguagePlan:
    """Row layout of one model × side × language.

    row_start: int64 [n_sentences + 1]  rows of sentence s are row_start[s]:row_start[s+1]
    type_id, sentence, position: int32 [n_rows]  (row-aligned with the activations)
    missing_sentence, missing_position: int32 [n_missing]
    """

    row_start: np.ndarray
    type_id: np.ndarray
    sentence: np.ndarray
    position: np.ndarray
    missing_sentence: np.ndarray
    missing_position: np.ndarray
    stats: dict[str, int] = field(default_factory=dict)

    @property
    def n_rows(self) -> int:
        return int(self.row_start[-1])


def _windows(token_word: np.ndarray, n_words: int, budget: int) -> tuple[list[list[int]], list[int]]:
    """Greedy split of word positions into windows of at most ``budget`` subword tokens.

    Returns (windows of word positions, positions too long for any window).
    """
    counts = np.bincount(token_word[token_word >= 0], minlength=n_words)
    windows: list[list[int]] = []
    current: list[int] = []
    used = 0
    too_long: list[int] = []
    for pos in range(n_words):
        need = int(counts[pos])
        if need > budget:
            too_long.append(pos)
            continue
        if used + need > budget and current:
            windows.append(current)
            current, used = [], 0
        current.append(pos)
        used += need
    if current:
        windows.append(current)
    return windows, too_long


def plan_sentences(
    tokenizer: Any,
    sentences: Sequence[list[str]],
    first_index: int,
    max_tokens: int,
    long_sentences: str,
    sources: Sequence[list[str]] | None = None,
) -> list[SentencePlan]:
    """Segments for ``sentences`` (corpus indices from ``first_index``).

    ``sources`` (decoder side) are the encoder inputs; there, over-long pairs are skipped, never windowed.
    """
    plans: list[SentencePlan] = []
    encoded = encode_words(tokenizer, list(sentences))
    encoded_src = encode_words(tokenizer, list(sources)) if sources is not None else [None] * len(encoded)
    for offset, ((ids, token_word), src) in enumerate(zip(encoded, encoded_src, strict=True)):
        index = first_index + offset
        words = sentences[offset]
        n_words = len(words)
        src_ids = None if src is None else src[0]
        too_long = len(ids) > max_tokens or (src_ids is not None and len(src_ids) > max_tokens)
        if not too_long:
            covered = np.unique(token_word[token_word >= 0])
            missing = np.setdiff1d(np.arange(n_words, dtype=np.int32), covered).astype(np.int32)
            plans.append(SentencePlan([Segment(index, ids, token_word, src_ids)], covered.astype(np.int32), missing))
            continue
        if long_sentences == "skip" or sources is not None:
            plans.append(SentencePlan([], np.zeros(0, np.int32), np.arange(n_words, dtype=np.int32), skipped=True))
            continue
        n_special = int((token_word < 0).sum())
        windows, _too_long = _windows(token_word, n_words, max_tokens - n_special)  # too long: missing
        segments: list[Segment] = []
        kept: list[np.ndarray] = []
        encoded_windows = encode_words(tokenizer, [[words[p] for p in w] for w in windows])
        for window, (w_ids, w_token_word) in zip(windows, encoded_windows, strict=True):
            positions = np.asarray(window, dtype=np.int32)
            mapped = np.where(w_token_word >= 0, positions[np.maximum(w_token_word, 0)], -1).astype(np.int32)
            segments.append(Segment(index, w_ids, mapped))
            kept.append(np.unique(mapped[mapped >= 0]))
        kept_all = np.concatenate(kept) if kept else np.zeros(0, np.int32)
        missing = np.setdiff1d(np.arange(n_words, dtype=np.int32), kept_all).astype(np.int32)
        plans.append(SentencePlan(segments, kept_all.astype(np.int32), missing, windowed=True))
    return plans


def plan_language(
    tokenizer: Any,
    sentences: Sequence[list[str]],
    word_index: dict[str, int],
    max_tokens: int,
    long_sentences: str,
    sources: Sequence[list[str]] | None = None,
) -> LanguagePlan:
    """Tokenise a whole language in batches and lay out its rows (metadata only; no vectors kept)."""
    n = len(sentences)
    rows = np.zeros(n + 1, dtype=np.int64)
    type_ids, sent_ids, positions, miss_s, miss_p = [], [], [], [], []
    stats = {"sentences": n, "words": 0, "missing_words": 0, "windowed_sentences": 0, "skipped_sentences": 0,
             "segments": 0}
    for start in range(0, n, TOKENIZE_BATCH):
        stop = min(n, start + TOKENIZE_BATCH)
        batch_src = sources[start:stop] if sources is not None else None
        for offset, plan in enumerate(plan_sentences(tokenizer, sentences[start:stop], start, max_tokens,
                                                     long_sentences, batch_src)):
            s = start + offset
            words = sentences[s]
            stats["words"] += len(words)
            stats["missing_words"] += len(plan.missing)
            stats["windowed_sentences"] += int(plan.windowed)
            stats["skipped_sentences"] += int(plan.skipped)
            stats["segments"] += len(plan.segments)
            rows[s + 1] = rows[s] + len(plan.kept)
            type_ids.append(np.fromiter((word_index[words[p]] for p in plan.kept), np.int32, len(plan.kept)))
            sent_ids.append(np.full(len(plan.kept), s, np.int32))
            positions.append(plan.kept)
            miss_s.append(np.full(len(plan.missing), s, np.int32))
            miss_p.append(plan.missing)

    def cat(parts: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(parts).astype(np.int32) if parts else np.zeros(0, np.int32)

    return LanguagePlan(rows, cat(type_ids), cat(sent_ids), cat(positions), cat(miss_s), cat(miss_p), stats)


def make_batches(segments: list[Segment], batch_tokens: int, max_batch_size: int) -> list[list[Segment]]:
    """Length-bucketed batches: longest first, each at most ``batch_tokens`` padded tokens."""
    order = sorted(segments, key=lambda seg: (-max(len(seg), len(seg.source_ids) if seg.source_ids is not None
                                                   else 0), seg.sentence))
    batches: list[list[Segment]] = []
    current: list[Segment] = []
    width = 0
    for seg in order:
        seg_width = max(len(seg), 0 if seg.source_ids is None else len(seg.source_ids))
        new_width = max(width, seg_width)
        if current and (new_width * (len(current) + 1) > batch_tokens or len(current) >= max_batch_size):
            batches.append(current)
            current, new_width = [], seg_width
        current.append(seg)
        width = new_width
    if current:
        batches.append(current)
    return batches
