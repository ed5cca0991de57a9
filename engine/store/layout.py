"""Names of everything inside a babelscope store: every group and array path is spelled here and nowhere else.

::

    run.zarr/                                     attrs: format, format_version, corpus_hash, languages, ...
      corpus/refs                                 str [n_sentences]   ("Gen 1:1", "line 17", ...)
      corpus/{lang}                               str [n_sentences]   word-tokenized sentence, words joined by " "
      vocab/{lang}                                str [n_types]       type_id -> word
      activations/{model}/{side}/{lang}/layer_{i} float16 [n_rows, hidden]  attrs: complete, model, aggregation, ...
      activations/{model}/{side}/{lang}/shard_done uint8 [n_shards]  1 once a shard's rows are written
      words/{model}/{side}/{lang}/{type_id,sentence,position}  int32 [n_rows]  row-aligned with activations
      missing/{model}/{side}/{lang}/{sentence,position}        int32 [n_missing] words that got no vector
      links/{src}-{tgt}/{sentence,src_pos,tgt_pos}             int32 [n_links]  word links, positions in corpus/{lang}
      dictionaries/{src}-{tgt}/{src_type,tgt_type,count,rank}  int32, prob float64 [n_entries]  (type ids of vocab/)
      selections/{name}/{model}/{side}/{lang}/rows             int64 [n_selected] row indices into activations
        .../{type_id, partner_type} int32, partner_row int64   [n_selected] (partner -1 where not linked)
      clusters/{model}/{side}/layer_{i}/{space}/k{K}/labels    int32 [n_clustered]; centroids float32 [K, hidden]
        .../{space}/k{K}-seed{s}                  the same under a further seed of the seed spread
      alignments/{model}/{side}/layer_{i}/{selection}/k{K}/{forward,backward}
                                                  CALIGN per source cluster: sizes, best_target, match_share, aligned

Selection names: ``colap``, and ``calign-{src}-{tgt}`` (plus ``-{src_side}-{tgt_side}`` when the two languages'
sides differ). A cluster space is ``{selection}/{lang}`` or ``{selection}/joint-{a}-{b}`` for the rows of a
selection, and ``{lang}`` / ``joint-{a}-{b}`` for all rows of the activations. An alignment's ``side`` is its
source side. What the arrays of each artefact hold, and when one is trusted: :mod:`engine.store.artefacts`.
"""

from __future__ import annotations

STORE_FORMAT = "babelscope-store"
FORMAT_VERSION = 1
SIDES = ("encoder", "decoder")

# the store's top-level sections
CORPUS, VOCAB, ACTIVATIONS, WORDS, MISSING = "corpus", "vocab", "activations", "words", "missing"
LINKS, DICTIONARIES, SELECTIONS, CLUSTERS, ALIGNMENTS = "links", "dictionaries", "selections", "clusters", "alignments"
SECTIONS = (CORPUS, VOCAB, ACTIVATIONS, WORDS, MISSING, LINKS, DICTIONARIES, SELECTIONS, CLUSTERS, ALIGNMENTS)
EXTRACTION_SECTIONS = (ACTIVATIONS, WORDS, MISSING)  # the three groups one extraction writes

REFS_PATH = f"{CORPUS}/refs"
SHARD_DONE = "shard_done"  # member of an activation group: uint8 [n_shards]
COLAP_SELECTION = "colap"
CALIGN_PREFIX = "calign-"


def section(name: str) -> str:
    """The top-level section of a store path (``links/en-de/sentence`` -> ``links``)."""
    return name.split("/", 1)[0]


def corpus_path(lang: str) -> str:
    return f"{CORPUS}/{lang}"


def vocab_path(lang: str) -> str:
    return f"{VOCAB}/{lang}"


def activations_path(model: str, side: str, lang: str) -> str:
    return f"{ACTIVATIONS}/{model}/{side}/{lang}"


def layer_name(layer: int) -> str:
    return f"layer_{layer}"


def is_layer_name(member: str) -> bool:
    """Whether an activation group's member is a layer array (``layer_{i}``)."""
    return member.startswith("layer_") and member[len("layer_"):].isdigit()


def words_path(model: str, side: str, lang: str) -> str:
    return f"{WORDS}/{model}/{side}/{lang}"


def missing_path(model: str, side: str, lang: str) -> str:
    return f"{MISSING}/{model}/{side}/{lang}"


def extraction_paths(model: str, side: str, lang: str) -> tuple[str, str, str]:
    """(activations, words, missing) groups of one model × side × language."""
    return activations_path(model, side, lang), words_path(model, side, lang), missing_path(model, side, lang)


def extraction_of(name: str) -> str:
    """``{model}/{side}/{lang}`` of a path inside an extraction's groups (``words/m/encoder/en/sentence``)."""
    return "/".join(name.split("/")[1:4])


def extraction_group(prefix: str, extraction: str) -> str:
    """The ``prefix`` (one of EXTRACTION_SECTIONS) group of ``{model}/{side}/{lang}``."""
    return f"{prefix}/{extraction}"


def pair_name(src: str, tgt: str) -> str:
    return f"{src}-{tgt}"


def links_path(src: str, tgt: str) -> str:
    return f"{LINKS}/{pair_name(src, tgt)}"


def dictionary_path(src: str, tgt: str) -> str:
    return f"{DICTIONARIES}/{pair_name(src, tgt)}"


def pair_of(name: str) -> str:
    """The ``{src}-{tgt}`` of a links or dictionary path."""
    return name.split("/")[1]


def calign_selection(src: str, tgt: str, src_side: str = "encoder", tgt_side: str = "encoder") -> str:
    """Name of a pair's CALIGN set: ``calign-{src}-{tgt}``, plus ``-{src_side}-{tgt_side}`` when sides differ."""
    base = f"{CALIGN_PREFIX}{pair_name(src, tgt)}"
    return base if src_side == tgt_side else f"{base}-{src_side}-{tgt_side}"


def calign_selections_of_pair(pair: str) -> set[str]:
    """Every CALIGN selection name made from the links ``pair`` (``en-de``), over all side pairs."""
    src, _, tgt = pair.partition("-")
    return {calign_selection(src, tgt, a, b) for a in SIDES for b in SIDES} if tgt else {f"{CALIGN_PREFIX}{pair}"}


def selection_path(name: str, model: str, side: str, lang: str) -> str:
    return f"{SELECTIONS}/{name}/{model}/{side}/{lang}"


def joint_space(a: str, b: str) -> str:
    return f"joint-{a}-{b}"


def cluster_space(langs: list[str] | tuple[str, ...], selection: str | None = None) -> str:
    """The one spelling of a clustered space: ``{selection}/{lang}``, ``{selection}/joint-{a}-{b}``, or without
    the selection prefix when all activation rows are clustered."""
    inner = langs[0] if len(langs) == 1 else joint_space(*langs)
    return inner if selection is None else f"{selection}/{inner}"


def clusters_path(model: str, side: str, layer: int, space: str, k: int, extra_seed: int | None = None) -> str:
    """A clustering of ``space`` at ``k``: ``k{K}`` under the run's first seed, ``k{K}-seed{s}`` under a further
    seed ``extra_seed`` of the seed spread (``cluster.n_seeds``)."""
    tail = f"k{k}" if extra_seed is None else f"k{k}-seed{extra_seed}"
    return f"{CLUSTERS}/{model}/{side}/{layer_name(layer)}/{space}/{tail}"


def alignment_path(model: str, side: str, layer: int, selection: str, k: int, direction: str) -> str:
    """CALIGN's per-cluster alignment of one direction (``forward`` | ``backward``); ``side``: the source side."""
    return f"{ALIGNMENTS}/{model}/{side}/{layer_name(layer)}/{selection}/k{k}/{direction}"
