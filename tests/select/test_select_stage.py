"""The select stage on a crafted store (exact counts) and end to end through the CLI with a tiny model."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from engine.align import Links, corpus_tokens, write_links
from engine.cli import app
from engine.config import validate_config
from engine.corpus import Corpus
from engine.errors import StoreError
from engine.select import COLAP, calign_name, read_selection, run_select
from engine.store import init_store, layout, open_store

# 20 sentences "the cat w{i}" / "die Katze v{i}", one of 300 words (dropped by the length filter), one reversed.
EN = [["the", "cat", f"w{i}"] for i in range(20)] + [["the"] * 300] + [["cat", "the"]]
DE = [["die", "Katze", f"v{i}"] for i in range(20)] + [["die"] * 5] + [["Katze", "die"]]
LINKS = [[(0, 0), (1, 1), (2, 2)] for _ in range(20)] + [[(0, 0)]] + [[(0, 0), (1, 1)]]
LINKS[3] = [(0, 0), (0, 1), (1, 1), (2, 2)]  # "the" of sentence 3 also linked to "Katze": two partners
MISSING = {"en": {(2, 0)}, "de": set()}  # the "the" of sentence 2 got no vector


def fake_extraction(root, model: str, side: str, lang: str) -> None:
    """What extraction leaves in the store (words table, complete activations group), without vectors."""
    tokens = corpus_tokens(root, lang)
    sentence = np.repeat(np.arange(tokens.n_sentences), tokens.lengths)
    position = np.arange(len(sentence)) - tokens.offsets[sentence]
    keep = np.array([(int(s), int(p)) not in MISSING[lang] for s, p in zip(sentence, position, strict=True)])
    words = root.require_group(layout.words_path(model, side, lang))
    for key, values in (("type_id", tokens.type_id[keep]), ("sentence", sentence[keep]), ("position", position[keep])):
        words.create_array(key, shape=(int(keep.sum()),), dtype="int32", overwrite=True)[:] = values
    group = root.require_group(layout.activations_path(model, side, lang))
    group.attrs.update({"n_rows": int(keep.sum()), "complete": True})


@pytest.fixture
def crafted(tmp_path):
    store = tmp_path / "run.zarr"
    root = init_store(store, Corpus(("en", "de"), {"en": EN, "de": DE}, [str(i) for i in range(len(EN))]))
    for lang in ("en", "de"):
        fake_extraction(root, "fake", "encoder", lang)
    write_links(root, "en", "de", Links.from_pairs(LINKS), {"corpus_hash": root.attrs["corpus_hash"]})

    def config(**select):
        return validate_config({"models": [{"name": "fake"}], "corpus": {"source": "bible", "languages": ["en", "de"]},
                                "store": {"path": str(store)}, "select": select})
    return store, config


def words_of(store, selection, lang):
    root = open_store(store)
    table = root[layout.words_path("fake", "encoder", lang)]
    vocab = root[layout.vocab_path(lang)][:]
    return [str(vocab[t]) for t in table["type_id"][:][selection.rows]], table["sentence"][:][selection.rows]


def test_colap_caps_per_type_in_corpus_order(crafted):
    store, config = crafted
    summaries = run_select(config())
    assert [(s.name, s.lang) for s in summaries] == [(COLAP, "en"), (COLAP, "de"), ("calign-en-de", "en"),
                                                     ("calign-en-de", "de")]
    en = read_selection(open_store(store), COLAP, "fake", "encoder", "en")
    words, sentences = words_of(store, en, "en")
    the = sentences[np.array(words) == "the"].tolist()
    assert the == [0, 1] + list(range(3, 16))  # 15, first come; sentence 2's "the" has no vector; 20 is too long
    assert sentences[np.array(words) == "cat"].tolist() == list(range(15))
    assert sum(w.startswith("w") for w in words) == 20
    assert len(en) == 50 and (np.diff(en.rows) > 0).all() and (en.partner_type == -1).all()
    assert en.attrs["complete"] and en.attrs["sentences_kept"] == 21 and en.attrs["kind"] == "colap"


def test_calign_reference_duplicates_and_dedup(crafted):
    store, config = crafted
    run_select(config())
    root = open_store(store)
    src = read_selection(root, "calign-en-de", "fake", "encoder", "en")
    tgt = read_selection(root, "calign-en-de", "fake", "encoder", "de")
    assert len(src) == len(tgt) == 15 + 1 + 15 + 20  # (the,die) + (the,Katze) + (cat,Katze) + (w_i,v_i)
    src_words, src_sent = words_of(store, src, "en")
    tgt_words, tgt_sent = words_of(store, tgt, "de")
    assert (src_sent == tgt_sent).all()  # row i of both sides: the two ends of one link
    pairs = list(zip(src_words, tgt_words, strict=True))
    assert pairs.count(("the", "die")) == 15 and pairs.count(("the", "Katze")) == 1
    assert src_sent[np.array(pairs, dtype=object)[:, 0] == "the"].tolist().count(3) == 2  # two partners, twice
    assert (src.partner_row == tgt.rows).all() and (tgt.partner_type == src.type_id).all()
    assert src.attrs["stats"]["links_without_vector"] == 1 and src.attrs["selection_hash"] == \
        tgt.attrs["selection_hash"]
    run_select(config(calign={"duplicates": "dedup"}, colap={"enabled": False}))
    root = open_store(store)
    src = read_selection(root, "calign-en-de", "fake", "encoder", "en")
    tgt = read_selection(root, "calign-en-de", "fake", "encoder", "de")
    assert len(src) == 50 and len(tgt) == 50 and len(np.unique(src.rows)) == 50 and (np.diff(tgt.rows) > 0).all()


def test_thresholds_from_config(crafted):
    store, config = crafted
    run_select(config(colap={"min_frequency": 2, "max_per_type": 3},
                      calign={"max_per_pair": 2, "delete_frequency": 20}))
    root = open_store(store)
    en = read_selection(root, COLAP, "fake", "encoder", "en")
    assert words_of(store, en, "en")[0] == ["the", "cat", "the", "cat", "cat", "the"]
    src = read_selection(root, "calign-en-de", "fake", "encoder", "en")
    tgt = read_selection(root, "calign-en-de", "fake", "encoder", "de")
    # (the,die) and (cat,Katze) are linked 21 times (> 20): deleted; 20 (w_i, v_i) + 1 (the, Katze) remain
    assert len(src) == 21 and ("the", "Katze") in zip(words_of(store, src, "en")[0], words_of(store, tgt, "de")[0],
                                                      strict=True)


def test_reservoir_is_seeded_and_capped(crafted):
    store, config = crafted
    picks = []
    for seed in (1, 1, 2):
        run_select(config(colap={"sampling": "reservoir", "seed": seed}, calign={"enabled": False}))
        picks.append(read_selection(open_store(store), COLAP, "fake", "encoder", "en").rows.tolist())
    assert picks[0] == picks[1] != picks[2]
    assert len(picks[0]) == 50


def test_missing_links_and_incomplete_activations(crafted):
    store, config = crafted
    root = open_store(store, mode="r+")
    del root["links"]
    with pytest.raises(StoreError) as err:
        run_select(config(colap={"enabled": False}))
    assert str(err.value) == "store has no links en-de ('links/en-de'); run `babelscope align`"
    root[layout.activations_path("fake", "encoder", "de")].attrs["complete"] = False
    with pytest.raises(StoreError, match="activations 'activations/fake/encoder/de' are incomplete"):
        run_select(config(calign={"enabled": False}))


runner = CliRunner()


def test_cli_extract_align_select_with_decoder_side(tiny_models, tmp_path):
    files = {}
    lines = {"en": ["In the beginning God created the heaven", "And God said", "God saw the light"],
             "de": ["Im Anfang schuf Gott die Himmel", "Und Gott sprach", "Gott sah das Licht"]}
    for lang, text in lines.items():
        files[lang] = str(tmp_path / f"{lang}.txt")
        (tmp_path / f"{lang}.txt").write_text("\n".join(text) + "\n", encoding="utf-8")
    (tmp_path / "en-de.links").write_text("0-0 1-1 2-2 3-3 4-4 5-5 6-5\n0-0 1-1 2-2\n0-0 1-1 2-2 3-3\n",
                                          encoding="utf-8")
    config = {"models": [{"name": str(tiny_models["t5"]), "label": "tiny"}],
              "corpus": {"source": "text", "files": files, "pretokenized": True},
              "extract": {"sides": ["encoder", "decoder"], "layers": [0], "device": "cpu"},
              "store": {"path": str(tmp_path / "run.zarr")},
              "align": {"links": {"en-de": str(tmp_path / "en-de.links")}},
              "select": {"calign": {"side_pairs": [["encoder", "decoder"]]}}}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    for command in (["extract", str(path), "--no-progress"], ["align", str(path)]):
        result = runner.invoke(app, command)
        assert result.exit_code == 0, result.output
    assert "en-de: 14 links over 3 sentence pairs (imported, as imported" in result.output
    result = runner.invoke(app, ["select", str(path)])
    assert result.exit_code == 0, result.output
    name = calign_name("en", "de", "encoder", "decoder")
    assert f"{name} tiny/encoder/en: 14 rows, 10 types" in result.output
    assert f"{name} tiny/decoder/de: 14 rows, 11 types" in result.output
    assert "colap tiny/decoder/de: 13 rows, 11 types" in result.output
    root = open_store(tmp_path / "run.zarr")
    sel = read_selection(root, name, "tiny", "decoder", "de")
    table = root[layout.words_path("tiny", "decoder", "de")]
    assert table["position"][:][sel.rows].tolist() == [0, 1, 2, 3, 4, 5, 5, 0, 1, 2, 0, 1, 2, 3]
    bad = runner.invoke(app, ["select", str(path), "--set", "select.calign.side_pairs=[[encoder, middle]]"])
    assert bad.exit_code == 2 and "select.calign.side_pairs.0.1: Input should be 'encoder' or 'decoder'" in bad.output
