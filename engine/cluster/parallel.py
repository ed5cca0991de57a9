"""Block-parallel map on CPU: one worker thread per torch thread, each running single-threaded torch ops.

Calling many small multi-threaded torch ops per block costs a thread barrier each; on a busy machine a
descheduled thread stalls every one of them. Like scikit-learn's k-means (one OpenMP region per iteration),
we instead hand whole blocks to worker threads (torch releases the GIL) with torch's intra-op threads set to
1, and consume the results **in block order**, so every reduction is the same whatever the thread count.
torch's thread count is process-wide: do not run other torch work in parallel threads meanwhile.
"""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import torch

from engine.cluster.source import RowSource

T = TypeVar("T")

_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def worker_pool(threads: int) -> ThreadPoolExecutor:
    """A process-wide pool of ``threads`` workers, created once (starting threads costs milliseconds)."""
    with _POOLS_LOCK:
        if threads not in _POOLS:
            _POOLS[threads] = ThreadPoolExecutor(threads, thread_name_prefix=f"babelscope-blocks{threads}")
        return _POOLS[threads]


_LOCAL = threading.local()


@contextlib.contextmanager
def block_parallel(device: Any) -> Iterator[int]:
    """Run the enclosed CPU work block-parallel: torch single-threaded in this thread, and :func:`map_blocks`
    using as many workers as torch had threads. Yields that count. Nested uses and CUDA leave things as is.

    Switching torch's thread count costs milliseconds, so whole stages (not single passes) are wrapped.
    """
    active = getattr(_LOCAL, "threads", None)
    if active is not None or torch.device(device).type != "cpu":
        yield active or torch.get_num_threads()
        return
    before = torch.get_num_threads()
    _LOCAL.threads = before
    torch.set_num_threads(1)
    try:
        yield before
    finally:
        torch.set_num_threads(before)
        _LOCAL.threads = None


def map_blocks(source: RowSource, block_rows: int, device: Any, fn: Callable[[int, Any, Any], T]) -> Iterator[T]:
    """``fn(lo, x [m, d], xx [m])`` over the fixed blocks of ``source``, results yielded in block order.

    CPU inside :func:`block_parallel` with more than one thread: a persistent pool of that many workers with at
    most ``2 * threads`` blocks in flight. Otherwise (CUDA, one thread, outside the context): inline, in order,
    each block's data requested one block ahead (on CUDA its copy, queued on a side stream, then overlaps the
    previous block's compute).
    """
    threads = getattr(_LOCAL, "threads", None) or 1
    if torch.device(device).type != "cpu" or threads <= 1:
        ahead = None
        for lo, job in source.block_jobs(block_rows, device):
            ready = (lo, job())
            if ahead is not None:
                yield fn(ahead[0], *ahead[1])
            ahead = ready
        if ahead is not None:
            yield fn(ahead[0], *ahead[1])
        return
    pool = worker_pool(threads)
    pending: deque[Future[T]] = deque()
    for lo, job in source.block_jobs(block_rows, device):
        pending.append(pool.submit(_run, fn, lo, job))
        while len(pending) > 2 * threads:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def _run(fn: Callable[[int, Any, Any], T], lo: int, job: Callable[[], tuple[Any, Any]]) -> T:
    x, xx = job()
    return fn(lo, x, xx)
