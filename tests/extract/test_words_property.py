"""Property: for any Unicode sentences, stored vectors == words − counted misses, and positions never shift."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.config import validate_config
from engine.extract import run_extraction
from engine.extract.plan import plan_language
from engine.store import build_vocab, layout, open_store, read_strings

WORD = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc")),
    min_size=1,
    max_size=12,
).filter(lambda w: w.split() == [w])
SENTENCES = st.lists(st.lists(WORD, min_size=1, max_size=14), min_size=1, max_size=6)
# words the tokenizer may drop entirely: zero-width, bidi marks, lone combining marks, invisible format chars
ODD = st.sampled_from(["\u200b", "\u200d", "\ufeff", "\u2060", "\u0301", "\u202e", "\U000e0041", "a\u200bb"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sentences=SENTENCES, odd=st.lists(ODD, max_size=3), where=st.integers(0, 5))
def test_rows_equal_words_minus_missing(tiny_models, sentences, odd, where):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_models["xlmr"])
    target = sentences[where % len(sentences)]
    target[1:1] = odd
    _, index = build_vocab(sentences)
    plan = plan_language(tokenizer, sentences, index, max_tokens=24, long_sentences="window")
    n_words = sum(len(s) for s in sentences)
    assert plan.n_rows == n_words - plan.stats["missing_words"]
    assert len(plan.missing_sentence) == plan.stats["missing_words"]
    # every (sentence, position) appears exactly once, as a row or as a miss
    seen = set(zip(plan.sentence.tolist(), plan.position.tolist(), strict=True))
    missing = set(zip(plan.missing_sentence.tolist(), plan.missing_position.tolist(), strict=True))
    assert not seen & missing
    assert seen | missing == {(s, p) for s, words in enumerate(sentences) for p in range(len(words))}
    # rows keep corpus order and their type ids name the right words
    order = plan.sentence.astype(np.int64) * 1000 + plan.position
    assert np.all(np.diff(order) > 0)
    vocab = list(index)
    for t, s, p in zip(plan.type_id, plan.sentence, plan.position, strict=True):
        assert vocab[t] == sentences[s][p]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sentences=st.lists(st.lists(WORD, min_size=1, max_size=8), min_size=2, max_size=5),
       odd=st.lists(ODD, min_size=1, max_size=2))
def test_store_rows_equal_words_minus_missing(tiny_models, tmp_path_factory, sentences, odd):
    sentences[0][0:0] = odd
    folder = tmp_path_factory.mktemp("prop")
    files = {}
    for lang in ("xx", "yy"):
        path = folder / f"{lang}.txt"
        path.write_text("\n".join(" ".join(words) for words in sentences) + "\n", encoding="utf-8")
        files[lang] = str(path)
    config = validate_config({
        "models": [{"name": str(tiny_models["bert"]), "label": "tiny"}],
        "corpus": {"source": "text", "files": files, "pretokenized": True},
        "store": {"path": str(folder / "s.zarr"), "chunk_rows": 4, "shard_rows": 8},
    })
    summary = run_extraction(config, progress=False)[0]
    root = open_store(folder / "s.zarr")
    group = root[layout.activations_path("tiny", "encoder", "xx")]
    # count the words of the corpus as the provider read it (a BOM opening the file is not a word)
    stored = [line.split(" ") for line in read_strings(root, layout.corpus_path("xx"))]
    n_words = sum(len(s) for s in stored)
    assert group["layer_1"].shape[0] == n_words - summary.stats["missing_words"]
    assert not np.isnan(group["layer_1"][:]).any()
    assert root[layout.missing_path("tiny", "encoder", "xx")]["sentence"].shape[0] == summary.stats["missing_words"]
