"""Executors for training and analysis, and the progress channel between them.

Science code only sees a ``concurrent.futures.Executor``: the default is a local process
pool whose workers each use one torch thread; callers may pass any other executor (a thread
pool for tests and notebooks, or a larger engine later).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import threading
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any


def _init_worker() -> None:
    # One thread per worker, for torch and for the BLAS under numpy/scikit-learn alike:
    # two threads on two busy cores can be 100x slower. The pools were created when the
    # fork server imported numpy, so the environment alone is too late.
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(limits=1)


def default_workers() -> int:
    """Worker processes for this machine: one per core, at most 4."""
    return max(1, min(4, os.cpu_count() or 1))


def process_pool(workers: int | None = None) -> ProcessPoolExecutor:
    """A local process pool, one torch thread per worker.

    Workers start from a fork server that has already imported torch and nearid_core, so a
    worker starts in milliseconds instead of re-importing torch (about a second).
    """
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["torch", "nearid_core.sweep"])
    return ProcessPoolExecutor(max_workers=workers or default_workers(), mp_context=ctx,
                               initializer=_init_worker)


@contextmanager
def executor_or_default(executor: Executor | None, workers: int | None = None):
    """Yield ``executor``, or a fresh process pool that is shut down afterwards."""
    if executor is not None:
        yield executor
        return
    pool = process_pool(workers)
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def executor_workers(executor: Executor) -> int:
    """How many tasks the executor runs at once (1 when it does not say)."""
    return int(getattr(executor, "_max_workers", 1) or 1)


class Channel:
    """Progress messages from tasks to the caller, and a stop flag the other way.

    Thread executors share plain in-process objects; other executors get Manager proxies,
    which pickle into any worker process.
    """

    def __init__(self, executor: Executor) -> None:
        self._manager = None
        if isinstance(executor, ThreadPoolExecutor):
            self.queue: Any = queue.Queue()
            self.stop: Any = threading.Event()
        else:
            # The manager's server only relays messages (no torch), so fork is safe and fast.
            self._manager = mp.get_context("fork").Manager()
            self.queue = self._manager.Queue()
            self.stop = self._manager.Event()

    def endpoints(self) -> tuple[Any, Any]:
        """What a task needs: (queue, stop event)."""
        return self.queue, self.stop

    def drain(self) -> list[Any]:
        out = []
        while True:
            try:
                out.append(self.queue.get_nowait())
            except (queue.Empty, EOFError, OSError):
                return out

    def close(self) -> None:
        if self._manager is not None:
            self._manager.shutdown()
            self._manager = None
