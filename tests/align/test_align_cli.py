"""``babelscope align`` on a text corpus with imported links: output, export, and a bad links file."""

from __future__ import annotations

import yaml
from typer.testing import CliRunner

from engine.cli import app
from engine.dictionary import read_reference

runner = CliRunner()


def write_config(tmp_path, links: str, **align) -> str:
    files = {}
    for lang, lines in (("en", ["God said", "God saw the light"]), ("de", ["Gott sprach", "Gott sah das Licht"])):
        files[lang] = str(tmp_path / f"{lang}.txt")
        (tmp_path / f"{lang}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "en-de.links").write_text(links, encoding="utf-8")
    data = {"models": [{"name": "unused"}], "corpus": {"source": "text", "files": files, "pretokenized": True},
            "store": {"path": str(tmp_path / "run.zarr")},
            "align": {"links": {"en-de": str(tmp_path / "en-de.links")}, **align}}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return str(path)


def test_import_and_export(tmp_path):
    config = write_config(tmp_path, "0-0 1-1\n0-0 1-1 2-2 3-3 2-3\n")
    result = runner.invoke(app, ["align", config, "--export", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0]
    assert first.startswith("en-de: 7 links over 2 sentence pairs (imported, as imported, ")
    assert first.endswith("); dictionary 6 entries for 5 words")
    d = read_reference(tmp_path / "out" / "en-de.dict.txt")
    assert (tmp_path / "out" / "en-de.dict.txt").read_text(encoding="utf-8").splitlines()[:3] == [
        "God -> Gott: Probability = 1.0, Count = 2",
        "said -> sprach: Probability = 1.0, Count = 1",
        "saw -> sah: Probability = 1.0, Count = 1",
    ]
    the = sorted((int(r), t) for s, t, r in zip(d.src, d.tgt, d.rank, strict=True) if s == "the")
    assert the == [(0, "Licht"), (1, "das")]  # p and count tie: code-point order of the target word


def test_reverse_links_are_symmetrised(tmp_path):
    config = write_config(tmp_path, "0-0 1-1\n0-0 1-1 2-2 2-3\n", symmetrization="intersection",
                          reverse_links={"en-de": str(tmp_path / "rev.links")})
    (tmp_path / "rev.links").write_text("0-0\n0-0 1-1 2-2 3-3\n", encoding="utf-8")
    result = runner.invoke(app, ["align", config])
    assert result.exit_code == 0, result.output
    assert "en-de: 4 links over 2 sentence pairs (imported, intersection" in result.output


def test_link_out_of_range_names_file_line_index_and_length(tmp_path):
    config = write_config(tmp_path, "0-0\n0-0 9-1\n")
    result = runner.invoke(app, ["align", config])
    assert result.exit_code == 2
    assert result.output.strip() == (f"error: {tmp_path / 'en-de.links'}: line 2: source index 9 of link '9-1' "
                                     f"must be < sentence length 4 (sentence 1)")
    bad_key = runner.invoke(app, ["align", config, "--set", "align.links={de-en: x}"])
    assert bad_key.exit_code == 2
    assert "align.links has key 'de-en'; expected one of the aligned pairs ['en-de'] (written src-tgt)" in \
        bad_key.output


def test_store_of_another_corpus_is_refused_unless_overwrite(tmp_path):
    config = write_config(tmp_path, "0-0 1-1\n0-0\n")
    assert runner.invoke(app, ["align", config]).exit_code == 0
    (tmp_path / "de.txt").write_text("Gott redete\nGott sah das Licht\n", encoding="utf-8")
    refused = runner.invoke(app, ["align", config])
    assert refused.exit_code == 2 and "was written for another corpus" in refused.output
    redone = runner.invoke(app, ["align", config, "--overwrite"])
    assert redone.exit_code == 0, redone.output
    assert "en-de: 3 links over 2 sentence pairs" in redone.output
