"""Background jobs of the Compare page: comparisons and the digits study, in a process pool.

As ``background`` does for UMAP: spawned worker processes shared by the whole server, so the
work neither holds the server's GIL nor slows other users' pages. Jobs are kept by key (the
inputs' contents and the settings), so asking again for a finished comparison is instant,
for this session and any other. Progress and cancelling go through a folder per job
(``compare_worker.Progress``).
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

import streamlit as st

from nearid_core.engine.executors import OwnedPool, spawn_context

from .compare_worker import Cancelled, Progress, warm

POOL_WORKERS = 2  # a long digits study does not hold back a comparison
MAX_JOBS = 24  # finished jobs kept (oldest dropped first); each holds its inputs ...
MAX_BYTES = 1 << 30  # ... and no more than this many bytes of input arrays in all


@dataclass(eq=False)
class Job:
    """One piece of background work and what the page needs to show its result."""

    key: str
    kind: str  # "compare" or "digits"
    title: str
    future: Future
    progress: Progress
    started: float = field(default_factory=time.time)
    inputs: object = None  # compare: the page's Inputs (arrays for the overlay and saving)
    finished: float | None = None

    def state(self) -> tuple[str, object]:
        """("running", None), ("done", result), ("cancelled", message) or ("failed", message)."""
        if not self.future.done():
            return "running", None
        if self.finished is None:
            self.finished = time.time()
        try:
            err = self.future.exception()
        except CancelledError:
            return "cancelled", "stopped before it started"
        if err is None:
            return "done", self.future.result()
        if isinstance(err, Cancelled):
            return "cancelled", str(err)
        if isinstance(err, BrokenProcessPool):
            _pool.clear()
            return "failed", "the background worker stopped (out of memory?); try again"
        return "failed", f"{type(err).__name__}: {err}"

    def cancel(self) -> None:
        self.progress.request_cancel()
        self.future.cancel()  # only stops a job still waiting for a worker

    def seconds(self) -> float:
        return (self.finished or time.time()) - self.started


@st.cache_resource(show_spinner=False)
def _pool() -> ProcessPoolExecutor:
    pool = OwnedPool(POOL_WORKERS, spawn_context())  # dies with the server, however it ends
    for _ in range(POOL_WORKERS):  # workers import numpy, scipy, scikit-learn once, now
        pool.submit(warm)
    return pool


def warm_up() -> None:
    """Start the worker processes (first visit of the page), before any job needs them."""
    try:
        _pool()
    except (OSError, RuntimeError):  # no processes here: the first job says so
        pass


@st.cache_resource(show_spinner=False)
def _registry() -> tuple[dict[str, Job], threading.Lock]:
    return {}, threading.Lock()


def get(key: str) -> Job | None:
    jobs, lock = _registry()
    with lock:
        return jobs.get(key)


def _nbytes(job: Job) -> int:
    parts = getattr(job.inputs, "embeddings", {}) or {}
    extra = (getattr(job.inputs, "factors", None), getattr(job.inputs, "labels", None))
    return sum(a.nbytes for a in [*parts.values(), *extra] if a is not None)


def _evict(jobs: dict[str, Job]) -> None:
    """Drop the oldest finished jobs past MAX_JOBS or MAX_BYTES (running ones stay)."""
    done = sorted((j for j in jobs.values() if j.future.done()), key=lambda j: j.started)
    total = sum(_nbytes(j) for j in jobs.values())
    for job in done:
        if len(jobs) <= MAX_JOBS and total <= MAX_BYTES:
            break
        jobs.pop(job.key, None)
        total -= _nbytes(job)
        shutil.rmtree(job.progress.folder, ignore_errors=True)


def submit(key: str, kind: str, title: str, fn, *args, inputs=None) -> Job:
    """The job under ``key``: the running or finished one, else a new one running ``fn(folder,
    *args)`` in the pool (a failed or cancelled job is started again)."""
    jobs, lock = _registry()
    with lock:
        job = jobs.get(key)
        if job is not None and job.state()[0] in ("running", "done"):
            return job
        folder = tempfile.mkdtemp(prefix="nearid-compare-")
        try:
            future = _pool().submit(fn, folder, *args)
        except (RuntimeError, BrokenProcessPool):  # a broken pool: start a new one
            _pool.clear()
            future = _pool().submit(fn, folder, *args)
        jobs[key] = job = Job(key, kind, title, future, Progress(folder), inputs=inputs)
        _evict(jobs)
        return job
