"""The align stage: word links per language pair into the store, then a dictionary from them.

For each pair (src, tgt) of ``align.pairs``: run eflomal forward and reverse over the store's word-tokenized
sentences and symmetrise (or import Pharaoh files), store ``links/{src}-{tgt}``, then build and store
``dictionaries/{src}-{tgt}``. Links whose settings and corpus are unchanged are reused (``overwrite`` redoes
them); the dictionary is always rebuilt (cheap).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from engine import __version__
from engine.align.eflomal_backend import EflomalOptions, run_eflomal
from engine.align.links import Links, read_pharaoh, write_pharaoh
from engine.align.store import CorpusTokens, corpus_tokens, read_links, write_links
from engine.align.symmetrize import SYMMETRIZATIONS, symmetrize
from engine.config import AlignSpec, Config, DictionarySpec, content_hash
from engine.dictionary import Dictionary, read_freedict, read_reference, read_tsv
from engine.dictionary.build import dictionary_from_links
from engine.dictionary.io import write_reference
from engine.dictionary.store import write_store_dictionary
from engine.errors import ConfigError, InputDataError, param_message
from engine.files import file_digest
from engine.store import layout, read_strings

__all__ = ["AlignSummary", "align_configured", "align_pair", "resolve_pairs", "run_align"]

log = logging.getLogger(__name__)


@dataclass
class AlignSummary:
    """What aligning one language pair did."""

    src: str
    tgt: str
    n_sentences: int
    n_links: int
    aligner: str
    method: str
    reused: bool
    seconds: float
    n_dictionary_entries: int
    n_dictionary_words: int
    warnings: list[str] = field(default_factory=list)


def resolve_pairs(pairs: list[tuple[str, str]] | None, languages: list[str], owner: str = "align.pairs"
                  ) -> list[tuple[str, str]]:
    """The configured pairs checked against the corpus languages; default: first language to each other."""
    if pairs is None:
        if len(languages) < 2:
            raise ConfigError(f"{owner}: alignment needs at least two corpus languages; got {languages}")
        return [(languages[0], other) for other in languages[1:]]
    seen = set()
    for src, tgt in pairs:
        for lang in (src, tgt):
            if lang not in languages:
                raise ConfigError(f"{owner} names language {lang!r}, not in the corpus languages {languages}")
        if src == tgt:
            raise ConfigError(f"{owner} pairs a language with itself: [{src}, {tgt}]")
        if (src, tgt) in seen:
            raise ConfigError(f"{owner} lists the pair [{src}, {tgt}] twice")
        seen.add((src, tgt))
    return list(pairs)


def _file_digest(path: Path) -> str:
    if not path.is_file():
        raise InputDataError(f"links file {str(path)!r} does not exist")
    return file_digest(path)


def _aligner_version() -> str:
    try:
        return f"eflomal {version('eflomal')}"
    except PackageNotFoundError:
        return "eflomal"


def align_pair(root: Any, src: str, tgt: str, *, method: str = "grow-diag-final-and",
               options: EflomalOptions | None = None, links_file: Path | None = None,
               reverse_file: Path | None = None, dictionary: DictionarySpec | None = None,
               overwrite: bool = False, export_dir: Path | None = None) -> AlignSummary:
    """Align one pair in the store ``root`` (an open ``r+`` group) and build its dictionary.

    ``links_file`` alone imports already symmetrised Pharaoh links; with ``reverse_file`` the two are
    symmetrised with ``method``; without files eflomal runs with ``options``.
    """
    if method not in SYMMETRIZATIONS:
        raise ConfigError(param_message("method", "align_pair", f"one of {'|'.join(SYMMETRIZATIONS)}", method))
    if reverse_file is not None and links_file is None:
        raise ConfigError(f"reverse links for {src}-{tgt} need forward links too (align.links.{src}-{tgt})")
    started = time.perf_counter()
    src_tokens, tgt_tokens = corpus_tokens(root, src), corpus_tokens(root, tgt)
    options = options or EflomalOptions()
    if links_file is None:
        source: dict[str, Any] = {"aligner": _aligner_version(), "options": options.as_dict()}
    else:
        source = {"aligner": "imported", "links_file": str(links_file), "links_sha256": _file_digest(links_file)}
        if reverse_file is not None:
            source.update(reverse_file=str(reverse_file), reverse_sha256=_file_digest(reverse_file))
    effective = method if (links_file is None or reverse_file is not None) else "as imported"
    key = content_hash({"pair": [src, tgt], "method": effective, "source": source,
                        "corpus_hash": root.attrs.get("corpus_hash")})
    name = layout.links_path(src, tgt)
    held = root[name].attrs if name in root else {}
    reused = not overwrite and held.get("complete") and held.get("align_hash") == key
    if reused:
        log.info("%s: links complete with the same settings, reused", name)
        links, _ = read_links(root, src, tgt)
    else:
        links, counts = _compute_links(src_tokens, tgt_tokens, method, options, links_file, reverse_file)
        write_links(root, src, tgt, links, {**source, **counts, "method": effective, "align_hash": key,
                                            "corpus_hash": root.attrs.get("corpus_hash"),
                                            "deterministic": links_file is not None,
                                            "engine_version": __version__})
    spec = dictionary or DictionarySpec()
    imported = spec.files.get(layout.pair_name(src, tgt))
    if imported is None:
        built = dictionary_from_links(links, src_tokens, tgt_tokens, top_n=spec.top_n, min_count=spec.min_count,
                                      min_prob=spec.min_prob)
    else:
        built = _imported_dictionary(root, src, tgt, imported)
    write_store_dictionary(root, src, tgt, built, {"align_hash": key, "engine_version": __version__})
    if export_dir is not None:
        export_dir = Path(export_dir)
        write_pharaoh(export_dir / f"{layout.pair_name(src, tgt)}.links", links, src_tokens.n_sentences)
        write_reference(export_dir / f"{layout.pair_name(src, tgt)}.dict.txt", built)
    seconds = time.perf_counter() - started
    origin = f"links file {str(links_file)!r}" if links_file is not None else source["aligner"]
    warnings = []
    if not len(links):
        warnings.append(f"{layout.pair_name(src, tgt)}: {origin} links no words at all over "
                        f"{src_tokens.n_sentences} sentence pairs; CALIGN of this pair will find no translations")
    elif not len(built):
        warnings.append(f"{layout.pair_name(src, tgt)}: the {len(links)} links of {origin} give an empty "
                        f"dictionary (no word pair passes align.dictionary); CALIGN of this pair will find no "
                        f"translations")
    return AlignSummary(src, tgt, src_tokens.n_sentences, len(links), source["aligner"], effective, bool(reused),
                        seconds, len(built), len(set(built.src)), warnings)


def _compute_links(src_tokens: CorpusTokens, tgt_tokens: CorpusTokens, method: str, options: EflomalOptions,
                   links_file: Path | None, reverse_file: Path | None) -> tuple[Links, dict[str, int]]:
    src_len, tgt_len = src_tokens.lengths, tgt_tokens.lengths
    if links_file is None:
        forward, reverse = run_eflomal(src_tokens.sentences(), tgt_tokens.sentences(), options)
    else:
        forward = read_pharaoh(links_file, src_len, tgt_len)
        if reverse_file is None:
            return forward, {"n_forward": len(forward)}
        reverse = read_pharaoh(reverse_file, src_len, tgt_len)
    links = symmetrize(forward, reverse, method)
    return links, {"n_forward": len(forward), "n_reverse": len(reverse)}


def _imported_dictionary(root: Any, src: str, tgt: str, spec: Any) -> Any:
    """The dictionary file of ``align.dictionary.files`` for the pair, cut to the store's vocabularies (each kept
    entry keeps its rank, so a reference-mode top-N still counts the dropped entries' slots)."""
    if spec.format == "freedict":
        read = read_freedict(str(spec.path), lowercase=spec.lowercase)
    elif spec.format == "tsv":
        read = read_tsv(spec.path, mode=spec.mode)
    else:
        read = read_reference(spec.path, mode=spec.mode)
    src_vocab = set(read_strings(root, layout.vocab_path(src)))
    tgt_vocab = set(read_strings(root, layout.vocab_path(tgt)))
    keep = [i for i, (s, t) in enumerate(zip(read.src, read.tgt, strict=True)) if s in src_vocab and t in tgt_vocab]
    log.info("%s: dictionary %s (%s): %d of %d entries are over the corpus words", layout.pair_name(src, tgt),
             spec.path, spec.format, len(keep), len(read))
    return Dictionary([read.src[i] for i in keep], [read.tgt[i] for i in keep], read.prob[keep], read.count[keep],
                      read.rank[keep], {**read.meta, "imported": str(spec.path), "entries_in_file": len(read)})


def check_pair_keys(spec: AlignSpec, pairs: list[tuple[str, str]]) -> None:
    """Refuse a per-pair key of ``align`` (links, reverse links, dictionary files) that names no aligned pair."""
    names = {layout.pair_name(s, t) for s, t in pairs}
    for field_name, files in (("links", spec.links), ("reverse_links", spec.reverse_links),
                              ("dictionary.files", spec.dictionary.files)):
        for pair_key in files:
            if pair_key not in names:
                raise ConfigError(f"align.{field_name} has key {pair_key!r}; expected one of the aligned pairs "
                                  f"{sorted(names)} (written src-tgt)")


def align_configured(root: Any, spec: AlignSpec, src: str, tgt: str, *, overwrite: bool = False,
                     export_dir: Path | None = None) -> AlignSummary:
    """:func:`align_pair` with the settings of a config's ``align`` section (imported links of the pair, if any)."""
    pair = layout.pair_name(src, tgt)
    return align_pair(root, src, tgt, method=spec.symmetrization, options=EflomalOptions.of(spec.eflomal),
                      links_file=spec.links.get(pair), reverse_file=spec.reverse_links.get(pair),
                      dictionary=spec.dictionary, overwrite=overwrite, export_dir=export_dir)


def run_align(config: Config, *, overwrite: bool = False, export_dir: Path | None = None) -> list[AlignSummary]:
    """Align every configured pair of ``config`` (creating the store's corpus section if needed).

    ``overwrite`` re-aligns pairs already stored and, like ``extract --overwrite``, replaces a store that holds
    another corpus.
    """
    from engine.corpus import load_corpus
    from engine.store import init_store

    spec = config.align
    languages = list(config.corpus.languages)
    pairs = resolve_pairs(spec.pairs, languages)
    check_pair_keys(spec, pairs)
    root = init_store(config.store.path, load_corpus(config.corpus), overwrite=overwrite)
    return [align_configured(root, spec, src, tgt, overwrite=overwrite, export_dir=export_dir) for src, tgt in pairs]
