"""The command line end to end on tiny models, and its bad-input messages."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from engine.cli import app

runner = CliRunner()


def write_config(tmp_path, model, **sections) -> str:
    files = {}
    for lang, lines in (("en", ["In the beginning God created", "And the earth was without form"]),
                        ("de", ["Im Anfang schuf Gott", "Und die Erde war wüst"])):
        path = tmp_path / f"{lang}.txt"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        files[lang] = str(path)
    data = {
        "models": [{"name": str(model), "label": "tiny"}],
        "corpus": {"source": "text", "files": files},
        "store": {"path": str(tmp_path / "run.zarr")},
    }
    for key, value in sections.items():
        data[key] = {**data.get(key, {}), **value}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return str(path)


def test_extract_info_and_overrides(tiny_models, tmp_path):
    config = write_config(tmp_path, tiny_models["bert"])
    result = runner.invoke(app, ["extract", config, "--set", "extract.layers=[0, 2]", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "tiny/encoder/en: 11 words x 2 layers (0 missing)" in result.output
    info = runner.invoke(app, ["info", str(tmp_path / "run.zarr")])
    assert info.exit_code == 0, info.output
    assert "tiny/encoder/de: 9 rows x 64, layers [0, 2], last, float32, complete" in info.output
    as_json = json.loads(runner.invoke(app, ["info", str(tmp_path / "run.zarr"), "--json"]).output)
    assert as_json["vocab_sizes"] == {"en": 10, "de": 9}
    again = runner.invoke(app, ["extract", config, "--set", "extract.layers=[0, 2]", "--no-progress"])
    assert "already complete" in again.output


def test_incompatible_store_is_refused_then_overwritten(tiny_models, tmp_path):
    config = write_config(tmp_path, tiny_models["bert"])
    assert runner.invoke(app, ["extract", config, "--no-progress"]).exit_code == 0
    refused = runner.invoke(app, ["extract", config, "--set", "extract.aggregation=mean", "--no-progress"])
    assert refused.exit_code == 2
    assert "written by an incompatible config" in refused.output and "--overwrite" in refused.output
    redone = runner.invoke(app, ["extract", config, "--set", "extract.aggregation=mean", "--overwrite",
                                 "--no-progress"])
    assert redone.exit_code == 0, redone.output
    assert "mean" in runner.invoke(app, ["info", str(tmp_path / "run.zarr")]).output


def test_store_of_another_corpus_is_refused(tiny_models, tmp_path):
    config = write_config(tmp_path, tiny_models["bert"])
    assert runner.invoke(app, ["extract", config, "--no-progress"]).exit_code == 0
    (tmp_path / "en.txt").write_text("Another text\nentirely\n", encoding="utf-8")
    result = runner.invoke(app, ["extract", config, "--no-progress"])
    assert result.exit_code == 2
    assert "was written for another corpus" in result.output


@pytest.mark.parametrize(
    ("sections", "message"),
    [
        ({"corpus": {"source": "bible", "languages": ["en", "xx"], "count": 2}}, "'xx'"),
        ({"models": [{"name": "no-such-org/no-such-model"}]},
         "not an embedded material name (me5-small, gemma-3-270m), not a local folder, and not in the local Hugging "
         "Face cache"),
        ({"extract": {"aggregation": "avg"}}, "extract.aggregation: Input should be 'first', 'last' or 'mean'"),
        ({"extract": {"layers": [0, 9]}}, "layers [9] of extract exceed the 2 layers of"),
        ({"extract": {"sides": ["decoder"]}}, "sides of extract lists 'decoder', but model"),
        ({"extract": {"device": "tpu"}}, "device of extract must be one of auto, cpu, cuda, cuda:N; got 'tpu'"),
    ],
)
def test_bad_input_messages(tiny_models, tmp_path, sections, message):
    config = write_config(tmp_path, tiny_models["bert"])
    data = yaml.safe_load(open(config, encoding="utf-8"))
    for key, value in sections.items():
        data[key] = value if key == "models" or "source" in value else {**data.get(key, {}), **value}
    with open(config, "w", encoding="utf-8") as fh:
        yaml.safe_dump(data, fh, sort_keys=False)
    result = runner.invoke(app, ["extract", config, "--no-progress"])
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_mismatched_line_counts_name_files(tiny_models, tmp_path):
    config = write_config(tmp_path, tiny_models["bert"])
    (tmp_path / "de.txt").write_text("Nur eine Zeile\n", encoding="utf-8")
    result = runner.invoke(app, ["extract", config, "--no-progress"])
    assert result.exit_code == 2
    assert "en.txt" in result.output and "de.txt" in result.output


def test_material_list():
    result = runner.invoke(app, ["material", "list"])
    assert result.exit_code == 0
    assert result.output.startswith("me5-small: ")


def test_info_on_missing_store(tmp_path):
    result = runner.invoke(app, ["info", str(tmp_path / "none.zarr")])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def _commands(group, prefix=()):
    import typer.main

    command = typer.main.get_command(group) if not hasattr(group, "commands") else group
    for name, sub in command.commands.items():
        if hasattr(sub, "commands"):
            yield from _commands(sub, (*prefix, name))
        else:
            yield (*prefix, name), sub


@pytest.mark.parametrize("path", [p for p, _ in _commands(app)], ids=" ".join)
def test_help_at_80_columns_shows_every_option_name_whole(path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    command = dict(_commands(app))[path]
    result = runner.invoke(app, [*path, "--help"], terminal_width=80)
    assert result.exit_code == 0, result.output
    assert "…" not in result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80
    for param in command.params:
        for opt in param.opts if param.param_type_name == "option" else []:
            assert opt in result.output, (path, opt)
