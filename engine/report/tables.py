"""The run tables on disk: validate DataFrames against :mod:`engine.results`, write and read them back.

A run folder holds ``results.parquet`` + ``results.csv``, ``curves.parquet``, ``concepts.parquet`` and
``results.json`` (config, versions, timings, row counts). Nested columns of ``concepts`` (``top_words``,
``examples``) are stored as Arrow lists of structs and come back as Python lists (see :mod:`engine.results`).
"""

from __future__ import annotations

import json
import logging
import math
import platform
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from engine import __version__
from engine.errors import InputDataError, StoreError, param_message
from engine.faults import failpoint
from engine.files import atomic_path, write_text_atomic
from engine.results import BASELINE_KINDS, CONCEPT_COLUMNS, CURVE_COLUMNS, DIRECTIONS, METRICS, RESULT_COLUMNS

log = logging.getLogger(__name__)

__all__ = [
    "RESULTS_PARQUET", "RESULTS_CSV", "CURVES_PARQUET", "CONCEPTS_PARQUET", "RESULTS_JSON", "RunTables",
    "validate_results", "validate_curves", "validate_concepts", "write_run_tables", "read_run_tables",
    "read_results", "first_seed_rows",
]

RESULTS_PARQUET, RESULTS_CSV = "results.parquet", "results.csv"
CURVES_PARQUET, CONCEPTS_PARQUET, RESULTS_JSON = "curves.parquet", "concepts.parquet", "results.json"
RUN_FORMAT, RUN_FORMAT_VERSION = "babelscope-run", 1
VERSION_PACKAGES = ("numpy", "pandas", "pyarrow", "torch", "transformers", "zarr", "dask", "distributed",
                    "scikit-learn", "matplotlib", "cupy-cuda13x", "cupy-cuda12x", "cuml-cu13", "cuml-cu12",
                    "eflomal")

_STR = "str"
_INT = "int"  # required, non-null
_NINT = "Int64"  # nullable integer
_FLOAT = "float"
RESULT_TYPES = {
    "model": _STR, "side": _STR, "layer": _INT, "pair": _STR, "src": _STR, "tgt": _STR, "metric": _STR,
    "direction": _STR, "value": _FLOAT, "baseline_mean": _FLOAT, "baseline_sd": _FLOAT, "p_value": _FLOAT,
    "repeats": _NINT, "baseline_kind": _STR, "k": _INT, "theta": _FLOAT, "top_n": _NINT, "min_types": _NINT,
    "seed": _NINT, "n_points": _NINT, "n_clusters": _NINT, "n_degenerate": _NINT, "n_dropped": _NINT,
}
CURVE_TYPES = {c: RESULT_TYPES[c] for c in CURVE_COLUMNS}
CONCEPT_TYPES = {
    "model": _STR, "side": _STR, "layer": _INT, "lang": _STR, "k": _INT, "cluster": _INT, "n_tokens": _INT,
    "n_types": _INT, "aligned_to": _INT, "match_share": _FLOAT, "other": _STR,
}
RESULT_KEY = ["model", "side", "layer", "pair", "metric", "direction", "k", "theta", "top_n", "min_types", "seed"]
CURVE_KEY = ["model", "side", "layer", "pair", "metric", "direction", "k", "theta"]
CONCEPT_KEY = ["model", "side", "layer", "lang", "k", "cluster", "other"]
NULLABLE_STR = {"baseline_kind", "other"}


@dataclass
class RunTables:
    """The tables of one run folder (``meta`` is results.json). ``results`` holds the first k-means seed's rows
    (what every table and plot shows); ``seeds`` every seed's rows when the run clustered under several
    (``cluster.n_seeds``; empty otherwise), for the seed spread."""

    results: pd.DataFrame
    curves: pd.DataFrame
    concepts: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)
    seeds: pd.DataFrame = field(default_factory=pd.DataFrame)


def first_seed_rows(results: pd.DataFrame) -> pd.DataFrame:
    """The rows of the first k-means seed (the smallest: a run's seeds are seed, seed + 1, ...; rows without a
    seed are kept)."""
    seeds = results["seed"].dropna()
    if seeds.nunique() <= 1:
        return results
    return results[results["seed"].isna() | (results["seed"] == seeds.min())].reset_index(drop=True)


def _fail(table: str, column: str, expected: str, got: Any) -> InputDataError:
    got = got.item() if isinstance(got, np.generic) else got
    return InputDataError(param_message(f"column {column!r}", f"the {table} table", expected, got))


def _coerce(df: pd.DataFrame, table: str, types: dict[str, str]) -> pd.DataFrame:
    for column, kind in types.items():
        values = df[column]
        if kind == _STR:
            missing = values.isna()
            if missing.any() and column not in NULLABLE_STR:
                raise _fail(table, column, "a string in every row", f"a missing value in row {int(missing.argmax())}")
            fill = "" if column == "other" else None
            df[column] = pd.Series([fill if m else str(v) for v, m in zip(values, missing, strict=True)],
                                   index=df.index, dtype=object)
            continue
        numeric = pd.to_numeric(values, errors="coerce")
        bad = numeric.isna() & values.notna()
        if bad.any():
            raise _fail(table, column, "numeric", values[bad].iloc[0])
        if kind == _FLOAT:
            df[column] = numeric.astype("float64")
            continue
        finite = numeric.dropna()
        if (finite != np.round(finite)).any():
            raise _fail(table, column, "integers", finite[finite != np.round(finite)].iloc[0])
        if kind == _INT and numeric.isna().any():
            raise _fail(table, column, "an integer in every row",
                        f"a missing value in row {int(numeric.isna().argmax())}")
        df[column] = numeric.astype("int64" if kind == _INT else "Int64")
    return df


def _check_columns(df: Any, table: str, columns: list[str], optional: dict[str, Any] | None = None) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise InputDataError(param_message(table, "write_run_tables", "a pandas DataFrame", type(df).__name__))
    df = df.copy()
    for column, default in (optional or {}).items():
        if column not in df.columns:
            df[column] = [default() for _ in range(len(df))]
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputDataError(param_message(f"the {table} table", "write_run_tables",
                                           "complete (every column of engine.results)", f"it lacks {missing}"))
    extra = [c for c in df.columns if c not in columns]
    if extra:
        log.debug("%s table: keeping extra columns %s after the schema's", table, extra)
    return df[columns + extra].reset_index(drop=True)


def _check_members(df: pd.DataFrame, table: str, column: str, allowed: tuple[str, ...], nullable: bool = False):
    values = df[column]
    bad = ~values.isin(allowed) & ~(values.isna() if nullable else False)
    if bad.any():
        raise _fail(table, column, "one of " + " | ".join(allowed), values[bad].iloc[0])


def _check_pairs(df: pd.DataFrame, table: str) -> None:
    bad = df["pair"] != df["src"] + "-" + df["tgt"]
    if bad.any():
        row = df[bad].iloc[0]
        raise _fail(table, "pair", f"'{{src}}-{{tgt}}' ({row['src']}-{row['tgt']})", row["pair"])


def _check_unique(df: pd.DataFrame, table: str, key: list[str]) -> None:
    dup = df.duplicated(subset=key, keep=False)
    if dup.any():
        row = df[dup].iloc[0]
        raise InputDataError(param_message(f"the {table} table", "write_run_tables", f"one row per {'/'.join(key)}",
                                           f"{int(dup.sum())} rows sharing a key, e.g. "
                                           f"{ {k: row[k] for k in key} }"))


def validate_results(df: pd.DataFrame) -> pd.DataFrame:
    """A checked, typed copy of a ``results`` table (columns of ``engine.results.RESULT_COLUMNS`` first)."""
    # n_dropped came with the reference clustering mode: a table written before it dropped nothing
    df = _coerce(_check_columns(df, "results", RESULT_COLUMNS, optional={"n_dropped": lambda: 0}), "results",
                 RESULT_TYPES)
    _check_members(df, "results", "metric", METRICS)
    _check_members(df, "results", "direction", DIRECTIONS)
    _check_members(df, "results", "baseline_kind", BASELINE_KINDS, nullable=True)
    _check_pairs(df, "results")
    _check_unique(df, "results", RESULT_KEY)
    return df


def validate_curves(df: pd.DataFrame) -> pd.DataFrame:
    """A checked, typed copy of a ``curves`` table."""
    df = _coerce(_check_columns(df, "curves", CURVE_COLUMNS), "curves", CURVE_TYPES)
    _check_members(df, "curves", "metric", METRICS)
    _check_members(df, "curves", "direction", DIRECTIONS)
    _check_pairs(df, "curves")
    _check_unique(df, "curves", CURVE_KEY)
    return df


def _top_words(value: Any, row: int) -> list[list]:
    out = []
    for entry in _as_list(value):
        if isinstance(entry, dict):
            entry = [entry.get("word"), entry.get("count"), entry.get("lang")]
        entry = list(entry)
        if len(entry) not in (2, 3) or not isinstance(entry[0], str) or isinstance(entry[1], bool) \
                or not isinstance(entry[1], int | np.integer):
            raise _fail("concepts", "top_words", "lists of [word, count] or [word, count, lang]",
                        f"{entry!r} in row {row}")
        word, count = entry[0], int(entry[1])
        out.append([word, count] if len(entry) == 2 or entry[2] is None else [word, count, str(entry[2])])
    return out


EXAMPLE_FIELDS = {"lang": str, "sentence": int, "ref": str, "position": int, "text": str}


def _examples(value: Any, row: int) -> list[dict]:
    out = []
    for entry in _as_list(value):
        if not isinstance(entry, dict) or set(entry) != set(EXAMPLE_FIELDS):
            raise _fail("concepts", "examples", f"dicts with keys {sorted(EXAMPLE_FIELDS)}", f"{entry!r} in row {row}")
        out.append({k: cast(entry[k]) for k, cast in EXAMPLE_FIELDS.items()})
    return out


def _targets(value: Any, row: int) -> list[int]:
    out = []
    for entry in _as_list(value):
        if isinstance(entry, bool) or not isinstance(entry, int | np.integer) or entry < 0:
            raise _fail("concepts", "aligned_targets", "lists of cluster indices (integers >= 0)",
                        f"{entry!r} in row {row}")
        out.append(int(entry))
    return out


def _as_list(value: Any) -> list:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    return list(value)


def validate_concepts(df: pd.DataFrame) -> pd.DataFrame:
    """A checked, typed copy of a ``concepts`` table (``examples`` and ``aligned_targets`` may be absent: filled
    with empty lists)."""
    df = _check_columns(df, "concepts", CONCEPT_COLUMNS, optional={"examples": list, "aligned_targets": list})
    df = _coerce(df, "concepts", CONCEPT_TYPES)
    df["aligned"] = df["aligned"].fillna(False).astype(bool)
    df["top_words"] = [_top_words(v, i) for i, v in enumerate(df["top_words"])]
    df["examples"] = [_examples(v, i) for i, v in enumerate(df["examples"])]
    df["aligned_targets"] = [_targets(v, i) for i, v in enumerate(df["aligned_targets"])]
    _check_unique(df, "concepts", CONCEPT_KEY)
    return df


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: [] for c in columns})


def _concepts_arrow(df: pd.DataFrame):
    import pyarrow as pa

    word = pa.struct([("word", pa.string()), ("count", pa.int64()), ("lang", pa.string())])
    example = pa.struct([("lang", pa.string()), ("sentence", pa.int64()), ("ref", pa.string()),
                         ("position", pa.int64()), ("text", pa.string())])
    out = df.copy()
    out["top_words"] = [[{"word": w[0], "count": w[1], "lang": w[2] if len(w) > 2 else None} for w in words]
                        for words in df["top_words"]]
    table = pa.Table.from_pandas(out.drop(columns=["top_words", "examples", "aligned_targets"]), preserve_index=False)
    table = table.append_column("top_words", pa.array(out["top_words"].tolist(), type=pa.list_(word)))
    table = table.append_column("aligned_targets", pa.array(df["aligned_targets"].tolist(), type=pa.list_(pa.int64())))
    return table.append_column("examples", pa.array(df["examples"].tolist(), type=pa.list_(example)))


def _versions() -> dict[str, str]:
    versions = {"babelscope": __version__, "python": platform.python_version()}
    for name in VERSION_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def write_run_tables(run_dir: str | Path, results: pd.DataFrame, curves: pd.DataFrame | None = None,
                     concepts: pd.DataFrame | None = None, meta: dict[str, Any] | None = None) -> dict[str, Path]:
    """Validate and write the run tables into ``run_dir``; return the written files by name.

    ``meta`` (JSON-able: config, timings, anything the scheduler wants to keep) goes into results.json with
    the package versions, the time and the row counts. Nothing is written unless every table is valid.
    """
    results = validate_results(results)
    curves = validate_curves(_empty(CURVE_COLUMNS) if curves is None else curves)
    concepts = validate_concepts(_empty(CONCEPT_COLUMNS) if concepts is None else concepts)
    if meta is not None and not isinstance(meta, dict):
        raise InputDataError(param_message("meta", "write_run_tables", "a dict (JSON-able)", type(meta).__name__))
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    files = {name: run_dir / name for name in (RESULTS_PARQUET, RESULTS_CSV, CURVES_PARQUET, CONCEPTS_PARQUET,
                                               RESULTS_JSON)}
    import pyarrow.parquet as pq

    # each file whole or not at all; results.json (which readers open first) goes last
    with atomic_path(files[RESULTS_PARQUET]) as tmp:
        results.to_parquet(tmp, index=False)
    with atomic_path(files[RESULTS_CSV]) as tmp:
        results.to_csv(tmp, index=False)
    failpoint("run.tables")
    with atomic_path(files[CURVES_PARQUET]) as tmp:
        curves.to_parquet(tmp, index=False)
    with atomic_path(files[CONCEPTS_PARQUET]) as tmp:
        pq.write_table(_concepts_arrow(concepts), tmp)
    from engine.report.alignments import ALIGNMENTS_DIR, write_run_alignments

    write_run_alignments(concepts, run_dir / ALIGNMENTS_DIR)
    payload = {
        "format": RUN_FORMAT, "format_version": RUN_FORMAT_VERSION,
        "written": datetime.now(UTC).isoformat(timespec="seconds"), "versions": _versions(),
        "rows": {"results": len(results), "curves": len(curves), "concepts": len(concepts)},
        **(meta or {}),
    }
    write_text_atomic(files[RESULTS_JSON], json.dumps(payload, indent=2, default=str))
    log.info("run tables written to %s (%d results, %d curve points, %d concepts)", run_dir, len(results),
             len(curves), len(concepts))
    return files


def _run_file(run_dir: Path, name: str) -> Path:
    path = run_dir / name
    if not path.is_file():
        raise StoreError(f"run folder {str(run_dir)!r} has no {name} (is it a babelscope run folder?)")
    return path


def read_results(run: str | Path) -> pd.DataFrame:
    """The results table of a run folder (or of a results .parquet / .csv file), validated."""
    run = Path(run)
    if run.is_dir():
        run = _run_file(run, RESULTS_PARQUET)
    elif not run.is_file():
        raise StoreError(f"run {str(run)!r} does not exist")
    if run.suffix == ".csv":
        return validate_results(pd.read_csv(run, keep_default_na=True))
    if run.suffix != ".parquet":
        raise StoreError(param_message("run", "read_results", "a run folder or a results .parquet/.csv", str(run)))
    return validate_results(pd.read_parquet(run))


def read_run_tables(run_dir: str | Path) -> RunTables:
    """All tables of a run folder, validated (curves and concepts may be absent: empty tables)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise StoreError(f"run folder {str(run_dir)!r} does not exist")
    results = read_results(run_dir)
    curves_path, concepts_path = run_dir / CURVES_PARQUET, run_dir / CONCEPTS_PARQUET
    curves = validate_curves(pd.read_parquet(curves_path) if curves_path.is_file() else _empty(CURVE_COLUMNS))
    concepts = validate_concepts(pd.read_parquet(concepts_path) if concepts_path.is_file()
                                 else _empty(CONCEPT_COLUMNS))
    meta_path = run_dir / RESULTS_JSON
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
    first = first_seed_rows(results)
    return RunTables(first, curves, concepts, meta, results if len(first) < len(results) else results.iloc[:0])
