"""Running requests with bounded parallelism while keeping their results in input order.

At most `max_concurrency` calls run at once (`MaxConcurrentTransforms`), and only a small window of requests
is queued ahead, so an object cut into millions of single-record requests does not hold millions of futures.
Results come back in submission order, which keeps the output byte-identical whatever the concurrency.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

_T = TypeVar("_T")
_R = TypeVar("_R")

# Requests queued per worker: enough that a worker never waits for the next one to be submitted.
_QUEUE_PER_WORKER = 2


def map_in_order(func: Callable[[_T], _R], items: Sequence[_T], max_concurrency: int) -> list[_R]:
    """`[func(item) for item in items]`, `max_concurrency` at a time; raises the first failure in order."""
    if max_concurrency < 1:
        raise ValueError(f"max_concurrency must be at least 1, got {max_concurrency}")
    if max_concurrency == 1 or len(items) <= 1:
        return [func(item) for item in items]
    workers = min(max_concurrency, len(items))
    window = workers * _QUEUE_PER_WORKER
    results: list[_R] = []
    pending: deque[Future[_R]] = deque()
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="transform")
    try:
        submitted = 0
        while pending or submitted < len(items):
            while submitted < len(items) and len(pending) < window:
                pending.append(pool.submit(func, items[submitted]))
                submitted += 1
            results.append(pending.popleft().result())
    finally:
        # On failure, queued requests are dropped; the ones already running finish before this returns.
        pool.shutdown(wait=True, cancel_futures=True)
    return results
