"""The store writer: a thread that fills one shard buffer at a time and writes whole shards.

The model thread hands it word vectors through a bounded queue (so memory stays flat however large the
corpus); a shard is written in one piece per layer (one writer per shard, no read-modify-write), and only
then is its ``shard_done`` flag set. An exception in the writer is re-raised in the model thread.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any

import numpy as np

from engine.faults import failpoint
from engine.store.core import WRITE_ALL_CHUNKS

log = logging.getLogger(__name__)

_END = object()
_ABORT_WAIT_S = 120.0  # how long abort() waits for a shard being written


class ShardWriter:
    """Writes rows ``[shard*R, (shard+1)*R)`` of every layer array once the shard is complete.

    arrays: layer -> zarr array float16 [n_rows, hidden]; done: zarr array uint8 [n_shards]
    """

    def __init__(self, arrays: dict[int, Any], done: Any, shard_rows: int, n_rows: int, queue_size: int):
        # every chunk of a computed shard holds vectors: skip zarr's all-fill-value scan of each chunk (slow on
        # float16) and store them all, so that a missing chunk reads as damage
        self.arrays = {layer: array.with_config(WRITE_ALL_CHUNKS) for layer, array in arrays.items()}
        self.layers = sorted(arrays)
        self.done = done
        self.shard_rows = shard_rows
        self.n_rows = n_rows
        self.hidden = next(iter(arrays.values())).shape[1]
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._error: BaseException | None = None
        self._aborted = False
        self._thread = threading.Thread(target=self._run, name="babelscope-writer", daemon=True)
        self._thread.start()

    def _shard_bounds(self, shard: int) -> tuple[int, int]:
        start = shard * self.shard_rows
        return start, min(self.n_rows, start + self.shard_rows)

    def _run(self) -> None:
        shard = None
        buffer = filled = None
        try:
            while True:
                item = self._queue.get()
                if item is _END or self._aborted:
                    return
                kind, index, *payload = item
                if kind == "rows":
                    if shard != index:
                        start, stop = self._shard_bounds(index)
                        shard = index
                        buffer = np.empty((len(self.layers), stop - start, self.hidden), dtype=np.float16)
                        filled = np.zeros(stop - start, dtype=bool)
                    local, vectors, event = payload
                    if event is not None:
                        event.synchronize()
                    buffer[:, local] = vectors.numpy() if hasattr(vectors, "numpy") else vectors
                    filled[local] = True
                elif kind == "end":
                    start, stop = self._shard_bounds(index)
                    if shard != index or not filled.all():
                        have = 0 if shard != index else int(filled.sum())
                        raise RuntimeError(f"shard {index}: {have} of {stop - start} rows computed before write")
                    for li, layer in enumerate(self.layers):
                        self.arrays[layer][start:stop] = buffer[li]
                        failpoint("extract.shard_write")
                    self.done[index] = 1
                    shard = buffer = filled = None
        except BaseException as exc:  # handed to the model thread
            self._error = exc
            while not self._aborted:  # drain so the producer never blocks forever
                try:
                    if self._queue.get(timeout=0.1) is _END:
                        return
                except queue.Empty:
                    continue

    def _put(self, item: Any) -> None:
        while True:
            self._check()
            try:
                self._queue.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def _check(self) -> None:
        if self._error is not None:
            raise self._error

    def put_rows(self, shard: int, local_rows: np.ndarray, vectors: Any, event: Any = None) -> None:
        """Queue vectors ``[n_layers, n, hidden]`` for rows ``local_rows`` (relative to the shard start)."""
        self._put(("rows", shard, local_rows, vectors, event))

    def end_shard(self, shard: int) -> None:
        """Every row of ``shard`` has been queued: write it."""
        self._put(("end", shard))

    def close(self) -> None:
        """Wait for every queued write; re-raise a writer error."""
        self._queue.put(_END)
        self._thread.join()
        self._check()

    def abort(self) -> None:
        """Stop without writing pending shards (they stay marked not done); returns once the writer is idle, so
        that nothing is written after the caller has given up (a shard being written is finished first)."""
        self._aborted = True
        self._error = self._error or RuntimeError("aborted")
        try:
            self._queue.put_nowait(_END)
        except queue.Full:
            pass  # the writer sees the flag before its next item
        self._thread.join(timeout=_ABORT_WAIT_S)
        if self._thread.is_alive():  # a stuck disk: do not hang the caller's error forever
            log.warning("the store writer is still busy %.0f s after the extraction stopped; a shard it "
                        "finishes is flagged done, one it does not stays to be recomputed", _ABORT_WAIT_S)
