"""Row sources for clustering: NumPy or Zarr arrays, optionally picked by row indices, read as float32.

A :class:`RowSource` is the concatenation of one or more *parts* ``(array [N_i, d], rows [n_i] | None)``.
NumPy parts are converted to one float32 matrix once. Zarr selections within :data:`MEMORY_BUDGET_BYTES`
(float32 size; env ``BABELSCOPE_CLUSTER_MEMORY``) are read once into memory; larger ones are **streamed**:
every pass reads ``chunk_rows`` rows at a time (the next chunk is read in a background thread while the
current one is computed on), so the selected rows never have to fit in memory at once.

Compute happens in fixed *blocks* of rows (``blocks(block_rows, ...)``) whose boundaries depend only on
``block_rows``, not on ``chunk_rows``: a BLAS product's result for a row can depend on the shape of the
call, so keeping block shapes fixed is what makes labels identical across chunk sizes and between the
in-memory and streamed paths.

Optional transforms (off by default, as in the reference): L2 normalisation of each row, then PCA
whitening fitted on the (normalised) selected rows. Centroids are reported in the transformed space.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from engine.store.core import read_rows

log = logging.getLogger(__name__)

_EPS_REL = 1e-6  # whitening: eigenvalues below this fraction of the largest are floored to it


# Zarr selections up to this many float32 bytes are read once into memory: re-reading scattered rows of a
# sharded array on every Lloyd iteration costs ~50x the iteration itself. Larger ones stream (out of core).
# BABELSCOPE_CLUSTER_MEMORY (bytes) overrides; 0 always streams.
MEMORY_BUDGET_BYTES = int(os.environ.get("BABELSCOPE_CLUSTER_MEMORY", 2 << 30))

_READER: list[ThreadPoolExecutor] = []
_READER_LOCK = threading.Lock()


def _reader() -> ThreadPoolExecutor:
    """The process-wide background reader thread (created once)."""
    with _READER_LOCK:
        if not _READER:
            _READER.append(ThreadPoolExecutor(max_workers=1, thread_name_prefix="babelscope-read"))
        return _READER[0]


def is_zarr_array(obj: Any) -> bool:
    """True for a ``zarr.Array`` (checked without importing zarr when it is not loaded)."""
    return type(obj).__module__.startswith("zarr") and hasattr(obj, "oindex")


def block_rows_for(k: int, device_type: str = "cpu") -> int:
    """Rows per compute block for ``k`` centres (depends on k and the device kind only, never on chunking).

    CPU: about 1024 rows, which measured fastest for the [rows, d] x [d, k] products (cache-sized); CUDA:
    large blocks (up to 65536 rows, a [rows, k] float32 block of at most 256 MiB) to keep the GPU busy.
    """
    if device_type == "cuda":
        return int(min(65536, max(1024, (1 << 26) // max(k, 1) // 1024 * 1024)))
    return int(max(256, min(1024, (1 << 20) // max(k, 1) // 256 * 256)))


@dataclass
class Transform:
    """Row transform applied after the float32 cast: L2 normalisation, then ``(x - mean) @ matrix``."""

    normalize: bool = False
    mean: np.ndarray | None = None  # [d] float64
    matrix: np.ndarray | None = None  # [d, d_out] float64 (PCA whitening)

    @property
    def identity(self) -> bool:
        return not self.normalize and self.matrix is None

    def out_dim(self, d: int) -> int:
        return d if self.matrix is None else int(self.matrix.shape[1])

    def apply_torch(self, x: Any) -> Any:
        """x: torch float32 [m, d] -> [m, d_out] on the same device."""
        import torch

        if self.normalize:
            x = torch.nn.functional.normalize(x, dim=1)
        if self.matrix is not None:
            mean = torch.as_tensor(self.mean, dtype=torch.float32, device=x.device)
            matrix = torch.as_tensor(self.matrix, dtype=torch.float32, device=x.device)
            x = (x - mean) @ matrix
        return x

    def apply_numpy(self, x: np.ndarray) -> np.ndarray:
        """x: float32 [m, d] -> float32 [m, d_out]."""
        if self.identity:
            return x
        import torch

        return self.apply_torch(torch.from_numpy(np.ascontiguousarray(x))).numpy()


def _load(array: Any, rows: np.ndarray | None) -> np.ndarray:
    """The selected rows of a Zarr array in memory: one contiguous read over their span, then a NumPy pick."""
    if rows is None:
        return read_rows(array, slice(0, array.shape[0]))
    if not len(rows):
        return np.zeros((0, array.shape[1]), dtype=array.dtype)
    lo, hi = int(rows.min()), int(rows.max()) + 1
    return read_rows(array, slice(lo, hi))[rows - lo]


class RowSource:
    """The selected rows of one or more [N_i, d] arrays, as float32, in part order then row order."""

    def __init__(self, parts: Sequence[tuple[Any, np.ndarray | None]], chunk_rows: int = 4096):
        self.parts = [(array, None if rows is None else np.asarray(rows, dtype=np.int64)) for array, rows in parts]
        self.chunk_rows = int(chunk_rows)
        self.sizes = [int(array.shape[0]) if rows is None else len(rows) for array, rows in self.parts]
        if sum(self.sizes) * int(self.parts[0][0].shape[1]) * 4 <= MEMORY_BUDGET_BYTES:
            self.parts = [(_load(array, rows), None) if is_zarr_array(array) else (array, rows)
                          for array, rows in self.parts]
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)]).astype(np.int64)
        self.n = int(self.offsets[-1])
        self.raw_dim = int(self.parts[0][0].shape[1])
        self.streamed = any(is_zarr_array(array) for array, _ in self.parts)
        self.transform = Transform()
        self._memory: np.ndarray | None = None  # float32 [n, d_out] for in-memory sources
        self._device_cache: dict[str, Any] = {}

    @property
    def d(self) -> int:
        """Dimension after the transform."""
        return self.transform.out_dim(self.raw_dim)

    @property
    def raw_nbytes(self) -> int:
        """Bytes of the selected rows as float32 (what materialising them costs)."""
        return self.n * self.raw_dim * 4

    # --- raw reads -----------------------------------------------------------------------------------
    def _read_part(self, index: int, lo: int, hi: int) -> np.ndarray:
        array, rows = self.parts[index]
        zarr_array = is_zarr_array(array)
        if rows is None:
            return read_rows(array, slice(lo, hi)) if zarr_array else np.asarray(array[lo:hi])
        picked = rows[lo:hi]
        if zarr_array:
            return read_rows(array, picked, points=True)
        return np.asarray(array[picked])

    def _chunks(self) -> Iterator[tuple[int, int, int]]:
        """(part, lo, hi) in read order, at most ``chunk_rows`` rows each."""
        for index, size in enumerate(self.sizes):
            for lo in range(0, size, self.chunk_rows):
                yield index, lo, min(size, lo + self.chunk_rows)

    def iter_raw(self) -> Iterator[np.ndarray]:
        """Raw chunks (source dtype) in order, the next one read in a background thread."""
        chunks = list(self._chunks())
        if not chunks:
            return
        pool = _reader()
        pending = pool.submit(self._read_part, *chunks[0])
        for nxt in chunks[1:]:
            current = pending.result()
            pending = pool.submit(self._read_part, *nxt)
            yield current
        yield pending.result()

    # --- transformed access ------------------------------------------------------------------------------
    def prepare(self, transform: Transform) -> None:
        """Set the transform; in-memory sources are converted to one float32 matrix here."""
        self.transform = transform
        self._device_cache.clear()
        self._memory = None
        if not self.streamed:
            raw = np.concatenate([self._read_part(i, 0, size) for i, size in enumerate(self.sizes)], axis=0)
            self._memory = np.ascontiguousarray(transform.apply_numpy(np.ascontiguousarray(raw, np.float32)))

    def take(self, index: np.ndarray) -> np.ndarray:
        """Transformed float32 rows at global positions ``index`` [m] -> [m, d]."""
        index = np.asarray(index, dtype=np.int64).reshape(-1)
        if self._memory is not None:
            return self._memory[index]
        out = np.empty((len(index), self.raw_dim), dtype=np.float32)
        part_of = np.searchsorted(self.offsets, index, side="right") - 1
        for part in np.unique(part_of):
            mask = part_of == part
            local = index[mask] - self.offsets[part]
            order = np.argsort(local, kind="stable")
            array, rows = self.parts[part]
            picked = local[order] if rows is None else rows[local[order]]
            values = read_rows(array, picked, points=True) if is_zarr_array(array) else array[picked]
            slots = np.flatnonzero(mask)[order]
            out[slots] = np.asarray(values, dtype=np.float32)
        return self.transform.apply_numpy(out)

    def materialize(self) -> np.ndarray:
        """All selected rows, transformed, as float32 [n, d] (for in-memory libraries)."""
        if self._memory is not None:
            return self._memory
        log.info("materialising %d x %d rows (%.1f MiB float32) for an in-memory backend", self.n, self.raw_dim,
                 self.raw_nbytes / 2**20)
        return np.concatenate([self.transform.apply_numpy(chunk.astype(np.float32)) for chunk in self.iter_raw()])

    def blocks(self, block_rows: int, device: Any) -> Iterator[tuple[int, Any, Any]]:
        """(first row, x float32 [m, d], squared row norms float32 [m]) on ``device``, over fixed blocks.

        Block boundaries depend on ``block_rows`` only; in-memory sources are sliced (norms cached).
        """
        for lo, job in self.block_jobs(block_rows, device):
            yield (lo, *job())

    def block_jobs(self, block_rows: int, device: Any) -> Iterator[tuple[int, Callable[[], tuple[Any, Any]]]]:
        """(first row, job) per block; ``job()`` returns (x [m, d], squared norms [m]) and may run in a worker
        thread (the float32 conversion and transform of streamed rows then happen there)."""
        import torch

        if self._memory is not None and self._fits_on(device):
            data = self._on_device(device)
            norms = self._norms(device, block_rows, data)
            for lo in range(0, self.n, block_rows):
                yield lo, partial(_slices, data, norms, lo, lo + block_rows)
            return
        if self._memory is not None:  # in host memory but too large for the GPU: copy block by block
            for lo in range(0, self.n, block_rows):
                yield lo, partial(self._convert, self._memory[lo:lo + block_rows], device, torch, False)
            return
        pending: list[np.ndarray] = []
        held, start = 0, 0
        for chunk in self.iter_raw():
            pending.append(chunk)
            held += len(chunk)
            while held >= block_rows:
                joined = np.concatenate(pending) if len(pending) > 1 else pending[0]
                block, rest = joined[:block_rows], joined[block_rows:]
                yield start, partial(self._convert, block, device, torch)
                start += block_rows
                pending, held = ([rest] if len(rest) else []), len(rest)
        if held:
            yield start, partial(self._convert, np.concatenate(pending) if len(pending) > 1 else pending[0], device,
                                 torch)

    def _convert(self, block: np.ndarray, device: Any, torch: Any, transform: bool = True) -> tuple[Any, Any]:
        x = self._to_device(block, device, torch) if transform else torch.from_numpy(block).to(device)
        return x, (x * x).sum(1)

    def _fits_on(self, device: Any) -> bool:
        """CPU always; a GPU when the float32 rows take at most half of its free memory."""
        import torch

        device = torch.device(device)
        if device.type != "cuda" or str(device) in self._device_cache:
            return True
        free, _ = torch.cuda.mem_get_info(device)
        fits = self._memory.nbytes <= free // 2
        if not fits:
            log.info("rows (%.1f GiB) exceed half the free memory of %s: copying them block by block",
                     self._memory.nbytes / 2**30, device)
        return fits

    def _to_device(self, block: np.ndarray, device: Any, torch: Any) -> Any:
        host = torch.from_numpy(np.ascontiguousarray(block))
        if torch.device(device).type == "cuda":  # pinned, on a copy stream: the copy overlaps the compute queued
            stream = _copy_stream(torch, device)
            pinned = host.pin_memory()
            with torch.cuda.stream(stream):
                moved = pinned.to(device=device, non_blocking=True)
            current = torch.cuda.current_stream(device)
            current.wait_stream(stream)
            moved.record_stream(current)
            tensor = moved.to(torch.float32)  # float16 rows cross the bus at half the bytes
        else:
            tensor = host.to(device=device, dtype=torch.float32)
        return self.transform.apply_torch(tensor)

    def _norms(self, device: Any, block_rows: int, data: Any) -> Any:
        """Squared row norms, computed block by block exactly as on the streamed path."""
        import torch

        key = f"norms:{device}:{block_rows}"
        if key not in self._device_cache:
            out = torch.empty(self.n, dtype=torch.float32, device=data.device)
            for lo in range(0, self.n, block_rows):
                x = data[lo:lo + block_rows]
                out[lo:lo + x.shape[0]] = (x * x).sum(1)
            self._device_cache[key] = out
        return self._device_cache[key]

    def _on_device(self, device: Any) -> Any:
        import torch

        key = str(device)
        if key not in self._device_cache:
            self._device_cache[key] = torch.from_numpy(self._memory).to(device)
        return self._device_cache[key]


_COPY_STREAMS: dict[str, Any] = {}


def _copy_stream(torch: Any, device: Any) -> Any:
    """One side stream per GPU for host-to-device copies of streamed rows."""
    key = str(torch.device(device))
    if key not in _COPY_STREAMS:
        _COPY_STREAMS[key] = torch.cuda.Stream(device=device)
    return _COPY_STREAMS[key]


def _slices(data: Any, norms: Any, lo: int, hi: int) -> tuple[Any, Any]:
    return data[lo:hi], norms[lo:hi]


@dataclass
class Moments:
    """Per-feature statistics of the transformed rows (float64)."""

    mean: np.ndarray  # [d]
    var: np.ndarray  # [d]
    cov: np.ndarray | None  # [d, d] when asked for


def moments(source: RowSource, block_rows: int, *, with_cov: bool = False) -> Moments:
    """One pass over ``source`` (with its current transform): mean, variance and optionally covariance.

    Refuses rows holding NaN or infinity (unwritten activation rows are NaN).
    """
    import torch

    from engine.errors import InputDataError

    d = source.d
    total = torch.zeros(d, dtype=torch.float64)
    squares = torch.zeros(d, dtype=torch.float64)
    cross = torch.zeros((d, d), dtype=torch.float64) if with_cov else None
    for lo, block, _ in source.blocks(block_rows, "cpu"):
        x = block.double()
        if not torch.isfinite(x).all():
            bad = lo + int(torch.nonzero(~torch.isfinite(x).all(dim=1))[0, 0])
            raise InputDataError(f"row {bad} of the clustering source holds NaN or infinity "
                                 f"(an activation row that was never written?)")
        total += x.sum(0)
        squares += (x * x).sum(0)
        if cross is not None:
            cross += x.T @ x
    n = max(source.n, 1)
    mean = (total / n).numpy()
    var = np.maximum((squares / n).numpy() - mean * mean, 0.0)
    cov = None if cross is None else cross.numpy() / n - np.outer(mean, mean)
    return Moments(mean, var, cov)


def fit_transform(source: RowSource, *, normalize: bool, whiten: bool | int, block_rows: int) -> float:
    """Fit and install the transform; return the mean per-feature variance of the transformed data.

    ``whiten``: False, True (all components) or the number of leading principal components to keep.
    """
    source.prepare(Transform(normalize=normalize))
    stats = moments(source, block_rows, with_cov=bool(whiten))
    if not whiten:
        return float(stats.var.mean())
    eigvals, eigvecs = np.linalg.eigh(stats.cov)
    order = np.argsort(eigvals)[::-1]
    keep = source.d if whiten is True else int(whiten)
    eigvals, eigvecs = np.clip(eigvals[order][:keep], 0.0, None), eigvecs[:, order][:, :keep]
    floor = max(float(eigvals[0]) * _EPS_REL, 1e-30)
    scaled = np.maximum(eigvals, floor)
    matrix = eigvecs / np.sqrt(scaled)
    source.prepare(Transform(normalize=normalize, mean=stats.mean, matrix=matrix))
    log.info("PCA whitening: %d of %d components kept (explained variance %.3f)", keep, len(order),
             float(eigvals.sum() / max(np.clip(stats.var, 0, None).sum(), 1e-30)))
    return float((eigvals / scaled).mean())
