"""The select stage: which stored rows enter the COLAP and CALIGN clusterings (rules in design §4).

Token choice depends only on the corpus text, the links and the config — never on the model — except that
a word with no stored vector (a "missing" word) cannot be chosen; its slot goes to the next occurrence.
COLAP ``sampling: reservoir`` keeps a uniform seeded sample of at most ``max_per_type`` occurrences per type
(the distribution reservoir sampling gives), drawn as one seeded priority per corpus token, so every model
and side picks the same tokens and the result does not depend on how rows are chunked.
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine import __version__
from engine.align.links import Links
from engine.align.stage import resolve_pairs
from engine.align.store import CorpusTokens, corpus_tokens, read_links
from engine.config import CalignSpec, ColapSpec, Config, SelectSpec, content_hash
from engine.errors import ConfigError, StoreError
from engine.select.core import calign_links, colap_rows, frequency_mask, keep_sentences
from engine.select.store import COLAP, Selection, calign_name, write_selection
from engine.store import layout, open_store
from engine.store.artefacts import read_words

__all__ = ["SelectInputs", "SelectSummary", "WordRows", "run_select", "select_all", "select_calign", "select_colap",
           "word_rows"]

log = logging.getLogger(__name__)


@dataclass
class SelectSummary:
    """One stored selection."""

    name: str
    model: str
    side: str
    lang: str
    n_rows: int
    n_types: int
    stats: dict[str, int]


@dataclass(frozen=True)
class WordRows:
    """The words table of one model × side × language, joined to the corpus tokens.

    type_id, sentence: int64 [n_rows]; token: int64 [n_rows] flat corpus token of each row;
    row_of_token: int64 [n_tokens] the row of each corpus token, -1 for words with no vector.
    """

    type_id: np.ndarray
    sentence: np.ndarray
    token: np.ndarray
    row_of_token: np.ndarray


def word_rows(root: Any, model: str, side: str, tokens: CorpusTokens) -> WordRows:
    """Read ``words/{model}/{side}/{lang}`` of complete activations and check it against the corpus."""
    lang = tokens.lang
    words = read_words(root, model, side, lang)
    type_id, sentence, position = words["type_id"], words["sentence"], words["position"]
    n_rows = int(type_id.shape[0])
    name = layout.words_path(model, side, lang)
    if n_rows and (sentence.max() >= tokens.n_sentences or (position >= tokens.lengths[sentence]).any()):
        raise StoreError(f"{name}: rows point outside the corpus sentences; the store is damaged")
    token = tokens.token_index(sentence, position)
    if (tokens.type_id[token] != type_id).any():
        raise StoreError(f"{name}: word types disagree with {layout.corpus_path(lang)}; the store is damaged")
    row_of_token = np.full(tokens.type_id.shape[0], -1, dtype=np.int64)
    row_of_token[token] = np.arange(n_rows, dtype=np.int64)
    return WordRows(type_id, sentence, token, row_of_token)


def _sentence_of_token(tokens: CorpusTokens) -> np.ndarray:
    return np.repeat(np.arange(tokens.n_sentences, dtype=np.int64), tokens.lengths)


def select_colap(rows: WordRows, tokens: CorpusTokens, keep: np.ndarray, spec: ColapSpec) -> Selection:
    """The COLAP set of one language: ≤ ``max_per_type`` rows per word type, rows ascending."""
    in_kept = keep[_sentence_of_token(tokens)]
    counts = np.bincount(tokens.type_id[in_kept], minlength=len(tokens.vocab))
    priority = None
    if spec.sampling == "reservoir":
        rng = np.random.default_rng([spec.seed, zlib.crc32(tokens.lang.encode("utf-8"))])
        priority = rng.random(tokens.type_id.shape[0])[rows.token]
    selected = colap_rows(rows.type_id, rows.sentence, keep, counts, max_per_type=spec.max_per_type,
                          min_frequency=spec.min_frequency, delete_frequency=spec.delete_frequency,
                          priority=priority)
    none = np.full(selected.shape[0], -1, dtype=np.int64)
    dropped = (counts > 0) & ~frequency_mask(counts, spec.min_frequency, spec.delete_frequency)
    stats = {"candidate_rows": int(keep[rows.sentence].sum()), "selected_rows": int(selected.shape[0]),
             "types_dropped_by_frequency": int(dropped.sum())}
    return Selection(selected, rows.type_id[selected].astype(np.int32), none.astype(np.int32), none,
                     {"kind": "colap", "params": spec.model_dump(mode="json"), "stats": stats})


def select_calign(links: Links, src: tuple[WordRows, CorpusTokens], tgt: tuple[WordRows, CorpusTokens],
                  keep: np.ndarray, spec: CalignSpec) -> tuple[Selection, Selection]:
    """The CALIGN sets of a language pair: (source selection, target selection)."""
    (src_rows, src_tokens), (tgt_rows, tgt_tokens) = src, tgt
    links.check_bounds(src_tokens.lengths, tgt_tokens.lengths, f"links {src_tokens.lang}-{tgt_tokens.lang}")
    src_token = src_tokens.token_index(links.sentence, links.src)
    tgt_token = tgt_tokens.token_index(links.sentence, links.tgt)
    src_type, tgt_type = src_tokens.type_id[src_token], tgt_tokens.type_id[tgt_token]
    src_row, tgt_row = src_rows.row_of_token[src_token], tgt_rows.row_of_token[tgt_token]
    index, stats = calign_links(src_type, tgt_type, keep[links.sentence], (src_row >= 0) & (tgt_row >= 0),
                                len(tgt_tokens.vocab), max_per_pair=spec.max_per_pair,
                                min_frequency=spec.min_frequency, delete_frequency=spec.delete_frequency)
    attrs = {"kind": "calign", "params": spec.model_dump(mode="json"), "stats": stats}
    ends = ((src_row[index], src_type[index], tgt_type[index], tgt_row[index]),
            (tgt_row[index], tgt_type[index], src_type[index], src_row[index]))
    out = []
    for rows, types, partner_type, partner_row in ends:
        if spec.duplicates == "dedup":
            rows, first = np.unique(rows, return_index=True)
            types, partner_type, partner_row = types[first], partner_type[first], partner_row[first]
        out.append(Selection(rows.astype(np.int64), types.astype(np.int32), partner_type.astype(np.int32),
                             partner_row.astype(np.int64), dict(attrs)))
    return out[0], out[1]


@dataclass(frozen=True)
class SelectInputs:
    """What the select stage reads of a config: its ``select`` section and what the selections are made for."""

    spec: SelectSpec
    languages: tuple[str, ...]
    align_pairs: tuple[tuple[str, str], ...] | None  # the config's align.pairs (CALIGN's default pairs)
    models: tuple[str, ...]  # model keys
    sides: tuple[str, ...]  # extracted sides

    @classmethod
    def of(cls, config: Config) -> SelectInputs:
        pairs = None if config.align.pairs is None else tuple(tuple(p) for p in config.align.pairs)
        return cls(config.select, tuple(config.corpus.languages), pairs, tuple(m.key for m in config.models),
                   tuple(config.extract.sides))


def _side_pairs(inputs: SelectInputs) -> list[tuple[str, str]]:
    sides = list(inputs.sides)
    pairs = inputs.spec.calign.side_pairs or [(s, s) for s in sides]
    for pair in pairs:
        for side in pair:
            if side not in sides:
                raise ConfigError(f"select.calign.side_pairs names side {side!r}, not extracted (extract.sides "
                                  f"= {sides})")
    return [tuple(p) for p in pairs]


def run_select(config: Config) -> list[SelectSummary]:
    """Compute and store every configured selection for every model and side of ``config``."""
    return select_all(open_store(config.store.path, mode="r+"), SelectInputs.of(config))


def select_all(root: Any, inputs: SelectInputs) -> list[SelectSummary]:
    """Compute and store every selection of ``inputs`` in the open (``r+``) store ``root``."""
    spec = inputs.spec
    languages = list(inputs.languages)
    tokens = {lang: corpus_tokens(root, lang) for lang in languages}
    keep = keep_sentences([tokens[lang].lengths for lang in languages], spec.max_sentence_words)
    log.info("select: %d of %d sentence pairs under %d words", int(keep.sum()), keep.shape[0],
             spec.max_sentence_words)
    common = {"corpus_hash": root.attrs.get("corpus_hash"), "engine_version": __version__,
              "max_sentence_words": spec.max_sentence_words, "sentences_kept": int(keep.sum())}
    align_pairs = None if inputs.align_pairs is None else [tuple(p) for p in inputs.align_pairs]
    pairs = resolve_pairs(spec.calign.pairs or align_pairs, languages, "select.calign.pairs") \
        if spec.calign.enabled else []
    side_pairs = _side_pairs(inputs) if spec.calign.enabled else []
    links = {pair: _links(root, *pair) for pair in pairs}
    summaries: list[SelectSummary] = []
    for model in inputs.models:
        cache: dict[tuple[str, str], WordRows] = {}

        def rows_of(side: str, lang: str, model: str = model, cache: dict = cache) -> WordRows:
            if (side, lang) not in cache:
                cache[(side, lang)] = word_rows(root, model, side, tokens[lang])
            return cache[(side, lang)]

        if spec.colap.enabled:
            for side in inputs.sides:
                for lang in languages:
                    selection = select_colap(rows_of(side, lang), tokens[lang], keep, spec.colap)
                    summaries.append(_store(root, COLAP, model, side, lang, selection, {**common}))
        for (src, tgt), (pair_links, link_attrs) in links.items():
            for src_side, tgt_side in side_pairs:
                name = calign_name(src, tgt, src_side, tgt_side)
                s_sel, t_sel = select_calign(pair_links, (rows_of(src_side, src), tokens[src]),
                                             (rows_of(tgt_side, tgt), tokens[tgt]), keep, spec.calign)
                shared = {**common, "align_hash": link_attrs.get("align_hash"),
                          "selection_hash": content_hash([name, model, common, link_attrs.get("align_hash"),
                                                          spec.calign.model_dump(mode="json")])}
                summaries.append(_store(root, name, model, src_side, src, s_sel,
                                        {**shared, "partner_lang": tgt, "partner_side": tgt_side}))
                summaries.append(_store(root, name, model, tgt_side, tgt, t_sel,
                                        {**shared, "partner_lang": src, "partner_side": src_side}))
    return summaries


def _links(root: Any, src: str, tgt: str) -> tuple[Links, dict[str, Any]]:
    links, attrs = read_links(root, src, tgt)
    if attrs.get("corpus_hash") != root.attrs.get("corpus_hash"):
        raise StoreError(f"links {src}-{tgt} were made for another corpus ({attrs.get('corpus_hash')} != "
                         f"{root.attrs.get('corpus_hash')}); re-run `babelscope align`")
    return links, attrs


def _store(root: Any, name: str, model: str, side: str, lang: str, selection: Selection,
           extra: dict[str, Any]) -> SelectSummary:
    selection = Selection(selection.rows, selection.type_id, selection.partner_type, selection.partner_row,
                          {**selection.attrs, **extra})
    write_selection(root, name, model, side, lang, selection)
    stats = dict(selection.attrs.get("stats", {}))
    log.info("selection %s %s/%s/%s: %d rows, %d types", name, model, side, lang, len(selection),
             selection.n_types)
    return SelectSummary(name, model, side, lang, len(selection), selection.n_types, stats)
