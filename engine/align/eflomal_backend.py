"""The eflomal word aligner (GPL-3, optional extra ``babelscope[align]``), imported only when used.

eflomal aligns in both directions with a Bayesian HMM + fertility model sampled by MCMC. It lowercases
words internally. It has no seed option (its samplers read ``/dev/urandom``), so two runs can differ in a
few links: results are recorded as ``deterministic: false`` in the store.
"""

from __future__ import annotations

import io
import logging
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.align.links import Links, read_pharaoh
from engine.errors import BabelscopeError, BackendUnavailableError, ConfigError, InputDataError, param_message

__all__ = ["EflomalOptions", "eflomal_available", "run_eflomal"]

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'babelscope[align]'"


@dataclass(frozen=True)
class EflomalOptions:
    """eflomal settings (its defaults): model 1 = IBM1, 2 = + HMM, 3 = + fertility."""

    model: int = 3
    n_samplers: int = 3
    null_prior: float = 0.2
    rel_iterations: float = 1.0
    n_iterations: tuple[int, int, int] | None = None  # (IBM1, HMM, fertility) iterations; None = automatic

    @classmethod
    def of(cls, spec: Any) -> EflomalOptions:
        """The options of a config's ``align.eflomal`` section."""
        return cls(model=spec.model, n_samplers=spec.n_samplers, null_prior=spec.null_prior,
                   rel_iterations=spec.rel_iterations)

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model, "n_samplers": self.n_samplers, "null_prior": self.null_prior,
                "rel_iterations": self.rel_iterations,
                "n_iterations": list(self.n_iterations) if self.n_iterations else None}


def _import_eflomal() -> Any:
    try:
        import eflomal
    except ImportError as exc:
        raise BackendUnavailableError(
            f"word alignment needs the eflomal package, which is not installed ({exc}); {INSTALL_HINT}"
        ) from None
    return eflomal


def eflomal_available() -> bool:
    """True when eflomal can be imported."""
    try:
        _import_eflomal()
    except BackendUnavailableError:
        return False
    return True


def _validate(src: Sequence[Sequence[str]], tgt: Sequence[Sequence[str]], options: EflomalOptions) -> None:
    if len(src) != len(tgt):
        raise InputDataError(f"run_eflomal needs line-aligned text: {len(src)} source sentences != "
                             f"{len(tgt)} target sentences")
    if not src:
        raise InputDataError("run_eflomal needs at least one sentence pair; got 0")
    if options.model not in (1, 2, 3):
        raise ConfigError(param_message("model", "eflomal", "1, 2 or 3", options.model))
    if options.n_samplers < 1:
        raise ConfigError(param_message("n_samplers", "eflomal", "a positive integer", options.n_samplers))
    if not 0.0 <= options.null_prior <= 1.0:
        raise ConfigError(param_message("null_prior", "eflomal", "in [0, 1]", options.null_prior))
    if options.rel_iterations <= 0:
        raise ConfigError(param_message("rel_iterations", "eflomal", "> 0", options.rel_iterations))
    for side, sentences in (("source", src), ("target", tgt)):
        for index, words in enumerate(sentences):
            for word in words:
                if not word or any(ch.isspace() for ch in word):
                    raise InputDataError(f"{side} sentence {index}: word {word!r} is empty or holds whitespace; "
                                         f"eflomal needs word-tokenized text")


def run_eflomal(src: Sequence[Sequence[str]], tgt: Sequence[Sequence[str]],
                options: EflomalOptions | None = None) -> tuple[Links, Links]:
    """Align word-tokenized, line-aligned sentences; returns (forward, reverse) links as (src, tgt) positions.

    Forward links come from the src→tgt model (each target word linked at most once), reverse links from
    tgt→src (each source word at most once). Raises BackendUnavailableError when eflomal is missing.
    """
    options = options or EflomalOptions()
    _validate(src, tgt, options)
    eflomal = _import_eflomal()
    return _align(eflomal, src, tgt, options)


def _align(eflomal: Any, src: Sequence[Sequence[str]], tgt: Sequence[Sequence[str]],
           options: EflomalOptions) -> tuple[Links, Links]:
    src_len = np.fromiter((len(s) for s in src), np.int64, len(src))
    tgt_len = np.fromiter((len(s) for s in tgt), np.int64, len(tgt))
    started = time.perf_counter()
    aligner = eflomal.Aligner(model=options.model, n_samplers=options.n_samplers, null_prior=options.null_prior,
                              rel_iterations=options.rel_iterations, n_iterations=options.n_iterations)
    with tempfile.TemporaryDirectory(prefix="babelscope-eflomal-") as folder:
        fwd_path, rev_path = Path(folder) / "forward.links", Path(folder) / "reverse.links"
        src_text = io.StringIO("".join(" ".join(words) + "\n" for words in src))
        tgt_text = io.StringIO("".join(" ".join(words) + "\n" for words in tgt))
        try:
            aligner.align(src_text, tgt_text, links_filename_fwd=str(fwd_path), links_filename_rev=str(rev_path),
                          quiet=True)
        except (OSError, ValueError, RuntimeError) as exc:
            raise BabelscopeError(f"eflomal failed on {len(src)} sentence pairs: {exc}") from exc
        if not (fwd_path.is_file() and rev_path.is_file()):
            raise BabelscopeError(f"eflomal wrote no links for {len(src)} sentence pairs (its binary failed?)")
        forward = read_pharaoh(fwd_path, src_len, tgt_len)
        reverse = read_pharaoh(rev_path, src_len, tgt_len)
    log.info("eflomal: %d sentence pairs, %d forward and %d reverse links in %.1f s", len(src), len(forward),
             len(reverse), time.perf_counter() - started)
    return forward, reverse
