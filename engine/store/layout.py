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
