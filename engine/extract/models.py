"""Loading any Hugging Face model (embedded material name, local folder or hub id) for extraction."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.config import ModelSpec
from engine.errors import ModelUnavailableError
from engine.material import MATERIAL_NAMES

log = logging.getLogger(__name__)

def _dtype_argument() -> str:
    """``from_pretrained``'s dtype keyword: ``dtype`` from transformers 4.56, ``torch_dtype`` before."""
    from importlib.metadata import version

    major, minor = (int(part) for part in version("transformers").split(".")[:2])
    return "dtype" if (major, minor) >= (4, 56) else "torch_dtype"


_DTYPE_ARGUMENT = _dtype_argument()
# encoders whose AutoModel adds a pooler head that word vectors never use
_POOLER_TYPES = ("bert", "roberta", "xlm-roberta", "camembert")


@dataclass
class LoadedModel:
    """A model ready for extraction, with what the store records about it.

    The tokenizer (and what depends on it: ``max_tokens``, the ``tokenizer`` attr) is loaded on first use, so
    that a run whose extractions are complete in the store never loads one (about 2 s for me5-small).
    """

    spec: ModelSpec
    model: Any  # torch.nn.Module in eval mode on its device (None: config and tokenizer only)
    source: str  # resolved folder or hub id
    is_encoder_decoder: bool
    n_layers: dict[str, int]  # side -> number of transformer layers (hidden states = n_layers + 1)
    hidden_size: int
    config: Any  # the transformers config
    load_tokenizer: Callable[[], Any]  # -> a fast tokenizer
    base_attrs: dict[str, Any] = field(default_factory=dict)
    _tokenizer: Any = field(default=None, repr=False)

    @property
    def sides(self) -> tuple[str, ...]:
        return ("encoder", "decoder") if self.is_encoder_decoder else ("encoder",)

    @property
    def tokenizer(self) -> Any:
        """The model's fast tokenizer (loaded now if it was not yet)."""
        if self._tokenizer is None:
            self._tokenizer = self.load_tokenizer()
        return self._tokenizer

    @property
    def max_tokens(self) -> int:
        """Longest input sequence, special tokens included."""
        return _max_tokens(self.config, self.tokenizer)

    @property
    def attrs(self) -> dict[str, Any]:
        """What the store records about the model (the tokenizer's class included, so it is loaded)."""
        return {**self.base_attrs, "tokenizer": type(self.tokenizer).__name__}


@contextmanager
def _quiet_transformers() -> Iterator[None]:
    """Silence transformers' per-load report and progress bar, restoring the previous settings."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()


def _resolve_source(spec: ModelSpec) -> str:
    from engine.material import resolve_material_model

    material = resolve_material_model(spec.name)
    if material is not None:
        return str(material)
    path = Path(spec.name).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise ModelUnavailableError(f"model folder {str(path)!r} has no config.json")
        return str(path)
    return spec.name


def source_signature(spec: ModelSpec) -> str:
    """What identifies the files a model would load from: its resolved source, and for a local folder the
    names, sizes and modification times of its files (so a model re-saved in place reads as another)."""
    source = _resolve_source(spec)
    folder = Path(source)
    parts = [source, spec.revision or ""]
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            if path.is_file():
                info = path.stat()
                parts.append(f"{path.name}:{info.st_size}:{info.st_mtime_ns}")
    return "|".join(parts)


def _hub_unreachable(timeout: float = 3.0) -> str | None:
    """Why the Hugging Face endpoint cannot be reached (None when it can), found in at most ``timeout`` s."""
    import socket
    from urllib.parse import urlparse

    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    try:
        socket.create_connection((url.hostname, url.port or 443), timeout=timeout).close()
    except OSError as exc:
        return f"{url.hostname}: {exc}"
    return None


def _load_pretrained(loader: Any, source: str, spec: ModelSpec, **kwargs: Any) -> Any:
    """Local files first; the hub only when not offline. Any failure becomes one clear error."""
    try:
        return loader.from_pretrained(source, revision=spec.revision, local_files_only=True, **kwargs)
    except OSError as local_error:
        if Path(source).exists():
            raise ModelUnavailableError(f"model folder {source!r} cannot be loaded: {local_error}") from None
    missing = (f"model {spec.name!r} is not an embedded material name ({', '.join(MATERIAL_NAMES)}), "
               f"not a local folder, and not in the local Hugging Face cache")
    if os.environ.get("HF_HUB_OFFLINE", "0").lower() not in ("0", "", "false", "no"):
        raise ModelUnavailableError(f"{missing}; HF_HUB_OFFLINE is set, so the hub was not asked") from None
    unreachable = _hub_unreachable()
    if unreachable:
        raise ModelUnavailableError(f"{missing}; the hub is unreachable ({unreachable})") from None
    try:
        return loader.from_pretrained(source, revision=spec.revision, **kwargs)
    except (OSError, ValueError) as hub_error:
        raise ModelUnavailableError(
            f"{missing}; the hub could not provide it ({type(hub_error).__name__}). Download it where a hub is "
            f"reachable and pass its folder, or use the embedded 'me5-small'"
        ) from None


def _fingerprint(source: str) -> str | None:
    """Cheap identity of a local model folder: sha256 of config.json plus names and sizes of weight files."""
    folder = Path(source)
    if not folder.is_dir():
        return None
    digest = hashlib.sha256((folder / "config.json").read_bytes())
    for path in sorted(folder.iterdir()):
        if path.suffix in (".safetensors", ".bin", ".json", ".model") and path.is_file():
            digest.update(f"{path.name}:{path.stat().st_size}".encode())
    return digest.hexdigest()[:16]


def _layer_count(config: Any, side: str) -> int:
    if side == "decoder":
        return int(getattr(config, "num_decoder_layers", None) or config.num_layers)
    for attr in ("num_hidden_layers", "num_layers", "n_layer"):
        if getattr(config, attr, None):
            return int(getattr(config, attr))
    raise ModelUnavailableError(f"cannot tell the number of layers of model type {config.model_type!r}")


def _max_tokens(config: Any, tokenizer: Any) -> int:
    limits = []
    positions = getattr(config, "max_position_embeddings", None)
    if positions:
        # RoBERTa-family position ids start after the padding index
        offset = (config.pad_token_id + 1) if config.model_type in ("roberta", "xlm-roberta", "camembert") else 0
        limits.append(positions - offset)
    model_max = getattr(tokenizer, "model_max_length", None)
    if model_max and model_max < 10**7:
        limits.append(int(model_max))
    return min(limits) if limits else 512


def model_layer_counts(spec: ModelSpec) -> dict[str, int]:
    """Side -> number of transformer layers, read from the model's config alone (no weights)."""
    from transformers import AutoConfig

    config = _load_pretrained(AutoConfig, _resolve_source(spec), spec)
    sides = ("encoder", "decoder") if getattr(config, "is_encoder_decoder", False) else ("encoder",)
    return {side: _layer_count(config, side) for side in sides}


def _fast_tokenizer(source: str, spec: ModelSpec) -> Any:
    from transformers import AutoTokenizer

    tokenizer = _load_pretrained(AutoTokenizer, source, spec)
    # sentences over the maximum are windowed (or skipped) and counted by the planner: transformers' own
    # "will result in indexing errors" warning would be wrong here
    tokenizer.deprecation_warnings["sequence-length-is-longer-than-the-specified-maximum"] = True
    if not getattr(tokenizer, "is_fast", False):
        raise ModelUnavailableError(
            f"model {spec.name!r} has no fast tokenizer; word alignment needs word_ids() (a tokenizer.json)"
        )
    return tokenizer


def load_model(spec: ModelSpec, device: Any, *, weights: bool = True) -> LoadedModel:
    """Load model and fast tokenizer for ``spec`` onto ``device`` (eval mode, no grad needed).

    ``weights=False`` loads the config only (``model`` is None; the tokenizer on first use): enough to plan an
    extraction, or to see that it is complete.
    """
    from transformers import AutoConfig, AutoModel

    source = _resolve_source(spec)
    config = _load_pretrained(AutoConfig, source, spec)
    model = None
    if weights:
        import torch

        from engine.gemm import onednn_linears

        extra = {"add_pooling_layer": False} if config.model_type in _POOLER_TYPES else {}
        if spec.device_map is not None:
            extra["device_map"] = spec.device_map  # accelerate places the layers; inputs go to the first device
        with _quiet_transformers():  # the load report would flag the unused pooler weights
            model = _load_pretrained(AutoModel, source, spec, config=config,
                                     **{_DTYPE_ARGUMENT: getattr(torch, spec.weights_dtype)}, **extra)
        model.eval()
        if spec.device_map is None:
            model.to(device)
        else:
            log.info("%s spread over %s by accelerate (device_map %s)", spec.name,
                     sorted({str(d) for d in getattr(model, "hf_device_map", {}).values()}), spec.device_map)
        if torch.device(device).type == "cpu":  # float32 CPU inference on oneDNN where it is usable
            log.debug("%s: %d Linear layers on oneDNN", spec.name, onednn_linears(model))
    encdec = bool(getattr(config, "is_encoder_decoder", False))
    sides = ("encoder", "decoder") if encdec else ("encoder",)
    hidden = int(getattr(config, "hidden_size", None) or config.d_model)
    attrs = {
        "model_name": spec.name,
        "model_source": source,
        "model_type": config.model_type,
        "revision": spec.revision or getattr(config, "_commit_hash", None),
        "fingerprint": _fingerprint(source),
        "weights_dtype": spec.weights_dtype,
        "transformers": __import__("transformers").__version__,
    }
    loaded = LoadedModel(
        spec=spec,
        model=model,
        source=source,
        is_encoder_decoder=encdec,
        n_layers={side: _layer_count(config, side) for side in sides},
        hidden_size=hidden,
        config=config,
        load_tokenizer=lambda: _fast_tokenizer(source, spec),
        base_attrs=attrs,
    )
    if weights:  # a model about to run needs its tokenizer: a missing fast tokenizer is found now
        loaded.tokenizer  # noqa: B018
    log.info("loaded %s from %s (%s, layers %s, hidden %d%s)", spec.name, source, config.model_type,
             loaded.n_layers, hidden, "" if weights else ", config only")
    return loaded
