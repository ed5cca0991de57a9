"""The ``babelscope`` command line."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from engine.errors import BabelscopeError

app = typer.Typer(help="Latent concept analysis of multilingual language models.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
material_app = typer.Typer(help="Embedded material (models shipped in packages).", no_args_is_help=True)
app.add_typer(material_app, name="material")

log = logging.getLogger("engine")

SetOption = Annotated[list[str] | None, typer.Option("--set", help="Override a config key: section.key=value")]


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")


def _fail(exc: BabelscopeError) -> None:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(code=2)


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False) -> None:
    _setup_logging(verbose)


@app.command()
def extract(
    config: Annotated[Path, typer.Argument(help="YAML config file.")],
    set_: SetOption = None,
    overwrite: Annotated[bool, typer.Option(help="Redo groups this config writes, even if complete.")] = False,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """Extract word-level activations of every configured model, side and language into the store."""
    from engine.config import load_config
    from engine.extract import run_extraction

    try:
        cfg = load_config(config, set_ or [])
        summaries = run_extraction(cfg, overwrite=overwrite, progress=progress and sys.stderr.isatty())
    except BabelscopeError as exc:
        _fail(exc)
    for s in summaries:
        rate = f"{s.words_per_second:,.0f} words/s" if s.shards_computed else "already complete"
        typer.echo(f"{s.model}/{s.side}/{s.lang}: {s.n_rows} words x {len(s.layers)} layers "
                   f"({s.stats.get('missing_words', 0)} missing) - {rate}")
    typer.echo(f"store: {cfg.store.path}")


@app.command()
def info(
    store: Annotated[Path, typer.Argument(help="Path of a babelscope store (.zarr).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show what a store holds."""
    from engine.store import store_info

    try:
        summary = store_info(store)
    except BabelscopeError as exc:
        _fail(exc)
    if as_json:
        typer.echo(json.dumps(summary, indent=2, default=str))
        return
    typer.echo(f"store {summary['path']} (engine {summary['engine_version']}, corpus {summary['corpus_hash']})")
    typer.echo(f"  corpus: {summary['n_sentences']} sentences, languages {', '.join(summary['languages'])}")
    typer.echo("  vocab: " + ", ".join(f"{k}={v}" for k, v in summary["vocab_sizes"].items()))
    for g in summary["activations"]:
        state = "complete" if g["complete"] else f"INCOMPLETE ({g['shards_done']}/{g['shards']} shards)"
        typer.echo(f"  {g['model']}/{g['side']}/{g['lang']}: {g['n_rows']} rows x {g['hidden']}, "
                   f"layers {g['layers']}, {g['aggregation']}, {g['compute_dtype']}, {state}")


@material_app.command("list")
def material_list() -> None:
    """List embedded material and whether it is prepared."""
    from engine.material import list_material

    for item in list_material():
        state = f"prepared at {item['path']}" if item["prepared"] else "not prepared"
        typer.echo(f"{item['name']}: {item['description']} [{state}]")


@material_app.command("prepare")
def material_prepare(
    names: Annotated[list[str] | None, typer.Argument(help="Material names (default: all).")] = None,
    force: Annotated[bool, typer.Option(help="Rebuild even if prepared.")] = False,
) -> None:
    """Convert embedded material into standard Hugging Face folders (once; cached in BABELSCOPE_HOME)."""
    from engine.material import MATERIAL_NAMES, prepare_material

    try:
        for name in names or list(MATERIAL_NAMES):
            path = prepare_material(name, force=force)
            typer.echo(f"{name}: {path}")
    except BabelscopeError as exc:
        _fail(exc)


if __name__ == "__main__":  # pragma: no cover
    app()
