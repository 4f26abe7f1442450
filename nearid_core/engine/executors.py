"""Executors for training and analysis, and the progress channel between them.

Science code only sees a ``concurrent.futures.Executor``: the default is a local process
pool whose workers each use one torch thread; callers may pass any other executor (a thread
pool for tests and notebooks, or a larger engine later).

Lifecycle: the pool's workers are forked by a fork server that exits when its parent ends;
each worker asks the kernel to kill it when the fork server ends (``die_with_parent``) and
ignores Ctrl-C (its parent handles it). An exception or signal in the parent terminates the
workers at once instead of waiting for their tasks. The progress channel is a plain queue
and event handed to each worker when it starts: no extra process, nothing that inherits the
parent's open files.
"""

from __future__ import annotations

import os
import queue
import signal
import sys
import threading
import types
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from multiprocessing import forkserver
from multiprocessing.context import (
    ForkServerContext,
    ForkServerProcess,
    SpawnContext,
    SpawnProcess,
)
from typing import Any

from nearid_core.engine.lifecycle import die_with_parent

_WORKER_CHANNEL: tuple[Any, Any] | None = None  # set in each pool worker


def _init_worker(q: Any, stop: Any, lifeline: Any) -> None:
    # One thread per worker, for torch and for the BLAS under numpy/scikit-learn alike:
    # two threads on two busy cores can be 100x slower. The pools were created when the
    # fork server imported numpy, so the environment alone is too late.
    global _WORKER_CHANNEL
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()  # the fork server ended
    threading.Thread(target=_die_with_owner, args=(lifeline,), daemon=True).start()
    _WORKER_CHANNEL = (q, stop)
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(limits=1)


def _die_with_owner(lifeline: Any) -> None:
    # The fork server outlives the pool's owner as long as any worker lives (each holds
    # its "alive" pipe), so workers cannot wait for their parent: they watch the owner's
    # end of a pipe instead, which closes however the owner ends.
    try:
        lifeline.recv_bytes()
    except (EOFError, OSError):
        pass
    os.kill(os.getpid(), signal.SIGKILL)


def _init_owned(lifeline: Any, initializer: Any, initargs: tuple) -> None:
    os.environ["OMP_NUM_THREADS"] = "1"
    threading.Thread(target=_die_with_owner, args=(lifeline,), daemon=True).start()
    if initializer is not None:
        initializer(*initargs)


class OwnedPool(ProcessPoolExecutor):
    """A process pool whose workers die with the process that made it, however it ends.

    For pools started from short-lived threads (a Streamlit script run): the kernel's
    parent-death signal follows the *thread* that started a worker, so it would kill workers
    when the script run ends; a lifeline pipe follows the owning process instead. Workers
    read it; only the owner holds its other end, which closes when the owner dies.
    """

    def __init__(self, workers: int, mp_context: Any, *, initializer: Any = None,
                 initargs: tuple = ()) -> None:
        lifeline, self._lifeline = mp_context.Pipe(duplex=False)
        super().__init__(max_workers=workers, mp_context=mp_context,
                         initializer=_init_owned, initargs=(lifeline, initializer, initargs))


_PLAIN_MAIN = types.ModuleType("__main__")  # no __file__, no __spec__: nothing to re-run


@contextmanager
def _plain_main():
    """Hide the parent's ``__main__`` while a worker process is started.

    A spawned or fork-server child runs its parent's ``__main__`` file again (as
    ``__mp_main__``). Under Streamlit (and AppTest) that module is a page script: every
    worker would run it, opening the store and possibly starting a runner, or fail. Only
    for the few milliseconds of the start; a ``__main__`` installed meanwhile is left alone.
    """
    saved = sys.modules.get("__main__")
    sys.modules["__main__"] = _PLAIN_MAIN
    try:
        yield
    finally:
        if sys.modules.get("__main__") is _PLAIN_MAIN and saved is not None:
            sys.modules["__main__"] = saved


class _SpawnProcess(SpawnProcess):
    @staticmethod
    def _Popen(process_obj):
        with _plain_main():
            return SpawnProcess._Popen(process_obj)


class _ForkServerProcess(ForkServerProcess):
    @staticmethod
    def _Popen(process_obj):
        with _plain_main():
            return ForkServerProcess._Popen(process_obj)


class _SpawnContext(SpawnContext):
    Process = _SpawnProcess


class _ForkServerContext(ForkServerContext):
    Process = _ForkServerProcess


def spawn_context() -> SpawnContext:
    """multiprocessing's "spawn" context whose children never run the parent's ``__main__``
    (for pools started from a Streamlit server)."""
    return _SpawnContext()


def default_workers() -> int:
    """Worker processes for this machine: one per core, at most 4."""
    return max(1, min(4, os.cpu_count() or 1))


_MANAGER_JOIN_S = 10.0  # bounds a wait that takes milliseconds once the workers are dead


# What the fork server imports once for every worker it forks: torch, training, and the
# analysis's science with scikit-learn (``studies.analysis`` imports its science where it
# runs, so that an owner that only coordinates never pays for it; 2-3 s in each worker
# otherwise).
_PRELOAD = ["torch", "nearid_core.studies.sweep", "nearid_core.studies.analysis",
            "nearid_core.science.alignment", "nearid_core.science.metrics"]


def _pool_context() -> ForkServerContext:
    ctx = _ForkServerContext()  # children never run the parent's __main__ again
    ctx.set_forkserver_preload(_PRELOAD)  # process-wide: the one fork server's list
    return ctx


def prestart_pool() -> None:
    """Start the fork server now: it imports torch and the science (about 3 s) on the other
    core while this process does its own imports, and the pool made later forks its
    workers from it at once. It exits with this process."""
    _pool_context()  # sets the preload list, which the server reads when it starts
    with _plain_main():
        forkserver.ensure_running()


class NearidPool(ProcessPoolExecutor):
    """A local process pool with a progress queue and a stop event shared by its workers."""

    def __init__(self, workers: int | None = None) -> None:
        ctx = _pool_context()
        self.progress, self.stop = ctx.Queue(), ctx.Event()
        lifeline, self._lifeline = ctx.Pipe(duplex=False)  # workers read, the owner holds
        super().__init__(max_workers=workers or default_workers(), mp_context=ctx,
                         initializer=_init_worker,
                         initargs=(self.progress, self.stop, lifeline))

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        super().shutdown(wait=wait, cancel_futures=cancel_futures)
        if wait:
            self._lifeline.close()

    def terminate(self) -> None:
        """Kill the workers now (their tasks are abandoned) and shut the pool down.

        The pool's manager thread is joined (it ends as soon as it sees the dead workers):
        left running, it closes its wake-up pipe while the interpreter's exit hook
        (``concurrent.futures.process._python_exit``) writes to it, and Python 3.11 prints
        "OSError: Bad file descriptor" from a process that had ended cleanly.
        """
        for proc in list((getattr(self, "_processes", None) or {}).values()):
            if proc.is_alive():
                proc.kill()
        manager = getattr(self, "_executor_manager_thread", None)
        self.shutdown(wait=False, cancel_futures=True)
        if manager is not None and manager is not threading.current_thread():
            manager.join(timeout=_MANAGER_JOIN_S)


def process_pool(workers: int | None = None) -> NearidPool:
    """A local process pool, one torch thread per worker.

    Workers start from a fork server that has already imported torch and nearid_core, so a
    worker starts in milliseconds instead of re-importing torch (about a second).
    """
    return NearidPool(workers)


@contextmanager
def executor_or_default(executor: Executor | None, workers: int | None = None):
    """Yield ``executor``, or a fresh pool (``make_pool``: local processes, or Dask when a
    scheduler is set) that is shut down afterwards (its tasks stopped at once when the
    block ends with an exception or a signal)."""
    if executor is not None:
        yield executor
        return
    pool = make_pool(workers)
    try:
        yield pool
    except BaseException:
        pool.terminate()
        raise
    pool.shutdown(wait=True, cancel_futures=True)


def make_pool(workers: int | None = None):
    """A Dask executor when a scheduler is set (``$NEARID_SCHEDULER``: see
    ``engine.dask_engine``), else a local process pool (``process_pool``)."""
    from nearid_core.engine.dask_engine import open_dask, scheduler_address

    address = scheduler_address()
    return open_dask(address) if address else process_pool(workers)


def executor_workers(executor: Executor) -> int:
    """How many tasks the executor runs at once (1 when it does not say)."""
    return int(getattr(executor, "_max_workers", 1) or 1)


class Channel:
    """Progress messages from tasks to the caller, and a stop flag the other way.

    Thread executors share plain in-process objects; a ``NearidPool`` hands its workers a
    queue and an event when they start (tasks then carry only a token that tells this
    sweep's messages from a previous one's). Other executors get no channel: their tasks
    run to the end without progress reports.
    """

    def __init__(self, executor: Executor) -> None:
        self.token = os.urandom(6).hex()
        if isinstance(executor, NearidPool):
            self.queue, self.stop = executor.progress, executor.stop
            self.stop.clear()
            self._task_end: Any = self.token
        elif isinstance(executor, ThreadPoolExecutor):
            self.queue, self.stop = queue.Queue(), threading.Event()
            self._task_end = (self.queue, self.stop, self.token)
        elif getattr(executor, "dask_client", None) is not None:  # engine.dask_engine
            from nearid_core.engine.dask_engine import DaskChannel

            self._dask = DaskChannel(executor.dask_client, self.token)
            self.queue, self.stop = None, self._dask.stop
            self._task_end = ("dask", self._dask.names, self.token)
        else:
            self.queue, self.stop, self._task_end = None, threading.Event(), None

    def endpoints(self) -> Any:
        """What a task needs: a token (pool workers), (queue, event, token), or None."""
        return self._task_end

    _dask: Any = None

    def drain(self) -> list[Any]:
        """This sweep's messages so far (older sweeps' leftovers are dropped)."""
        if self._dask is not None:
            return [tuple(msg) for token, *msg in self._dask.drain() if token == self.token]
        out = []
        while self.queue is not None:
            try:
                token, *msg = self.queue.get_nowait()
            except (queue.Empty, EOFError, OSError):
                break
            if token == self.token:
                out.append(tuple(msg))
        return out

    def close(self) -> None:
        self.stop.set()  # late messages from an abandoned task are dropped by token


def task_channel(endpoints: Any) -> tuple[Any, Any, str] | None:
    """Inside a task: (queue, stop event, token) from ``Channel.endpoints()``, or None."""
    if endpoints is None:
        return None
    if isinstance(endpoints, str):
        if _WORKER_CHANNEL is None:
            return None
        return (*_WORKER_CHANNEL, endpoints)
    if isinstance(endpoints[0], str) and endpoints[0] == "dask":  # a Dask worker
        from nearid_core.engine.dask_engine import task_ends

        return (*task_ends(endpoints[1]), endpoints[2])
    return endpoints
