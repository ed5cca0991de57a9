"""The registries agree with what reads them: corpus sources with the config's corpus sections, clustering
backends with the config's and fit's allowed values, metrics with the rows they write and the tables' schema."""

from __future__ import annotations

import typing

import numpy as np
import pytest

from engine.cluster import api, backends
from engine.config import CORPUS_SOURCES, ClusterSpec
from engine.corpus import SOURCES, load_corpus
from engine.errors import ConfigError
from engine.metrics import TypeClusters, calign, colap, registry
from engine.metrics.rows import calign_rows, colap_rows


def test_every_corpus_source_has_a_spec_and_a_provider(tmp_path):
    assert set(SOURCES) == set(CORPUS_SOURCES)
    for source, spec in CORPUS_SOURCES.items():
        assert spec.model_fields["source"].default == source
    text = CORPUS_SOURCES["text"](files={"en": tmp_path / "en.txt"})
    (tmp_path / "en.txt").write_text("In the beginning .\n", encoding="utf-8")
    assert load_corpus(text).words("en") == [["In", "the", "beginning", "."]]
    with pytest.raises(ConfigError, match="source of corpus must be one of bible, text; got 'ftp'"):
        load_corpus(type("Spec", (), {"source": "ftp"})())


def test_backends_are_read_from_the_registry():
    assert backends.BACKENDS == ("auto", *backends.RUNNERS) == api.BACKENDS
    assert typing.get_args(ClusterSpec.model_fields["backend"].annotation) == backends.BACKENDS
    x = np.random.default_rng(0).normal(size=(60, 4)).astype(np.float32)
    start = x[:3].copy()
    for name in ("torch", "sklearn"):  # each registered CPU runner is what fit dispatches to
        result = api.fit(x, 3, backend=name, device="cpu", init=start, max_iter=5, tol=0.0)
        assert result.backend == name and result.labels.shape == (60,)


@pytest.fixture(scope="module")
def rows():
    rng = np.random.default_rng(0)
    src = TypeClusters.from_tokens(rng.integers(0, 5, 120), rng.integers(0, 20, 120), n_clusters=5, n_types=20)
    tgt = TypeClusters.from_tokens(rng.integers(0, 5, 120), rng.integers(0, 20, 120), n_clusters=5, n_types=20)
    key = {"model": "m", "side": "encoder", "layer": 1, "src": "en", "tgt": "de", "k": 5}
    cal = calign(src, tgt, (np.arange(20), np.arange(20)), theta=0.3, top_n=1, repeats=3)
    col = colap(rng.integers(0, 5, 100), np.repeat([0, 1], 50), languages=["en", "de"], theta=0.3, repeats=3)
    return {"calign": calign_rows(cal, **key, n_points=(120, 120)), "colap": colap_rows(col, **key, n_points=100)}


def test_each_metric_writes_the_rows_it_registers(rows):
    from engine import results

    assert results.METRICS == registry.table_metrics()
    assert {m.name for m in registry.METRICS} == set(rows)
    for metric in registry.METRICS:
        result_rows, curve_rows = rows[metric.name]
        assert {r["metric"] for r in result_rows + curve_rows} == set(metric.table_metrics)
        assert {r["direction"] for r in result_rows + curve_rows} <= set(metric.directions)
        assert {r["baseline_kind"] for r in result_rows} - {None} <= {kind for kind, _ in metric.baseline_kinds}
        assert registry.of_table_metric(metric.table_metrics[-1]) is metric
        assert callable(metric.measure())
    assert set(results.DIRECTIONS) == {d for m in registry.METRICS for d in m.directions}


def test_side_pairs_and_spaces():
    assert registry.side_label(("encoder", "encoder")) == "encoder"
    assert registry.side_label(("encoder", "decoder")) == "encoder-decoder"
    spaces = registry.by_name("calign").spaces("en", "de", ("encoder", "decoder"))
    assert [(s.side, s.selection, s.langs) for s in spaces] == [
        ("encoder", "calign-en-de-encoder-decoder", ("en",)), ("decoder", "calign-en-de-encoder-decoder", ("de",))]
    joint = registry.by_name("colap").spaces("en", "de", ("decoder", "decoder"))
    assert [(s.side, s.selection, s.langs) for s in joint] == [("decoder", "colap", ("en", "de"))]
    with pytest.raises(KeyError, match="registered: \\['calign', 'colap'\\]"):
        registry.by_name("purity")
