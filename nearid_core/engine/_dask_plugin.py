"""The worker plugin that gives every Dask worker one torch and BLAS thread (imported only
when a Dask client connects: ``distributed`` is not needed otherwise)."""

from __future__ import annotations

import os

from distributed.diagnostics.plugin import WorkerPlugin


def one_thread() -> None:
    """On a worker: one torch and BLAS thread, as the local pool's workers use (two threads
    on two busy cores crawl, and the thread count can change the last bits of a result)."""
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(limits=1)


class OneThread(WorkerPlugin):
    """``one_thread`` on every worker, also on ones that join later (a restarted worker)."""

    name = "nearid-one-thread"

    def setup(self, worker) -> None:  # noqa: ARG002 - the plugin protocol's signature
        one_thread()
