"""Dask as the distributed engine: a sweep's chunks and analysis tasks on a cluster.

``open_dask(address)`` connects a ``distributed.Client`` to a running scheduler
(``dask scheduler`` on one machine, ``dask worker ADDRESS`` on each) and returns a
``concurrent.futures`` executor over it (``engine.executors.make_pool`` picks it when
``$NEARID_SCHEDULER`` is set), so the sweep engine runs unchanged: each task
rebuilds its data from the config and seed (nothing large is sent), returns only its
results, and the coordinator alone writes the store. Progress and the stop flag travel
through a named ``distributed.Queue`` and ``distributed.Event`` (``DaskChannel``), so a
cancel reaches running tasks; a task whose worker is lost is re-run by Dask on another
worker, and ends in ``KilledWorker`` (the sweep fails with that reason) after Dask's
allowed failures. Every worker is set to one torch/BLAS thread, as the local pool's are,
so results are bit-identical to a local run with the same seed.
"""

from __future__ import annotations

import os
from concurrent.futures import Executor
from typing import Any

__all__ = ["ENV", "DaskChannel", "DaskExecutor", "DaskUnavailable", "connect", "open_dask",
           "scheduler_address", "task_ends"]

ENV = "NEARID_SCHEDULER"  # a scheduler address: sweeps and the app's runner use Dask
CONNECT_TIMEOUT_S = 5.0


class DaskUnavailable(ValueError):
    """No scheduler answers at the address, or ``distributed`` is not installed."""


def scheduler_address(explicit: str | None = None) -> str | None:
    """The scheduler to use: ``explicit``, else ``$NEARID_SCHEDULER``, else None (local)."""
    address = explicit if explicit is not None else os.environ.get(ENV, "")
    return address.strip() or None


def connect(address: str, *, timeout_s: float = CONNECT_TIMEOUT_S):
    """A ``distributed.Client`` on ``address``; DaskUnavailable (one line) when no
    scheduler answers within ``timeout_s`` or ``distributed`` is missing."""
    try:
        from distributed import Client
    except ImportError:
        raise DaskUnavailable("the Dask engine needs the 'distributed' package "
                              "(pip install distributed)") from None
    try:
        client = Client(address, timeout=f"{timeout_s}s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as err:
        why = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DaskUnavailable(f"no Dask scheduler answers at {address!r} within "
                              f"{timeout_s:g} s ({why[:120]})") from None
    from nearid_core.engine._dask_plugin import OneThread

    client.register_plugin(OneThread())
    return client


class DaskExecutor(Executor):
    """A ``concurrent.futures`` executor over a Dask client it owns (tasks are not pure:
    each submission runs, even with the same arguments). Shutting it down closes the
    client; the cluster's own processes are not ours and stay up for the next sweep."""

    def __init__(self, client, address: str) -> None:
        self.dask_client, self.address = client, address
        self._inner = client.get_executor(pure=False)

    @property
    def _max_workers(self) -> int:
        """Tasks the cluster runs at once: its worker threads (what the engine chunks by)."""
        return max(1, sum(self.dask_client.nthreads().values()))

    def submit(self, fn, /, *args, **kwargs):
        return self._inner.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        try:
            self._inner.shutdown(wait=wait and not cancel_futures)
        finally:
            self.dask_client.close(timeout=CONNECT_TIMEOUT_S)

    def terminate(self) -> None:
        """Cancel every outstanding task now and close the client (an error or a signal
        in the coordinator); running tasks also see the sweep's stop event."""
        self.shutdown(wait=False, cancel_futures=True)


def open_dask(address: str) -> DaskExecutor:
    """An executor on the cluster at ``address`` (DaskUnavailable when none answers)."""
    return DaskExecutor(connect(address), address)


class DaskChannel:
    """Progress (a named ``distributed.Queue``) and the stop flag (a named
    ``distributed.Event``) shared by the coordinator and the sweep's tasks."""

    def __init__(self, client, token: str) -> None:
        from distributed import Event, Queue

        self.names = (f"nearid-progress-{token}", f"nearid-stop-{token}")
        self.queue = Queue(self.names[0], client=client)
        self.stop = Event(self.names[1], client=client)

    def drain(self) -> list[Any]:
        """Every message queued so far (never waits)."""
        n = self.queue.qsize()
        return list(self.queue.get(batch=n)) if n else []


def task_ends(names: tuple[str, str]) -> tuple[Any, Any]:
    """Inside a task on a Dask worker: the (queue, event) named by ``DaskChannel.names``."""
    from distributed import Event, Queue

    return Queue(names[0]), Event(names[1])
