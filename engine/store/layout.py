"""Names of everything inside a babelscope store (one place, so no stage spells a path by hand).

::

    run.zarr/                                     attrs: format, format_version, corpus_hash, languages, ...
      corpus/refs                                 str [n_sentences]   ("Gen 1:1", "line 17", ...)
      corpus/{lang}                               str [n_sentences]   word-tokenized sentence, words joined by " "
      vocab/{lang}                                str [n_types]       type_id -> word
      activations/{model}/{side}/{lang}/layer_{i} float16 [n_rows, hidden]  attrs: complete, model, aggregation, ...
      activations/{model}/{side}/{lang}/shard_done uint8 [n_shards]  1 once a shard's rows are written
      words/{model}/{side}/{lang}/{type_id,sentence,position}  int32 [n_rows]  row-aligned with activations
      missing/{model}/{side}/{lang}/{sentence,position}        int32 [n_missing] words that got no vector
"""

from __future__ import annotations

STORE_FORMAT = "babelscope-store"
FORMAT_VERSION = 1
SIDES = ("encoder", "decoder")


def corpus_path(lang: str) -> str:
    return f"corpus/{lang}"


REFS_PATH = "corpus/refs"


def vocab_path(lang: str) -> str:
    return f"vocab/{lang}"


def activations_path(model: str, side: str, lang: str) -> str:
    return f"activations/{model}/{side}/{lang}"


def layer_name(layer: int) -> str:
    return f"layer_{layer}"


def words_path(model: str, side: str, lang: str) -> str:
    return f"words/{model}/{side}/{lang}"


def missing_path(model: str, side: str, lang: str) -> str:
    return f"missing/{model}/{side}/{lang}"


# --- alignment, dictionaries, selections, clusters -------------------------------------------------------
# links/{src}-{tgt}/{sentence,src_pos,tgt_pos}     int32 [n_links]  word links, positions in corpus/{lang}
# dictionaries/{src}-{tgt}/{src_type,tgt_type,count} int32, prob float64 [n_entries]  (type ids of vocab/{lang})
#   .../rank                                       int32 [n_entries] rank among the source word's entries
# selections/{name}/{model}/{side}/{lang}/rows     int64 [n_selected] row indices into activations (no copies)
#   .../{type_id, partner_type}                    int32 [n_selected] (partner_type -1 where not linked)
#   .../partner_row                                int64 [n_selected] linked word's row on the other side, or -1
#   name = "colap" or "calign-{src}-{tgt}" (engine.select.calign_name)
# clusters/{model}/{side}/layer_{i}/{space}/k{K}/labels  int32 [n_selected]; centroids float32 [K, hidden]
#   space = a language, or joint-{a}-{b}; attrs: backend, seed, K, inertia, n_iter, selection, complete.
#   `babelscope run` prefixes the space with the selection it clusters, since a language takes part in
#   several pairs: {selection}/{lang} (e.g. calign-en-de/en) and colap/joint-{a}-{b}.


def pair_name(src: str, tgt: str) -> str:
    return f"{src}-{tgt}"


def links_path(src: str, tgt: str) -> str:
    return f"links/{pair_name(src, tgt)}"


def dictionary_path(src: str, tgt: str) -> str:
    return f"dictionaries/{pair_name(src, tgt)}"


def selection_path(name: str, model: str, side: str, lang: str) -> str:
    return f"selections/{name}/{model}/{side}/{lang}"


def joint_space(a: str, b: str) -> str:
    return f"joint-{a}-{b}"


def clusters_path(model: str, side: str, layer: int, space: str, k: int) -> str:
    return f"clusters/{model}/{side}/{layer_name(layer)}/{space}/k{k}"
